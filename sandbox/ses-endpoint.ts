/**
 * A local SES-compatible SMTP endpoint for tests (smtp-server, our own TLS certificate).
 *
 * It decides logins the way SES does, from real state: a login is accepted only when the user name is an
 * access key that is **Active in moto right now** (read fresh from `/moto-api/data.json` at each AUTH) and the
 * password equals the SES SMTP password of that key's secret for `region`, computed by an implementation that
 * shares no code with runtime/ (sandbox/ses-password-reference.ts: Python's hmac in a child process), so a broken
 * runtime derivation is refused here instead of agreeing with itself. So a deleted, deactivated or never-created
 * key really fails AUTH with 535. AUTH (PLAIN/LOGIN) is offered only after TLS: STARTTLS on `port`,
 * implicit TLS on `implicitTlsPort`. It is an emulation of SES's SMTP interface, not SES.
 */
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { SMTPServer, SMTPServerAuthentication, SMTPServerSession } from "smtp-server";
import { AddressInfo } from "net";
import { motoData } from "./moto";
import { verifySmtpPassword } from "./ses-password-reference";
import { testTls } from "./tls";

/** One AUTH attempt as the endpoint saw it (never the password). */
export interface AuthLogEntry {
    username: string;
    ok: boolean;
    at: Date;
    /** why a login was refused: "unknown-key" | "inactive-key" | "wrong-password" */
    reason?: string;
}

/** One message accepted after DATA. */
export interface ReceivedMessage {
    from: string;
    to: string[];
    /** the access key id the sender authenticated with */
    username: string;
    data: string;
}

export interface SesEndpointOptions {
    /** moto's base URL (the endpoint reads IAM keys straight from moto, not through the proxy) */
    motoUrl: string;
    /** the SES region passwords are derived for */
    region: string;
    /** called after each successful AUTH, before the 235 reply (e.g. to feed IAM "last used" through the proxy) */
    onAuthenticated?: (info: { username: string; at: Date }) => void | Promise<void>;
}

export interface SesEndpoint {
    host: "127.0.0.1";
    /** STARTTLS port (SES: 587) */
    port: number;
    /** implicit TLS port (SES: 465) */
    implicitTlsPort: number;
    /** PEM of the CA that signed the endpoint's certificate */
    ca: string;
    authLog: AuthLogEntry[];
    messages: ReceivedMessage[];
    /** replaceable hook, see SesEndpointOptions.onAuthenticated */
    onAuthenticated?: (info: { username: string; at: Date }) => void | Promise<void>;
    /** test hook: a reason to refuse this login with 535 before any check (e.g. IAM propagation not done yet) */
    refuseLogin?: (username: string) => string | undefined;
    stop(): Promise<void>;
}

interface MotoAccessKey {
    access_key_id: string;
    secret_access_key: string;
    status: string;
    user_name: string | null;
}

/** The key's status as IAM reports it now (straight from moto, not through the proxy), or undefined if gone. */
async function currentKeyStatus(motoUrl: string, userName: string, accessKeyId: string): Promise<string | undefined> {
    const res = await fetch(`${motoUrl}/`, {
        method: "POST",
        headers: {
            "content-type": "application/x-www-form-urlencoded",
            authorization: "AWS4-HMAC-SHA256 Credential=AKIASESENDPOINT/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=x",
        },
        body: new URLSearchParams({ Action: "ListAccessKeys", Version: "2010-05-08", UserName: userName }).toString(),
    });
    const xml = await res.text();
    if (!res.ok) {
        if (/NoSuchEntity/.test(xml)) return undefined;
        throw new Error(`moto ListAccessKeys failed: ${res.status}`);
    }
    for (const member of xml.match(/<member>[\s\S]*?<\/member>/g) ?? []) {
        if (member.includes(`<AccessKeyId>${accessKeyId}</AccessKeyId>`)) return /<Status>(\w+)<\/Status>/.exec(member)?.[1];
    }
    return undefined;
}

function authError(message: string): Error {
    return Object.assign(new Error(message), { responseCode: 535 });
}

/**
 * Creates IAM user `userName` with one access key, straight through IAM (not through the code under test):
 * a login the endpoint accepts with the SES SMTP password of `secret` for the endpoint's region.
 */
export async function createUserWithKey(iam: IAMClient, userName: string): Promise<{ id: string; secret: string }> {
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const k = (await iam.send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
    return { id: k.AccessKeyId!, secret: k.SecretAccessKey! };
}

/** Starts the endpoint on two free loopback ports. */
export async function startSesEndpoint(opts: SesEndpointOptions): Promise<SesEndpoint> {
    const tls = testTls();
    const endpoint: SesEndpoint = {
        host: "127.0.0.1",
        port: 0,
        implicitTlsPort: 0,
        ca: tls.ca,
        authLog: [],
        messages: [],
        onAuthenticated: opts.onAuthenticated,
        stop: async () => undefined,
    };

    const checkLogin = async (username: string, password: string): Promise<string | undefined> => {
        const veto = endpoint.refuseLogin?.(username);
        if (veto) return veto;
        // data.json lists every key moto ever created (deleted ones too) and is where the secret is;
        // IAM ListAccessKeys on moto says whether the key still exists and its current status.
        const data = await motoData(opts.motoUrl);
        const keys: MotoAccessKey[] = data?.iam?.AccessKey ?? [];
        const key = keys.find((k) => k.access_key_id === username);
        if (!key || !key.user_name) return "unknown-key";
        const status = await currentKeyStatus(opts.motoUrl, key.user_name, username);
        if (!status) return "unknown-key";
        if (status !== "Active") return "inactive-key";
        return (await verifySmtpPassword(key.secret_access_key, opts.region, password)) ? undefined : "wrong-password";
    };

    const onAuth = (auth: SMTPServerAuthentication, _session: SMTPServerSession, callback: (err: Error | null | undefined, response?: { user: string }) => void): void => {
        const username = auth.username ?? "";
        const at = new Date();
        checkLogin(username, auth.password ?? "")
            .then(async (reason) => {
                endpoint.authLog.push({ username, ok: !reason, at, ...(reason ? { reason } : {}) });
                if (reason) return callback(authError("Authentication Credentials Invalid"));
                if (endpoint.onAuthenticated) await endpoint.onAuthenticated({ username, at });
                callback(null, { user: username });
            })
            .catch((e) => callback(Object.assign(new Error(`endpoint error: ${String(e)}`), { responseCode: 454 })));
    };

    const onData = (stream: NodeJS.ReadableStream, session: SMTPServerSession, callback: (err?: Error | null) => void): void => {
        const chunks: Buffer[] = [];
        stream.on("data", (c: Buffer) => chunks.push(c));
        stream.on("end", () => {
            endpoint.messages.push({
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
                to: session.envelope.rcptTo.map((r) => r.address),
                username: String(session.user ?? ""),
                data: Buffer.concat(chunks).toString("utf8"),
            });
            callback();
        });
    };

    const common = {
        key: tls.key,
        cert: tls.cert,
        authMethods: ["PLAIN", "LOGIN"],
        allowInsecureAuth: false,
        authOptional: false,
        logger: false,
        disableReverseLookup: true,
        onAuth,
        onData,
    };
    const startTlsServer = new SMTPServer({ ...common, secure: false, name: "email-smtp.local" } as any);
    const implicitServer = new SMTPServer({ ...common, secure: true, name: "email-smtp.local" } as any);
    const listen = (server: SMTPServer): Promise<number> =>
        new Promise((resolve, reject) => {
            server.once("error", reject);
            server.listen(0, "127.0.0.1", () => resolve(((server as any).server.address() as AddressInfo).port));
        });
    // Connection-level errors (a client dropping mid-handshake) must not crash the test run.
    startTlsServer.on("error", () => undefined);
    implicitServer.on("error", () => undefined);
    endpoint.port = await listen(startTlsServer);
    endpoint.implicitTlsPort = await listen(implicitServer);
    endpoint.stop = async () => {
        await Promise.all([startTlsServer, implicitServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
    };
    return endpoint;
}
