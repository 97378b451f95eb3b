/**
 * One real SMTP AUTH (STARTTLS, then AUTH, no mail) against the local SES-compatible endpoint: how the test
 * checkers measure "this credential authenticates now" instead of re-deriving the password themselves.
 */
import nodemailer = require("nodemailer");
import type { SesEndpoint } from "./ses-endpoint";

export interface LoginOutcome {
    /** 235 on success, else the SMTP reply code of the failure (-1: no reply) */
    code: number;
    /** the endpoint's reason for a refusal ("unknown-key", "inactive-key", "wrong-password", a test veto ...) */
    reason?: string;
}

/**
 * Logs in as `user`/`pass`; the endpoint's auth log says why a refused login was refused. `transport` overrides
 * nodemailer's SMTP options (another port, implicit TLS, no STARTTLS ...).
 */
export async function smtpLogin(ep: SesEndpoint, user: string, pass: string, transport: Record<string, unknown> = {}): Promise<LoginOutcome> {
    const client = nodemailer.createTransport({ host: ep.host, port: ep.port, requireTLS: true, forceAuth: true, auth: { user, pass }, tls: { ca: ep.ca }, ...transport } as any);
    const logged = ep.authLog.length;
    try {
        await client.verify();
        return { code: 235 };
    } catch (e: any) {
        const entry = ep.authLog.slice(logged).find((x) => x.username === user && !x.ok);
        return { code: e.responseCode ?? -1, reason: entry?.reason ?? String(e.message ?? e).slice(0, 200) };
    } finally {
        client.close();
    }
}
