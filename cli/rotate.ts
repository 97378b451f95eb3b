/**
 * `rotate [--wait]`: starts a rotation (auto: Secrets Manager's RotateSecret, which invokes the rotation
 * Lambda; manual: the starter Lambda, which starts CredentialRotation) and optionally follows it until it
 * ends, reporting each step and each server as AWS shows them. Watching changes nothing: stopping the watch
 * (Ctrl-C) does not stop the rotation.
 */
import { randomUUID } from "crypto";
import { DescribeSecretCommand, RotateSecretCommand } from "@aws-sdk/client-secrets-manager";
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from "@aws-sdk/client-sfn";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { listAccessKeys } from "../runtime/access-keys";
import type { CliClients } from "./clients";
import type { ServerState, StepState } from "./progress";
import { commandMode, documentCommands, fleetRun, hostnameMap } from "./ssm-runs";
import { confirmations } from "./status";
import type { RotatorRef } from "./target";

/** The four Secrets Manager rotation steps, in order. */
export const AUTO_STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;

export type StartedRotation =
    | { mode: "auto"; secretArn: string; versionId: string; startedAt: string; keysBefore: string[] }
    | { mode: "manual"; executionArn: string; name: string; startedAt: string };

/** Where the watch reports what it sees. */
export interface WatchSink {
    step(name: string, state: StepState, detail?: string): void;
    server(name: string, state: ServerState, detail?: string): void;
    note(text: string): void;
}

export interface RotationOutcome {
    ok: boolean;
    /** why it failed, naming the servers */
    failure?: string;
    /** true when the watch stopped before the rotation ended (deadline or interrupted) */
    unfinished?: boolean;
}

/** Starts one rotation. */
export async function startRotation(c: CliClients, ref: RotatorRef, now: () => Date = () => new Date()): Promise<StartedRotation> {
    const startedAt = now().toISOString();
    if (ref.mode === "auto") {
        const keysBefore = (await listAccessKeys(c.iam, ref.smtpUserName)).map((k) => k.accessKeyId);
        const token = randomUUID();
        const out = await c.secrets.send(new RotateSecretCommand({ SecretId: ref.secretArn!, ClientRequestToken: token, RotateImmediately: true }));
        return { mode: "auto", secretArn: ref.secretArn!, versionId: out.VersionId ?? token, startedAt, keysBefore };
    }
    if (!ref.starterFunctionName) throw new Error(`rotate: the outputs of ${ref.businessUnit} name no starter function (rotation.starterFunctionName)`);
    const out = await c.lambda.send(new InvokeCommand({ FunctionName: ref.starterFunctionName, Payload: Buffer.from(JSON.stringify({ requestId: randomUUID() })) }));
    const text = out.Payload ? Buffer.from(out.Payload).toString("utf8") : "";
    if (out.FunctionError) throw new Error(`rotate: the starter ${ref.starterFunctionName} failed: ${text.slice(0, 300)}`);
    const started = JSON.parse(text) as { executionArn: string; name: string };
    return { mode: "manual", executionArn: started.executionArn, name: started.name, startedAt };
}

/** How to watch a started rotation again (printed after Ctrl-C). */
export function watchAgainHint(started: StartedRotation): string {
    return started.mode === "auto"
        ? `the rotation goes on. Watch it with: ses-smtp-rotator status (version ${started.versionId})`
        : `the rotation goes on. Watch it with: ses-smtp-rotator status (execution ${started.name})`;
}

const SERVER_STATE: Record<string, ServerState> = { Pending: "waiting", Delayed: "waiting", InProgress: "updating", Success: "updated" };

export interface WatchOptions {
    pollMs?: number;
    deadline?: Date;
    /** set to stop watching early (Ctrl-C) */
    stopped?: () => boolean;
    sleep?: (ms: number) => Promise<void>;
}

/** Follows a started rotation until it ends (or the deadline, or `stopped()`), reporting to `sink`. */
export async function watchRotation(c: CliClients, ref: RotatorRef, started: StartedRotation, sink: WatchSink, opts: WatchOptions = {}): Promise<RotationOutcome> {
    const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
    const pollMs = opts.pollMs ?? 2000;
    const poll = started.mode === "auto" ? autoPoller(c, ref, started, sink) : manualPoller(c, ref, started, sink);
    for (;;) {
        const outcome = await poll();
        if (outcome) return outcome;
        if (opts.stopped?.()) return { ok: false, unfinished: true };
        if (opts.deadline && Date.now() > opts.deadline.getTime()) return { ok: false, unfinished: true, failure: `still running at the deadline ${opts.deadline.toISOString()}` };
        // AWS offers no event to wait on here: poll.
        await sleep(pollMs);
        if (opts.stopped?.()) return { ok: false, unfinished: true };
    }
}

function autoPoller(c: CliClients, ref: RotatorRef, started: Extract<StartedRotation, { mode: "auto" }>, sink: WatchSink): () => Promise<RotationOutcome | undefined> {
    let hostnames: Map<string, string> | undefined;
    const label = (id: string) => hostnames?.get(id) ?? id;
    sink.step("createSecret", "running");
    return async () => {
        hostnames ??= await hostnameMap(c, ref);
        const keys = await listAccessKeys(c.iam, ref.smtpUserName);
        const fresh = keys.find((k) => !started.keysBefore.includes(k.accessKeyId));
        const commands = (await documentCommands(c, ref)).filter((x) => commandMode(x) === "update" && x.Parameters?.CredentialVersion?.[0] === started.versionId);
        if (fresh || commands.length) sink.step("createSecret", "done", fresh ? `new key ${fresh.accessKeyId} stored as AWSPENDING` : "");
        if (commands.length) {
            sink.step("setSecret", "running", `SSM ${commands.map((x) => x.CommandId).join(", ")}`);
            const run = await fleetRun(c, commands, hostnames);
            for (const s of run.servers) sink.server(label(s.serverId), SERVER_STATE[s.status] ?? "failed", s.status === "Success" ? "SSM: Success" : s.detail ? `SSM: ${s.status}: ${s.detail}` : `SSM: ${s.status}`);
            if (run.done) {
                const bad = run.servers.filter((s) => s.status !== "Success");
                if (bad.length) {
                    const failure = `setSecret: ${bad.length} of ${run.servers.length} servers did not take the new credential: ${bad.map((b) => `${label(b.serverId)} (${b.status}${b.detail ? `: ${b.detail}` : ""})`).join(", ")}`;
                    sink.step("setSecret", "failed", `${bad.length} of ${run.servers.length} servers failed`);
                    for (const step of ["testSecret", "finishSecret"]) sink.step(step, "skipped");
                    return { ok: false, failure };
                }
                sink.step("setSecret", "done", `${run.servers.length} servers updated via SSM ${run.commandIds.join(", ")}`);
                sink.step("testSecret", "running");
            }
        }
        const d = await c.secrets.send(new DescribeSecretCommand({ SecretId: started.secretArn }));
        const stages = d.VersionIdsToStages?.[started.versionId] ?? [];
        if (stages.includes("AWSCURRENT")) {
            sink.step("setSecret", "done");
            sink.step("testSecret", "done", "SMTP AUTH with the new key accepted");
            if (!stages.includes("AWSPENDING")) {
                sink.step("finishSecret", "done", "AWSCURRENT moved to the new version");
                return { ok: true };
            }
            sink.step("finishSecret", "running");
        }
        return undefined;
    };
}

const CONFIRMATION_STATE: Record<string, ServerState> = { starting: "waiting", pending: "awaiting confirmation", confirmed: "confirmed", rejected: "rejected", expired: "failed" };

function manualPoller(c: CliClients, ref: RotatorRef, started: Extract<StartedRotation, { mode: "manual" }>, sink: WatchSink): () => Promise<RotationOutcome | undefined> {
    const seen = new Set<string>();
    let last: string | undefined;
    return async () => {
        const events = (await c.sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 1000 }))).events ?? [];
        for (const e of events) {
            const name = e.stateEnteredEventDetails?.name;
            if (name && !seen.has(name)) {
                seen.add(name);
                if (last) sink.step(last, "done");
                sink.step(name, "running");
                last = name;
            }
        }
        for (const x of await confirmations(c, ref, started.name)) {
            sink.server(x.hostname || x.serverId, CONFIRMATION_STATE[x.status] ?? "waiting", `owner ${x.owner}${x.remindersSent ? `, ${x.remindersSent} reminder${x.remindersSent === 1 ? "" : "s"}` : ""}`);
        }
        const d = await c.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
        if (d.status === "RUNNING") return undefined;
        if (last) sink.step(last, d.status === "SUCCEEDED" ? "done" : "failed", d.status === "SUCCEEDED" ? "" : d.error ?? d.status);
        return d.status === "SUCCEEDED" ? { ok: true } : { ok: false, failure: `${started.name} ${d.status}${d.error ? `: ${d.error}` : ""}${d.cause ? ` (${d.cause.slice(0, 200)})` : ""}` };
    };
}
