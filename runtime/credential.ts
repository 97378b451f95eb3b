/** The credential value servers need, and nothing more. Stored as JSON in Secrets Manager or Parameter Store. */
import { isAwsRegion } from "./smtp-password";

export interface SmtpCredentialValue {
    /** the SMTP user name: the IAM access key id (AKIA...) */
    username: string;
    /** the SES SMTP password derived from the access key's secret */
    password: string;
    /** SMTP host, e.g. email-smtp.eu-west-1.amazonaws.com */
    endpoint: string;
    /** 587 (STARTTLS) or 465 (implicit TLS) */
    port: number;
    /** the SES region the password was derived for */
    region: string;
}

export function defaultSmtpEndpoint(region: string): string {
    // SES SMTP endpoints in the China partition end in amazonaws.com.cn.
    return region.startsWith("cn-") ? `email-smtp.${region}.amazonaws.com.cn` : `email-smtp.${region}.amazonaws.com`;
}

export function serializeCredential(value: SmtpCredentialValue): string {
    return JSON.stringify({ username: value.username, password: value.password, endpoint: value.endpoint, port: value.port, region: value.region });
}

/** Parses a stored value; returns undefined when it is not a credential of ours (e.g. a placeholder). */
export function parseCredential(text: string | undefined): SmtpCredentialValue | undefined {
    if (!text) return undefined;
    let v: any;
    try {
        v = JSON.parse(text);
    } catch {
        return undefined;
    }
    if (!v || typeof v !== "object") return undefined;
    if (typeof v.username !== "string" || typeof v.password !== "string" || typeof v.endpoint !== "string") return undefined;
    if (typeof v.port !== "number" || !isAwsRegion(v.region)) return undefined;
    return { username: v.username, password: v.password, endpoint: v.endpoint, port: v.port, region: v.region };
}
