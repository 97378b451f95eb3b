/**
 * What a server's SSM document run says about itself, read from the invocation's standard output.
 *
 * The SSM Agent reports a step whose platform precondition does not match (a Linux node given the IIS step,
 * or a Windows node the Postfix step) as a success with no output, and a script can exit 0 without having
 * done its work. So a server counts as updated only when its script printed the result marker after the
 * password map is in place, and a check (`Mode=check`) passed only when its script printed `check-passed`.
 *
 * Contract shared by both documents (`documents/`), the fleet fan-out (`runtime/fleet.ts`) and the operator CLI:
 *   SES-ROTATOR-CHECK: <name> ok|fail <detail>      one line per preflight check (check mode; also before an update)
 *   SES-ROTATOR-RESULT: updated                     update mode: the new credential is in place and Postfix/IIS reloaded
 *   SES-ROTATOR-RESULT: check-passed | check-failed check mode: every check passed / at least one failed (nothing changed)
 * Markers start a line; anything else on stdout is ignored. No marker ever carries a secret.
 */

export const RESULT_MARKER = "SES-ROTATOR-RESULT:";
export const CHECK_MARKER = "SES-ROTATOR-CHECK:";

export type ServerResult = "updated" | "check-passed" | "check-failed";

export interface ServerCheck {
    /** short check name, e.g. `relayhost`, `tls`, `fetch`, `map-writable`, `postmap`, `smarthost`, `basic-auth` */
    name: string;
    ok: boolean;
    /** what the script found, for a person (never a secret) */
    detail: string;
}

export interface ServerReport {
    /** the last result marker the script printed; undefined when it printed none (skipped step, silent script) */
    result?: ServerResult;
    checks: ServerCheck[];
}

const RESULTS: readonly ServerResult[] = ["updated", "check-passed", "check-failed"];

/** Reads the markers out of an invocation's standard output (possibly truncated by SSM to its first 24,000 characters). */
export function parseServerReport(stdout: string | undefined): ServerReport {
    const report: ServerReport = { checks: [] };
    for (const raw of (stdout ?? "").split(/\r?\n/)) {
        const line = raw.trim();
        if (line.startsWith(RESULT_MARKER)) {
            const value = line.slice(RESULT_MARKER.length).trim();
            if ((RESULTS as readonly string[]).includes(value)) report.result = value as ServerResult;
        } else if (line.startsWith(CHECK_MARKER)) {
            const m = /^(\S+)\s+(ok|fail)\b\s*(.*)$/.exec(line.slice(CHECK_MARKER.length).trim());
            if (m) report.checks.push({ name: m[1], ok: m[2] === "ok", detail: m[3] });
        }
    }
    return report;
}
