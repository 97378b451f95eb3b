/**
 * Helpers shared by the dynamic providers in this folder.
 *
 * Everything here is closure-serialized into each provider's `__provider` text, so it must stay small and
 * must not import `@pulumi/*`. AWS SDK modules are required inside the functions (never captured clients);
 * clients use the default credential chain and honour `AWS_ENDPOINT_URL`.
 */
import crypto = require("crypto");
import smtpPassword = require("../../runtime/smtp-password");

/**
 * The value the Pulumi engine sends for an input that is not known yet (during preview). `check` and `diff`
 * must accept it; `create`/`update` never see it.
 */
export const UNKNOWN_INPUT = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** True when an input is not known yet (preview). */
export function isUnknown(value: unknown): boolean {
    return value === UNKNOWN_INPUT;
}

/** One `check` failure: the property it names and why. */
export interface InputFailure {
    property: string;
    reason: string;
}

/** Adds a failure unless the value is unknown or passes the test. */
export function requireThat(failures: InputFailure[], inputs: any, property: string, ok: (v: any) => boolean, reason: string): void {
    const value = inputs?.[property];
    if (isUnknown(value)) return;
    if (!ok(value)) failures.push({ property, reason: `${property}: ${reason} (got ${describeValue(value)})` });
}

function describeValue(value: unknown): string {
    if (value === undefined) return "nothing";
    const text = JSON.stringify(value);
    return text.length > 80 ? text.slice(0, 77) + "..." : text;
}

/** A well-formed AWS region (eu-west-1, us-gov-west-1, cn-north-1 ...). */
export function isRegion(v: unknown): boolean {
    return smtpPassword.isAwsRegion(v);
}

/** A Secrets Manager secret ARN in any partition. */
export function isSecretArn(v: unknown): boolean {
    return typeof v === "string" && /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+$/.test(v);
}

/** A Step Functions state machine ARN in any partition. */
export function isStateMachineArn(v: unknown): boolean {
    return typeof v === "string" && /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/.test(v);
}

/** An SSM parameter name (fully qualified path `/a/b`) or a parameter ARN. */
export function isParameterName(v: unknown): boolean {
    return (
        typeof v === "string" &&
        (/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(v) || /^arn:aws[a-z-]*:ssm:[a-z0-9-]+:\d{12}:parameter\/[A-Za-z0-9_.\-/]{1,1010}$/.test(v))
    );
}

/** An IAM user name. */
export function isIamUserName(v: unknown): boolean {
    return typeof v === "string" && /^[A-Za-z0-9+=,.@_-]{1,64}$/.test(v);
}

/** The region named in an ARN (its 4th field). */
export function regionOfArn(arn: string): string {
    return arn.split(":")[3];
}

/**
 * A UUID-shaped value derived from the parts: the same parts always give the same value. Used as idempotency
 * token (Secrets Manager `ClientRequestToken`) so a retried call after a crash is recognised, not repeated.
 */
export function stableUuid(...parts: string[]): string {
    const h = crypto.createHash("sha256").update(parts.join("\u0000")).digest("hex");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A short hex digest of the parts (for names). */
export function shortHash(length: number, ...parts: string[]): string {
    return crypto.createHash("sha256").update(parts.join("\u0000")).digest("hex").slice(0, length);
}

/**
 * The value as plain JSON, without `undefined` members: the dynamic provider host converts outputs with
 * protobuf's `Struct.fromJavaScript`, which throws "Unexpected struct type" on `undefined`.
 */
export function plainJson<T>(value: T): T {
    return JSON.parse(JSON.stringify(value));
}

/** The AWS SDK error name (`ResourceNotFoundException`, `NoSuchEntity` ...), or "" for other errors. */
export function awsErrorName(e: unknown): string {
    return (e as { name?: string })?.name ?? "";
}

/**
 * The error a provider's `create` throws after it made something in AWS and then failed. The Pulumi engine
 * records the resource with `properties` as its (partial) state, shows `reasons`, and calls `update` on the
 * next `pulumi up` (to converge) or `delete` on destroy (to clean up) — see ErrorResourceInitFailed in
 * @pulumi/pulumi's dynamic provider host.
 */
export class PartialCreateError extends Error {
    /** what the engine shows: what was created, what failed */
    readonly reasons: string[];
    constructor(
        message: string,
        /** the id the partially created resource gets */
        readonly id: string,
        /** the resource's recorded state (plain JSON; must include `__provider` so update/delete can run) */
        readonly properties: Record<string, unknown>,
    ) {
        super(message);
        this.name = "PartialCreateError";
        this.reasons = [message];
    }
}
