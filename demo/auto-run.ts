/**
 * Auto mode, end to end: the demo plays Secrets Manager (moto cannot invoke our Lambda): it creates the
 * AWSPENDING version for a new token as RotateSecret does, calls the REAL rotation handler
 * (`createRotationHandler`, configured from the environment the component sets) for the four steps, and
 * removes AWSPENDING after a successful finishSecret. The handler talks to moto through the proxy, updates
 * the servers over SSM (the fleet agents run the Postfix document), proves the new key by SMTP AUTH against
 * the local SES endpoint, moves AWSCURRENT and retires the old key.
 */
import { DescribeSecretCommand, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { ListCommandInvocationsCommand } from "@aws-sdk/client-ssm";
import { createRotationHandler, FleetUpdateError } from "../runtime/auto/rotation-handler";
import { parseCredential } from "../runtime/credential";
import { listRetirements } from "../runtime/retirement";
import { createSmtpCheck } from "../runtime/smtp-check";
import { mailAndAwait } from "../sandbox/postfix";
import { createPendingVersion, removePendingLabel, STEPS } from "../sandbox/secrets-manager-play";
import type { Emulators } from "./emulators";
import type { Progress, ServerState } from "../cli/progress";
import type { AutoResources, DemoClients, SharedResources } from "./provision";
import { accessKeyStatuses, DemoResult, ServerOutcome } from "./result";
import { installedUserName, RunningServer } from "./servers";

/** The four Secrets Manager rotation steps, in order (sandbox/secrets-manager-play's STEPS). */
export const AUTO_STEPS = STEPS;

export interface AutoRunInput {
    emulators: Emulators;
    clients: DemoClients;
    shared: SharedResources;
    auto: AutoResources;
    servers: RunningServer[];
    progress: Progress;
    failServer?: string;
}

const SERVER_STATE: Record<string, ServerState> = { Pending: "waiting", InProgress: "updating", Success: "updated" };

/** Shows each server's SSM invocation status while setSecret runs (what the SSM console would show). */
function watchServers(input: AutoRunInput): () => Promise<void> {
    const byId = new Map(input.servers.map((s) => [s.server.serverId, s.server.name]));
    let running = true;
    const loop = (async () => {
        while (running) {
            try {
                const out = await input.clients.ssm.send(new ListCommandInvocationsCommand({ MaxResults: 50 }));
                for (const inv of out.CommandInvocations ?? []) {
                    const name = byId.get(inv.InstanceId ?? "");
                    if (name) input.progress.server(name, SERVER_STATE[inv.Status ?? ""] ?? "failed", inv.Status === "Success" || !SERVER_STATE[inv.Status ?? ""] ? `SSM: ${inv.Status}` : "");
                }
            } catch {
                // a missed poll only delays the display
            }
            // Polling SSM for display: there is no event to wait on.
            await new Promise((r) => setTimeout(r, 250));
        }
    })();
    return async () => {
        running = false;
        await loop;
    };
}

/** Runs one rotation and returns the result (the rotation failing is a result, not an exception). */
export async function runAutoRotation(input: AutoRunInput): Promise<DemoResult> {
    const { clients: c, shared, auto, servers, progress, emulators } = input;
    const started = Date.now();
    const lambdaLog: { msg: string; fields?: object }[] = [];
    const handler = createRotationHandler(
        {
            iam: c.iam,
            secrets: c.secrets,
            ssm: c.ssm,
            sns: c.sns,
            dynamodb: c.dynamodb,
            smtpCheck: createSmtpCheck({ host: emulators.ses.host, port: emulators.ses.port, tlsMode: "starttls", ca: emulators.ses.ca, budgetMs: 20000, initialDelayMs: 500 }),
            fleetPollIntervalMs: 500,
            // What CloudWatch Logs would hold (the handler redacts secrets itself).
            log: (msg, fields) => void lambdaLog.push({ msg, fields }),
        },
        auto.config,
    );

    // Secrets Manager's RotateSecret: a pending version for a new token (a copy of the current value).
    const token = await createPendingVersion(c.secrets, auto.secretArn);
    progress.note(`Secrets Manager starts rotation of ${auto.secretArn} (version ${token})`);

    let failure: string | undefined;
    let fleetError: FleetUpdateError | undefined;
    let newAccessKeyId: string | undefined;
    for (const step of AUTO_STEPS) {
        progress.step(step, "running");
        const stopWatching = step === "setSecret" ? watchServers(input) : async () => undefined;
        try {
            await handler({ Step: step, SecretId: auto.secretArn, ClientRequestToken: token });
            await stopWatching();
            progress.step(step, "done", await stepDetail(step, input, token, lambdaLog));
            if (step === "createSecret") newAccessKeyId = await pendingKeyId(input, token);
        } catch (e) {
            await stopWatching();
            const message = String((e as Error)?.message ?? e);
            failure = message.startsWith(`${step}:`) ? message : `${step}: ${message}`;
            if (e instanceof FleetUpdateError) fleetError = e;
            progress.step(step, "failed", step === "setSecret" ? "a server did not take the new credential" : String((e as Error)?.message ?? e).slice(0, 120));
            break;
        }
    }
    for (const step of AUTO_STEPS) if (failure && !progress.stepStarted(step)) progress.step(step, "skipped");
    if (!failure) {
        // Secrets Manager, after a successful finishSecret: the AWSPENDING label goes.
        await removePendingLabel(c.secrets, auto.secretArn, token);
    }

    // Each server's final state, from SSM (or from the handler's error), and what its sasl_passwd holds now.
    const fleet = fleetError?.result.servers ?? ((lambdaLog.find((l) => l.msg === "setSecret: fleet update finished")?.fields as any)?.servers as { serverId: string; status: string; detail?: string }[] | undefined) ?? [];
    const outcomes: ServerOutcome[] = servers.map((s) => {
        const f = fleet.find((x) => x.serverId === s.server.serverId);
        const status = f?.status ?? "NotSent";
        progress.server(s.server.name, status === "Success" ? "updated" : status === "NotSent" ? "idle" : "failed", `SSM: ${status}`);
        const detail = status === "Success" || status === "NotSent" ? undefined : lastLine(s.agent.handled.at(-1)?.result.stderr) ?? f?.detail?.slice(0, 200);
        return { name: s.server.name, serverId: s.server.serverId, hostname: s.server.hostname, kind: s.kind, status, installedUserName: installedUserName(s), ...(detail ? { detail } : {}) };
    });

    const currentValue = parseCredential((await c.secrets.send(new GetSecretValueCommand({ SecretId: auto.secretArn, VersionStage: "AWSCURRENT" }))).SecretString);
    const keys = await accessKeyStatuses(c, shared.userName);
    const oldAccessKeyId = shared.initialCredential.username;
    const rotated = !failure && currentValue?.username === newAccessKeyId && keys[oldAccessKeyId] !== "Active";

    let mailCheck: DemoResult["mailCheck"];
    const real = servers.find((s) => s.postfix);
    if (rotated && real?.postfix) {
        progress.note(`Sending a test mail through ${real.server.name}'s real Postfix...`);
        const subject = `ses-smtp-rotator demo ${token.slice(0, 8)}`;
        const got = await mailAndAwait(real.postfix, emulators.ses, subject, 60000);
        mailCheck = { server: real.server.name, subject, authenticatedAs: got.username };
    }

    const stages = (await c.secrets.send(new DescribeSecretCommand({ SecretId: auto.secretArn }))).VersionIdsToStages ?? {};
    const notices = emulators.proxy.calls
        .filter((x) => x.service === "sns" && x.operation === "Publish" && x.status === 200)
        .map((x) => new URLSearchParams(x.requestBody))
        .filter((p) => p.get("TopicArn") === shared.topicArn)
        .map((p) => p.get("Subject") ?? "");
    const commandIds = [...new Set(lambdaLog.flatMap((l) => ((l.fields as any)?.commandIds as string[] | undefined) ?? []))];
    return {
        mode: "auto",
        rotated,
        asExpected: input.failServer ? !rotated && keys[oldAccessKeyId] === "Active" && currentValue?.username === oldAccessKeyId : rotated,
        ...(input.failServer ? { failServer: input.failServer } : {}),
        oldAccessKeyId,
        ...(newAccessKeyId ? { newAccessKeyId } : {}),
        currentAccessKeyId: currentValue?.username ?? "",
        keys,
        servers: outcomes,
        durationMs: Date.now() - started,
        stepDurationsMs: progress.stepDurations(),
        ...(failure ? { failure } : {}),
        ...(mailCheck ? { mailCheck } : {}),
        audit: {
            "SNS alert topic (e-mailed to notifyEmails)": `${shared.topicArn}: ${notices.length ? notices.map((n) => JSON.stringify(n)).join(", ") : "no notices"}`,
            "SSM Run Command history (per-server output)": commandIds.length ? commandIds.join(", ") : "no command sent",
            "Secrets Manager versions": secretVersionsLine(stages),
            "old-key retirement record (IAM user tags)": (await listRetirements(c.iam, shared.userName)).map((r) => `${r.accessKeyId} ${r.phase}`).join(", ") || "none",
            "rotation Lambda log (CloudWatch Logs)": `${lambdaLog.length} lines`,
        },
    };
}

async function pendingKeyId(input: AutoRunInput, token: string): Promise<string | undefined> {
    const v = await input.clients.secrets.send(new GetSecretValueCommand({ SecretId: input.auto.secretArn, VersionId: token }));
    return parseCredential(v.SecretString)?.username;
}

async function stepDetail(step: string, input: AutoRunInput, token: string, log: { msg: string; fields?: object }[]): Promise<string> {
    const fields = (msg: string) => log.filter((l) => l.msg === msg).at(-1)?.fields as any;
    switch (step) {
        case "createSecret":
            return `new key ${await pendingKeyId(input, token)} stored as AWSPENDING`;
        case "setSecret": {
            const f = fields("setSecret: fleet update finished");
            return `${f?.servers?.length ?? 0} servers updated via SSM ${f?.commandIds?.join(", ") ?? ""}`;
        }
        case "testSecret": {
            const attempts = fields("testSecret: SMTP AUTH accepted the pending credential")?.outcome?.attempts;
            return `SMTP AUTH (STARTTLS) with the new key accepted${attempts ? ` (${attempts} connection${attempts === 1 ? "" : "s"})` : ""}`;
        }
        default: {
            const keys = await accessKeyStatuses(input.clients, input.shared.userName);
            const old = input.shared.initialCredential.username;
            return `AWSCURRENT moved; old key ${old} ${keys[old] ?? "deleted"}`;
        }
    }
}

/** The script's error line (or its last line). */
function lastLine(text: string | undefined): string | undefined {
    const lines = (text ?? "").split("\n").map((l) => l.trim()).filter(Boolean);
    return (lines.find((l) => l.includes("ERROR")) ?? lines.at(-1))?.slice(0, 200);
}

/** `e9486525 AWSCURRENT, 1a2b3c4d AWSPREVIOUS, ...`; a version with no label says so (never an empty label). */
export function secretVersionsLine(stages: Record<string, string[]>): string {
    return Object.entries(stages).map(([v, s]) => `${v.slice(0, 8)} ${s.length ? s.join("+") : "(no label: an older version Secrets Manager keeps)"}`).join(", ");
}
