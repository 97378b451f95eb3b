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
 */
import iamSdk = require("@aws-sdk/client-iam");
import type { IAMClient } from "@aws-sdk/client-iam";
import type { SNSClient } from "@aws-sdk/client-sns";
import { AccessKeyInfo, deactivateAccessKey, deleteAccessKey, getAccessKeyLastUse, listAccessKeys } from "./access-keys";
import { jsonLineLogger, Logger, publishNotice } from "./notify";
import {
    decodeRetirement,
    encodeRetirement,
    isoSeconds,
    RETIREMENT_TAG_PREFIX,
    RetirementRecord,
    retirementTagKey,
} from "./retirement-record";

export * from "./retirement-record";

export interface RetirementDeps {
    iam: IAMClient;
    /** needed only to alert (held retirements) */
    sns?: SNSClient;
    log?: Logger;
}

export interface RetirementPolicy {
    /** hours the old key stays Active after the switch before IAM's last-use report is consulted (0 = at once) */
    observationHours: number;
    /** days an Inactive old key is kept (so it can be re-activated) before it is deleted */
    graceDays: number;
}

/** What advanceRetirements did to one key. */
export type RetirementAction = "none" | "held" | "deactivated" | "deleted" | "record-removed";

export interface RetirementKeyReport extends RetirementRecord {
    /** the key's state in IAM after this run */
    keyStatus: "Active" | "Inactive" | "absent";
    action: RetirementAction;
    /** when the next transition is due, if it is time-based */
    nextStepAt?: string;
    note: string;
}

/** Plain JSON: suitable for stack outputs and dynamic-provider state. */
export interface RetirementReport {
    userName: string;
    checkedAt: string;
    keys: RetirementKeyReport[];
    /** key ids whose retirement is held (needs an operator: see overrideHold) */
    held: string[];
}

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

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

/** All retirement records of the user (from its tags). */
export async function listRetirements(iam: IAMClient, userName: string): Promise<RetirementRecord[]> {
    const records: RetirementRecord[] = [];
    let marker: string | undefined;
    do {
        const page = await iam.send(new iamSdk.ListUserTagsCommand({ UserName: userName, Marker: marker }));
        for (const t of page.Tags ?? []) {
            const r = t.Key && t.Key.startsWith(RETIREMENT_TAG_PREFIX) ? decodeRetirement(t.Key, t.Value ?? "") : undefined;
            if (r) records.push(r);
        }
        marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    return records;
}

async function writeRecord(iam: IAMClient, userName: string, record: RetirementRecord): Promise<void> {
    await iam.send(
        new iamSdk.TagUserCommand({ UserName: userName, Tags: [{ Key: retirementTagKey(record.accessKeyId), Value: encodeRetirement(record) }] }),
    );
}

async function removeRecord(iam: IAMClient, userName: string, accessKeyId: string): Promise<void> {
    await iam.send(new iamSdk.UntagUserCommand({ UserName: userName, TagKeys: [retirementTagKey(accessKeyId)] }));
}

/**
 * Records that `oldAccessKeyId` is to be retired now that every server uses `newAccessKeyId`.
 * Idempotent: an existing record for the old key is kept as it is (its switch time stands).
 */
export async function scheduleRetirement(
    deps: RetirementDeps,
    req: { userName: string; oldAccessKeyId: string; newAccessKeyId: string; switchedAt: Date; observationHours?: number },
): Promise<RetirementRecord> {
    const log = deps.log ?? jsonLineLogger;
    if (!req.oldAccessKeyId) throw new Error("scheduleRetirement: oldAccessKeyId is required");
    if (!req.newAccessKeyId) throw new Error("scheduleRetirement: newAccessKeyId is required");
    if (req.oldAccessKeyId === req.newAccessKeyId) {
        throw new Error(`scheduleRetirement: oldAccessKeyId and newAccessKeyId are the same key (${req.oldAccessKeyId}); refusing to retire the key in use`);
    }
    const existing = (await listRetirements(deps.iam, req.userName)).find((r) => r.accessKeyId === req.oldAccessKeyId);
    if (existing) return existing;
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
    deps: RetirementDeps,
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
    const records = await listRetirements(deps.iam, req.userName);
    const report: RetirementReport = { userName: req.userName, checkedAt: isoSeconds(req.now), keys: [], held: [] };
    if (records.length === 0) return report;
    const keys = await listAccessKeys(deps.iam, req.userName);
    for (const record of records) {
        const entry = await advanceOne(deps, req, record, keys);
        report.keys.push(entry);
        if (entry.phase === "held" && !entry.overrideAt) report.held.push(entry.accessKeyId);
    }
    return report;
}

async function advanceOne(
    deps: RetirementDeps,
    req: { userName: string; policy: RetirementPolicy; notifyTopicArn?: string; now: Date },
    record: RetirementRecord,
    keys: AccessKeyInfo[],
): Promise<RetirementKeyReport> {
    const log = deps.log ?? jsonLineLogger;
    const { iam } = deps;
    const { userName, now } = req;
    const key = keys.find((k) => k.accessKeyId === record.accessKeyId);
    const out = (r: RetirementRecord, keyStatus: RetirementKeyReport["keyStatus"], action: RetirementAction, note: string, nextStepAt?: string) => {
        if (action !== "none") log(`retirement: ${action}`, { userName, accessKeyId: r.accessKeyId, phase: r.phase, note });
        return { ...r, keyStatus, action, note, ...(nextStepAt ? { nextStepAt } : {}) };
    };

    if (!key) {
        // Deleted (by us before a crash, or by someone else): the record has nothing left to retire.
        await removeRecord(iam, userName, record.accessKeyId);
        return out(record, "absent", "record-removed", "the key no longer exists; retirement complete");
    }

    if (record.phase === "deactivated") {
        const deleteAfter = record.deleteAfter ?? isoSeconds(now);
        if (now.getTime() < Date.parse(deleteAfter)) {
            return out(record, key.status, "none", `Inactive; will be deleted after ${deleteAfter}`, deleteAfter);
        }
        await deleteAccessKey(iam, userName, record.accessKeyId);
        await removeRecord(iam, userName, record.accessKeyId);
        return out(record, "absent", "deleted", "grace period over: key deleted");
    }

    if (record.phase === "held" && !record.overrideAt) {
        return out(record, key.status, "none", "held: IAM reported a use of the old key after the switch; an operator must check the consumer, then override");
    }

    // observing (or held and overridden): is the observation window over?
    const deactivateAfter = record.deactivateAfter ?? isoSeconds(new Date(Date.parse(record.switchedAt) + req.policy.observationHours * HOUR_MS));
    if (record.phase === "observing" && now.getTime() < Date.parse(deactivateAfter)) {
        return out(record, key.status, "none", `observing until ${deactivateAfter}`, deactivateAfter);
    }

    // Never retire the old key while its replacement is not usable.
    const replacement = keys.find((k) => k.accessKeyId === record.newAccessKeyId);
    if (!replacement || replacement.status !== "Active") {
        return out(
            record,
            key.status,
            "none",
            `not retiring: the replacement key ${record.newAccessKeyId} is ${replacement ? replacement.status : "absent"}; the old key stays as it is`,
        );
    }

    if (record.phase === "observing" && key.status === "Active") {
        const use = await getAccessKeyLastUse(iam, record.accessKeyId);
        if (use.lastUsedDate && Date.parse(use.lastUsedDate) > Date.parse(record.switchedAt)) {
            const held: RetirementRecord = { ...record, phase: "held", evidence: { lastUsedDate: use.lastUsedDate, serviceName: use.serviceName, region: use.region } };
            // Alert first, then record: a crash in between repeats the alert rather than losing it.
            await publishNotice(
                deps.sns,
                req.notifyTopicArn,
                {
                    kind: "retirement-held",
                    summary: `SES SMTP key retirement held: old key ${record.accessKeyId} of ${userName} was used after the switch`,
                    subject: { iamUser: userName, accessKeyId: record.accessKeyId },
                    details: {
                        evidence: held.evidence,
                        switchedAt: record.switchedAt,
                        newAccessKeyId: record.newAccessKeyId,
                        action: "Find the consumer still using the old key and move it to the current credential, then override the hold.",
                    },
                },
                { log },
            );
            await writeRecord(iam, userName, held);
            return out(held, key.status, "held", `used at ${use.lastUsedDate} (${use.serviceName ?? "?"}, ${use.region ?? "?"}) after the switch at ${record.switchedAt}`);
        }
    }

    const graceEnds = isoSeconds(new Date(now.getTime() + req.policy.graceDays * DAY_MS));
    if (key.status === "Active") await deactivateAccessKey(iam, userName, record.accessKeyId);
    const deactivated: RetirementRecord = { ...record, phase: "deactivated", deactivateAfter, deleteAfter: graceEnds };
    if (req.policy.graceDays === 0) {
        await deleteAccessKey(iam, userName, record.accessKeyId);
        await removeRecord(iam, userName, record.accessKeyId);
        return out(deactivated, "absent", "deleted", "no use after the switch; deactivated and deleted (grace period 0)");
    }
    await writeRecord(iam, userName, deactivated);
    return out(deactivated, "Inactive", "deactivated", `no use after the switch; Inactive, will be deleted after ${graceEnds}`, graceEnds);
}
