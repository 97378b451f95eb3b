/**
 * Reading the rotated secret: its metadata and stage checks (the Secrets Manager rotation contract), and
 * its versions' credential values. Values are decrypted by Secrets Manager with the secret's own KMS key
 * (AWS managed or customer managed); nothing here names a key.
 */
import smSdk = require("@aws-sdk/client-secrets-manager");
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { parseCredential, SmtpCredentialValue } from "../credential";

/** What the steps need to know about the secret. */
export interface SecretInfo {
    arn: string;
    name: string;
    /** the region the secret lives in (servers fetch it from there) */
    region: string;
    rotationEnabled: boolean;
    /** version id → staging labels */
    versions: Record<string, string[]>;
    kmsKeyId?: string;
}

/** A stored credential and where it was found. */
export interface StoredCredential {
    versionId: string;
    stages: string[];
    value: SmtpCredentialValue;
}

/** DescribeSecret, reduced to what the steps use (the region comes from the secret's ARN). */
export async function describeSecret(secrets: SecretsManagerClient, secretId: string): Promise<SecretInfo> {
    const meta = await secrets.send(new smSdk.DescribeSecretCommand({ SecretId: secretId }));
    const arn = meta.ARN ?? secretId;
    const region = arn.split(":")[3];
    if (!region) throw new Error(`secret ${secretId}: DescribeSecret returned no ARN with a region`);
    return {
        arn,
        name: meta.Name ?? secretId,
        region,
        rotationEnabled: meta.RotationEnabled === true,
        versions: meta.VersionIdsToStages ?? {},
        ...(meta.KmsKeyId ? { kmsKeyId: meta.KmsKeyId } : {}),
    };
}

/** The version id that carries the stage, if any. */
export function versionWithStage(info: SecretInfo, stage: string): string | undefined {
    return Object.keys(info.versions).find((v) => info.versions[v].includes(stage));
}

/** Outcome of the rotation contract's stage checks for one step. */
export type StageCheck = "pending" | "already-current";

/**
 * The checks every step starts with: rotation enabled; the token is a version of the secret; a token that is
 * already AWSCURRENT means the rotation is done; a token that is not AWSPENDING is an error.
 */
export function checkStages(info: SecretInfo, token: string): StageCheck {
    if (!info.rotationEnabled) throw new Error(`secret ${info.arn} is not enabled for rotation`);
    const stages = info.versions[token];
    if (!stages) throw new Error(`secret version ${token} has no stage for rotation of secret ${info.arn}`);
    if (stages.includes("AWSCURRENT")) return "already-current";
    if (!stages.includes("AWSPENDING")) throw new Error(`secret version ${token} is not set as AWSPENDING for rotation of secret ${info.arn}`);
    return "pending";
}

function isNotFound(e: unknown): boolean {
    return (e as { name?: string })?.name === "ResourceNotFoundException";
}

/**
 * The credential stored in a version (by id or stage), or undefined when the version has no value yet
 * (Secrets Manager's pending placeholder) or the value is not a credential of ours.
 */
export async function readCredential(
    secrets: SecretsManagerClient,
    secretId: string,
    which: { versionId: string } | { stage: string },
): Promise<StoredCredential | undefined> {
    let out;
    try {
        out = await secrets.send(
            new smSdk.GetSecretValueCommand({ SecretId: secretId, ...("versionId" in which ? { VersionId: which.versionId } : { VersionStage: which.stage }) }),
        );
    } catch (e) {
        if (isNotFound(e)) return undefined;
        throw e;
    }
    const value = parseCredential(out.SecretString);
    if (!value) return undefined;
    return { versionId: out.VersionId!, stages: out.VersionStages ?? [], value };
}

/**
 * Finds the stored version whose credential uses `accessKeyId`, looking through every version of the secret,
 * including unlabeled (deprecated) ones: a rotation that failed half-way may have lost its AWSPENDING label
 * to a newer attempt while its key is already on some servers. Reads lazily; the cache is per step.
 */
export class StoredKeyIndex {
    private byKey?: Map<string, StoredCredential>;

    constructor(
        private readonly secrets: SecretsManagerClient,
        private readonly secretId: string,
    ) {}

    async find(accessKeyId: string): Promise<StoredCredential | undefined> {
        if (!this.byKey) this.byKey = await this.load();
        return this.byKey.get(accessKeyId);
    }

    private async load(): Promise<Map<string, StoredCredential>> {
        const ids: string[] = [];
        let next: string | undefined;
        do {
            const page = await this.secrets.send(new smSdk.ListSecretVersionIdsCommand({ SecretId: this.secretId, IncludeDeprecated: true, NextToken: next }));
            for (const v of page.Versions ?? []) if (v.VersionId) ids.push(v.VersionId);
            next = page.NextToken || undefined;
        } while (next);
        const map = new Map<string, StoredCredential>();
        for (const id of ids) {
            const stored = await readCredential(this.secrets, this.secretId, { versionId: id });
            // Several versions may hold the same key (retries); keep a labeled one if there is one.
            if (stored && (!map.has(stored.value.username) || stored.stages.length > 0)) map.set(stored.value.username, stored);
        }
        return map;
    }
}
