/**
 * Fault matrix, manual mode: the EMITTED CredentialRotation / ManualConfirmation state machines executed by
 * moto's Step Functions interpreter, Lambda tasks answered by the real runtime handlers in-process
 * (tests/support/manual-rig.ts + sfn-bridge.ts), faults injected at the wire. Retries are Step Functions' own
 * (the definitions' Retry/Catch), not modelled.
 *
 * Servers are updated by people: an owner who confirms first installs the credential version named in the
 * mail (read from Parameter Store), then presses Confirm (pressing again if the page says "try again").
 * Invariants, checked while the run is in flight and at its end: every server holds a credential that
 * authenticates (measured: a real SMTP AUTH against the SES-compatible endpoint, which checks the password with a
 * derivation sharing no code with runtime/); at most 2 keys; a successful run
 * ends with one key (the old one deleted after the grace) that every server holds; a failed run keeps the old
 * key Active and tells the operators which servers were not confirmed.
 */
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import { parseCredential, SmtpCredentialValue } from "../../runtime/credential";
import type { AwsProxy } from "../../sandbox/aws-proxy";
import { clientConfig, testEnv } from "../support/hooks";
import { startSesEndpoint } from "../../sandbox/ses-endpoint";
import { smtpLogin } from "../../sandbox/smtp-login";
import { ManualRig, serverList } from "../support/manual-rig";

export type OwnerChoice = "confirm" | "reject" | "ignore";
type ActiveFault = ReturnType<AwsProxy["addFault"]>;

export interface ManualScenario {
    name: string;
    family: string;
    fault: string;
    expect: "rotated" | "failed";
    /** faults installed before the run starts (returned so the run can prove they fired) */
    inject?: (rig: ManualRig) => ActiveFault;
    owner?: (serverIndex: number) => OwnerChoice;
    confirmationTimeoutSeconds?: number;
    /** who absorbs the fault, in words (default: Step Functions' Retry) */
    recoveredBy?: string;
}

const SES_REGION = "eu-west-1";
const direct = () => ({ ...clientConfig(), endpoint: testEnv().moto.url });

export interface ManualRun {
    status: string;
    violations: string[];
    checkpoints: number;
    unconfirmed: string[];
    /** injected faults that never fired */
    unfiredFaults: string[];
}

/** Runs one manual-mode scenario to the end of its CredentialRotation execution and checks the invariants. */
export async function runManualScenario(s: ManualScenario): Promise<ManualRun> {
    const servers = serverList(2, "fm");
    const rig = await new ManualRig({ servers, graceSeconds: 1, reminderSeconds: 3600, confirmationTimeoutSeconds: s.confirmationTimeoutSeconds ?? 3600, maxConcurrency: 2 }).setUp();
    const iam = new IAMClient(direct());
    const ssm = new SSMClient(direct());
    const violations: string[] = [];
    const endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
    const oldValue = parseCredential((await ssm.send(new GetParameterCommand({ Name: `${rig.parameterName}:1`, WithDecryption: true }))).Parameter!.Value)!;
    const held = new Map<string, SmtpCredentialValue>(servers.map((x) => [x.serverId, oldValue]));
    let checkpoints = 0;

    const check = async (label: string): Promise<void> => {
        checkpoints++;
        const keys = Object.fromEntries(((await iam.send(new ListAccessKeysCommand({ UserName: rig.userName }))).AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]));
        if (Object.keys(keys).length > 2) violations.push(`${label}: ${Object.keys(keys).length} access keys`);
        const verdicts = new Map<string, Promise<string | undefined>>();
        for (const [serverId, cred] of held) {
            const id = `${cred.username}\n${cred.password}`;
            if (!verdicts.has(id)) verdicts.set(id, smtpLogin(endpoint, cred.username, cred.password).then((o) => (o.code === 235 ? undefined : `SMTP AUTH as ${cred.username} answered ${o.code} (${o.reason})`)));
            const why = await verdicts.get(id);
            if (why) violations.push(`${label}: server ${serverId} holds a credential that does not authenticate: ${why}`);
        }
    };

    try {
        const fault = s.inject?.(rig);
        await check("before the run");
        const started = await rig.startRotation({ requestId: s.name });
        const acted = new Set<string>();
        const deadline = Date.now() + 120_000;
        for (;;) {
            const d = await rig.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
            for (const mail of rig.ownerMails()) {
                const index = servers.findIndex((x) => x.ownerEmail === mail.to);
                if (index < 0 || !mail.confirmationId || acted.has(mail.confirmationId)) continue;
                const choice = s.owner?.(index) ?? "confirm";
                if (choice === "ignore") continue;
                if (choice === "confirm") {
                    // the owner installs the version the mail names, then confirms
                    const version = /version (\d+)/.exec(mail.message)?.[1];
                    const value = parseCredential((await ssm.send(new GetParameterCommand({ Name: `${rig.parameterName}:${version}`, WithDecryption: true }))).Parameter!.Value);
                    if (value) held.set(servers[index].serverId, value);
                }
                const answer = await rig.api("POST", mail.confirmationId, `action=${choice}`);
                if (answer.statusCode < 500) acted.add(mail.confirmationId); // 503: "try again in a minute"
            }
            await check("while the run is in flight");
            if (d.status !== "RUNNING") break;
            if (Date.now() > deadline) throw new Error(`run still RUNNING after 120 s:\n${await rig.explain()}`);
            // Polling another program (moto's interpreter): no event to wait on.
            await new Promise((r) => setTimeout(r, 200));
        }
        const done = await rig.finished(started.executionArn);
        await check("after the run");
        const unconfirmed = servers.filter((_, i) => (s.owner?.(i) ?? "confirm") !== "confirm").map((x) => x.serverId);
        const keys = (await iam.send(new ListAccessKeysCommand({ UserName: rig.userName }))).AccessKeyMetadata ?? [];
        if (done.status === "SUCCEEDED") {
            if (keys.length !== 1 || keys[0].AccessKeyId === rig.oldAccessKeyId) violations.push(`after success: keys ${JSON.stringify(keys.map((k) => [k.AccessKeyId, k.Status]))} (expected only the new one)`);
            for (const [serverId, cred] of held) if (cred.username === rig.oldAccessKeyId) violations.push(`after success: ${serverId} still holds the old key`);
        } else {
            if (!keys.some((k) => k.AccessKeyId === rig.oldAccessKeyId && k.Status === "Active")) violations.push("after a failed run the old key must stay Active");
            const notices = rig.notices().map((n) => `${n.subject}\n${n.message}`);
            if (!notices.some((n) => n.includes("incomplete") || n.includes("failed"))) violations.push(`no failure notice: ${JSON.stringify(notices)}`);
            for (const id of unconfirmed) if (!notices.some((n) => n.includes(id))) violations.push(`no notice names the unconfirmed server ${id}: ${JSON.stringify(notices).slice(0, 1500)}`);
        }
        const unfiredFaults = fault && fault.applied === 0 ? [`${fault.service}:${fault.operation} ${fault.kind}`] : [];
        return { status: done.status!, violations, checkpoints, unconfirmed, unfiredFaults };
    } finally {
        await rig.tearDown();
        await endpoint.stop();
    }
}

/** The manual-mode scenarios. */
export const MANUAL_SCENARIOS: ManualScenario[] = [
    {
        name: "manual: crash after iam:CreateAccessKey in CreateCredential",
        family: "manual mode (emitted state machines)",
        fault: "iam:CreateAccessKey takes effect, then the CreateCredential Lambda dies; the state's Retry runs it again",
        expect: "rotated",
        inject: () => testEnv().proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "passThenFail", times: 1 }),
    },
    {
        name: "manual: ssm:PutParameter throttled",
        family: "manual mode (emitted state machines)",
        fault: "Parameter Store PutParameter answers ThrottlingException once",
        expect: "rotated",
        inject: () => testEnv().proxy.addFault({ service: "ssm", operation: "PutParameter", kind: "error", code: "ThrottlingException", times: 1 }),
    },
    {
        name: "manual: fleet table Scan throttled",
        family: "manual mode (emitted state machines)",
        fault: "DynamoDB Scan of the fleet table answers ProvisionedThroughputExceededException once",
        expect: "rotated",
        inject: () => testEnv().proxy.addFault({ service: "dynamodb", operation: "Scan", kind: "error", code: "ProvisionedThroughputExceededException", times: 1 }),
    },
    {
        name: "manual: iam:UpdateAccessKey 5xx when retiring",
        family: "manual mode (emitted state machines)",
        fault: "IAM UpdateAccessKey (deactivating the old key) answers 500 ServiceFailure once",
        expect: "rotated",
        inject: () => testEnv().proxy.addFault({ service: "iam", operation: "UpdateAccessKey", kind: "error", status: 500, code: "ServiceFailure", times: 1 }),
    },
    {
        name: "manual: SendTaskSuccess throttled at confirmation",
        family: "manual mode (emitted state machines)",
        fault: "states:SendTaskSuccess answers ThrottlingException once: the page says try again, the owner presses again",
        expect: "rotated",
        inject: () => testEnv().proxy.addFault({ service: "states", operation: "SendTaskSuccess", kind: "error", code: "ThrottlingException", times: 1 }),
        recoveredBy: "the page said try again; the owner pressed Confirm again",
    },
    {
        name: "manual: an owner rejects",
        family: "manual mode (emitted state machines)",
        fault: "one owner reports the server could not be updated",
        expect: "failed",
        owner: (i) => (i === 1 ? "reject" : "confirm"),
    },
    {
        name: "manual: an owner never confirms",
        family: "manual mode (emitted state machines)",
        fault: "one owner never answers; the confirmation times out",
        expect: "failed",
        owner: (i) => (i === 1 ? "ignore" : "confirm"),
        confirmationTimeoutSeconds: 4,
    },
];
