/**
 * IAM access keys of the SMTP user: list, create (never a third), deactivate, delete.
 * Every mutation is idempotent: repeating it after a crash converges on the same state.
 * The IAM secret access key is returned to the caller once, by `createAccessKeyForSmtp`, and never logged here.
 */
import iamSdk = require("@aws-sdk/client-iam");
import type { IAMClient } from "@aws-sdk/client-iam";
import { defaultSmtpEndpoint, SmtpCredentialValue } from "./credential";
import { assertLongTermAccessKeyId, deriveSmtpPassword, isAwsRegion } from "./smtp-password";

/** IAM allows two access keys per user; rotation needs both slots (old + new) at the switch. */
export const MAX_ACCESS_KEYS_PER_USER = 2;

/** IAM user names: 1-64 of letters, digits and _+=,.@- */
export const IAM_USER_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;

/** One access key of a user, as IAM lists it (no secret). */
export interface AccessKeyInfo {
    accessKeyId: string;
    status: "Active" | "Inactive";
    createDate?: string;
}

/** What `createAccessKeyForSmtp` returns. `secretAccessKey` must only be used to derive the SMTP password. */
export interface NewAccessKey {
    accessKeyId: string;
    secretAccessKey: string;
}

/** What IAM reports about the last use of a key (all fields absent when never used). */
export interface AccessKeyLastUse {
    lastUsedDate?: string;
    serviceName?: string;
    region?: string;
}

function assertUserName(userName: string): void {
    if (typeof userName !== "string" || !IAM_USER_NAME_PATTERN.test(userName)) {
        throw new Error(`userName ${JSON.stringify(userName)} is not a valid IAM user name (1-64 of letters, digits and _+=,.@-)`);
    }
}

function assertAccessKeyId(accessKeyId: string): void {
    if (typeof accessKeyId !== "string" || !/^[A-Z0-9]{16,128}$/.test(accessKeyId)) {
        throw new Error(`accessKeyId ${JSON.stringify(accessKeyId)} is not an IAM access key id`);
    }
}

/** True for IAM's "the thing is not there" error. */
export function isNoSuchEntity(e: unknown): boolean {
    return (e as { name?: string })?.name === "NoSuchEntity" || (e as { name?: string })?.name === "NoSuchEntityException";
}

/** All access keys of the user (paginated). */
export async function listAccessKeys(iam: IAMClient, userName: string): Promise<AccessKeyInfo[]> {
    assertUserName(userName);
    const keys: AccessKeyInfo[] = [];
    let marker: string | undefined;
    do {
        const page = await iam.send(new iamSdk.ListAccessKeysCommand({ UserName: userName, Marker: marker }));
        for (const k of page.AccessKeyMetadata ?? []) {
            keys.push({
                accessKeyId: k.AccessKeyId!,
                status: k.Status === "Active" ? "Active" : "Inactive",
                ...(k.CreateDate ? { createDate: new Date(k.CreateDate).toISOString() } : {}),
            });
        }
        marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return keys;
}

/**
 * Creates a new access key for SMTP use. Refuses (before calling IAM) when the user already has two keys,
 * naming them, so the caller can retire or reconcile one first.
 * `sesRegion` is validated here because the key is only useful with a password derived for that region.
 */
export async function createAccessKeyForSmtp(iam: IAMClient, userName: string, sesRegion: string): Promise<NewAccessKey> {
    assertUserName(userName);
    if (!isAwsRegion(sesRegion)) {
        throw new Error(`sesRegion ${JSON.stringify(sesRegion)} is not a well-formed AWS region (e.g. eu-west-1)`);
    }
    const existing = await listAccessKeys(iam, userName);
    if (existing.length >= MAX_ACCESS_KEYS_PER_USER) {
        throw new Error(
            `IAM user "${userName}" already has ${existing.length} access keys (${existing.map((k) => `${k.accessKeyId} ${k.status}`).join(", ")}); ` +
                `refusing to create a third: retire or delete one of them first`,
        );
    }
    let created;
    try {
        created = await iam.send(new iamSdk.CreateAccessKeyCommand({ UserName: userName }));
    } catch (e) {
        if ((e as { name?: string }).name === "LimitExceeded" || (e as { name?: string }).name === "LimitExceededException") {
            throw new Error(`IAM user "${userName}" reached the limit of ${MAX_ACCESS_KEYS_PER_USER} access keys while creating one (a concurrent run?): ${(e as Error).message}`);
        }
        throw e;
    }
    const accessKeyId = created.AccessKey?.AccessKeyId;
    const secretAccessKey = created.AccessKey?.SecretAccessKey;
    if (!accessKeyId || !secretAccessKey) throw new Error(`CreateAccessKey for "${userName}" returned no key`);
    assertLongTermAccessKeyId(accessKeyId);
    return { accessKeyId, secretAccessKey };
}

/** The stored credential for a new key: the SMTP password is derived here; the secret access key is not kept. */
export function smtpCredentialForKey(
    key: NewAccessKey,
    opts: { sesRegion: string; smtpEndpoint?: string; smtpPort?: number },
): SmtpCredentialValue {
    const port = opts.smtpPort ?? 587;
    if (port !== 587 && port !== 465) throw new Error(`smtpPort ${JSON.stringify(opts.smtpPort)} must be 587 (STARTTLS) or 465 (implicit TLS)`);
    return {
        username: key.accessKeyId,
        password: deriveSmtpPassword(key.secretAccessKey, opts.sesRegion),
        endpoint: opts.smtpEndpoint || defaultSmtpEndpoint(opts.sesRegion),
        port,
        region: opts.sesRegion,
    };
}

/** Sets the key Inactive. Returns what happened; a key that no longer exists counts as done ("absent"). */
export async function deactivateAccessKey(iam: IAMClient, userName: string, accessKeyId: string): Promise<"deactivated" | "absent"> {
    assertUserName(userName);
    assertAccessKeyId(accessKeyId);
    try {
        await iam.send(new iamSdk.UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId, Status: "Inactive" }));
        return "deactivated";
    } catch (e) {
        if (isNoSuchEntity(e)) return "absent";
        throw e;
    }
}

/** Deletes the key. NoSuchEntity means an earlier attempt already deleted it: "absent". */
export async function deleteAccessKey(iam: IAMClient, userName: string, accessKeyId: string): Promise<"deleted" | "absent"> {
    assertUserName(userName);
    assertAccessKeyId(accessKeyId);
    try {
        await iam.send(new iamSdk.DeleteAccessKeyCommand({ UserName: userName, AccessKeyId: accessKeyId }));
        return "deleted";
    } catch (e) {
        if (isNoSuchEntity(e)) return "absent";
        throw e;
    }
}

/** IAM's report of the key's last use (IAM updates it with a delay of up to a few hours). */
export async function getAccessKeyLastUse(iam: IAMClient, accessKeyId: string): Promise<AccessKeyLastUse> {
    assertAccessKeyId(accessKeyId);
    const out = await iam.send(new iamSdk.GetAccessKeyLastUsedCommand({ AccessKeyId: accessKeyId }));
    const used = out.AccessKeyLastUsed;
    if (!used?.LastUsedDate) return {};
    return {
        lastUsedDate: new Date(used.LastUsedDate).toISOString(),
        ...(used.ServiceName && used.ServiceName !== "N/A" ? { serviceName: used.ServiceName } : {}),
        ...(used.Region && used.Region !== "N/A" ? { region: used.Region } : {}),
    };
}
