/**
 * Text rendering of the CLI's reports: tables (cli-table3) for a terminal or a pipe. Colour only on a
 * terminal (cli/colors.ts). Pure: report in, text out.
 */
import Table = require("cli-table3");
import { colors as pc } from "./colors";
import type { CheckReport } from "./check";
import type { ServerView } from "./servers";
import type { ConfirmationView, RotatorStatus } from "./status";

function table(head: string[], rows: (string | number | undefined)[][]): string {
    const t = new Table({ head, style: { head: [], border: [] }, wordWrap: true });
    for (const r of rows) t.push(r.map((x) => (x === undefined || x === "" ? "-" : String(x))));
    return t.toString();
}

function day(iso: string | undefined): string | undefined {
    return iso?.replace("T", " ").replace(/\.\d+Z$|Z$/, " UTC");
}

const HEALTH = { healthy: pc.green("HEALTHY"), warning: pc.yellow("WARNING"), failed: pc.red("FAILED") };

function confirmationRows(list: ConfirmationView[]): string {
    return table(
        ["server", "owner", "confirmation", "waiting since", "reminders", "decided"],
        list.map((x) => [x.hostname || x.serverId, x.owner, x.status, day(x.waitingSince), x.remindersSent, day(x.decidedAt)]),
    );
}

export function renderStatus(s: RotatorStatus): string {
    const out: string[] = [];
    out.push(`${s.businessUnit} (${s.mode} mode): ${HEALTH[s.health]}  (checked ${day(s.checkedAt)})`);
    for (const f of s.failures) out.push(pc.red(`  ✘ ${f}`));
    for (const w of s.warnings) out.push(pc.yellow(`  ! ${w}`));
    const cr = s.credential;
    out.push("", "Credential");
    out.push(
        table(
            ["SMTP user (key id)", "age", "created", "last rotated", "next rotation", "schedule"],
            [[cr.smtpUserName, cr.ageDays !== undefined ? `${cr.ageDays} d` : undefined, day(cr.createdAt), day(cr.lastRotatedAt), day(cr.nextRotationAt), cr.schedule]],
        ),
    );
    out.push(`  stored in ${cr.store}${cr.version ? ` (version ${cr.version})` : ""}`);
    out.push("", "Access keys of the SMTP user");
    out.push(
        table(
            ["key id", "status", "created", "last used", "service", "region"],
            s.keys.map((k) => [`${k.accessKeyId}${k.current ? " (current)" : ""}`, k.status, day(k.createdAt), day(k.lastUsed?.date) ?? "never", k.lastUsed?.service, k.lastUsed?.region]),
        ),
    );
    out.push("", "Old-key retirements");
    out.push(
        s.retirements.length
            ? table(
                  ["old key", "phase", "switched", "deactivate after", "delete after", "evidence (IAM last use)"],
                  s.retirements.map((r) => [r.accessKeyId, r.phase, day(r.switchedAt), day(r.deactivateAfter), day(r.deleteAfter), r.evidence ? `${day(r.evidence.lastUsedDate)} ${r.evidence.serviceName ?? ""} ${r.evidence.region ?? ""}`.trim() : undefined]),
              )
            : "  none",
    );
    if (s.mode === "auto") {
        if (s.pendingVersion) out.push("", `Rotation started and not finished: version ${s.pendingVersion} is AWSPENDING`);
        out.push("", `Last rotation on the servers${s.lastRotation ? ` (SSM ${s.lastRotation.commandIds.join(", ")}, ${day(s.lastRotation.requestedAt)})` : ""}`);
        out.push(s.lastRotation ? table(["server", "SSM status", "detail"], s.lastRotation.servers.map((x) => [x.hostname ? `${x.hostname} (${x.serverId})` : x.serverId, x.status, x.detail])) : "  no rotation has reached the servers yet");
    } else {
        for (const run of s.runsInProgress ?? []) {
            out.push("", `Rotation in progress: ${run.name} (started ${day(run.startedAt)})`);
            out.push(run.confirmations.length ? confirmationRows(run.confirmations) : "  no owner asked yet");
        }
        out.push("", s.lastRun ? `Last rotation: ${run(s.lastRun)}` : "Last rotation: none finished yet");
        if (s.lastRun?.confirmations.length) out.push(confirmationRows(s.lastRun.confirmations));
    }
    return out.join("\n");
}

function run(r: { name: string; status: string; startedAt?: string; stoppedAt?: string; error?: string }): string {
    return `${r.name} ${r.status} (${day(r.startedAt)} - ${day(r.stoppedAt)})${r.error ? `: ${r.error}` : ""}`;
}

export function renderServers(servers: ServerView[], fleet: string): string {
    return [`Fleet: ${fleet}, ${servers.length} server${servers.length === 1 ? "" : "s"}`, table(["server", "hostname", "software", "owner", "SSM ping", "platform"], servers.map((s) => [s.serverId, s.hostname, s.software, s.ownerEmail, s.pingStatus, s.platform]))].join("\n");
}

export function renderCheck(r: CheckReport): string {
    const failed = r.servers.filter((s) => !s.ok);
    return [
        `Preflight of ${r.businessUnit} against the current credential (version ${r.credentialVersion}); nothing was changed on any server.`,
        table(
            ["server", "software", "result", "checks / problems"],
            r.servers.map((s) => [`${s.hostname} (${s.serverId})`, s.software, s.ok ? pc.green("ok") : pc.red("WOULD FAIL"), s.ok ? s.checks.map((x) => x.name).join(", ") || "passed" : s.problems.join("\n")]),
        ),
        failed.length ? pc.red(`${failed.length} of ${r.servers.length} servers would fail a rotation: ${failed.map((s) => s.hostname || s.serverId).join(", ")}`) : pc.green(`all ${r.servers.length} servers would take a new credential`),
    ].join("\n");
}
