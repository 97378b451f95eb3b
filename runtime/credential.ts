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

/**
 * Why `host` is not an SES SMTP endpoint of `sesRegion`, or undefined when it is one. Accepted (DNS names are
 * case-insensitive): the public endpoints `email-smtp[-fips].<sesRegion>.amazonaws.com` (`.amazonaws.com.cn` in
 * the China regions) and the names of an interface VPC endpoint for email-smtp,
 * `vpce-<id>-<suffix>[-<az>].email-smtp.<sesRegion>.vpce.amazonaws.com[.cn]`. Every rotation sends the new SMTP
 * password to this host, so anything else needs an explicit opt-in (`allowNonSesSmtpEndpoint`).
 */
export function sesSmtpEndpointProblem(host: string, sesRegion: string): string | undefined {
    const name = host.toLowerCase().replace(/\.$/, "");
    const m =
        /^email-smtp(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(name) ??
        /^vpce-[a-z0-9]+-[a-z0-9]+(?:-[a-z0-9-]+)?\.email-smtp\.([a-z0-9-]+)\.vpce\.amazonaws\.com(\.cn)?$/.exec(name);
    if (!m) return "is not an SES SMTP endpoint (email-smtp[-fips].<region>.amazonaws.com[.cn] or a VPC endpoint name vpce-<id>.email-smtp.<region>.vpce.amazonaws.com[.cn])";
    if (m[1] !== sesRegion) return `is the SES SMTP endpoint of ${m[1]}, not of the SES region ${sesRegion} the password is derived for`;
    if (Boolean(m[2]) !== sesRegion.startsWith("cn-")) return `must end in ${sesRegion.startsWith("cn-") ? "amazonaws.com.cn (China regions)" : "amazonaws.com (amazonaws.com.cn is for China regions only)"}`;
    return undefined;
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
