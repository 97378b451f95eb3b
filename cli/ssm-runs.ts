/**
 * The SSM Run Command side of the rotator, as the CLI reads it: which commands ran the rotator's documents
 * (update or check mode), and each server's invocation with what its script reported (runtime/server-report).
 */
import { Command, ListCommandInvocationsCommand, ListCommandsCommand } from "@aws-sdk/client-ssm";
import { TERMINAL_INVOCATION_STATUSES } from "../runtime/fleet";
import { parseServerReport, ServerCheck, ServerResult } from "../runtime/server-report";
import type { CliClients } from "./clients";
import { fleetServers } from "./servers";
import type { RotatorRef } from "./target";

export interface ServerRun {
    serverId: string;
    hostname?: string;
    /** SSM invocation status: Pending, InProgress, Success, Failed, TimedOut, Undeliverable, ... */
    status: string;
    /** the result marker the script printed, if any */
    result?: ServerResult;
    checks: ServerCheck[];
    /** the script's error line, for a person */
    detail?: string;
}

export interface FleetRun {
    commandIds: string[];
    requestedAt?: string;
    /** the credential version the run installed (or checked) */
    credentialVersion?: string;
    servers: ServerRun[];
    /** true when every invocation reached a final status */
    done: boolean;
}

/** The document's mode a command ran in ("update" when the command has no Mode parameter). */
export function commandMode(cmd: Command): string {
    return cmd.Parameters?.Mode?.[0] ?? "update";
}

/** Commands of the rotator's two documents, newest first. */
export async function documentCommands(c: Pick<CliClients, "ssm">, ref: RotatorRef): Promise<Command[]> {
    const out: Command[] = [];
    for (const doc of [ref.documents.postfix, ref.documents.iis]) {
        let token: string | undefined;
        do {
            const page = await c.ssm.send(new ListCommandsCommand({ Filters: [{ key: "DocumentName", value: doc }], MaxResults: 50, NextToken: token }));
            out.push(...(page.Commands ?? []).filter((x) => x.DocumentName === doc));
            token = page.NextToken;
        } while (token);
    }
    return out.sort((a, b) => (b.RequestedDateTime?.getTime() ?? 0) - (a.RequestedDateTime?.getTime() ?? 0));
}

/** The last line that says ERROR (or the last line) of a script's output. */
export function errorLine(text: string | undefined): string | undefined {
    const lines = (text ?? "").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("SES-ROTATOR-"));
    return (lines.filter((l) => /error/i.test(l)).at(-1) ?? lines.at(-1))?.slice(0, 200);
}

/** Every server's invocation of the given commands. */
export async function commandRuns(c: Pick<CliClients, "ssm">, commandIds: string[], hostnames: Map<string, string> = new Map()): Promise<ServerRun[]> {
    const out: ServerRun[] = [];
    for (const commandId of commandIds) {
        let token: string | undefined;
        do {
            const page = await c.ssm.send(new ListCommandInvocationsCommand({ CommandId: commandId, Details: true, MaxResults: 50, NextToken: token }));
            for (const inv of page.CommandInvocations ?? []) {
                const output = (inv.CommandPlugins ?? []).map((p) => p.Output ?? "").join("\n");
                const report = parseServerReport(output);
                const failed = report.checks.filter((x) => !x.ok);
                const detail = inv.Status === "Success" && !failed.length ? undefined : failed.length ? failed.map((x) => `${x.name}: ${x.detail}`).join("; ") : errorLine(output);
                out.push({
                    serverId: inv.InstanceId!,
                    ...(hostnames.get(inv.InstanceId!) ? { hostname: hostnames.get(inv.InstanceId!) } : {}),
                    status: inv.Status ?? "Unknown",
                    ...(report.result ? { result: report.result } : {}),
                    checks: report.checks,
                    ...(detail ? { detail } : {}),
                });
            }
            token = page.NextToken;
        } while (token);
    }
    return out.sort((a, b) => (a.hostname ?? a.serverId).localeCompare(b.hostname ?? b.serverId));
}

/** serverId -> hostname from the fleet, when the fleet can be read (otherwise an empty map). */
export async function hostnameMap(c: Pick<CliClients, "dynamodb" | "ec2">, ref: RotatorRef): Promise<Map<string, string>> {
    try {
        return new Map((await fleetServers(c, ref)).filter((s) => s.hostname).map((s) => [s.serverId, s.hostname]));
    } catch {
        return new Map();
    }
}

/** A run made of the given commands. */
export async function fleetRun(c: CliClients, commands: Command[], hostnames: Map<string, string>): Promise<FleetRun> {
    const servers = await commandRuns(c, commands.map((x) => x.CommandId!), hostnames);
    const oldest = commands.map((x) => x.RequestedDateTime).filter(Boolean).sort((a, b) => a!.getTime() - b!.getTime())[0];
    return {
        commandIds: commands.map((x) => x.CommandId!),
        ...(oldest ? { requestedAt: oldest.toISOString() } : {}),
        ...(commands[0]?.Parameters?.CredentialVersion?.[0] ? { credentialVersion: commands[0].Parameters.CredentialVersion[0] } : {}),
        servers,
        done: servers.every((s) => TERMINAL_INVOCATION_STATUSES.has(s.status)),
    };
}

/**
 * The last rotation's run on the servers: the newest update-mode commands and every other update command for
 * the same credential version (a fan-out sends one command per software and per 50 servers).
 */
export async function lastFleetRun(c: CliClients, ref: RotatorRef, opts: { since?: Date } = {}): Promise<FleetRun | undefined> {
    const updates = (await documentCommands(c, ref)).filter((x) => commandMode(x) === "update" && (!opts.since || (x.RequestedDateTime?.getTime() ?? 0) >= opts.since.getTime()));
    if (!updates.length) return undefined;
    const version = updates[0].Parameters?.CredentialVersion?.[0];
    const same = updates.filter((x) => x.Parameters?.CredentialVersion?.[0] === version);
    return fleetRun(c, same, await hostnameMap(c, ref));
}
