/**
 * The three manual-mode state machines as Amazon States Language (pure builders; JSON-serialisable objects).
 *
 * CredentialRotation (Standard workflow, may run up to a year), its history bounded whatever the fleet size:
 *   CountServers (refuse above MAX_SERVERS_PER_RUN before any key exists) → CreateCredential →
 *   AwaitConfirmations (ONE `lambda:invoke.waitForTaskToken` for every owner: the Lambda records the token and
 *   starts the first ConfirmationPage execution; the last server's ReportOutcome completes it with the tally) →
 *   all confirmed? → ScheduleRetirement → [Wait → AdvanceRetirement]* (usage-guarded retirement shared with auto
 *   mode, runtime/retirement.ts: observe, then IAM last use decides: deactivate → grace → delete, or hold) →
 *   notify; held → alert with the evidence, end RetirementHeld (old key Active); otherwise fail, old key Active.
 * ConfirmationPage (one execution per page of the fleet, chained: each starts the next when it is done, so
 *   the pages run one after another): ListServersPage → ConfirmServers (inline Map, MaxConcurrency = the
 *   concurrency limit on API calls: each iteration only STARTS one server's ManualConfirmation and returns) →
 *   PageDone (counts the page, starts the next page). Every owner is mailed within the fan-out's minutes; nobody
 *   waits for another owner's answer. Its history is bounded by the page size.
 * ManualConfirmation (one per server): a Parallel of the owner wait (`.waitForTaskToken`, TimeoutSeconds)
 *   and a reminder loop; the wait's success ends the Parallel through a Fail state caught as "OwnerConfirmed"
 *   (the usual way to end a sibling loop), then ReportOutcome (tallies the server, completes the rotation's
 *   wait when it is the last). The wait's failures leave the branch under custom names
 *   (ConfirmationTimedOut, OwnerRejected, ConfirmationFailed): clearer in the history, and moto's Parallel
 *   cannot re-raise a States.* error from a branch.
 * Executions are started by Lambda tasks (not `states:startExecution`): moto's interpreter cannot serialise
 * that integration's AWS-valid parameters; this pattern is valid on AWS and runs unchanged in moto.
 */

/** Lambda errors worth retrying (AWS's recommended list for lambda:invoke). */
export const LAMBDA_TRANSIENT_ERRORS = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException", "Lambda.TooManyRequestsException"];

export const DEFAULT_GRACE_SECONDS = 3 * 24 * 3600;
/** how long the old key stays Active after the switch before IAM's last-use report decides (as auto mode) */
export const DEFAULT_OBSERVATION_SECONDS = 24 * 3600;
export const DEFAULT_MAX_CONCURRENCY = 10;
export const DEFAULT_REMINDER_SECONDS = 24 * 3600;
export const DEFAULT_CONFIRMATION_TIMEOUT_SECONDS = 14 * 24 * 3600;
/** Step Functions Standard workflows run at most one year. */
export const MAX_EXECUTION_SECONDS = 365 * 24 * 3600;
/** extra time the rotation's iteration waits beyond the confirmation timeout for the outcome report */
export const REPORT_MARGIN_SECONDS = 3600;
/** time allowed for starting every server's confirmation (the rotation's wait = timeout + margin + this) */
export const FAN_OUT_ALLOWANCE_SECONDS = 24 * 3600;
/** the longest confirmation timeout the rotation's single wait still fits into one execution */
export const MAX_CONFIRMATION_TIMEOUT_SECONDS = MAX_EXECUTION_SECONDS - REPORT_MARGIN_SECONDS - FAN_OUT_ALLOWANCE_SECONDS;
/**
 * The most servers one run confirms. No execution's history grows with the fleet (the rotation's is fixed,
 * a page's is bounded by the page size, a server's by its reminders); the bound keeps the run within the
 * account's default quotas with headroom (1,000,000 open executions, StartExecution's token bucket, the
 * fan-out allowance) and is checked before any key is created.
 */
export const MAX_SERVERS_PER_RUN = 100_000;
/** a ConfirmationPage execution's own limit (a page only starts executions; 1,000 servers take minutes) */
export const PAGE_TIMEOUT_SECONDS = 24 * 3600;

export interface CredentialRotationDefinitionOptions {
    createCredentialArn: string;
    /** counts the fleet before the run (mode "count") */
    listServersPageArn: string;
    /** the fan-out Lambda (action "begin" records the rotation's wait and starts the first page) */
    startConfirmationArn: string;
    retireOldKeysArn: string;
    /** the ConfirmationPage state machine */
    confirmationPageStateMachineArn: string;
    notifyTopicArn: string;
    /** the most servers a run confirms (refused above, before any key exists); default and at most MAX_SERVERS_PER_RUN */
    maxServers?: number;
    /** seconds between deactivating and deleting the old keys; default 3 days */
    graceSeconds?: number;
    /** seconds the old key stays Active after every server confirmed, before IAM's last-use report decides; default 24 h */
    observationSeconds?: number;
    /** the ManualConfirmation wait timeout (the rotation waits this plus REPORT_MARGIN_SECONDS and FAN_OUT_ALLOWANCE_SECONDS) */
    confirmationTimeoutSeconds?: number;
    /** AWS partition of the integration ARNs (aws, aws-cn, aws-us-gov); default aws */
    partition?: string;
}

export interface ManualConfirmationDefinitionOptions {
    requestConfirmationArn: string;
    remindOwnerArn: string;
    reportOutcomeArn: string;
    /** seconds between reminders; default 1 day */
    reminderSeconds?: number;
    /** seconds the owner has to confirm; default 14 days */
    confirmationTimeoutSeconds?: number;
    /** AWS partition of the integration ARNs; default aws */
    partition?: string;
}

export function partitionOf(value: unknown): string {
    if (value === undefined) return "aws";
    if (typeof value !== "string" || !/^aws(-[a-z]+)*$/.test(value)) throw new Error(`partition ${JSON.stringify(value)} is not an AWS partition (aws, aws-cn, aws-us-gov, ...)`);
    return value;
}

export function requireArn(field: string, value: unknown, service: string): string {
    if (typeof value !== "string" || !new RegExp(`^arn:[a-z-]+:${service}:`).test(value)) {
        throw new Error(`${field} ${JSON.stringify(value)} is not a ${service} ARN`);
    }
    return value;
}

export function seconds(field: string, value: unknown, fallback: number, min: number, max: number): number {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || (value as number) < min || (value as number) > max) throw new Error(`${field} ${JSON.stringify(value)} must be an integer from ${min} to ${max}`);
    return value as number;
}

const lambdaRetry = (maxAttempts = 6) => [{ ErrorEquals: LAMBDA_TRANSIENT_ERRORS, IntervalSeconds: 2, MaxAttempts: maxAttempts, BackoffRate: 2 }];
/** For idempotent handlers: transient Lambda errors, then any error a few more times. */
export const idempotentRetry = () => [...lambdaRetry(), { ErrorEquals: ["States.ALL"], IntervalSeconds: 5, MaxAttempts: 2, BackoffRate: 2 }];

export function invoke(partition: string, functionArn: string, payload: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
    return { Type: "Task", Resource: `arn:${partition}:states:::lambda:invoke`, Parameters: { FunctionName: functionArn, Payload: payload }, ...extra };
}

function publish(partition: string, topicArn: string, subject: string, messageFormat: string, extra: Record<string, unknown>): Record<string, unknown> {
    return {
        Type: "Task",
        Resource: `arn:${partition}:states:::sns:publish`,
        Parameters: { TopicArn: topicArn, Subject: subject, "Message.$": messageFormat },
        ResultPath: null,
        Retry: [{ ErrorEquals: ["States.ALL"], IntervalSeconds: 5, MaxAttempts: 3, BackoffRate: 2 }],
        ...extra,
    };
}

export { confirmationPageDefinition, ConfirmationPageDefinitionOptions } from "./page-definition";

/** CredentialRotation's ASL. */
export function credentialRotationDefinition(opts: CredentialRotationDefinitionOptions): Record<string, unknown> {
    const p = partitionOf(opts?.partition);
    const createCredential = requireArn("createCredentialArn", opts?.createCredentialArn, "lambda");
    const listServersPage = requireArn("listServersPageArn", opts.listServersPageArn, "lambda");
    const startConfirmation = requireArn("startConfirmationArn", opts.startConfirmationArn, "lambda");
    const retireOldKeys = requireArn("retireOldKeysArn", opts.retireOldKeysArn, "lambda");
    const pages = requireArn("confirmationPageStateMachineArn", opts.confirmationPageStateMachineArn, "states");
    const topic = requireArn("notifyTopicArn", opts.notifyTopicArn, "sns");
    const maxServers = seconds("maxServers", opts.maxServers, MAX_SERVERS_PER_RUN, 1, MAX_SERVERS_PER_RUN);
    const grace = seconds("graceSeconds", opts.graceSeconds, DEFAULT_GRACE_SECONDS, 0, 90 * 24 * 3600);
    const observation = seconds("observationSeconds", opts.observationSeconds, DEFAULT_OBSERVATION_SECONDS, 0, 90 * 24 * 3600);
    const timeout = seconds("confirmationTimeoutSeconds", opts.confirmationTimeoutSeconds, DEFAULT_CONFIRMATION_TIMEOUT_SECONDS, 1, MAX_CONFIRMATION_TIMEOUT_SECONDS);
    const retirePayload = (action: "schedule" | "advance") => ({
        action,
        "accessKeyIds.$": "$.credential.previousAccessKeyIds",
        "keepAccessKeyId.$": "$.credential.accessKeyId",
        observationSeconds: observation,
        graceSeconds: grace,
    });
    const retireResult = { "state.$": "$.Payload.state", "waitSeconds.$": "$.Payload.waitSeconds", "keys.$": "$.Payload.keys", "held.$": "$.Payload.held" };
    const failTo = (next: string) => [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: next }];
    return {
        Comment: "SES SMTP credential rotation with per-server human confirmation (manual mode)",
        StartAt: "CountServers",
        TimeoutSeconds: MAX_EXECUTION_SECONDS,
        States: {
            // The bound is checked before any key exists: a run above it refuses at the start, never mid-rotation.
            CountServers: invoke(p, listServersPage, { mode: "count", limit: maxServers + 1 }, {
                ResultSelector: { "count.$": "$.Payload.count" },
                ResultPath: "$.fleet",
                Retry: idempotentRetry(),
                Catch: failTo("NotifyRotationFailed"),
                Next: "FleetWithinBound?",
            }),
            "FleetWithinBound?": { Type: "Choice", Choices: [{ Variable: "$.fleet.count", NumericGreaterThan: maxServers, Next: "NotifyFleetTooLarge" }], Default: "CreateCredential" },
            NotifyFleetTooLarge: publish(
                p,
                topic,
                "SMTP credential rotation refused: fleet too large",
                `States.Format('Rotation {} refused to start: the fleet lists more than ${maxServers} servers (counted {}), the most one manual-mode run confirms. No access key was created or changed. Split the fleet into several business units (one rotator each).', $$.Execution.Name, $.fleet.count)`,
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "FleetTooLarge" }], Next: "FleetTooLarge" },
            ),
            FleetTooLarge: { Type: "Fail", Error: "FleetTooLarge", Cause: `The fleet lists more than ${maxServers} servers, the most one manual-mode run confirms; no access key was created. Split the fleet into several business units.` },
            CreateCredential: invoke(
                p,
                createCredential,
                { "executionName.$": "$$.Execution.Name", "executionStartTime.$": "$$.Execution.StartTime" },
                {
                    ResultSelector: {
                        "parameterName.$": "$.Payload.parameterName",
                        "parameterVersion.$": "$.Payload.parameterVersion",
                        "accessKeyId.$": "$.Payload.accessKeyId",
                        "previousAccessKeyIds.$": "$.Payload.previousAccessKeyIds",
                    },
                    ResultPath: "$.credential",
                    Retry: idempotentRetry(),
                    Catch: failTo("NotifyRotationFailed"),
                    Next: "AwaitConfirmations",
                },
            ),
            // One wait for every owner: the Lambda records this task's token and starts the first
            // ConfirmationPage execution; the last server's ReportOutcome completes the token with the tally.
            AwaitConfirmations: {
                Type: "Task",
                Resource: `arn:${p}:states:::lambda:invoke.waitForTaskToken`,
                Parameters: {
                    FunctionName: startConfirmation,
                    Payload: {
                        action: "begin",
                        "parentTaskToken.$": "$$.Task.Token",
                        "rotation.$": "$$.Execution.Name",
                        "credential.$": "$.credential",
                        confirmationPageStateMachineArn: pages,
                    },
                },
                TimeoutSeconds: timeout + REPORT_MARGIN_SECONDS + FAN_OUT_ALLOWANCE_SECONDS,
                Retry: lambdaRetry(),
                ResultSelector: { "total.$": "$.total", "confirmed.$": "$.confirmed", "notConfirmed.$": "$.notConfirmed", "notConfirmedSample.$": "$.notConfirmedSample" },
                ResultPath: "$.confirmations",
                Catch: [
                    { ErrorEquals: ["States.Timeout"], ResultPath: "$.failure", Next: "NotifyRotationIncomplete" },
                    { ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "NotifyRotationFailed" },
                ],
                Next: "AllConfirmed?",
            },
            NotifyServersNotConfirmed: publish(
                p,
                topic,
                "SMTP credential rotation: servers not confirmed",
                "States.Format('Rotation {} ended failed: {} of {} servers did not confirm the new SMTP credential ({} version {}, access key {}), for example {}. The old access keys {} stay active; the confirmation table lists every server of the rotation with its status.', $$.Execution.Name, $.confirmations.notConfirmed, $.confirmations.total, $.credential.parameterName, $.credential.parameterVersion, $.credential.accessKeyId, States.JsonToString($.confirmations.notConfirmedSample), States.JsonToString($.credential.previousAccessKeyIds))",
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "ServersNotConfirmed" }], Next: "ServersNotConfirmed" },
            ),
            "AllConfirmed?": { Type: "Choice", Choices: [{ Variable: "$.confirmations.notConfirmed", NumericGreaterThan: 0, Next: "NotifyServersNotConfirmed" }], Default: "ScheduleRetirement" },
            NotifyRotationIncomplete: publish(
                p,
                topic,
                "SMTP credential rotation incomplete",
                "States.Format('Rotation {} ended failed: not every server confirmed the new SMTP credential ({} version {}) before the wait for the owners timed out. The old access keys {} stay active. Servers that did confirm use access key {}.', $$.Execution.Name, $.credential.parameterName, $.credential.parameterVersion, States.JsonToString($.credential.previousAccessKeyIds), $.credential.accessKeyId)",
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "ServersNotConfirmed" }], Next: "ServersNotConfirmed" },
            ),
            ServersNotConfirmed: { Type: "Fail", Error: "ServersNotConfirmed", Cause: "Not every server confirmed the new SMTP credential; the old access key stays active." },
            ScheduleRetirement: invoke(p, retireOldKeys, retirePayload("schedule"), {
                ResultSelector: retireResult,
                ResultPath: "$.retirement",
                Retry: idempotentRetry(),
                Catch: failTo("NotifyRotationFailed"),
                Next: "RetirementStep?",
            }),
            "RetirementStep?": {
                Type: "Choice",
                Choices: [
                    { Variable: "$.retirement.state", StringEquals: "done", Next: "NotifyRotationSucceeded" },
                    { Variable: "$.retirement.state", StringEquals: "held", Next: "NotifyRetirementHeld" },
                    { Variable: "$.retirement.state", StringEquals: "blocked", Next: "NotifyRetirementBlocked" },
                ],
                Default: "WaitForRetirementStep",
            },
            WaitForRetirementStep: { Type: "Wait", SecondsPath: "$.retirement.waitSeconds", Next: "AdvanceRetirement" },
            AdvanceRetirement: invoke(p, retireOldKeys, retirePayload("advance"), {
                ResultSelector: retireResult,
                ResultPath: "$.retirement",
                Retry: idempotentRetry(),
                Catch: failTo("NotifyRotationFailed"),
                Next: "RetirementStep?",
            }),
            NotifyRetirementHeld: publish(
                p,
                topic,
                "SMTP credential retirement held",
                "States.Format('Rotation {}: every server confirmed the new SMTP credential ({} version {}, access key {}), but IAM reports a use of an old access key after the switch: {}. Its retirement is held and it stays Active. Find that consumer and move it to the current credential, then release the hold: set stack config retirementOverrideKeyId to the held access key id and run pulumi up.', $$.Execution.Name, $.credential.parameterName, $.credential.parameterVersion, $.credential.accessKeyId, States.JsonToString($.retirement.held))",
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "RetirementHeld" }], Next: "RetirementHeld" },
            ),
            RetirementHeld: {
                Type: "Fail",
                Error: "RetirementHeld",
                Cause:
                    "Every server confirmed the new SMTP credential, but an old access key was used after the switch (evidence in the RetirementHeld notice and the AdvanceRetirement result): it stays Active. After moving that consumer to the current credential, release the hold with stack config retirementOverrideKeyId=<held key id> and pulumi up; the key is then deactivated and deleted after the grace period.",
            },
            NotifyRetirementBlocked: publish(
                p,
                topic,
                "SMTP credential retirement blocked",
                "States.Format('Rotation {}: every server confirmed the new SMTP credential (access key {}), but the old keys cannot be retired safely: {}. They are left as they are.', $$.Execution.Name, $.credential.accessKeyId, States.JsonToString($.retirement.keys))",
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "RetirementBlocked" }], Next: "RetirementBlocked" },
            ),
            RetirementBlocked: { Type: "Fail", Error: "RetirementBlocked", Cause: "Every server confirmed the new SMTP credential, but the old keys cannot be retired safely; see the notice and the last retirement result." },
            NotifyRotationSucceeded: publish(
                p,
                topic,
                "SMTP credential rotation finished",
                "States.Format('Rotation {} finished: every server confirmed the new SMTP credential ({} version {}, access key {}); no old key was used after the switch. Old keys: {}', $$.Execution.Name, $.credential.parameterName, $.credential.parameterVersion, $.credential.accessKeyId, States.JsonToString($.retirement.keys))",
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "RotationSucceeded" }], Next: "RotationSucceeded" },
            ),
            RotationSucceeded: { Type: "Succeed" },
            NotifyRotationFailed: publish(
                p,
                topic,
                "SMTP credential rotation failed",
                "States.Format('Rotation {} failed: {}: {}. The old access key stays active.', $$.Execution.Name, $.failure.Error, $.failure.Cause)",
                { Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "RotationFailed" }], Next: "RotationFailed" },
            ),
            RotationFailed: { Type: "Fail", Error: "RotationFailed", Cause: "See the execution history and the failure notification; the old access key stays active." },
        },
    };
}

/** ManualConfirmation's ASL. */
export function manualConfirmationDefinition(opts: ManualConfirmationDefinitionOptions): Record<string, unknown> {
    const p = partitionOf(opts?.partition);
    const request = requireArn("requestConfirmationArn", opts?.requestConfirmationArn, "lambda");
    const remind = requireArn("remindOwnerArn", opts.remindOwnerArn, "lambda");
    const report = requireArn("reportOutcomeArn", opts.reportOutcomeArn, "lambda");
    const timeout = seconds("confirmationTimeoutSeconds", opts.confirmationTimeoutSeconds, DEFAULT_CONFIRMATION_TIMEOUT_SECONDS, 1, MAX_CONFIRMATION_TIMEOUT_SECONDS);
    const reminder = seconds("reminderSeconds", opts.reminderSeconds, DEFAULT_REMINDER_SECONDS, 1, MAX_EXECUTION_SECONDS);
    return {
        Comment: "One server's owner confirms the new SES SMTP credential (manual mode)",
        StartAt: "AwaitOwner",
        TimeoutSeconds: timeout + REPORT_MARGIN_SECONDS,
        States: {
            AwaitOwner: {
                Type: "Parallel",
                Branches: [
                    {
                        StartAt: "RequestConfirmation",
                        States: {
                            RequestConfirmation: {
                                Type: "Task",
                                Resource: `arn:${p}:states:::lambda:invoke.waitForTaskToken`,
                                Parameters: { FunctionName: request, Payload: { "taskToken.$": "$$.Task.Token", "executionName.$": "$$.Execution.Name" } },
                                TimeoutSeconds: timeout,
                                Retry: lambdaRetry(),
                                // Named errors leave the branch (States.* names are re-raised as such).
                                Catch: [
                                    { ErrorEquals: ["States.Timeout"], Next: "ConfirmationTimedOut" },
                                    { ErrorEquals: ["ServerUpdateRejected"], Next: "OwnerRejected" },
                                    { ErrorEquals: ["States.ALL"], Next: "ConfirmationFailed" },
                                ],
                                Next: "OwnerConfirmed",
                            },
                            OwnerConfirmed: { Type: "Fail", Error: "OwnerConfirmed", Cause: "The owner confirmed the server; this ends the reminder loop." },
                            ConfirmationTimedOut: { Type: "Fail", Error: "ConfirmationTimedOut", Cause: "The owner did not confirm before the link expired." },
                            OwnerRejected: { Type: "Fail", Error: "OwnerRejected", Cause: "The owner reported that the server could not be updated." },
                            ConfirmationFailed: { Type: "Fail", Error: "ConfirmationFailed", Cause: "Asking the owner failed; see the execution history." },
                        },
                    },
                    {
                        StartAt: "WaitBeforeReminder",
                        States: {
                            WaitBeforeReminder: { Type: "Wait", Seconds: reminder, Next: "RemindOwner" },
                            RemindOwner: {
                                Type: "Task",
                                Resource: `arn:${p}:states:::lambda:invoke`,
                                Parameters: { FunctionName: remind, Payload: { "executionName.$": "$$.Execution.Name" } },
                                ResultSelector: { "waiting.$": "$.Payload.waiting" },
                                ResultPath: "$.reminder",
                                Retry: lambdaRetry(3),
                                Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "WaitBeforeReminder" }],
                                Next: "StillWaiting?",
                            },
                            "StillWaiting?": { Type: "Choice", Choices: [{ Variable: "$.reminder.waiting", BooleanEquals: false, Next: "RemindersDone" }], Default: "WaitBeforeReminder" },
                            RemindersDone: { Type: "Succeed" },
                        },
                    },
                ],
                Catch: [
                    { ErrorEquals: ["OwnerConfirmed"], ResultPath: "$.decision", Next: "ReportConfirmed" },
                    { ErrorEquals: ["States.ALL"], ResultPath: "$.decision", Next: "ReportNotConfirmed" },
                ],
                Next: "UnexpectedEnd",
            },
            ReportConfirmed: invoke(p, report, { "executionName.$": "$$.Execution.Name", outcome: "confirmed" }, { ResultPath: null, Retry: idempotentRetry(), Next: "Confirmed" }),
            Confirmed: { Type: "Succeed" },
            ReportNotConfirmed: invoke(
                p,
                report,
                { "executionName.$": "$$.Execution.Name", outcome: "not-confirmed", "error.$": "$.decision.Error" },
                { ResultPath: null, Retry: idempotentRetry(), Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: null, Next: "NotConfirmed" }], Next: "NotConfirmed" },
            ),
            NotConfirmed: { Type: "Fail", Error: "ServerNotConfirmed", Cause: "The owner did not confirm in time, or reported that the server could not be updated." },
            UnexpectedEnd: { Type: "Fail", Error: "UnexpectedEnd", Cause: "The wait ended without a decision." },
        },
    };
}
