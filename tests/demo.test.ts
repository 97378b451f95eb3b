/**
 * `npm run demo` run as a child process, non-interactively, exactly as a newcomer runs it (its own moto, SES
 * endpoint, fleet agents and, when installed, a real Postfix; nothing shared with the suite's root hook).
 * Checks the machine-readable result, the exit status, and that nothing keeps running after it exits.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as net from "net";
import type { DemoResult } from "../demo/result";
import { collect, DemoRun, spawnDemo, until } from "./support/demo-process";

/**
 * Tokens shaped like an IAM secret access key (40 base64 characters) or an SES SMTP password (44, "B...")
 * standing alone. The demo prints key ids, versions and links, never these.
 */
function secretShaped(text: string): string[] {
    return text.match(/(?<![A-Za-z0-9+/=_-])(?:[A-Za-z0-9+/]{40}|B[A-Za-z0-9+/]{43})(?![A-Za-z0-9+/=_-])/g) ?? [];
}

function parseResult(run: DemoRun): DemoResult {
    try {
        return JSON.parse(run.stdout);
    } catch {
        throw new Error(`demo printed no JSON result (exit ${run.code}):\n${run.stdout}\n${run.stderr}`);
    }
}

function portOpen(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const socket = net.connect({ host: "127.0.0.1", port }, () => {
            socket.destroy();
            resolve(true);
        });
        socket.on("error", () => resolve(false));
    });
}

/** Processes whose command line contains `text` (pid and args). */
function processesWith(text: string): string[] {
    const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
    return out.split("\n").filter((l) => l.includes(text) && !l.includes("ps -eo"));
}

describe("npm run demo (child process)", function () {
    this.timeout(400000);

    it("auto mode --json: new key current and Active, old key Inactive, every server holds the new key", async () => {
        const run = await collect(spawnDemo(["--json", "--servers", "3"]));
        const r = parseResult(run);
        assert.strictEqual(run.code, 0, run.stderr);
        assert.strictEqual(r.mode, "auto");
        assert.strictEqual(r.rotated, true, r.failure);
        assert.ok(r.newAccessKeyId && r.newAccessKeyId !== r.oldAccessKeyId);
        assert.strictEqual(r.currentAccessKeyId, r.newAccessKeyId);
        assert.strictEqual(r.keys[r.newAccessKeyId!], "Active");
        assert.strictEqual(r.keys[r.oldAccessKeyId], "Inactive", "old key retired (observation 0 h in the demo)");
        assert.deepStrictEqual(
            r.servers.map((s) => [s.name, s.status, s.installedUserName]),
            ["mail-1", "mail-2", "mail-3"].map((n) => [n, "Success", r.newAccessKeyId]),
        );
        assert.deepStrictEqual(Object.keys(r.stepDurationsMs), ["createSecret", "setSecret", "testSecret", "finishSecret"]);
        // The demo falls back to simulated servers where Postfix is not installed; under CI=true that is a failure.
        if (process.env.CI === "true") assert.strictEqual(r.servers[0].kind, "postfix", "under CI=true the demo must run a real Postfix (scripts/install-system-packages.sh)");
        if (r.servers[0].kind === "postfix") {
            assert.strictEqual(r.mailCheck?.authenticatedAs, r.newAccessKeyId, "mail through the real Postfix authenticates with the new key");
        }
        assert.deepStrictEqual(secretShaped(run.stdout + run.stderr), [], "nothing secret-shaped in the output");
        // Progress went to stderr, per step and per server.
        assert.match(run.stderr, /step setSecret: done/);
        assert.match(run.stderr, /server mail-2 \(simulated\): updated/);
    });

    it("auto mode --fail mail-2: a safe, stopped rotation (current credential unchanged, old key Active, mail-2 restored)", async () => {
        const run = await collect(spawnDemo(["--json", "--servers", "3", "--fail", "mail-2", "--no-postfix"]));
        const r = parseResult(run);
        assert.strictEqual(run.code, 0, "the expected outcome of --fail exits 0");
        assert.strictEqual(r.rotated, false);
        assert.strictEqual(r.asExpected, true);
        assert.strictEqual(r.currentAccessKeyId, r.oldAccessKeyId);
        assert.strictEqual(r.keys[r.oldAccessKeyId], "Active");
        assert.match(r.failure ?? "", /^setSecret: 1 of 3 servers did not take the new credential: mi-0de00000000000002/);
        const mail2 = r.servers.find((s) => s.name === "mail-2")!;
        assert.strictEqual(mail2.status, "Failed");
        assert.strictEqual(mail2.installedUserName, r.oldAccessKeyId, "the document put the previous credential back");
        assert.match(mail2.detail ?? "", /postfix reload failed/);
        assert.deepStrictEqual(Object.keys(r.stepDurationsMs), ["createSecret", "setSecret"], "testSecret and finishSecret never ran");
    });

    it("manual mode --auto-confirm --json: every owner confirmed through the pages, old key deactivated then deleted", async () => {
        const run = await collect(spawnDemo(["--mode", "manual", "--auto-confirm", "--json", "--servers", "3"]));
        const r = parseResult(run);
        assert.strictEqual(run.code, 0, run.stderr);
        assert.strictEqual(r.mode, "manual");
        assert.strictEqual(r.rotated, true, r.failure);
        assert.ok(r.newAccessKeyId && r.newAccessKeyId !== r.oldAccessKeyId);
        assert.deepStrictEqual(r.keys, { [r.newAccessKeyId!]: "Active" }, "old key deleted after the grace, new key Active");
        assert.strictEqual(r.currentAccessKeyId, r.newAccessKeyId, "the parameter's latest version holds the new key");
        assert.deepStrictEqual(
            r.servers.map((s) => [s.name, s.status, s.installedUserName]),
            ["mail-1", "mail-2", "mail-3"].map((n) => [n, "confirmed", r.newAccessKeyId]),
        );
        assert.deepStrictEqual(Object.keys(r.stepDurationsMs), ["createCredential", "mailOwners", "confirmations", "deactivateOldKey", "graceThenDelete"]);
        assert.deepStrictEqual(secretShaped(run.stdout + run.stderr), [], "nothing secret-shaped in the output");
        // Each server's link was printed and served by the local adapter of the real API handler.
        assert.strictEqual(run.stderr.match(/confirm at http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_-]{43}/g)?.length, 3);
    });

    it("manual mode --fail mail-2: the owner reports the failed update, the run fails, the old key stays Active", async () => {
        const run = await collect(spawnDemo(["--mode", "manual", "--auto-confirm", "--json", "--servers", "3", "--fail", "mail-2", "--no-postfix"]));
        const r = parseResult(run);
        assert.strictEqual(run.code, 0, "the expected outcome of --fail exits 0");
        assert.strictEqual(r.rotated, false);
        assert.strictEqual(r.asExpected, true);
        assert.match(r.failure ?? "", /^CredentialRotation FAILED: ServersNotConfirmed/);
        assert.strictEqual(r.keys[r.oldAccessKeyId], "Active");
        const mail2 = r.servers.find((s) => s.name === "mail-2")!;
        assert.deepStrictEqual([mail2.status, mail2.installedUserName], ["rejected", r.oldAccessKeyId]);
        assert.ok(!("deactivateOldKey" in r.stepDurationsMs), "the old key was never deactivated");
    });

    it("bad flags exit 2 with an error naming the flag", async () => {
        const run = await collect(spawnDemo(["--servers", "0"]));
        assert.strictEqual(run.code, 2);
        assert.match(run.stderr, /--servers must be an integer from 1 to 20, got "0"/);
        const fail = await collect(spawnDemo(["--fail", "mail-9"]));
        assert.strictEqual(fail.code, 2);
        assert.match(fail.stderr, /--fail must name one of the demo's servers \(mail-1, mail-2, mail-3\), got "mail-9"/);
        const misplaced = await collect(spawnDemo(["--auto-confirm"]));
        assert.strictEqual(misplaced.code, 2);
        assert.match(misplaced.stderr, /--auto-confirm applies to --mode manual only/);
    });

    it("Ctrl-C (SIGINT) mid-rotation: exits 130, its ports are closed and no moto_server or Postfix of it remains", async () => {
        const child = spawnDemo(["--servers", "2"]);
        const run = collect(child);
        await until("the demo to reach setSecret", () => /step setSecret: running/.test(run.output()), 180000);
        const motoPort = Number(/AWS API emulator \(moto_server\) http:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())![1]);
        const proxyPort = Number(/local adapter http:\/\/127\.0\.0\.1:(\d+)/.exec(run.output())![1]);
        const smtpPort = Number(/SMTP endpoint 127\.0\.0\.1:(\d+)/.exec(run.output())![1]);
        assert.ok(await portOpen(motoPort), "moto is up while the demo runs");
        assert.strictEqual(processesWith(`moto_server -H 127.0.0.1 -p ${motoPort}`).length, 1);
        const postfixRoots = [...run.output().matchAll(/REAL local Postfix \(instance dir (\S+)\)/g)].map((m) => m[1]);
        for (const root of postfixRoots) assert.ok(fs.existsSync(root), `${root} exists while the demo runs`);
        child.kill("SIGINT");
        const ended = await run;
        assert.strictEqual(ended.code, 130, ended.stdout + ended.stderr);
        assert.match(ended.stderr, /SIGINT: stopping everything the demo started/);
        for (const port of [motoPort, proxyPort, smtpPort]) assert.strictEqual(await portOpen(port), false, `port ${port} still open`);
        assert.deepStrictEqual(processesWith(`moto_server -H 127.0.0.1 -p ${motoPort}`), [], "moto_server outlived the demo");
        // PostfixInstance.destroy() stops the instance (waiting for its master to go) before removing its directory.
        for (const root of postfixRoots) assert.strictEqual(fs.existsSync(root), false, `Postfix instance ${root} was not stopped and removed`);
    });
});
