/**
 * The confirmation API's Lambda handler (API Gateway HTTP API, payload format 2.0).
 *
 *  GET  /confirm/{id}  → a page describing the server, with Confirm and "I could not" buttons (form POSTs).
 *                        Changes nothing: mail link scanners prefetch GETs.
 *  POST /confirm/{id}  → `action=confirm` completes the server's waiting task (SendTaskSuccess);
 *                        `action=reject` fails it (SendTaskFailure "ServerUpdateRejected").
 * Unknown (forged), used (replayed) and expired ids get a 4xx page and change nothing: the single-use step is
 * a conditional DynamoDB write before the task token is used.
 */
import sfnSdk = require("@aws-sdk/client-sfn");
import type { SFNClient } from "@aws-sdk/client-sfn";
import { jsonLineLogger, Logger } from "../notify";
import { CONFIRMATION_ID_PATTERN, ConfirmationStore, ServerConfirmation } from "./confirmation-store";

export interface ConfirmationApiDeps {
    store: ConfirmationStore;
    sfn: SFNClient;
    log?: Logger;
    now?: () => Date;
}

/** The subset of the API Gateway v2 event the handler reads. */
export interface HttpApiEvent {
    rawPath?: string;
    pathParameters?: Record<string, string | undefined>;
    requestContext?: { http?: { method?: string } };
    headers?: Record<string, string | undefined>;
    body?: string;
    isBase64Encoded?: boolean;
}

export interface HttpApiResult {
    statusCode: number;
    headers: Record<string, string>;
    body: string;
}

const HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};

function escapeHtml(text: string): string {
    return text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

function page(statusCode: number, title: string, body: string): HttpApiResult {
    const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title></head><body style="font-family:sans-serif;max-width:40em;margin:2em auto"><h1>${escapeHtml(title)}</h1>${body}</body></html>`;
    return { statusCode, headers: { ...HEADERS }, body: html };
}

function describe(c: ServerConfirmation): string {
    const rows: [string, string][] = [
        ["Server", `${c.server.hostname} (${c.server.serverId})`],
        ["Software", c.server.software === "postfix" ? "Postfix" : "IIS SMTP"],
        ["New SMTP user name", c.credential.accessKeyId],
        ["Credential", `${c.credential.parameterName} version ${c.credential.parameterVersion}`],
        ["Rotation", c.rotation],
    ];
    return `<table>${rows.map(([k, v]) => `<tr><th style="text-align:left;padding-right:1em">${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`).join("")}</table>`;
}

function formAction(body: string | undefined, isBase64: boolean | undefined): string | undefined {
    const text = isBase64 ? Buffer.from(body ?? "", "base64").toString("utf8") : (body ?? "");
    return new URLSearchParams(text).get("action") ?? undefined;
}

/** Creates the handler. */
export function createConfirmationApiHandler(deps: ConfirmationApiDeps): (event: HttpApiEvent) => Promise<HttpApiResult> {
    const log = deps.log ?? jsonLineLogger;
    const nowSeconds = () => Math.floor((deps.now ?? (() => new Date()))().getTime() / 1000);

    const notFound = () => page(404, "Unknown link", "<p>This confirmation link is not valid. Use the latest link from your e-mail.</p>");
    const gone = (c: ServerConfirmation) =>
        c.status === "confirmed"
            ? page(409, "Already confirmed", `<p>This server was already confirmed${c.decidedAt ? ` at ${escapeHtml(c.decidedAt)}` : ""}. Nothing was changed.</p>${describe(c)}`)
            : c.status === "rejected"
              ? page(409, "Already answered", `<p>This server was already reported as not updated. Nothing was changed.</p>${describe(c)}`)
              : page(410, "Link expired", `<p>This confirmation link has expired. Nothing was changed. The administrators were told that this server was not confirmed.</p>${describe(c)}`);

    return async (event) => {
        const method = (event?.requestContext?.http?.method ?? "GET").toUpperCase();
        const id = event?.pathParameters?.id ?? /\/confirm\/([^/?]+)/.exec(event?.rawPath ?? "")?.[1] ?? "";
        if (!CONFIRMATION_ID_PATTERN.test(id)) return notFound();
        const found = await deps.store.getByConfirmationId(id);
        if (!found) return notFound();
        const expired = found.expiresAt !== undefined && found.expiresAt <= nowSeconds();
        if (found.status !== "pending" || expired) return gone(expired && found.status === "pending" ? { ...found, status: "expired" } : found);

        if (method === "GET" || method === "HEAD") {
            const forms =
                `<form method="post"><input type="hidden" name="action" value="confirm"><button type="submit">Confirm: this server uses the new credential and sends mail</button></form>` +
                `<form method="post" style="margin-top:1em"><input type="hidden" name="action" value="reject"><button type="submit">I could not update this server</button></form>`;
            return page(200, `Confirm the new SMTP credential on ${found.server.hostname}`, `${describe(found)}<p>Only confirm after a test mail went out through the new credential.</p>${forms}`);
        }
        if (method !== "POST") return page(405, "Method not allowed", "<p>Use the buttons on the confirmation page.</p>");

        const action = formAction(event.body, event.isBase64Encoded);
        if (action !== "confirm" && action !== "reject") return page(400, "Bad request", '<p>The form must send action "confirm" or "reject".</p>');
        const outcome = action === "confirm" ? "confirmed" : "rejected";
        const decided = await deps.store.decide(id, outcome, nowSeconds());
        if (!decided) {
            const again = await deps.store.getByConfirmationId(id);
            return again ? gone(again.status === "pending" ? { ...again, status: "expired" } : again) : notFound();
        }
        try {
            if (outcome === "confirmed") {
                await deps.sfn.send(new sfnSdk.SendTaskSuccessCommand({ taskToken: decided.taskToken!, output: JSON.stringify({ serverId: decided.server.serverId, confirmedAt: decided.decidedAt }) }));
            } else {
                await deps.sfn.send(new sfnSdk.SendTaskFailureCommand({ taskToken: decided.taskToken!, error: "ServerUpdateRejected", cause: `the owner reported that ${decided.server.hostname} could not be updated` }));
            }
        } catch (e) {
            const name = (e as { name?: string }).name;
            if (name === "TaskTimedOut" || name === "TaskDoesNotExist" || name === "InvalidToken") {
                // The wait is over (timed out or stopped): the decision came too late.
                await deps.store.reopen(id, outcome);
                await deps.store.expire(decided.executionName, nowSeconds());
                log("confirmation arrived after the wait ended", { executionName: decided.executionName, reason: name });
                return gone({ ...decided, status: "expired" });
            }
            await deps.store.reopen(id, outcome);
            log("completing the confirmation failed; the link stays usable", { executionName: decided.executionName, error: String((e as Error)?.message ?? e) });
            return page(503, "Please try again", "<p>The confirmation could not be recorded just now. Nothing was changed; please press the button again in a minute.</p>");
        }
        log("server decided", { executionName: decided.executionName, serverId: decided.server.serverId, outcome });
        return outcome === "confirmed"
            ? page(200, "Confirmed, thank you", `<p>The server is recorded as using the new credential.</p>${describe(decided)}`)
            : page(200, "Recorded", `<p>The administrators were told that this server could not be updated. The old credential stays active.</p>${describe(decided)}`);
    };
}
