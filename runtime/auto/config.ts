/**
 * Configuration of the auto-mode rotation Lambda, read from its environment variables (set by
 * SmtpCredentialRotator). Every error names the environment variable at fault.
 */
import type { FleetTarget } from "../fleet-target";
import { IAM_USER_NAME_PATTERN } from "../access-keys";
import { sesSmtpEndpointProblem } from "../credential";
import { isAwsRegion } from "../smtp-password";
import type { RetirementPolicy } from "../retirement";

/** What the rotation handler needs besides its SDK clients. */
export interface RotationConfig {
    /** IAM user whose access keys are the SMTP credentials (IAM_USER_NAME) */
    iamUserName: string;
    /** SES region the SMTP password is derived for (SES_REGION); may differ from the Lambda's region */
    sesRegion: string;
    /**
     * SMTP host (SMTP_ENDPOINT); default email-smtp.<sesRegion>.amazonaws.com. Must be an SES SMTP endpoint of
     * SES_REGION (see sesSmtpEndpointProblem) unless ALLOW_NON_SES_SMTP_ENDPOINT is "true".
     */
    smtpEndpoint?: string;
    /** 587 = STARTTLS (default), 465 = implicit TLS (SMTP_PORT) */
    smtpPort: 587 | 465;
    /** which servers to update (FLEET_TARGET, JSON) */
    fleet: FleetTarget;
    /** SSM document names or ARNs (POSTFIX_DOCUMENT, IIS_DOCUMENT) */
    postfixDocument: string;
    iisDocument: string;
    /**
     * The document versions every command pins (POSTFIX_DOCUMENT_VERSION, IIS_DOCUMENT_VERSION: the versions the
     * deployment created), so a later ssm:UpdateDocument does not change what runs on the servers. Unset = $DEFAULT.
     */
    documentVersions?: { postfix?: string; iis?: string };
    /** SNS topic told of start, success, failure and held retirements (NOTIFY_TOPIC_ARN) */
    notifyTopicArn?: string;
    /** how long setSecret waits for the servers (FLEET_DEADLINE_SECONDS, default 600, 30..840: inside Lambda's 900 s) */
    fleetDeadlineSeconds: number;
    /** the secret's customer KMS key, if any (KMS_KEY_ID); Secrets Manager uses it, the role must be allowed to */
    kmsKeyId?: string;
    /** RETIRE_OBSERVATION_HOURS (default 24) and RETIRE_GRACE_DAYS (default 7) */
    retirement: RetirementPolicy;
}

/** Defaults applied when the variable is unset. */
export const ROTATION_CONFIG_DEFAULTS = {
    smtpPort: 587 as const,
    fleetDeadlineSeconds: 600,
    observationHours: 24,
    graceDays: 7,
};

type Env = Record<string, string | undefined>;

function bad(name: string, message: string, value: unknown): never {
    throw new Error(`environment variable ${name} ${message}, got ${JSON.stringify(value)}`);
}

function required(env: Env, name: string): string {
    const v = env[name];
    if (v === undefined || v.trim() === "") throw new Error(`environment variable ${name} is required but not set`);
    return v.trim();
}

function optional(env: Env, name: string): string | undefined {
    const v = env[name];
    return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function numberIn(env: Env, name: string, min: number, max: number, fallback: number, integer: boolean): number {
    const raw = optional(env, name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
        bad(name, `must be ${integer ? "an integer" : "a number"} from ${min} to ${max}`, raw);
    }
    return n;
}

/** Parses and checks FLEET_TARGET (see FleetTarget). */
export function parseFleetTarget(raw: string, name = "FLEET_TARGET"): FleetTarget {
    let v: any;
    try {
        v = JSON.parse(raw);
    } catch {
        bad(name, "must be JSON", raw);
    }
    const text = (key: string) => {
        if (typeof v[key] !== "string" || v[key] === "") bad(name, `needs a non-empty string "${key}"`, raw);
        return v[key] as string;
    };
    if (v && v.kind === "tag") return { kind: "tag", tagKey: text("tagKey"), tagValue: text("tagValue"), softwareTagKey: text("softwareTagKey") };
    if (v && v.kind === "table") return { kind: "table", tableName: text("tableName") };
    return bad(name, `must have "kind": "tag" or "table"`, raw);
}

/** Reads the rotation Lambda's configuration from its environment. */
export function rotationConfigFromEnv(env: Env): RotationConfig {
    const iamUserName = required(env, "IAM_USER_NAME");
    if (!IAM_USER_NAME_PATTERN.test(iamUserName)) bad("IAM_USER_NAME", "is not a valid IAM user name", iamUserName);
    const sesRegion = required(env, "SES_REGION");
    if (!isAwsRegion(sesRegion)) bad("SES_REGION", "is not an AWS region (e.g. eu-west-1)", sesRegion);
    const smtpEndpoint = optional(env, "SMTP_ENDPOINT");
    if (smtpEndpoint !== undefined && !/^[A-Za-z0-9.-]{1,253}$/.test(smtpEndpoint)) bad("SMTP_ENDPOINT", "must be a host name", smtpEndpoint);
    const allowAny = optional(env, "ALLOW_NON_SES_SMTP_ENDPOINT");
    if (allowAny !== undefined && allowAny !== "true" && allowAny !== "false") bad("ALLOW_NON_SES_SMTP_ENDPOINT", "must be true or false", allowAny);
    const endpointProblem = smtpEndpoint === undefined || allowAny === "true" ? undefined : sesSmtpEndpointProblem(smtpEndpoint, sesRegion);
    if (endpointProblem) {
        bad("SMTP_ENDPOINT", `${endpointProblem}; the new SMTP password is sent there at every rotation (set ALLOW_NON_SES_SMTP_ENDPOINT=true to allow another host)`, smtpEndpoint);
    }
    const portText = optional(env, "SMTP_PORT");
    let smtpPort: 587 | 465 = ROTATION_CONFIG_DEFAULTS.smtpPort;
    if (portText !== undefined) {
        if (portText !== "587" && portText !== "465") bad("SMTP_PORT", "must be 587 (STARTTLS) or 465 (implicit TLS)", portText);
        smtpPort = Number(portText) as 587 | 465;
    }
    const notifyTopicArn = optional(env, "NOTIFY_TOPIC_ARN");
    if (notifyTopicArn !== undefined && !/^arn:[a-z-]+:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(notifyTopicArn)) {
        bad("NOTIFY_TOPIC_ARN", "must be an SNS topic ARN", notifyTopicArn);
    }
    const kmsKeyId = optional(env, "KMS_KEY_ID");
    const documentVersions: { postfix?: string; iis?: string } = {};
    for (const [key, name] of [["postfix", "POSTFIX_DOCUMENT_VERSION"], ["iis", "IIS_DOCUMENT_VERSION"]] as const) {
        const v = optional(env, name);
        if (v === undefined) continue;
        if (!/^[1-9][0-9]{0,9}$/.test(v)) bad(name, "must be an SSM document version number (1, 2, ...)", v);
        documentVersions[key] = v;
    }
    return {
        iamUserName,
        sesRegion,
        ...(smtpEndpoint ? { smtpEndpoint } : {}),
        smtpPort,
        fleet: parseFleetTarget(required(env, "FLEET_TARGET")),
        postfixDocument: required(env, "POSTFIX_DOCUMENT"),
        iisDocument: required(env, "IIS_DOCUMENT"),
        ...(Object.keys(documentVersions).length ? { documentVersions } : {}),
        ...(notifyTopicArn ? { notifyTopicArn } : {}),
        fleetDeadlineSeconds: numberIn(env, "FLEET_DEADLINE_SECONDS", 30, 840, ROTATION_CONFIG_DEFAULTS.fleetDeadlineSeconds, true),
        ...(kmsKeyId ? { kmsKeyId } : {}),
        retirement: {
            observationHours: numberIn(env, "RETIRE_OBSERVATION_HOURS", 0, 24 * 90, ROTATION_CONFIG_DEFAULTS.observationHours, false),
            graceDays: numberIn(env, "RETIRE_GRACE_DAYS", 0, 365, ROTATION_CONFIG_DEFAULTS.graceDays, false),
        },
    };
}
