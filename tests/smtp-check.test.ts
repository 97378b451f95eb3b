import * as assert from "assert";
import { SMTPServer } from "smtp-server";
import { AddressInfo } from "net";
import { IAMClient, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { SmtpCredentialValue } from "../runtime/credential";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { createSmtpCheck, SmtpCheckError } from "../runtime/smtp-check";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { scannedLogger } from "./support/leak-scanner";
import { freePort } from "../sandbox/moto";
import { createUserWithKey, SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";

const REGION = "eu-west-1";

describe("SMTP AUTH check (nodemailer against the local SES-compatible endpoint)", () => {
    let ep: SesEndpoint;
    let iam: IAMClient;
    let key: { id: string; secret: string };
    let sleeps: number[];
    let logLines: string[];
    /** a clock that moves only when the check sleeps: the budget arithmetic becomes exact */
    let clockMs: number;
    const now = () => clockMs;
    const sleep = async (ms: number) => {
        sleeps.push(ms);
        clockMs += ms;
    };
    const scanned = scannedLogger("smtp-check");
    const log = (msg: string, fields?: object) => {
        logLines.push(`${msg} ${JSON.stringify(fields ?? {})}`);
        scanned(msg, fields);
    };
    const cred = (over: Partial<SmtpCredentialValue> = {}): SmtpCredentialValue => ({
        username: key.id,
        password: deriveSmtpPassword(key.secret, REGION),
        endpoint: ep.host,
        port: ep.port,
        region: REGION,
        ...over,
    });
    /** asserts the rejection is an SmtpCheckError of this class and that no password leaked into it or the log */
    const failsWith = (failureClass: string, attempts: number) => (e: any) => {
        assert.ok(e instanceof SmtpCheckError, String(e));
        assert.strictEqual(e.failureClass, failureClass, e.message);
        assert.strictEqual(e.attempts, attempts, e.message);
        const password = deriveSmtpPassword(key.secret, REGION);
        for (const text of [e.message, ...logLines]) assert.ok(!text.includes(password) && !text.includes(key.secret), "secret leaked");
        return true;
    };

    before(async () => {
        ep = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: REGION });
    });
    after(async () => ep.stop());
    beforeEach(async () => {
        await resetAws();
        ep.authLog.length = 0;
        sleeps = [];
        logLines = [];
        clockMs = 0;
        iam = new IAMClient(clientConfig());
        key = await createUserWithKey(iam, "smtp");
    });

    it("succeeds on the first attempt over STARTTLS with an active key, without sending mail", async () => {
        const check = createSmtpCheck({ ca: ep.ca, sleep, log });
        assert.deepStrictEqual(await check(cred()), { attempts: 1 });
        assert.deepStrictEqual(ep.authLog.map((a) => [a.username, a.ok]), [[key.id, true]]);
        assert.strictEqual(ep.messages.length, 0);
        assert.deepStrictEqual(sleeps, []);
    });

    it("uses implicit TLS on 465-style ports (tlsMode implicit), host/port overriding the credential", async () => {
        const check = createSmtpCheck({ host: ep.host, port: ep.implicitTlsPort, tlsMode: "implicit", ca: ep.ca, sleep });
        assert.deepStrictEqual(await check(cred({ endpoint: "email-smtp.eu-west-1.amazonaws.com", port: 465 })), { attempts: 1 });
        assert.strictEqual(ep.authLog.length, 1);
    });

    it("retries 535 with exponential backoff and gives up within the budget (wrong password)", async () => {
        const check = createSmtpCheck({ ca: ep.ca, sleep, now, log, budgetMs: 10_000, initialDelayMs: 1_000, maxDelayMs: 30_000 });
        // a password derived for another region is a well-formed but wrong SES password
        await assert.rejects(check(cred({ password: deriveSmtpPassword(key.secret, "us-east-1") })), failsWith("auth-rejected", 4));
        assert.deepStrictEqual(sleeps, [1_000, 2_000, 4_000], "next delay (8 s) would overrun the 10 s budget");
        assert.strictEqual(ep.authLog.filter((a) => !a.ok).length, 4, "a fresh connection and AUTH per attempt");
    });

    it("fails a deactivated key with 535 after its retries, and the delay is capped by maxDelayMs", async () => {
        await iam.send(new UpdateAccessKeyCommand({ UserName: "smtp", AccessKeyId: key.id, Status: "Inactive" }));
        const check = createSmtpCheck({ ca: ep.ca, sleep, now, log, budgetMs: 9_000, initialDelayMs: 1_000, maxDelayMs: 2_000 });
        await assert.rejects(check(cred()), (e: any) => failsWith("auth-rejected", 6)(e) && e.responseCode === 535 && e.message.includes(key.id));
        assert.deepStrictEqual(sleeps, [1_000, 2_000, 2_000, 2_000, 2_000]);
        assert.ok(ep.authLog.every((a) => a.reason === "inactive-key"));
    });

    it("succeeds once the key becomes active mid-way (IAM propagation), counting the attempts", async () => {
        await iam.send(new UpdateAccessKeyCommand({ UserName: "smtp", AccessKeyId: key.id, Status: "Inactive" }));
        const activateDuringSecondWait = async (ms: number) => {
            sleeps.push(ms);
            if (sleeps.length === 2) await iam.send(new UpdateAccessKeyCommand({ UserName: "smtp", AccessKeyId: key.id, Status: "Active" }));
        };
        const check = createSmtpCheck({ ca: ep.ca, sleep: activateDuringSecondWait, log });
        assert.deepStrictEqual(await check(cred()), { attempts: 3 });
        assert.deepStrictEqual(sleeps, [2_000, 4_000], "default initial delay 2 s, doubling");
        assert.deepStrictEqual(ep.authLog.map((a) => a.ok), [false, false, true]);
    });

    it("reports a refused connection at once, naming host:port and the failure class", async () => {
        const port = await freePort();
        const check = createSmtpCheck({ ca: ep.ca, sleep, log });
        await assert.rejects(check(cred({ port })), (e: any) => failsWith("connection-refused", 1)(e) && e.message.includes(`127.0.0.1:${port}`));
        assert.deepStrictEqual(sleeps, []);
    });

    it("reports an untrusted certificate at once as a TLS failure, before any credential is sent", async () => {
        const check = createSmtpCheck({ sleep, log });
        await assert.rejects(check(cred()), failsWith("tls", 1));
        assert.deepStrictEqual(sleeps, []);
        assert.strictEqual(ep.authLog.length, 0);
    });

    it("reports a DNS failure at once", async () => {
        const check = createSmtpCheck({ sleep, log, connectTimeoutMs: 5_000 });
        await assert.rejects(check(cred({ endpoint: "email-smtp.invalid" })), (e: any) => failsWith("dns", 1)(e) && e.message.includes("email-smtp.invalid:"));
    });

    it("requires STARTTLS: a server that does not offer it never receives the credential", async () => {
        let authSeen = 0;
        const plain = new SMTPServer({ disabledCommands: ["STARTTLS"], allowInsecureAuth: true, logger: false, onAuth: (_a: unknown, _s: unknown, cb: (err: Error | null, res?: { user: string }) => void) => { authSeen++; cb(null, { user: "x" }); } } as any);
        await new Promise<void>((r) => plain.listen(0, "127.0.0.1", () => r()));
        const port = ((plain as any).server.address() as AddressInfo).port;
        try {
            const check = createSmtpCheck({ sleep, log });
            await assert.rejects(check(cred({ port })), failsWith("tls", 1));
            assert.strictEqual(authSeen, 0);
        } finally {
            await new Promise<void>((r) => plain.close(() => r()));
        }
    });

    it("rejects bad input naming it, without echoing the password", async () => {
        const check = createSmtpCheck({ sleep });
        await assert.rejects(check(cred({ port: 70000 })), /credential\.port must be an integer/);
        await assert.rejects(check(cred({ endpoint: "" })), /credential\.endpoint must be a non-empty string/);
        await assert.rejects(check(cred({ password: "" })), /credential\.password must be a non-empty string/);
        assert.throws(() => createSmtpCheck({ budgetMs: -1 }), /budgetMs must be a non-negative number/);
        assert.throws(() => createSmtpCheck({ tlsMode: "ssl" as any }), /tlsMode must be "starttls" or "implicit"/);
    });
});
