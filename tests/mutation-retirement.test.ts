/**
 * Edges of runtime/retirement.ts that its behaviour tests (tests/retirement.test.ts, tests/retirement-safety.test.ts)
 * left open and Stryker's mutants showed (docs/mutation.md): the policy and request checks with their exact
 * messages, idempotent override, replacing a record that names another replacement, tags that are not records,
 * and what a refused record puts in the report and the alert. IAM, Secrets Manager and SNS in moto through the
 * wire proxy.
 */
import * as assert from "assert";
import { IAMClient, TagUserCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import { smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential } from "../runtime/credential";
import { secretCredentialReader } from "../runtime/current-credential";
import {
    advanceRetirements,
    assertRetirementPolicy,
    listRetirements,
    overrideHold,
    readRetirementTags,
    retirementTagKey,
    scheduleRetirement,
    writeRecord,
} from "../runtime/retirement";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { publishedMessages } from "./support/rotation-driver";
import { createRetirementWorld } from "./support/retirement-world";

const USER = "smtp-user";
const T0 = new Date("2026-11-29T12:00:00Z");
const hours = (h: number) => new Date(T0.getTime() + h * 3600_000);

describe("retirement: request checks, override, foreign tags, refusals (mutation testing, moto)", () => {
    let iam: IAMClient;
    let sns: SNSClient;
    let topicArn: string;
    let secretArn: string;
    let oldKey: string;
    let newKey: string;
    let logs: { message: string; fields: unknown }[];
    const log = (message: string, fields?: object) => void logs.push({ message, fields });
    const deps = () => ({ iam, sns, log, store: secretCredentialReader(new SecretsManagerClient(clientConfig()), secretArn) });
    const tagUser = (key: string, value: string) => iam.send(new TagUserCommand({ UserName: USER, Tags: [{ Key: key, Value: value }] }));
    const calls = (op: string) => testEnv().proxy.callCounts()[`iam:${op}`] ?? 0;

    beforeEach(async () => {
        await resetAws();
        logs = [];
        ({ iam, sns, topicArn, oldKey, newKey, secretArn } = await createRetirementWorld(USER));
    });

    it("assertRetirementPolicy: numbers >= 0 (0 included); anything else is refused naming the field and the value", () => {
        assertRetirementPolicy({ observationHours: 0, graceDays: 0 });
        assertRetirementPolicy({ observationHours: 0.5, graceDays: 30 });
        for (const bad of [undefined, null, "24h", 7]) {
            assert.throws(() => assertRetirementPolicy(bad as any), { message: "retirement policy must be an object {observationHours, graceDays}" });
        }
        for (const bad of [-0.5, Infinity, NaN, "24", undefined]) {
            assert.throws(() => assertRetirementPolicy({ observationHours: bad as any, graceDays: 7 }), { message: `retirement.observationHours ${JSON.stringify(bad)} must be a number >= 0` });
            assert.throws(() => assertRetirementPolicy({ observationHours: 24, graceDays: bad as any }), { message: `retirement.graceDays ${JSON.stringify(bad)} must be a number >= 0` });
        }
    });

    it("scheduleRetirement: names a missing key and the same key, and checks observationHours", async () => {
        await assert.rejects(scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: "", newAccessKeyId: newKey, switchedAt: T0 }), { message: "scheduleRetirement: oldAccessKeyId is required" });
        await assert.rejects(scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: "", switchedAt: T0 }), { message: "scheduleRetirement: newAccessKeyId is required" });
        await assert.rejects(scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: oldKey, switchedAt: T0 }), {
            message: `scheduleRetirement: oldAccessKeyId and newAccessKeyId are the same key (${oldKey}); refusing to retire the key in use`,
        });
        await assert.rejects(scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0, observationHours: -1 }), /retirement.observationHours -1 must be a number >= 0/);
        assert.strictEqual(calls("TagUser"), 0, "nothing written");
        // without observationHours the record has no deactivate time; with 0 it is the switch time
        const plain = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        assert.deepStrictEqual(plain, { accessKeyId: oldKey, phase: "observing", newAccessKeyId: newKey, switchedAt: "2026-11-29T12:00:00Z" });
        assert.deepStrictEqual(await listRetirements(iam, USER), [plain]);
        assert.deepStrictEqual(logs.map((l) => l.message), ["retirement scheduled"]);
        assert.deepStrictEqual(logs[0].fields, { userName: USER, accessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: "2026-11-29T12:00:00Z" });
    });

    it("scheduleRetirement: an existing record for the same pair is kept unwritten; one naming another replacement is replaced, and logged", async () => {
        const first = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0, observationHours: 0 });
        assert.strictEqual(first.deactivateAfter, "2026-11-29T12:00:00Z");
        const writes = calls("TagUser");
        assert.deepStrictEqual(await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: hours(5) }), first);
        assert.strictEqual(calls("TagUser"), writes);

        const other = "AKIA" + "Q".repeat(16);
        await writeRecord(iam, USER, { ...first, newAccessKeyId: other });
        logs = [];
        const replaced = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: hours(5), observationHours: 2 });
        assert.deepStrictEqual(replaced, { accessKeyId: oldKey, phase: "observing", newAccessKeyId: newKey, switchedAt: "2026-11-29T17:00:00Z", deactivateAfter: "2026-11-29T19:00:00Z" });
        assert.deepStrictEqual(await listRetirements(iam, USER), [replaced]);
        assert.deepStrictEqual(logs[0], { message: "retirement record replaced: it named another replacement", fields: { userName: USER, accessKeyId: oldKey, recordedNew: other } });
    });

    it("overrideHold: exact refusals; an override is written once (a repeat returns it unchanged); the default time is now", async () => {
        await assert.rejects(overrideHold(deps(), { userName: USER, accessKeyId: oldKey }), {
            message: `overrideHold: access key ${oldKey} of IAM user "${USER}" has no retirement in progress`,
        });
        const record = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        await assert.rejects(overrideHold(deps(), { userName: USER, accessKeyId: oldKey }), {
            message: `overrideHold: the retirement of access key ${oldKey} is not held (phase observing); nothing to override`,
        });
        await writeRecord(iam, USER, { ...record, phase: "held", evidence: { lastUsedDate: "2026-11-29T13:00:00Z" } });
        const before = Date.now() - 2000;
        logs = [];
        const overridden = await overrideHold(deps(), { userName: USER, accessKeyId: oldKey });
        assert.ok(Date.parse(overridden.overrideAt!) >= before - 1000 && Date.parse(overridden.overrideAt!) <= Date.now() + 1000, overridden.overrideAt);
        assert.deepStrictEqual(logs, [{ message: "retirement hold overridden", fields: { userName: USER, accessKeyId: oldKey } }]);
        assert.deepStrictEqual(await listRetirements(iam, USER), [overridden]);
        const writes = calls("TagUser");
        assert.deepStrictEqual(await overrideHold(deps(), { userName: USER, accessKeyId: oldKey, now: hours(100) }), overridden);
        assert.strictEqual(calls("TagUser"), writes, "no second write");
    });

    it("advanceRetirements needs the credential store; the report names the user and the time (whole seconds)", async () => {
        const { store: _store, ...noStore } = deps();
        await assert.rejects(advanceRetirements(noStore as any, { userName: USER, policy: { observationHours: 1, graceDays: 1 }, now: T0 }), {
            message: "advanceRetirements: deps.store (the credential store reader) is required: it proves which key is in use",
        });
        const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 1, graceDays: 1 }, now: new Date("2026-11-29T12:00:00.750Z") });
        assert.deepStrictEqual(report, { userName: USER, checkedAt: "2026-11-29T12:00:00Z", keys: [], held: [], refused: [] });
    });

    it("tags that are not retirement records are ignored; an empty record is refused with the alert naming the tag", async () => {
        await tagUser("team", "mail");
        await tagUser("ses-rotator:other", "phase=observing");
        await tagUser(retirementTagKey(oldKey), "");
        const tags = await readRetirementTags(iam, USER);
        assert.deepStrictEqual(tags, { records: [], invalid: [{ accessKeyId: oldKey, reason: 'inconsistent record: unknown phase ""', record: "" }] });

        const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 0, graceDays: 0 }, notifyTopicArn: topicArn, now: hours(1) });
        assert.deepStrictEqual(report.refused, tags.invalid);
        assert.deepStrictEqual(report.keys, []);
        assert.ok(logs.some((l) => l.message === "retirement: refused" && JSON.stringify(l.fields) === JSON.stringify({ userName: USER, accessKeyId: oldKey, reason: 'inconsistent record: unknown phase ""' })));
        const alerts = publishedMessages();
        assert.strictEqual(alerts.length, 1);
        const body = alerts[0].message;
        assert.ok(body.startsWith(`SES SMTP key retirement refused: record for ${oldKey} of ${USER}\n`), body);
        const notice = JSON.parse(body.slice(body.indexOf("{")));
        assert.deepStrictEqual(notice, {
            kind: "retirement-refused",
            subject: { iamUser: USER, accessKeyId: oldKey },
            details: {
                reason: 'inconsistent record: unknown phase ""',
                record: `${retirementTagKey(oldKey)} = `,
                action:
                    "Nothing was deactivated or deleted. Check who wrote this IAM user tag (CloudTrail iam:TagUser); if the key is really retired, " +
                    "fix or remove the tag; never retire the key the current credential uses.",
            },
        });
    });

    it("a held retirement is listed in held until it is overridden", async () => {
        const record = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0, observationHours: 1 });
        await writeRecord(iam, USER, { ...record, phase: "held", evidence: { lastUsedDate: "2026-11-29T12:30:00Z" } });
        let report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 1, graceDays: 1 }, now: hours(2) });
        assert.deepStrictEqual(report.held, [oldKey]);
        await writeRecord(iam, USER, { ...record, phase: "held", evidence: { lastUsedDate: "2026-11-29T12:30:00Z" }, overrideAt: "2026-11-29T15:00:00Z" });
        report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 1, graceDays: 1 }, now: hours(2) });
        assert.deepStrictEqual(report.held, []);
    });

    it("scheduleRetirement and overrideHold act on the named key's record, not on another key's", async () => {
        const third = "AKIA" + "T".repeat(16);
        await writeRecord(iam, USER, { accessKeyId: third, phase: "held", newAccessKeyId: newKey, switchedAt: "2026-11-28T12:00:00Z", evidence: { lastUsedDate: "2026-11-28T13:00:00Z" } });
        const mine = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        assert.strictEqual(mine.accessKeyId, oldKey);
        assert.strictEqual(mine.switchedAt, "2026-11-29T12:00:00Z");
        assert.deepStrictEqual((await listRetirements(iam, USER)).map((r) => r.accessKeyId).sort(), [oldKey, third].sort());
        await assert.rejects(overrideHold(deps(), { userName: USER, accessKeyId: oldKey }), /not held \(phase observing\)/);
        const released = await overrideHold(deps(), { userName: USER, accessKeyId: third, now: hours(1) });
        assert.deepStrictEqual([released.accessKeyId, released.phase, released.overrideAt], [third, "held", "2026-11-29T13:00:00Z"]);
    });

    it("only held retirements without an override are listed in held", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0, observationHours: 24 });
        const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 24, graceDays: 1 }, now: hours(1) });
        assert.deepStrictEqual(report.keys.map((k) => [k.accessKeyId, k.phase, k.action]), [[oldKey, "observing", "none"]]);
        assert.deepStrictEqual(report.held, []);
    });

    it("a failed alert for a refused record is logged to the retirement's logger", async () => {
        await tagUser(retirementTagKey(oldKey), "phase=unknown");
        testEnv().proxy.addFault({ service: "sns", operation: "Publish", kind: "error", code: "InternalError", status: 500, times: 1 });
        const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 0, graceDays: 0 }, notifyTopicArn: topicArn, now: hours(1) });
        assert.strictEqual(report.refused.length, 1);
        assert.ok(logs.some((l) => l.message === "notification failed" && (l.fields as { kind?: string }).kind === "retirement-refused"), JSON.stringify(logs));
    });

    describe("a key AWSPREVIOUS holds without a record (an interrupted finish step)", () => {
        let previous: string;
        beforeEach(async () => {
            // the store: AWSCURRENT holds newKey (from the outer beforeEach), AWSPREVIOUS holds the key put here first
            const secrets = new SecretsManagerClient(clientConfig());
            const { DeleteSecretCommand, PutSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
            await secrets.send(new DeleteSecretCommand({ SecretId: secretArn, ForceDeleteWithoutRecovery: true }));
            const keys = await import("../runtime/access-keys");
            const old = { accessKeyId: oldKey, secretAccessKey: "x".repeat(40) };
            const current = (await keys.listAccessKeys(iam, USER)).find((k) => k.accessKeyId === newKey)!;
            secretArn = (await secrets.send(new CreateSecretCommand({ Name: "smtp2", SecretString: serializeCredential(smtpCredentialForKey(old, { sesRegion: "eu-west-1" })) }))).ARN!;
            await secrets.send(
                new PutSecretValueCommand({ SecretId: secretArn, SecretString: serializeCredential(smtpCredentialForKey({ accessKeyId: current.accessKeyId, secretAccessKey: "y".repeat(40) }, { sesRegion: "eu-west-1" })), VersionStages: ["AWSCURRENT"] }),
            );
            previous = oldKey;
        });

        it("is scheduled and, with observation 0, deactivated in the same run: the report says deactivated, not scheduled", async () => {
            const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 0, graceDays: 7 }, now: hours(1) });
            assert.deepStrictEqual(report.keys.map((k) => [k.accessKeyId, k.action]), [[previous, "deactivated"]]);
        });

        it("is scheduled with a note naming the store and the current key", async () => {
            const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 24, graceDays: 7 }, now: hours(1) });
            assert.deepStrictEqual(report.keys.map((k) => [k.accessKeyId, k.action]), [[previous, "scheduled"]]);
            assert.ok(
                report.keys[0].note.startsWith(`replaced in secret ${secretArn} (AWSCURRENT) by ${newKey} without a retirement record (an interrupted finish step): retirement scheduled; `),
                report.keys[0].note,
            );
        });

        it("is not scheduled when AWSCURRENT names the same key", async () => {
            const secrets = new SecretsManagerClient(clientConfig());
            const { PutSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
            const same = serializeCredential(smtpCredentialForKey({ accessKeyId: newKey, secretAccessKey: "z".repeat(40) }, { sesRegion: "eu-west-1" }));
            await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: same, VersionStages: ["AWSCURRENT"] }));
            const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 24, graceDays: 7 }, now: hours(1) });
            assert.deepStrictEqual(report.keys, []);
            assert.deepStrictEqual(await listRetirements(iam, USER), []);
        });
    });
});
