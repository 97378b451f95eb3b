/**
 * RetirementGuard provider surface and the operator override, against moto through the wire proxy.
 *
 * The switch (every server confirmed the new key) is recorded with the runtime's `scheduleRetirement`, as the
 * rotation's finish step does. A consumer that was missed logs in to the local SES-compatible endpoint with
 * the OLD key afterwards; moto cannot see SMTP logins, so the endpoint's on-auth hook feeds what IAM would
 * then report as the key's last use into the proxy (`setKeyLastUsed`, an emulation of IAM's report).
 * The retirement logic itself is tested in tests/retirement.test.ts; here: what the stack sees and does.
 */
import * as assert from "assert";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { SNSClient, CreateTopicCommand } from "@aws-sdk/client-sns";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { serializeCredential } from "../runtime/credential";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { hosted } from "./support/dynamic-provider-host";
import { startSesEndpoint, SesEndpoint } from "../sandbox/ses-endpoint";
import { createSmtpCheck } from "../runtime/smtp-check";
import { smtpCredentialForKey, NewAccessKey } from "../runtime/access-keys";
import { scheduleRetirement } from "../runtime/retirement";
import { scannedLogger } from "./support/leak-scanner";
import { retirementGuardProvider, RetirementGuardInputs, transitionDue } from "../components/providers/retirement-guard";
import { retirementLambdaConfigFromEnv } from "../components/providers/retirement-lambda";
import { RotationWorld, USER as ROTATED_USER } from "./support/rotation-driver";

/** Called through the host's data path (protobuf Struct conversion, `__provider` present). */
const provider = hosted(retirementGuardProvider);
const region = "us-east-1";
const sesRegion = "eu-west-1";
const userName = "smtp-rotator-bu-b";

const iam = () => new IAMClient(clientConfig(region));

async function newKey(): Promise<NewAccessKey> {
    const k = (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
    return { accessKeyId: k.AccessKeyId!, secretAccessKey: k.SecretAccessKey! };
}

async function keyStatusOf(user: string, accessKeyId: string): Promise<string> {
    const keys = (await iam().send(new ListAccessKeysCommand({ UserName: user }))).AccessKeyMetadata ?? [];
    return keys.find((k) => k.AccessKeyId === accessKeyId)?.Status ?? "absent";
}

const keyStatus = (accessKeyId: string) => keyStatusOf(userName, accessKeyId);

/** The rotated secret the guard re-reads before every deactivate and delete (AWSCURRENT = the new key). */
let secretArn = "";

/** A user after a rotation: old and new key, retirement of the old one scheduled one minute ago. */
async function rotatedUser(observationHours: number): Promise<{ oldKey: NewAccessKey; newKey: NewAccessKey }> {
    await iam().send(new CreateUserCommand({ UserName: userName }));
    const oldKey = await newKey();
    const current = await newKey();
    const value = serializeCredential(smtpCredentialForKey(current, { sesRegion }));
    secretArn = (await new SecretsManagerClient(clientConfig(region)).send(new CreateSecretCommand({ Name: "smtp-bu-b", SecretString: value }))).ARN!;
    await scheduleRetirement(
        { iam: iam(), log: scannedLogger("retirement") },
        { userName, oldAccessKeyId: oldKey.accessKeyId, newAccessKeyId: current.accessKeyId, switchedAt: new Date(Date.now() - 60_000), observationHours },
    );
    return { oldKey, newKey: current };
}

describe("providers: RetirementGuard", () => {
    let ses: SesEndpoint;
    before(async () => {
        ses = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: sesRegion });
    });
    after(async () => ses.stop());
    beforeEach(async () => {
        await resetAws();
        ses.authLog.length = 0;
        // What IAM would report after an SMTP login: the endpoint tells the proxy.
        ses.onAuthenticated = ({ username, at }) => testEnv().proxy.setKeyLastUsed(username, { lastUsedDate: at, serviceName: "ses", region: sesRegion });
    });

    const smtpLogin = (key: NewAccessKey) =>
        createSmtpCheck({ host: ses.host, port: ses.port, ca: ses.ca, budgetMs: 0 })(smtpCredentialForKey(key, { sesRegion }));

    it("check names each bad property", async () => {
        const r = await provider.check({} as any, { iamUserName: "", region: "x", observationHours: -1, graceDays: "7" as any, overrideKeyId: "not-a-key" });
        assert.deepStrictEqual(r.failures!.map((f) => f.property).sort(), ["graceDays", "iamUserName", "observationHours", "overrideKeyId", "region", "secretArn"]);
    });

    it("a consumer still using the old key after the switch holds the retirement; the operator's override releases it", async () => {
        const { oldKey, newKey: current } = await rotatedUser(0);
        const topicArn = (await new SNSClient(clientConfig(region)).send(new CreateTopicCommand({ Name: "rotator-alerts" }))).TopicArn!;
        await smtpLogin(current); // the fleet, on the new key
        await smtpLogin(oldKey); // the consumer nobody knew about, still on the old key
        const loginAt = ses.authLog.find((a) => a.username === oldKey.accessKeyId)!.at;

        const inputs: RetirementGuardInputs = { iamUserName: userName, region, secretArn, observationHours: 0, graceDays: 7, notifyTopicArn: topicArn };
        const created = await provider.create(inputs);
        const outs = created.outs!;
        assert.deepStrictEqual(outs.heldKeyIds, [oldKey.accessKeyId]);
        assert.strictEqual(outs.heldKeyId, oldKey.accessKeyId);
        assert.strictEqual(Date.parse(outs.heldEvidence!.lastUsedDate), loginAt.getTime());
        assert.deepStrictEqual([outs.heldEvidence!.serviceName, outs.heldEvidence!.region], ["ses", sesRegion]);
        assert.strictEqual(await keyStatus(oldKey.accessKeyId), "Active", "a held key stays Active");
        const alerts = testEnv().proxy.calls.filter((c) => c.operation === "Publish");
        assert.strictEqual(alerts.length, 1);
        assert.ok(decodeURIComponent(alerts[0].requestBody).includes(oldKey.accessKeyId), "the alert names the held key");

        // Next pulumi up with nothing new: no change shown.
        assert.strictEqual((await provider.diff(created.id, outs, inputs)).changes, false);

        // The operator found the consumer and sets retirementOverrideKeyId: preview shows an update, up releases.
        const overriding = { ...inputs, overrideKeyId: oldKey.accessKeyId };
        assert.deepStrictEqual(await provider.diff(created.id, outs, overriding), { changes: true, replaces: [], deleteBeforeReplace: false });
        const released = (await provider.update(created.id, outs, overriding)).outs!;
        assert.deepStrictEqual([released.override!.accessKeyId, released.override!.status], [oldKey.accessKeyId, "released"]);
        assert.deepStrictEqual(released.heldKeyIds, []);
        assert.strictEqual(released.heldKeyId, undefined);
        assert.strictEqual(released.retirements[0].phase, "deactivated");
        assert.ok(released.retirements[0].overrideAt);
        assert.strictEqual(await keyStatus(oldKey.accessKeyId), "Inactive");
        await assert.rejects(smtpLogin(oldKey), /535|auth/i, "the old key no longer logs in");

        // Leaving the override in config is harmless: nothing is due until the grace period ends.
        assert.strictEqual((await provider.diff(created.id, released, overriding)).changes, false);
        const again = (await provider.update(created.id, released, overriding)).outs!;
        assert.strictEqual(again.override!.status, "already-released");
    });

    it("end to end: after the rotation handler finished (every server reported success), a login with the old credential holds its retirement", async () => {
        const world = await new RotationWorld(ses, { observationHours: 1, graceDays: 7 }).setUp();
        world.clock = Date.now() - 2 * 3600_000; // the rotation ran two hours ago: its one-hour observation window is over
        await world.rotate();
        const previous = await world.value({ stage: "AWSPREVIOUS" });
        const current = await world.value({ stage: "AWSCURRENT" });
        assert.strictEqual(previous.username, world.firstKeyId);
        assert.strictEqual(await keyStatusOf(ROTATED_USER, previous.username), "Active", "observing: the old key is still Active");

        // A consumer nobody listed still sends with the old stored credential.
        await createSmtpCheck({ host: ses.host, port: ses.port, ca: ses.ca, budgetMs: 0 })(previous);
        const inputs: RetirementGuardInputs = { iamUserName: ROTATED_USER, region, secretArn: world.secretArn, observationHours: 1, graceDays: 7, notifyTopicArn: world.topicArn };
        const outs = (await provider.create(inputs)).outs!;
        assert.deepStrictEqual(outs.heldKeyIds, [previous.username]);
        assert.strictEqual(outs.heldEvidence!.serviceName, "ses");
        assert.strictEqual(await keyStatusOf(ROTATED_USER, previous.username), "Active");

        const released = (await provider.update("id", outs, { ...inputs, overrideKeyId: previous.username })).outs!;
        assert.deepStrictEqual(released.heldKeyIds, []);
        assert.strictEqual(await keyStatusOf(ROTATED_USER, previous.username), "Inactive");
        assert.strictEqual(await keyStatusOf(ROTATED_USER, current.username), "Active");
    });

    it("no use of the old key after the switch: retirement proceeds (deactivated, then deleted with grace 0)", async () => {
        const { oldKey, newKey: current } = await rotatedUser(0);
        await smtpLogin(current);
        const outs = (await provider.create({ iamUserName: userName, region, secretArn, observationHours: 0, graceDays: 0 })).outs!;
        assert.deepStrictEqual(outs.heldKeyIds, []);
        assert.deepStrictEqual(outs.retiredKeyIds, [oldKey.accessKeyId]);
        assert.deepStrictEqual(outs.retirements, []);
        assert.strictEqual(await keyStatus(oldKey.accessKeyId), "absent");
        assert.strictEqual(await keyStatus(current.accessKeyId), "Active");
    });

    it("inside the observation window nothing moves, preview shows no change, refresh reports the record", async () => {
        const { oldKey } = await rotatedUser(24);
        await smtpLogin(oldKey);
        const inputs: RetirementGuardInputs = { iamUserName: userName, region, secretArn, observationHours: 24, graceDays: 7 };
        const created = await provider.create(inputs);
        const [entry] = created.outs!.retirements;
        assert.deepStrictEqual([entry.accessKeyId, entry.phase, entry.keyStatus], [oldKey.accessKeyId, "observing", "Active"]);
        assert.ok(Date.parse(entry.nextStepAt!) > Date.now() + 23 * 3600_000);
        assert.strictEqual((await provider.diff(created.id, created.outs!, inputs)).changes, false);
        const refreshed = await provider.read(created.id, created.outs);
        assert.deepStrictEqual([refreshed.props!.retirements[0].phase, refreshed.props!.retirements[0].keyStatus], ["observing", "Active"]);
        assert.strictEqual(await keyStatus(oldKey.accessKeyId), "Active");
    });

    it("an override for a key without a held retirement does nothing and says so", async () => {
        await rotatedUser(24);
        const outs = (await provider.create({ iamUserName: userName, region, secretArn, observationHours: 24, graceDays: 7, overrideKeyId: "AKIAIOSFODNN7EXAMPLE" })).outs!;
        assert.deepStrictEqual(outs.override!.status, "no-held-retirement");
    });

    it("a user with no retirements: empty outputs, no change in preview", async () => {
        await iam().send(new CreateUserCommand({ UserName: "no-retirements" }));
        const inputs: RetirementGuardInputs = { iamUserName: "no-retirements", region, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:none-AbCdEf", observationHours: 24, graceDays: 7 };
        const created = await provider.create(inputs);
        assert.deepStrictEqual([created.outs!.retirements, created.outs!.heldKeyIds, created.outs!.retiredKeyIds], [[], [], []]);
        assert.strictEqual((await provider.diff(created.id, created.outs!, inputs)).changes, false);
    });

    it("a user that does not exist (wrong account, deleted behind Pulumi's back) is an error, never \"no retirements\"", async () => {
        const inputs: RetirementGuardInputs = { iamUserName: "not-there", region, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:none-AbCdEf", observationHours: 24, graceDays: 7 };
        await assert.rejects(provider.create(inputs), /RetirementGuard: IAM user not-there does not exist/);
        const state = { ...inputs, checkedAt: "2026-11-01T00:00:00Z", retirements: [], retiredKeyIds: [], heldKeyIds: [] };
        await assert.rejects(provider.diff("not-there-retirement", state, inputs), /IAM user not-there does not exist/);
        await assert.rejects(provider.read!("not-there-retirement", state), /IAM user not-there does not exist/);
    });

    it("transitionDue: observation end, released hold, grace end", () => {
        const base = { accessKeyId: "AKIAOLD000000000", newAccessKeyId: "AKIANEW000000000", switchedAt: "2026-11-01T00:00:00Z" };
        const at = (iso: string) => new Date(iso);
        assert.strictEqual(transitionDue({ ...base, phase: "observing" }, 24, at("2026-11-01T23:00:00Z")), false);
        assert.strictEqual(transitionDue({ ...base, phase: "observing" }, 24, at("2026-11-02T00:00:00Z")), true);
        assert.strictEqual(transitionDue({ ...base, phase: "held", evidence: { lastUsedDate: "2026-11-01T01:00:00Z" } }, 0, at("2027-01-01T00:00:00Z")), false);
        assert.strictEqual(transitionDue({ ...base, phase: "held", overrideAt: "2026-11-03T00:00:00Z" }, 0, at("2026-11-03T00:00:00Z")), true);
        assert.strictEqual(transitionDue({ ...base, phase: "deactivated", deleteAfter: "2026-11-09T00:00:00Z" }, 0, at("2026-11-08T00:00:00Z")), false);
    });

    it("the scheduled retirement Lambda's configuration: errors name the environment variable", () => {
        const secret = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:smtp-AbCdEf";
        const good = { IAM_USER_NAME: userName, RETIRE_OBSERVATION_HOURS: "24", RETIRE_GRACE_DAYS: "7", SECRET_ARN: secret };
        assert.deepStrictEqual(retirementLambdaConfigFromEnv(good), { iamUserName: userName, secretArn: secret, policy: { observationHours: 24, graceDays: 7 } });
        assert.throws(() => retirementLambdaConfigFromEnv({ ...good, SECRET_ARN: "" }), /SECRET_ARN/);
        assert.throws(() => retirementLambdaConfigFromEnv({ ...good, IAM_USER_NAME: "" }), /IAM_USER_NAME/);
        assert.throws(() => retirementLambdaConfigFromEnv({ ...good, RETIRE_GRACE_DAYS: "soon" }), /RETIRE_GRACE_DAYS/);
        assert.throws(() => retirementLambdaConfigFromEnv({ ...good, NOTIFY_TOPIC_ARN: "topic" }), /NOTIFY_TOPIC_ARN/);
    });
});
