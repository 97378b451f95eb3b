/**
 * runtime/auto/create-secret.ts driven directly (createSecretStep with a hand-built StepContext, no handler, no
 * SSM, no SMTP), so each case takes a fraction of a second for Stryker (docs/mutation.md): every outcome with
 * its exact log lines, notice and AWS state; every blocking message (retirement phases observing, held,
 * deactivated; a refused record; no credential of ours in AWSCURRENT; a foreign key); orphan deletion; the
 * reuse of an unfinished rotation's key; the values kept out of logs. IAM, Secrets Manager and SNS are moto
 * through the wire proxy; the pending version is made as moto's RotateSecret(RotateImmediately=false) makes it
 * (a copy of the current value, sandbox/secrets-manager-play.ts); IAM last use is the proxy's overlay (an
 * emulation of what IAM would report).
 */
import * as assert from "assert";
import { CreateAccessKeyCommand, CreateUserCommand, DeleteAccessKeyCommand, IAMClient, ListUserTagsCommand, TagUserCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { SSMClient } from "@aws-sdk/client-ssm";
import { createAccessKeyForSmtp, deactivateAccessKey, listAccessKeys, smtpCredentialForKey } from "../runtime/access-keys";
import { createSecretStep, retirementDeps } from "../runtime/auto/create-secret";
import type { StepContext } from "../runtime/auto/context";
import type { RotationConfig } from "../runtime/auto/config";
import { describeSecret } from "../runtime/auto/secret-versions";
import { serializeCredential, SmtpCredentialValue } from "../runtime/credential";
import { createAccessKeyWithIntent, KEY_INTENT_TAG } from "../runtime/key-intent";
import { listRetirements, readRetirementTags, retirementTagKey, scheduleRetirement } from "../runtime/retirement";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { createPendingVersion, publishedMessages } from "./support/rotation-driver";

const USER = "ses-smtp-bu-a";
const REGION = "eu-west-1";
const T0 = new Date("2026-11-29T12:00:00Z");
const hours = (h: number) => new Date(T0.getTime() + h * 3600_000);
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");

describe("createSecret step: outcomes, blocking messages, orphans, reuse (mutation testing, moto)", () => {
    let iam: IAMClient;
    let secrets: SecretsManagerClient;
    let sns: SNSClient;
    let topicArn: string;
    let secretArn: string;
    let first: SmtpCredentialValue;
    let firstSecretKey: string;
    let logs: { msg: string; fields: any }[];
    let config: RotationConfig;

    const keys = () => listAccessKeys(iam, USER);
    const keyStatus = async (id: string) => (await keys()).find((k) => k.accessKeyId === id)?.status ?? "absent";
    const calls = (op: string) => testEnv().proxy.callCounts()[op] ?? 0;
    const value = async (which: { versionId: string } | { stage: string }): Promise<SmtpCredentialValue> =>
        JSON.parse(
            (await secrets.send(new GetSecretValueCommand({ SecretId: secretArn, ...("stage" in which ? { VersionStage: which.stage } : { VersionId: which.versionId }) })))
                .SecretString!,
        );
    const notices = () => publishedMessages().map((m) => ({ subject: m.subject, body: JSON.parse(m.message.slice(m.message.indexOf("{"))) }));
    const messages = () => logs.map((l) => l.msg);

    async function context(token: string, now = T0, over: Partial<RotationConfig> = {}): Promise<StepContext> {
        return {
            deps: { iam, secrets, sns, ssm: new SSMClient(clientConfig()), smtpCheck: async () => assert.fail("createSecret must not test SMTP") },
            config: { ...config, ...over },
            secret: await describeSecret(secrets, secretArn),
            token,
            now: () => now,
            log: (msg, fields) => void logs.push({ msg, fields }),
            secrets: [],
        };
    }

    /** A second key made current (as a finished rotation leaves it), the first one's retirement recorded at T0. */
    async function switchToSecondKey(observationHours: number): Promise<SmtpCredentialValue> {
        const second = smtpCredentialForKey(await createAccessKeyForSmtp(iam, USER, REGION), { sesRegion: REGION });
        await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: serializeCredential(second), VersionStages: ["AWSCURRENT"] }));
        await scheduleRetirement(retirementDeps(await context("unused")), { userName: USER, oldAccessKeyId: first.username, newAccessKeyId: second.username, switchedAt: T0, observationHours });
        return second;
    }

    beforeEach(async () => {
        await resetAws();
        logs = [];
        iam = new IAMClient(clientConfig());
        secrets = new SecretsManagerClient(clientConfig());
        sns = new SNSClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: USER }));
        const key = await createAccessKeyForSmtp(iam, USER, REGION);
        firstSecretKey = key.secretAccessKey;
        first = smtpCredentialForKey(key, { sesRegion: REGION });
        secretArn = (await secrets.send(new CreateSecretCommand({ Name: "ses-smtp-bu-a", SecretString: serializeCredential(first) }))).ARN!;
        await secrets.send(new RotateSecretCommand({ SecretId: secretArn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false }));
        topicArn = (await sns.send(new CreateTopicCommand({ Name: "ses-rotation-bu-a" }))).TopicArn!;
        config = {
            iamUserName: USER,
            sesRegion: REGION,
            smtpPort: 587,
            fleet: { kind: "table", tableName: "fleet" },
            postfixDocument: "ses-postfix-update",
            iisDocument: "ses-iis-update",
            notifyTopicArn: topicArn,
            fleetDeadlineSeconds: 600,
            retirement: { observationHours: 24, graceDays: 7 },
        };
    });

    it("creates a key: AWSPENDING holds its credential (configured endpoint and port), intent cleared, one log line, one start notice, secrets kept", async () => {
        const token = await createPendingVersion(secrets, secretArn);
        const ctx = await context(token, T0, { smtpEndpoint: "vpce-1.email-smtp.eu-west-1.vpce.amazonaws.com", smtpPort: 465 });
        const lists = calls("iam:ListAccessKeys");
        assert.strictEqual(await createSecretStep(ctx), "created");
        assert.strictEqual(calls("iam:ListAccessKeys") - lists, 3, "the step's, the retirement's and CreateAccessKey's check of the key count; no re-listing without a retirement");
        const pending = await value({ versionId: token });
        assert.notStrictEqual(pending.username, first.username);
        assert.deepStrictEqual({ ...pending, username: "", password: "" }, { username: "", password: "", endpoint: "vpce-1.email-smtp.eu-west-1.vpce.amazonaws.com", port: 465, region: REGION });
        assert.deepStrictEqual((await keys()).map((k) => [k.accessKeyId, k.status]).sort(), [[first.username, "Active"], [pending.username, "Active"]].sort());
        assert.strictEqual(await keyStatus(first.username), "Active", "the current key is untouched");
        const tags = (await iam.send(new ListUserTagsCommand({ UserName: USER }))).Tags ?? [];
        assert.ok(!tags.some((t) => t.Key === KEY_INTENT_TAG), "intent cleared once stored");
        assert.deepStrictEqual(logs, [{ msg: "createSecret: new access key stored in AWSPENDING", fields: { accessKeyId: pending.username, versionId: token } }]);
        assert.deepStrictEqual(notices(), [
            {
                subject: `SES SMTP credential rotation started for ${USER}`,
                body: {
                    kind: "rotation-started",
                    subject: { secretArn, iamUser: USER, versionId: token },
                    details: { newAccessKeyId: pending.username, reusedFromEarlierAttempt: false, currentAccessKeyId: first.username },
                },
            },
        ]);
        // current password, the pending copy's password, the new password and the new secret access key
        assert.strictEqual(ctx.secrets.length, 4);
        assert.deepStrictEqual(ctx.secrets.slice(0, 3), [first.password, first.password, pending.password]);
        assert.match(ctx.secrets[3], /^[A-Za-z0-9/+]{40}$/);
        assert.ok(!ctx.secrets.includes(firstSecretKey));
        assert.strictEqual(calls("iam:CreateAccessKey"), 2, "the first key and exactly one new key");
        assert.strictEqual(calls("iam:DeleteAccessKey"), 0);
        assert.deepStrictEqual(ctx.secret.versions[token], ["AWSPENDING"]);
        assert.deepStrictEqual((await describeSecret(secrets, secretArn)).versions[token], ["AWSPENDING"], "the value went into the AWSPENDING version");
    });

    it("a failed start notice is logged through the step's logger and does not fail the step", async () => {
        testEnv().proxy.addFault({ service: "sns", operation: "Publish", kind: "error", code: "InternalError", status: 500 });
        const token = await createPendingVersion(secrets, secretArn);
        assert.strictEqual(await createSecretStep(await context(token)), "created");
        assert.deepStrictEqual(messages(), ["createSecret: new access key stored in AWSPENDING", "notification failed"]);
        assert.deepStrictEqual(notices(), []);
    });

    it("with no credential of ours in AWSCURRENT and no key at all, a key is created and the notice names no current key", async () => {
        await iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: first.username }));
        await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: "placeholder", VersionStages: ["AWSCURRENT"] }));
        const token = await createPendingVersion(secrets, secretArn);
        const ctx = await context(token);
        assert.strictEqual(await createSecretStep(ctx), "created");
        const pending = await value({ versionId: token });
        assert.deepStrictEqual(notices()[0].body.details, { newAccessKeyId: pending.username, reusedFromEarlierAttempt: false, currentAccessKeyId: null });
        assert.deepStrictEqual(ctx.secrets.slice(0, 1), [pending.password], "no current or pending password to keep");
    });

    it("a retry after PutSecretValue finds its own Active key: already-created, nothing new, no second notice", async () => {
        const token = await createPendingVersion(secrets, secretArn);
        await createSecretStep(await context(token));
        const pending = await value({ versionId: token });
        logs = [];
        const ctx = await context(token);
        assert.strictEqual(await createSecretStep(ctx), "already-created");
        assert.deepStrictEqual(logs, [{ msg: "createSecret: pending version already holds a credential for an Active key", fields: { accessKeyId: pending.username, versionId: token } }]);
        assert.deepStrictEqual(ctx.secrets, [first.password, pending.password]);
        assert.strictEqual(calls("iam:CreateAccessKey"), 2);
        assert.strictEqual(notices().length, 1);
        assert.strictEqual((await value({ versionId: token })).username, pending.username);
    });

    for (const state of ["Inactive", "deleted"] as const) {
        it(`a pending version whose key is ${state} cannot be replaced: the exact message, nothing created`, async () => {
            const token = await createPendingVersion(secrets, secretArn);
            await createSecretStep(await context(token));
            const pending = await value({ versionId: token });
            if (state === "Inactive") await deactivateAccessKey(iam, USER, pending.username);
            else await iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: pending.username }));
            logs = [];
            await assert.rejects(createSecretStep(await context(token)), {
                message:
                    `pending version ${token} of ${secretArn} holds access key ${pending.username}, which is ${state}; ` +
                    `a version's value cannot be replaced: cancel this rotation (CancelRotateSecret) and rotate again`,
            });
            assert.deepStrictEqual(logs, []);
            assert.strictEqual(calls("iam:CreateAccessKey"), 2);
        });
    }

    it("an old key in its observation window blocks a new key: exact message, nothing created", async () => {
        const second = await switchToSecondKey(24);
        const token = await createPendingVersion(secrets, secretArn);
        const creates = calls("iam:CreateAccessKey");
        const lists = calls("iam:ListAccessKeys");
        await assert.rejects(createSecretStep(await context(token, hours(1))), {
            message:
                `cannot create a new access key: old access key ${first.username} of IAM user "${USER}" is still being retired (phase observing): ` +
                `its observation window ends at ${iso(hours(24))}; rotate again after the retirement has deactivated and deleted it, or delete it yourself if you are sure nothing uses it`,
        });
        assert.strictEqual(calls("iam:CreateAccessKey"), creates);
        assert.strictEqual(calls("iam:ListAccessKeys"), lists + 2, "the step's and the retirement's listing; no re-listing when no retirement moved");
        assert.deepStrictEqual([await keyStatus(first.username), await keyStatus(second.username)], ["Active", "Active"]);
    });

    it("an old key whose replacement is not Active stays in observation: the message gives the retirement's reason, not a time", async () => {
        const second = await switchToSecondKey(24);
        await deactivateAccessKey(iam, USER, second.username);
        const token = await createPendingVersion(secrets, secretArn);
        await assert.rejects(createSecretStep(await context(token, hours(25))), {
            message:
                `cannot create a new access key: old access key ${first.username} of IAM user "${USER}" is still being retired (phase observing): ` +
                `not retiring: the replacement key ${second.username} is Inactive; the old key stays as it is`,
        });
        assert.strictEqual(await keyStatus(first.username), "Active");
    });

    it("an old key IAM saw used after the switch is held: the message names the use and the way out", async () => {
        await switchToSecondKey(24);
        testEnv().proxy.setKeyLastUsed(first.username, { lastUsedDate: hours(2), serviceName: "ses", region: REGION });
        const token = await createPendingVersion(secrets, secretArn);
        await assert.rejects(createSecretStep(await context(token, hours(25))), {
            message:
                `cannot create a new access key: old access key ${first.username} of IAM user "${USER}" is still being retired (phase held): ` +
                `IAM reported it used at ${hours(2).toISOString()} (ses, ${REGION}) after the switch at ${iso(T0)}. ` +
                `Move that consumer to the current credential, then override the hold (overrideHold / the stack's retirement override) and rotate again`,
        });
        assert.strictEqual(await keyStatus(first.username), "Active");
        assert.deepStrictEqual((await listRetirements(iam, USER)).map((r) => r.phase), ["held"]);
    });

    it("a held key whose use IAM reports without service or region (N/A) is named with '?' for them", async () => {
        await switchToSecondKey(24);
        testEnv().proxy.setKeyLastUsed(first.username, { lastUsedDate: hours(2), serviceName: "N/A", region: "N/A" });
        const token = await createPendingVersion(secrets, secretArn);
        await assert.rejects(createSecretStep(await context(token, hours(25))), (e: Error) => e.message.includes(`IAM reported it used at ${hours(2).toISOString()} (?, ?) after the switch at ${iso(T0)}. `));
    });

    for (const used of [undefined, hours(25.5)]) {
        it(`an old key someone re-activated after its deactivation is held: the message says so (IAM's last use: ${used ? "reported" : "none"})`, async () => {
            await switchToSecondKey(24);
            const token = await createPendingVersion(secrets, secretArn);
            await assert.rejects(createSecretStep(await context(token, hours(25))), /phase deactivated/);
            if (used) testEnv().proxy.setKeyLastUsed(first.username, { lastUsedDate: used, serviceName: "ses", region: REGION });
            await iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: first.username, Status: "Active" }));
            await assert.rejects(createSecretStep(await context(token, hours(26))), {
                message:
                    `cannot create a new access key: old access key ${first.username} of IAM user "${USER}" is still being retired (phase held): ` +
                    `it was found Active again after its deactivation (re-activated; IAM's last use: ${used ? used.toISOString() : "none"}). ` +
                    `Move that consumer to the current credential, then override the hold (overrideHold / the stack's retirement override) and rotate again`,
            });
            assert.strictEqual(await keyStatus(first.username), "Active");
        });
    }

    it("records of keys that no longer exist (one refused, one removed) block nothing else: the orphan is deleted and a key created", async () => {
        const gone = "AKIA" + "Q".repeat(16);
        const removed = "AKIA" + "R".repeat(16);
        await iam.send(new TagUserCommand({ UserName: USER, Tags: [{ Key: retirementTagKey(gone), Value: "garbage" }] }));
        await scheduleRetirement(retirementDeps(await context("unused")), { userName: USER, oldAccessKeyId: removed, newAccessKeyId: first.username, switchedAt: T0, observationHours: 24 });
        const orphan = await createAccessKeyWithIntent(iam, USER, REGION, "earlier-attempt");
        const token = await createPendingVersion(secrets, secretArn);
        logs = [];
        assert.strictEqual(await createSecretStep(await context(token)), "created");
        assert.strictEqual(await keyStatus(orphan.accessKeyId), "absent");
        assert.deepStrictEqual(messages(), [
            "retirement: refused",
            "retirement: record-removed",
            "createSecret: deleted an orphan access key this rotator created and IAM shows never used",
            "createSecret: new access key stored in AWSPENDING",
        ]);
        assert.deepStrictEqual([logs[0].fields.accessKeyId, logs[1].fields.accessKeyId], [gone, removed]);
    });

    it("after the observation window the old key is deactivated in the same run and still blocks until its grace period ends; then a key is created", async () => {
        const second = await switchToSecondKey(24);
        const token = await createPendingVersion(secrets, secretArn);
        await assert.rejects(createSecretStep(await context(token, hours(25))), {
            message:
                `cannot create a new access key: old access key ${first.username} of IAM user "${USER}" is still being retired (phase deactivated): ` +
                `it is Inactive and will be deleted after ${iso(hours(25 + 7 * 24))}; rotate again after that, or delete it yourself once no consumer needs it`,
        });
        assert.strictEqual(await keyStatus(first.username), "Inactive");
        assert.ok(messages().includes("retirement: deactivated"), "the retirement logs through the step's logger");

        // grace over: the retirement deletes the key in this run, the step re-lists the keys and creates the new one
        logs = [];
        assert.strictEqual(await createSecretStep(await context(token, hours(26 + 7 * 24))), "created");
        assert.strictEqual(await keyStatus(first.username), "absent");
        assert.strictEqual(calls("iam:DeleteAccessKey"), 1, "only the retirement deleted a key");
        assert.deepStrictEqual(messages(), ["retirement: deleted", "createSecret: new access key stored in AWSPENDING"]);
        const pending = await value({ versionId: token });
        assert.deepStrictEqual((await keys()).map((k) => k.accessKeyId).sort(), [second.username, pending.username].sort());
        assert.strictEqual(notices().at(-1)!.body.details.currentAccessKeyId, second.username);
    });

    it("a retirement record the retirement refuses blocks the key it names, with the refusal's reason; the refusal is logged and alerted", async () => {
        const second = await switchToSecondKey(24);
        await iam.send(new TagUserCommand({ UserName: USER, Tags: [{ Key: retirementTagKey(first.username), Value: "phase=observing garbage" }] }));
        const { invalid } = await readRetirementTags(iam, USER);
        assert.strictEqual(invalid.length, 1);
        const token = await createPendingVersion(secrets, secretArn);
        logs = [];
        await assert.rejects(createSecretStep(await context(token, hours(1))), {
            message: `cannot create a new access key: access key ${first.username} of IAM user "${USER}" has a retirement record the retirement refused (${invalid[0].reason}); fix or remove that tag first`,
        });
        assert.deepStrictEqual(messages(), ["retirement: refused"]);
        assert.deepStrictEqual(notices().map((n) => n.body.kind), ["retirement-refused"]);
        assert.deepStrictEqual([await keyStatus(first.username), await keyStatus(second.username)], ["Active", "Active"]);
    });

    it("reuses the Active key of an unfinished earlier rotation (its version lost AWSPENDING): no new key, a notice saying so", async () => {
        const earlier = await createPendingVersion(secrets, secretArn);
        await createSecretStep(await context(earlier));
        const half = await value({ versionId: earlier });
        logs = [];
        const token = await createPendingVersion(secrets, secretArn); // the AWSPENDING label moves to the new version
        const ctx = await context(token);
        assert.strictEqual(await createSecretStep(ctx), "reused-stale-pending");
        assert.deepStrictEqual(await value({ versionId: token }), half);
        assert.deepStrictEqual(logs, [{ msg: "createSecret: reusing the key of an unfinished earlier rotation (it may already be on servers)", fields: { accessKeyId: half.username, fromVersionId: earlier } }]);
        assert.deepStrictEqual(ctx.secrets, [first.password, first.password, half.password]);
        assert.strictEqual(calls("iam:CreateAccessKey"), 2);
        assert.deepStrictEqual(notices().at(-1), {
            subject: `SES SMTP credential rotation started for ${USER}`,
            body: {
                kind: "rotation-started",
                subject: { secretArn, iamUser: USER, versionId: token },
                details: { newAccessKeyId: half.username, reusedFromEarlierAttempt: true, currentAccessKeyId: first.username },
            },
        });
    });

    it("an earlier rotation's key that is Inactive and never used is ours: deleted, then a new key is created", async () => {
        const earlier = await createPendingVersion(secrets, secretArn);
        await createSecretStep(await context(earlier));
        const half = await value({ versionId: earlier });
        await deactivateAccessKey(iam, USER, half.username);
        const createDate = (await keys()).find((k) => k.accessKeyId === half.username)!.createDate!;
        logs = [];
        const token = await createPendingVersion(secrets, secretArn);
        assert.strictEqual(await createSecretStep(await context(token)), "created");
        assert.strictEqual(await keyStatus(half.username), "absent");
        const pending = await value({ versionId: token });
        assert.deepStrictEqual(logs, [
            { msg: "createSecret: deleted an orphan access key this rotator created and IAM shows never used", fields: { accessKeyId: half.username, status: "Inactive", createDate } },
            { msg: "createSecret: new access key stored in AWSPENDING", fields: { accessKeyId: pending.username, versionId: token } },
        ]);
    });

    it("an earlier rotation's key that IAM shows used is not deleted: the 'named by an old version' message", async () => {
        const earlier = await createPendingVersion(secrets, secretArn);
        await createSecretStep(await context(earlier));
        const half = await value({ versionId: earlier });
        await deactivateAccessKey(iam, USER, half.username);
        testEnv().proxy.setKeyLastUsed(half.username, { lastUsedDate: hours(1), serviceName: "ses", region: REGION });
        const token = await createPendingVersion(secrets, secretArn);
        await assert.rejects(createSecretStep(await context(token)), (e: Error) => {
            assert.match(e.message, new RegExp(`^cannot create a new access key: access key ${half.username} of IAM user "${USER}" \\(Inactive, created \\S+, last used ${hours(1).toISOString()} \\(ses, ${REGION}\\)\\) is named by an old version of the credential`));
            return true;
        });
        assert.strictEqual(await keyStatus(half.username), "Inactive");
    });

    it("an orphan of ours (intent recorded, never stored, never used) is deleted; a foreign key stops the rotation untouched", async () => {
        const orphan = await createAccessKeyWithIntent(iam, USER, REGION, "earlier-attempt");
        const createDate = (await keys()).find((k) => k.accessKeyId === orphan.accessKeyId)!.createDate!;
        const token = await createPendingVersion(secrets, secretArn);
        assert.strictEqual(await createSecretStep(await context(token)), "created");
        assert.strictEqual(await keyStatus(orphan.accessKeyId), "absent");
        assert.deepStrictEqual(logs[0], { msg: "createSecret: deleted an orphan access key this rotator created and IAM shows never used", fields: { accessKeyId: orphan.accessKeyId, status: "Active", createDate } });

        await resetAws();
        await iam.send(new CreateUserCommand({ UserName: USER }));
        first = smtpCredentialForKey(await createAccessKeyForSmtp(iam, USER, REGION), { sesRegion: REGION });
        secretArn = (await secrets.send(new CreateSecretCommand({ Name: "ses-smtp-bu-a", SecretString: serializeCredential(first) }))).ARN!;
        const foreign = (await iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
        const token2 = await createPendingVersion(secrets, secretArn);
        await assert.rejects(createSecretStep(await context(token2, T0, { notifyTopicArn: undefined })), {
            message:
                `cannot create a new access key: access key ${foreign.AccessKeyId} of IAM user "${USER}" (Active, created ${new Date(foreign.CreateDate!).toISOString()}, last used never) ` +
                `was not created by this rotator (no creation intent, no stored credential names it). The rotation stopped without touching it. ` +
                `If nothing needs it, delete it (aws iam delete-access-key --user-name ${USER} --access-key-id ${foreign.AccessKeyId}) and rotate again; ` +
                `if something uses it, move that consumer to the rotator's credential first: this user's keys belong to the rotator`,
        });
        assert.strictEqual(await keyStatus(foreign.AccessKeyId!), "Active");
    });

    it("without a credential of ours in AWSCURRENT no key is touched: every other key is named, joined by '; '", async () => {
        const other = (await iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!.AccessKeyId!;
        await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, SecretString: "placeholder", VersionStages: ["AWSCURRENT"] }));
        const token = await createPendingVersion(secrets, secretArn);
        const ctx = await context(token);
        const why = (id: string) =>
            `access key ${id} of IAM user "${USER}" is not referenced by the secret, and AWSCURRENT holds no SMTP credential of ours, ` +
            `so it cannot be told apart from a key in use; delete it yourself if nothing uses it`;
        const ids = (await keys()).map((k) => k.accessKeyId);
        assert.deepStrictEqual([...ids].sort(), [first.username, other].sort());
        await assert.rejects(createSecretStep(ctx), { message: `cannot create a new access key: ${ids.map(why).join("; ")}` });
        assert.deepStrictEqual(ctx.secrets, [first.password], "only the earlier version's password (the index read it)");
        assert.deepStrictEqual([await keyStatus(first.username), await keyStatus(other)], ["Active", "Active"]);
        assert.strictEqual(calls("iam:DeleteAccessKey"), 0);
        assert.strictEqual(calls("iam:GetAccessKeyLastUsed"), 0);
    });

    it("retirementDeps: the step's IAM, SNS and logger, and the secret as the credential store", async () => {
        const ctx = await context("unused");
        const d = retirementDeps(ctx);
        assert.strictEqual(d.iam, iam);
        assert.strictEqual(d.sns, sns);
        assert.strictEqual(d.log, ctx.log);
        assert.strictEqual(await d.store.currentKeyId(), first.username);
    });
});
