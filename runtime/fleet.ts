/**
 * Fleet fan-out over SSM Run Command: tell every mail server to fetch the new credential (by reference), wait
 * for the answers within a deadline, and report per-server status.
 *
 * Cost (SSM API calls), with N servers and C commands:
 *  - send: tag target → 1 SendCommand per software (C = 2); table → 1 per 50 servers per software (C ≤ ⌈N/50⌉ + 1);
 *  - poll: each round costs min(pending commands, pages of one `ListCommands` listing of the commands that
 *    finished since the fan-out began: filters InvokedAfter and ExecutionStage=Complete, so a round lists only
 *    what it can act on — early rounds, when little has finished, cost one page);
 *    rounds are spaced by a growing interval (×1.5, capped at 30 s), so a slow fleet costs few rounds;
 *  - detail: `ListCommandInvocations` with `Details` (50 invocations per page, each with its steps' output) for
 *    every command: SSM's "Success" is not enough (a step skipped for the wrong platform is a Success too), a
 *    server counts as updated only when its script printed `SES-ROTATOR-RESULT: updated` (fleet-report.ts).
 *    The listed output is cut at 2,500 characters; only an invocation whose marker may have been cut costs one
 *    `GetCommandInvocation` (24,000 characters) — the scripts print a few short lines, so not in the common case.
 * So N = 10,000 costs about ⌈N/50⌉ sends + ⌈N/50⌉ detail pages + a few pages per poll round: inside
 * 2·⌈N/50⌉ + 20 when the fleet answers within a handful of rounds.
 *
 * Runs inside the rotation Lambda: SDK modules via `import x = require()`, clients injected, no `@pulumi` import.
 */
import ssmSdk = require("@aws-sdk/client-ssm");
import type { SSMClient, Command as SsmCommand } from "@aws-sdk/client-ssm";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FleetServer, FleetTarget, ServerSoftware, SERVER_SOFTWARE } from "./fleet-target";
import { isAwsRegion } from "./smtp-password";
import { listFleetServers } from "./fleet-table";
import { documentParameters } from "../documents/parameters";
import { FleetCommandMode, interpretInvocation, outputMayBeTruncated, ServerUpdateStatus } from "./fleet-report";

export type { FleetServer, FleetTarget, ServerSoftware } from "./fleet-target";
export type { FleetCommandMode, ServerUpdateStatus } from "./fleet-report";
export { NOT_UPDATED_STATUSES } from "./fleet-report";
export { SERVER_SOFTWARE, MANAGED_NODE_ID_PATTERN } from "./fleet-target";
export { listFleetServers, parseFleetItem } from "./fleet-table";

/** SSM's limit on InstanceIds per SendCommand. */
export const SSM_INSTANCE_IDS_PER_COMMAND = 50;
const MAX_POLL_INTERVAL_MS = 30_000;
const SEND_CONCURRENCY = 4;
const TERMINAL_COMMAND_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);
export const TERMINAL_INVOCATION_STATUSES: ReadonlySet<string> = new Set(["Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied"]);

export interface FleetUpdateRequest {
    target: FleetTarget;
    /** SSM document names (or ARNs) per software */
    documents: { postfix: string; iis: string };
    /** document version per software to run (SendCommand DocumentVersion); unset = the document's default version */
    documentVersions?: { postfix?: string; iis?: string };
    /** where servers fetch the credential themselves: never the value */
    credential: { source: "SecretsManager" | "ParameterStore"; id: string; version: string; region: string };
    /** answers after this instant are not waited for; unanswered servers are reported TimedOut */
    deadline: Date;
    /** first wait between polls, ms (default 5000; grows ×1.5 up to 30 s) */
    pollIntervalMs?: number;
    /** SSM command comment (trimmed to 100 characters) */
    comment?: string;
}

export interface FleetUpdateResult {
    /** true when every targeted server reported Success and printed `SES-ROTATOR-RESULT: updated` */
    ok: boolean;
    servers: ServerUpdateStatus[];
    /** the servers whose status is not Success */
    failed: ServerUpdateStatus[];
    commandIds: string[];
}

export interface FleetDeps {
    ssm: SSMClient;
    /** required for table targets */
    dynamodb?: DynamoDBClient;
    sleep?: (ms: number) => Promise<void>;
    now?: () => Date;
    log?: (msg: string, fields?: object) => void;
}

/** One SSM command of the fan-out. `instanceIds` is known for table chunks; tag commands learn theirs from SSM. */
interface SentCommand {
    commandId: string;
    software: ServerSoftware;
    instanceIds?: string[];
    requestedAt?: Date;
    status: string;
    targetCount?: number;
}

function invalid(what: string, why: string): never {
    throw new Error(`updateFleet: ${what} ${why}`);
}

function requireText(value: unknown, what: string): string {
    if (typeof value !== "string" || value.trim() === "") invalid(what, "must be a non-empty string");
    return value as string;
}

/** Validates the request; every error names the bad field. */
export function validateFleetUpdateRequest(req: FleetUpdateRequest): void {
    if (!req || typeof req !== "object") invalid("req", "must be an object");
    const t = req.target as any;
    if (!t || typeof t !== "object") invalid("req.target", "must be a fleet target object");
    if (t.kind === "tag") {
        for (const k of ["tagKey", "tagValue", "softwareTagKey"]) requireText(t[k], `req.target.${k}`);
    } else if (t.kind === "table") {
        requireText(t.tableName, "req.target.tableName");
    } else invalid("req.target.kind", `must be "tag" or "table", got ${JSON.stringify(t.kind)}`);
    for (const s of SERVER_SOFTWARE) {
        requireText(req.documents?.[s], `req.documents.${s}`);
        const v = req.documentVersions?.[s];
        if (v !== undefined && !/^[1-9][0-9]{0,9}$/.test(String(v))) invalid(`req.documentVersions.${s}`, `must be a document version number, got ${JSON.stringify(v)}`);
    }
    const c = req.credential as any;
    if (c?.source !== "SecretsManager" && c?.source !== "ParameterStore") invalid("req.credential.source", `must be "SecretsManager" or "ParameterStore", got ${JSON.stringify(c?.source)}`);
    requireText(c.id, "req.credential.id");
    requireText(c.version, "req.credential.version");
    if (!isAwsRegion(c.region)) invalid("req.credential.region", `${JSON.stringify(c.region)} is not an AWS region`);
    if (!(req.deadline instanceof Date) || Number.isNaN(req.deadline.getTime())) invalid("req.deadline", "must be a valid Date");
    if (req.pollIntervalMs !== undefined && !(Number.isFinite(req.pollIntervalMs) && req.pollIntervalMs > 0)) invalid("req.pollIntervalMs", "must be a positive number");
}

function describeFleet(target: FleetTarget): string {
    return target.kind === "tag" ? `tag ${target.tagKey}=${target.tagValue}` : `table ${target.tableName}`;
}

function chunk<T>(items: T[], size: number): T[][] {
    const out: T[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
}

/** Runs `fn` over `items` with at most `limit` in flight, keeping order of results. */
async function mapLimited<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = new Array(items.length);
    let next = 0;
    const worker = async () => {
        while (next < items.length) {
            const i = next++;
            out[i] = await fn(items[i]);
        }
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
    return out;
}

/** Node's connection-level error codes the SDK itself retries (a dropped or refused connection, a timeout). */
const NETWORK_ERROR_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN"]);

/** An error worth one more poll round: throttling, a server-side error, a lost connection (the SDK's own retries are spent). */
function isTransient(e: any): boolean {
    return (
        /throttl|rate exceeded|TooManyRequests|ServiceUnavailable|InternalServerError|InternalFailure|TimeoutError/i.test(`${e?.name} ${e?.message}`) ||
        e?.$metadata?.httpStatusCode >= 500 ||
        NETWORK_ERROR_CODES.has(e?.code) ||
        e?.$retryable !== undefined
    );
}

function errorText(e: any): string {
    return `${e?.name ?? "Error"}: ${String(e?.message ?? e).slice(0, 300)}`;
}

/**
 * Sends the fleet update, waits for it (deadline-bounded) and reports per-server status.
 * Throws on invalid input, an empty fleet, or when SSM cannot be reached at all; a server failing is not an
 * exception but `ok: false` with the server in `failed`. A server whose SSM status is Success but whose script
 * did not print `SES-ROTATOR-RESULT: updated` (a step skipped for the wrong platform, a silent script) failed.
 */
export async function updateFleet(deps: FleetDeps, req: FleetUpdateRequest): Promise<FleetUpdateResult> {
    return runFleetCommand(deps, req, "update");
}

/** What `checkFleet` needs: the fleet, the documents and the credential version the servers must be able to read (normally AWSCURRENT's). */
export type FleetCheckRequest = FleetUpdateRequest;

/** Per-server preflight outcome: `status` Success means every check passed; `report.checks` lists each check. */
export interface FleetCheckResult {
    /** true when every server ran the check and printed `SES-ROTATOR-RESULT: check-passed` */
    ok: boolean;
    servers: ServerUpdateStatus[];
    /** servers that would fail a rotation today (a failed check, skipped step, no answer, not sent, ...) */
    failed: ServerUpdateStatus[];
    commandIds: string[];
}

/**
 * Preflight: sends the same documents with `Mode=check` (they change nothing on any server) to the same servers,
 * with the same targeting, chunking, deadline and call budget as `updateFleet`, and returns each server's checks
 * (`SES-ROTATOR-CHECK:` lines) and result. For the operator CLI's `check`.
 */
export async function checkFleet(deps: FleetDeps, req: FleetCheckRequest): Promise<FleetCheckResult> {
    return runFleetCommand(deps, { ...req, comment: req.comment ?? `SES SMTP credential preflight check ${req.credential.version}` }, "check");
}

async function runFleetCommand(deps: FleetDeps, req: FleetUpdateRequest, mode: FleetCommandMode): Promise<FleetUpdateResult> {
    validateFleetUpdateRequest(req);
    const now = deps.now ?? (() => new Date());
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const log = deps.log ?? (() => undefined);
    const fleet = describeFleet(req.target);
    const deadlineMs = req.deadline.getTime();
    const leftMs = deadlineMs - now().getTime();
    if (leftMs <= 0) invalid("req.deadline", `${req.deadline.toISOString()} has already passed`);

    // The document's own allowedPatterns, checked before anything is sent (an error names the parameter).
    const parameters = documentParameters(req.credential, mode);
    const base = {
        Parameters: parameters,
        // SSM stops delivering to servers that have not picked the command up by the deadline.
        TimeoutSeconds: Math.min(Math.max(Math.ceil(leftMs / 1000), 30), 2_592_000),
        // Every server gets its try (the documents restore the previous file on failure), so the report is complete.
        MaxConcurrency: "100%",
        MaxErrors: "100%",
        Comment: (req.comment ?? `SES SMTP credential update ${req.credential.version}`).slice(0, 100),
    };
    const send = async (software: ServerSoftware, selector: { InstanceIds: string[] } | { Targets: { Key: string; Values: string[] }[] }): Promise<SentCommand> => {
        const version = req.documentVersions?.[software];
        const out = await deps.ssm.send(new ssmSdk.SendCommandCommand({ ...base, DocumentName: req.documents[software], ...(version ? { DocumentVersion: version } : {}), ...selector }));
        const cmd = out.Command!;
        log("fleet command sent", { fleet, software, commandId: cmd.CommandId, servers: "InstanceIds" in selector ? selector.InstanceIds.length : "tag-resolved" });
        // SSM answers SendCommand with "Pending"; the outcome is only known from polling.
        return { commandId: cmd.CommandId!, software, status: "Pending", requestedAt: cmd.RequestedDateTime, ...("InstanceIds" in selector ? { instanceIds: selector.InstanceIds } : {}) };
    };

    const commands: SentCommand[] = [];
    const notSent: ServerUpdateStatus[] = [];
    if (req.target.kind === "tag") {
        const t = req.target;
        for (const software of SERVER_SOFTWARE) {
            commands.push(await send(software, { Targets: [{ Key: `tag:${t.tagKey}`, Values: [t.tagValue] }, { Key: `tag:${t.softwareTagKey}`, Values: [software] }] }));
        }
    } else {
        if (!deps.dynamodb) invalid("deps.dynamodb", `is required for the fleet ${fleet}`);
        const servers: FleetServer[] = [];
        for await (const page of listFleetServers(deps.dynamodb, req.target.tableName)) servers.push(...page);
        if (servers.length === 0) throw new Error(`updateFleet: fleet ${fleet} lists no servers: nothing to update or confirm`);
        const chunks = SERVER_SOFTWARE.flatMap((software) => chunk(servers.filter((s) => s.software === software).map((s) => s.serverId), SSM_INSTANCE_IDS_PER_COMMAND).map((ids) => ({ software, ids })));
        const sent = await mapLimited(chunks, SEND_CONCURRENCY, async ({ software, ids }) => {
            if (now().getTime() >= deadlineMs) return { software, ids, error: "deadline passed before the command was sent" };
            try {
                return await send(software, { InstanceIds: ids });
            } catch (e) {
                // e.g. InvalidInstanceId for an unregistered node: the other chunks still go out; these are reported.
                log("fleet command not sent", { fleet, software, servers: ids.length, error: errorText(e) });
                return { software, ids, error: `SendCommand failed: ${errorText(e)}` };
            }
        });
        for (const s of sent) {
            if ("commandId" in s) commands.push(s);
            else notSent.push(...s.ids.map((serverId) => ({ serverId, software: s.software, status: "NotSent", detail: s.error })));
        }
    }

    await waitForCommands(deps.ssm, commands, { deadlineMs, now, sleep, log, fleet, intervalMs: req.pollIntervalMs ?? 5_000 });
    const servers = [...notSent];
    const softwareSource = req.target.kind === "tag" ? `its ${req.target.softwareTagKey} tag` : `its software in table ${req.target.tableName}`;
    for (const cmd of commands) servers.push(...(await reportCommand(deps.ssm, cmd, mode, softwareSource)));
    if (servers.length === 0) {
        throw new Error(`updateFleet: fleet ${fleet} matched no servers (no postfix or iis node carries these tags): nothing to update or confirm`);
    }
    servers.sort((a, b) => (a.serverId < b.serverId ? -1 : a.serverId > b.serverId ? 1 : 0));
    const failed = servers.filter((s) => s.status !== "Success");
    log(mode === "update" ? "fleet update finished" : "fleet check finished", { fleet, servers: servers.length, failed: failed.length, commands: commands.length });
    return { ok: failed.length === 0, servers, failed, commandIds: commands.map((c) => c.commandId) };
}

interface PollContext {
    deadlineMs: number;
    now: () => Date;
    sleep: (ms: number) => Promise<void>;
    log: (msg: string, fields?: object) => void;
    fleet: string;
    intervalMs: number;
}

/** Polls the commands' aggregate status until all are terminal or the deadline passes. Updates `commands` in place. */
async function waitForCommands(ssm: SSMClient, commands: SentCommand[], ctx: PollContext): Promise<void> {
    if (commands.length === 0) return;
    let interval = ctx.intervalMs;
    // pages one filtered ListCommands listing took last time; start from what our own commands need
    let listPages = Math.ceil(commands.length / SSM_INSTANCE_IDS_PER_COMMAND);
    // SSM's own clock (RequestedDateTime), whole seconds, one second early: no dependence on the Lambda's clock
    const invokedAfter = new Date(Math.floor(Math.min(...commands.map((c) => c.requestedAt?.getTime() ?? ctx.now().getTime())) / 1000) * 1000 - 1000);
    for (let round = 1; ; round++) {
        const pending = commands.filter((c) => !TERMINAL_COMMAND_STATUSES.has(c.status));
        if (pending.length === 0) return;
        const remaining = ctx.deadlineMs - ctx.now().getTime();
        if (remaining <= 0) {
            ctx.log("fleet deadline reached", { fleet: ctx.fleet, pendingCommands: pending.length });
            return;
        }
        await ctx.sleep(Math.min(interval, remaining));
        interval = Math.min(interval * 1.5, Math.max(MAX_POLL_INTERVAL_MS, ctx.intervalMs));
        try {
            if (pending.length <= listPages) {
                for (const c of pending) applyAggregate(c, (await ssm.send(new ssmSdk.ListCommandsCommand({ CommandId: c.commandId }))).Commands?.[0]);
            } else {
                listPages = await pollByListing(ssm, pending, invokedAfter);
            }
        } catch (e) {
            // A throttled round is skipped, not retried in a loop: the deadline bounds the waiting.
            if (!isTransient(e)) throw e;
            ctx.log("fleet poll round failed, will poll again", { fleet: ctx.fleet, round, error: errorText(e) });
        }
    }
}

/**
 * One paginated `ListCommands` listing of the commands invoked since the fan-out began that have finished
 * (ExecutionStage=Complete); returns the page count. Only positive evidence counts: a command missing from the
 * listing (still running, or not yet visible to the listing) stays pending and is looked at again next round.
 */
async function pollByListing(ssm: SSMClient, pending: SentCommand[], invokedAfter: Date): Promise<number> {
    const byId = new Map(pending.map((c) => [c.commandId, c]));
    const filters = [
        { key: "InvokedAfter" as const, value: invokedAfter.toISOString().replace(/\.\d{3}Z$/, "Z") },
        { key: "ExecutionStage" as const, value: "Complete" },
    ];
    let pages = 0;
    let token: string | undefined;
    do {
        const out = await ssm.send(new ssmSdk.ListCommandsCommand({ Filters: filters, MaxResults: 50, NextToken: token }));
        pages++;
        for (const c of out.Commands ?? []) {
            const mine = byId.get(c.CommandId!);
            if (mine) applyAggregate(mine, c);
        }
        token = out.NextToken;
    } while (token);
    return pages;
}

function applyAggregate(mine: SentCommand, c: SsmCommand | undefined): void {
    if (!c) return;
    mine.status = c.Status ?? mine.status;
    mine.targetCount = c.TargetCount;
}

/**
 * Per-server statuses of one command, from `ListCommandInvocations` with `Details` (each invocation's output):
 * one page per 50 servers, whatever the aggregate says, because only the script's result marker tells an update
 * from a skipped step.
 */
async function reportCommand(ssm: SSMClient, cmd: SentCommand, mode: FleetCommandMode, softwareSource: string): Promise<ServerUpdateStatus[]> {
    const finished = TERMINAL_COMMAND_STATUSES.has(cmd.status);
    if (!cmd.instanceIds && finished && cmd.targetCount === 0) return []; // tag selector matched nobody for this software
    const seen = new Map<string, ServerUpdateStatus>();
    let token: string | undefined;
    do {
        const out = await ssm.send(new ssmSdk.ListCommandInvocationsCommand({ CommandId: cmd.commandId, Details: true, MaxResults: 50, NextToken: token }));
        for (const inv of out.CommandInvocations ?? []) {
            let fullOutput: string | undefined;
            if (inv.Status === "Success" && outputMayBeTruncated(inv)) {
                // Rare: the listed output was cut before the marker; GetCommandInvocation keeps 24,000 characters.
                const got = await ssm.send(new ssmSdk.GetCommandInvocationCommand({ CommandId: cmd.commandId, InstanceId: inv.InstanceId! }));
                fullOutput = got.StandardOutputContent ?? "";
            }
            seen.set(inv.InstanceId!, interpretInvocation(cmd.software, inv, mode, { terminal: TERMINAL_INVOCATION_STATUSES, softwareSource, fullOutput }));
        }
        token = out.NextToken;
    } while (token);
    for (const serverId of cmd.instanceIds ?? []) {
        if (!seen.has(serverId)) seen.set(serverId, { serverId, software: cmd.software, status: "TimedOut", detail: `no invocation reported by SSM (command ${cmd.status})` });
    }
    // A tag command still running at the deadline with fewer invocations than targets (none at all while SSM has
    // not resolved the tags): its other servers are unknown, so they cannot count as updated.
    const targeted = cmd.targetCount ?? 0;
    if (!cmd.instanceIds && !finished && seen.size < Math.max(targeted, 1)) {
        const serverId = `(${cmd.software} servers of command ${cmd.commandId})`;
        const listed = targeted > 0 ? `${seen.size} of its ${targeted} targets` : "none of its targets";
        seen.set(serverId, { serverId, software: cmd.software, status: "TimedOut", detail: `SSM had listed ${listed} by the deadline (command ${cmd.status}): the others are unknown, not updated` });
    }
    return [...seen.values()];
}
