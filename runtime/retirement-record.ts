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
}

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
];

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
    };
    const text = FIELDS.filter(([f]) => values[f] !== undefined && values[f] !== "")
        .map(([f, name]) => `${name}=${values[f]}`)
        .join(" ");
    if (text.length > MAX_TAG_VALUE || !IAM_TAG_VALUE.test(text)) {
        throw new Error(`retirement record for ${r.accessKeyId} does not fit an IAM tag value: ${JSON.stringify(text)}`);
    }
    return text;
}

/** Decodes a tag; returns undefined for a tag that is not a well-formed retirement record. */
export function decodeRetirement(tagKey: string, tagValue: string): RetirementRecord | undefined {
    if (!tagKey.startsWith(RETIREMENT_TAG_PREFIX)) return undefined;
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
    if (!accessKeyId || !newAccessKeyId || !switchedAt || isNaN(Date.parse(switchedAt))) return undefined;
    if (phase !== "observing" && phase !== "held" && phase !== "deactivated") return undefined;
    const usedAt = get("usedAt");
    const record: RetirementRecord = { accessKeyId, phase, newAccessKeyId, switchedAt };
    const deactivateAfter = get("deactivateAfter");
    const deleteAfter = get("deleteAfter");
    const overrideAt = get("overrideAt");
    if (deactivateAfter) record.deactivateAfter = deactivateAfter;
    if (deleteAfter) record.deleteAfter = deleteAfter;
    if (usedAt) {
        record.evidence = { lastUsedDate: usedAt };
        const by = get("usedBy");
        const inRegion = get("usedIn");
        if (by) record.evidence.serviceName = by;
        if (inRegion) record.evidence.region = inRegion;
    }
    if (overrideAt) record.overrideAt = overrideAt;
    return record;
}
