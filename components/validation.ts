/**
 * Pure validation of everything a user configures, shared by the components (args) and the program (stack
 * config). Each check throws an Error whose message starts with the label of the bad input, e.g.
 * `SmtpCredentialRotator "payments": args.sesRegion "eu-west-x" is not an AWS region (e.g. eu-west-1)` or
 * `stack config "ses-smtp-rotator:rotateAfterDays" must be an integer from 1 to 1000, got 0`.
 * No Pulumi import: these run at construction time, so errors surface at `pulumi preview`.
 */
import { sesSmtpEndpointProblem } from "../runtime/credential";
import { isAwsRegion } from "../runtime/smtp-password";

/** Turns an input key into the words an error message starts with. */
export type InputLabel = (key: string) => string;

/** Labels for component arguments: `SmtpCredentialRotator "payments": args.sesRegion`. */
export function argsLabel(component: string, name: string): InputLabel {
    return (key) => `${component} ${JSON.stringify(name)}: args.${key}`;
}

/** Labels for stack configuration: `stack config "ses-smtp-rotator:sesRegion"`. */
export function configLabel(namespace: string): InputLabel {
    return (key) => `stack config ${JSON.stringify(`${namespace}:${key}`)}`;
}

function show(value: unknown): string {
    return value === undefined ? "undefined" : JSON.stringify(value);
}

/** Throws the standard "input is wrong" error. */
export function invalid(label: InputLabel, key: string, message: string, value?: unknown): never {
    throw new Error(`${label(key)} ${message}${arguments.length > 3 ? `, got ${show(value)}` : ""}`);
}

export function requireString(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || value.length === 0) invalid(label, key, "must be a non-empty string", value);
    return value;
}

export function requireRegion(label: InputLabel, key: string, value: unknown): string {
    if (!isAwsRegion(value)) invalid(label, key, "is not an AWS region (e.g. eu-west-1)", value);
    return value;
}

/** Integer in [min, max]; `undefined` gives `fallback`. */
export function integerInRange(label: InputLabel, key: string, value: unknown, min: number, max: number, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
        invalid(label, key, `must be an integer from ${min} to ${max}`, value);
    }
    return value;
}

export function oneOf<T extends string | number>(label: InputLabel, key: string, value: unknown, allowed: readonly T[], fallback?: T): T {
    if ((value === undefined || value === null) && fallback !== undefined) return fallback;
    if (!allowed.includes(value as T)) invalid(label, key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}`, value);
    return value as T;
}

export function stringList(label: InputLabel, key: string, value: unknown): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) invalid(label, key, "must be a list of strings", value);
    return value.map((v, i) => requireString(label, `${key}[${i}]`, v));
}

// ---- formats ---------------------------------------------------------------------------------------

/** Pragmatic e-mail check (what SNS accepts): one @, no spaces, a dotted domain. */
export const EMAIL_PATTERN = /^[^\s@"<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;
/** A domain name (SES domain identity). */
export const DOMAIN_PATTERN = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;
/** IAM role name. */
export const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
/** DynamoDB table name. */
export const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;
/** EC2/SSM tag key: 1..128 characters of letters, digits, spaces and `_ . : / = + - @`, not starting with `aws:`. */
export const TAG_KEY_PATTERN = /^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
/** EC2/SSM tag value used as a selector: 1..256 characters of the same set. */
export const TAG_VALUE_PATTERN = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,256}$/u;
/** ARN prefix with partition, service, region (may be empty) and account (may be empty). */
const ARN_PATTERN = /^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-[a-z]|aws-eusc):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|):(.+)$/;

export interface ParsedArn {
    partition: string;
    service: string;
    region: string;
    account: string;
    resource: string;
}

export function parseArn(text: string): ParsedArn | undefined {
    const m = ARN_PATTERN.exec(text);
    return m ? { partition: m[1], service: m[2], region: m[3], account: m[4], resource: m[5] } : undefined;
}

export function requireEmail(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !EMAIL_PATTERN.test(value)) invalid(label, key, "is not an e-mail address", value);
    return value;
}

/** A customer managed KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<id>); aliases cannot scope IAM policies. */
export function requireKmsKeyArn(label: InputLabel, key: string, value: unknown): string {
    const arn = typeof value === "string" ? parseArn(value) : undefined;
    if (!arn || arn.service !== "kms" || !isAwsRegion(arn.region) || !arn.account || !/^key\/[A-Za-z0-9-]+$/.test(arn.resource)) {
        invalid(label, key, "must be a KMS key ARN (arn:<partition>:kms:<region>:<account>:key/<key-id>; not an alias)", value);
    }
    return value as string;
}

/**
 * An SES identity (domain, e-mail address, or an identity ARN) or, for `sesConfigurationSet`, a configuration
 * set name or ARN. Names are turned into ARNs later with the deployment's partition and account.
 */
export function requireSesIdentity(label: InputLabel, key: string, value: unknown): string {
    if (typeof value === "string" && value.startsWith("arn:")) {
        const arn = parseArn(value);
        if (!arn || arn.service !== "ses" || !isAwsRegion(arn.region) || !arn.account || !/^identity\/.+/.test(arn.resource)) {
            invalid(label, key, "must be an SES identity ARN (arn:<partition>:ses:<region>:<account>:identity/<domain-or-address>)", value);
        }
        return value;
    }
    if (typeof value !== "string" || !(DOMAIN_PATTERN.test(value) || EMAIL_PATTERN.test(value))) {
        invalid(label, key, "must be an SES identity: a domain, an e-mail address or an identity ARN", value);
    }
    return value;
}

export function requireSesConfigurationSet(label: InputLabel, key: string, value: unknown): string {
    if (typeof value === "string" && value.startsWith("arn:")) {
        const arn = parseArn(value);
        if (!arn || arn.service !== "ses" || !isAwsRegion(arn.region) || !arn.account || !/^configuration-set\/[A-Za-z0-9_-]{1,64}$/.test(arn.resource)) {
            invalid(label, key, "must be an SES configuration set name or ARN (arn:<partition>:ses:<region>:<account>:configuration-set/<name>)", value);
        }
        return value;
    }
    if (typeof value !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(value)) {
        invalid(label, key, "must be an SES configuration set name (letters, digits, _ and -, up to 64) or ARN", value);
    }
    return value;
}

/**
 * Secrets Manager rotation schedule: `rate(N days)` (1..1000), `rate(N hours)` (4..23, the service minimum is
 * 4 hours) or `cron(...)` with the six fields of an AWS cron expression.
 */
export function requireScheduleExpression(label: InputLabel, key: string, value: unknown): string {
    const text = typeof value === "string" ? value.trim() : "";
    const rate = /^rate\((\d+) (hours?|days?)\)$/.exec(text);
    if (rate) {
        const n = Number(rate[1]);
        const hours = rate[2].startsWith("hour");
        // Secrets Manager and EventBridge Scheduler: the singular unit for 1, the plural otherwise.
        if ((n === 1) !== !rate[2].endsWith("s")) {
            invalid(label, key, `must use the ${n === 1 ? "singular" : "plural"} unit: rate(${n} ${rate[2].replace(/s$/, "")}${n === 1 ? "" : "s"})`, value);
        }
        if ((hours && n >= 4 && n <= 23) || (!hours && n >= 1 && n <= 1000)) return text;
        invalid(label, key, "rate() must be 4..23 hours or 1..1000 days", value);
    }
    const cron = /^cron\((.+)\)$/.exec(text);
    // Six fields of digits, names (JAN, MON), and the cron specials * ? , / - # L W; nothing else.
    if (cron && cron[1].trim().split(/\s+/).length === 6 && cron[1].trim().split(/\s+/).every((f) => /^[0-9A-Za-z*?,/#-]+$/.test(f))) return text;
    return invalid(label, key, "must be rate(<n> days), rate(<n> hours) or cron(<6 fields>)", value);
}

/**
 * The rotation window against the schedule it opens on: it must not extend into the next window (`rate(N hours)`:
 * shorter than N hours) or into the next UTC day (`cron(...)` with one fixed start hour H: H + window <= 24).
 */
export function requireWindowFitsSchedule(label: InputLabel, key: string, window: string, scheduleExpression: string): void {
    const hours = Number(/^(\d+)h$/.exec(window)?.[1]);
    const rate = /^rate\((\d+) hours?\)$/.exec(scheduleExpression);
    if (rate && hours >= Number(rate[1])) {
        invalid(label, key, `must be shorter than the ${rate[1]}-hour interval of ${scheduleExpression} (the window must not extend into the next one)`, window);
    }
    const cronHour = /^cron\(\S+ (\d{1,2}) /.exec(scheduleExpression)?.[1];
    if (cronHour !== undefined && Number(cronHour) + hours > 24) {
        invalid(label, key, `starting at ${cronHour}:00 UTC (${scheduleExpression}) must end by midnight UTC: at most ${24 - Number(cronHour)}h`, window);
    }
}

/** The rotation window (Secrets Manager `Duration`): `<n>h`, 1..24 hours. */
export function requireRotationWindow(label: InputLabel, key: string, value: unknown): string {
    const m = typeof value === "string" ? /^(\d+)h$/.exec(value) : null;
    if (!m || Number(m[1]) < 1 || Number(m[1]) > 24) invalid(label, key, "must be a duration in hours from 1h to 24h (e.g. 4h)", value);
    return value as string;
}

export function requireTagKey(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !TAG_KEY_PATTERN.test(value)) {
        invalid(label, key, "must be a tag key: 1-128 letters, digits, spaces or _.:/=+-@, not starting with aws:", value);
    }
    return value;
}

export function requireTagValue(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !TAG_VALUE_PATTERN.test(value)) {
        invalid(label, key, "must be a tag value: 1-256 letters, digits, spaces or _.:/=+-@", value);
    }
    return value;
}

export function requireRoleName(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !ROLE_NAME_PATTERN.test(value)) invalid(label, key, "must be an IAM role name (1-64 of letters, digits, +=,.@_-)", value);
    return value;
}

export function requireTableName(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !TABLE_NAME_PATTERN.test(value)) invalid(label, key, "must be a DynamoDB table name (3-255 of letters, digits, _.-)", value);
    return value;
}

/** A hostname (SMTP endpoint override). */
export function requireHostname(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !DOMAIN_PATTERN.test(value)) invalid(label, key, "must be a host name (e.g. email-smtp.eu-west-1.amazonaws.com)", value);
    return value;
}

/**
 * The SMTP endpoint the new password is tested against at every rotation. By default only an SES SMTP endpoint
 * of `sesRegion` (public, FIPS or an email-smtp VPC endpoint name); with `allowAny` (the opt-in input named by
 * `allowKey`) any host name or IPv4 address.
 */
export function requireSmtpEndpoint(label: InputLabel, key: string, value: unknown, sesRegion: string, allowAny: boolean, allowKey: string): string {
    if (allowAny) {
        if (typeof value === "string" && (/^(\d{1,3}\.){3}\d{1,3}$/.test(value) || value === "localhost")) return value;
        return requireHostname(label, key, value);
    }
    const problem = typeof value === "string" ? sesSmtpEndpointProblem(value, sesRegion) : "must be a host name";
    if (problem) {
        invalid(label, key, `${problem}; every rotation sends the new SMTP password there. To use another host set ${label(allowKey)} to true`, value);
    }
    return value as string;
}

/** Short lowercase identifier used in tags and descriptions (business unit). */
export function requireIdentifier(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !/^[a-z][a-z0-9-]{0,39}$/.test(value)) {
        invalid(label, key, "must be 1-40 lowercase letters, digits or '-', starting with a letter", value);
    }
    return value;
}

/** A long-term IAM access key id (what SES SMTP user names are): `AKIA` + 12..124 uppercase letters or digits. */
export function requireAccessKeyId(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !/^AKIA[A-Z0-9]{12,124}$/.test(value)) invalid(label, key, "must be an IAM access key id (AKIA followed by 16 uppercase letters or digits)", value);
    return value;
}

/** The rotate-now trigger: 1-64 letters, digits or `. _ : -` (e.g. a date `2026-11-29` or `2026-11-29T10:00`). */
export function requireRotateNowTrigger(label: InputLabel, key: string, value: unknown): string {
    if (typeof value !== "string" || !/^[A-Za-z0-9._:-]{1,64}$/.test(value)) {
        invalid(label, key, "must be 1-64 letters, digits or . _ : - (e.g. today's date; change it to rotate now)", value);
    }
    return value;
}
