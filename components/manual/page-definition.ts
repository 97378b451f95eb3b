/**
 * ConfirmationPage's ASL (pure builder): one page of the fleet, see definitions.ts for the three state machines.
 */
import { DEFAULT_MAX_CONCURRENCY, idempotentRetry, invoke, PAGE_TIMEOUT_SECONDS, partitionOf, requireArn, seconds } from "./definitions";

export interface ConfirmationPageDefinitionOptions {
    listServersPageArn: string;
    /** the fan-out Lambda: action "start" (one server), "pageDone" (count, next page), "abort" */
    startConfirmationArn: string;
    /** StartConfirmation calls at once (Map MaxConcurrency): the limit on API calls; default 10 */
    maxConcurrency?: number;
    /** AWS partition of the integration ARNs; default aws */
    partition?: string;
}

/** ConfirmationPage's ASL: one page of the fleet; input {rotation, credential, page, cursor, confirmationPageStateMachineArn}. */
export function confirmationPageDefinition(opts: ConfirmationPageDefinitionOptions): Record<string, unknown> {
    const p = partitionOf(opts?.partition);
    const list = requireArn("listServersPageArn", opts?.listServersPageArn, "lambda");
    const start = requireArn("startConfirmationArn", opts.startConfirmationArn, "lambda");
    const maxConcurrency = seconds("maxConcurrency", opts.maxConcurrency, DEFAULT_MAX_CONCURRENCY, 1, 1000);
    const abortOn = [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "AbortRotation" }];
    return {
        Comment: "One page of the fleet: start each server's ManualConfirmation, then the next page (manual mode)",
        StartAt: "ListServersPage",
        TimeoutSeconds: PAGE_TIMEOUT_SECONDS,
        States: {
            ListServersPage: invoke(p, list, { "nextToken.$": "$.cursor" }, {
                ResultSelector: { "servers.$": "$.Payload.servers", "nextToken.$": "$.Payload.nextToken" },
                ResultPath: "$.list",
                Retry: idempotentRetry(),
                Catch: abortOn,
                Next: "ConfirmServers",
            }),
            ConfirmServers: {
                Type: "Map",
                ItemsPath: "$.list.servers",
                MaxConcurrency: maxConcurrency,
                ItemSelector: { "server.$": "$$.Map.Item.Value", "credential.$": "$.credential", "rotation.$": "$.rotation" },
                ItemProcessor: {
                    ProcessorConfig: { Mode: "INLINE" },
                    StartAt: "StartConfirmation",
                    States: {
                        StartConfirmation: invoke(p, start, { action: "start", "rotation.$": "$.rotation", "server.$": "$.server", "credential.$": "$.credential" }, {
                            ResultSelector: { started: true },
                            Retry: idempotentRetry(),
                            Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.failure", Next: "NotStarted" }],
                            End: true,
                        }),
                        // Counted as not confirmed (the run then fails, old key Active).
                        NotStarted: { Type: "Pass", Parameters: { started: false, "serverId.$": "$.server.serverId", "error.$": "$.failure.Error" }, End: true },
                    },
                },
                ResultPath: "$.results",
                Catch: abortOn,
                Next: "PageDone",
            },
            PageDone: invoke(
                p,
                start,
                {
                    action: "pageDone",
                    "rotation.$": "$.rotation",
                    "credential.$": "$.credential",
                    "page.$": "$.page",
                    "results.$": "$.results",
                    "nextToken.$": "$.list.nextToken",
                    "confirmationPageStateMachineArn.$": "$.confirmationPageStateMachineArn",
                },
                { ResultPath: null, Retry: idempotentRetry(), Catch: abortOn, Next: "PageStarted" },
            ),
            PageStarted: { Type: "Succeed" },
            AbortRotation: invoke(p, start, { action: "abort", "rotation.$": "$.rotation", "page.$": "$.page", "error.$": "$.failure.Error", "cause.$": "$.failure.Cause" }, {
                ResultPath: null,
                Retry: idempotentRetry(),
                Next: "PageFailed",
            }),
            PageFailed: { Type: "Fail", Error: "PageFailed", Cause: "This page of the fleet could not be read or started; the rotation was told and ends failed (old access key Active)." },
        },
    };
}
