/**
 * The dynamic providers run under the stack's AWS identity, not the shell's (issue 13 item 1).
 *
 * Two AWS accounts in one moto_server: moto attributes a request to the account of the access key that signed
 * it. The test process's own ("shell") credentials are unknown to moto, so they land in moto's default account
 * 123456789012 (account A). Account B (111111111111) is reached the way a stack reaches it: by assuming a role
 * in it (`aws:assumeRoles`; moto's STS accepts a role ARN in any account) or through a shared-config profile
 * whose keys belong to an IAM user of account B (`aws:profile`; a temporary credentials file). Every call goes
 * through the wire proxy to moto with the real SDK credential providers.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, GetUserCommand, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { SecretsManagerClient, CreateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { SSMClient, GetParameterCommand } from "@aws-sdk/client-ssm";
import { STSClient, AssumeRoleCommand } from "@aws-sdk/client-sts";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { leakScanner, scannedLogger } from "./support/leak-scanner";
import { hosted } from "./support/dynamic-provider-host";
import { bootstrapCredentialProvider, BootstrapCredentialInputs } from "../components/providers/bootstrap-credential";
import { retirementGuardProvider, RetirementGuardInputs } from "../components/providers/retirement-guard";
import { rotateNowProvider } from "../components/providers/rotate-now";
import { scheduleRetirement } from "../runtime/retirement";
import { smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential } from "../runtime/credential";

const region = "us-east-1";
const ACCOUNT_A = "123456789012"; // moto's default: where the shell's credentials land
const ACCOUNT_B = "111111111111"; // the stack's account
const ROLE_B = `arn:aws:iam::${ACCOUNT_B}:role/pulumi-deployer`;
const userName = "smtp-rotator-bu-b";

const bootstrap = hosted(bootstrapCredentialProvider);
const guard = hosted(retirementGuardProvider);
const rotateNow = hosted(rotateNowProvider);

/** Credentials in account B (an assumed role, as the stack's aws:assumeRoles would give). */
async function accountBCredentials() {
    const out = await new STSClient(clientConfig(region)).send(new AssumeRoleCommand({ RoleArn: ROLE_B, RoleSessionName: "test-setup" }));
    const c = out.Credentials!;
    return { accessKeyId: c.AccessKeyId!, secretAccessKey: c.SecretAccessKey!, sessionToken: c.SessionToken! };
}

async function inB() {
    const credentials = await accountBCredentials();
    const config = { ...clientConfig(region), credentials };
    return { iam: new IAMClient(config), sm: new SecretsManagerClient(config), ssm: new SSMClient(config) };
}

/** A shared-config profile `stack-b` whose keys belong to an IAM user of account B, in temporary files. */
async function withProfileB<T>(run: () => Promise<T>): Promise<T> {
    const b = await inB();
    await b.iam.send(new CreateUserCommand({ UserName: "pulumi-operator" }));
    const key = (await b.iam.send(new CreateAccessKeyCommand({ UserName: "pulumi-operator" }))).AccessKey!;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "aws-profile-"));
    const credentialsFile = path.join(dir, "credentials");
    const configFile = path.join(dir, "config");
    // The operator's shared credentials file (as ~/.aws/credentials): the one place this key may be written.
    leakScanner.allowSecretsInFile(credentialsFile, ["iam-secret-access-key"]);
    fs.writeFileSync(credentialsFile, `[stack-b]\naws_access_key_id = ${key.AccessKeyId}\naws_secret_access_key = ${key.SecretAccessKey}\n`, { mode: 0o600 });
    fs.writeFileSync(configFile, `[profile stack-b]\nregion = ${region}\n`, { mode: 0o600 });
    const saved = { c: process.env.AWS_SHARED_CREDENTIALS_FILE, f: process.env.AWS_CONFIG_FILE };
    process.env.AWS_SHARED_CREDENTIALS_FILE = credentialsFile;
    process.env.AWS_CONFIG_FILE = configFile;
    try {
        return await run();
    } finally {
        for (const [k, v] of [["AWS_SHARED_CREDENTIALS_FILE", saved.c], ["AWS_CONFIG_FILE", saved.f]] as const) {
            if (v === undefined) delete process.env[k];
            else process.env[k] = v;
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

function callsOf(operation: string) {
    return testEnv().proxy.calls.filter((c) => c.operation === operation);
}

describe("providers: the stack's AWS identity (two accounts)", () => {
    beforeEach(resetAws);

    it("BootstrapCredential with the shell in another account: refused before any change, naming both accounts", async () => {
        const b = await inB();
        await b.iam.send(new CreateUserCommand({ UserName: userName }));
        const secret = await b.sm.send(new CreateSecretCommand({ Name: "smtp-credential-bu-b" }));
        const inputs: BootstrapCredentialInputs = { mode: "auto", region, iamUserName: userName, sesRegion: region, secretArn: secret.ARN!, accountId: ACCOUNT_B };
        await assert.rejects(bootstrap.create(inputs), (e: Error) => {
            assert.match(e.message, new RegExp(`belong to account ${ACCOUNT_A}, but the stack deploys into account ${ACCOUNT_B}`));
            assert.match(e.message, /aws:profile \/ aws:assumeRoles/);
            return true;
        });
        assert.deepStrictEqual(callsOf("CreateAccessKey"), [], "no key was made in either account");
        assert.deepStrictEqual(callsOf("ListAccessKeys"), [], "nothing was read before the account check");
    });

    it("role ARN + external id: create, refresh and delete all run in the stack's account, from the recorded identity", async () => {
        const b = await inB();
        await b.iam.send(new CreateUserCommand({ UserName: userName }));
        const secret = await b.sm.send(new CreateSecretCommand({ Name: "smtp-credential-bu-b" }));
        const inputs: BootstrapCredentialInputs = {
            mode: "auto",
            region,
            iamUserName: userName,
            sesRegion: region,
            secretArn: secret.ARN!,
            awsRoleArn: ROLE_B,
            awsExternalId: "stack-external-id",
            accountId: ACCOUNT_B,
        };
        const created = await bootstrap.create(inputs);
        const keysInB = async () => ((await b.iam.send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata ?? []).map((k) => k.AccessKeyId);
        assert.deepStrictEqual(await keysInB(), [created.outs!.accessKeyId]);
        await assert.rejects(new IAMClient(clientConfig(region)).send(new GetUserCommand({ UserName: userName })), /cannot be found/, "account A has no such user");
        assert.ok(callsOf("AssumeRole").some((c) => c.requestBody.includes("ExternalId=stack-external-id")), "the role is assumed with the external id");
        assert.strictEqual(created.outs!.awsRoleArn, ROLE_B, "the identity is in state");

        const refreshed = await bootstrap.read!(created.id, created.outs!);
        assert.strictEqual(refreshed.props!.accessKeyStatus, "Active");
        await bootstrap.delete!(created.id, created.outs!);
        assert.deepStrictEqual(await keysInB(), [], "delete removed the key in the stack's account");
    });

    it("manual mode with a profile: the parameter is written and, on destroy, deleted in the stack's account", async () => {
        const b = await inB();
        await b.iam.send(new CreateUserCommand({ UserName: userName }));
        await withProfileB(async () => {
            const inputs: BootstrapCredentialInputs = {
                mode: "manual",
                region,
                iamUserName: userName,
                sesRegion: region,
                parameterName: "/ses-smtp/bu-b/credential",
                awsProfile: "stack-b",
                accountId: ACCOUNT_B,
            };
            const created = await bootstrap.create(inputs);
            const stored = await b.ssm.send(new GetParameterCommand({ Name: "/ses-smtp/bu-b/credential" }));
            assert.ok(stored.Parameter?.ARN?.includes(`:${ACCOUNT_B}:`));
            // With the shell's identity (account A) the old code's delete "succeeded" and left this parameter behind.
            await bootstrap.delete!(created.id, created.outs!);
        });
        await assert.rejects(b.ssm.send(new GetParameterCommand({ Name: "/ses-smtp/bu-b/credential" })), /ParameterNotFound|not found/i);
    });

    it("RetirementGuard reads the records in the stack's account; pointed at another account it fails instead of reporting no holds", async () => {
        const b = await inB();
        await b.iam.send(new CreateUserCommand({ UserName: userName }));
        const oldKey = (await b.iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!.AccessKeyId!;
        const current = (await b.iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
        const newKey = current.AccessKeyId!;
        // the rotated secret in account B: the store the retirement re-reads (AWSCURRENT names the new key)
        const value = serializeCredential(smtpCredentialForKey({ accessKeyId: newKey, secretAccessKey: current.SecretAccessKey! }, { sesRegion: region }));
        const secretArn = (await b.sm.send(new CreateSecretCommand({ Name: "smtp-credential-bu-b-guard", SecretString: value }))).ARN!;
        await scheduleRetirement({ iam: b.iam, log: scannedLogger("retirement") }, { userName, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: new Date(), observationHours: 24 });
        const base: RetirementGuardInputs = { iamUserName: userName, region, secretArn, observationHours: 24, graceDays: 3 };
        await withProfileB(async () => {
            const outs = (await guard.create({ ...base, awsProfile: "stack-b", accountId: ACCOUNT_B })).outs!;
            assert.deepStrictEqual(outs.retirements.map((r) => r.accessKeyId), [oldKey]);
        });
        await assert.rejects(guard.create({ ...base, accountId: ACCOUNT_B }), new RegExp(`account ${ACCOUNT_A}.*account ${ACCOUNT_B}`));
        // Without an account to check (state from before): still no "all fine" from the wrong account.
        await assert.rejects(guard.create(base), /IAM user smtp-rotator-bu-b does not exist/);
    });

    it("RotateNow refuses to start a rotation from the wrong account", async () => {
        const b = await inB();
        const secret = await b.sm.send(new CreateSecretCommand({ Name: "smtp-credential-bu-b", SecretString: "{}" }));
        const olds = { trigger: "", mode: "auto" as const, region, secretArn: secret.ARN!, accountId: ACCOUNT_B };
        await assert.rejects(rotateNow.update!("id", olds, { ...olds, trigger: "2026-12-01" }), new RegExp(`account ${ACCOUNT_A}.*account ${ACCOUNT_B}`));
        assert.deepStrictEqual(callsOf("RotateSecret"), []);
        assert.deepStrictEqual(callsOf("DescribeSecret"), []);
    });

    it("check names bad identity inputs", async () => {
        const r = await bootstrap.check!({} as any, { mode: "auto", region, iamUserName: userName, sesRegion: region, secretArn: `arn:aws:secretsmanager:${region}:${ACCOUNT_B}:secret:s`, awsRoleArn: "role/x", accountId: "12", awsExternalId: "e1" } as any);
        assert.deepStrictEqual(r.failures!.map((f) => f.property).sort(), ["accountId", "awsRoleArn"]);
        const g = await guard.check!({} as any, { iamUserName: userName, region, secretArn: `arn:aws:secretsmanager:${region}:${ACCOUNT_B}:secret:s`, observationHours: 1, graceDays: 1, awsExternalId: "only-id" } as any);
        assert.deepStrictEqual(g.failures!.map((f) => f.property), ["awsExternalId"]);
    });
});
