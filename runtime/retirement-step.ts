/**
 * One retirement's next transition (retirement.ts runs it for every record of the user).
 *
 * Safety checks on top of the record's times:
 *  - before every deactivate and delete the credential store is re-read: a record naming the key the current
 *    credential names, or naming a replacement other than that key, is refused (nothing changes);
 *  - a deactivated key is deleted only while it is still Inactive (re-listed right before the delete); found
 *    Active again, its retirement is held with the evidence and an alert, until an operator overrides.
 */
import iamSdk = require("@aws-sdk/client-iam");
import type { IAMClient } from "@aws-sdk/client-iam";
import { AccessKeyInfo, deactivateAccessKey, deleteAccessKey, getAccessKeyLastUse, listAccessKeys } from "./access-keys";
import type { CurrentCredentialReader } from "./current-credential";
import { jsonLineLogger, Logger, publishNotice } from "./notify";
import { encodeRetirement, isoSeconds, RetirementRecord, retirementTagKey } from "./retirement-record";
import type { SNSClient } from "@aws-sdk/client-sns";

const HOUR_MS = 3600_000;
const DAY_MS = 24 * HOUR_MS;

/** What advanceRetirements did to one key. */
export type RetirementAction = "none" | "scheduled" | "held" | "deactivated" | "deleted" | "record-removed";

export interface RetirementKeyReport extends RetirementRecord {
    /** the key's state in IAM after this run */
    keyStatus: "Active" | "Inactive" | "absent";
    action: RetirementAction;
    /** when the next transition is due, if it is time-based */
    nextStepAt?: string;
    note: string;
}

/** A record the retirement refused to act on (plain JSON). */
export interface RefusedRetirement {
    accessKeyId: string;
    /** what is wrong, naming the store when it was consulted */
    reason: string;
    /** the record as stored (the IAM tag value) */
    record: string;
}

export function isRefusal(x: RetirementKeyReport | RefusedRetirement): x is RefusedRetirement {
    return !("action" in x);
}

interface StepDeps {
    iam: IAMClient;
    sns?: SNSClient;
    log?: Logger;
    store: CurrentCredentialReader;
}

interface StepRequest {
    userName: string;
    policy: { observationHours: number; graceDays: number };
    notifyTopicArn?: string;
    now: Date;
}

/** Writes (or replaces) the record's tag. */
export async function writeRecord(iam: IAMClient, userName: string, record: RetirementRecord): Promise<void> {
    await iam.send(new iamSdk.TagUserCommand({ UserName: userName, Tags: [{ Key: retirementTagKey(record.accessKeyId), Value: encodeRetirement(record) }] }));
}

/** Removes the record's tag. */
export async function removeRecord(iam: IAMClient, userName: string, accessKeyId: string): Promise<void> {
    await iam.send(new iamSdk.UntagUserCommand({ UserName: userName, TagKeys: [retirementTagKey(accessKeyId)] }));
}

/**
 * Re-reads the credential store. Returns why the record's key must not be deactivated or deleted, or
 * undefined when the store proves it is out of use (the current credential names the record's replacement).
 */
export async function storeObjection(store: CurrentCredentialReader, record: RetirementRecord): Promise<string | undefined> {
    const current = await store.currentKeyId();
    if (!current) return `the credential store (${store.description}) holds no readable SMTP credential, so nothing proves ${record.accessKeyId} is out of use`;
    if (current === record.accessKeyId) {
        return `the current credential in ${store.description} names ${record.accessKeyId}: the key in use is never deactivated or deleted, whatever a record says`;
    }
    if (current !== record.newAccessKeyId) {
        return `the record names ${record.newAccessKeyId} as the replacement, but the current credential in ${store.description} names ${current}`;
    }
    return undefined;
}

type Out = (r: RetirementRecord, keyStatus: RetirementKeyReport["keyStatus"], action: RetirementAction, note: string, nextStepAt?: string) => RetirementKeyReport;

function refusal(record: RetirementRecord, reason: string): RefusedRetirement {
    return { accessKeyId: record.accessKeyId, reason, record: encodeRetirement(record) };
}

/** The deactivated key is Active again: someone re-activated it. Hold (alert first, then record). */
async function holdReactivated(deps: StepDeps, req: StepRequest, r: RetirementRecord, out: Out): Promise<RetirementKeyReport> {
    const log = deps.log ?? jsonLineLogger;
    const use = await getAccessKeyLastUse(deps.iam, r.accessKeyId);
    const { overrideAt: _released, evidence: _old, ...rest } = r;
    const held: RetirementRecord = { ...rest, phase: "held", heldReason: "reactivated" };
    if (use.lastUsedDate) held.evidence = { lastUsedDate: use.lastUsedDate, serviceName: use.serviceName, region: use.region };
    const seen = `found Active at ${isoSeconds(req.now)} after its deactivation (re-activated); IAM's last use: ${use.lastUsedDate ?? "none"} (${use.serviceName ?? "?"}, ${use.region ?? "?"})`;
    await publishNotice(
        deps.sns,
        req.notifyTopicArn,
        {
            kind: "retirement-held",
            summary: `SES SMTP key retirement held: old key ${r.accessKeyId} of ${req.userName} was re-activated`,
            subject: { iamUser: req.userName, accessKeyId: r.accessKeyId },
            details: {
                evidence: { status: "Active", ...use },
                seen,
                switchedAt: r.switchedAt,
                newAccessKeyId: r.newAccessKeyId,
                action: "Someone re-activated the old key (a missed consumer?). It will not be deleted. Move that consumer to the current credential, then override the hold: the key is deactivated again and deleted after a new grace period.",
            },
        },
        { log },
    );
    await writeRecord(deps.iam, req.userName, held);
    return out(held, "Active", "held", `the key was re-activated: ${seen}; held, never deleted while Active`);
}

/** Deletes the (deactivated) key if it is still Inactive (re-listed now) and the store agrees; else hold or refuse. */
async function deleteIfSafe(deps: StepDeps, req: StepRequest, r: RetirementRecord, note: string, out: Out): Promise<RetirementKeyReport | RefusedRetirement> {
    const fresh = (await listAccessKeys(deps.iam, req.userName)).find((k) => k.accessKeyId === r.accessKeyId);
    if (!fresh) {
        await removeRecord(deps.iam, req.userName, r.accessKeyId);
        return out(r, "absent", "record-removed", "the key no longer exists; retirement complete");
    }
    if (fresh.status === "Active") return holdReactivated(deps, req, r, out);
    const objection = await storeObjection(deps.store, r);
    if (objection) return refusal(r, objection);
    await deleteAccessKey(deps.iam, req.userName, r.accessKeyId);
    await removeRecord(deps.iam, req.userName, r.accessKeyId);
    return out(r, "absent", "deleted", note);
}

/** Moves one retirement on, or refuses it. */
export async function advanceOne(deps: StepDeps, req: StepRequest, record: RetirementRecord, keys: AccessKeyInfo[]): Promise<RetirementKeyReport | RefusedRetirement> {
    const log = deps.log ?? jsonLineLogger;
    const { iam } = deps;
    const { userName, now } = req;
    const key = keys.find((k) => k.accessKeyId === record.accessKeyId);
    const out: Out = (r, keyStatus, action, note, nextStepAt) => {
        if (action !== "none") log(`retirement: ${action}`, { userName, accessKeyId: r.accessKeyId, phase: r.phase, note });
        return { ...r, keyStatus, action, note, ...(nextStepAt ? { nextStepAt } : {}) };
    };

    if (!key) {
        // Deleted (by us before a crash, or by someone else): the record has nothing left to retire.
        await removeRecord(iam, userName, record.accessKeyId);
        return out(record, "absent", "record-removed", "the key no longer exists; retirement complete");
    }

    // A record naming the key in use is refused before anything else (it is no retirement at all).
    const current = await deps.store.currentKeyId();
    if (current === record.accessKeyId) {
        return refusal(record, `the current credential in ${deps.store.description} names ${record.accessKeyId}: the key in use is never deactivated or deleted, whatever a record says`);
    }

    if (record.phase === "deactivated") {
        if (key.status === "Active") return holdReactivated(deps, req, record, out);
        const deleteAfter = record.deleteAfter ?? isoSeconds(now);
        if (now.getTime() < Date.parse(deleteAfter)) {
            return out(record, key.status, "none", `Inactive; will be deleted after ${deleteAfter}`, deleteAfter);
        }
        return deleteIfSafe(deps, req, record, "grace period over: key deleted", out);
    }

    if (record.phase === "held" && !record.overrideAt) {
        const why =
            record.heldReason === "reactivated"
                ? "held: the key was re-activated after its deactivation"
                : "held: IAM reported a use of the old key after the switch";
        return out(record, key.status, "none", `${why}; an operator must check the consumer, then override`);
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

    // Never retire the key the current credential names, whatever the record says.
    const objection = await storeObjection(deps.store, record);
    if (objection) return refusal(record, objection);

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
    if (req.policy.graceDays === 0) return deleteIfSafe(deps, req, deactivated, "no use after the switch; deactivated and deleted (grace period 0)", out);
    await writeRecord(iam, userName, deactivated);
    return out(deactivated, "Inactive", "deactivated", `no use after the switch; Inactive, will be deleted after ${graceEnds}`, graceEnds);
}
