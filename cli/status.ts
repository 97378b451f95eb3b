/**
 * `status`: one rotator's state, read from AWS (never a secret in the result: key ids, dates, statuses).
 *
 *  - the credential: SMTP user name (= the current access key id), its age, created, last rotated, next
 *    scheduled rotation, mode;
 *  - every access key of the SMTP user (Active/Inactive, created, IAM last use);
 *  - old-key retirements in progress and holds with IAM's evidence (the IAM user tags, runtime/retirement);
 *  - the last rotation's outcome per server: SSM command invocations (auto), owner confirmations (manual);
 *  - rotations in progress.
 *
 * Health (the exit code): 2 when the last rotation failed, 1 on a warning (credential older than its schedule,
 * a retirement held), 0 otherwise. To learn the current key id, the current value is read once and only its
 * user name kept (the SMTP user name is the access key id, not a secret).
 */
import { DescribeSecretCommand, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { DescribeExecutionCommand, GetExecutionHistoryCommand, HistoryEvent, ListExecutionsCommand } from "@aws-sdk/client-sfn";
import { GetParameterCommand } from "@aws-sdk/client-ssm";
import { ScanCommand } from "@aws-sdk/client-dynamodb";
import { getAccessKeyLastUse, listAccessKeys } from "../runtime/access-keys";
import { parseCredential } from "../runtime/credential";
import { listRetirements, RetirementRecord } from "../runtime/retirement";
import type { CliClients } from "./clients";
import { lastFleetRun, FleetRun } from "./ssm-runs";
import type { RotatorRef } from "./target";

export interface KeyStatus {
    accessKeyId: string;
    status: "Active" | "Inactive";
    createdAt?: string;
    /** true for the key the stored current credential holds */
    current: boolean;
    lastUsed?: { date?: string; service?: string; region?: string };
}

export interface ConfirmationView {
    serverId: string;
    hostname: string;
    owner: string;
    /** starting | pending | confirmed | rejected | expired */
    status: string;
    waitingSince?: string;
    decidedAt?: string;
    remindersSent?: number;
}

export interface ManualRun {
    name: string;
    /** RUNNING | SUCCEEDED | FAILED | TIMED_OUT | ABORTED */
    status: string;
    startedAt?: string;
    stoppedAt?: string;
    error?: string;
    confirmations: ConfirmationView[];
}

export interface RotatorStatus {
    businessUnit: string;
    mode: "auto" | "manual";
    checkedAt: string;
    credential: {
        /** the SMTP user name: the current access key id */
        smtpUserName?: string;
        createdAt?: string;
        ageDays?: number;
        lastRotatedAt?: string;
        nextRotationAt?: string;
        /** days between rotations, when the schedule says (auto: the secret's rotation rules) */
        scheduleDays?: number;
        schedule?: string;
        /** where it is stored: secret ARN + version, or parameter name + version */
        store: string;
        version?: string;
    };
    keys: KeyStatus[];
    retirements: RetirementRecord[];
    /** auto: the SSM run of the last rotation (undefined when no rotation ever reached the servers) */
    lastRotation?: FleetRun;
    /** auto: a rotation has started and not finished (AWSPENDING on a version that is not AWSCURRENT) */
    pendingVersion?: string;
    /** manual: the last finished run, and the runs in progress */
    lastRun?: ManualRun;
    runsInProgress?: ManualRun[];
    warnings: string[];
    failures: string[];
    health: "healthy" | "warning" | "failed";
    exitCode: 0 | 1 | 2;
}

const DAY_MS = 86_400_000;

function iso(d: Date | undefined): string | undefined {
    return d ? new Date(d).toISOString() : undefined;
}

/** Days between rotations from a Secrets Manager schedule (`rate(N days)` or AutomaticallyAfterDays). */
export function scheduleDays(rules: { AutomaticallyAfterDays?: number; ScheduleExpression?: string } | undefined): number | undefined {
    if (rules?.AutomaticallyAfterDays) return rules.AutomaticallyAfterDays;
    const m = /^rate\((\d+) days?\)$/.exec(rules?.ScheduleExpression ?? "");
    return m ? Number(m[1]) : undefined;
}

async function keyStatuses(c: Pick<CliClients, "iam">, userName: string, currentId: string | undefined): Promise<KeyStatus[]> {
    const keys = await listAccessKeys(c.iam, userName);
    const out: KeyStatus[] = [];
    for (const k of keys) {
        const use = await getAccessKeyLastUse(c.iam, k.accessKeyId);
        out.push({
            accessKeyId: k.accessKeyId,
            status: k.status,
            createdAt: k.createDate,
            current: k.accessKeyId === currentId,
            ...(use.lastUsedDate ? { lastUsed: { date: use.lastUsedDate, service: use.serviceName, region: use.region } } : {}),
        });
    }
    return out;
}

export interface StatusOptions {
    now?: Date;
    /** warn when the credential is older than this many days (default: the rotation schedule, if known) */
    maxAgeDays?: number;
}

/** Reads the rotator's status. */
export async function gatherStatus(c: CliClients, ref: RotatorRef, opts: StatusOptions = {}): Promise<RotatorStatus> {
    const now = opts.now ?? new Date();
    const s: RotatorStatus = {
        businessUnit: ref.businessUnit,
        mode: ref.mode,
        checkedAt: now.toISOString(),
        credential: { store: ref.mode === "auto" ? ref.secretArn! : ref.parameterName! },
        keys: [],
        retirements: [],
        warnings: [],
        failures: [],
        health: "healthy",
        exitCode: 0,
    };
    if (ref.mode === "auto") await autoStatus(c, ref, s);
    else await manualStatus(c, ref, s);

    s.keys = await keyStatuses(c, ref.smtpUserName, s.credential.smtpUserName);
    const current = s.keys.find((k) => k.current);
    if (current?.createdAt) {
        s.credential.createdAt = current.createdAt;
        s.credential.ageDays = Math.floor((now.getTime() - Date.parse(current.createdAt)) / DAY_MS);
    }
    if (s.credential.smtpUserName && !current) s.failures.push(`the current credential's key ${s.credential.smtpUserName} is not a key of ${ref.smtpUserName}`);
    else if (current && current.status !== "Active") s.failures.push(`the current credential's key ${current.accessKeyId} is ${current.status}`);
    const maxAge = opts.maxAgeDays ?? s.credential.scheduleDays;
    if (maxAge !== undefined && s.credential.ageDays !== undefined && s.credential.ageDays > maxAge) {
        s.warnings.push(`credential is ${s.credential.ageDays} days old, older than its ${maxAge}-day schedule`);
    }
    s.retirements = await listRetirements(c.iam, ref.smtpUserName);
    for (const r of s.retirements.filter((x) => x.phase === "held")) {
        const e = r.evidence;
        s.warnings.push(`retirement of ${r.accessKeyId} held: used ${e ? `${e.lastUsedDate}${e.serviceName ? ` by ${e.serviceName}` : ""}${e.region ? ` in ${e.region}` : ""}` : ""} after the switch at ${r.switchedAt}`);
    }
    s.exitCode = s.failures.length ? 2 : s.warnings.length ? 1 : 0;
    s.health = s.exitCode === 2 ? "failed" : s.exitCode === 1 ? "warning" : "healthy";
    return s;
}

async function autoStatus(c: CliClients, ref: RotatorRef, s: RotatorStatus): Promise<void> {
    const d = await c.secrets.send(new DescribeSecretCommand({ SecretId: ref.secretArn! }));
    const stages = d.VersionIdsToStages ?? {};
    const currentVersion = Object.keys(stages).find((v) => stages[v].includes("AWSCURRENT"));
    const pending = Object.keys(stages).find((v) => stages[v].includes("AWSPENDING") && !stages[v].includes("AWSCURRENT"));
    const value = await c.secrets.send(new GetSecretValueCommand({ SecretId: ref.secretArn!, VersionStage: "AWSCURRENT" }));
    s.credential.smtpUserName = parseCredential(value.SecretString)?.username;
    s.credential.version = currentVersion;
    s.credential.lastRotatedAt = iso(d.LastRotatedDate);
    s.credential.nextRotationAt = iso(d.NextRotationDate);
    s.credential.scheduleDays = scheduleDays(d.RotationRules);
    s.credential.schedule = d.RotationEnabled === false ? "rotation disabled" : d.RotationRules?.ScheduleExpression ?? (d.RotationRules?.AutomaticallyAfterDays ? `every ${d.RotationRules.AutomaticallyAfterDays} days` : undefined);
    if (pending) s.pendingVersion = pending;
    s.lastRotation = await lastFleetRun(c, ref);
    if (s.lastRotation) {
        const bad = s.lastRotation.servers.filter((x) => x.status !== "Success" && !["Pending", "InProgress", "Delayed"].includes(x.status));
        if (bad.length) s.failures.push(`last rotation failed on ${bad.map((b) => `${b.hostname ?? b.serverId} (${b.status}${b.detail ? `: ${b.detail}` : ""})`).join(", ")}`);
    }
}

async function manualStatus(c: CliClients, ref: RotatorRef, s: RotatorStatus): Promise<void> {
    const p = await c.ssm.send(new GetParameterCommand({ Name: ref.parameterName!, WithDecryption: true }));
    s.credential.smtpUserName = parseCredential(p.Parameter?.Value)?.username;
    s.credential.version = p.Parameter?.Version !== undefined ? String(p.Parameter.Version) : undefined;
    s.credential.lastRotatedAt = iso(p.Parameter?.LastModifiedDate);
    const executions = (await c.sfn.send(new ListExecutionsCommand({ stateMachineArn: ref.stateMachineArn!, maxResults: 100 }))).executions ?? [];
    executions.sort((a, b) => (b.startDate?.getTime() ?? 0) - (a.startDate?.getTime() ?? 0));
    const running = executions.filter((e) => e.status === "RUNNING");
    s.runsInProgress = [];
    for (const e of running) s.runsInProgress.push({ name: e.name!, status: e.status!, startedAt: iso(e.startDate), confirmations: await confirmations(c, ref, e.name!) });
    const last = executions.find((e) => e.status !== "RUNNING");
    if (last) {
        const d = await c.sfn.send(new DescribeExecutionCommand({ executionArn: last.executionArn! }));
        s.lastRun = { name: last.name!, status: last.status!, startedAt: iso(last.startDate), stoppedAt: iso(last.stopDate), ...(d.error ? { error: [d.error, d.cause].filter(Boolean).join(": ").slice(0, 300) } : {}), confirmations: await confirmations(c, ref, last.name!) };
        if (last.status !== "SUCCEEDED") {
            const notConfirmed = s.lastRun.confirmations.filter((x) => x.status !== "confirmed");
            s.failures.push(`last rotation ${last.name} ${last.status}${d.error ? ` (${d.error})` : ""}${notConfirmed.length ? `: ${notConfirmed.map((x) => `${x.hostname} ${x.status}`).join(", ")}` : ""}`);
        }
    }
}

/** The owners' confirmations of one CredentialRotation run (from the confirmation table and each ManualConfirmation run). */
export async function confirmations(c: CliClients, ref: RotatorRef, rotation: string): Promise<ConfirmationView[]> {
    if (!ref.confirmationTableName) return [];
    const out: ConfirmationView[] = [];
    let start: Record<string, any> | undefined;
    do {
        const page = await c.dynamodb.send(
            new ScanCommand({
                TableName: ref.confirmationTableName,
                ConsistentRead: true,
                FilterExpression: "#r = :r AND begins_with(pk, :p)",
                // Only what an operator needs: never the task tokens or the link id the items also hold.
                ProjectionExpression: "pk, serverId, hostname, ownerEmail, #s, decidedAt",
                ExpressionAttributeNames: { "#r": "rotation", "#s": "status" },
                ExpressionAttributeValues: { ":r": { S: rotation }, ":p": { S: "server#" } },
                ExclusiveStartKey: start,
            }),
        );
        for (const item of page.Items ?? []) {
            const execName = item.pk.S!.slice("server#".length);
            const view: ConfirmationView = { serverId: item.serverId?.S ?? "", hostname: item.hostname?.S ?? "", owner: item.ownerEmail?.S ?? "", status: item.status?.S ?? "", ...(item.decidedAt?.S ? { decidedAt: item.decidedAt.S } : {}) };
            if (ref.confirmationStateMachineArn) {
                const arn = `${ref.confirmationStateMachineArn.replace(":stateMachine:", ":execution:")}:${execName}`;
                try {
                    const d = await c.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
                    view.waitingSince = iso(d.startDate);
                    view.remindersSent = (await history(c, arn)).filter((e) => e.type === "TaskStateEntered" && e.stateEnteredEventDetails?.name === "RemindOwner").length;
                } catch (e) {
                    if ((e as { name?: string }).name !== "ExecutionDoesNotExist") throw e;
                }
            }
            out.push(view);
        }
        start = page.LastEvaluatedKey;
    } while (start);
    return out.sort((a, b) => a.hostname.localeCompare(b.hostname));
}

async function history(c: Pick<CliClients, "sfn">, executionArn: string): Promise<HistoryEvent[]> {
    const events: HistoryEvent[] = [];
    let token: string | undefined;
    do {
        const page = await c.sfn.send(new GetExecutionHistoryCommand({ executionArn, nextToken: token, maxResults: 500 }));
        events.push(...(page.events ?? []));
        token = page.nextToken;
    } while (token);
    return events;
}
