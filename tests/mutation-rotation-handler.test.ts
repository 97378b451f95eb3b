/**
 * runtime/auto/rotation-handler.ts step by step with exact assertions (docs/mutation.md): the event checks and
 * both spellings of every step, the redacting logger, what setSecret hands SSM (deadline bounded by the Lambda's
 * remaining time, comment, credential reference), its failure messages, Secrets Manager's configuration test,
 * finishSecret's stage move and retirement, the success and failure notices. Fast enough for Stryker: one
 * DynamoDB fleet table of three servers, the SSM command outcome as moto reports it (Success) or played through
 * the proxy's overlay, and the real SMTP AUTH check against the local SES-compatible endpoint, wrapped to record
 * what the handler passed it. Secrets Manager's side is played by tests/support/rotation-driver.ts (moto cannot
 * invoke our Lambda).
 */
import * as assert from "assert";
import { randomUUID } from "crypto";
import { IAMClient } from "@aws-sdk/client-iam";
import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from "@aws-sdk/client-secrets-manager";
import { listAccessKeys } from "../runtime/access-keys";
import { createRotationHandler, FleetUpdateError, RotationConfig, RotationDeps, RotationEvent } from "../runtime/auto/rotation-handler";
import type { SmtpCredentialValue } from "../runtime/credential";
import type { Logger } from "../runtime/notify";
import { listRetirements } from "../runtime/retirement";
import { clientConfig, testEnv } from "./support/hooks";
import { RotationWorld, USER } from "./support/rotation-driver";
import { useRotationWorld } from "./support/suite-hooks";

type Handler = (event: RotationEvent, context?: { getRemainingTimeInMillis?: () => number }) => Promise<void>;

describe("rotation handler: events, logs, SSM request, notices, finish (mutation testing, moto + SES-compatible endpoint)", () => {
    let world: RotationWorld;
    useRotationWorld((_e, w) => {
        world = w;
    });

    let logs: { msg: string; fields: any }[];
    let checks: { username: string; log: Logger | undefined }[];
    let sendsAtCheck: number[];
    const calls = (op: string) => testEnv().proxy.callCounts()[op] ?? 0;
    const messages = () => logs.map((l) => l.msg);
    const logOf = (msg: string) => logs.filter((l) => l.msg === msg).map((l) => l.fields);
    const notices = () => world.published().map((m) => ({ subject: m.subject, body: JSON.parse(m.message.slice(m.message.indexOf("{"))) }));
    const keyStatus = async (id: string) => (await listAccessKeys(new IAMClient(clientConfig()), USER)).find((k) => k.accessKeyId === id)?.status ?? "absent";
    const sent = () => world.sentCommands().map((c) => c.request);

    /** The handler with the real SMTP check wrapped to record its calls; `check` replaces it where a test says so. */
    function handler(over: { config?: Partial<RotationConfig>; deps?: Partial<RotationDeps>; check?: RotationDeps["smtpCheck"] } = {}): Handler {
        const real = world.smtpCheck();
        return createRotationHandler(
            {
                iam: world.iam,
                secrets: world.secrets,
                ssm: world.ssm,
                sns: world.sns,
                dynamodb: world.dynamodb,
                smtpCheck: async (cred: SmtpCredentialValue, call?: { log?: Logger }) => {
                    checks.push({ username: cred.username, log: call?.log });
                    sendsAtCheck.push(calls("ssm:SendCommand"));
                    return (over.check ?? real)(cred, call);
                },
                now: () => new Date(world.clock),
                sleep: async (ms) => {
                    world.clock += ms;
                    world.onFleetWait();
                },
                log: (msg, fields) => void logs.push({ msg, fields }),
                ...over.deps,
            },
            { ...world.config, ...over.config },
        );
    }
    const step = (Step: string, token: string, h = handler(), context?: { getRemainingTimeInMillis?: () => number }) =>
        h({ Step, SecretId: world.secretArn, ClientRequestToken: token }, context);

    /** stands in for the SMTP check where a test is about SSM, not SES (the real check is exercised by the other tests) */
    const passes = async () => undefined;

    beforeEach(() => {
        logs = [];
        checks = [];
        sendsAtCheck = [];
    });

    it("refuses a bad event before any AWS call, naming the field", async () => {
        const before = testEnv().proxy.calls.length;
        const h = handler();
        await assert.rejects(h(undefined as any), { message: "rotation event Step undefined is not one of createSecret, setSecret, testSecret, finishSecret" });
        await assert.rejects(h({ Step: "rotateSecret", SecretId: world.secretArn, ClientRequestToken: "t" }), {
            message: 'rotation event Step "rotateSecret" is not one of createSecret, setSecret, testSecret, finishSecret',
        });
        await assert.rejects(h({ Step: "createSecret", SecretId: "", ClientRequestToken: "t" }), { message: "rotation event SecretId is missing" });
        await assert.rejects(h({ Step: "createSecret", SecretId: world.secretArn, ClientRequestToken: "" }), { message: "rotation event ClientRequestToken is missing" });
        assert.strictEqual(testEnv().proxy.calls.length, before);
        assert.deepStrictEqual(logs, []);
    });

    it("both spellings of every step reach that step; on an AWSCURRENT version only finishSecret does anything (it advances retirements)", async () => {
        const current = Object.entries(await world.stages()).find(([, s]) => s.includes("AWSCURRENT"))![0];
        const spellings = [
            ["createSecret", "createSecret"],
            ["create_secret", "createSecret"],
            ["setSecret", "setSecret"],
            ["set_secret", "setSecret"],
            ["testSecret", "testSecret"],
            ["test_secret", "testSecret"],
            ["finishSecret", "finishSecret"],
            ["finish_secret", "finishSecret"],
        ];
        for (const [spelling, canonical] of spellings) {
            logs = [];
            const lists = calls("iam:ListUserTags");
            await step(spelling, current);
            assert.deepStrictEqual(logs, [
                { msg: "rotation step", fields: { step: canonical, secretArn: world.secretArn, versionId: current, stage: "already-current" } },
                { msg: "rotation step: version is already AWSCURRENT, nothing to do", fields: { step: canonical, versionId: current } },
            ]);
            assert.strictEqual(calls("iam:ListUserTags") > lists, canonical === "finishSecret", `${spelling}: retirements advanced only by finishSecret`);
        }
        assert.deepStrictEqual(notices(), []);
    });

    it("a whole rotation: the check before any SendCommand, the SSM request, each step's log lines, the notices, the retirement", async () => {
        const token = await world.beginRotation();
        await step("createSecret", token);
        const pending = await world.value({ versionId: token });
        assert.deepStrictEqual(logs.slice(-1), [{ msg: "createSecret done", fields: { outcome: "created" } }]);

        logs = [];
        await step("set_secret", token);
        assert.deepStrictEqual(sendsAtCheck, [0], "SMTP check before any server is told");
        assert.strictEqual(checks[0].username, pending.username);
        assert.strictEqual(typeof checks[0].log, "function");
        const requests = sent();
        assert.deepStrictEqual(requests.map((r) => [r.DocumentName, r.Comment, r.TimeoutSeconds, r.InstanceIds.length]).sort(), [
            ["ses-iis-update", `SES SMTP credential rotation ${token.slice(0, 8)}`, 600, 1],
            ["ses-postfix-update", `SES SMTP credential rotation ${token.slice(0, 8)}`, 600, 2],
        ]);
        for (const r of requests) {
            assert.deepStrictEqual(r.Parameters, { CredentialSource: ["SecretsManager"], CredentialId: [world.secretArn], CredentialVersion: [token], Region: ["us-east-1"], Mode: ["update"] });
            assert.strictEqual(r.DocumentVersion, undefined);
        }
        const [finished] = logOf("setSecret: fleet update finished");
        const servers = [...world.instances.postfix.map((id) => ({ serverId: id, software: "postfix", status: "Success" })), { serverId: world.instances.iis[0], software: "iis", status: "Success" }].sort(
            (a, b) => (a.serverId < b.serverId ? -1 : 1),
        );
        const { commandIds, ...report } = finished;
        assert.deepStrictEqual(report, { ok: true, accessKeyId: pending.username, total: 3, byStatus: { Success: 3 }, servers });
        assert.deepStrictEqual([...commandIds].sort(), world.sentCommands().map((c) => c.command.CommandId).sort());

        logs = [];
        await step("testSecret", token);
        assert.deepStrictEqual(checks.map((c) => c.username), [pending.username, pending.username]);
        assert.deepStrictEqual(logOf("testSecret: SMTP AUTH accepted the pending credential"), [{ accessKeyId: pending.username, outcome: { attempts: 1 } }]);

        logs = [];
        const currentVersion = Object.entries(await world.stages()).find(([, s]) => s.includes("AWSCURRENT"))![0];
        await step("finishSecret", token);
        assert.deepStrictEqual(logOf("finishSecret: AWSCURRENT moved"), [{ versionId: token, fromVersionId: currentVersion, accessKeyId: pending.username }]);
        const stages = await world.stages();
        assert.ok(stages[token].includes("AWSCURRENT"));
        assert.deepStrictEqual(stages[currentVersion], ["AWSPREVIOUS"]);
        const records = await listRetirements(world.iam, USER);
        assert.deepStrictEqual(
            records.map((r) => [r.accessKeyId, r.newAccessKeyId, r.switchedAt, r.phase]),
            [[world.firstKeyId, pending.username, new Date(world.clock).toISOString().replace(/\.\d{3}Z$/, "Z"), "deactivated"]],
            "observationHours 0: scheduled at the switch and deactivated in the same run",
        );
        assert.strictEqual(await keyStatus(world.firstKeyId), "Inactive");
        const [started, succeeded] = notices();
        assert.strictEqual(started.body.kind, "rotation-started");
        assert.strictEqual(succeeded.subject, `SES SMTP credential rotated for ${USER}`);
        assert.strictEqual(succeeded.body.kind, "rotation-succeeded");
        assert.deepStrictEqual(succeeded.body.subject, { secretArn: world.secretArn, iamUser: USER, versionId: token });
        assert.deepStrictEqual(Object.keys(succeeded.body.details), ["retirement"]);
        assert.deepStrictEqual(succeeded.body.details.retirement.keys.map((k: any) => [k.accessKeyId, k.action]), [[world.firstKeyId, "deactivated"]]);
        assert.strictEqual(notices().length, 2);
    });

    it("the observation window comes from the configuration, and finishSecret schedules the old key itself", async () => {
        const token = await world.beginRotation();
        const h = handler({ config: { retirement: { observationHours: 24, graceDays: 7 } } });
        for (const s of ["createSecret", "setSecret", "testSecret", "finishSecret"]) await step(s, token, h);
        const [record] = await listRetirements(world.iam, USER);
        assert.strictEqual(record.phase, "observing");
        // scheduled by finishSecret itself (not picked up afterwards as a forgotten AWSPREVIOUS key)
        assert.deepStrictEqual(notices().at(-1)!.body.details.retirement.keys.map((k: any) => [k.accessKeyId, k.action, k.note]), [[world.firstKeyId, "none", `observing until ${record.deactivateAfter}`]]);
        assert.strictEqual(record.deactivateAfter, new Date(world.clock + 24 * 3600_000).toISOString().replace(/\.\d{3}Z$/, "Z"));

    });

    it("a retried finishSecret on an AWSCURRENT version schedules the AWSPREVIOUS key that has no record; other steps on it do not", async () => {
        const token = await world.beginRotation();
        for (const s of ["createSecret", "setSecret", "testSecret"]) await step(s, token);
        const currentVersion = Object.entries(await world.stages()).find(([, s]) => s.includes("AWSCURRENT"))![0];
        await world.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: world.secretArn, VersionStage: "AWSCURRENT", MoveToVersionId: token, RemoveFromVersionId: currentVersion }));
        for (const s of ["createSecret", "setSecret", "testSecret"]) await step(s, token);
        assert.deepStrictEqual(await listRetirements(world.iam, USER), []);
        await step("finishSecret", token);
        assert.deepStrictEqual((await listRetirements(world.iam, USER)).map((r) => [r.accessKeyId, r.phase]), [[world.firstKeyId, "deactivated"]]);
        assert.strictEqual(notices().filter((n) => n.body.kind === "rotation-succeeded").length, 0, "nothing to announce: the retry only finished the retirement");
    });

    it("finishSecret on a version holding the current key moves AWSCURRENT and retires nothing", async () => {
        const token = await world.beginRotation(); // moto's copy of the current value
        await step("finishSecret", token);
        assert.ok((await world.stages())[token].includes("AWSCURRENT"));
        assert.deepStrictEqual(await listRetirements(world.iam, USER), []);
        assert.strictEqual(await keyStatus(world.firstKeyId), "Active");
        assert.deepStrictEqual(notices().map((n) => n.body.kind), ["rotation-succeeded"]);
    });

    it("setSecret bounds the wait by the Lambda's remaining time minus 30 s, and by the configured deadline", async () => {
        const token = await world.beginRotation();
        await step("createSecret", token);
        const timeouts = async (context?: { getRemainingTimeInMillis?: () => number }, config?: Partial<RotationConfig>) => {
            const before = world.sentCommands().length;
            await step("setSecret", token, handler({ config, check: passes }), context);
            return [...new Set(world.sentCommands().slice(before).map((c) => c.request.TimeoutSeconds))];
        };
        assert.deepStrictEqual(await timeouts(), [600]);
        assert.deepStrictEqual(await timeouts({}), [600], "a context without getRemainingTimeInMillis");
        assert.deepStrictEqual(await timeouts({ getRemainingTimeInMillis: () => 120_000 }), [90]);
        assert.deepStrictEqual(await timeouts({ getRemainingTimeInMillis: () => 900_000 }, { fleetDeadlineSeconds: 300 }), [300]);
        assert.deepStrictEqual(await timeouts({ getRemainingTimeInMillis: () => 630_000 }), [600]);
        assert.deepStrictEqual(await timeouts({ getRemainingTimeInMillis: () => 631_000 }), [600]);
        assert.deepStrictEqual(await timeouts({ getRemainingTimeInMillis: () => 629_000 }), [599]);
        // less than the margin left: nothing is sent, and the error says why
        const before = calls("ssm:SendCommand");
        await assert.rejects(step("setSecret", token, handler({ check: passes }), { getRemainingTimeInMillis: () => 29_000 }), {
            message:
                "setSecret: the Lambda has 29 s left after the SMTP check, within the 30 s kept back to report the fleet update: nothing was sent to any server; Secrets Manager retries the step (raise the rotation Lambda's timeout if this repeats)",
        });
        await assert.rejects(step("setSecret", token, handler({ check: passes }), { getRemainingTimeInMillis: () => 30_000 }), { message: /^setSecret: the Lambda has 30 s left after the SMTP check/ });
        assert.strictEqual(calls("ssm:SendCommand"), before);
    });

    it("setSecret measures the Lambda's remaining time after the SMTP check, which may have waited minutes for IAM", async () => {
        const token = await world.beginRotation();
        await step("createSecret", token);
        // the check waits out IAM propagation on the handler's clock: 170 s of the Lambda's 900 s
        const slowCheck = async () => void (world.clock += 170_000);
        const before = world.sentCommands().length;
        await step("setSecret", token, handler({ config: { fleetDeadlineSeconds: 780 }, check: slowCheck }), { getRemainingTimeInMillis: () => 900_000 });
        // 900 - 170 - 30 = 700 s, not the configured 780 s that would outlive the Lambda
        assert.deepStrictEqual([...new Set(world.sentCommands().slice(before).map((c) => c.request.TimeoutSeconds))], [700]);
        // a check that leaves too little: nothing is sent
        const sends = calls("ssm:SendCommand");
        const slowerCheck = async () => void (world.clock += 875_000);
        await assert.rejects(step("setSecret", token, handler({ check: slowerCheck }), { getRemainingTimeInMillis: () => 900_000 }), { message: /^setSecret: the Lambda has 25 s left after the SMTP check/ });
        assert.strictEqual(calls("ssm:SendCommand"), sends);
    });

    it("setSecret passes document versions, the poll interval and the sleep it was given", async () => {
        testEnv().proxy.agentMode = true;
        let waits = 0;
        world.onFleetWait = () => {
            waits++;
            for (const { command } of world.sentCommands()) for (const id of command.InstanceIds as string[]) testEnv().proxy.setInvocation(command.CommandId, id, { status: "Success", responseCode: 0 });
        };
        const token = await world.beginRotation();
        await step("createSecret", token);
        const start = world.clock;
        await step("setSecret", token, handler({ config: { documentVersions: { postfix: "3", iis: "2" } }, deps: { fleetPollIntervalMs: 1234 }, check: passes }));
        assert.deepStrictEqual(sent().map((r) => [r.DocumentName, r.DocumentVersion]).sort(), [["ses-iis-update", "2"], ["ses-postfix-update", "3"]]);
        assert.strictEqual(waits, 1);
        assert.strictEqual(world.clock - start, 1234, "one wait of the given interval, on the injected clock");
    });

    it("setSecret refuses to go on when the SMTP check refuses the pending credential: no server is told", async () => {
        const token = await world.beginRotation();
        await step("createSecret", token);
        world.endpoint.refuseLogin = () => "propagating";
        await assert.rejects(step("setSecret", token), /auth/);
        assert.strictEqual(calls("ssm:SendCommand"), 0);
    });

    it("a failed server: the exact message (detail cut at 200 characters), FleetUpdateError with the result, the failure notice with the report", async () => {
        testEnv().proxy.agentMode = true;
        const failing = world.instances.postfix[1];
        const quiet = world.instances.iis[0];
        const stderr = "postmap: fatal: " + "x".repeat(300);
        world.onFleetWait = () => {
            for (const { command } of world.sentCommands()) {
                for (const id of command.InstanceIds as string[]) {
                    const result = id === failing ? { status: "Failed" as const, responseCode: 2, stderr } : id === quiet ? { status: "Failed" as const, responseCode: 1 } : { status: "Success" as const, responseCode: 0 };
                    testEnv().proxy.setInvocation(command.CommandId, id, result);
                }
            }
        };
        const token = await world.beginRotation();
        await step("createSecret", token);
        logs = [];
        let error: any;
        await step("setSecret", token, handler({ check: passes })).catch((e) => (error = e));
        assert.ok(error instanceof FleetUpdateError);
        assert.strictEqual(error.name, "FleetUpdateError");
        const byId = new Map(error.result.failed.map((s: any) => [s.serverId, s]));
        assert.deepStrictEqual([...byId.keys()].sort(), [failing, quiet].sort());
        const detail: string = (byId.get(failing) as any).detail;
        assert.ok(detail.length > 200, detail);
        assert.strictEqual((byId.get(quiet) as any).detail, "exit 1");
        const named = error.result.failed.map((s: any) => (s.serverId === failing ? `${failing} (postfix: Failed: ${detail.slice(0, 200)})` : `${quiet} (iis: Failed: exit 1)`));
        assert.strictEqual(error.message, `setSecret: 2 of 3 servers did not take the new credential: ${named.join(", ")}; AWSCURRENT is unchanged and the old key stays Active`);
        assert.deepStrictEqual(logOf("rotation step failed"), [{ step: "setSecret", versionId: token, error: error.message }]);
        const alert = notices().at(-1)!;
        assert.strictEqual(alert.subject, `SES SMTP credential rotation FAILED for ${USER} (setSecret)`);
        assert.deepStrictEqual(alert.body.subject, { secretArn: world.secretArn, iamUser: USER, versionId: token });
        const { servers, ...rest } = alert.body.details;
        assert.deepStrictEqual(rest, {
            step: "setSecret",
            error: error.message,
            total: 3,
            byStatus: { Success: 1, Failed: 2 },
            failed: error.result.failed.map((s: any) => s.serverId),
            state: "AWSCURRENT unchanged; servers keep a working credential; the old key stays Active",
        });
        assert.deepStrictEqual(servers.map((s: any) => [s.serverId, s.status]), error.result.servers.map((s: any) => [s.serverId, s.status]));
        assert.strictEqual(await keyStatus(world.firstKeyId), "Active");
    });

    it("Secrets Manager's configuration test checks the current credential quietly; with no credential at all it names what is missing", async () => {
        const copy = await world.configurationTest("copy", handler());
        assert.deepStrictEqual(checks.map((c) => c.username), [world.firstKeyId]);
        assert.deepStrictEqual(logOf("testSecret: Secrets Manager's configuration test (no createSecret ran for this version): the current credential works"), [
            { pendingValue: "copy of current", accessKeyId: world.firstKeyId, outcome: { attempts: 1 } },
        ]);
        logs = [];
        await world.configurationTest("empty", handler({ check: async () => undefined }));
        assert.deepStrictEqual(logOf("testSecret: Secrets Manager's configuration test (no createSecret ran for this version): the current credential works"), [
            { pendingValue: "none", accessKeyId: world.firstKeyId, outcome: null },
        ]);
        assert.deepStrictEqual(notices(), []);
        assert.ok(copy);

        // a real rotation whose AWSCURRENT lost its credential after createSecret: the pending credential is tested
        const real = await world.beginRotation();
        await step("createSecret", real, handler());
        const pending = await world.value({ versionId: real });
        await world.secrets.send(new PutSecretValueCommand({ SecretId: world.secretArn, SecretString: "placeholder", VersionStages: ["AWSCURRENT"] }));
        let token = "";
        checks = [];
        await step("testSecret", real, handler({ check: passes }));
        assert.deepStrictEqual(checks.map((c) => c.username), [pending.username]);
        await world.secrets.send(new UpdateSecretVersionStageCommand({ SecretId: world.secretArn, VersionStage: "AWSPENDING", RemoveFromVersionId: real }));

        await assert.rejects(
            world.configurationTest("copy", async (event) => {
                token = event.ClientRequestToken;
                await handler()(event);
            }),
            (e: Error) => e.message === `testSecret: pending version ${token} of ${world.secretArn} holds no credential and AWSCURRENT holds no SMTP credential to test`,
        );
    });

    it("setSecret and finishSecret on a pending version without a credential name the step; the failure notice says what state is left", async () => {
        const token = await world.beginRotation();
        await world.secrets.send(new PutSecretValueCommand({ SecretId: world.secretArn, ClientRequestToken: token, SecretString: "placeholder", VersionStages: ["AWSPENDING"] }));
        for (const s of ["setSecret", "finishSecret"]) {
            await assert.rejects(step(s, token), { message: `${s}: pending version ${token} of ${world.secretArn} holds no SMTP credential; createSecret must run first` });
        }
        assert.deepStrictEqual(
            notices().map((n) => [n.body.details.step, n.body.details.state]),
            [
                ["setSecret", "AWSCURRENT unchanged; servers keep a working credential; the old key stays Active"],
                ["finishSecret", "the new credential is on every server; see the error for whether AWSCURRENT moved (a retry completes the step)"],
            ],
        );
        assert.deepStrictEqual(Object.keys(notices()[0].body.details), ["step", "error", "state"], "no server report without a fleet error");
        assert.strictEqual(calls("ssm:SendCommand"), 0);
    });

    it("a secret named by its name: the notices carry its ARN; an unknown secret: the failure notice names the id given", async () => {
        const token = await world.beginRotation();
        const h = handler({ check: async () => Promise.reject("535 refused") });
        await step("createSecret", token, h);
        await assert.rejects(h({ Step: "setSecret", SecretId: "ses-smtp-bu-a", ClientRequestToken: token }), (e: unknown) => e === "535 refused");
        assert.deepStrictEqual(logOf("rotation step failed"), [{ step: "setSecret", versionId: token, error: "535 refused" }]);
        assert.deepStrictEqual(notices().at(-1)!.body.subject, { secretArn: world.secretArn, iamUser: USER, versionId: token });
        assert.strictEqual(notices().at(-1)!.body.details.error, "535 refused");
        await assert.rejects(h({ Step: "setSecret", SecretId: "no-such-secret", ClientRequestToken: token }), { name: "ResourceNotFoundException" });
        assert.deepStrictEqual(notices().at(-1)!.body.subject, { secretArn: "no-such-secret", iamUser: USER, versionId: token });
        logs = [];
        await assert.rejects(step("setSecret", token, handler({ check: () => Promise.reject(undefined) })), (e: unknown) => e === undefined);
        assert.deepStrictEqual(logOf("rotation step failed"), [{ step: "setSecret", versionId: token, error: "undefined" }]);
    });

    it("the logger redacts every password of 8 characters or more in messages and fields; a notice that would carry one is refused", async () => {
        const token = await world.beginRotation();
        await step("createSecret", token);
        const pending = await world.value({ versionId: token });
        logs = [];
        const leaky = async (cred: SmtpCredentialValue, call?: { log?: Logger }) => {
            call!.log!(`trying ${cred.password} now`, { password: cred.password, nested: { again: `x${cred.password}x` } });
            call!.log!("a line without fields");
            throw new Error(`refused ${cred.password}`);
        };
        await assert.rejects(step("setSecret", token, handler({ check: leaky })), { message: `refused ${pending.password}` });
        assert.deepStrictEqual(logs.slice(1), [
            { msg: "trying [redacted] now", fields: { password: "[redacted]", nested: { again: "x[redacted]x" } } },
            { msg: "a line without fields", fields: {} },
            { msg: "rotation step failed", fields: { step: "setSecret", versionId: token, error: "refused [redacted]" } },
            { msg: "notification refused: it would contain a secret value", fields: { kind: "rotation-failed" } },
        ]);
        assert.ok(!notices().some((n) => JSON.stringify(n).includes(pending.password)));

        // 8 characters are redacted, 7 are not (a value that short is not a password of ours)
        for (const [password, redacted] of [["12345678", true], ["1234567", false]] as const) {
            const t = randomUUID();
            await world.secrets.send(new PutSecretValueCommand({ SecretId: world.secretArn, ClientRequestToken: t, SecretString: JSON.stringify({ ...pending, password }), VersionStages: ["AWSPENDING"] }));
            logs = [];
            await assert.rejects(step("setSecret", t, handler({ check: leaky })));
            assert.deepStrictEqual(logs[1], { msg: `trying ${redacted ? "[redacted]" : password} now`, fields: { password: redacted ? "[redacted]" : password, nested: { again: `x${redacted ? "[redacted]" : password}x` } } });
        }
    });

    it("without an injected clock and logger: the real time, JSON lines on stdout", async () => {
        const token = await world.beginRotation();
        const lines: string[] = [];
        const original = console.log;
        console.log = (line: string) => void lines.push(line);
        const before = Date.now();
        try {
            await step("createSecret", token, handler({ deps: { log: undefined, now: undefined } }));
        } finally {
            console.log = original;
        }
        const parsed = lines.map((l) => JSON.parse(l));
        assert.deepStrictEqual(parsed.map((p) => p.msg), ["rotation step", "createSecret: new access key stored in AWSPENDING", "createSecret done"]);
        const at = Date.parse(parsed[0].time);
        assert.ok(at >= before && at <= Date.now());
        assert.deepStrictEqual(logs, []);
    });
});
