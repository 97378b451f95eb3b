/**
 * The fan-out Lambda (StartConfirmation), one entry for the steps that start executions, by `action`:
 *  - "begin" (CredentialRotation's AwaitConfirmations, `.waitForTaskToken`): records the rotation's single
 *    waiting token in the tally and starts the first ConfirmationPage execution `<rotation>-page-1`;
 *  - "start" (a ConfirmationPage Map iteration): starts one server's ManualConfirmation (confirmation-tasks.ts);
 *  - "pageDone" (a ConfirmationPage's end): counts the page once, starts the next page `<rotation>-page-<n+1>`
 *    (pages run one after another, so the Map's MaxConcurrency bounds the API calls of the whole run), and
 *    completes the rotation's wait if every server was already decided;
 *  - "abort" (a ConfirmationPage that failed for good): fails the rotation's wait.
 * Execution names make every start idempotent (a retry finds ExecutionAlreadyExists).
 */
import sfnSdk = require("@aws-sdk/client-sfn");
import type { SFNClient } from "@aws-sdk/client-sfn";
import { jsonLineLogger, Logger } from "../notify";
import type { RotationTally } from "./rotation-tally";
import { assertCredentialRef, assertExecutionName, CredentialRef } from "./types";

export interface FanOutDeps {
    sfn: SFNClient;
    tally: RotationTally;
    /** the per-server start (confirmation-tasks.ts startConfirmation) */
    startConfirmation: (event: any) => Promise<unknown>;
    log?: Logger;
    now?: () => Date;
}

/** The ConfirmationPage execution name of page `page` (1-based) of a rotation. */
export function pageExecutionName(rotation: string, page: number): string {
    return assertExecutionName("page execution name", `${rotation}-page-${page}`);
}

function assertStateMachineArn(field: string, value: unknown): string {
    if (typeof value !== "string" || !/^arn:[a-z-]+:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/.test(value)) throw new Error(`${field} ${JSON.stringify(value)} is not a Step Functions state machine ARN`);
    return value;
}

function assertPage(value: unknown): number {
    if (!Number.isInteger(value) || (value as number) < 1) throw new Error(`page ${JSON.stringify(value)} must be a positive integer`);
    return value as number;
}

export function createFanOutHandler(deps: FanOutDeps): (event: any) => Promise<unknown> {
    const log = deps.log ?? jsonLineLogger;
    const now = deps.now ?? (() => new Date());

    async function startPage(stateMachineArn: string, rotation: string, credential: CredentialRef, page: number, cursor: string | null): Promise<string> {
        const name = pageExecutionName(rotation, page);
        const input = JSON.stringify({ rotation, credential, page, cursor, confirmationPageStateMachineArn: stateMachineArn });
        try {
            await deps.sfn.send(new sfnSdk.StartExecutionCommand({ stateMachineArn, name, input }));
        } catch (e) {
            if ((e as { name?: string }).name !== "ExecutionAlreadyExists") throw e;
        }
        log("page started", { rotation, page, name });
        return name;
    }

    return async (event) => {
        const action = event?.action ?? "start";
        if (action === "start") return deps.startConfirmation(event);
        const rotation = assertExecutionName("rotation", event?.rotation);
        if (action === "begin") {
            const token = event?.parentTaskToken;
            if (typeof token !== "string" || token.length < 1 || token.length > 1024) throw new Error("parentTaskToken must be a Step Functions task token");
            const credential = assertCredentialRef("credential", event?.credential);
            const stateMachineArn = assertStateMachineArn("confirmationPageStateMachineArn", event?.confirmationPageStateMachineArn);
            await deps.tally.begin(rotation, token, Math.floor(now().getTime() / 1000));
            const first = await startPage(stateMachineArn, rotation, credential, 1, null);
            // A retry after every server was decided: complete the new token now.
            await deps.tally.settle(rotation);
            return { firstPage: first };
        }
        if (action === "pageDone") {
            const page = assertPage(event?.page);
            const credential = assertCredentialRef("credential", event?.credential);
            const stateMachineArn = assertStateMachineArn("confirmationPageStateMachineArn", event?.confirmationPageStateMachineArn);
            if (!Array.isArray(event?.results)) throw new Error("results must be the ConfirmServers Map's result array");
            const nextToken = event?.nextToken ?? null;
            if (nextToken !== null && typeof nextToken !== "string") throw new Error("nextToken must be a string or null");
            const failed = (event.results as any[]).filter((r) => r?.started === false).map((r) => String(r?.serverId ?? "unknown"));
            const counted = await deps.tally.pageDone(rotation, page, event.results.length, failed, nextToken === null);
            const nextPage = nextToken === null ? undefined : await startPage(stateMachineArn, rotation, credential, page + 1, nextToken);
            const settled = await deps.tally.settle(rotation);
            log("page done", { rotation, page, servers: event.results.length, notStarted: failed.length, counted, nextPage, settled: settled !== undefined });
            return { counted, nextPage: nextPage ?? null };
        }
        if (action === "abort") {
            const page = assertPage(event?.page);
            const why = `page ${page}: ${String(event?.error ?? "error")}: ${String(event?.cause ?? "")}`;
            const told = await deps.tally.abort(rotation, "ConfirmationPageFailed", why);
            log("page failed", { rotation, page, told });
            return { told };
        }
        throw new Error(`action ${JSON.stringify(action)} must be one of start, begin, pageDone, abort`);
    };
}
