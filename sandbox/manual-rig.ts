/**
 * A manual-mode rotation set up in moto for the tests and the benchmark (product-side emulator kit: no test
 * framework; tests/support/manual-rig.ts binds it to the mocha root hooks' world and the leak scanner): IAM user with its current key stored in Parameter
 * Store (customer KMS key), fleet table, confirmation table, SNS topics, the two state machines created from
 * the EMITTED definitions (components/manual/definitions.ts), and the real runtime handlers answering the
 * Lambda tasks through the Step Functions bridge. The "owner" reads the e-mails SNS received and uses the
 * real confirmation API handler.
 */
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { CreateStateMachineCommand, DescribeExecutionCommand, DescribeExecutionOutput, GetExecutionHistoryCommand, HistoryEvent, ListExecutionsCommand, SFNClient, StopExecutionCommand } from "@aws-sdk/client-sfn";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { confirmationPageDefinition, credentialRotationDefinition, manualConfirmationDefinition } from "../components/manual/definitions";
import { serializeCredential } from "../runtime/credential";
import type { FleetServer } from "../runtime/fleet-target";
import { createConfirmationApiHandler, HttpApiResult } from "../runtime/manual/confirmation-api";
import { ConfirmationStore } from "../runtime/manual/confirmation-store";
import { createFanOutHandler } from "../runtime/manual/confirmation-fanout";
import { createConfirmationTaskHandlers } from "../runtime/manual/confirmation-tasks";
import { createCredentialHandler } from "../runtime/manual/credential-task";
import { createRetireHandler } from "../runtime/manual/retire-task";
import { createServersPageHandler } from "../runtime/manual/servers-page";
import { RotationTally } from "../runtime/manual/rotation-tally";
import { createStarterHandler } from "../runtime/manual/starter";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import type { AwsProxy } from "./aws-proxy";
import type { EmulatorClientConfig } from "./aws-world";
import { SfnBridge } from "./sfn-bridge";

export const ACCOUNT = "123456789012";
export const REGION = "us-east-1";
const fn = (name: string) => `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${name}`;

export interface RigOptions {
    servers: FleetServer[];
    graceSeconds?: number;
    /** the old key's observation window after every server confirmed; default 1 s here */
    observationSeconds?: number;
    reminderSeconds?: number;
    confirmationTimeoutSeconds?: number;
    maxConcurrency?: number;
    pageSize?: number;
    /** CredentialRotation's bound (default MAX_SERVERS_PER_RUN) */
    maxServers?: number;
}

/** Polls `probe` until it returns a value (not undefined) or the deadline passes. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, deadlineMs = 60000): Promise<T> {
    const end = Date.now() + deadlineMs;
    for (;;) {
        const v = await probe();
        if (v !== undefined) return v;
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        // Polling a process in another program (moto's interpreter): no event to wait on.
        await new Promise((r) => setTimeout(r, 100));
    }
}

export function serverList(n: number, prefix = "host"): FleetServer[] {
    return Array.from({ length: n }, (_, i) => ({
        serverId: `i-${(0x10000000 + i).toString(16).padStart(17, "0")}`,
        hostname: `${prefix}${i}.example.com`,
        software: i % 3 === 0 ? "iis" : "postfix",
        ownerEmail: `owner${i}@example.com`,
    }));
}

/** The emulated AWS the rig runs on (sandbox/aws-world.ts's {@link AwsWorld} fits). */
export interface RigWorld {
    /** the wire proxy in front of moto, which moto's Step Functions interpreter calls back through */
    proxy: AwsProxy;
    /** SDK client settings that reach moto through the proxy */
    clientConfig(): EmulatorClientConfig;
}

/** What the rig's user adds to it. */
export interface RigHooks {
    /** observes every log line of the rig's handlers (the tests' leak scanner); the lines are kept in `logs` anyway */
    observeLog?: (msg: string, fields?: object) => void;
}

/**
 * Creates the customer KMS key that encrypts the credential parameter and returns its ARN. `@aws-sdk/client-kms`
 * is a development dependency (no product code calls KMS), so it is loaded only when a rig is set up, never when
 * this module is.
 */
async function createKmsKey(config: EmulatorClientConfig): Promise<string> {
    const kms: typeof import("@aws-sdk/client-kms") = require("@aws-sdk/client-kms");
    const client = new kms.KMSClient(config);
    try {
        return (await client.send(new kms.CreateKeyCommand({ Description: "manual-mode test key" }))).KeyMetadata!.Arn!;
    } finally {
        client.destroy();
    }
}

export class ManualRig {
    readonly iam: IAMClient;
    readonly ssm: SSMClient;
    readonly sfn: SFNClient;
    readonly sns: SNSClient;
    readonly dynamodb: DynamoDBClient;
    readonly ec2: EC2Client;
    readonly bridge: SfnBridge;
    readonly logs: string[] = [];
    readonly userName = "smtp-manual";
    readonly parameterName = "/ses-smtp/test/credential";
    readonly fleetTable = "fleet";
    readonly confirmationTable = "confirmations";
    /** secrets the leak check looks for */
    readonly secrets: string[] = [];
    kmsKeyId = "";
    notifyTopicArn = "";
    ownerTopicArn = "";
    rotationArn = "";
    confirmationArn = "";
    pageArn = "";
    oldAccessKeyId = "";
    readonly store: ConfirmationStore;
    readonly tally: RotationTally;
    /** the confirmation API handler (what API Gateway would call) */
    api!: (method: string, id: string, body?: string) => Promise<HttpApiResult>;
    private readonly stoppers: (() => Promise<void>)[] = [];
    /** the real confirmation-task handlers the bridge calls (tests may wrap them) */
    tasks!: ReturnType<typeof createConfirmationTaskHandlers>;
    /** the real fan-out Lambda handler (StartConfirmation: begin, start, pageDone, abort) */
    fanOut!: (event: any) => Promise<unknown>;
    startRotation!: (event?: { scheduledTime?: string; requestId?: string }) => Promise<{ executionArn: string; name: string }>;

    constructor(
        readonly opts: RigOptions,
        readonly world: RigWorld,
        private readonly hooks: RigHooks = {},
    ) {
        const config = world.clientConfig();
        this.iam = new IAMClient(config);
        this.ssm = new SSMClient(config);
        this.sfn = new SFNClient(config);
        this.sns = new SNSClient(config);
        this.dynamodb = new DynamoDBClient(config);
        this.ec2 = new EC2Client(config);
        this.bridge = new SfnBridge(world.proxy);
        this.store = new ConfirmationStore(this.dynamodb, this.confirmationTable);
        this.tally = new RotationTally(this.dynamodb, this.sfn, this.confirmationTable);
    }

    /** The logger every handler of the rig gets: lines are kept in {@link logs} and passed to `hooks.observeLog`. */
    readonly log = (msg: string, fields?: object) => {
        this.logs.push(JSON.stringify({ msg, ...(fields ?? {}) }));
        this.hooks.observeLog?.(msg, fields);
    };

    async setUp(): Promise<this> {
        const o = this.opts;
        await this.iam.send(new CreateUserCommand({ UserName: this.userName }));
        this.kmsKeyId = await createKmsKey(this.world.clientConfig());
        // The credential in use before this rotation: version 1 of the parameter.
        const old = await this.iam.send(new CreateAccessKeyCommand({ UserName: this.userName }));
        this.oldAccessKeyId = old.AccessKey!.AccessKeyId!;
        this.secrets.push(old.AccessKey!.SecretAccessKey!, deriveSmtpPassword(old.AccessKey!.SecretAccessKey!, "eu-west-1"));
        await this.ssm.send(
            new PutParameterCommand({
                Name: this.parameterName,
                Type: "SecureString",
                KeyId: this.kmsKeyId,
                Value: serializeCredential({ username: this.oldAccessKeyId, password: this.secrets[1], endpoint: "email-smtp.eu-west-1.amazonaws.com", port: 587, region: "eu-west-1" }),
            }),
        );
        this.notifyTopicArn = (await this.sns.send(new CreateTopicCommand({ Name: "rotation-notices" }))).TopicArn!;
        this.ownerTopicArn = (await this.sns.send(new CreateTopicCommand({ Name: "owner-mail" }))).TopicArn!;
        await this.dynamodb.send(
            new CreateTableCommand({ TableName: this.fleetTable, BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "serverId", AttributeType: "S" }], KeySchema: [{ AttributeName: "serverId", KeyType: "HASH" }] }),
        );
        await this.dynamodb.send(
            new CreateTableCommand({ TableName: this.confirmationTable, BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }], KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }] }),
        );
        for (let i = 0; i < o.servers.length; i += 25) {
            const batch = o.servers.slice(i, i + 25).map((s) => ({
                PutRequest: { Item: { serverId: { S: s.serverId }, hostname: { S: s.hostname }, software: { S: s.software }, ownerEmail: { S: s.ownerEmail } } },
            }));
            await this.dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [this.fleetTable]: batch } }));
        }

        const role = `arn:aws:iam::${ACCOUNT}:role/manual-rotation`;
        const child = manualConfirmationDefinition({
            requestConfirmationArn: fn("requestConfirmation"),
            remindOwnerArn: fn("remindOwner"),
            reportOutcomeArn: fn("reportOutcome"),
            reminderSeconds: o.reminderSeconds ?? 3600,
            confirmationTimeoutSeconds: o.confirmationTimeoutSeconds ?? 3600,
        });
        this.confirmationArn = (await this.sfn.send(new CreateStateMachineCommand({ name: "ManualConfirmation", definition: JSON.stringify(child), roleArn: role }))).stateMachineArn!;
        const page = confirmationPageDefinition({ listServersPageArn: fn("listServersPage"), startConfirmationArn: fn("startConfirmation"), maxConcurrency: o.maxConcurrency ?? 4 });
        this.pageArn = (await this.sfn.send(new CreateStateMachineCommand({ name: "ConfirmationPage", definition: JSON.stringify(page), roleArn: role }))).stateMachineArn!;
        const parent = credentialRotationDefinition({
            createCredentialArn: fn("createCredential"),
            listServersPageArn: fn("listServersPage"),
            startConfirmationArn: fn("startConfirmation"),
            retireOldKeysArn: fn("retireOldKeys"),
            confirmationPageStateMachineArn: this.pageArn,
            notifyTopicArn: this.notifyTopicArn,
            ...(o.maxServers !== undefined ? { maxServers: o.maxServers } : {}),
            graceSeconds: o.graceSeconds ?? 1,
            observationSeconds: o.observationSeconds ?? 1,
            confirmationTimeoutSeconds: o.confirmationTimeoutSeconds ?? 3600,
        });
        this.rotationArn = (await this.sfn.send(new CreateStateMachineCommand({ name: "CredentialRotation", definition: JSON.stringify(parent), roleArn: role }))).stateMachineArn!;

        this.fanOut = createFanOutHandler({ sfn: this.sfn, tally: this.tally, startConfirmation: (e) => this.tasks.startConfirmation(e), log: this.log });
        const tasks = (this.tasks = createConfirmationTaskHandlers(
            { store: this.store, tally: this.tally, sfn: this.sfn, sns: this.sns, log: this.log },
            {
                confirmationStateMachineArn: this.confirmationArn,
                ownerTopicArn: this.ownerTopicArn,
                confirmationBaseUrl: "https://confirm.example.com/",
                confirmationTimeoutSeconds: o.confirmationTimeoutSeconds ?? 3600,
            },
        ));
        const createCredential = createCredentialHandler(
            { iam: this.iam, ssm: this.ssm, log: this.log },
            { iamUserName: this.userName, sesRegion: "eu-west-1", smtpPort: 587, parameterName: this.parameterName, kmsKeyId: this.kmsKeyId },
        );
        this.bridge
            .register("createCredential", createCredential as any)
            .register("listServersPage", createServersPageHandler({ dynamodb: this.dynamodb, ec2: this.ec2 }, { fleet: { kind: "table", tableName: this.fleetTable }, pageSize: o.pageSize ?? 100, ownerEmailTagKey: "OwnerEmail" }) as any)
            .register("startConfirmation", this.fanOut)
            .register("requestConfirmation", tasks.requestConfirmation as any)
            .register("remindOwner", tasks.remindOwner as any)
            .register("reportOutcome", tasks.reportOutcome as any)
            .register("retireOldKeys", createRetireHandler({ iam: this.iam, ssm: this.ssm, log: this.log }, { iamUserName: this.userName, parameterName: this.parameterName }) as any);
        const apiHandler = createConfirmationApiHandler({ store: this.store, sfn: this.sfn, log: this.log });
        this.api = (method, id, body) =>
            apiHandler({ rawPath: `/confirm/${id}`, pathParameters: { id }, requestContext: { http: { method } }, body: body ?? undefined, isBase64Encoded: false });
        this.startRotation = createStarterHandler({ sfn: this.sfn, log: this.log }, { stateMachineArn: this.rotationArn, timeZone: "UTC" });
        return this;
    }

    /** Owner e-mails published so far: {to, subject, message, link id}. */
    ownerMails(): { to: string; subject: string; message: string; confirmationId: string }[] {
        return this.world.proxy.calls.filter((c) => c.service === "sns" && c.operation === "Publish" && c.status === 200)
            .map((c) => new URLSearchParams(c.requestBody))
            .filter((p) => p.get("TopicArn") === this.ownerTopicArn)
            .map((p) => ({
                to: p.get("MessageAttributes.entry.1.Value.StringValue") ?? "",
                subject: p.get("Subject") ?? "",
                message: p.get("Message") ?? "",
                confirmationId: /\/confirm\/([A-Za-z0-9_-]{43})/.exec(p.get("Message") ?? "")?.[1] ?? "",
            }));
    }

    /** Run-level notices published to the operators' topic. */
    notices(): { subject: string; message: string }[] {
        return this.world.proxy.calls.filter((c) => c.service === "sns" && c.operation === "Publish" && c.status === 200)
            .map((c) => new URLSearchParams(c.requestBody))
            .filter((p) => p.get("TopicArn") === this.notifyTopicArn)
            .map((p) => ({ subject: p.get("Subject") ?? "", message: p.get("Message") ?? "" }));
    }

    /**
     * Owners at work: answers every new owner mail (in the order they arrive) with `decide(mail)`: "confirm",
     * "reject" or "ignore", through the confirmation API (GET first, as a person would). Stop with `stop()`.
     */
    ownersAnswer(decide: (to: string) => "confirm" | "reject" | "ignore"): { stop: () => Promise<void>; answered: Map<string, number> } {
        const answered = new Map<string, number>();
        let running = true;
        let seen = 0;
        const loop = (async () => {
            while (running) {
                const calls = this.world.proxy.calls;
                const fresh = calls.slice(seen);
                seen = calls.length;
                for (const c of fresh) {
                    if (c.service !== "sns" || c.operation !== "Publish" || c.status !== 200) continue;
                    const p = new URLSearchParams(c.requestBody);
                    const id = /\/confirm\/([A-Za-z0-9_-]{43})/.exec(p.get("Message") ?? "")?.[1];
                    const to = p.get("MessageAttributes.entry.1.Value.StringValue") ?? "";
                    if (p.get("TopicArn") !== this.ownerTopicArn || !id || answered.has(id)) continue;
                    const choice = decide(to);
                    if (choice === "ignore") continue;
                    answered.set(id, (await this.api("GET", id)).statusCode);
                    answered.set(id, (await this.api("POST", id, `action=${choice}`)).statusCode);
                }
                // Polling the proxy's call record for new mails: there is no event to wait on.
                await new Promise((r) => setTimeout(r, 50));
            }
        })();
        const stop = async () => {
            running = false;
            await loop;
        };
        this.stoppers.push(stop);
        return { answered, stop };
    }

    /** Waits for the first mail to `owner`; returns its link id. */
    async linkFor(owner: string, deadlineMs = 60000): Promise<string> {
        return until(`mail to ${owner}`, async () => this.ownerMails().find((m) => m.to === owner && m.confirmationId)?.confirmationId, deadlineMs);
    }

    async finished(executionArn: string, deadlineMs = 90000): Promise<DescribeExecutionOutput> {
        return until(`execution ${executionArn} to finish`, async () => {
            const d = await this.sfn.send(new DescribeExecutionCommand({ executionArn }));
            return d.status === "RUNNING" ? undefined : d;
        }, deadlineMs);
    }

    async history(executionArn: string): Promise<HistoryEvent[]> {
        const events: HistoryEvent[] = [];
        let nextToken: string | undefined;
        do {
            const page = await this.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
            events.push(...(page.events ?? []));
            nextToken = page.nextToken;
        } while (nextToken);
        return events;
    }

    /** Every execution of the three state machines. */
    async executions(): Promise<{ executionArn: string; status: string; name: string }[]> {
        const out: { executionArn: string; status: string; name: string }[] = [];
        for (const stateMachineArn of [this.rotationArn, this.pageArn, this.confirmationArn]) {
            let nextToken: string | undefined;
            do {
                const page = await this.sfn.send(new ListExecutionsCommand({ stateMachineArn, nextToken, maxResults: 1000 }));
                for (const e of page.executions ?? []) out.push({ executionArn: e.executionArn!, status: e.status!, name: e.name! });
                nextToken = page.nextToken;
            } while (nextToken);
        }
        return out;
    }

    /** The SMTP user's access keys and their status (Active | Inactive), by key id. */
    async keyStatuses(): Promise<Record<string, string>> {
        const out = await this.iam.send(new ListAccessKeysCommand({ UserName: this.userName }));
        return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]));
    }

    /** What happened so far (for failure messages): executions, their last events, bridged errors. */
    async explain(): Promise<string> {
        const lines: string[] = [];
        for (const e of await this.executions()) {
            lines.push(`${e.name} ${e.status}`);
            for (const ev of (await this.history(e.executionArn)).slice(-4)) {
                const details = Object.entries(ev).find(([k]) => k.endsWith("EventDetails"))?.[1];
                lines.push(`   ${ev.id} ${ev.type} ${JSON.stringify(details ?? {}).slice(0, 400)}`);
            }
        }
        for (const i of this.bridge.invocations.filter((i) => i.error)) lines.push(`bridge ${i.functionName} error ${JSON.stringify(i.error)}`);
        for (const c of this.world.proxy.calls.filter((c) => c.status >= 400).slice(0, 5)) lines.push(`call ${c.service}:${c.operation} ${c.status} ${c.requestBody.slice(0, 300)} -> ${c.responseBody.slice(0, 300)}`);
        return lines.join("\n");
    }

    /** Stops whatever still runs (so moto's interpreter threads end) and detaches the bridge. */
    async tearDown(): Promise<void> {
        for (const stop of this.stoppers) await stop();
        for (const e of await this.executions().catch(() => [])) {
            if (e.status === "RUNNING") await this.sfn.send(new StopExecutionCommand({ executionArn: e.executionArn })).catch(() => undefined);
        }
        this.bridge.dispose();
    }
}
