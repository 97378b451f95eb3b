/**
 * The Postfix document's guards and check mode, on a real Postfix (Debian's package; sandbox/postfix.ts) through
 * the fleet agent (which plays the SSM Agent and reports the script's stdout to the proxy, as SSM lists it):
 *  - it installs the SES credential only for a relay host that is the SES SMTP endpoint of the credential's region
 *    (or the endpoint the credential names: here the local SES-compatible endpoint) and only with TLS enforced;
 *    otherwise it refuses, naming the problem, and nothing changes (issue 12 item 5);
 *  - Mode=check reports each check and changes nothing: sasl_passwd, its map and main.cf stay byte-identical
 *    and no file appears or disappears (issue 14 item 3);
 *  - through the real fan-out (runtime/fleet.ts): a Postfix node listed as IIS is reported as skipped, not
 *    updated (issue 12 item 6), and checkFleet returns the real script's checks.
 * Under CI=true a missing Postfix fails the run.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateDocumentCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DocumentMode, documentParameters, iisDocumentContent, postfixDocumentContent } from "../documents";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential, SmtpCredentialValue } from "../runtime/credential";
import { checkFleet, updateFleet } from "../runtime/fleet";
import { parseServerReport } from "../runtime/server-report";
import { createFleetTable } from "../sandbox/ec2-fleet";
import { FleetAgent } from "../sandbox/fleet-agent";
import { PostfixInstance, requirePostfix, run, startPostfix } from "../sandbox/postfix";
import { SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { leakScanner } from "./support/leak-scanner";

const SES_REGION = "eu-west-1";
const POSTFIX_DOC = "ses-postfix-guard";
const IIS_DOC = "ses-iis-guard";
const instanceId = "mi-0e2e00000000000a1";

describe("Postfix document guards and check mode on real Postfix", function () {
    this.timeout(300000);
    let endpoint: SesEndpoint;
    let postfix: PostfixInstance;
    let agent: FleetAgent;
    let secretArn = "";
    let version = "";
    let cred: SmtpCredentialValue;
    const ssm = () => new SSMClient(clientConfig());
    let goodRelay = "";

    async function send(mode: DocumentMode, over: { version?: string; document?: string } = {}) {
        const out = await ssm().send(
            new SendCommandCommand({
                DocumentName: over.document ?? POSTFIX_DOC,
                InstanceIds: [instanceId],
                Parameters: documentParameters({ source: "SecretsManager", id: secretArn, version: over.version ?? version, region: "us-east-1" }, mode),
            }),
        );
        return agent.waitFor(out.Command!.CommandId!);
    }
    /** Every file of the config dir with its bytes: what "nothing changed" compares. */
    function snapshot(): Record<string, string> {
        const out: Record<string, string> = {};
        for (const f of fs.readdirSync(postfix.configDir).sort()) {
            const p = path.join(postfix.configDir, f);
            if (fs.statSync(p).isFile()) out[f] = fs.readFileSync(p).toString("base64");
        }
        return out;
    }
    const setMain = (settings: Record<string, string>) => run("postconf", ["-c", postfix.configDir, "-e", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);

    before(async function () {
        requirePostfix(this);
        await resetAws();
        endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
        const iam = new IAMClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: "ses-smtp-guard" }));
        cred = smtpCredentialForKey(await createAccessKeyForSmtp(iam, "ses-smtp-guard", SES_REGION), { sesRegion: SES_REGION, smtpEndpoint: endpoint.host });
        const secret = await new SecretsManagerClient(clientConfig()).send(new CreateSecretCommand({ Name: "ses-smtp-guard", SecretString: serializeCredential(cred) }));
        [secretArn, version] = [secret.ARN!, secret.VersionId!];
        for (const [name, doc] of [[POSTFIX_DOC, postfixDocumentContent()], [IIS_DOC, iisDocumentContent()]] as const) {
            await ssm().send(new CreateDocumentCommand({ Name: name, DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(doc) }));
        }
        postfix = await startPostfix({ name: "mx-guard", relay: { host: endpoint.host, port: endpoint.port }, caPem: endpoint.ca });
        leakScanner.watchDirectory(postfix.root, ["sasl_passwd", "sasl_passwd.db"]);
        await postfix.installCredential(cred.username, cred.password);
        goodRelay = postfix.relayhost();
        agent = new FleetAgent({ instanceId, proxy: testEnv().proxy, clientConfig: clientConfig(), env: { SES_ROTATOR_POSTFIX_CONFIG_DIR: postfix.configDir } });
        agent.start();
    });

    afterEach(async () => {
        if (postfix) await setMain({ relayhost: goodRelay, smtp_tls_security_level: "encrypt", smtp_tls_wrappermode: "no" });
    });

    after(async () => {
        await agent?.stop();
        await postfix?.destroy();
        await endpoint?.stop();
    });

    const refusals: Array<[string, Record<string, string>, RegExp]> = [
        ["a corporate relay host (the review's case: [mailhub.corp.example]:25, TLS may)", { relayhost: "[mailhub.corp.example]:25", smtp_tls_security_level: "may" }, /tls: TLS is not enforced/],
        ["a relay host that is not SES, TLS enforced", { relayhost: "[mailhub.corp.example]:587" }, /relayhost: relay host 'mailhub\.corp\.example' is not the SES SMTP endpoint of the credential's region eu-west-1/],
        ["the SES endpoint of another region", { relayhost: "[email-smtp.us-east-1.amazonaws.com]:587" }, /relay host 'email-smtp\.us-east-1\.amazonaws\.com' is not the SES SMTP endpoint/],
        ["the right relay host with TLS optional (smtp_tls_security_level = may)", { smtp_tls_security_level: "may" }, /TLS is not enforced for the relay host: smtp_tls_security_level is 'may'/],
        ["implicit TLS mode on a port that is not 465", { smtp_tls_security_level: "none", smtp_tls_wrappermode: "yes" }, /TLS is not enforced/],
    ];
    for (const [what, settings, error] of refusals) {
        it(`update refuses ${what}: exit non-zero, clear message, nothing changed`, async () => {
            await setMain(settings);
            const before = snapshot();
            const result = await send("update");
            assert.strictEqual(result.status, "Failed", result.stdout);
            assert.match(result.stderr!, error);
            assert.strictEqual(parseServerReport(result.stdout).result, undefined, "no result marker");
            assert.deepStrictEqual(snapshot(), before, "sasl_passwd, its map, main.cf: byte-identical, no file added");
        });
    }

    it("update installs for the SES endpoint of the credential's region, and for implicit TLS on 465 (smtp_tls_wrappermode = yes)", async () => {
        for (const settings of <Record<string, string>[]>[{ relayhost: `[email-smtp.${SES_REGION}.amazonaws.com]:587` }, { relayhost: `[${endpoint.host}]:465`, smtp_tls_security_level: "may", smtp_tls_wrappermode: "yes" }]) {
            await setMain(settings);
            const result = await send("update");
            assert.strictEqual(result.status, "Success", result.stderr);
            assert.strictEqual(parseServerReport(result.stdout).result, "updated");
            const relay = await postfix.postconf("relayhost");
            assert.strictEqual((await run("postmap", ["-c", postfix.configDir, "-q", relay, `hash:${postfix.saslPasswdPath}`])).trim(), `${cred.username}:${cred.password}`);
        }
    });

    it("check mode on a healthy server: every check ok, check-passed, and nothing on the server changes", async () => {
        const before = snapshot();
        const result = await send("check");
        assert.strictEqual(result.status, "Success", result.stderr);
        const report = parseServerReport(result.stdout);
        assert.strictEqual(report.result, "check-passed");
        assert.deepStrictEqual(report.checks.map((c) => `${c.name} ${c.ok}`), ["tools true", "tls true", "fetch true", "relayhost true", "map true", "sasl true", "map-writable true", "postmap true"]);
        assert.deepStrictEqual(snapshot(), before, "sasl_passwd, sasl_passwd.db and main.cf byte-identical; no lock or temp file");
        assert.ok(!result.stdout!.includes(cred.password), "no secret in the output");
    });

    it("check mode on a misconfigured server: names the relay host and TLS, check-failed, nothing changed", async () => {
        await setMain({ relayhost: "[mailhub.corp.example]:25", smtp_tls_security_level: "may" });
        const before = snapshot();
        const result = await send("check");
        assert.strictEqual(result.status, "Failed");
        const report = parseServerReport(result.stdout);
        assert.strictEqual(report.result, "check-failed");
        assert.deepStrictEqual(report.checks.filter((c) => !c.ok).map((c) => c.name), ["tls", "relayhost"]);
        assert.deepStrictEqual(snapshot(), before);
    });

    it("check mode when the credential version cannot be read: the fetch check fails", async () => {
        const result = await send("check", { version: "0badbad0-0000-4000-8000-000000000000" });
        const report = parseServerReport(result.stdout);
        assert.strictEqual(report.result, "check-failed");
        assert.match(report.checks.find((c) => c.name === "fetch")!.detail, /could not read secret/);
    });

    it("through the fan-out: a Postfix node listed as IIS is skipped by SSM and reported so, not counted as updated", async () => {
        const dynamodb = new DynamoDBClient(clientConfig());
        const deps = { ssm: ssm(), dynamodb, sleep: (ms: number) => new Promise<void>((r) => setTimeout(r, Math.min(ms, 200))) };
        const req = (tableName: string) => ({
            target: { kind: "table" as const, tableName },
            documents: { postfix: POSTFIX_DOC, iis: IIS_DOC },
            credential: { source: "SecretsManager" as const, id: secretArn, version, region: "us-east-1" },
            deadline: new Date(Date.now() + 120_000),
            pollIntervalMs: 200,
        });
        await createFleetTable(dynamodb, "guard-wrong", [{ serverId: instanceId, hostname: "mx-guard.e2e.test", software: "iis", ownerEmail: "ops@example.com" }]);
        const before = snapshot();
        const wrong = await updateFleet(deps, req("guard-wrong"));
        assert.deepStrictEqual(wrong.failed.map((f) => [f.serverId, f.status]), [[instanceId, "Skipped"]]);
        assert.match(wrong.failed[0].detail!, /software tag does not match the platform: SSM skipped the iis document's step on this node \(not Windows; its software in table guard-wrong says iis\)/);
        assert.deepStrictEqual(snapshot(), before, "the skipped step changed nothing");

        await createFleetTable(dynamodb, "guard-right", [{ serverId: instanceId, hostname: "mx-guard.e2e.test", software: "postfix", ownerEmail: "ops@example.com" }]);
        const checked = await checkFleet(deps, req("guard-right"));
        assert.strictEqual(checked.ok, true, JSON.stringify(checked.failed));
        assert.strictEqual(checked.servers[0].report!.result, "check-passed");
        const updated = await updateFleet(deps, req("guard-right"));
        assert.strictEqual(updated.ok, true, JSON.stringify(updated.failed));
    });
});
