import * as assert from "assert";
import nodemailer = require("nodemailer");
import { IAMClient, UpdateAccessKeyCommand, DeleteAccessKeyCommand } from "@aws-sdk/client-iam";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { createUserWithKey, SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";
import { smtpLogin } from "../sandbox/smtp-login";

const REGION = "eu-west-1";

/** One AUTH attempt: 235 on success, else the SMTP reply code of the failure. */
const login = async (...args: Parameters<typeof smtpLogin>): Promise<number> => (await smtpLogin(...args)).code;

describe("SES-compatible SMTP endpoint (emulation: smtp-server deciding logins from moto's IAM keys)", () => {
    let ep: SesEndpoint;
    let iam: IAMClient;
    let key: { id: string; secret: string };

    before(async () => {
        ep = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: REGION });
    });
    after(async () => ep.stop());
    beforeEach(async () => {
        await resetAws();
        ep.authLog.length = 0;
        ep.messages.length = 0;
        ep.onAuthenticated = undefined;
        iam = new IAMClient(clientConfig());
        key = await createUserWithKey(iam, "smtp");
    });

    it("accepts the SES SMTP password of an active key and records who logged in", async () => {
        assert.strictEqual(await login(ep, key.id, deriveSmtpPassword(key.secret, REGION)), 235);
        assert.deepStrictEqual(ep.authLog.map((a) => [a.username, a.ok]), [[key.id, true]]);
    });

    it("refuses a password derived for another region, a raw secret, an unknown key (535)", async () => {
        assert.strictEqual(await login(ep, key.id, deriveSmtpPassword(key.secret, "us-east-1")), 535);
        assert.strictEqual(await login(ep, key.id, key.secret), 535);
        assert.strictEqual(await login(ep, "AKIAUNKNOWNKEY000000", deriveSmtpPassword(key.secret, REGION)), 535);
        assert.deepStrictEqual(ep.authLog.map((a) => a.reason), ["wrong-password", "wrong-password", "unknown-key"]);
    });

    it("reads moto fresh at each AUTH: a deactivated, then deleted key fails; a reactivated one works again", async () => {
        const password = deriveSmtpPassword(key.secret, REGION);
        await iam.send(new UpdateAccessKeyCommand({ UserName: "smtp", AccessKeyId: key.id, Status: "Inactive" }));
        assert.strictEqual(await login(ep, key.id, password), 535);
        await iam.send(new UpdateAccessKeyCommand({ UserName: "smtp", AccessKeyId: key.id, Status: "Active" }));
        assert.strictEqual(await login(ep, key.id, password), 235);
        await iam.send(new DeleteAccessKeyCommand({ UserName: "smtp", AccessKeyId: key.id }));
        assert.strictEqual(await login(ep, key.id, password), 535);
        assert.deepStrictEqual(ep.authLog.map((a) => a.reason ?? "ok"), ["inactive-key", "ok", "unknown-key"]);
    });

    it("offers AUTH only after TLS (538 on a plaintext session), and only with a certificate the client can verify", async () => {
        const password = deriveSmtpPassword(key.secret, REGION);
        assert.strictEqual(await login(ep, key.id, password, { requireTLS: false, ignoreTLS: true }), 538);
        const noCa = nodemailer.createTransport({ host: ep.host, port: ep.port, requireTLS: true, forceAuth: true, auth: { user: key.id, pass: password } } as any);
        await assert.rejects(noCa.verify(), (e: any) => /certificate/i.test(e.message));
        noCa.close();
        assert.strictEqual(ep.authLog.length, 0, "no credentials reached the server without TLS");
    });

    it("serves implicit TLS on its second port", async () => {
        const password = deriveSmtpPassword(key.secret, REGION);
        assert.strictEqual(await login(ep, key.id, password, { port: ep.implicitTlsPort, secure: true, requireTLS: false }), 235);
    });

    it("accepts DATA after AUTH, records the message with the authenticated key, and calls the AUTH hook", async () => {
        const seen: string[] = [];
        ep.onAuthenticated = ({ username }) => {
            seen.push(username);
        };
        const transport = nodemailer.createTransport({ host: ep.host, port: ep.port, requireTLS: true, auth: { user: key.id, pass: deriveSmtpPassword(key.secret, REGION) }, tls: { ca: ep.ca } } as any);
        await transport.sendMail({ from: "relay@example.com", to: "ops@example.com", subject: "hello", text: "via the relay" });
        transport.close();
        assert.deepStrictEqual(seen, [key.id]);
        assert.strictEqual(ep.messages.length, 1);
        assert.strictEqual(ep.messages[0].username, key.id);
        assert.deepStrictEqual(ep.messages[0].to, ["ops@example.com"]);
        assert.match(ep.messages[0].data, /via the relay/);
    });
});
