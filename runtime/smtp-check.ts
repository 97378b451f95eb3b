/**
 * Proves an SES SMTP credential by a real SMTP AUTH (no mail is sent): nodemailer's SMTP client
 * (`nodemailer/lib/smtp-connection`, the module its SMTP transport's `verify()` uses) over a fresh connection
 * per attempt, STARTTLS required on 587, implicit TLS on 465. Only that module is loaded, so the Lambda archive
 * ships only its files (see components/rotation-lambda.ts).
 *
 * A new IAM key takes seconds to minutes to propagate to SES, so "535 authentication rejected" (and
 * "454 temporary authentication failure") are retried with exponential backoff within a time budget. Every
 * other failure (DNS, refused connection, TLS, timeout, protocol) is reported at once, naming host:port and the
 * failure class. The password never appears in an error or a log line.
 *
 * This file is closure-serialized into the rotation Lambda: it uses `import x = require()` and no `@pulumi` import.
 */
import smtpConnection = require("nodemailer/lib/smtp-connection");
import type { SmtpCredentialValue } from "./credential";

/** Options of {@link createSmtpCheck}; every field is optional and the defaults suit real SES. */
export interface SmtpCheckOptions {
    /** SMTP host; default: the credential's `endpoint` */
    host?: string;
    /** SMTP port; default: the credential's `port` */
    port?: number;
    /** default: "implicit" on port 465, else "starttls" (required: a server without STARTTLS fails the check) */
    tlsMode?: "starttls" | "implicit";
    /** extra CA certificate(s) to trust (PEM), e.g. a test endpoint's CA */
    ca?: string | Buffer;
    /** verify the server certificate (default true; never turn off against SES) */
    rejectUnauthorized?: boolean;
    /** total time the check may spend retrying rejected logins, ms (default 180000: IAM propagation) */
    budgetMs?: number;
    /** first backoff delay after a rejected login, ms (default 2000) */
    initialDelayMs?: number;
    /** backoff delay cap, ms (default 30000) */
    maxDelayMs?: number;
    /** per-attempt connection/greeting timeout, ms (default 15000) */
    connectTimeoutMs?: number;
    sleep?: (ms: number) => Promise<void>;
    /** clock for the budget, ms (default Date.now); tests pair it with `sleep` */
    now?: () => number;
    log?: (msg: string, fields?: object) => void;
}

/** Per-call options of the function {@link createSmtpCheck} returns. */
export interface SmtpCheckCall {
    /**
     * where this call's attempt and retry lines go (default: the `log` given to createSmtpCheck); the rotation
     * handler passes its per-invocation redacting logger, so the lines reach the Lambda's log
     */
    log?: (msg: string, fields?: object) => void;
}

/** Outcome of a successful check. */
export interface SmtpCheckResult {
    /** SMTP connections made, including the successful one */
    attempts: number;
}

/** What went wrong in one attempt; "auth-rejected" and "auth-temporary" are the retried classes. */
export type SmtpFailureClass = "auth-rejected" | "auth-temporary" | "auth-other" | "dns" | "connection-refused" | "timeout" | "tls" | "connection" | "protocol";

/** Raised when the check fails; carries the failure class and the attempt count. Never the password. */
export class SmtpCheckError extends Error {
    constructor(message: string, readonly failureClass: SmtpFailureClass, readonly attempts: number, readonly responseCode?: number) {
        super(message);
        this.name = "SmtpCheckError";
    }
}

const TLS_ERROR_CODES = /^(CERT_|DEPTH_ZERO|SELF_SIGNED|UNABLE_TO_|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH)/;

/** Classifies a nodemailer error into the failure classes above. */
export function classifySmtpError(err: any): SmtpFailureClass {
    const code: string = String(err?.code ?? "");
    const original: string = String(err?.originalCode ?? err?.cause?.code ?? "");
    const responseCode: number | undefined = typeof err?.responseCode === "number" ? err.responseCode : undefined;
    if (code === "EAUTH") {
        if (responseCode === 535) return "auth-rejected";
        if (responseCode === 454) return "auth-temporary";
        return "auth-other";
    }
    if (code === "EDNS" || original === "ENOTFOUND" || original === "EAI_AGAIN") return "dns";
    if (original === "ECONNREFUSED" || code === "ECONNREFUSED") return "connection-refused";
    if (code === "ETIMEDOUT" || original === "ETIMEDOUT") return "timeout";
    if (code === "ETLS" || TLS_ERROR_CODES.test(original) || TLS_ERROR_CODES.test(code) || /certificate|ssl|tls/i.test(String(err?.message))) return "tls";
    if (code === "EPROTOCOL") return "protocol";
    return "connection";
}

function requireText(value: unknown, name: string): string {
    if (typeof value !== "string" || value.trim() === "") throw new Error(`SMTP check: ${name} must be a non-empty string`);
    return value;
}

/** Removes the password (and the SASL PLAIN blob that would contain it) from a text. */
function scrub(text: string, cred: SmtpCredentialValue): string {
    let out = text;
    const secrets = [cred.password, Buffer.from(`\u0000${cred.username}\u0000${cred.password}`).toString("base64"), Buffer.from(cred.password).toString("base64")];
    for (const s of secrets) if (s) out = out.split(s).join("[redacted]");
    return out;
}

/**
 * One fresh SMTP connection: connect (TLS as configured), AUTH, QUIT. Resolves once the login is accepted;
 * rejects with nodemailer's error (its `code`/`responseCode` feed {@link classifySmtpError}). What
 * nodemailer's `transport.verify()` does with `forceAuth`, without loading the rest of nodemailer.
 */
function authenticateOnce(options: smtpConnection.SMTPConnectionOptions, user: string, pass: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
        const connection = new smtpConnection.default(options); // the CommonJS module is the class; `default` too
        let finished = false;
        const finish = (err?: unknown) => {
            if (finished) return;
            finished = true;
            if (err) {
                connection.close();
                reject(err);
            } else {
                connection.quit();
                resolve();
            }
        };
        connection.on("error", finish); // `on`, not `once`: a late second error must not go unhandled
        connection.once("end", () => finish(new Error("Connection closed")));
        connection.connect((err) => {
            if (err) return finish(err);
            connection.login({ credentials: { user, pass } }, (loginErr) => finish(loginErr ?? undefined));
        });
    });
}

/**
 * Builds the SMTP AUTH check used by auto mode's testSecret (and the manual-mode verification).
 * The returned function resolves with the attempt count once a login succeeds, or rejects with an
 * {@link SmtpCheckError} naming host:port, the failure class and the attempts made.
 */
export function createSmtpCheck(opts: SmtpCheckOptions = {}): (cred: SmtpCredentialValue, call?: SmtpCheckCall) => Promise<SmtpCheckResult> {
    const budgetMs = opts.budgetMs ?? 180_000;
    const initialDelayMs = opts.initialDelayMs ?? 2_000;
    const maxDelayMs = opts.maxDelayMs ?? 30_000;
    const connectTimeoutMs = opts.connectTimeoutMs ?? 15_000;
    for (const [name, v] of Object.entries({ budgetMs, initialDelayMs, maxDelayMs, connectTimeoutMs })) {
        if (typeof v !== "number" || !Number.isFinite(v) || v < 0) throw new Error(`createSmtpCheck: ${name} must be a non-negative number, got ${JSON.stringify(v)}`);
    }
    if (opts.tlsMode !== undefined && opts.tlsMode !== "starttls" && opts.tlsMode !== "implicit") {
        throw new Error(`createSmtpCheck: tlsMode must be "starttls" or "implicit", got ${JSON.stringify(opts.tlsMode)}`);
    }
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const defaultLog = opts.log ?? (() => undefined);
    const now = opts.now ?? Date.now;

    return async (cred: SmtpCredentialValue, call: SmtpCheckCall = {}): Promise<SmtpCheckResult> => {
        const log = call.log ?? defaultLog;
        if (!cred || typeof cred !== "object") throw new Error("SMTP check: credential must be an object");
        const username = requireText(cred.username, "credential.username");
        const password = requireText(cred.password, "credential.password");
        const host = requireText(opts.host ?? cred.endpoint, opts.host !== undefined ? "host" : "credential.endpoint");
        const port = opts.port ?? cred.port;
        if (!Number.isInteger(port) || port < 1 || port > 65535) {
            throw new Error(`SMTP check: ${opts.port !== undefined ? "port" : "credential.port"} must be an integer 1-65535, got ${JSON.stringify(port)}`);
        }
        const tlsMode = opts.tlsMode ?? (port === 465 ? "implicit" : "starttls");
        const where = `${host}:${port} (${tlsMode === "implicit" ? "implicit TLS" : "STARTTLS"})`;

        const startedAt = now();
        let delay = initialDelayMs;
        for (let attempt = 1; ; attempt++) {
            const connectionOptions: smtpConnection.SMTPConnectionOptions = {
                host,
                port,
                secure: tlsMode === "implicit",
                requireTLS: tlsMode === "starttls",
                connectionTimeout: connectTimeoutMs,
                greetingTimeout: connectTimeoutMs,
                socketTimeout: connectTimeoutMs * 2,
                logger: false,
                debug: false,
                tls: {
                    ...(opts.ca !== undefined ? { ca: opts.ca } : {}),
                    rejectUnauthorized: opts.rejectUnauthorized ?? true,
                    minVersion: "TLSv1.2",
                },
            };
            try {
                await authenticateOnce(connectionOptions, username, password);
                log("SMTP AUTH accepted", { username, host, port, attempt });
                return { attempts: attempt };
            } catch (err: any) {
                const failureClass = classifySmtpError(err);
                const detail = scrub(String(err?.message ?? err), cred);
                const responseCode = typeof err?.responseCode === "number" ? err.responseCode : undefined;
                const spentMs = now() - startedAt;
                const retryable = failureClass === "auth-rejected" || failureClass === "auth-temporary";
                if (retryable && spentMs + delay <= budgetMs) {
                    log("SMTP AUTH not accepted yet, retrying (IAM propagation)", { username, host, port, attempt, responseCode, delayMs: delay });
                    await sleep(delay);
                    delay = Math.min(delay * 2, maxDelayMs);
                    continue;
                }
                const why = retryable ? `still refused after ${attempt} attempt(s) over ${Math.round((now() - startedAt) / 1000)}s (budget ${Math.round(budgetMs / 1000)}s)` : `after ${attempt} attempt(s)`;
                throw new SmtpCheckError(`SMTP check of ${username} at ${where} failed: ${failureClass} ${why}: ${detail}`, failureClass, attempt, responseCode);
            }
        }
    };
}
