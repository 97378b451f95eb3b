/**
 * The demo's result (printed as a summary, or as JSON with `--json`) and the helpers both modes use to read
 * it back from moto. Never holds a password or a secret access key: key ids, versions and statuses only.
 */
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import type { DemoClients } from "./provision";

/** One server's outcome. */
export interface ServerOutcome {
    name: string;
    serverId: string;
    hostname: string;
    /** "postfix": a real local Postfix instance; "simulated": the simulated Postfix */
    kind: "postfix" | "simulated";
    /** auto: SSM invocation status (Success, Failed, ...); manual: confirmed, rejected, pending */
    status: string;
    /** auto: the SMTP user name the server's sasl_passwd holds after the run */
    installedUserName?: string;
    detail?: string;
}

/** What `npm run demo -- --json` prints on stdout. */
export interface DemoResult {
    mode: "auto" | "manual";
    /** true when the rotation completed (new key in use everywhere, old key retired) */
    rotated: boolean;
    /** true when the outcome is what was asked for (a completed rotation, or with --fail a safe stop) */
    asExpected: boolean;
    /** the server --fail named, if any */
    failServer?: string;
    oldAccessKeyId: string;
    /** the key created by this run (absent when the run stopped before creating it) */
    newAccessKeyId?: string;
    /** the access key id stored as the current credential after the run */
    currentAccessKeyId: string;
    /** every access key of the SMTP user after the run: id -> Active | Inactive */
    keys: Record<string, string>;
    servers: ServerOutcome[];
    /** milliseconds for the whole rotation, and per step */
    durationMs: number;
    stepDurationsMs: Record<string, number>;
    /** why the rotation stopped */
    failure?: string;
    /** where the audit trail is (in AWS, and what the demo saw of it) */
    audit: Record<string, unknown>;
    /** with a real Postfix: the test message sent through it after the run, and the key it authenticated with */
    mailCheck?: { server: string; subject: string; authenticatedAs: string };
    /** what `ses-smtp-rotator status` reports after the run (the CLI's own functions, cli/status.ts) */
    status?: import("../cli/status").RotatorStatus;
}

/** The SMTP user's access keys: id -> status. */
export async function accessKeyStatuses(c: DemoClients, userName: string): Promise<Record<string, string>> {
    const out = await c.iam.send(new ListAccessKeysCommand({ UserName: userName }));
    return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]));
}

/** Human-readable summary lines. */
export function summaryLines(r: DemoResult): string[] {
    const lines: string[] = [""];
    const seconds = (r.durationMs / 1000).toFixed(1);
    if (r.rotated) {
        lines.push(`Rotation complete in ${seconds} s (${r.mode} mode).`);
        lines.push(`  SMTP credential: ${r.oldAccessKeyId} -> ${r.newAccessKeyId}`);
    } else {
        // The first line, without the per-server list (shown below).
        const why = (r.failure ?? "unknown reason").split("\n")[0].replace(/: (i|mi)-[0-9a-f]+ \(.*$/, "");
        lines.push(`Rotation STOPPED after ${seconds} s (${r.mode} mode): ${why}`);
        if (r.mode === "auto") lines.push(`  The stored current credential is still ${r.currentAccessKeyId}; nothing was switched and the old key stays Active.`);
        else lines.push(`  The old key ${r.oldAccessKeyId} stays Active (not deactivated), so servers still using it keep working; the latest parameter version holds ${r.currentAccessKeyId}.`);
        if (r.mode === "auto" && r.newAccessKeyId) {
            lines.push("  Servers that took the new key keep working too (both keys are Active); the failed server restored its previous");
            lines.push("  credential. AWSPENDING stays, so Secrets Manager retries the rotation on its next attempt.");
        }
    }
    const keyLine = Object.entries(r.keys)
        .map(([id, status]) => `${id} ${status}${id === r.oldAccessKeyId ? " (old)" : id === r.newAccessKeyId ? " (new)" : ""}`)
        .join(", ");
    lines.push(`  IAM keys now: ${keyLine}${r.rotated && !(r.oldAccessKeyId in r.keys) ? `; ${r.oldAccessKeyId} deleted` : ""}`);
    const ok = r.servers.filter((s) => s.status === "Success" || s.status === "confirmed").length;
    lines.push(`  Servers ${r.mode === "auto" ? "updated" : "confirmed"}: ${ok} of ${r.servers.length}`);
    for (const s of r.servers) {
        const holds = s.installedUserName ? `, sasl_passwd holds ${s.installedUserName}` : "";
        lines.push(`    ${s.name.padEnd(8)} ${s.kind === "postfix" ? "real Postfix" : "simulated   "} ${s.status}${holds}${s.detail ? ` - ${s.detail}` : ""}`);
    }
    if (r.mailCheck) lines.push(`  Test mail through ${r.mailCheck.server}'s real Postfix arrived at the SES endpoint, authenticated as ${r.mailCheck.authenticatedAs}`);
    lines.push("  Audit trail:");
    for (const [k, v] of Object.entries(r.audit)) lines.push(`    ${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`);
    if (r.failServer) lines.push(r.asExpected ? `  (--fail ${r.failServer}: the rotation stopped safely, as asked)` : `  (--fail ${r.failServer}: UNEXPECTED outcome)`);
    return lines;
}
