/**
 * Manual mode, end to end: the starter Lambda starts CredentialRotation (moto runs the emitted state
 * machines, the bridge runs the real task handlers); each server's owner gets an e-mail (an SNS message in
 * moto) with a link to the confirmation page, which the demo serves on localhost through the real API handler.
 *
 * The demo plays each owner's hands-on part: when the owner's mail arrives it installs the new credential on
 * that server by running the same Postfix document (Parameter Store version this time) through the server's
 * agent, as the mail's instructions describe. Then it prints the link and waits for a person to press Confirm
 * in a browser, or with `--auto-confirm` opens the page and presses the button itself (GET, then the form's
 * POST). `--fail mail-K`: that server's update fails, so its owner answers "I could not update this server".
 * After every confirmation the state machine observes the old key, lets IAM's last-use report decide, deactivates it, waits the grace period and deletes it.
 */
import { randomUUID } from "crypto";
import { DescribeExecutionCommand, GetExecutionHistoryCommand } from "@aws-sdk/client-sfn";
import { GetParameterCommand, GetParameterHistoryCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { documentParameters } from "../documents";
import { parseCredential } from "../runtime/credential";
import { confirmationExecutionName } from "../runtime/manual/confirmation-tasks";
import { startConfirmationServer } from "./confirm-http";
import type { Cleanup } from "./cleanup";
import type { Emulators } from "./emulators";
import type { RetireResult } from "../runtime/manual/retire-task";
import { MANUAL_DEMO_TIMING, ManualResources, provisionManual } from "./manual-provision";
import type { DemoOptions } from "./options";
import { Progress } from "../cli/progress";
import type { DemoClients, SharedResources } from "./provision";
import { accessKeyStatuses, DemoResult, ServerOutcome } from "./result";
import { installedUserName, RunningServer } from "./servers";

export const MANUAL_STEPS = ["createCredential", "mailOwners", "confirmations", "deactivateOldKey", "graceThenDelete"] as const;

export interface ManualDemoInput {
    emulators: Emulators;
    clients: DemoClients;
    shared: SharedResources;
    servers: RunningServer[];
    labels: { name: string; label: string }[];
    opts: DemoOptions;
    cleanup: Cleanup;
    out: NodeJS.WriteStream;
    /** told what was provisioned (the demo's closing `status` reads the same resources) */
    onProvisioned?: (m: ManualResources) => void;
}

/** Per-server bookkeeping while the run waits for people. */
interface OwnerTask {
    server: RunningServer;
    link: string;
    /** the owner's update of the server, once it finished */
    updated?: { ok: boolean; detail?: string };
    decision?: "confirmed" | "rejected";
    answered?: boolean;
}

/** How long --auto-confirm runs may take before the demo gives up (a person gets the link's full validity). */
const AUTO_CONFIRM_DEADLINE_MS = 240_000;

export async function runManualDemo(input: ManualDemoInput): Promise<DemoResult> {
    const { emulators, clients: c, shared, servers, opts, cleanup, out } = input;
    let api: ManualResources["api"] | undefined;
    const web = await startConfirmationServer((e) => api!(e), opts.port);
    cleanup.add("confirmation web server", () => web.close());
    const m = await provisionManual(c, emulators, shared, cleanup, web.baseUrl);
    api = m.api;
    input.onProvisioned?.(m);
    out.write(`  state machines ${m.rotationArn.split(":").pop()} + ${m.confirmationArn.split(":").pop()} created from the emitted definitions; parameter ${m.parameterName} v1 holds ${shared.initialCredential.username}\n`);
    out.write(`  confirmation pages served by the real API handler at ${web.baseUrl}/confirm/<id>\n`);
    out.write(opts.autoConfirm ? "  --auto-confirm: the demo confirms each server itself through those pages.\n\n" : "  Open each server's link below in a browser and press Confirm (Ctrl-C stops the demo).\n\n");

    const progress = new Progress(out, out.isTTY === true, [...MANUAL_STEPS], input.labels);
    const started = Date.now();
    try {
        const execution = await m.start({ requestId: randomUUID() });
        progress.note(`CredentialRotation execution ${execution.name} started`);
        progress.step("createCredential", "running");
        const tasks = new Map<string, OwnerTask>();
        const fnCalls = (name: string) => m.bridge.invocations.filter((i) => i.functionName.endsWith(`-${name}`));
        let status = "RUNNING";
        let newKey: { accessKeyId: string; parameterVersion: number } | undefined;
        for (;;) {
            const created = fnCalls("createCredential").find((i) => i.result);
            if (created && !newKey) {
                newKey = created.result as { accessKeyId: string; parameterVersion: number };
                progress.step("createCredential", "done", `new key ${newKey.accessKeyId} stored as ${m.parameterName} v${newKey.parameterVersion}`);
                progress.step("mailOwners", "running");
            }
            for (const mail of ownerMails(emulators, m.ownerTopicArn)) {
                const server = servers.find((s) => s.server.ownerEmail === mail.to);
                if (!server || tasks.has(server.server.name) || !newKey) continue;
                const link = `${web.baseUrl}/confirm/${mail.confirmationId}`;
                const task: OwnerTask = { server, link };
                tasks.set(server.server.name, task);
                installAsOwner(input, m, server, newKey.parameterVersion).then(
                    (r) => (task.updated = r),
                    (e) => (task.updated = { ok: false, detail: String((e as Error)?.message ?? e) }),
                );
                progress.server(server.server.name, "updating", "owner installs the new credential");
            }
            if (tasks.size === servers.length) progress.step("mailOwners", "done", `${tasks.size} owner e-mails (SNS ${m.ownerTopicArn.split(":").pop()})`);
            if (tasks.size > 0) progress.step("confirmations", "running");
            for (const t of tasks.values()) await advanceOwner(t, input, m, execution.name, progress);
            const decisions = [...tasks.values()].map((t) => t.decision);
            if (decisions.includes("rejected")) progress.step("confirmations", "failed", "an owner could not update a server");
            else if (tasks.size === servers.length && decisions.every((d) => d === "confirmed")) progress.step("confirmations", "done", `${servers.length} of ${servers.length} confirmed`);
            // The shared usage-guarded retirement: observe, let IAM's last-use report decide, deactivate, delete after the grace.
            const retirement = fnCalls("retireOldKeys").map((i) => i.result as RetireResult | undefined).filter((r): r is RetireResult => !!r);
            if (retirement.length > 0 && !progress.stepStarted("deactivateOldKey")) {
                progress.step("deactivateOldKey", "running", `observing ${MANUAL_DEMO_TIMING.observationSeconds} s for late use of the old key; production default 24 h`);
            }
            if (retirement.some((r) => r.state === "held")) progress.step("deactivateOldKey", "failed", "old key used after the switch: retirement held");
            if (retirement.some((r) => r.state === "deactivated" || r.state === "done")) {
                progress.step("deactivateOldKey", "done", `${shared.initialCredential.username} Inactive (not used since the switch)`);
                progress.step("graceThenDelete", "running", `grace ${MANUAL_DEMO_TIMING.graceSeconds} s; production default 3 days`);
            }
            if (retirement.some((r) => r.state === "done")) progress.step("graceThenDelete", "done", `${shared.initialCredential.username} deleted`);
            status = (await m.sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }))).status ?? "RUNNING";
            if (status !== "RUNNING") break;
            if (opts.autoConfirm && Date.now() - started > AUTO_CONFIRM_DEADLINE_MS) throw new Error(`the manual rotation did not finish within ${AUTO_CONFIRM_DEADLINE_MS / 1000} s`);
            // Polling moto's interpreter and the proxy's record: there is no event to wait on.
            await new Promise((r) => setTimeout(r, 300));
        }
        for (const step of MANUAL_STEPS) if (!progress.stepStarted(step)) progress.step(step, "skipped");
        return await manualResult(input, m, execution, status, [...tasks.values()], newKey?.accessKeyId, Date.now() - started, progress);
    } finally {
        progress.finish();
    }
}

/** Owner e-mails SNS accepted: recipient (the filter attribute) and the link id. */
function ownerMails(emulators: Emulators, ownerTopicArn: string): { to: string; confirmationId: string }[] {
    return emulators.proxy.calls
        .filter((x) => x.service === "sns" && x.operation === "Publish" && x.status === 200)
        .map((x) => new URLSearchParams(x.requestBody))
        .filter((p) => p.get("TopicArn") === ownerTopicArn)
        .map((p) => ({ to: p.get("MessageAttributes.entry.1.Value.StringValue") ?? "", confirmationId: /\/confirm\/([A-Za-z0-9_-]{43})/.exec(p.get("Message") ?? "")?.[1] ?? "" }))
        .filter((x) => x.confirmationId);
}

/** The owner's hands-on part: the Postfix document run on the server with the new parameter version. */
async function installAsOwner(input: ManualDemoInput, m: ManualResources, s: RunningServer, version: number): Promise<{ ok: boolean; detail?: string }> {
    const sent = await input.clients.ssm.send(
        new SendCommandCommand({
            DocumentName: input.shared.documents.postfix,
            InstanceIds: [s.server.serverId],
            Parameters: documentParameters({ source: "ParameterStore", id: m.parameterName, version, region: input.emulators.region }),
            Comment: `owner of ${s.server.hostname} installs the new SMTP credential`,
        }),
    );
    const result = await s.agent.waitFor(sent.Command!.CommandId!, 120000);
    const error = (result.stderr ?? "").split("\n").find((l) => l.includes("ERROR"));
    return result.status === "Success" ? { ok: true } : { ok: false, detail: error?.trim() ?? `SSM: ${result.status}` };
}

/** Moves one owner along: after their update, print the link (or answer it with --auto-confirm); track the decision. */
async function advanceOwner(t: OwnerTask, input: ManualDemoInput, m: ManualResources, rotation: string, progress: Progress): Promise<void> {
    const name = t.server.server.name;
    const updated = t.updated;
    if (!updated) return;
    if (!t.answered) {
        t.answered = true;
        const what = updated.ok ? "server updated; confirm" : `update FAILED (${updated.detail}); answer "I could not update this server"`;
        progress.server(name, "awaiting confirmation", updated.ok ? "" : "update failed");
        progress.note(`${name}: ${what} at ${t.link}`);
        if (input.opts.autoConfirm) await answerLikeAPerson(t.link, updated.ok ? "confirm" : "reject");
    }
    if (t.decision) return;
    const item = await m.store.get(confirmationExecutionName(t.server.server.serverId, rotation));
    if (item?.status === "confirmed" || item?.status === "rejected") {
        t.decision = item.status;
        progress.server(name, item.status, `decided ${item.decidedAt ?? ""}`.trim());
    }
}

/** Opens the page (GET changes nothing) and submits its form, over HTTP like a browser. */
async function answerLikeAPerson(link: string, action: "confirm" | "reject"): Promise<void> {
    const page = await fetch(link);
    const html = await page.text();
    if (page.status !== 200 || !html.includes(`value="${action}"`)) throw new Error(`the confirmation page ${link} answered ${page.status} without a ${action} button`);
    const posted = await fetch(link, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: `action=${action}` });
    if (posted.status !== 200) throw new Error(`pressing ${action} on ${link} answered ${posted.status}: ${(await posted.text()).slice(0, 300)}`);
}

async function manualResult(
    input: ManualDemoInput,
    m: ManualResources,
    execution: { executionArn: string; name: string },
    status: string,
    tasks: OwnerTask[],
    newAccessKeyId: string | undefined,
    durationMs: number,
    progress: Progress,
): Promise<DemoResult> {
    const { clients: c, shared, emulators } = input;
    const keys = await accessKeyStatuses(c, shared.userName);
    const oldAccessKeyId = shared.initialCredential.username;
    const latest = parseCredential((await c.ssm.send(new GetParameterCommand({ Name: m.parameterName, WithDecryption: true }))).Parameter?.Value);
    const versions = (await c.ssm.send(new GetParameterHistoryCommand({ Name: m.parameterName }))).Parameters ?? [];
    const described = await m.sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn }));
    const history = await m.sfn.send(new GetExecutionHistoryCommand({ executionArn: execution.executionArn, maxResults: 1000 }));
    const outcomes: ServerOutcome[] = input.servers.map((s) => {
        const t = tasks.find((x) => x.server === s);
        const detail = s.agent.handled.at(-1)?.result.status === "Success" ? undefined : (s.agent.handled.at(-1)?.result.stderr ?? "").split("\n").find((l) => l.includes("ERROR"))?.trim();
        return { name: s.server.name, serverId: s.server.serverId, hostname: s.server.hostname, kind: s.kind, status: t?.decision ?? "pending", installedUserName: installedUserName(s), ...(detail ? { detail } : {}) };
    });
    const rotated = status === "SUCCEEDED" && !!newAccessKeyId && keys[newAccessKeyId] === "Active" && !(oldAccessKeyId in keys);
    const notices = emulators.proxy.calls
        .filter((x) => x.service === "sns" && x.operation === "Publish" && x.status === 200)
        .map((x) => new URLSearchParams(x.requestBody))
        .filter((p) => p.get("TopicArn") === shared.topicArn)
        .map((p) => p.get("Subject") ?? "");
    return {
        mode: "manual",
        rotated,
        asExpected: input.opts.failServer ? status === "FAILED" && keys[oldAccessKeyId] === "Active" : rotated,
        ...(input.opts.failServer ? { failServer: input.opts.failServer } : {}),
        oldAccessKeyId,
        ...(newAccessKeyId ? { newAccessKeyId } : {}),
        currentAccessKeyId: latest?.username ?? "",
        keys,
        servers: outcomes,
        durationMs,
        stepDurationsMs: progress.stepDurations(),
        ...(status === "SUCCEEDED" ? {} : { failure: `CredentialRotation ${status}${described.error ? `: ${described.error}` : ""}${described.cause ? ` (${described.cause.slice(0, 300)})` : ""}` }),
        audit: {
            "Step Functions execution (history kept 90 days)": `${execution.name} ${status}, ${history.events?.length ?? 0} history events`,
            "SNS owner e-mails": `${ownerMails(emulators, m.ownerTopicArn).length} to ${m.ownerTopicArn}`,
            "SNS alert topic": `${shared.topicArn}: ${notices.length ? notices.map((n) => JSON.stringify(n)).join(", ") : "no notices"}`,
            "Parameter Store versions": versions.map((v) => `v${v.Version}`).join(", "),
            "confirmation table (who confirmed when)": `${m.store.tableName}`,
            "task Lambdas' log (CloudWatch Logs)": `${m.lambdaLog.length} lines`,
        },
    };
}
