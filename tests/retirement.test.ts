import * as assert from "assert";
import { CreateUserCommand, IAMClient, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { SNSClient } from "@aws-sdk/client-sns";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { serializeCredential } from "../runtime/credential";
import { secretCredentialReader } from "../runtime/current-credential";
import { createAccessKeyForSmtp, listAccessKeys, smtpCredentialForKey } from "../runtime/access-keys";
import { scannedLogger } from "./support/leak-scanner";
import {
    advanceRetirements,
    decodeRetirement,
    encodeRetirement,
    listRetirements,
    overrideHold,
    RetirementPolicy,
    retirementTagKey,
    scheduleRetirement,
} from "../runtime/retirement";
import { createSmtpCheck } from "../runtime/smtp-check";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { publishedMessages } from "./support/rotation-driver";
import { createRetirementWorld } from "./support/retirement-world";
import { startSesEndpoint, SesEndpoint } from "../sandbox/ses-endpoint";

const USER = "smtp-user";
const T0 = new Date("2026-11-29T12:00:00Z");
const hours = (h: number) => new Date(T0.getTime() + h * 3600_000);

describe("usage-guarded retirement of old keys (IAM in moto)", () => {
    let iam: IAMClient;
    let sns: SNSClient;
    let topicArn: string;
    let oldKey: string;
    let newKey: string;
    const policy: RetirementPolicy = { observationHours: 24, graceDays: 7 };
    let secretArn: string;
    // The credential store the retirement re-reads: a secret whose AWSCURRENT names the new key.
    const deps = () => ({ iam, sns, log: scannedLogger("retirement"), store: secretCredentialReader(new SecretsManagerClient(clientConfig()), secretArn) });

    beforeEach(async () => {
        await resetAws();
        ({ iam, sns, topicArn, oldKey, newKey, secretArn } = await createRetirementWorld(USER));
    });

    const status = async (id: string) => (await listAccessKeys(iam, USER)).find((k) => k.accessKeyId === id)?.status ?? "absent";
    const advance = (now: Date, p = policy) => advanceRetirements(deps(), { userName: USER, policy: p, notifyTopicArn: topicArn, now });

    it("keeps the record in a valid IAM tag value (not JSON: IAM tags forbid braces and quotes)", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0, observationHours: 24 });
        const tags = (await iam.send(new ListUserTagsCommand({ UserName: USER }))).Tags!;
        const tag = tags.find((t) => t.Key === retirementTagKey(oldKey))!;
        assert.match(tag.Value!, /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u);
        assert.strictEqual(tag.Value, `phase=observing new=${newKey} switched=2026-11-29T12:00:00Z deactivate=2026-11-30T12:00:00Z`);
        const long = { accessKeyId: oldKey, phase: "held" as const, newAccessKeyId: newKey, switchedAt: "2026-11-29T12:00:00Z", evidence: { lastUsedDate: "2026-11-29T13:00:00Z", serviceName: "some {weird} service ".repeat(10), region: "eu-west-1" } };
        const encoded = encodeRetirement(long);
        assert.ok(encoded.length <= 256);
        assert.strictEqual(decodeRetirement(retirementTagKey(oldKey), encoded)!.evidence!.region, "eu-west-1");
        assert.strictEqual(decodeRetirement(retirementTagKey(oldKey), '{"phase":"observing"}'), undefined);
    });

    it("schedules idempotently: a second schedule keeps the first switch time; refuses to retire the new key", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        const again = await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: hours(5) });
        assert.strictEqual(again.switchedAt, "2026-11-29T12:00:00Z");
        assert.strictEqual((await listRetirements(iam, USER)).length, 1);
        await assert.rejects(scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: newKey, newAccessKeyId: newKey, switchedAt: T0 }), /same key/);
    });

    it("not used after the switch: stays Active while observing, then Inactive, then deleted after the grace period", async () => {
        // IAM saw the key used by the servers before they switched: that is expected, not evidence.
        testEnv().proxy.setKeyLastUsed(oldKey, { lastUsedDate: hours(-1), serviceName: "ses", region: "eu-west-1" });
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });

        let report = await advance(hours(23));
        assert.strictEqual(report.keys[0].action, "none");
        assert.strictEqual(report.keys[0].nextStepAt, "2026-11-30T12:00:00Z");
        assert.strictEqual(await status(oldKey), "Active");

        report = await advance(hours(25));
        assert.strictEqual(report.keys[0].action, "deactivated");
        assert.strictEqual(report.keys[0].deleteAfter, "2026-12-07T13:00:00Z");
        assert.strictEqual(await status(oldKey), "Inactive");
        assert.strictEqual(await status(newKey), "Active");

        report = await advance(hours(25 + 24 * 7 - 1));
        assert.strictEqual(report.keys[0].action, "none");
        assert.strictEqual(await status(oldKey), "Inactive");

        report = await advance(hours(25 + 24 * 7));
        assert.strictEqual(report.keys[0].action, "deleted");
        assert.strictEqual(await status(oldKey), "absent");
        assert.deepStrictEqual(await listRetirements(iam, USER), []);
        assert.deepStrictEqual(publishedMessages(), []);
        assert.deepStrictEqual(JSON.parse(JSON.stringify(report)), report, "the report is plain JSON");
    });

    it("used after the switch: held with the evidence, alert sent once, key stays Active until an operator overrides", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        testEnv().proxy.setKeyLastUsed(oldKey, { lastUsedDate: hours(3), serviceName: "ses", region: "eu-west-1" });

        let report = await advance(hours(25));
        assert.strictEqual(report.keys[0].action, "held");
        assert.deepStrictEqual(report.held, [oldKey]);
        assert.deepStrictEqual(report.keys[0].evidence, { lastUsedDate: "2026-11-29T15:00:00.000Z", serviceName: "ses", region: "eu-west-1" });
        assert.strictEqual(await status(oldKey), "Active");
        const alerts = publishedMessages();
        assert.strictEqual(alerts.length, 1);
        assert.match(alerts[0].subject, /retirement held/);
        assert.ok(alerts[0].message.includes("2026-11-29T15:00:00.000Z") && alerts[0].message.includes("eu-west-1") && alerts[0].message.includes('"ses"'));

        report = await advance(hours(24 * 30));
        assert.strictEqual(report.keys[0].action, "none");
        assert.strictEqual(await status(oldKey), "Active", "a held key is never deactivated by time alone");
        assert.strictEqual(publishedMessages().length, 1, "no repeated alert");

        await overrideHold(deps(), { userName: USER, accessKeyId: oldKey, now: hours(24 * 30) });
        report = await advance(hours(24 * 30 + 1));
        assert.strictEqual(report.keys[0].action, "deactivated");
        assert.deepStrictEqual(report.held, []);
        assert.strictEqual(await status(oldKey), "Inactive");
    });

    it("override refuses a key with no held retirement, naming it", async () => {
        await assert.rejects(overrideHold(deps(), { userName: USER, accessKeyId: oldKey }), new RegExp(`${oldKey} .*no retirement in progress`));
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        await assert.rejects(overrideHold(deps(), { userName: USER, accessKeyId: oldKey }), /not held \(phase observing\)/);
    });

    it("never retires the old key while its replacement is not Active", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        const { deactivateAccessKey } = await import("../runtime/access-keys");
        await deactivateAccessKey(iam, USER, newKey);
        const report = await advance(hours(48));
        assert.strictEqual(report.keys[0].action, "none");
        assert.match(report.keys[0].note, /replacement key .* is Inactive/);
        assert.strictEqual(await status(oldKey), "Active");
    });

    it("observation 0 and grace 0: deactivated and deleted in the same run", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        const report = await advance(T0, { observationHours: 0, graceDays: 0 });
        assert.strictEqual(report.keys[0].action, "deleted");
        assert.strictEqual(await status(oldKey), "absent");
        assert.deepStrictEqual(await listRetirements(iam, USER), []);
    });

    for (const [operation, label] of [
        ["UpdateAccessKey", "deactivation"],
        ["TagUser", "the record write after deactivation"],
    ] as const) {
        it(`a crash right after ${label} is completed by the next run`, async () => {
            await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
            testEnv().proxy.addFault({ service: "iam", operation, kind: "passThenFail", times: 1 });
            await assert.rejects(advance(hours(25)));
            assert.strictEqual(await status(oldKey), "Inactive");
            const report = await advance(hours(26));
            assert.strictEqual(report.keys[0].phase, "deactivated");
            assert.strictEqual(await status(oldKey), "Inactive");
            assert.strictEqual((await listRetirements(iam, USER))[0].phase, "deactivated");
        });
    }

    it("a crash right after deleting the key is completed by the next run (record removed)", async () => {
        await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: T0 });
        await advance(hours(25));
        testEnv().proxy.addFault({ service: "iam", operation: "DeleteAccessKey", kind: "passThenFail", times: 1 });
        await assert.rejects(advance(hours(24 * 9)));
        assert.strictEqual(await status(oldKey), "absent");
        assert.strictEqual((await listRetirements(iam, USER)).length, 1);
        const report = await advance(hours(24 * 9));
        assert.strictEqual(report.keys[0].action, "record-removed");
        assert.deepStrictEqual(await listRetirements(iam, USER), []);
    });

    it("rejects a bad policy naming the field", async () => {
        await assert.rejects(advance(T0, { observationHours: -1, graceDays: 7 }), /retirement.observationHours -1/);
        await assert.rejects(advance(T0, { observationHours: 1, graceDays: NaN }), /retirement.graceDays/);
    });

    describe("with real SMTP logins at the SES-compatible endpoint feeding IAM's last-use report", () => {
        let endpoint: SesEndpoint;
        before(async () => {
            endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: "eu-west-1" });
        });
        after(() => endpoint.stop());

        async function rotateKeys() {
            await resetAws();
            // What IAM would report after an SMTP login: the endpoint tells the proxy, which overlays GetAccessKeyLastUsed.
            endpoint.onAuthenticated = ({ username, at }) => testEnv().proxy.setKeyLastUsed(username, { lastUsedDate: at, serviceName: "ses", region: "eu-west-1" });
            await iam.send(new CreateUserCommand({ UserName: USER }));
            const oldSecret = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
            const fresh = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
            const check = createSmtpCheck({ host: endpoint.host, port: endpoint.port, ca: endpoint.ca, budgetMs: 0 });
            const cred = (k: typeof fresh) => smtpCredentialForKey(k, { sesRegion: "eu-west-1" });
            secretArn = (await new SecretsManagerClient(clientConfig()).send(new CreateSecretCommand({ Name: "smtp", SecretString: serializeCredential(cred(fresh)) }))).ARN!;
            await check(cred(oldSecret)); // the servers used the old key before the switch
            const switchedAt = new Date(Date.now() + 1000);
            await scheduleRetirement(deps(), { userName: USER, oldAccessKeyId: oldSecret.accessKeyId, newAccessKeyId: fresh.accessKeyId, switchedAt });
            return { check, oldCred: cred(oldSecret), newCred: cred(fresh), switchedAt };
        }

        it("a consumer still logging in with the old key after the switch holds the retirement", async () => {
            const { check, oldCred, switchedAt } = await rotateKeys();
            endpoint.onAuthenticated = ({ username }) =>
                testEnv().proxy.setKeyLastUsed(username, { lastUsedDate: new Date(switchedAt.getTime() + 60_000), serviceName: "ses", region: "eu-west-1" });
            await check(oldCred); // a missed consumer
            const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 0, graceDays: 7 }, now: new Date(switchedAt.getTime() + 120_000) });
            assert.strictEqual(report.keys[0].action, "held");
            await check(oldCred); // and it still works
        });

        it("no login with the old key after the switch: retired, and the old key really stops working", async () => {
            const { check, oldCred, newCred, switchedAt } = await rotateKeys();
            await check(newCred);
            const report = await advanceRetirements(deps(), { userName: USER, policy: { observationHours: 0, graceDays: 7 }, now: new Date(switchedAt.getTime() + 120_000) });
            assert.strictEqual(report.keys[0].action, "deactivated");
            await assert.rejects(check(oldCred), /auth-rejected/);
            await check(newCred);
        });
    });
});
