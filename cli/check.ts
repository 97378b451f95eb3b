/**
 * `check` (preflight): runs the rotator's own SSM documents with `Mode=check` on every server of the fleet,
 * against the CURRENT credential's reference, and reports per server what its script found. Check mode
 * changes nothing on any server (the documents' contract: runtime/server-report.ts). A server passes only
 * when its invocation succeeded AND its script printed `SES-ROTATOR-RESULT: check-passed`.
 */
import { DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { DescribeParametersCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { documentParameters } from "../documents/parameters";
import { TERMINAL_INVOCATION_STATUSES } from "../runtime/fleet";
import { SERVER_SOFTWARE, ServerSoftware } from "../runtime/fleet-target";
import type { CliClients } from "./clients";
import { listServers, ServerView } from "./servers";
import { commandRuns, ServerRun } from "./ssm-runs";
import type { RotatorRef } from "./target";

export interface ServerCheckResult extends ServerRun {
    software: string;
    pingStatus: string;
    platform?: string;
    ok: boolean;
    /** why it would fail a rotation (empty when ok) */
    problems: string[];
}

export interface CheckReport {
    businessUnit: string;
    credentialVersion: string;
    commandIds: string[];
    servers: ServerCheckResult[];
    ok: boolean;
    exitCode: 0 | 2;
}

/** The current credential's reference (what a rotation's servers would fetch). */
export async function currentCredentialRef(c: Pick<CliClients, "secrets" | "ssm">, ref: RotatorRef, region: string): Promise<{ source: "SecretsManager" | "ParameterStore"; id: string; version: string; region: string }> {
    if (ref.mode === "auto") {
        const d = await c.secrets.send(new DescribeSecretCommand({ SecretId: ref.secretArn! }));
        const version = Object.entries(d.VersionIdsToStages ?? {}).find(([, s]) => s.includes("AWSCURRENT"))?.[0];
        if (!version) throw new Error(`check: secret ${ref.secretArn} has no AWSCURRENT version`);
        return { source: "SecretsManager", id: ref.secretArn!, version, region: ref.secretArn!.split(":")[3] };
    }
    const p = await c.ssm.send(new DescribeParametersCommand({ ParameterFilters: [{ Key: "Name", Values: [ref.parameterName!] }] }));
    const version = p.Parameters?.[0]?.Version;
    if (version === undefined) throw new Error(`check: parameter ${ref.parameterName} not found`);
    return { source: "ParameterStore", id: ref.parameterName!, version: String(version), region };
}

export interface CheckOptions {
    /** the rotator's (stack) region, for the Parameter Store reference */
    region: string;
    pollMs?: number;
    deadline?: Date;
    sleep?: (ms: number) => Promise<void>;
}

/** Sends the check to every server, waits for every answer (or the deadline), reports per server. */
export async function runCheck(c: CliClients, ref: RotatorRef, opts: CheckOptions): Promise<CheckReport> {
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const deadline = opts.deadline ?? new Date(Date.now() + 300_000);
    const servers = await listServers(c, ref);
    if (!servers.length) throw new Error(`check: the fleet of ${ref.businessUnit} lists no servers`);
    const credential = await currentCredentialRef(c, ref, opts.region);
    const parameters = { ...documentParameters(credential), Mode: ["check"] };
    const results = new Map<string, ServerCheckResult>();
    const base = (s: ServerView) => ({ serverId: s.serverId, hostname: s.hostname, software: s.software, pingStatus: s.pingStatus, ...(s.platform ? { platform: s.platform } : {}) });
    const commandIds: string[] = [];
    for (const s of servers.filter((x) => !(SERVER_SOFTWARE as readonly string[]).includes(x.software))) {
        results.set(s.serverId, { ...base(s), status: "NotSent", checks: [], ok: false, problems: [`software tag ${JSON.stringify(s.software)} is not one of ${SERVER_SOFTWARE.join(", ")}`] });
    }
    for (const software of SERVER_SOFTWARE) {
        const ids = servers.filter((s) => s.software === software).map((s) => s.serverId);
        for (let i = 0; i < ids.length; i += 50) {
            const out = await c.ssm.send(
                new SendCommandCommand({
                    DocumentName: ref.documents[software as ServerSoftware],
                    InstanceIds: ids.slice(i, i + 50),
                    Parameters: parameters,
                    Comment: `ses-smtp-rotator check (changes nothing)`,
                    TimeoutSeconds: 600,
                    MaxConcurrency: "100%",
                    MaxErrors: "100%",
                }),
            );
            commandIds.push(out.Command!.CommandId!);
        }
    }
    let runs: ServerRun[] = [];
    for (;;) {
        runs = await commandRuns(c, commandIds);
        if (runs.every((r) => TERMINAL_INVOCATION_STATUSES.has(r.status)) || Date.now() > deadline.getTime()) break;
        // SSM gives no event to wait on: poll.
        await sleep(opts.pollMs ?? 2000);
    }
    for (const run of runs) {
        const s = servers.find((x) => x.serverId === run.serverId)!;
        const problems: string[] = [];
        if (s.pingStatus !== "Online" && s.pingStatus !== "not registered") problems.push(`SSM agent ${s.pingStatus}`);
        if (!TERMINAL_INVOCATION_STATUSES.has(run.status)) problems.push(`no answer by ${deadline.toISOString()} (${run.status})`);
        else if (run.status !== "Success") problems.push(`SSM: ${run.status}${run.detail ? `: ${run.detail}` : ""}`);
        for (const x of run.checks.filter((x) => !x.ok)) problems.push(`${x.name}: ${x.detail}`);
        if (run.status === "Success" && run.result !== "check-passed") problems.push(run.result === "check-failed" ? "check-failed" : "the script printed no check result (document without check mode, or the step was skipped for this platform)");
        const unique = [...new Set(problems)];
        results.set(run.serverId, { ...base(s), ...run, hostname: s.hostname, ok: unique.length === 0, problems: unique });
    }
    const list = servers.map((s) => results.get(s.serverId) ?? { ...base(s), status: "NotSent", checks: [], ok: false, problems: ["no invocation (SSM did not target it)"] });
    const ok = list.every((r) => r.ok);
    return { businessUnit: ref.businessUnit, credentialVersion: credential.version, commandIds, servers: list, ok, exitCode: ok ? 0 : 2 };
}
