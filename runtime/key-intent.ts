/**
 * Telling an orphan access key this rotator created apart from a key someone else made.
 *
 * A crash between CreateAccessKey and storing the credential (PutSecretValue / PutParameter) leaves a key no
 * stored version references and whose secret is lost: nobody can use it, and it takes one of the user's two
 * key slots. Before creating a key, the rotator records its intent as an IAM user tag
 * (`ses-rotator:creating` = `token=<rotation> at=<time>`, then `key=<id>` once IAM answered), so the next
 * attempt can recognise that key. Only such a key of ours that IAM shows never used may be deleted; any other
 * unreferenced key stops the rotation with a message naming the key, its creation date and its last use.
 */
import iamSdk = require("@aws-sdk/client-iam");
import type { IAMClient } from "@aws-sdk/client-iam";
import { AccessKeyInfo, createAccessKeyForSmtp, getAccessKeyLastUse, NewAccessKey } from "./access-keys";
import { isoSeconds } from "./retirement-record";

/** The IAM user tag holding the intent of the key creation in progress. */
export const KEY_INTENT_TAG = "ses-rotator:creating";

/** A key created up to this long before the recorded intent time still counts (IAM's clock vs ours). */
const CLOCK_SKEW_MS = 60_000;
/** ...and up to this long after it (a Lambda runs at most 15 minutes). */
const CREATE_WINDOW_MS = 15 * 60_000;

/** What the rotator recorded before creating a key. */
export interface KeyIntent {
    /** the rotation that creates the key (auto: the secret version's ClientRequestToken; manual: the execution name) */
    token: string;
    /** when the intent was recorded (ISO-8601, whole seconds) */
    at: string;
    /** the created key, once IAM answered */
    accessKeyId?: string;
}

function tagSafe(text: string): string {
    return text.replace(/[^\p{L}\p{N}_.:/+\-@]/gu, "_").slice(0, 128);
}

function encodeIntent(i: KeyIntent): string {
    return [`token=${tagSafe(i.token)}`, `at=${i.at}`, ...(i.accessKeyId ? [`key=${i.accessKeyId}`] : [])].join(" ");
}

function decodeIntent(value: string): KeyIntent | undefined {
    const fields = new Map(value.split(" ").map((p) => [p.slice(0, p.indexOf("=")), p.slice(p.indexOf("=") + 1)] as const));
    const token = fields.get("token");
    const at = fields.get("at");
    if (!token || !at || isNaN(Date.parse(at))) return undefined;
    const key = fields.get("key");
    return { token, at, ...(key && /^[A-Z0-9]{16,128}$/.test(key) ? { accessKeyId: key } : {}) };
}

async function writeIntent(iam: IAMClient, userName: string, intent: KeyIntent): Promise<void> {
    await iam.send(new iamSdk.TagUserCommand({ UserName: userName, Tags: [{ Key: KEY_INTENT_TAG, Value: encodeIntent(intent) }] }));
}

/** The recorded intent, if any. */
export async function readKeyIntent(iam: IAMClient, userName: string): Promise<KeyIntent | undefined> {
    let marker: string | undefined;
    do {
        const page = await iam.send(new iamSdk.ListUserTagsCommand({ UserName: userName, Marker: marker }));
        const tag = (page.Tags ?? []).find((t) => t.Key === KEY_INTENT_TAG);
        if (tag) return decodeIntent(tag.Value ?? "");
        marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return undefined;
}

/** Removes the intent once the new key's credential is stored (a key referenced by a version is no orphan). */
export async function clearKeyIntent(iam: IAMClient, userName: string): Promise<void> {
    await iam.send(new iamSdk.UntagUserCommand({ UserName: userName, TagKeys: [KEY_INTENT_TAG] }));
}

/**
 * Creates the SMTP user's new key with its intent recorded first (and the key id right after), so a crash
 * before the credential is stored leaves a key the next attempt recognises as ours.
 * `now` is the real clock: it is compared with IAM's CreateDate.
 */
export async function createAccessKeyWithIntent(iam: IAMClient, userName: string, sesRegion: string, token: string, now = new Date()): Promise<NewAccessKey> {
    const intent: KeyIntent = { token, at: isoSeconds(now) };
    await writeIntent(iam, userName, intent);
    const created = await createAccessKeyForSmtp(iam, userName, sesRegion);
    await writeIntent(iam, userName, { ...intent, accessKeyId: created.accessKeyId });
    return created;
}

/** True when the intent says this rotator created `key` (named by it, or created right after it was recorded). */
export function createdByIntent(intent: KeyIntent | undefined, key: AccessKeyInfo): boolean {
    if (!intent) return false;
    if (intent.accessKeyId) return intent.accessKeyId === key.accessKeyId;
    if (!key.createDate) return false;
    const created = Date.parse(key.createDate);
    const at = Date.parse(intent.at);
    return created >= at - CLOCK_SKEW_MS && created <= at + CREATE_WINDOW_MS;
}

/**
 * Decides about a key that is neither current, pending nor being retired. `ours`: the rotator created it
 * ("intent": recorded before CreateAccessKey; "stored": an old version of the credential names it). Returns `{deletable: true}` only for a key of ours IAM shows never used;
 * otherwise the reason the rotation must stop, naming the key, its creation date, its last use and what to do.
 */
export async function judgeUnreferencedKey(
    iam: IAMClient,
    userName: string,
    key: AccessKeyInfo,
    ours: "intent" | "stored" | false,
): Promise<{ deletable: true } | { deletable: false; reason: string }> {
    const use = await getAccessKeyLastUse(iam, key.accessKeyId);
    if (ours && !use.lastUsedDate) return { deletable: true };
    const facts =
        `access key ${key.accessKeyId} of IAM user "${userName}" (${key.status}, created ${key.createDate ?? "?"}, ` +
        `last used ${use.lastUsedDate ? `${use.lastUsedDate} (${use.serviceName ?? "?"}, ${use.region ?? "?"})` : "never"})`;
    const remedy =
        `If nothing needs it, delete it (aws iam delete-access-key --user-name ${userName} --access-key-id ${key.accessKeyId}) and rotate again; ` +
        `if something uses it, move that consumer to the rotator's credential first: this user's keys belong to the rotator`;
    if (ours === "intent") {
        return { deletable: false, reason: `${facts} was created by this rotator and never stored, yet IAM shows it used: its secret may be known outside the rotator. The rotation stopped without touching it. ${remedy}` };
    }
    if (ours === "stored") {
        return { deletable: false, reason: `${facts} is named by an old version of the credential but is neither current, pending nor being retired, and IAM shows it used. The rotation stopped without touching it. ${remedy}` };
    }
    return { deletable: false, reason: `${facts} was not created by this rotator (no creation intent, no stored credential names it). The rotation stopped without touching it. ${remedy}` };
}
