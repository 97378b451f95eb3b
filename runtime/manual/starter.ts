/**
 * The starter Lambda: starts CredentialRotation with an audit-friendly name `password-rotation-dd-mm-yy`
 * (date in the configured time zone), suffixed `-2`, `-3`, ... when that name is taken (started twice a day;
 * Step Functions keeps names unique for 90 days, and ours are unique for 100 years via the yy).
 *
 * Retries are idempotent: the input carries the trigger's identity (EventBridge Scheduler's scheduled time,
 * or the caller's request id), and Step Functions answers StartExecution with the same name and input as a
 * RUNNING execution with that execution, instead of starting another.
 */
import sfnSdk = require("@aws-sdk/client-sfn");
import type { SFNClient } from "@aws-sdk/client-sfn";
import { randomUUID } from "crypto";
import { jsonLineLogger, Logger } from "../notify";

export interface StarterDeps {
    sfn: SFNClient;
    log?: Logger;
    now?: () => Date;
}

export interface StarterConfig {
    stateMachineArn: string;
    /** IANA time zone for the date in the name, e.g. Europe/Berlin (default UTC) */
    timeZone?: string;
}

/** From EventBridge Scheduler (`<aws.scheduler.scheduled-time>`) or an operator (`requestId`). */
export interface StarterEvent {
    scheduledTime?: string;
    requestId?: string;
}

export const MAX_SAME_DAY_RUNS = 50;

/** `password-rotation-dd-mm-yy` for the date in `timeZone`. */
export function rotationExecutionBaseName(date: Date, timeZone = "UTC"): string {
    let parts: Intl.DateTimeFormatPart[];
    try {
        parts = new Intl.DateTimeFormat("en-GB", { timeZone, day: "2-digit", month: "2-digit", year: "2-digit" }).formatToParts(date);
    } catch {
        throw new Error(`timeZone ${JSON.stringify(timeZone)} is not an IANA time zone (e.g. Europe/Berlin)`);
    }
    const part = (t: string) => parts.find((p) => p.type === t)!.value;
    return `password-rotation-${part("day")}-${part("month")}-${part("year")}`;
}

/** The starter handler: returns the execution it started (or found running for the same trigger). */
export function createStarterHandler(deps: StarterDeps, config: StarterConfig): (event?: StarterEvent) => Promise<{ executionArn: string; name: string }> {
    if (typeof config?.stateMachineArn !== "string" || !/^arn:[a-z-]+:states:/.test(config.stateMachineArn)) {
        throw new Error(`stateMachineArn ${JSON.stringify(config?.stateMachineArn)} is not a Step Functions state machine ARN`);
    }
    rotationExecutionBaseName(new Date(), config.timeZone); // validates the time zone now
    const log = deps.log ?? jsonLineLogger;
    return async (event) => {
        const scheduled = event?.scheduledTime ? new Date(event.scheduledTime) : undefined;
        if (scheduled && isNaN(scheduled.getTime())) throw new Error(`scheduledTime ${JSON.stringify(event!.scheduledTime)} is not an ISO-8601 time`);
        const when = scheduled ?? (deps.now ?? (() => new Date()))();
        const input = JSON.stringify(scheduled ? { trigger: "schedule", scheduledTime: scheduled.toISOString() } : { trigger: "on-demand", requestId: event?.requestId ?? randomUUID() });
        const base = rotationExecutionBaseName(when, config.timeZone);
        for (let n = 1; n <= MAX_SAME_DAY_RUNS; n++) {
            const name = n === 1 ? base : `${base}-${n}`;
            try {
                const out = await deps.sfn.send(new sfnSdk.StartExecutionCommand({ stateMachineArn: config.stateMachineArn, name, input }));
                log("rotation started", { name, executionArn: out.executionArn });
                return { executionArn: out.executionArn!, name };
            } catch (e) {
                if ((e as { name?: string }).name !== "ExecutionAlreadyExists") throw e;
            }
        }
        throw new Error(`more than ${MAX_SAME_DAY_RUNS} rotations named ${base}: refusing to start another today`);
    };
}
