/**
 * Reading the credential store (the truth about which key is in use) for the retirement's safety checks.
 *
 * Retirement records (IAM user tags) say which key replaced which, but anyone with `iam:TagUser` can write
 * one. Before every deactivate and delete the retirement re-reads the store through a
 * {@link CurrentCredentialReader}: the key the current credential names is never deactivated or deleted,
 * whatever a record says. Auto mode: the secret's AWSCURRENT (and AWSPREVIOUS, the key a completed switch
 * replaced), here; manual mode: the latest version of the SecureString parameter (manual/current-parameter.ts).
 * Plain SDK v3, no `@pulumi`.
 */
import smSdk = require("@aws-sdk/client-secrets-manager");
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseCredential } from "./credential";

/** Reads which access key the credential store currently hands to the servers. */
export interface CurrentCredentialReader {
    /** names the store in messages, e.g. `secret arn:...:secret:x (AWSCURRENT)` */
    readonly description: string;
    /** the access key id the current credential names; undefined when the store holds no credential of ours */
    currentKeyId(): Promise<string | undefined>;
    /**
     * The key a COMPLETED switch replaced (auto mode: AWSPREVIOUS, set by the same call that moved AWSCURRENT
     * after every server confirmed the new key). Absent in manual mode: there the latest parameter version is
     * written before the servers confirm, so the store alone cannot prove a switch.
     */
    replacedKeyId?(): Promise<string | undefined>;
}

async function secretKeyAt(secrets: SecretsManagerClient, secretId: string, stage: string): Promise<string | undefined> {
    try {
        const out = await secrets.send(new smSdk.GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }));
        return parseCredential(out.SecretString)?.username;
    } catch (e) {
        if ((e as { name?: string }).name === "ResourceNotFoundException") return undefined;
        throw e;
    }
}

/** Auto mode: the rotated secret (AWSCURRENT is current; AWSPREVIOUS was replaced by a completed switch). */
export function secretCredentialReader(secrets: SecretsManagerClient, secretArn: string): CurrentCredentialReader {
    if (typeof secretArn !== "string" || secretArn === "") throw new Error("secretCredentialReader: secretArn must be the rotated secret's ARN");
    return {
        description: `secret ${secretArn} (AWSCURRENT)`,
        currentKeyId: () => secretKeyAt(secrets, secretArn, "AWSCURRENT"),
        replacedKeyId: () => secretKeyAt(secrets, secretArn, "AWSPREVIOUS"),
    };
}
