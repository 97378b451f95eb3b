/**
 * Shapes that travel between the manual-mode state machines and their Lambda tasks.
 * Only references and identifiers: never the SMTP password or the IAM secret access key.
 */
import type { FleetServer } from "../fleet-target";

/** Where the new credential is: Parameter Store name + version, and the access key id (the SMTP user name). */
export interface CredentialRef {
    parameterName: string;
    parameterVersion: number;
    accessKeyId: string;
}

/** What CreateCredential returns: the reference plus the keys that this rotation retires once all servers confirmed. */
export interface RotationCredential extends CredentialRef {
    previousAccessKeyIds: string[];
}

/** One server's confirmation, as ManualConfirmation executions receive it. */
export interface ConfirmationInput {
    /** the CredentialRotation execution name (password-rotation-dd-mm-yy[-n]) */
    rotation: string;
    server: FleetServer;
    credential: CredentialRef;
}

/** Execution names: what Step Functions accepts (we use a conservative subset). */
export const EXECUTION_NAME_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

/** Throws an error naming `field` unless `value` is an execution name. */
export function assertExecutionName(field: string, value: unknown): string {
    if (typeof value !== "string" || !EXECUTION_NAME_PATTERN.test(value)) {
        throw new Error(`${field} ${JSON.stringify(value)} is not a Step Functions execution name (1-80 of letters, digits, _ and -)`);
    }
    return value;
}

/** Validates a credential reference, naming the bad field. */
export function assertCredentialRef(field: string, value: any): CredentialRef {
    if (!value || typeof value !== "object") throw new Error(`${field} must be an object {parameterName, parameterVersion, accessKeyId}`);
    if (typeof value.parameterName !== "string" || !/^[A-Za-z0-9_.\-/]{1,1011}$/.test(value.parameterName)) {
        throw new Error(`${field}.parameterName ${JSON.stringify(value.parameterName)} is not a Parameter Store name`);
    }
    if (!Number.isInteger(value.parameterVersion) || value.parameterVersion < 1) {
        throw new Error(`${field}.parameterVersion ${JSON.stringify(value.parameterVersion)} must be a positive integer`);
    }
    if (typeof value.accessKeyId !== "string" || !/^AKIA[A-Z0-9]{12,124}$/.test(value.accessKeyId)) {
        throw new Error(`${field}.accessKeyId ${JSON.stringify(value.accessKeyId)} is not a long-term IAM access key id`);
    }
    return { parameterName: value.parameterName, parameterVersion: value.parameterVersion, accessKeyId: value.accessKeyId };
}
