/**
 * The operator CLI (`ses-smtp-rotator`, cli/main.ts) run as a child process against moto + the sandbox: fleet
 * agents running the real Postfix document, the SES-compatible endpoint, and the rotation bridge that plays
 * Secrets Manager's invocation of the REAL rotation handler when the CLI calls RotateSecret (an emulation; see
 * tests/support/cli-rig.ts). The CLI finds AWS through the SDK's own AWS_ENDPOINT_URL setting.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { TagUserCommand } from "@aws-sdk/client-iam";
import { encodeRetirement, retirementTagKey } from "../runtime/retirement-record";
import { confirmationExecutionName } from "../runtime/manual/confirmation-tasks";
import { autoCliRig, AutoCliRig, runCli } from "./support/cli-rig";
import { resetAws } from "./support/hooks";
import { ManualRig, serverList, until } from "./support/manual-rig";

describe("ses-smtp-rotator CLI (child process against moto + sandbox)", function () {
    this.timeout(240000);

    describe("auto mode, a healthy fleet of 3", () => {
        let rig: AutoCliRig;
        before(async () => {
            rig = await autoCliRig({ servers: 3 });
        });
        after(async () => rig?.stop());

        it("servers: lists the fleet table's servers with software and owner", async () => {
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "servers", "--json"]);
            assert.strictEqual(run.code, 0, run.stderr);
            const r = JSON.parse(run.stdout);
            assert.deepStrictEqual(r.fleet, { kind: "table", tableName: rig.shared.fleetTableName });
            assert.deepStrictEqual(
                r.servers.map((s: any) => [s.hostname, s.software, s.ownerEmail]),
                [1, 2, 3].map((n) => [`mail-${n}.demo.internal`, "postfix", `owner-mail-${n}@example.com`]),
            );
            // What SSM reports for each node (emulated by the proxy from the fleet agents, which report Online while polling).
            assert.deepStrictEqual(r.servers.map((s: any) => [s.pingStatus, s.platform?.split(" / ")[0]]), [1, 2, 3].map(() => ["Online", "Linux"]));
            const table = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "servers"]);
            assert.strictEqual(table.code, 0, table.stderr);
            assert.match(table.stdout, /Fleet: table ses-smtp-demo-fleet, 3 servers/);
            assert.match(table.stdout, /mail-2\.demo\.internal/);
        });

        it("status before any rotation: healthy (exit 0), the first key current, no rotation on the servers yet", async () => {
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status", "--json"]);
            assert.strictEqual(run.code, 0, run.stderr + run.stdout);
            const s = JSON.parse(run.stdout);
            assert.strictEqual(s.credential.smtpUserName, rig.shared.initialCredential.username);
            assert.strictEqual(s.lastRotation, undefined);
            assert.strictEqual(s.health, "healthy");
        });

        it("rotate --wait: follows every step and every server to the end (exit 0); status then shows the new key current and every server Success", async () => {
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "rotate", "--wait"]);
            assert.strictEqual(run.code, 0, run.stdout + run.stderr);
            assert.match(run.stdout, /rotation of demo started: secret version [0-9a-f-]{36}/);
            for (const step of ["createSecret", "setSecret", "testSecret", "finishSecret"]) assert.match(run.stdout, new RegExp(`step ${step}: done`));
            for (const n of [1, 2, 3]) assert.match(run.stdout, new RegExp(`server mail-${n}\\.demo\\.internal: updated \\(SSM: Success\\)`));
            assert.match(run.stdout, /rotation complete/);
            assert.deepStrictEqual(await rig.rotations[0].done, { ok: true });

            const status = await runCli(["--outputs", "-", "--region", "us-east-1", "status", "--json"], { stdin: JSON.stringify(rig.outputs) });
            assert.strictEqual(status.code, 0, status.stderr + status.stdout);
            const s = JSON.parse(status.stdout);
            const newKey = s.credential.smtpUserName;
            assert.notStrictEqual(newKey, rig.shared.initialCredential.username);
            assert.deepStrictEqual(
                s.keys.map((k: any) => [k.accessKeyId, k.status, k.current]).sort(),
                [
                    [newKey, "Active", true],
                    [rig.shared.initialCredential.username, "Inactive", false],
                ].sort(),
            );
            assert.ok(s.keys.find((k: any) => k.current).lastUsed?.service === "ses", "IAM last use of the new key (the SMTP test login)");
            assert.deepStrictEqual(
                s.lastRotation.servers.map((x: any) => [x.hostname, x.status]),
                [1, 2, 3].map((n) => [`mail-${n}.demo.internal`, "Success"]),
            );
            assert.deepStrictEqual(s.retirements.map((r: any) => [r.accessKeyId, r.phase]), [[rig.shared.initialCredential.username, "deactivated"]]);
            assert.strictEqual(s.pendingVersion, undefined);

            const table = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status"]);
            assert.strictEqual(table.code, 0, table.stderr);
            assert.match(table.stdout, /demo \(auto mode\): HEALTHY/);
            assert.match(table.stdout, new RegExp(`${newKey} \\(current\\)`));
            assert.match(table.stdout, /mail-3\.demo\.internal \(mi-[0-9a-f]+\)/);
        });

        it("--unit demo finds the same rotator by its business-unit tag (user, documents, secret)", async () => {
            const run = await runCli(["--unit", "demo", "--region", "us-east-1", "status", "--json"]);
            assert.strictEqual(run.code, 0, run.stderr + run.stdout);
            const s = JSON.parse(run.stdout);
            assert.strictEqual(s.businessUnit, "demo");
            assert.strictEqual(s.credential.store, rig.auto.secretArn);
            assert.ok(s.keys.some((k: any) => k.current && k.accessKeyId === s.credential.smtpUserName));
            const unknown = await runCli(["--unit", "nobody", "--region", "us-east-1", "status"]);
            assert.strictEqual(unknown.code, 3);
            assert.match(unknown.stderr, /--unit nobody: no IAM users tagged ses-rotator:business-unit=nobody; pass --outputs instead/);
        });

        it("status with a held retirement: exit 1 (warning), the hold and its evidence shown", async () => {
            const old = rig.shared.initialCredential.username;
            const current = JSON.parse((await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status", "--json"])).stdout).credential.smtpUserName;
            const record = { accessKeyId: old, phase: "held" as const, newAccessKeyId: current, switchedAt: "2026-01-01T00:00:00Z", evidence: { lastUsedDate: "2026-01-01T05:00:00Z", serviceName: "ses", region: "eu-west-1" } };
            await rig.clients.iam.send(new TagUserCommand({ UserName: rig.shared.userName, Tags: [{ Key: retirementTagKey(old), Value: encodeRetirement(record) }] }));
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status", "--json"]);
            assert.strictEqual(run.code, 1, run.stderr + run.stdout);
            const s = JSON.parse(run.stdout);
            assert.strictEqual(s.health, "warning");
            assert.deepStrictEqual(s.retirements.map((r: any) => [r.accessKeyId, r.phase, r.evidence?.serviceName]), [[old, "held", "ses"]]);
            assert.match(s.warnings.join("\n"), new RegExp(`retirement of ${old} held: used 2026-01-01T05:00:00Z by ses in eu-west-1`));
            const table = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status"]);
            assert.strictEqual(table.code, 1);
            assert.match(table.stdout, /WARNING/);
            assert.match(table.stdout, /held/);
        });
    });

    describe("auto mode, mail-2's update fails", () => {
        let rig: AutoCliRig;
        before(async () => {
            rig = await autoCliRig({ servers: 3, failServer: "mail-2" });
        });
        after(async () => rig?.stop());

        it("rotate --wait ends with exit 2 naming mail-2; status then exits 2 naming the failing server, the old key still current and Active", async () => {
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "rotate", "--wait"]);
            assert.strictEqual(run.code, 2, run.stdout + run.stderr);
            assert.match(run.stdout, /step setSecret: failed/);
            assert.match(run.stdout, /server mail-2\.demo\.internal: failed/);
            assert.match(run.stdout, /rotation FAILED: setSecret: 1 of 3 servers did not take the new credential: mail-2\.demo\.internal \(Failed/);

            const status = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status", "--json"]);
            assert.strictEqual(status.code, 2, status.stderr + status.stdout);
            const s = JSON.parse(status.stdout);
            assert.strictEqual(s.health, "failed");
            assert.strictEqual(s.credential.smtpUserName, rig.shared.initialCredential.username, "nothing switched");
            assert.strictEqual(s.keys.find((k: any) => k.current).status, "Active");
            assert.ok(s.pendingVersion, "AWSPENDING stays for Secrets Manager's retry");
            assert.match(s.failures.join("\n"), /last rotation failed on mail-2\.demo\.internal \(Failed/);
            assert.deepStrictEqual(s.lastRotation.servers.map((x: any) => [x.hostname, x.status]), [
                ["mail-1.demo.internal", "Success"],
                ["mail-2.demo.internal", "Failed"],
                ["mail-3.demo.internal", "Success"],
            ]);
            const table = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "status"]);
            assert.strictEqual(table.code, 2);
            assert.match(table.stdout, /FAILED/);
            assert.match(table.stdout, /mail-2\.demo\.internal/);
        });
    });

    describe("rotate --wait, interrupted", () => {
        let rig: AutoCliRig;
        before(async () => {
            rig = await autoCliRig({ servers: 2 });
        });
        after(async () => rig?.stop());

        it("Ctrl-C stops watching (exit 130, says how to watch again); the rotation itself goes on to the end", async () => {
            let child: import("child_process").ChildProcess | undefined;
            let seen = "";
            const run = runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "rotate", "--wait"], {
                onSpawn: (c) => {
                    child = c;
                    c.stdout!.on("data", (d) => (seen += d));
                },
            });
            await until("the watch to start", async () => (/step createSecret: running/.test(seen) ? true : undefined), 120000);
            child!.kill("SIGINT");
            const ended = await run;
            assert.strictEqual(ended.code, 130, ended.stdout + ended.stderr);
            assert.match(ended.stderr, /stopped watching; the rotation goes on\. Watch it with: ses-smtp-rotator status \(version [0-9a-f-]{36}\)/);
            assert.deepStrictEqual(await rig.rotations[0].done, { ok: true }, "the rotation finished although the watch stopped");
        });
    });

    // `check` needs the documents' Mode=check (the servers branch: documents/ and runtime/server-report.ts's markers).
    describe("check (preflight): the documents in Mode=check on every server", () => {
        let rig: AutoCliRig;
        before(async () => {
            rig = await autoCliRig({ servers: 3 });
        });
        after(async () => rig?.stop());

        /** Every file of every server's Postfix configuration directory, byte for byte. */
        function snapshot(): Record<string, string> {
            const out: Record<string, string> = {};
            for (const s of rig.servers) for (const f of fs.readdirSync(s.configDir)) out[`${s.server.name}/${f}`] = fs.readFileSync(path.join(s.configDir, f)).toString("base64");
            return out;
        }

        it("a healthy fleet passes (exit 0), every server reporting its checks; nothing changes on any server", async () => {
            const before = snapshot();
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "check", "--json"]);
            assert.strictEqual(run.code, 0, run.stdout + run.stderr);
            const r = JSON.parse(run.stdout);
            assert.deepStrictEqual(r.servers.map((x: any) => [x.hostname, x.ok, x.result]), [1, 2, 3].map((n) => [`mail-${n}.demo.internal`, true, "check-passed"]));
            for (const x of r.servers) assert.ok(x.checks.length > 0 && x.checks.every((c: any) => c.ok), JSON.stringify(x.checks));
            assert.deepStrictEqual(snapshot(), before, "check mode changed a file");
        });

        it("a relay host that is not SES and a wrong software tag: exit 2, both servers named, nothing changed", async () => {
            const mail2 = rig.servers[1];
            const mainCf = path.join(mail2.configDir, "main.cf");
            fs.writeFileSync(mainCf, fs.readFileSync(mainCf, "utf8").replace(/^relayhost = .*$/m, "relayhost = [smtp.example.net]:587"));
            const mail3 = rig.servers[2].server;
            await rig.clients.dynamodb.send(
                new PutItemCommand({ TableName: rig.shared.fleetTableName, Item: { serverId: { S: mail3.serverId }, hostname: { S: mail3.hostname }, software: { S: "iis" }, ownerEmail: { S: mail3.ownerEmail } } }),
            );
            const before = snapshot();
            const run = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "check", "--json"]);
            assert.strictEqual(run.code, 2, run.stdout + run.stderr);
            const r = JSON.parse(run.stdout);
            assert.deepStrictEqual(r.servers.map((x: any) => [x.hostname, x.ok]), [
                ["mail-1.demo.internal", true],
                ["mail-2.demo.internal", false],
                ["mail-3.demo.internal", false],
            ]);
            assert.match(r.servers[1].problems.join("\n"), /relayhost/);
            assert.ok(r.servers[2].problems.length > 0);
            assert.deepStrictEqual(snapshot(), before, "check mode changed a file");
            const table = await runCli(["--outputs", rig.outputsFile, "--region", "us-east-1", "check"]);
            assert.strictEqual(table.code, 2);
            assert.match(table.stdout, /2 of 3 servers would fail a rotation: mail-2\.demo\.internal, mail-3\.demo\.internal/);
        });
    });

    describe("manual mode, one owner has not confirmed yet", () => {
        let rig: ManualRig;
        before(async () => {
            await resetAws();
            rig = await new ManualRig({ servers: serverList(3) }).setUp();
        });
        after(async () => rig?.tearDown());

        it("rotate starts the run through the starter; status shows the run in progress, the waiting server, its owner, since when, reminders (exit 0)", async () => {
            // The starter Lambda, as the bridge runs it (moto cannot run Lambda code).
            rig.bridge.register("ses-smtp-test-starter", (p) => rig.startRotation(p));
            const outputs = {
                businessUnit: "payments",
                mode: "manual",
                sesRegion: "eu-west-1",
                smtpUserName: rig.userName,
                postfixDocumentName: "ses-smtp-test-postfix",
                iisDocumentName: "ses-smtp-test-iis",
                credentialStore: { kind: "parameter", parameterArn: `arn:aws:ssm:us-east-1:123456789012:parameter${rig.parameterName}` },
                fleetTarget: { kind: "table", tableName: rig.fleetTable },
                rotation: {
                    parameterName: rig.parameterName,
                    stateMachineArn: rig.rotationArn,
                    confirmationStateMachineArn: rig.confirmationArn,
                    confirmationTableName: rig.confirmationTable,
                    starterFunctionName: "ses-smtp-test-starter",
                },
            };
            const ignored = "owner1@example.com";
            const owners = rig.ownersAnswer((to) => (to === ignored ? "ignore" : "confirm"));
            const start = await runCli(["--outputs", "-", "--region", "us-east-1", "rotate"], { stdin: JSON.stringify(outputs) });
            assert.strictEqual(start.code, 0, start.stderr + start.stdout);
            const name = /started: execution (password-rotation-[0-9-]+)/.exec(start.stdout)?.[1];
            assert.ok(name, start.stdout);
            const servers = serverList(3);
            await until("two owners confirmed and one waiting", async () => {
                const states = await Promise.all(servers.map(async (x) => (await rig.store.get(confirmationExecutionName(x.serverId, name!)))?.status));
                return states.filter((x) => x === "confirmed").length === 2 && states.includes("pending") ? true : undefined;
            }, 90000);
            await owners.stop();

            const run = await runCli(["--outputs", "-", "--region", "us-east-1", "status", "--json"], { stdin: JSON.stringify(outputs) });
            assert.strictEqual(run.code, 0, run.stderr + run.stdout);
            const s = JSON.parse(run.stdout);
            assert.strictEqual(s.mode, "manual");
            // The parameter's latest version holds the new key; the old key stays Active until every owner confirmed.
            assert.notStrictEqual(s.credential.smtpUserName, rig.oldAccessKeyId);
            assert.deepStrictEqual(s.keys.map((k: any) => [k.accessKeyId, k.status, k.current]).sort(), [[rig.oldAccessKeyId, "Active", false], [s.credential.smtpUserName, "Active", true]].sort());
            assert.deepStrictEqual(s.runsInProgress.map((r: any) => [r.name, r.status]), [[name, "RUNNING"]]);
            const confirmations = s.runsInProgress[0].confirmations;
            assert.deepStrictEqual(
                confirmations.map((x: any) => [x.hostname, x.owner, x.status]),
                servers.map((x) => [x.hostname, x.ownerEmail, x.ownerEmail === ignored ? "pending" : "confirmed"]),
            );
            const waiting = confirmations.find((x: any) => x.owner === ignored);
            assert.ok(Date.parse(waiting.waitingSince) > 0, "waiting since the owner's confirmation run started");
            assert.strictEqual(waiting.remindersSent, 0);
            const table = await runCli(["--outputs", "-", "--region", "us-east-1", "status"], { stdin: JSON.stringify(outputs) });
            assert.match(table.stdout, new RegExp(`Rotation in progress: ${name}`));
            assert.match(table.stdout, /host1\.example\.com .*owner1@example\.com .*pending/);
        });
    });

    describe("bad flags and missing input (no AWS call needed)", () => {
        it("an unknown flag, a bad value and a missing rotator each give an error naming the flag (exit 64)", async () => {
            const unknown = await runCli(["status", "--bogus"]);
            assert.strictEqual(unknown.code, 64);
            assert.match(unknown.stderr, /unknown option '--bogus'/);
            const bad = await runCli(["--outputs", "x.json", "status", "--max-age-days", "soon"]);
            assert.strictEqual(bad.code, 64);
            assert.match(bad.stderr, /--max-age-days must be a positive integer, got "soon"/);
            const none = await runCli(["status"]);
            assert.strictEqual(none.code, 64);
            assert.match(none.stderr, /--outputs <file\|-> .* or --unit <business unit>/);
            const missing = await runCli(["--outputs", "/nonexistent/outputs.json", "status"]);
            assert.strictEqual(missing.code, 64);
            assert.match(missing.stderr, /--outputs \/nonexistent\/outputs\.json: cannot read it \(ENOENT\)/);
            const notJson = await runCli(["--outputs", "-", "status"], { stdin: "not json" });
            assert.strictEqual(notJson.code, 3);
            assert.match(notJson.stderr, /--outputs stdin: not JSON/);
            const badMode = await runCli(["--outputs", "-", "status"], { stdin: JSON.stringify({ mode: "sometimes" }) });
            assert.match(badMode.stderr, /--outputs stdin: output "mode" must be "auto" or "manual", got "sometimes"/);
            const partial = await runCli(["--outputs", "-", "status"], { stdin: JSON.stringify({ mode: "auto" }) });
            assert.match(partial.stderr, /--outputs stdin: output "businessUnit" is missing/);
            const command = await runCli(["rotat"]);
            assert.strictEqual(command.code, 64);
            assert.match(command.stderr, /unknown command 'rotat'/);
        });
    });
});
