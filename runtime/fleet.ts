/**
 * Fleet fan-out over SSM Run Command: tell every mail server to fetch the new credential (by reference), wait
 * for the answers within a deadline, and report per-server status.
 *
 * Cost (SSM API calls), with N servers and C commands:
 *  - send: tag target → 1 SendCommand per software (C = 2); table → 1 per 50 servers per software (C ≤ ⌈N/50⌉ + 1);
 *  - poll: each round costs min(pending commands, pages of one `ListCommands` listing filtered by InvokedAfter);
 *    rounds are spaced by a growing interval (×1.5, capped at 30 s), so a slow fleet costs few rounds;
 *  - detail: `ListCommandInvocations` (50 per page) only where the aggregate does not already say "all
 *    succeeded": every page of a tag command (its targets are resolved by SSM), only failed or unfinished
 *    chunks of a table fan-out.
 * So N = 10,000 costs about ⌈N/50⌉ sends + ⌈N/50⌉ detail pages (tag) or ⌈N/50⌉ sends + a few pages per poll
 * round (table): inside 2·⌈N/50⌉ + 20 when the fleet answers within a handful of rounds.
 *
 * Runs inside the rotation Lambda: SDK modules via `import x = require()`, clients injected, no `@pulumi` import.
 */
import ssmSdk = require("@aws-sdk/client-ssm");
import type { SSMClient, Command as SsmCommand, CommandInvocation } from "@aws-sdk/client-ssm";
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FleetServer, FleetTarget, ServerSoftware, SERVER_SOFTWARE } from "./fleet-target";
import { isAwsRegion } from "./smtp-password";
import { listFleetServers } from "./fleet-table";
import { documentParameters } from "../documents/parameters";

export type { FleetServer, FleetTarget, ServerSoftware } from "./fleet-target";
export { SERVER_SOFTWARE, MANAGED_NODE_ID_PATTERN } from "./fleet-target";
export { listFleetServers, parseFleetItem } from "./fleet-table";

/** SSM's limit on InstanceIds per SendCommand. */
export const SSM_INSTANCE_IDS_PER_COMMAND = 50;
const MAX_POLL_INTERVAL_MS = 30_000;
const SEND_CONCURRENCY = 4;
const TERMINAL_COMMAND_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled"]);
const TERMINAL_INVOCATION_STATUSES = new Set(["Success", "Failed", "TimedOut", "Cancelled", "Undeliverable", "Terminated", "InvalidPlatform", "AccessDenied"]);

export interface FleetUpdateRequest {
    target: FleetTarget;
    /** SSM document names (or ARNs) per software */
    documents: { postfix: string; iis: string };
    /** where servers fetch the credential themselves: never the value */
    credential: { source: "SecretsManager" | "ParameterStore"; id: string; version: string; region: string };
    /** answers after this instant are not waited for; unanswered servers are reported TimedOut */
    deadline: Date;
    /** first wait between polls, ms (default 5000; grows ×1.5 up to 30 s) */
    pollIntervalMs?: number;
    /** SSM command comment (trimmed to 100 characters) */
    comment?: string;
}

export interface ServerUpdateStatus {
    serverId: string;
    software: ServerSoftware;
    /** SSM invocation status (Success, Failed, TimedOut, Undeliverable, ...) or NotSent */
    status: string;
    detail?: string;
}

export interface FleetUpdateResult {
    /** true when every targeted server reported Success */
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
    for (const s of SERVER_SOFTWARE) requireText(req.documents?.[s], `req.documents.${s}`);
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

function isTransient(e: any): boolean {
    return /throttl|rate exceeded|TooManyRequests|ServiceUnavailable|InternalServerError|InternalFailure/i.test(`${e?.name} ${e?.message}`) || e?.$metadata?.httpStatusCode >= 500 || e?.$retryable !== undefined;
}

function errorText(e: any): string {
    return `${e?.name ?? "Error"}: ${String(e?.message ?? e).slice(0, 300)}`;
}

/**
 * Sends the fleet update, waits for it (deadline-bounded) and reports per-server status.
 * Throws on invalid input, an empty fleet, or when SSM cannot be reached at all; a server failing is not an
 * exception but `ok: false` with the server in `failed`.
 */
export async function updateFleet(deps: FleetDeps, req: FleetUpdateRequest): Promise<FleetUpdateResult> {
    validateFleetUpdateRequest(req);
    const now = deps.now ?? (() => new Date());
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const log = deps.log ?? (() => undefined);
    const fleet = describeFleet(req.target);
    const deadlineMs = req.deadline.getTime();
    const leftMs = deadlineMs - now().getTime();
    if (leftMs <= 0) invalid("req.deadline", `${req.deadline.toISOString()} has already passed`);

    // The document's own allowedPatterns, checked before anything is sent (an error names the parameter).
    const parameters = documentParameters(req.credential);
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
        const out = await deps.ssm.send(new ssmSdk.SendCommandCommand({ ...base, DocumentName: req.documents[software], ...selector }));
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
    for (const cmd of commands) servers.push(...(await reportCommand(deps.ssm, cmd)));
    if (servers.length === 0) {
        throw new Error(`updateFleet: fleet ${fleet} matched no servers (no postfix or iis node carries these tags): nothing to update or confirm`);
    }
    servers.sort((a, b) => (a.serverId < b.serverId ? -1 : a.serverId > b.serverId ? 1 : 0));
    const failed = servers.filter((s) => s.status !== "Success");
    log("fleet update finished", { fleet, servers: servers.length, failed: failed.length, commands: commands.length });
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

/** One paginated `ListCommands` listing of everything invoked since the fan-out began; returns the page count. */
async function pollByListing(ssm: SSMClient, pending: SentCommand[], invokedAfter: Date): Promise<number> {
    const byId = new Map(pending.map((c) => [c.commandId, c]));
    let pages = 0;
    let token: string | undefined;
    do {
        const out = await ssm.send(new ssmSdk.ListCommandsCommand({ Filters: [{ key: "InvokedAfter", value: invokedAfter.toISOString().replace(/\.\d{3}Z$/, "Z") }], MaxResults: 50, NextToken: token }));
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

/** Per-server statuses of one command. A table chunk that fully succeeded needs no further call. */
async function reportCommand(ssm: SSMClient, cmd: SentCommand): Promise<ServerUpdateStatus[]> {
    const finished = TERMINAL_COMMAND_STATUSES.has(cmd.status);
    if (cmd.instanceIds && cmd.status === "Success") {
        return cmd.instanceIds.map((serverId) => ({ serverId, software: cmd.software, status: "Success" }));
    }
    if (!cmd.instanceIds && finished && cmd.targetCount === 0) return []; // tag selector matched nobody for this software
    const seen = new Map<string, ServerUpdateStatus>();
    let token: string | undefined;
    do {
        const out = await ssm.send(new ssmSdk.ListCommandInvocationsCommand({ CommandId: cmd.commandId, Details: cmd.status !== "Success", MaxResults: 50, NextToken: token }));
        for (const inv of out.CommandInvocations ?? []) seen.set(inv.InstanceId!, invocationStatus(cmd.software, inv));
        token = out.NextToken;
    } while (token);
    for (const serverId of cmd.instanceIds ?? []) {
        if (!seen.has(serverId)) seen.set(serverId, { serverId, software: cmd.software, status: "TimedOut", detail: `no invocation reported by SSM (command ${cmd.status})` });
    }
    return [...seen.values()];
}

function invocationStatus(software: ServerSoftware, inv: CommandInvocation): ServerUpdateStatus {
    const status = inv.Status ?? "Unknown";
    if (!TERMINAL_INVOCATION_STATUSES.has(status)) {
        return { serverId: inv.InstanceId!, software, status: "TimedOut", detail: `no answer by the deadline (last status ${status})` };
    }
    if (status === "Success") return { serverId: inv.InstanceId!, software, status };
    const plugin = inv.CommandPlugins?.find((p) => p.Status !== "Success") ?? inv.CommandPlugins?.[0];
    const parts = [inv.StatusDetails && inv.StatusDetails !== status ? inv.StatusDetails : undefined, plugin?.ResponseCode !== undefined ? `exit ${plugin.ResponseCode}` : undefined, plugin?.Output ? plugin.Output.trim().slice(-400) : undefined];
    const detail = parts.filter(Boolean).join(": ");
    return { serverId: inv.InstanceId!, software, status, ...(detail ? { detail } : {}) };
}
