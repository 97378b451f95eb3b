/**
 * Operator notifications (SNS) and structured logs for rotation and retirement.
 * Messages are built only from identifiers and statuses (access key ids, server ids, version ids): never a
 * password, secret access key or task token. `publishNotice` refuses text that contains a value the caller
 * marks as secret, as a last line of defence.
 */
import snsSdk = require("@aws-sdk/client-sns");
import type { SNSClient } from "@aws-sdk/client-sns";

/** Structured log sink: one JSON line per call. Fields must never contain secrets. */
export type Logger = (msg: string, fields?: object) => void;

/** Default logger: JSON lines on stdout (CloudWatch Logs in Lambda). */
export const jsonLineLogger: Logger = (msg, fields) => {
    console.log(JSON.stringify({ time: new Date().toISOString(), msg, ...(fields ?? {}) }));
};

/** A logger that drops everything (tests that do not look at logs). */
export const silentLogger: Logger = () => undefined;

export type NoticeKind = "rotation-started" | "rotation-succeeded" | "rotation-failed" | "retirement-held" | "retirement-refused";

/** One notification. `details` is plain JSON (per-server status, key ids, retirement report). */
export interface Notice {
    kind: NoticeKind;
    /** short human summary, used as the SNS subject (trimmed to SNS's 100 characters) */
    summary: string;
    /** e.g. the secret ARN or parameter name and the IAM user */
    subject?: Record<string, string>;
    details?: Record<string, unknown>;
}

/**
 * How many servers a notice or log line lists by name. SNS refuses messages over 256 KiB and CloudWatch Logs
 * splits events over 256 KiB; at ~120 bytes a server, 1,000 stays far inside both.
 */
export const MAX_LISTED_SERVERS = 1000;

/** Per-server status, bounded: every server of a fleet up to `max`; beyond that the servers that did not succeed (up to `max`) and counts by status. */
export function serverReport<T extends { serverId: string; status: string }>(
    servers: T[],
    max = MAX_LISTED_SERVERS,
): { total: number; byStatus: Record<string, number>; servers: T[]; unlisted?: number } {
    const byStatus: Record<string, number> = {};
    for (const s of servers) byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    const listed = servers.length <= max ? servers : servers.filter((s) => s.status !== "Success").slice(0, max);
    return { total: servers.length, byStatus, servers: listed, ...(listed.length < servers.length ? { unlisted: servers.length - listed.length } : {}) };
}

/** SNS subjects: ASCII, no line breaks, at most 100 characters. */
function snsSubject(summary: string): string {
    const ascii = summary.replace(/[^\x20-\x7e]/g, "?");
    return ascii.length <= 100 ? ascii : ascii.slice(0, 97) + "...";
}

/** The message body: a human line, then the notice as indented JSON. */
export function renderNotice(notice: Notice): string {
    return `${notice.summary}\n\n${JSON.stringify({ kind: notice.kind, ...(notice.subject ? { subject: notice.subject } : {}), ...(notice.details ? { details: notice.details } : {}) }, null, 2)}`;
}

/**
 * Publishes the notice to the topic, if there is one. Never throws: a failed notification is logged and must
 * not mask the rotation error it reports. `secrets` are values that must not appear in the text.
 */
export async function publishNotice(
    sns: SNSClient | undefined,
    topicArn: string | undefined,
    notice: Notice,
    opts: { log?: Logger; secrets?: (string | undefined)[] } = {},
): Promise<boolean> {
    const log = opts.log ?? jsonLineLogger;
    if (!topicArn || !sns) return false;
    const message = renderNotice(notice);
    for (const s of opts.secrets ?? []) {
        if (s && s.length >= 8 && message.includes(s)) {
            log("notification refused: it would contain a secret value", { kind: notice.kind });
            return false;
        }
    }
    try {
        await sns.send(new snsSdk.PublishCommand({ TopicArn: topicArn, Subject: snsSubject(notice.summary), Message: message }));
        return true;
    } catch (e) {
        log("notification failed", { kind: notice.kind, error: String((e as Error)?.message ?? e) });
        return false;
    }
}
