/**
 * End to end on real Postfix (issue 4). Real parts only: Postfix instances of their own relaying through the
 * local SES-compatible endpoint (TLS + SASL), the emitted Postfix SSM document run by the fleet agent (which
 * plays the SSM Agent: moto has the commands, the proxy holds the agent's results because moto cannot take
 * them), the aws CLI fetching the credential from moto's Secrets Manager, and the rotation handler.
 * Under CI=true a missing Postfix fails the run.
 */
import * as assert from "assert";
import * as fs from "fs";
import { randomUUID } from "crypto";
import { CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateDocumentCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { documentParameters, postfixDocumentContent } from "../documents";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential, SmtpCredentialValue } from "../runtime/credential";
import { FleetAgent } from "./support/fleet-agent";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { leakScanner } from "./support/leak-scanner";
import { filesHolding, mailAndAwait, makeArgvShims, PostfixInstance, requirePostfix, run, startPostfix } from "./support/postfix";
import { SesEndpoint, startSesEndpoint } from "./support/ses-endpoint";

const SES_REGION = "eu-west-1";
const USER = "ses-smtp-e2e";
const DOCUMENT = "ses-postfix-update";

describe("Postfix document on real Postfix, through the fleet agent", function () {
    let endpoint: SesEndpoint;
    let postfix: PostfixInstance;
    let agent: FleetAgent;
    let shims: ReturnType<typeof makeArgvShims>;
    const iam = () => new IAMClient(clientConfig());
    const secrets = () => new SecretsManagerClient(clientConfig());
    const ssm = () => new SSMClient(clientConfig());
    let secretArn = "";
    let cred1: SmtpCredentialValue;
    let cred2: SmtpCredentialValue;
    let version2 = "";
    const instanceId = "mi-0e2e000000000001a";

    async function send(version: string, source: "SecretsManager" = "SecretsManager"): Promise<string> {
        const out = await ssm().send(
            new SendCommandCommand({ DocumentName: DOCUMENT, InstanceIds: [instanceId], Parameters: documentParameters({ source, id: secretArn, version, region: "us-east-1" }) }),
        );
        return out.Command!.CommandId!;
    }

    before(async function () {
        requirePostfix(this);
        await resetAws();
        endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
        await iam().send(new CreateUserCommand({ UserName: USER }));
        cred1 = smtpCredentialForKey(await createAccessKeyForSmtp(iam(), USER, SES_REGION), { sesRegion: SES_REGION });
        cred2 = smtpCredentialForKey(await createAccessKeyForSmtp(iam(), USER, SES_REGION), { sesRegion: SES_REGION });
        secretArn = (await secrets().send(new CreateSecretCommand({ Name: "ses-smtp-e2e", SecretString: serializeCredential(cred1) }))).ARN!;
        version2 = randomUUID();
        await secrets().send(new PutSecretValueCommand({ SecretId: secretArn, ClientRequestToken: version2, SecretString: serializeCredential(cred2), VersionStages: ["AWSPENDING"] }));
        await ssm().send(new CreateDocumentCommand({ Name: DOCUMENT, DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(postfixDocumentContent()) }));
        postfix = await startPostfix({ name: "mx-doc", relay: { host: endpoint.host, port: endpoint.port }, caPem: endpoint.ca });
        leakScanner.watchDirectory(postfix.root, ["sasl_passwd", "sasl_passwd.db"]);
        await postfix.installCredential(cred1.username, cred1.password);
        shims = makeArgvShims(postfix.root);
        agent = new FleetAgent({
            instanceId,
            proxy: testEnv().proxy,
            clientConfig: clientConfig(),
            env: { SES_ROTATOR_POSTFIX_CONFIG_DIR: postfix.configDir, PATH: `${shims.dir}:${process.env.PATH}` },
        });
        agent.start();
    });

    after(async () => {
        await agent?.stop();
        await postfix?.destroy();
        await endpoint?.stop();
    });

    it("relays mail before any change, authenticated with key 1", async () => {
        const msg = await mailAndAwait(postfix, endpoint, "doc-before-1");
        assert.strictEqual(msg.username, cred1.username);
    });

    it("installs the referenced secret version: relay host key kept, mode 0600, reload, mail now uses key 2", async () => {
        const relayhostBefore = await postfix.postconf("relayhost");
        const result = await agent.waitFor(await send(version2));
        assert.strictEqual(result.status, "Success", result.stderr);
        assert.match(result.stdout!, new RegExp(`updated .*sasl_passwd for relay host \\[127\\.0\\.0\\.1\\]:${endpoint.port}: user ${cred2.username}`));
        assert.strictEqual(await postfix.postconf("relayhost"), relayhostBefore);
        assert.strictEqual(fs.readFileSync(postfix.saslPasswdPath, "utf8"), `${relayhostBefore} ${cred2.username}:${cred2.password}\n`);
        for (const f of [postfix.saslPasswdPath, `${postfix.saslPasswdPath}.db`]) assert.strictEqual(fs.statSync(f).mode & 0o777, 0o600, f);
        assert.strictEqual((await run("postmap", ["-c", postfix.configDir, "-q", relayhostBefore, `hash:${postfix.saslPasswdPath}`])).trim(), `${cred2.username}:${cred2.password}`);
        assert.match(postfix.maillog(), /reload/);
        const msg = await mailAndAwait(postfix, endpoint, "doc-after-1");
        assert.strictEqual(msg.username, cred2.username);
    });

    it("never put a password on a command line (every tool the script ran was recorded by an argv shim)", () => {
        const argv = shims.log();
        assert.ok(argv.some((a) => a[0] === "aws" && a.includes(`--version-id=${version2}`)), "the aws CLI fetched by version id");
        assert.ok(argv.some((a) => a[0] === "postmap") && argv.some((a) => a[0] === "postfix" && a.includes("reload")));
        for (const a of argv) {
            for (const secret of [cred1.password, cred2.password]) assert.ok(!a.join(" ").includes(secret), `password in argv of ${a[0]}`);
        }
    });

    it("leaves no other file holding the old or new password, and no temp files", () => {
        assert.deepStrictEqual(filesHolding(postfix.configDir, [cred1.password, cred2.password]), ["sasl_passwd", "sasl_passwd.db"]);
        assert.deepStrictEqual(fs.readdirSync(postfix.configDir).filter((f) => f.includes("rotate")), []);
    });

    it("is idempotent: running the same version again succeeds and changes nothing", async () => {
        const before = fs.readFileSync(postfix.saslPasswdPath, "utf8");
        const result = await agent.waitFor(await send(version2));
        assert.strictEqual(result.status, "Success", result.stderr);
        assert.strictEqual(fs.readFileSync(postfix.saslPasswdPath, "utf8"), before);
    });

    it("restores the previous file and map when reload fails after the swap, and exits non-zero", async () => {
        const before = fs.readFileSync(postfix.saslPasswdPath, "utf8");
        const version1 = await currentVersionOf(cred1);
        shims.failReload(true);
        try {
            const result = await agent.waitFor(await send(version1));
            assert.strictEqual(result.status, "Failed");
            assert.notStrictEqual(result.responseCode, 0);
            assert.match(result.stderr!, /postfix reload failed/);
            assert.match(result.stderr!, /restoring the previous credential file/);
            for (const secret of [cred1.password, cred2.password]) assert.ok(!`${result.stdout}${result.stderr}`.includes(secret));
        } finally {
            shims.failReload(false);
        }
        assert.strictEqual(fs.readFileSync(postfix.saslPasswdPath, "utf8"), before);
        assert.strictEqual((await run("postmap", ["-c", postfix.configDir, "-q", await postfix.postconf("relayhost"), `hash:${postfix.saslPasswdPath}`])).trim(), `${cred2.username}:${cred2.password}`);
        assert.deepStrictEqual(filesHolding(postfix.configDir, [cred1.password, cred2.password]), ["sasl_passwd", "sasl_passwd.db"]);
        const msg = await mailAndAwait(postfix, endpoint, "doc-after-restore");
        assert.strictEqual(msg.username, cred2.username);
    });

    it("exits non-zero with a clear message when relayhost is unset or the password map is not a hash file, changing nothing", async () => {
        const before = fs.readFileSync(postfix.saslPasswdPath, "utf8");
        const relayhost = await postfix.postconf("relayhost");
        const maps = await postfix.postconf("smtp_sasl_password_maps");
        try {
            await run("postconf", ["-c", postfix.configDir, "-e", "relayhost="]);
            let result = await agent.waitFor(await send(version2));
            assert.strictEqual(result.status, "Failed");
            assert.match(result.stderr!, /relayhost is not set/);
            await run("postconf", ["-c", postfix.configDir, "-e", `relayhost=${relayhost}`, `smtp_sasl_password_maps=texthash:${postfix.saslPasswdPath}`]);
            result = await agent.waitFor(await send(version2));
            assert.strictEqual(result.status, "Failed");
            assert.match(result.stderr!, /smtp_sasl_password_maps must be one hash:, btree: or lmdb: file/);
        } finally {
            await run("postconf", ["-c", postfix.configDir, "-e", `relayhost=${relayhost}`, `smtp_sasl_password_maps=${maps}`]);
        }
        assert.strictEqual(fs.readFileSync(postfix.saslPasswdPath, "utf8"), before);
    });

    it("fails cleanly when the referenced version does not exist (the aws CLI error is shown, nothing changes)", async () => {
        const before = fs.readFileSync(postfix.saslPasswdPath, "utf8");
        const result = await agent.waitFor(await send(randomUUID()));
        assert.strictEqual(result.status, "Failed");
        assert.match(result.stderr!, /could not read secret .* version/);
        assert.strictEqual(fs.readFileSync(postfix.saslPasswdPath, "utf8"), before);
    });

    /** The version id holding `cred` (the secret's first version). */
    async function currentVersionOf(cred: SmtpCredentialValue): Promise<string> {
        const { ListSecretVersionIdsCommand, GetSecretValueCommand } = await import("@aws-sdk/client-secrets-manager");
        const versions = await secrets().send(new ListSecretVersionIdsCommand({ SecretId: secretArn }));
        for (const v of versions.Versions ?? []) {
            const value = await secrets().send(new GetSecretValueCommand({ SecretId: secretArn, VersionId: v.VersionId }));
            if (JSON.parse(value.SecretString!).username === cred.username) return v.VersionId!;
        }
        throw new Error(`no version holds ${cred.username}`);
    }
});
