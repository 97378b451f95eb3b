/**
 * RetireOldKeys task (manual mode): CredentialRotation's bridge to the usage-guarded retirement that both
 * modes share (../retirement.ts: records kept as IAM user tags, read by the RetirementGuard provider too).
 *
 *  - `schedule` (once every server confirmed): `scheduleRetirement` for each old key of this rotation
 *    (old key, new key, switchedAt = now). Idempotent: an existing record keeps its switch time.
 *  - `advance` (after each Wait): `advanceRetirements` — observation over → IAM's GetAccessKeyLastUsed
 *    decides: used after the switch → held (the state machine alerts and ends RetirementHeld); not used →
 *    Inactive; grace over → deleted.
 *
 * Both return the rotation's retirement `state` and `waitSeconds` until its next time-based step, so the
 * state machine loops Wait → advance until `done`, `held` or `blocked`; a retry of either action, or a
 * crash anywhere, converges (each transition is one IAM call plus one tag write, see ../retirement.ts).
 */
import type { IAMClient } from "@aws-sdk/client-iam";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { listAccessKeys } from "../access-keys";
import { parameterCredentialReader } from "./current-parameter";
import { jsonLineLogger, Logger } from "../notify";
import { advanceRetirements, isoSeconds, listRetirements, RetirementKeyReport, scheduleRetirement, UsageEvidence } from "../retirement";

export interface RetireDeps {
    iam: IAMClient;
    /** reads the credential parameter: its latest version's key is never deactivated or deleted */
    ssm: SSMClient;
    log?: Logger;
}

export interface RetireConfig {
    iamUserName: string;
    /** the SecureString credential parameter (its latest version names the key in use) */
    parameterName: string;
}

export interface RetireEvent {
    action: "schedule" | "advance";
    /** the keys this rotation retires (CreateCredential's previousAccessKeyIds) */
    accessKeyIds: string[];
    /** the new key every server confirmed: never touched */
    keepAccessKeyId: string;
    /** how long the old key stays Active after the switch before IAM's last-use report decides */
    observationSeconds: number;
    /** how long a deactivated old key is kept before it is deleted */
    graceSeconds: number;
}

/**
 * The rotation's retirement as a whole: `observing` / `deactivated` = wait `waitSeconds` and advance again;
 * `held` = an old key was used after the switch (operator must override); `blocked` = cannot proceed
 * safely (the note says why); `done` = every old key of this rotation is deleted.
 */
export type RotationRetirementState = "observing" | "deactivated" | "held" | "blocked" | "done";

export interface RetiredKeyStatus {
    accessKeyId: string;
    phase: "observing" | "held" | "deactivated" | "deleted";
    note: string;
    evidence?: UsageEvidence;
}

export interface RetireResult {
    action: RetireEvent["action"];
    state: RotationRetirementState;
    /** seconds until the next time-based step (at least 1; 0 when nothing is left to wait for) */
    waitSeconds: number;
    keys: RetiredKeyStatus[];
    /** the keys whose retirement is held, with IAM's evidence */
    held: RetiredKeyStatus[];
}

const MAX_SECONDS = 365 * 24 * 3600;

function assertEvent(event: RetireEvent): void {
    if (event?.action !== "schedule" && event?.action !== "advance") throw new Error(`action ${JSON.stringify(event?.action)} must be "schedule" or "advance"`);
    if (!Array.isArray(event.accessKeyIds) || event.accessKeyIds.some((k) => typeof k !== "string")) throw new Error("accessKeyIds must be a list of access key ids");
    if (typeof event.keepAccessKeyId !== "string" || event.keepAccessKeyId === "") throw new Error("keepAccessKeyId must be the new access key id");
    for (const field of ["observationSeconds", "graceSeconds"] as const) {
        const v = event[field];
        if (!Number.isInteger(v) || v < 0 || v > MAX_SECONDS) throw new Error(`${field} ${JSON.stringify(v)} must be an integer number of seconds from 0 to ${MAX_SECONDS}`);
    }
}

function secondsUntil(times: (string | undefined)[], now: Date): number {
    const due = times.filter((t): t is string => !!t).map((t) => Date.parse(t) - now.getTime());
    if (due.length === 0) return 0;
    return Math.max(1, Math.ceil(Math.max(...due) / 1000));
}

/** Aggregates per-key reports into the rotation's state. */
function summarize(action: RetireEvent["action"], keys: (RetiredKeyStatus & { nextStepAt?: string; blocked?: boolean })[], now: Date): RetireResult {
    const held = keys.filter((k) => k.phase === "held");
    const state: RotationRetirementState = held.length
        ? "held"
        : keys.some((k) => k.blocked)
          ? "blocked"
          : keys.some((k) => k.phase === "observing")
            ? "observing"
            : keys.some((k) => k.phase === "deactivated")
              ? "deactivated"
              : "done";
    const waitSeconds = state === "observing" || state === "deactivated" ? Math.max(1, secondsUntil(keys.map((k) => k.nextStepAt), now)) : 0;
    const plain = keys.map(({ nextStepAt: _n, blocked: _b, ...k }) => k);
    return { action, state, waitSeconds, keys: plain, held: plain.filter((k) => k.phase === "held") };
}

function fromReport(k: RetirementKeyReport): RetiredKeyStatus & { nextStepAt?: string; blocked?: boolean } {
    const deleted = k.action === "deleted" || k.action === "record-removed";
    const heldNow = k.phase === "held" && !k.overrideAt;
    return {
        accessKeyId: k.accessKeyId,
        phase: deleted ? "deleted" : heldNow ? "held" : k.phase === "held" ? "observing" : k.phase,
        note: k.note,
        ...(k.evidence ? { evidence: k.evidence } : {}),
        ...(k.nextStepAt ? { nextStepAt: k.nextStepAt } : {}),
        // advanceRetirements reports "none" without a next time only when it refuses to proceed (replacement not Active).
        ...(!deleted && !heldNow && k.action === "none" && !k.nextStepAt ? { blocked: true } : {}),
    };
}

/** The RetireOldKeys Lambda handler. */
export function createRetireHandler(deps: RetireDeps, config: RetireConfig): (event: RetireEvent) => Promise<RetireResult> {
    if (typeof config?.iamUserName !== "string" || config.iamUserName === "") throw new Error("iamUserName must be a non-empty IAM user name");
    const store = parameterCredentialReader(deps.ssm, config.parameterName);
    const log = deps.log ?? jsonLineLogger;
    const userName = config.iamUserName;
    return async (event) => {
        assertEvent(event);
        const now = new Date();
        const targets = [...new Set(event.accessKeyIds.filter((k) => k !== event.keepAccessKeyId))];
        const existing = new Set((await listAccessKeys(deps.iam, userName)).map((k) => k.accessKeyId));
        let result: RetireResult;
        if (event.action === "schedule") {
            const keys: (RetiredKeyStatus & { nextStepAt?: string })[] = [];
            for (const accessKeyId of targets) {
                if (!existing.has(accessKeyId)) {
                    keys.push({ accessKeyId, phase: "deleted", note: "the key no longer exists" });
                    continue;
                }
                const r = await scheduleRetirement(
                    { iam: deps.iam, log },
                    { userName, oldAccessKeyId: accessKeyId, newAccessKeyId: event.keepAccessKeyId, switchedAt: now, observationHours: event.observationSeconds / 3600 },
                );
                const nextStepAt = r.phase === "observing" ? (r.deactivateAfter ?? isoSeconds(new Date(Date.parse(r.switchedAt) + event.observationSeconds * 1000))) : r.deleteAfter;
                keys.push({ accessKeyId, phase: r.phase, note: `retirement recorded (switched ${r.switchedAt})`, ...(r.evidence ? { evidence: r.evidence } : {}), ...(nextStepAt ? { nextStepAt } : {}) });
            }
            result = summarize("schedule", keys, now);
        } else {
            const report = await advanceRetirements(
                { iam: deps.iam, log, store },
                { userName, policy: { observationHours: event.observationSeconds / 3600, graceDays: event.graceSeconds / 86400 }, now },
            );
            const recorded = new Set((await listRetirements(deps.iam, userName)).map((r) => r.accessKeyId));
            const keys = targets.map((accessKeyId) => {
                const entry = report.keys.find((k) => k.accessKeyId === accessKeyId);
                if (entry) return fromReport(entry);
                const refused = report.refused.find((k) => k.accessKeyId === accessKeyId);
                if (refused) return { accessKeyId, phase: "observing" as const, note: `retirement refused: ${refused.reason}`, blocked: true };
                if (!existing.has(accessKeyId)) return { accessKeyId, phase: "deleted" as const, note: "the key no longer exists" };
                return {
                    accessKeyId,
                    phase: "observing" as const,
                    note: recorded.has(accessKeyId) ? "retirement record appeared during this run" : "the key exists but has no retirement record (its ses-rotator:retire tag was removed); retire it by hand",
                    blocked: true,
                };
            });
            result = summarize("advance", keys, now);
        }
        log(`old keys: ${event.action}`, { userName, state: result.state, waitSeconds: result.waitSeconds, keys: result.keys.map((k) => `${k.accessKeyId}:${k.phase}`) });
        return result;
    };
}
