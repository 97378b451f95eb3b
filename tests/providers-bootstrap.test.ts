/**
 * BootstrapCredential provider methods called directly, against moto through the wire proxy. The stored
 * credential is proven by a real SMTP AUTH against the local SES-compatible endpoint (which accepts only
 * passwords of keys Active in moto). Faults the emulator cannot show (a failed write, a lost response) are
 * injected at the wire by the proxy.
 */
import * as assert from "assert";
import { IAMClient, CreateUserCommand, ListAccessKeysCommand, DeleteAccessKeyCommand } from "@aws-sdk/client-iam";
import { SecretsManagerClient, CreateSecretCommand, GetSecretValueCommand, DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { SSMClient, GetParameterCommand, DescribeParametersCommand } from "@aws-sdk/client-ssm";
import { KMSClient, CreateKeyCommand } from "@aws-sdk/client-kms";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { hosted } from "./support/dynamic-provider-host";
import { startSesEndpoint, SesEndpoint } from "../sandbox/ses-endpoint";
import { createSmtpCheck } from "../runtime/smtp-check";
import { parseCredential } from "../runtime/credential";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { bootstrapCredentialProvider, BootstrapCredentialInputs, BootstrapCredentialOutputs } from "../components/providers/bootstrap-credential";
import { PartialCreateError, UNKNOWN_INPUT } from "../components/providers/provider-support";


/** Called through the host's data path (protobuf Struct conversion, `__provider` present). */
const provider = hosted(bootstrapCredentialProvider);
const region = "us-east-1";
const sesRegion = "eu-west-1";
const userName = "smtp-rotator-bu-a";

const iam = () => new IAMClient(clientConfig(region));

async function keysOfUser(): Promise<string[]> {
    const out = await iam().send(new ListAccessKeysCommand({ UserName: userName }));
    return (out.AccessKeyMetadata ?? []).map((k) => k.AccessKeyId!).sort();
}

async function autoInputs(): Promise<BootstrapCredentialInputs> {
    await iam().send(new CreateUserCommand({ UserName: userName }));
    const secret = await new SecretsManagerClient(clientConfig(region)).send(new CreateSecretCommand({ Name: "smtp-credential-bu-a" }));
    return { mode: "auto", region, iamUserName: userName, sesRegion, secretArn: secret.ARN! };
}

/** Secret access keys IAM (moto) handed out, read from the proxy's call record: for leak assertions only. */
function secretKeysSeen(): string[] {
    return testEnv()
        .proxy.calls.filter((c) => c.operation === "CreateAccessKey" && c.status === 200)
        .map((c) => /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(c.responseBody)?.[1] ?? "")
        .filter(Boolean);
}

async function storedSecret(secretArn: string) {
    const out = await new SecretsManagerClient(clientConfig(region)).send(new GetSecretValueCommand({ SecretId: secretArn }));
    return { value: parseCredential(out.SecretString)!, versionId: out.VersionId! };
}

function assertNoSecretsIn(what: unknown, secrets: string[]): void {
    const text = JSON.stringify(what);
    for (const s of secrets) assert.ok(!text.includes(s), "a secret value appears in provider inputs/outputs");
}

describe("providers: BootstrapCredential", () => {
    let ses: SesEndpoint;
    before(async () => {
        ses = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: sesRegion });
    });
    after(async () => ses.stop());
    beforeEach(resetAws);

    describe("check", () => {
        it("names each bad property", async () => {
            const r = await provider.check!({} as any, { mode: "auto", region: "us-east-1", iamUserName: "bad name!", sesRegion: "mars-1", smtpPort: 25 } as any);
            assert.deepStrictEqual(r.failures!.map((f) => f.property).sort(), ["iamUserName", "secretArn", "sesRegion", "smtpPort"]);
            const m = await provider.check!({} as any, { mode: "manual", region, iamUserName: userName, sesRegion, parameterName: "no-leading-slash" });
            assert.deepStrictEqual(m.failures!.map((f) => f.property), ["parameterName"]);
        });
        it("accepts preview-unknown references", async () => {
            const r = await provider.check!({} as any, { mode: "auto", region, iamUserName: UNKNOWN_INPUT, sesRegion, secretArn: UNKNOWN_INPUT });
            assert.deepStrictEqual(r.failures, []);
        });
    });

    describe("diff", () => {
        const olds = { mode: "auto", region, iamUserName: userName, sesRegion, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s", accessKeyId: "AKIAEXAMPLE000000001" } as BootstrapCredentialOutputs;
        it("another store is an in-place update (the live credential is carried over), never a replace", async () => {
            for (const change of [{ secretArn: olds.secretArn + "2" }, { region: "eu-west-1" }, { mode: "manual" as const, parameterName: "/p/credential" }]) {
                assert.deepStrictEqual(await provider.diff!("id", olds, { ...olds, ...change }), { changes: true, replaces: [], deleteBeforeReplace: false });
            }
        });
        it("another IAM user (the user is being replaced) is refused, naming both users and the way out", async () => {
            await assert.rejects(provider.diff!("id", olds, { ...olds, iamUserName: "other" }), /iamUserName changes from smtp-rotator-bu-a to other.*aliases/);
            assert.strictEqual((await provider.diff!("id", olds, { ...olds, iamUserName: UNKNOWN_INPUT })).changes, true);
        });
        it("settings the rotation applies are an in-place update; nothing changed is no change", async () => {
            assert.deepStrictEqual(await provider.diff!("id", olds, { ...olds, smtpPort: 465 }), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.strictEqual((await provider.diff!("id", olds, { ...olds })).changes, false);
        });
        it("a partially created resource always needs an update", async () => {
            assert.strictEqual((await provider.diff!("id", { ...olds, incomplete: true }, { ...olds })).changes, true);
        });
    });

    it("auto: makes a key, stores a working SMTP credential as AWSCURRENT, and keeps only references", async () => {
        const inputs = await autoInputs();
        const created = await provider.create(inputs);
        const outs = created.outs!;
        assert.deepStrictEqual(await keysOfUser(), [outs.accessKeyId]);
        assert.strictEqual(created.id, outs.accessKeyId);
        const { value, versionId } = await storedSecret(inputs.secretArn!);
        assert.strictEqual(value.username, outs.accessKeyId);
        assert.strictEqual(value.endpoint, "email-smtp.eu-west-1.amazonaws.com");
        assert.strictEqual(value.port, 587);
        assert.deepStrictEqual([outs.credentialArn, outs.credentialVersion, outs.adopted], [inputs.secretArn, versionId, false]);
        const [secretKey] = secretKeysSeen();
        assert.strictEqual(value.password, deriveSmtpPassword(secretKey, sesRegion));
        assertNoSecretsIn({ inputs, outs }, [secretKey, value.password]);
        assert.ok(!JSON.stringify(value).includes(secretKey), "the IAM secret key is not stored");

        // The stored credential really authenticates (SES-compatible endpoint, key Active in moto).
        const check = createSmtpCheck({ host: ses.host, port: ses.port, ca: ses.ca, budgetMs: 0 });
        await check(value);
        assert.deepStrictEqual(ses.authLog.map((a) => [a.username, a.ok]), [[outs.accessKeyId, true]]);
    });

    it("manual: writes the SecureString with the given KMS key; delete removes the key and the parameter", async () => {
        await iam().send(new CreateUserCommand({ UserName: userName }));
        const kmsKeyId = (await new KMSClient(clientConfig(region)).send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
        const inputs: BootstrapCredentialInputs = { mode: "manual", region, iamUserName: userName, sesRegion, smtpPort: 465, parameterName: "/ses-rotator/bu-a/credential", kmsKeyId };
        const outs = (await provider.create(inputs)).outs!;
        const ssm = new SSMClient(clientConfig(region));
        const param = (await ssm.send(new GetParameterCommand({ Name: inputs.parameterName, WithDecryption: true }))).Parameter!;
        assert.strictEqual(param.Type, "SecureString");
        assert.deepStrictEqual([outs.credentialArn, outs.credentialVersion], [param.ARN, String(param.Version)]);
        const described = await ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Name", Values: [inputs.parameterName!] }] }));
        assert.strictEqual(described.Parameters![0].KeyId, kmsKeyId);
        const value = parseCredential(param.Value)!;
        assert.deepStrictEqual([value.username, value.port], [outs.accessKeyId, 465]);
        assertNoSecretsIn(outs, [value.password, ...secretKeysSeen()]);

        await provider.delete!(outs.accessKeyId, outs);
        assert.deepStrictEqual(await keysOfUser(), []);
        await assert.rejects(ssm.send(new GetParameterCommand({ Name: inputs.parameterName })), (e: any) => e.name === "ParameterNotFound");
        await provider.delete!(outs.accessKeyId, outs); // idempotent
    });

    it("a retried create adopts the credential an earlier (crashed) create already stored", async () => {
        const inputs = await autoInputs();
        const first = (await provider.create(inputs)).outs!;
        const again = (await provider.create(inputs)).outs!;
        assert.deepStrictEqual([again.accessKeyId, again.credentialVersion, again.adopted], [first.accessKeyId, first.credentialVersion, true]);
        assert.strictEqual(testEnv().proxy.callCounts()["iam:CreateAccessKey"], 1);
        assert.deepStrictEqual(await keysOfUser(), [first.accessKeyId]);
    });

    it("a lost CreateAccessKey answer (the SDK retries) leaves exactly one key: the stored one", async () => {
        const inputs = await autoInputs();
        testEnv().proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "passThenFail", times: 1 });
        const outs = (await provider.create(inputs)).outs!;
        assert.strictEqual(testEnv().proxy.callCounts()["iam:CreateAccessKey"], 2);
        assert.deepStrictEqual(await keysOfUser(), [outs.accessKeyId]);
        assert.strictEqual((await storedSecret(inputs.secretArn!)).value.username, outs.accessKeyId);
    });

    it("a failed write deletes the new key again and says so", async () => {
        const inputs = await autoInputs();
        testEnv().proxy.addFault({ service: "secretsmanager", operation: "PutSecretValue", kind: "error", code: "AccessDeniedException", status: 400 });
        await assert.rejects(provider.create(inputs), (e: Error) => !(e instanceof PartialCreateError) && /AccessDenied/.test(e.message) && /deleted again/.test(e.message));
        assert.deepStrictEqual(await keysOfUser(), []);
        const described = await new SecretsManagerClient(clientConfig(region)).send(new DescribeSecretCommand({ SecretId: inputs.secretArn }));
        assert.deepStrictEqual(described.VersionIdsToStages ?? {}, {});
    });

    it("a failed write whose cleanup fails too reports the key; the next update converges", async () => {
        const inputs = await autoInputs();
        testEnv().proxy.addFault({ service: "secretsmanager", operation: "PutSecretValue", kind: "error", code: "AccessDeniedException", times: 1 });
        testEnv().proxy.addFault({ service: "iam", operation: "DeleteAccessKey", kind: "error", code: "ServiceFailure", status: 400, times: 1 });
        let partial: PartialCreateError | undefined;
        await provider.create(inputs).catch((e) => (partial = e));
        assert.ok(partial instanceof PartialCreateError, "a PartialCreateError (the engine records its id and properties)");
        const [leftover] = await keysOfUser();
        assert.strictEqual(partial.id, leftover);
        assert.match(partial.message, new RegExp(`created access key ${leftover}`));
        const olds = partial.properties as unknown as BootstrapCredentialOutputs;
        assert.deepStrictEqual([olds.accessKeyId, olds.incomplete, (olds as any).__provider], [leftover, true, "serialized-provider-text"]);

        // next pulumi up: the engine sees the partial state and calls update
        assert.strictEqual((await provider.diff!(partial.id, olds, inputs)).changes, true);
        const outs = (await provider.update!(partial.id, olds, inputs)).outs!;
        assert.notStrictEqual(outs.accessKeyId, leftover);
        assert.strictEqual(outs.incomplete, undefined);
        assert.deepStrictEqual(await keysOfUser(), [outs.accessKeyId]);
        assert.strictEqual((await storedSecret(inputs.secretArn!)).value.username, outs.accessKeyId);
    });

    it("destroying a partially created resource removes the key it recorded", async () => {
        const inputs = await autoInputs();
        testEnv().proxy.addFault({ service: "secretsmanager", operation: "PutSecretValue", kind: "error", code: "AccessDeniedException", times: 1 });
        testEnv().proxy.addFault({ service: "iam", operation: "DeleteAccessKey", kind: "error", code: "ServiceFailure", status: 400, times: 1 });
        const partial: PartialCreateError = await provider.create(inputs).then(
            () => assert.fail("create should fail"),
            (e) => e,
        );
        assert.deepStrictEqual(await keysOfUser(), [partial.id]);
        await provider.delete!(partial.id, partial.properties as unknown as BootstrapCredentialOutputs);
        assert.deepStrictEqual(await keysOfUser(), []);
    });

    it("an in-place update records the settings without touching AWS", async () => {
        const inputs = await autoInputs();
        const outs = (await provider.create(inputs)).outs!;
        const before = testEnv().proxy.calls.length;
        const updated = (await provider.update!(outs.accessKeyId, outs, { ...inputs, smtpPort: 465, sesRegion: "us-west-2" })).outs!;
        assert.deepStrictEqual([updated.smtpPort, updated.sesRegion, updated.accessKeyId], [465, "us-west-2", outs.accessKeyId]);
        assert.strictEqual(testEnv().proxy.calls.length, before);
    });

    it("read reports a key retired by a rotation; delete is idempotent and survives a deleted user", async () => {
        const inputs = await autoInputs();
        const outs = (await provider.create(inputs)).outs!;
        assert.strictEqual((await provider.read!(outs.accessKeyId, outs)).props!.accessKeyStatus, "Active");
        await iam().send(new DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: outs.accessKeyId }));
        assert.strictEqual((await provider.read!(outs.accessKeyId, outs)).props!.accessKeyStatus, "Deleted");
        await provider.delete!(outs.accessKeyId, outs);
        // The user is gone too (same NoSuchEntity path; a user that never existed keeps moto's data.json working,
        // which breaks after DeleteUser and is swept by the leak scanner).
        await provider.delete!(outs.accessKeyId, { ...outs, iamUserName: "deleted-with-the-rotator" });
    });
});
