/**
 * Usage-guarded retirement of old SMTP access keys (auto and manual mode alike).
 *
 * After every server confirmed the new key, the old key stays Active for an observation window; then IAM's
 * GetAccessKeyLastUsed decides: used after the switch → some consumer was missed: hold + alert with the
 * evidence, until an operator overrides; not used → deactivate, then delete after the grace period.
 *
 * State lives in IAM user tags (see retirement-record.ts). Each transition is one AWS call on the key
 * followed by one tag write, so a crash at any point leaves a state that `advanceRetirements` completes when
 * it runs again (it is run by the rotation's finish step and on a schedule).
 *
 * A record is not trusted on its own (anyone with iam:TagUser can write one): an inconsistent record is
 * refused with an alert and changes nothing, and before every deactivate and delete the credential store is
 * re-read (`RetirementDeps.store`): the key the current credential names is never deactivated or deleted.
 * A deactivated key found Active again (an operator re-activated it for a missed consumer) is held, never
 * deleted. The per-key transitions are in retirement-step.ts.
 */
import iamSdk = require("@aws-sdk/client-iam");
import type { IAMClient } from "@aws-sdk/client-iam";
import type { SNSClient } from "@aws-sdk/client-sns";
import { listAccessKeys } from "./access-keys";
import type { CurrentCredentialReader } from "./current-credential";
import { jsonLineLogger, Logger, publishNotice } from "./notify";
import { isoSeconds, parseRetirement, RETIREMENT_TAG_PREFIX, RetirementRecord, retirementTagKey } from "./retirement-record";
import { advanceOne, isRefusal, RefusedRetirement, RetirementKeyReport, writeRecord } from "./retirement-step";

export * from "./retirement-record";
export type { CurrentCredentialReader } from "./current-credential";
export type { RefusedRetirement, RetirementAction, RetirementKeyReport } from "./retirement-step";
export { removeRecord, storeObjection, writeRecord } from "./retirement-step";

/** What scheduling and overriding need (they write records, never touch a key). */
export interface RetirementRecordDeps {
    iam: IAMClient;
    /** needed only to alert (held or refused retirements) */
    sns?: SNSClient;
    log?: Logger;
}

/** What advancing needs: it deactivates and deletes keys, so it re-reads the credential store first. */
export interface RetirementDeps extends RetirementRecordDeps {
    /** the credential store (auto: the secret; manual: the parameter), re-read before every deactivate and delete */
    store: CurrentCredentialReader;
}

export interface RetirementPolicy {
    /** hours the old key stays Active after the switch before IAM's last-use report is consulted (0 = at once) */
    observationHours: number;
    /** days an Inactive old key is kept (so it can be re-activated) before it is deleted */
    graceDays: number;
}

/** Plain JSON: suitable for stack outputs and dynamic-provider state. */
export interface RetirementReport {
    userName: string;
    checkedAt: string;
    keys: RetirementKeyReport[];
    /** key ids whose retirement is held (needs an operator: see overrideHold) */
    held: string[];
    /** records refused this run (inconsistent, or naming the key the credential store holds): nothing was changed for them */
    refused: RefusedRetirement[];
}

const HOUR_MS = 3600_000;

/** Validates a retirement policy, naming the bad field. */
export function assertRetirementPolicy(policy: RetirementPolicy): void {
    if (!policy || typeof policy !== "object") throw new Error("retirement policy must be an object {observationHours, graceDays}");
    if (typeof policy.observationHours !== "number" || !isFinite(policy.observationHours) || policy.observationHours < 0) {
        throw new Error(`retirement.observationHours ${JSON.stringify(policy.observationHours)} must be a number >= 0`);
    }
    if (typeof policy.graceDays !== "number" || !isFinite(policy.graceDays) || policy.graceDays < 0) {
        throw new Error(`retirement.graceDays ${JSON.stringify(policy.graceDays)} must be a number >= 0`);
    }
}

/** The user's retirement tags: consistent records, and the ones that are not (with what is wrong). */
export async function readRetirementTags(
    iam: IAMClient,
    userName: string,
): Promise<{ records: RetirementRecord[]; invalid: RefusedRetirement[] }> {
    const records: RetirementRecord[] = [];
    const invalid: RefusedRetirement[] = [];
    let marker: string | undefined;
    do {
        const page = await iam.send(new iamSdk.ListUserTagsCommand({ UserName: userName, Marker: marker }));
        for (const t of page.Tags ?? []) {
            if (!t.Key || !t.Key.startsWith(RETIREMENT_TAG_PREFIX)) continue;
            const parsed = parseRetirement(t.Key, t.Value ?? "");
            if ("record" in parsed) records.push(parsed.record);
            else invalid.push({ accessKeyId: t.Key.slice(RETIREMENT_TAG_PREFIX.length), reason: `inconsistent record: ${parsed.error}`, record: t.Value ?? "" });
        }
        marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return { records, invalid };
}

/** The user's consistent retirement records (from its tags); inconsistent ones are left out (advanceRetirements refuses them). */
export async function listRetirements(iam: IAMClient, userName: string): Promise<RetirementRecord[]> {
    return (await readRetirementTags(iam, userName)).records;
}

/**
 * Records that `oldAccessKeyId` is to be retired now that every server uses `newAccessKeyId`.
 * Idempotent: an existing record for the old key with the same replacement is kept as it is (its switch time
 * stands); one naming another replacement is replaced.
 */
export async function scheduleRetirement(
    deps: RetirementRecordDeps,
    req: { userName: string; oldAccessKeyId: string; newAccessKeyId: string; switchedAt: Date; observationHours?: number },
): Promise<RetirementRecord> {
    const log = deps.log ?? jsonLineLogger;
    if (!req.oldAccessKeyId) throw new Error("scheduleRetirement: oldAccessKeyId is required");
    if (!req.newAccessKeyId) throw new Error("scheduleRetirement: newAccessKeyId is required");
    if (req.oldAccessKeyId === req.newAccessKeyId) {
        throw new Error(`scheduleRetirement: oldAccessKeyId and newAccessKeyId are the same key (${req.oldAccessKeyId}); refusing to retire the key in use`);
    }
    const existing = (await listRetirements(deps.iam, req.userName)).find((r) => r.accessKeyId === req.oldAccessKeyId);
    if (existing && existing.newAccessKeyId === req.newAccessKeyId) return existing;
    // A record for the old key naming another replacement is stale or forged: the switch that just happened is the truth.
    if (existing) log("retirement record replaced: it named another replacement", { userName: req.userName, accessKeyId: existing.accessKeyId, recordedNew: existing.newAccessKeyId });
    const record: RetirementRecord = {
        accessKeyId: req.oldAccessKeyId,
        phase: "observing",
        newAccessKeyId: req.newAccessKeyId,
        switchedAt: isoSeconds(req.switchedAt),
    };
    if (req.observationHours !== undefined) {
        assertRetirementPolicy({ observationHours: req.observationHours, graceDays: 0 });
        record.deactivateAfter = isoSeconds(new Date(req.switchedAt.getTime() + req.observationHours * HOUR_MS));
    }
    await writeRecord(deps.iam, req.userName, record);
    log("retirement scheduled", { userName: req.userName, accessKeyId: record.accessKeyId, newAccessKeyId: record.newAccessKeyId, switchedAt: record.switchedAt });
    return record;
}

/**
 * Releases a held retirement: the next `advanceRetirements` deactivates the key despite the reported use.
 * Idempotent; refuses (naming the key) when there is no held retirement for it.
 */
export async function overrideHold(
    deps: RetirementRecordDeps,
    req: { userName: string; accessKeyId: string; now?: Date },
): Promise<RetirementRecord> {
    const record = (await listRetirements(deps.iam, req.userName)).find((r) => r.accessKeyId === req.accessKeyId);
    if (!record) throw new Error(`overrideHold: access key ${req.accessKeyId} of IAM user "${req.userName}" has no retirement in progress`);
    if (record.overrideAt) return record;
    if (record.phase !== "held") {
        throw new Error(`overrideHold: the retirement of access key ${req.accessKeyId} is not held (phase ${record.phase}); nothing to override`);
    }
    const updated = { ...record, overrideAt: isoSeconds(req.now ?? new Date()) };
    await writeRecord(deps.iam, req.userName, updated);
    (deps.log ?? jsonLineLogger)("retirement hold overridden", { userName: req.userName, accessKeyId: req.accessKeyId });
    return updated;
}

/** Moves every retirement of the user as far as its times allow. Returns what it did (plain JSON). */
export async function advanceRetirements(
    deps: RetirementDeps,
    req: { userName: string; policy: RetirementPolicy; notifyTopicArn?: string; now: Date },
): Promise<RetirementReport> {
    assertRetirementPolicy(req.policy);
    if (!deps.store) throw new Error("advanceRetirements: deps.store (the credential store reader) is required: it proves which key is in use");
    const { records, invalid } = await readRetirementTags(deps.iam, req.userName);
    const report: RetirementReport = { userName: req.userName, checkedAt: isoSeconds(req.now), keys: [], held: [], refused: [] };
    const keys = await listAccessKeys(deps.iam, req.userName);
    const scheduled = await scheduleReplacedKey(deps, req, [...records.map((r) => r.accessKeyId), ...invalid.map((r) => r.accessKeyId)], keys.map((k) => k.accessKeyId));
    for (const refused of invalid) await refuse(deps, req, report, refused);
    for (const record of scheduled ? [...records, scheduled.record] : records) {
        let entry = await advanceOne(deps, req, record, keys);
        if (isRefusal(entry)) {
            await refuse(deps, req, report, entry);
            continue;
        }
        if (record === scheduled?.record && entry.action === "none") entry = { ...entry, action: "scheduled", note: `${scheduled.note}; ${entry.note}` };
        report.keys.push(entry);
        if (entry.phase === "held" && !entry.overrideAt) report.held.push(entry.accessKeyId);
    }
    return report;
}

/**
 * A key the store shows replaced by a completed switch (auto: AWSPREVIOUS), still existing, with no record:
 * the finish step moved AWSCURRENT and crashed before recording its retirement. Schedule it now (observation
 * starts now), but only when the store proves it is not the current key.
 */
async function scheduleReplacedKey(
    deps: RetirementDeps,
    req: { userName: string; policy: RetirementPolicy; now: Date },
    recorded: string[],
    existing: string[],
): Promise<{ record: RetirementRecord; note: string } | undefined> {
    const replaced = await deps.store.replacedKeyId?.();
    if (!replaced || recorded.includes(replaced) || !existing.includes(replaced)) return undefined;
    const current = await deps.store.currentKeyId();
    if (!current || current === replaced || !existing.includes(current)) return undefined;
    const record = await scheduleRetirement(deps, {
        userName: req.userName,
        oldAccessKeyId: replaced,
        newAccessKeyId: current,
        switchedAt: req.now,
        observationHours: req.policy.observationHours,
    });
    return { record, note: `replaced in ${deps.store.description} by ${current} without a retirement record (an interrupted finish step): retirement scheduled` };
}

/** Reports and alerts a refused record; changes nothing. Alerted on every run until someone fixes or removes the record. */
async function refuse(deps: RetirementDeps, req: { userName: string; notifyTopicArn?: string }, report: RetirementReport, refused: RefusedRetirement): Promise<void> {
    const log = deps.log ?? jsonLineLogger;
    report.refused.push(refused);
    log("retirement: refused", { userName: req.userName, accessKeyId: refused.accessKeyId, reason: refused.reason });
    await publishNotice(
        deps.sns,
        req.notifyTopicArn,
        {
            kind: "retirement-refused",
            summary: `SES SMTP key retirement refused: record for ${refused.accessKeyId} of ${req.userName}`,
            subject: { iamUser: req.userName, accessKeyId: refused.accessKeyId },
            details: {
                reason: refused.reason,
                record: `${retirementTagKey(refused.accessKeyId)} = ${refused.record}`,
                action:
                    "Nothing was deactivated or deleted. Check who wrote this IAM user tag (CloudTrail iam:TagUser); if the key is really retired, " +
                    "fix or remove the tag; never retire the key the current credential uses.",
            },
        },
        { log },
    );
}
