/**
 * The retirement record of one old access key, kept as an IAM user tag so it survives any crash and both
 * modes (auto and manual) share it.
 *
 * Tag key: `ses-rotator:retire:<AccessKeyId>`. Tag value: space-separated `name=value` pairs, e.g.
 * `phase=observing new=AKIA... switched=2026-11-29T19:00:00Z deactivate=2026-11-30T19:00:00Z`.
 * (Not JSON: IAM tag values only allow letters, digits, spaces and `_.:/=+-@`, at most 256 characters.)
 */

export const RETIREMENT_TAG_PREFIX = "ses-rotator:retire:";

/** IAM tag values: `[\p{L}\p{Z}\p{N}_.:/=+\-@]*`, at most 256 characters. */
const IAM_TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
const MAX_TAG_VALUE = 256;

/**
 * observing: the old key is still Active, waiting for the observation window to end;
 * held: IAM saw the old key used after the switch: retirement stopped until an operator overrides;
 * deactivated: the old key is Inactive, waiting for the grace period to end before deletion.
 */
export type RetirementPhase = "observing" | "held" | "deactivated";

/** What IAM reported when it held a retirement. */
export interface UsageEvidence {
    lastUsedDate: string;
    serviceName?: string;
    region?: string;
}

/** One old key on its way out. Times are ISO-8601 UTC, whole seconds. */
export interface RetirementRecord {
    /** the old key being retired */
    accessKeyId: string;
    phase: RetirementPhase;
    /** the key that replaced it (must stay Active while the old one is retired) */
    newAccessKeyId: string;
    /** when every server confirmed the new key: a use of the old key after this means a missed consumer */
    switchedAt: string;
    /** end of the observation window, when known (switchedAt + observationHours) */
    deactivateAfter?: string;
    /** set on deactivation: when the key may be deleted */
    deleteAfter?: string;
    /** set when held */
    evidence?: UsageEvidence;
    /** set when an operator released a hold */
    overrideAt?: string;
    /** why the retirement is held: the key was used after the switch (default), or it was found Active again after deactivation */
    heldReason?: HeldReason;
}

/** `used`: IAM reported a use after the switch; `reactivated`: the deactivated key was found Active again. */
export type HeldReason = "used" | "reactivated";

const FIELDS: [keyof RetirementRecord | "usedAt" | "usedBy" | "usedIn", string][] = [
    ["phase", "phase"],
    ["newAccessKeyId", "new"],
    ["switchedAt", "switched"],
    ["deactivateAfter", "deactivate"],
    ["deleteAfter", "delete"],
    ["usedAt", "used"],
    ["usedBy", "usedBy"],
    ["usedIn", "usedIn"],
    ["overrideAt", "override"],
    ["heldReason", "why"],
];

/** IAM access key ids: 16-128 of A-Z and 0-9. */
const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;

/** ISO-8601 UTC without milliseconds. */
export function isoSeconds(d: Date): string {
    if (!(d instanceof Date) || isNaN(d.getTime())) throw new Error(`not a valid date: ${String(d)}`);
    return d.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Keeps a free-text value (an IAM service name) inside the tag alphabet, without spaces, short. */
function tagSafe(text: string, max = 40): string {
    return text.replace(/[^\p{L}\p{N}_.:/+\-@]/gu, "_").slice(0, max);
}

/** The IAM user tag key holding the retirement record of `accessKeyId`. */
export function retirementTagKey(accessKeyId: string): string {
    return RETIREMENT_TAG_PREFIX + accessKeyId;
}

/** Encodes a record as an IAM tag value; throws if it would not be a valid one. */
export function encodeRetirement(r: RetirementRecord): string {
    const values: Record<string, string | undefined> = {
        phase: r.phase,
        newAccessKeyId: r.newAccessKeyId,
        switchedAt: r.switchedAt,
        deactivateAfter: r.deactivateAfter,
        deleteAfter: r.deleteAfter,
        usedAt: r.evidence?.lastUsedDate,
        usedBy: r.evidence?.serviceName !== undefined ? tagSafe(r.evidence.serviceName) : undefined,
        usedIn: r.evidence?.region !== undefined ? tagSafe(r.evidence.region) : undefined,
        overrideAt: r.overrideAt,
        heldReason: r.heldReason,
    };
    const text = FIELDS.filter(([f]) => values[f] !== undefined && values[f] !== "")
        .map(([f, name]) => `${name}=${values[f]}`)
        .join(" ");
    if (text.length > MAX_TAG_VALUE || !IAM_TAG_VALUE.test(text)) {
        throw new Error(`retirement record for ${r.accessKeyId} does not fit an IAM tag value: ${JSON.stringify(text)}`);
    }
    return text;
}

/** Decodes a tag; returns undefined for a tag that is not a well-formed, consistent retirement record. */
export function decodeRetirement(tagKey: string, tagValue: string): RetirementRecord | undefined {
    const parsed = parseRetirement(tagKey, tagValue);
    return "record" in parsed ? parsed.record : undefined;
}

/**
 * Decodes and checks a retirement tag. A record that is not consistent (the key retired by itself, an unknown
 * phase, a missing or unreadable time, times out of order) comes back as `{error}` naming what is wrong: the
 * retirement refuses it rather than act on it (anyone with iam:TagUser can write one).
 */
export function parseRetirement(tagKey: string, tagValue: string): { record: RetirementRecord } | { error: string } {
    if (!tagKey.startsWith(RETIREMENT_TAG_PREFIX)) return { error: `tag ${tagKey} is not a retirement record` };
    const accessKeyId = tagKey.slice(RETIREMENT_TAG_PREFIX.length);
    const byName = new Map<string, string>();
    for (const part of tagValue.split(" ")) {
        const eq = part.indexOf("=");
        if (eq > 0) byName.set(part.slice(0, eq), part.slice(eq + 1));
    }
    const get = (f: string) => byName.get(FIELDS.find(([field]) => field === f)![1]);
    const phase = get("phase");
    const newAccessKeyId = get("newAccessKeyId");
    const switchedAt = get("switchedAt");
    if (!ACCESS_KEY_ID.test(accessKeyId)) return { error: `the tag names ${JSON.stringify(accessKeyId)}, not an access key id` };
    if (phase !== "observing" && phase !== "held" && phase !== "deactivated") return { error: `unknown phase ${JSON.stringify(phase ?? "")}` };
    if (!newAccessKeyId || !ACCESS_KEY_ID.test(newAccessKeyId)) return { error: `new=${JSON.stringify(newAccessKeyId ?? "")} is not an access key id` };
    if (newAccessKeyId === accessKeyId) return { error: `new=${newAccessKeyId} is the same key as the one to retire` };
    if (!switchedAt || isNaN(Date.parse(switchedAt))) return { error: `switched=${JSON.stringify(switchedAt ?? "")} is not a time` };
    const record: RetirementRecord = { accessKeyId, phase, newAccessKeyId, switchedAt };
    const times: [keyof RetirementRecord, string, string | undefined][] = [
        ["deactivateAfter", "deactivate", get("deactivateAfter")],
        ["deleteAfter", "delete", get("deleteAfter")],
        ["overrideAt", "override", get("overrideAt")],
    ];
    for (const [field, name, text] of times) {
        if (text === undefined || text === "") continue;
        if (isNaN(Date.parse(text))) return { error: `${name}=${JSON.stringify(text)} is not a time` };
        if (Date.parse(text) < Date.parse(switchedAt)) return { error: `times out of order: ${name}=${text} is before switched=${switchedAt}` };
        (record as unknown as Record<string, string>)[field] = text;
    }
    if (record.deactivateAfter && record.deleteAfter && Date.parse(record.deleteAfter) < Date.parse(record.deactivateAfter)) {
        return { error: `times out of order: delete=${record.deleteAfter} is before deactivate=${record.deactivateAfter}` };
    }
    if (phase === "deactivated" && !record.deleteAfter) return { error: "phase deactivated without a delete= time" };
    const usedAt = get("usedAt");
    if (usedAt) {
        if (isNaN(Date.parse(usedAt))) return { error: `used=${JSON.stringify(usedAt)} is not a time` };
        record.evidence = { lastUsedDate: usedAt };
        const by = get("usedBy");
        const inRegion = get("usedIn");
        if (by) record.evidence.serviceName = by;
        if (inRegion) record.evidence.region = inRegion;
    }
    const why = get("heldReason");
    if (why !== undefined && why !== "used" && why !== "reactivated") return { error: `unknown why=${JSON.stringify(why)}` };
    if (why) record.heldReason = why;
    return { record };
}
