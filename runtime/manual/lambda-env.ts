/**
 * Environment variables of the manual-mode Lambdas (the component sets them; the Lambda factories read them).
 * One parser per function; each error names the variable.
 */
import type { FleetTarget } from "../fleet-target";
import type { ConfirmationTaskConfig } from "./confirmation-tasks";
import type { CreateCredentialConfig } from "./credential-task";
import type { ServersPageConfig } from "./servers-page";
import type { StarterConfig } from "./starter";

type Env = Record<string, string | undefined>;

function required(env: Env, name: string): string {
    const v = env[name];
    if (v === undefined || v === "") throw new Error(`environment variable ${name} is required`);
    return v;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
    const raw = env[name];
    if (raw === undefined || raw === "") return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) throw new Error(`environment variable ${name}=${JSON.stringify(raw)} must be an integer from ${min} to ${max}`);
    return n;
}

/** CreateCredential: IAM_USER_NAME, SES_REGION, SMTP_ENDPOINT?, SMTP_PORT, PARAMETER_NAME, KMS_KEY_ID? */
export function createCredentialConfigFromEnv(env: Env): CreateCredentialConfig {
    const port = integer(env, "SMTP_PORT", 587, 1, 65535);
    if (port !== 587 && port !== 465) throw new Error(`environment variable SMTP_PORT=${port} must be 587 or 465`);
    return {
        iamUserName: required(env, "IAM_USER_NAME"),
        sesRegion: required(env, "SES_REGION"),
        ...(env.SMTP_ENDPOINT ? { smtpEndpoint: env.SMTP_ENDPOINT } : {}),
        smtpPort: port,
        parameterName: required(env, "PARAMETER_NAME"),
        ...(env.KMS_KEY_ID ? { kmsKeyId: env.KMS_KEY_ID } : {}),
    };
}

/** ListServersPage: FLEET_TARGET (JSON), PAGE_SIZE, OWNER_EMAIL_TAG_KEY */
export function serversPageConfigFromEnv(env: Env): ServersPageConfig {
    let fleet: FleetTarget;
    try {
        fleet = JSON.parse(required(env, "FLEET_TARGET"));
    } catch (e) {
        throw new Error(`environment variable FLEET_TARGET is not JSON: ${(e as Error).message}`);
    }
    return { fleet, pageSize: integer(env, "PAGE_SIZE", 100, 1, 1000), ownerEmailTagKey: env.OWNER_EMAIL_TAG_KEY || "OwnerEmail" };
}

/** Confirmation tasks and the API: CONFIRMATION_TABLE, CONFIRMATION_STATE_MACHINE_ARN?, OWNER_TOPIC_ARN?, CONFIRMATION_BASE_URL?, CONFIRMATION_TIMEOUT_SECONDS?, SUBSCRIBE_OWNERS? */
export function confirmationConfigFromEnv(env: Env): ConfirmationTaskConfig & { tableName: string } {
    return {
        tableName: required(env, "CONFIRMATION_TABLE"),
        ...(env.CONFIRMATION_STATE_MACHINE_ARN ? { confirmationStateMachineArn: env.CONFIRMATION_STATE_MACHINE_ARN } : {}),
        ...(env.OWNER_TOPIC_ARN ? { ownerTopicArn: env.OWNER_TOPIC_ARN } : {}),
        ...(env.CONFIRMATION_BASE_URL ? { confirmationBaseUrl: env.CONFIRMATION_BASE_URL } : {}),
        ...(env.CONFIRMATION_TIMEOUT_SECONDS ? { confirmationTimeoutSeconds: integer(env, "CONFIRMATION_TIMEOUT_SECONDS", 0, 1, 365 * 24 * 3600) } : {}),
        subscribeOwners: env.SUBSCRIBE_OWNERS !== "false",
    };
}

/** Starter: STATE_MACHINE_ARN, TIME_ZONE */
export function starterConfigFromEnv(env: Env): StarterConfig {
    return { stateMachineArn: required(env, "STATE_MACHINE_ARN"), timeZone: env.TIME_ZONE || "UTC" };
}
