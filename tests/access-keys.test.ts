import * as assert from "assert";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import {
    createAccessKeyForSmtp,
    deactivateAccessKey,
    deleteAccessKey,
    getAccessKeyLastUse,
    listAccessKeys,
    smtpCredentialForKey,
} from "../runtime/access-keys";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { clientConfig, resetAws, testEnv } from "./support/hooks";

describe("access keys of the SMTP user (IAM in moto)", () => {
    let iam: IAMClient;
    beforeEach(async () => {
        await resetAws();
        iam = new IAMClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: "smtp-user" }));
    });

    it("creates a long-term key and lists it as Active", async () => {
        const key = await createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1");
        assert.match(key.accessKeyId, /^AKIA/);
        assert.ok(key.secretAccessKey.length > 0);
        assert.deepStrictEqual(
            (await listAccessKeys(iam, "smtp-user")).map((k) => [k.accessKeyId, k.status]),
            [[key.accessKeyId, "Active"]],
        );
    });

    it("refuses a third key before calling CreateAccessKey, naming the existing keys", async () => {
        const a = await createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1");
        const b = await createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1");
        const before = testEnv().proxy.callCounts()["iam:CreateAccessKey"];
        await assert.rejects(createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1"), (e: Error) => {
            assert.match(e.message, /already has 2 access keys/);
            assert.ok(e.message.includes(a.accessKeyId) && e.message.includes(b.accessKeyId));
            return true;
        });
        assert.strictEqual(testEnv().proxy.callCounts()["iam:CreateAccessKey"], before);
    });

    it("explains IAM's LimitExceeded when a key appears concurrently", async () => {
        await createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1");
        testEnv().proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "error", code: "LimitExceeded", status: 409, times: 1 });
        await assert.rejects(createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1"), /reached the limit of 2 access keys/);
    });

    it("rejects bad inputs naming them", async () => {
        await assert.rejects(createAccessKeyForSmtp(iam, "smtp-user", "eu-west-x"), /sesRegion "eu-west-x"/);
        await assert.rejects(createAccessKeyForSmtp(iam, "bad user!", "eu-west-1"), /userName "bad user!"/);
        await assert.rejects(deleteAccessKey(iam, "smtp-user", "not-a-key"), /accessKeyId "not-a-key"/);
    });

    it("derives the stored credential from the key without keeping the secret access key", async () => {
        const key = await createAccessKeyForSmtp(iam, "smtp-user", "eu-central-1");
        const value = smtpCredentialForKey(key, { sesRegion: "eu-central-1", smtpPort: 465 });
        assert.deepStrictEqual(Object.keys(value).sort(), ["endpoint", "password", "port", "region", "username"]);
        assert.strictEqual(value.username, key.accessKeyId);
        assert.strictEqual(value.password, deriveSmtpPassword(key.secretAccessKey, "eu-central-1"));
        assert.strictEqual(value.endpoint, "email-smtp.eu-central-1.amazonaws.com");
        assert.ok(!JSON.stringify(value).includes(key.secretAccessKey));
        assert.throws(() => smtpCredentialForKey(key, { sesRegion: "eu-central-1", smtpPort: 25 }), /smtpPort 25/);
    });

    it("deactivates and deletes idempotently (a repeat after a crash converges)", async () => {
        const key = await createAccessKeyForSmtp(iam, "smtp-user", "eu-west-1");
        testEnv().proxy.addFault({ service: "iam", operation: "UpdateAccessKey", kind: "passThenFail", times: 1 });
        await assert.rejects(deactivateAccessKey(iam, "smtp-user", key.accessKeyId));
        assert.strictEqual(await deactivateAccessKey(iam, "smtp-user", key.accessKeyId), "deactivated");
        assert.strictEqual((await listAccessKeys(iam, "smtp-user"))[0].status, "Inactive");

        testEnv().proxy.addFault({ service: "iam", operation: "DeleteAccessKey", kind: "passThenFail", times: 1 });
        await assert.rejects(deleteAccessKey(iam, "smtp-user", key.accessKeyId));
        assert.strictEqual(await deleteAccessKey(iam, "smtp-user", key.accessKeyId), "absent");
        assert.strictEqual(await deactivateAccessKey(iam, "smtp-user", key.accessKeyId), "absent");
        assert.deepStrictEqual(await listAccessKeys(iam, "smtp-user"), []);
    });

    it("reports IAM's last use of a key (overlaid by the proxy: moto cannot see SMTP logins)", async () => {
        const raw = await iam.send(new CreateAccessKeyCommand({ UserName: "smtp-user" }));
        const id = raw.AccessKey!.AccessKeyId!;
        assert.deepStrictEqual(await getAccessKeyLastUse(iam, id), {});
        testEnv().proxy.setKeyLastUsed(id, { lastUsedDate: new Date("2026-11-20T08:00:00Z"), serviceName: "ses", region: "eu-west-1" });
        assert.deepStrictEqual(await getAccessKeyLastUse(iam, id), { lastUsedDate: "2026-11-20T08:00:00.000Z", serviceName: "ses", region: "eu-west-1" });
    });
});
