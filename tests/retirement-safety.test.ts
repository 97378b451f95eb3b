/**
 * Issue 12 items 1, 2 and 4: the retirement never deactivates or deletes a key that is in use, whatever its
 * record says. IAM, Secrets Manager and SSM in moto through the wire proxy; the store the retirement re-reads
 * is the real secret (auto) or SecureString parameter (manual). A key's "last use" is what IAM would report,
 * fed through the proxy (`setKeyLastUsed`, an emulation: moto does not track it).
 */
import * as assert from "assert";
import { CreateUserCommand, IAMClient, TagUserCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient, UpdateSecretVersionStageCommand, DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { createAccessKeyForSmtp, listAccessKeys, smtpCredentialForKey, NewAccessKey } from "../runtime/access-keys";
import { serializeCredential } from "../runtime/credential";
import { secretCredentialReader } from "../runtime/current-credential";
import { createRetireHandler } from "../runtime/manual/retire-task";
import { scannedLogger } from "./support/leak-scanner";
import { advanceRetirements, listRetirements, overrideHold, RetirementPolicy, retirementTagKey, scheduleRetirement } from "../runtime/retirement";
import { retirementLambdaFactory } from "../components/providers/retirement-lambda";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { publishedMessages } from "./support/rotation-driver";

const USER = "smtp-user";
const T0 = new Date("2026-11-29T12:00:00Z");
const hours = (h: number) => new Date(T0.getTime() + h * 3600_000);
const PARAMETER = "/ses-smtp/bu-a/credential";

describe("retirement safety: re-activated keys, records checked against the credential store (moto)", () => {
    let iam: IAMClient;
    let sns: SNSClient;
    let secrets: SecretsManagerClient;
    let topicArn: string;
    let secretArn: string;
    let oldKey: NewAccessKey;
    let newKey: NewAccessKey;
    const policy: RetirementPolicy = { observationHours: 24, graceDays: 7 };

    const value = (k: NewAccessKey) => serializeCredential(smtpCredentialForKey(k, { sesRegion: "eu-west-1" }));
    const deps = () => ({ iam, sns, log: scannedLogger("retirement"), store: secretCredentialReader(secrets, secretArn) });
    const status = async (id: string) => (await listAccessKeys(iam, USER)).find((k) => k.accessKeyId === id)?.status ?? "absent";
    const advance = (now: Date, p = policy) => advanceRetirements(deps(), { userName: USER, policy: p, notifyTopicArn: topicArn, now });
    const tagRecord = (keyId: string, value: string) => iam.send(new TagUserCommand({ UserName: USER, Tags: [{ Key: retirementTagKey(keyId), Value: value }] }));

    beforeEach(async () => {
        await resetAws();
        iam = new IAMClient(clientConfig());
        sns = new SNSClient(clientConfig());
        secrets = new SecretsManagerClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: USER }));
        topicArn = (await sns.send(new CreateTopicCommand({ Name: "rotation-alerts" }))).TopicArn!;
        oldKey = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        newKey = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        // The rotation finished: AWSCURRENT holds the new key, AWSPREVIOUS the old one.
        secretArn = (await secrets.send(new CreateSecretCommand({ Name: "smtp", SecretString: value(oldKey) }))).ARN!;
        await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: value(newKey), VersionStages: ["AWSCURRENT"] }));
    });

    describe("item 1: a re-activated key is held, never deleted", () => {
        it("re-activated during the grace period: held with the evidence and an alert; never deleted, even long after the grace", async () => {
            await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey.accessKeyId, newAccessKeyId: newKey.accessKeyId, switchedAt: T0 });
            assert.strictEqual((await advance(hours(25))).keys[0].action, "deactivated");
            // An operator found a missed consumer and re-activated the old key; the consumer sends mail with it.
            await iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: oldKey.accessKeyId, Status: "Active" }));
            testEnv().proxy.setKeyLastUsed(oldKey.accessKeyId, { lastUsedDate: hours(30), serviceName: "ses", region: "eu-west-1" });

            const report = await advance(hours(25 + 24 * 8)); // the grace period is over
            assert.strictEqual(await status(oldKey.accessKeyId), "Active", "the re-activated key is not deleted");
            assert.deepStrictEqual(report.held, [oldKey.accessKeyId]);
            const entry = report.keys[0];
            assert.strictEqual(entry.action, "held");
            assert.strictEqual(entry.heldReason, "reactivated");
            assert.strictEqual(entry.evidence!.lastUsedDate, hours(30).toISOString());
            assert.match(entry.note, /re-activated/);
            const alert = publishedMessages().find((m) => /retirement held/.test(m.subject));
            assert.ok(alert, "an alert was published");
            for (const part of [oldKey.accessKeyId, "re-activated", hours(30).toISOString()]) assert.ok(alert.message.includes(part), `alert names ${part}: ${alert.message}`);

            // Later runs keep it: no delete, no repeated alert.
            await advance(hours(24 * 60));
            assert.strictEqual(await status(oldKey.accessKeyId), "Active");
            assert.strictEqual(publishedMessages().filter((m) => /retirement held/.test(m.subject)).length, 1);
            assert.strictEqual((await listRetirements(iam, USER))[0].phase, "held");

            // The operator moved the consumer and overrides: deactivated again, with a new grace period.
            await overrideHold(deps(), { userName: USER, accessKeyId: oldKey.accessKeyId, now: hours(24 * 60) });
            const after = await advance(hours(24 * 60 + 1));
            assert.strictEqual(after.keys[0].action, "deactivated");
            assert.strictEqual(await status(oldKey.accessKeyId), "Inactive");
            // Re-activated once more: held again (the earlier override does not carry over).
            await iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: oldKey.accessKeyId, Status: "Active" }));
            assert.deepStrictEqual((await advance(hours(24 * 70))).held, [oldKey.accessKeyId]);
            assert.strictEqual(await status(oldKey.accessKeyId), "Active");
        });
    });

    describe("item 2: records are checked against the credential store before every deactivate and delete", () => {
        const refusedAlert = (keyId: string) => publishedMessages().find((m) => /refused/.test(m.subject) && m.message.includes(keyId));

        it("a record whose new key equals the old key (the key AWSCURRENT holds) is refused with an alert; nothing changes", async () => {
            await tagRecord(newKey.accessKeyId, `phase=observing new=${newKey.accessKeyId} switched=2026-11-01T00:00:00Z deactivate=2026-11-02T00:00:00Z`);
            const report = await advance(hours(48));
            assert.strictEqual(await status(newKey.accessKeyId), "Active", "the current key stays Active");
            assert.deepStrictEqual(report.refused.map((r) => r.accessKeyId), [newKey.accessKeyId]);
            assert.match(report.refused[0].reason, /same key/);
            assert.ok(refusedAlert(newKey.accessKeyId), "an alert names the key");
            assert.ok(
                testEnv().proxy.calls.every((c) => !["UpdateAccessKey", "DeleteAccessKey", "UntagUser"].includes(c.operation)),
                "no key or record was changed",
            );
        });

        it("a well-formed record for the key AWSCURRENT holds is refused (deactivate), and so is a deactivated one (delete)", async () => {
            await tagRecord(newKey.accessKeyId, `phase=observing new=${oldKey.accessKeyId} switched=2026-11-01T00:00:00Z deactivate=2026-11-02T00:00:00Z`);
            let report = await advance(hours(48));
            assert.strictEqual(await status(newKey.accessKeyId), "Active");
            assert.strictEqual(await status(oldKey.accessKeyId), "Active");
            assert.match(report.refused[0].reason, /current credential/);
            assert.ok(report.refused[0].reason.includes(secretArn), "names the store");
            assert.ok(refusedAlert(newKey.accessKeyId));

            // The key is Inactive (someone deactivated it) and a record says its grace is over: still never deleted.
            await iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: newKey.accessKeyId, Status: "Inactive" }));
            await tagRecord(newKey.accessKeyId, `phase=deactivated new=${oldKey.accessKeyId} switched=2026-11-01T00:00:00Z deactivate=2026-11-02T00:00:00Z delete=2026-11-03T00:00:00Z`);
            report = await advance(hours(48));
            assert.strictEqual(await status(newKey.accessKeyId), "Inactive", "not deleted");
            assert.match(report.refused[0].reason, /current credential/);
        });

        it("a record whose replacement is not the key the store holds is refused", async () => {
            // AWSCURRENT names a third key (not one of the user's): the record's story (old → new) is not what the store says.
            const third = { accessKeyId: "AKIAZZZZZZZZZZZZZZZZ", secretAccessKey: "x".repeat(40) };
            await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: value(third), VersionStages: ["AWSCURRENT"] }));
            await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey.accessKeyId, newAccessKeyId: newKey.accessKeyId, switchedAt: T0 });
            const report = await advance(hours(48));
            assert.strictEqual(await status(oldKey.accessKeyId), "Active");
            assert.match(report.refused[0].reason, new RegExp(`names ${newKey.accessKeyId} as the replacement.*names ${third.accessKeyId}`));
        });

        it("inconsistent records (times out of order, unknown phase) are refused with an alert and change nothing", async () => {
            await iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: oldKey.accessKeyId, Status: "Inactive" }));
            await tagRecord(oldKey.accessKeyId, `phase=deactivated new=${newKey.accessKeyId} switched=2026-11-20T00:00:00Z deactivate=2026-11-21T00:00:00Z delete=2026-11-01T00:00:00Z`);
            let report = await advance(hours(1));
            assert.strictEqual(await status(oldKey.accessKeyId), "Inactive", "not deleted");
            assert.match(report.refused[0].reason, /out of order/);
            assert.ok(refusedAlert(oldKey.accessKeyId));

            await tagRecord(oldKey.accessKeyId, `phase=retired new=${newKey.accessKeyId} switched=2026-11-20T00:00:00Z`);
            report = await advance(hours(1));
            assert.match(report.refused[0].reason, /phase "retired"/);
            assert.strictEqual(await status(oldKey.accessKeyId), "Inactive");
            assert.ok(testEnv().proxy.calls.every((c) => !["DeleteAccessKey", "UntagUser"].includes(c.operation)), "no key or record was removed");
        });

        it("an unreadable store refuses every deactivate and delete", async () => {
            await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey.accessKeyId, newAccessKeyId: newKey.accessKeyId, switchedAt: T0 });
            await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: "not a credential", VersionStages: ["AWSCURRENT"] }));
            const report = await advance(hours(48));
            assert.strictEqual(await status(oldKey.accessKeyId), "Active");
            assert.match(report.refused[0].reason, /holds no readable SMTP credential/);
        });

        it("manual mode: RetireOldKeys re-reads the latest parameter version; a record naming its key is refused (blocked), key untouched", async () => {
            const ssm = new SSMClient(clientConfig());
            await ssm.send(new PutParameterCommand({ Name: PARAMETER, Type: "SecureString", Value: value(newKey) }));
            const retire = createRetireHandler({ iam, ssm, log: scannedLogger("retirement") }, { iamUserName: USER, parameterName: PARAMETER });
            // A record (hostile or mistaken) says the key the parameter holds is the old one.
            await tagRecord(newKey.accessKeyId, `phase=observing new=${oldKey.accessKeyId} switched=2026-11-01T00:00:00Z deactivate=2026-11-02T00:00:00Z`);
            const result = await retire({ action: "advance", accessKeyIds: [newKey.accessKeyId], keepAccessKeyId: oldKey.accessKeyId, observationSeconds: 0, graceSeconds: 0 });
            assert.strictEqual(result.state, "blocked");
            assert.match(result.keys[0].note, /current credential/);
            assert.ok(result.keys[0].note.includes(PARAMETER));
            assert.strictEqual(await status(newKey.accessKeyId), "Active");
            // The real switch still retires normally.
            await tagRecord(newKey.accessKeyId, ""); // overwritten by schedule below
            const ok = await retire({ action: "schedule", accessKeyIds: [oldKey.accessKeyId], keepAccessKeyId: newKey.accessKeyId, observationSeconds: 0, graceSeconds: 0 });
            assert.strictEqual(ok.state, "observing");
            const done = await retire({ action: "advance", accessKeyIds: [oldKey.accessKeyId], keepAccessKeyId: newKey.accessKeyId, observationSeconds: 0, graceSeconds: 0 });
            assert.strictEqual(done.state, "done");
            assert.strictEqual(await status(oldKey.accessKeyId), "absent");
        });
    });

    describe("item 4: a crash after AWSCURRENT moved does not leave the old key Active until the next rotation", () => {
        const ENV = ["IAM_USER_NAME", "RETIRE_OBSERVATION_HOURS", "RETIRE_GRACE_DAYS", "NOTIFY_TOPIC_ARN", "SECRET_ARN"];
        let saved: Record<string, string | undefined>;
        beforeEach(() => {
            saved = Object.fromEntries(ENV.map((n) => [n, process.env[n]]));
        });
        afterEach(() => {
            for (const n of ENV) {
                if (saved[n] === undefined) delete process.env[n];
                else process.env[n] = saved[n];
            }
        });

        /** The hourly retirement Lambda, built by its real factory from its environment (clients reach moto via AWS_ENDPOINT_URL). */
        function hourlyRun() {
            Object.assign(process.env, { IAM_USER_NAME: USER, RETIRE_OBSERVATION_HOURS: "24", RETIRE_GRACE_DAYS: "7", NOTIFY_TOPIC_ARN: topicArn, SECRET_ARN: secretArn });
            return retirementLambdaFactory()();
        }

        it("the hourly run schedules the retirement of the AWSPREVIOUS key that has no record", async () => {
            const stages = (await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages!;
            assert.ok(Object.values(stages).some((s) => s.includes("AWSPREVIOUS")), "moto moved AWSPREVIOUS with AWSCURRENT");
            assert.deepStrictEqual(await listRetirements(iam, USER), [], "finishSecret crashed before recording the retirement");
            const report = await hourlyRun();
            const records = await listRetirements(iam, USER);
            assert.deepStrictEqual(
                records.map((r) => [r.accessKeyId, r.phase, r.newAccessKeyId]),
                [[oldKey.accessKeyId, "observing", newKey.accessKeyId]],
            );
            assert.strictEqual(Date.parse(records[0].deactivateAfter!) - Date.parse(records[0].switchedAt), 24 * 3600_000);
            assert.deepStrictEqual(report.keys.map((k) => [k.accessKeyId, k.action]), [[oldKey.accessKeyId, "scheduled"]]);
            assert.strictEqual(await status(oldKey.accessKeyId), "Active", "observation starts now");
        });

        it("never schedules the key AWSCURRENT holds (AWSCURRENT moved back to the old key's version)", async () => {
            // AWSCURRENT moved back to the old key's version: the old key is current again.
            const versions = (await secrets.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages!;
            const oldVersion = Object.keys(versions).find((v) => versions[v].includes("AWSPREVIOUS"))!;
            const newVersion = Object.keys(versions).find((v) => versions[v].includes("AWSCURRENT"))!;
            await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secretArn, VersionStage: "AWSCURRENT", MoveToVersionId: oldVersion, RemoveFromVersionId: newVersion }));
            const report = await hourlyRun();
            const scheduled = (await listRetirements(iam, USER)).map((r) => r.accessKeyId);
            assert.ok(!scheduled.includes(oldKey.accessKeyId), "the current key is never scheduled");
            assert.strictEqual(await status(oldKey.accessKeyId), "Active");
            assert.strictEqual(await status(newKey.accessKeyId), "Active");
            assert.ok(report.keys.every((k) => k.accessKeyId !== oldKey.accessKeyId));
        });
    });
});
