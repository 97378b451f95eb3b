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
import { FleetAgent } from "../sandbox/fleet-agent";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { leakScanner } from "./support/leak-scanner";
import { filesHolding, mailAndAwait, makeArgvShims, PostfixInstance, requirePostfix, run, startPostfix, waitUntil } from "../sandbox/postfix";
import { E2E_SES_REGION, MailStream, PostfixFleetWorld } from "./support/postfix-fleet";
import { createSmtpCheck } from "../runtime/smtp-check";
import { SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";

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
        cred1 = smtpCredentialForKey(await createAccessKeyForSmtp(iam(), USER, SES_REGION), { sesRegion: SES_REGION, smtpEndpoint: endpoint.host });
        cred2 = smtpCredentialForKey(await createAccessKeyForSmtp(iam(), USER, SES_REGION), { sesRegion: SES_REGION, smtpEndpoint: endpoint.host });
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

    it("reads a Parameter Store SecureString version by reference too (manual mode), via name:version --with-decryption", async () => {
        const { PutParameterCommand } = await import("@aws-sdk/client-ssm");
        const name = "/ses-rotator/e2e/credential";
        await ssm().send(new PutParameterCommand({ Name: name, Type: "SecureString", Value: serializeCredential(cred1) }));
        await ssm().send(new PutParameterCommand({ Name: name, Type: "SecureString", Value: serializeCredential(cred2), Overwrite: true }));
        const parameters = documentParameters({ source: "ParameterStore", id: name, version: 1, region: "us-east-1" });
        const sent = await ssm().send(new SendCommandCommand({ DocumentName: DOCUMENT, InstanceIds: [instanceId], Parameters: parameters }));
        const result = await agent.waitFor(sent.Command!.CommandId!);
        assert.strictEqual(result.status, "Success", result.stderr);
        assert.strictEqual((await run("postmap", ["-c", postfix.configDir, "-q", await postfix.postconf("relayhost"), `hash:${postfix.saslPasswdPath}`])).trim(), `${cred1.username}:${cred1.password}`);
        assert.ok(shims.log().some((a) => a[0] === "aws" && a.includes(`--name=${name}:1`) && a.includes("--with-decryption")));
        const msg = await mailAndAwait(postfix, endpoint, "doc-parameter-store");
        assert.strictEqual(msg.username, cred1.username, "version 1 holds key 1");
    });

    it("harness: mail held while the relay is unreachable shows in postqueue as deferred and is delivered after a flush", async () => {
        const relayhost = await postfix.postconf("relayhost");
        await run("postconf", ["-c", postfix.configDir, "-e", "relayhost=[127.0.0.1]:1"]);
        await run("postfix", ["-c", postfix.configDir, "reload"]);
        try {
            await postfix.submit({ to: "held@example.com", subject: "doc-held" });
            await waitUntil(async () => (await postfix.queue()).some((q) => q.queue_name === "deferred"), 60000, "the message to be deferred");
            assert.match(JSON.stringify(await postfix.queue()), /held@example\.com/);
        } finally {
            await run("postconf", ["-c", postfix.configDir, "-e", `relayhost=${relayhost}`]);
            await run("postfix", ["-c", postfix.configDir, "reload"]);
        }
        await postfix.flush();
        await waitUntil(() => endpoint.messages.some((m) => m.data.includes("Subject: doc-held")), 120000, "the held message to arrive");
        await waitUntil(async () => (await postfix.queue()).length === 0, 60000, "the queue to drain");
        assert.ok(postfix.deliveries().some((d) => d.to === "held@example.com" && d.status === "deferred"));
        assert.ok(postfix.deliveries().some((d) => d.to === "held@example.com" && d.status === "sent"));
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

describe("Rotation end to end on real Postfix: mail keeps flowing, the old key stops working", function () {
    // Real processes on a shared 2-core machine: generous limits; every wait below is a condition with a deadline.
    this.timeout(600000);
    let endpoint: SesEndpoint;
    let world: PostfixFleetWorld;
    let token = "";
    let key2 = "";
    const counts: Record<string, Record<string, number>> = {};
    const count = (phase: string, username: string) => {
        counts[phase] ??= {};
        const label = username === world.firstCredential.username ? "key1" : username === key2 ? "key2" : username;
        counts[phase][label] = (counts[phase][label] ?? 0) + 1;
    };

    before(async function () {
        requirePostfix(this);
        await resetAws();
        // IAM's "last used" for a key, as SES would report it after SMTP logins (moto cannot see them): the
        // proxy overlays it from the endpoint's record, so retirement decides from the logins that happened.
        endpoint = await startSesEndpoint({
            motoUrl: testEnv().moto.url,
            region: E2E_SES_REGION,
            onAuthenticated: ({ username, at }) => testEnv().proxy.setKeyLastUsed(username, { lastUsedDate: at, serviceName: "ses", region: E2E_SES_REGION }),
        });
        world = await new PostfixFleetWorld(endpoint).setUp([{ name: "mx-a" }, { name: "mx-b" }]);
    });

    after(async () => {
        await world?.destroy();
        await endpoint?.stop();
        if (Object.keys(counts).length) console.log(`      mail per phase (arrived, by key): ${JSON.stringify(counts)}`);
    });

    it("1. before rotation: mail through each server arrives, authenticated with key 1", async () => {
        for (const s of world.servers) {
            for (let i = 1; i <= 3; i++) {
                const msg = await mailAndAwait(s.postfix, endpoint, `before-${i}-${s.name}`);
                assert.strictEqual(msg.username, world.firstCredential.username);
                count("before", msg.username);
            }
        }
    });

    it("2-3. the four steps run while a steady stream is submitted; every message arrives, the ones after each server's switch with key 2", async () => {
        const stream = new MailStream(world.servers, "during", 1000);
        stream.start();
        try {
            // Besides the timer, a message through every server after each step: the stream spans all four steps
            // however fast they run.
            token = await world.rotate(() => stream.submitRound());
        } finally {
            await stream.stop();
        }
        assert.deepStrictEqual(stream.errors, []);
        key2 = (await world.credentialOf(token)).username;
        assert.notStrictEqual(key2, world.firstCredential.username);
        assert.ok(stream.sent.length >= 4, `a steady stream (${stream.sent.length} messages)`);
        const arrived = (subject: string) => endpoint.messages.find((m) => m.data.includes(`Subject: ${subject}\r\n`) || m.data.includes(`Subject: ${subject}\n`));
        await waitUntil(() => stream.sent.every((m) => arrived(m.subject)), 240000, "every streamed message to arrive");
        for (const s of world.servers) {
            await waitUntil(async () => (await s.postfix.queue()).length === 0, 120000, `${s.name}'s queue to drain`);
            const deliveries = s.postfix.deliveries();
            assert.deepStrictEqual(deliveries.filter((d) => d.status === "bounced" || d.status === "expired"), [], `${s.name}: nothing bounced`);
            const streamed = stream.sent.filter((x) => x.server === s).length;
            assert.ok(deliveries.filter((d) => d.status === "sent").length >= streamed + 3, `${s.name}: the mail log shows every message sent`);
            const switchedAt = s.agent.handled.find((h) => h.result.status === "Success")!.finishedAt;
            for (const m of stream.sent.filter((x) => x.server === s)) {
                const msg = arrived(m.subject)!;
                count(m.submittedAt > switchedAt ? "during, after switch" : "during, before switch", msg.username);
                if (m.submittedAt > switchedAt) assert.strictEqual(msg.username, key2, `${m.subject} submitted after ${s.name} switched`);
            }
        }
        assert.ok((counts["during, after switch"]?.key2 ?? 0) > 0, "some of the stream went after the switch");
        const stages = await world.stages();
        assert.deepStrictEqual(stages[token], ["AWSCURRENT"]);
    });

    it("after rotation: mail uses key 2; no file under any config dir but sasl_passwd(.db) holds a password, the old one nowhere", async () => {
        const cred2 = await world.credentialAt("AWSCURRENT");
        for (const s of world.servers) {
            const msg = await mailAndAwait(s.postfix, endpoint, `after-${s.name}`);
            assert.strictEqual(msg.username, cred2.username);
            count("after", msg.username);
            assert.deepStrictEqual(filesHolding(s.postfix.configDir, [cred2.password]), ["sasl_passwd", "sasl_passwd.db"]);
            assert.deepStrictEqual(filesHolding(s.postfix.configDir, [world.firstCredential.password]), [], `${s.name}: old password gone`);
            for (const a of makeArgvShims(s.postfix.root).log()) {
                assert.ok(![cred2.password, world.firstCredential.password].some((p) => a.join(" ").includes(p)), `password in argv of ${a[0]}`);
            }
        }
    });

    it("4. once the old key is retired, AUTH with key 1 is refused by the endpoint, and Postfix keeps working", async () => {
        const statuses = await world.keyStatuses();
        assert.strictEqual(statuses[world.firstCredential.username], "Inactive", "retired (observation window 0 h)");
        assert.strictEqual(statuses[key2], "Active");
        await assert.rejects(
            createSmtpCheck({ host: endpoint.host, port: endpoint.port, ca: endpoint.ca, budgetMs: 0, connectTimeoutMs: 120000 })(world.firstCredential),
            (e: any) => e.failureClass === "auth-rejected",
        );
        assert.ok(endpoint.authLog.some((a) => a.username === world.firstCredential.username && !a.ok && a.reason === "inactive-key"));
        for (const s of world.servers) {
            const msg = await mailAndAwait(s.postfix, endpoint, `retired-${s.name}`);
            assert.strictEqual(msg.username, key2);
            count("after retirement", msg.username);
        }
    });
});

describe("Rotation end to end on real Postfix: a failing server stops the rotation safely", function () {
    this.timeout(600000);
    let endpoint: SesEndpoint;
    let world: PostfixFleetWorld;

    before(async function () {
        requirePostfix(this);
        await resetAws();
        endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: E2E_SES_REGION });
        world = await new PostfixFleetWorld(endpoint).setUp([{ name: "mx-ok" }, { name: "mx-link", fault: "sasl-passwd-symlink" }, { name: "mx-reload", fault: "reload-fails" }]);
    });

    after(async () => {
        await world?.destroy();
        await endpoint?.stop();
    });

    it("setSecret fails naming the broken servers; they keep their working key, AWSCURRENT and the old key are unchanged", async () => {
        const currentBefore = Object.entries(await world.stages()).find(([, s]) => s.includes("AWSCURRENT"))![0];
        const byName = Object.fromEntries(world.servers.map((s) => [s.name, s]));
        const filesBefore = {
            link: fs.readFileSync(byName["mx-link"].postfix.saslPasswdPath, "utf8"),
            reload: fs.readFileSync(byName["mx-reload"].postfix.saslPasswdPath, "utf8"),
        };
        let error: Error | undefined;
        await world.rotate().catch((e) => (error = e));
        assert.ok(error, "the rotation failed");
        assert.match(error!.message, /setSecret: 2 of 3 servers did not take the new credential/);
        assert.match(error!.message, new RegExp(byName["mx-link"].serverId));
        assert.match(error!.message, new RegExp(byName["mx-reload"].serverId));
        assert.doesNotMatch(error!.message, new RegExp(byName["mx-ok"].serverId));
        assert.match(byName["mx-link"].agent.handled[0].result.stderr!, /is a symbolic link; refusing to replace it/);
        assert.match(byName["mx-reload"].agent.handled[0].result.stderr!, /restoring the previous credential file/);

        const stages = await world.stages();
        assert.ok(stages[currentBefore].includes("AWSCURRENT"), "AWSCURRENT unchanged");
        assert.strictEqual((await world.keyStatuses())[world.firstCredential.username], "Active", "the old key stays Active");
        assert.ok(fs.lstatSync(byName["mx-link"].postfix.saslPasswdPath).isSymbolicLink());
        assert.strictEqual(fs.readFileSync(byName["mx-link"].postfix.saslPasswdPath, "utf8"), filesBefore.link);
        assert.strictEqual(fs.readFileSync(byName["mx-reload"].postfix.saslPasswdPath, "utf8"), filesBefore.reload);
        for (const name of ["mx-link", "mx-reload"]) {
            const msg = await mailAndAwait(byName[name].postfix, endpoint, `after-failure-${name}`);
            assert.strictEqual(msg.username, world.firstCredential.username, `${name} still sends with its working key 1`);
        }
        const failure = world.logs.find((l) => l.startsWith("rotation step failed"));
        assert.ok(failure && failure.includes(byName["mx-link"].serverId), "the failure is logged naming the server");
    });
});
