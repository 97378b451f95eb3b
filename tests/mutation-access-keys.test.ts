/**
 * Edges of runtime/access-keys.ts that its behaviour tests (tests/access-keys.test.ts) left open and Stryker's
 * mutants showed (docs/mutation.md): the input checks' exact bounds, non-string input, both spellings of IAM's
 * error codes, errors that are not "not found"/"limit" passing through unchanged, and the SMTP port/endpoint
 * defaults. IAM is moto behind the wire proxy; errors IAM gives and moto does not are injected by the proxy.
 */
import * as assert from "assert";
import { CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import {
    createAccessKeyForSmtp,
    deactivateAccessKey,
    deleteAccessKey,
    getAccessKeyLastUse,
    isNoSuchEntity,
    listAccessKeys,
    smtpCredentialForKey,
} from "../runtime/access-keys";
import { clientConfig, resetAws, testEnv } from "./support/hooks";

const USER = "smtp-user";

describe("access keys: input edges and IAM error spellings (mutation testing, IAM in moto)", () => {
    let iam: IAMClient;
    beforeEach(async () => {
        await resetAws();
        iam = new IAMClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: USER }));
    });

    const calls = (op: string) => testEnv().proxy.callCounts()[`iam:${op}`] ?? 0;

    it("user names: 1 to 64 of letters, digits and _+=,.@- are accepted; others are refused before any IAM call, with the exact message", async () => {
        for (const good of ["a", "x".repeat(64), "svc_smtp+=,.@-1"]) {
            await iam.send(new CreateUserCommand({ UserName: good }));
            assert.deepStrictEqual(await listAccessKeys(iam, good), [], good);
        }
        const before = calls("ListAccessKeys");
        for (const bad of ["", "x".repeat(65), "bad user", "bad/user", "ünï", 42, undefined]) {
            await assert.rejects(listAccessKeys(iam, bad as any), (e: Error) => {
                assert.strictEqual(e.message, `userName ${JSON.stringify(bad)} is not a valid IAM user name (1-64 of letters, digits and _+=,.@-)`);
                return true;
            }, String(bad));
        }
        assert.strictEqual(calls("ListAccessKeys"), before);
    });

    it("access key ids: 16 to 128 upper-case letters and digits; others are refused before any IAM call, with the exact message", async () => {
        for (const good of ["AKIA" + "A".repeat(12), "AKIA" + "7".repeat(124)]) {
            assert.strictEqual(await deactivateAccessKey(iam, USER, good), "absent", good);
            assert.strictEqual(await deleteAccessKey(iam, USER, good), "absent", good);
        }
        const before = { u: calls("UpdateAccessKey"), d: calls("DeleteAccessKey"), l: calls("GetAccessKeyLastUsed") };
        for (const bad of ["AKIA" + "A".repeat(11), "AKIA" + "A".repeat(125), "akia" + "a".repeat(12), "AKIA-AAAAAAAAAAAA", " AKIAAAAAAAAAAAAA", 1234567890123456]) {
            const message = `accessKeyId ${JSON.stringify(bad)} is not an IAM access key id`;
            await assert.rejects(deactivateAccessKey(iam, USER, bad as any), { message });
            await assert.rejects(deleteAccessKey(iam, USER, bad as any), { message });
            await assert.rejects(getAccessKeyLastUse(iam, bad as any), { message });
        }
        assert.deepStrictEqual({ u: calls("UpdateAccessKey"), d: calls("DeleteAccessKey"), l: calls("GetAccessKeyLastUsed") }, before);
        await assert.rejects(deactivateAccessKey(iam, "bad user", "AKIA" + "A".repeat(12)), /userName "bad user"/);
        await assert.rejects(deleteAccessKey(iam, "bad user", "AKIA" + "A".repeat(12)), /userName "bad user"/);
    });

    it("isNoSuchEntity knows both spellings of IAM's not-found code and nothing else", () => {
        assert.strictEqual(isNoSuchEntity({ name: "NoSuchEntity" }), true);
        assert.strictEqual(isNoSuchEntity({ name: "NoSuchEntityException" }), true);
        for (const other of [{ name: "AccessDenied" }, {}, undefined, null, "NoSuchEntity"]) assert.strictEqual(isNoSuchEntity(other), false, JSON.stringify(other));
    });

    it("NoSuchEntityException counts as absent; any other error from UpdateAccessKey/DeleteAccessKey is thrown unchanged", async () => {
        const key = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        const proxy = testEnv().proxy;
        proxy.addFault({ service: "iam", operation: "UpdateAccessKey", kind: "error", code: "NoSuchEntityException", status: 404, times: 1 });
        assert.strictEqual(await deactivateAccessKey(iam, USER, key.accessKeyId), "absent");
        proxy.addFault({ service: "iam", operation: "DeleteAccessKey", kind: "error", code: "NoSuchEntityException", status: 404, times: 1 });
        assert.strictEqual(await deleteAccessKey(iam, USER, key.accessKeyId), "absent");
        proxy.addFault({ service: "iam", operation: "UpdateAccessKey", kind: "error", code: "AccessDenied", status: 403, times: 1 });
        await assert.rejects(deactivateAccessKey(iam, USER, key.accessKeyId), { name: "AccessDenied" });
        proxy.addFault({ service: "iam", operation: "DeleteAccessKey", kind: "error", code: "AccessDenied", status: 403, times: 1 });
        await assert.rejects(deleteAccessKey(iam, USER, key.accessKeyId), { name: "AccessDenied" });
        // the key is untouched by the failed calls
        assert.deepStrictEqual((await listAccessKeys(iam, USER)).map((k) => [k.accessKeyId, k.status]), [[key.accessKeyId, "Active"]]);
    });

    it("LimitExceededException is explained like LimitExceeded (with IAM's message); other CreateAccessKey errors are thrown unchanged", async () => {
        const proxy = testEnv().proxy;
        proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "error", code: "LimitExceededException", status: 409, message: "Cannot exceed quota for AccessKeysPerUser: 2", times: 1 });
        await assert.rejects(createAccessKeyForSmtp(iam, USER, "eu-west-1"), {
            message: `IAM user "${USER}" reached the limit of 2 access keys while creating one (a concurrent run?): Cannot exceed quota for AccessKeysPerUser: 2`,
        });
        proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "error", code: "AccessDenied", status: 403, message: "not allowed", times: 1 });
        await assert.rejects(createAccessKeyForSmtp(iam, USER, "eu-west-1"), { name: "AccessDenied", message: "not allowed" });
    });

    it("the refusal of a third key and of a bad region carry their exact messages", async () => {
        await assert.rejects(createAccessKeyForSmtp(iam, USER, "eu-west"), { message: `sesRegion "eu-west" is not a well-formed AWS region (e.g. eu-west-1)` });
        const a = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        await deactivateAccessKey(iam, USER, a.accessKeyId);
        const b = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        await assert.rejects(createAccessKeyForSmtp(iam, USER, "eu-west-1"), {
            message:
                `IAM user "${USER}" already has 2 access keys (${a.accessKeyId} Inactive, ${b.accessKeyId} Active); ` +
                `refusing to create a third: retire or delete one of them first`,
        });
    });

    it("lists the creation date as an ISO timestamp", async () => {
        const since = Date.now() - 60_000;
        await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        const [k] = await listAccessKeys(iam, USER);
        assert.match(k.createDate!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.ok(Date.parse(k.createDate!) >= since, k.createDate);
    });

    it("smtpCredentialForKey: port 587 by default, 465 allowed, anything else refused with the exact message; an empty endpoint means the region's", () => {
        const key = { accessKeyId: "AKIA" + "B".repeat(16), secretAccessKey: "s3cr3t" };
        assert.strictEqual(smtpCredentialForKey(key, { sesRegion: "eu-west-1" }).port, 587);
        assert.strictEqual(smtpCredentialForKey(key, { sesRegion: "eu-west-1", smtpPort: 587 }).port, 587);
        assert.strictEqual(smtpCredentialForKey(key, { sesRegion: "eu-west-1", smtpPort: 465 }).port, 465);
        for (const bad of [25, 2587, 0]) {
            assert.throws(() => smtpCredentialForKey(key, { sesRegion: "eu-west-1", smtpPort: bad }), { message: `smtpPort ${bad} must be 587 (STARTTLS) or 465 (implicit TLS)` });
        }
        assert.strictEqual(smtpCredentialForKey(key, { sesRegion: "eu-west-1", smtpEndpoint: "" }).endpoint, "email-smtp.eu-west-1.amazonaws.com");
        const custom = smtpCredentialForKey(key, { sesRegion: "eu-west-1", smtpEndpoint: "smtp.example.net" });
        assert.strictEqual(custom.endpoint, "smtp.example.net");
        assert.strictEqual(custom.region, "eu-west-1");
    });

    it("last use: IAM's N/A service and region are left out; a date alone is reported alone", async () => {
        const key = await createAccessKeyForSmtp(iam, USER, "eu-west-1");
        const proxy = testEnv().proxy;
        proxy.setKeyLastUsed(key.accessKeyId, { lastUsedDate: new Date("2026-11-21T09:30:00Z"), serviceName: "N/A", region: "N/A" });
        assert.deepStrictEqual(await getAccessKeyLastUse(iam, key.accessKeyId), { lastUsedDate: "2026-11-21T09:30:00.000Z" });
        proxy.setKeyLastUsed(key.accessKeyId, { lastUsedDate: new Date("2026-11-21T09:30:00Z"), serviceName: "ses", region: "N/A" });
        assert.deepStrictEqual(await getAccessKeyLastUse(iam, key.accessKeyId), { lastUsedDate: "2026-11-21T09:30:00.000Z", serviceName: "ses" });
        proxy.setKeyLastUsed(key.accessKeyId, { lastUsedDate: new Date("2026-11-21T09:30:00Z"), serviceName: "N/A", region: "eu-west-1" });
        assert.deepStrictEqual(await getAccessKeyLastUse(iam, key.accessKeyId), { lastUsedDate: "2026-11-21T09:30:00.000Z", region: "eu-west-1" });
    });
});
