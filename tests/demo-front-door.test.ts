/**
 * The demo as a newcomer meets it (issue 11, items 5-6): the documented `npm run --silent demo -- --json | jq`
 * gives clean JSON, the text run speaks plainly and ends with the operator CLI's `status`, the `demo`
 * subcommand of the package's `ses-smtp-rotator` command names every missing prerequisite, and a Ctrl-C during
 * a real Postfix's start-up leaves nothing in the temp folder. Child processes, each with its own moto.
 */
import * as assert from "assert";
import { execFileSync, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { DemoResult } from "../demo/result";
import { canRunRealPostfix } from "../demo/servers";
import { collect, spawnDemo, until } from "./support/demo-process";

const ROOT = path.join(__dirname, "..");

describe("demo front door (child processes)", function () {
    this.timeout(400000);

    it("`npm run --silent demo -- --json` (the README's command): stdout is only the JSON result, which carries the CLI's status of the fleet; jq reads it", async () => {
        const child = spawn("npm", ["run", "--silent", "demo", "--", "--json", "--servers", "2", "--no-postfix"], { cwd: ROOT, env: { ...process.env, AWS_ENDPOINT_URL: "" }, stdio: ["ignore", "pipe", "pipe"] });
        const run = await collect(child);
        assert.strictEqual(run.code, 0, run.stderr);
        assert.ok(run.stdout.startsWith("{"), `stdout starts with something other than the JSON: ${run.stdout.slice(0, 200)}`);
        const r = JSON.parse(run.stdout) as DemoResult;
        assert.strictEqual(r.rotated, true, r.failure);
        assert.strictEqual(r.status?.health, "healthy");
        assert.strictEqual(r.status?.credential.smtpUserName, r.newAccessKeyId, "status reads the new key as current");
        assert.deepStrictEqual(r.status?.lastRotation?.servers.map((s) => s.status), ["Success", "Success"]);
        // Every version has a label: `e9486525 AWSCURRENT`, never `e9486525=`.
        const versions = String(r.audit["Secrets Manager versions"]).split(", ");
        for (const v of versions) assert.match(v, /^[0-9a-f]{8} (AWS[A-Z+]+|\(no label: .+\))$/, v);
        if (spawnSync("sh", ["-c", "command -v jq"]).status === 0) {
            const jq = execFileSync("jq", ["-r", ".status.health"], { input: run.stdout, encoding: "utf8" });
            assert.strictEqual(jq.trim(), "healthy");
        }
    });

    it("text run: the first line before anything starts, plain words (no 'wire proxy'), the observation window explained, and `status` of the fleet at the end", async () => {
        const run = await collect(spawnDemo(["--servers", "2", "--no-postfix"]));
        assert.strictEqual(run.code, 0, run.stderr);
        const lines = run.stdout.split("\n");
        assert.match(lines[0], /^ses-smtp-rotator demo: auto mode, 2 servers\. No AWS account is used\. Starting local stand-ins for AWS\.\.\.$/);
        assert.doesNotMatch(run.stdout + run.stderr, /wire proxy/);
        assert.match(run.stdout, /In production the old key stays Active for an observation window after the switch \(default 24 h\).*the demo shortens that window to 0/);
        assert.doesNotMatch(run.stdout, /[0-9a-f]{8}=(,|\n|$)/, "an empty version label");
        const at = run.stdout.indexOf("$ ses-smtp-rotator status");
        assert.ok(at > run.stdout.indexOf("Rotation complete"), "status comes after the summary");
        const status = run.stdout.slice(at);
        assert.match(status, /demo \(auto mode\): HEALTHY/);
        assert.match(status, /mail-2\.demo\.internal \(mi-[0-9a-f]+\) .*Success/);
    });

    it("`ses-smtp-rotator demo` names every missing prerequisite with how to install it (after printing its first line)", async () => {
        // A PATH with a shell and nothing else: no moto_server, no aws CLI, no openssl.
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "demo-path-"));
        try {
            for (const tool of ["sh", "bash"]) fs.symlinkSync(execFileSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).trim(), path.join(bin, tool));
            const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "cli", "main.ts"), "demo", "--servers", "1"], {
                cwd: ROOT,
                env: { ...process.env, PATH: bin, AWS_ENDPOINT_URL: "" },
                stdio: ["ignore", "pipe", "pipe"],
            });
            const run = await collect(child);
            assert.strictEqual(run.code, 1, run.stdout + run.stderr);
            assert.match(run.stdout, /^ses-smtp-rotator demo: auto mode, 1 server\./);
            assert.match(run.stderr, /missing on PATH:/);
            assert.match(run.stderr, /moto_server: the AWS API emulator: pip install 'moto\[server\]'/);
            assert.match(run.stderr, /aws: the AWS CLI/);
            assert.match(run.stderr, /openssl: /);
            assert.doesNotMatch(run.stderr, /bash: /, "bash is there");
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    it("`ses-smtp-rotator demo --help` shows the demo's options; a bad demo flag is named", async () => {
        const help = await collect(spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "cli", "main.ts"), "demo", "--help"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
        assert.strictEqual(help.code, 0, help.stderr);
        assert.match(help.stdout, /--servers <N>/);
        assert.match(help.stdout, /moto_server \(pip install 'moto\[server\]'\)/);
        const bad = await collect(spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "cli", "main.ts"), "demo", "--servers", "99"], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
        assert.strictEqual(bad.code, 2);
        assert.match(bad.stderr, /--servers must be an integer from 1 to 20, got "99"/);
    });

    it("Ctrl-C while the real Postfix starts: exit 130 and its instance directory is gone", async function () {
        if (!canRunRealPostfix()) {
            if (process.env.CI === "true") throw new Error("CI must run this test with Postfix installed, as root");
            this.skip();
        }
        const before = new Set(fs.readdirSync(os.tmpdir()).filter((d) => d.startsWith("postfix-mail-1-")));
        const child = spawnDemo(["--servers", "1"]);
        const run = collect(child);
        let root = "";
        await until("the Postfix instance directory to appear", () => {
            root = fs.readdirSync(os.tmpdir()).find((d) => d.startsWith("postfix-mail-1-") && !before.has(d)) ?? "";
            return root !== "";
        }, 180000);
        child.kill("SIGINT");
        const ended = await run;
        assert.strictEqual(ended.code, 130, ended.stdout + ended.stderr);
        assert.strictEqual(fs.existsSync(path.join(os.tmpdir(), root)), false, `${root} left behind`);
    });
});
