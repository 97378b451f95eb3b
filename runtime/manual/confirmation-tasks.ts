/**
 * The Lambda tasks around one server's confirmation:
 *  - StartConfirmation (a ConfirmationPage Map iteration, see confirmation-fanout.ts): records the server and
 *    starts the ManualConfirmation execution `<serverId>-<rotation>` (the name makes a retry idempotent), then
 *    returns: nobody waits here for the owner.
 *  - RequestConfirmation (ManualConfirmation, `.waitForTaskToken`): stores the waiting token server-side
 *    behind an opaque random link id and e-mails the owner (SNS) what to do and the link.
 *  - RemindOwner (ManualConfirmation's reminder loop): e-mails the same link again while undecided.
 *  - ReportOutcome (ManualConfirmation's last step): counts the outcome once in the rotation's tally and, when
 *    it is the last server, completes CredentialRotation's single wait (rotation-tally.ts).
 * Messages carry ids, host names and the parameter reference only: never a token, password or secret key.
 */
import sfnSdk = require("@aws-sdk/client-sfn");
import snsSdk = require("@aws-sdk/client-sns");
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { SNSClient } from "@aws-sdk/client-sns";
import { FleetServer, MANAGED_NODE_ID_PATTERN, SERVER_SOFTWARE } from "../fleet-target";
import { jsonLineLogger, Logger } from "../notify";
import { ConfirmationStore } from "./confirmation-store";
import type { RotationTally } from "./rotation-tally";
import { assertCredentialRef, assertExecutionName, CredentialRef } from "./types";

export interface ConfirmationTaskDeps {
    store: ConfirmationStore;
    /** the rotation's tally (ReportOutcome) */
    tally?: RotationTally;
    sfn?: SFNClient;
    sns?: SNSClient;
    log?: Logger;
    now?: () => Date;
}

export interface ConfirmationTaskConfig {
    /** ManualConfirmation state machine ARN (StartConfirmation) */
    confirmationStateMachineArn?: string;
    /** SNS topic for owner e-mails; owners subscribe with a filter policy on the `ownerEmail` attribute */
    ownerTopicArn?: string;
    /** public base URL of the confirmation API, e.g. https://abc.execute-api.eu-west-1.amazonaws.com */
    confirmationBaseUrl?: string;
    /** how long a link stays valid (= the waiting task's TimeoutSeconds) */
    confirmationTimeoutSeconds?: number;
    /** subscribe each owner's address (filtered on ownerEmail) before e-mailing it; default true */
    subscribeOwners?: boolean;
}

/** Validates a server object from a state input, naming the bad field. */
export function assertFleetServer(field: string, value: any): FleetServer {
    if (!value || typeof value !== "object") throw new Error(`${field} must be an object {serverId, hostname, software, ownerEmail}`);
    if (typeof value.serverId !== "string" || !MANAGED_NODE_ID_PATTERN.test(value.serverId)) throw new Error(`${field}.serverId ${JSON.stringify(value.serverId)} is not a managed node id`);
    if (typeof value.hostname !== "string" || value.hostname === "") throw new Error(`${field}.hostname must be a non-empty string`);
    if (!(SERVER_SOFTWARE as readonly string[]).includes(value.software)) throw new Error(`${field}.software ${JSON.stringify(value.software)} must be postfix or iis`);
    if (typeof value.ownerEmail !== "string" || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value.ownerEmail)) throw new Error(`${field}.ownerEmail is not an e-mail address`);
    return { serverId: value.serverId, hostname: value.hostname, software: value.software, ownerEmail: value.ownerEmail };
}

function assertToken(field: string, value: unknown): string {
    if (typeof value !== "string" || value.length < 1 || value.length > 1024) throw new Error(`${field} must be a Step Functions task token`);
    return value;
}

/** The ManualConfirmation execution name for a server in a rotation. */
export function confirmationExecutionName(serverId: string, rotation: string): string {
    return assertExecutionName("confirmation execution name", `${serverId}-${rotation}`);
}

/** The link the owner gets. */
export function confirmationLink(baseUrl: string, confirmationId: string): string {
    return `${baseUrl.replace(/\/+$/, "")}/confirm/${confirmationId}`;
}

/** The owner e-mail: what to do on the server, and the link. */
export function ownerMessage(opts: { server: FleetServer; credential: CredentialRef; rotation: string; link: string; reminder: boolean; expiresAt: Date }): { subject: string; message: string } {
    const { server, credential } = opts;
    const fetch =
        server.software === "postfix"
            ? `aws ssm get-parameter --name ${credential.parameterName}:${credential.parameterVersion} --with-decryption --query Parameter.Value --output text`
            : `(Get-SSMParameter -Name "${credential.parameterName}:${credential.parameterVersion}" -WithDecryption $true).Value`;
    const apply =
        server.software === "postfix"
            ? "put the username and password into /etc/postfix/sasl_passwd for the existing relayhost, run postmap /etc/postfix/sasl_passwd and postfix reload, then send a test mail"
            : "set the username and password as the smart-host credentials of the SMTP virtual server(s) in IIS 6 Manager, restart the SMTP service, then send a test mail";
    const message = [
        `${opts.reminder ? "REMINDER: " : ""}The Amazon SES SMTP credential used by ${server.hostname} (${server.serverId}, ${server.software}) was rotated (rotation ${opts.rotation}).`,
        "",
        "What to do:",
        `1. On the server, read the new credential (JSON with username, password, endpoint, port) from Parameter Store ${credential.parameterName} version ${credential.parameterVersion}:`,
        `   ${fetch}`,
        `2. Then ${apply}.`,
        `3. Confirm here (the page shows the server and a Confirm button; opening it changes nothing): ${opts.link}`,
        "",
        `The new SMTP user name is ${credential.accessKeyId}. The old credential keeps working until every server is confirmed.`,
        `This link is for this server only, works once, and expires ${opts.expiresAt.toISOString()}.`,
    ].join("\n");
    const subject = `${opts.reminder ? "Reminder: " : ""}Action needed: new SMTP credential for ${server.hostname}`.slice(0, 100);
    return { subject, message };
}

/** The four task handlers; each validates its event and names the bad field. */
export function createConfirmationTaskHandlers(deps: ConfirmationTaskDeps, config: ConfirmationTaskConfig) {
    const log = deps.log ?? jsonLineLogger;
    const now = deps.now ?? (() => new Date());

    async function mailOwner(server: FleetServer, credential: CredentialRef, rotation: string, confirmationId: string, expiresAt: number, reminder: boolean): Promise<void> {
        if (!deps.sns || !config.ownerTopicArn || !config.confirmationBaseUrl) throw new Error("owner mail needs an SNS client, ownerTopicArn and confirmationBaseUrl");
        if (config.subscribeOwners !== false) {
            try {
                await deps.sns.send(
                    new snsSdk.SubscribeCommand({
                        TopicArn: config.ownerTopicArn,
                        Protocol: "email",
                        Endpoint: server.ownerEmail,
                        Attributes: { FilterPolicy: JSON.stringify({ ownerEmail: [server.ownerEmail] }) },
                        ReturnSubscriptionArn: true,
                    }),
                );
            } catch (e) {
                // SNS answers InvalidParameter when the address is already subscribed with other attributes: keep it.
                if ((e as { name?: string }).name !== "InvalidParameterException" && (e as { name?: string }).name !== "InvalidParameter") throw e;
            }
        }
        const { subject, message } = ownerMessage({ server, credential, rotation, link: confirmationLink(config.confirmationBaseUrl, confirmationId), reminder, expiresAt: new Date(expiresAt * 1000) });
        await deps.sns.send(
            new snsSdk.PublishCommand({
                TopicArn: config.ownerTopicArn,
                Subject: subject,
                Message: message,
                MessageAttributes: { ownerEmail: { DataType: "String", StringValue: server.ownerEmail } },
            }),
        );
    }

    return {
        /** ConfirmationPage → one ManualConfirmation execution per server (started, not awaited). */
        async startConfirmation(event: { rotation: string; server: unknown; credential: unknown }): Promise<{ executionArn: string }> {
            const rotation = assertExecutionName("rotation", event?.rotation);
            const server = assertFleetServer("server", event?.server);
            const credential = assertCredentialRef("credential", event?.credential);
            if (!deps.sfn || !config.confirmationStateMachineArn) throw new Error("StartConfirmation needs an SFN client and confirmationStateMachineArn");
            const executionName = confirmationExecutionName(server.serverId, rotation);
            await deps.store.recordStart({ executionName, rotation, server, credential });
            const input = JSON.stringify({ rotation, server, credential });
            let executionArn: string;
            try {
                const out = await deps.sfn.send(new sfnSdk.StartExecutionCommand({ stateMachineArn: config.confirmationStateMachineArn, name: executionName, input }));
                executionArn = out.executionArn!;
            } catch (e) {
                if ((e as { name?: string }).name !== "ExecutionAlreadyExists") throw e;
                // A retry: the execution runs (or ran) already and reports to the token just recorded.
                executionArn = `${config.confirmationStateMachineArn.replace(":stateMachine:", ":execution:")}:${executionName}`;
            }
            log("confirmation started", { rotation, serverId: server.serverId, executionName });
            return { executionArn };
        },

        /** ManualConfirmation: arm the link, e-mail the owner. */
        async requestConfirmation(event: { taskToken: string; executionName: string }): Promise<{ mailed: true }> {
            const taskToken = assertToken("taskToken", event?.taskToken);
            const executionName = assertExecutionName("executionName", event?.executionName);
            const timeout = config.confirmationTimeoutSeconds;
            if (!Number.isInteger(timeout) || timeout! < 1) throw new Error("confirmationTimeoutSeconds must be a positive integer");
            const expiresAt = Math.floor(now().getTime() / 1000) + timeout!;
            const confirmationId = await deps.store.arm(executionName, taskToken, expiresAt);
            const item = (await deps.store.get(executionName))!;
            await mailOwner(item.server, item.credential, item.rotation, confirmationId, expiresAt, false);
            log("owner asked to confirm", { executionName, serverId: item.server.serverId });
            return { mailed: true };
        },

        /** ManualConfirmation's reminder loop. */
        async remindOwner(event: { executionName: string }): Promise<{ reminded: boolean; waiting: boolean }> {
            const executionName = assertExecutionName("executionName", event?.executionName);
            const item = await deps.store.get(executionName);
            // `waiting: false` ends the reminder loop: the server was decided (or is unknown).
            const waiting = item?.status === "starting" || item?.status === "pending";
            if (!item || item.status !== "pending" || !item.linkHashes?.length || item.expiresAt === undefined) return { reminded: false, waiting };
            // Only link hashes are stored: a reminder carries a fresh link (earlier links stay valid).
            const confirmationId = await deps.store.newLink(executionName, item.expiresAt);
            if (!confirmationId) return { reminded: false, waiting: false };
            await mailOwner(item.server, item.credential, item.rotation, confirmationId, item.expiresAt, true);
            log("owner reminded", { executionName, serverId: item.server.serverId });
            return { reminded: true, waiting };
        },

        /** ManualConfirmation's end: count the outcome; the last server completes CredentialRotation's wait. */
        async reportOutcome(event: { executionName: string; outcome: "confirmed" | "not-confirmed"; error?: string }): Promise<{ reported: boolean; settled: boolean }> {
            const executionName = assertExecutionName("executionName", event?.executionName);
            if (event?.outcome !== "confirmed" && event?.outcome !== "not-confirmed") throw new Error(`outcome ${JSON.stringify(event?.outcome)} must be "confirmed" or "not-confirmed"`);
            if (!deps.tally) throw new Error("ReportOutcome needs the rotation tally");
            const item = await deps.store.get(executionName);
            if (!item) {
                log("no server item to report", { executionName });
                return { reported: false, settled: false };
            }
            if (event.outcome === "not-confirmed") await deps.store.expire(executionName, Math.floor(now().getTime() / 1000));
            const summary = { serverId: item.server.serverId, hostname: item.server.hostname, outcome: event.outcome, ...(typeof event.error === "string" ? { error: event.error.slice(0, 200) } : {}) };
            const reported = await deps.tally.decided(item.rotation, executionName, item.server.serverId, event.outcome === "confirmed");
            const settled = (await deps.tally.settle(item.rotation)) !== undefined;
            log("outcome reported", { executionName, ...summary, counted: reported, settled });
            return { reported, settled };
        },
    };
}
