/**
 * What one server's SSM invocation means for the rotation: read from the invocation's status AND the script's
 * own output (the `SES-ROTATOR-*` markers, runtime/server-report.ts).
 *
 * SSM's status alone is not enough: the SSM Agent reports a document step whose platform precondition does not
 * match (a Linux node given the IIS document, a Windows node the Postfix one) as `Success` with the output
 * "Step execution skipped due to unsatisfied preconditions ...", and a script may exit 0 without having done
 * its work. So a server counts as updated only when its script printed `SES-ROTATOR-RESULT: updated`.
 *
 * Plain TypeScript, no SDK import (types only): used by runtime/fleet.ts inside the rotation Lambda.
 */
import type { CommandInvocation } from "@aws-sdk/client-ssm";
import type { ServerSoftware } from "./fleet-target";
import { parseServerReport, ServerReport } from "./server-report";

/** What the document was asked to do (its `Mode` parameter). */
export type FleetCommandMode = "update" | "check";

/** The statuses this module adds to SSM's own invocation statuses. */
export const NOT_UPDATED_STATUSES = {
    /** SSM said Success but the step was skipped: the node's platform does not match the document */
    skipped: "Skipped",
    /** SSM said Success but the script printed no result marker */
    noResult: "NoResult",
} as const;

/** Where SSM cuts `CommandPlugins[].Output` (ListCommandInvocations with Details); GetCommandInvocation keeps more. */
export const LIST_OUTPUT_LIMIT = 2500;
const SKIPPED = /Step execution skipped due to (unsatisfied preconditions|unsupported plugin)/;

export interface ServerUpdateStatus {
    serverId: string;
    software: ServerSoftware;
    /**
     * SSM invocation status (Success, Failed, TimedOut, Undeliverable, ...), NotSent, or — when SSM said Success
     * but the script did not say it did its work — Skipped (platform mismatch) or NoResult (no result marker).
     * Only `Success` means updated (update mode) or checked (check mode).
     */
    status: string;
    detail?: string;
    /** the markers the script printed (absent when the output was not read, e.g. the command was never sent) */
    report?: ServerReport;
}

/** What a failed step wrote to standard error (SSM lists it after an `----------ERROR-------` line), else its output. */
function errorPart(output: string): string {
    const at = output.search(/-{5,}ERROR-{5,}\n/);
    const text = at >= 0 ? output.slice(at).replace(/^-{5,}ERROR-{5,}\n/, "") : output;
    return text.trim();
}

/** The output of every plugin (step) of an invocation, as ListCommandInvocations(Details=true) returns it. */
export function invocationOutput(inv: CommandInvocation): string {
    return (inv.CommandPlugins ?? []).map((p) => p.Output ?? "").join("\n");
}

/** True when the listed output may have lost the end of what the script printed (then GetCommandInvocation is read). */
export function outputMayBeTruncated(inv: CommandInvocation): boolean {
    const output = invocationOutput(inv);
    return parseServerReport(output).result === undefined && (output.length >= LIST_OUTPUT_LIMIT - 100 || /-{2,}\s*Output truncated\s*-{2,}/i.test(output));
}

/**
 * The server's status from its invocation (with output) and, for a finished Success, the script's result marker.
 * `fullOutput` replaces the listed output when it was read separately (GetCommandInvocation, for a truncated one).
 */
export function interpretInvocation(
    software: ServerSoftware,
    inv: CommandInvocation,
    mode: FleetCommandMode,
    opts: { terminal: ReadonlySet<string>; softwareSource: string; fullOutput?: string },
): ServerUpdateStatus {
    const serverId = inv.InstanceId!;
    const status = inv.Status ?? "Unknown";
    if (!opts.terminal.has(status)) {
        return { serverId, software, status: "TimedOut", detail: `no answer by the deadline (last status ${status})` };
    }
    const output = opts.fullOutput ?? invocationOutput(inv);
    const report = parseServerReport(output);
    const failedChecks = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
    if (status === "Success") {
        const expected = mode === "update" ? "updated" : "check-passed";
        if (report.result === expected) return { serverId, software, status, report };
        if (SKIPPED.test(output)) {
            const platform = software === "postfix" ? "Linux" : "Windows";
            return {
                serverId,
                software,
                status: NOT_UPDATED_STATUSES.skipped,
                report,
                detail: `the software tag does not match the platform: SSM skipped the ${software} document's step on this node (not ${platform}; ${opts.softwareSource} says ${software}), nothing was ${mode === "update" ? "updated" : "checked"}`,
            };
        }
        return {
            serverId,
            software,
            status: NOT_UPDATED_STATUSES.noResult,
            report,
            detail: `SSM reported Success but the script did not print "SES-ROTATOR-RESULT: ${expected}"${report.result ? ` (it printed ${report.result})` : ""}: treated as not ${mode === "update" ? "updated" : "checked"}${failedChecks.length ? `; failed checks: ${failedChecks.join("; ")}` : ""}`,
        };
    }
    const plugin = inv.CommandPlugins?.find((p) => p.Status !== "Success") ?? inv.CommandPlugins?.[0];
    const parts = [
        inv.StatusDetails && inv.StatusDetails !== status ? inv.StatusDetails : undefined,
        plugin?.ResponseCode !== undefined ? `exit ${plugin.ResponseCode}` : undefined,
        failedChecks.length ? `failed checks: ${failedChecks.join("; ")}` : undefined,
        !failedChecks.length && plugin?.Output ? errorPart(plugin.Output).slice(-400) : undefined,
    ];
    const detail = parts.filter(Boolean).join(": ");
    return { serverId, software, status, report, ...(detail ? { detail } : {}) };
}
