/**
 * Plays Secrets Manager for the auto-mode rotation handler in tests (moto cannot invoke our Lambda: its
 * RotateSecret either needs Docker-run Lambdas or, without one, moves AWSCURRENT itself).
 *
 * A test world: an IAM user with its first key stored as AWSCURRENT of a rotation-enabled secret (optionally
 * encrypted with a customer KMS key), a mail fleet of 2 Postfix + 1 IIS servers (tagged EC2 instances, which
 * moto resolves SSM tag targets against, or a DynamoDB fleet table), an SNS topic, and the handler wired to moto through the proxy with the real SMTP check
 * against the local SES-compatible endpoint.
 *
 * `beginRotation` prepares the pending version for a new token like moto's RotateSecret(RotateImmediately=false)
 * does: a version labelled AWSPENDING holding a copy of the current value. With `placeholder: "aws"` the
 * proxy answers the first read of that version with ResourceNotFoundException, as real Secrets Manager does
 * for its value-less pending placeholder (an emulation, named as such).
 *
 * The Secrets Manager part itself (`createPendingVersion`, `STEPS`, `removePendingLabel`, `playRotation`)
 * takes its clients and handler as arguments, so the Postfix end-to-end fleet and the demo play it with
 * the same code.
 */
import { randomUUID } from "crypto";
import { CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import {
    CreateSecretCommand,
    DescribeSecretCommand,
    GetSecretValueCommand,
    PutSecretValueCommand,
    RotateSecretCommand,
    SecretsManagerClient,
    UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { SSMClient } from "@aws-sdk/client-ssm";
import { EC2Client } from "@aws-sdk/client-ec2";
import { CreateKeyCommand, KMSClient } from "@aws-sdk/client-kms";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../../runtime/access-keys";
import { createRotationHandler, RotationConfig, RotationEvent } from "../../runtime/auto/rotation-handler";
import { serializeCredential, SmtpCredentialValue } from "../../runtime/credential";
import { createSmtpCheck } from "../../runtime/smtp-check";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createFleetTable, createTaggedInstances, makeServers } from "../../sandbox/ec2-fleet";
import { createPendingVersion, playConfigurationTest, removePendingLabel, STEPS } from "../../sandbox/secrets-manager-play";
export { createPendingVersion, playConfigurationTest, playRotation, removePendingLabel, STEPS } from "../../sandbox/secrets-manager-play";
import { clientConfig, testEnv } from "./hooks";
import { leakScanner } from "./leak-scanner";
import type { SesEndpoint } from "../../sandbox/ses-endpoint";

export const SES_REGION = "eu-west-1";
export const USER = "ses-smtp-bu-a";
export const FLEET = { kind: "tag" as const, tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" };
export const FLEET_TABLE = "fleet-bu-a";

/** SNS messages the code under test published, read from the proxy's record of calls to moto. */
export function publishedMessages(): { subject: string; message: string }[] {
    return testEnv()
        .proxy.calls.filter((c) => c.service === "sns" && c.operation === "Publish" && c.status === 200)
        .map((c) => {
            const body = c.requestBody.trim().startsWith("{") ? JSON.parse(c.requestBody) : Object.fromEntries(new URLSearchParams(c.requestBody));
            return { subject: body.Subject ?? "", message: body.Message ?? "" };
        });
}

export interface WorldOptions {
    /**
     * "tag" (EC2 instances in moto, resolved by SSM tag targets) or "table" (a DynamoDB fleet table; default).
     * Using EC2 makes moto's /moto-api/data.json ~4.6 MB (default AMIs etc.), which the SES endpoint reads per
     * login and the leak scanner per test: seconds per test, so only tests about tag targeting use "tag".
     */
    fleet?: "tag" | "table";
    kms?: boolean;
    smtpPort?: 587 | 465;
    observationHours?: number;
    graceDays?: number;
}

/** A prepared test world; `clock` is the handler's fake clock (it moves when updateFleet waits). */
export class RotationWorld {
    readonly iam = new IAMClient(clientConfig());
    readonly secrets = new SecretsManagerClient(clientConfig());
    readonly ssm = new SSMClient(clientConfig());
    readonly sns = new SNSClient(clientConfig());
    readonly ec2 = new EC2Client(clientConfig());
    readonly kms = new KMSClient(clientConfig());
    readonly dynamodb = new DynamoDBClient(clientConfig());
    clock = new Date("2026-11-29T12:00:00Z").getTime();
    secretArn = "";
    topicArn = "";
    kmsKeyId?: string;
    firstKeyId = "";
    instances: { postfix: string[]; iis: string[] } = { postfix: [], iis: [] };
    logs: string[] = [];
    config!: RotationConfig;
    /** called whenever updateFleet waits between polls (tests play the servers here) */
    onFleetWait: () => void = () => undefined;

    constructor(
        readonly endpoint: SesEndpoint,
        readonly options: WorldOptions = {},
    ) {}

    async setUp(): Promise<this> {
        await this.iam.send(new CreateUserCommand({ UserName: USER }));
        const first = await createAccessKeyForSmtp(this.iam, USER, SES_REGION);
        this.firstKeyId = first.accessKeyId;
        const port = this.options.smtpPort ?? 587;
        const initial = smtpCredentialForKey(first, { sesRegion: SES_REGION, smtpPort: port });
        if (this.options.kms) {
            this.kmsKeyId = (await this.kms.send(new CreateKeyCommand({ Description: "ses smtp secret" }))).KeyMetadata!.Arn!;
        }
        const created = await this.secrets.send(
            new CreateSecretCommand({ Name: "ses-smtp-bu-a", SecretString: serializeCredential(initial), ...(this.kmsKeyId ? { KmsKeyId: this.kmsKeyId } : {}) }),
        );
        this.secretArn = created.ARN!;
        // Turns rotation on in moto. Without a Lambda ARN moto completes this rotation itself, copying the value.
        await this.secrets.send(new RotateSecretCommand({ SecretId: this.secretArn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false }));
        this.topicArn = (await this.sns.send(new CreateTopicCommand({ Name: "ses-rotation-bu-a" }))).TopicArn!;
        if (this.options.fleet === "tag") {
            this.instances.postfix = await createTaggedInstances(this.ec2, 2, { [FLEET.tagKey]: FLEET.tagValue, [FLEET.softwareTagKey]: "postfix" });
            this.instances.iis = await createTaggedInstances(this.ec2, 1, { [FLEET.tagKey]: FLEET.tagValue, [FLEET.softwareTagKey]: "iis" });
            await createTaggedInstances(this.ec2, 1, { [FLEET.tagKey]: "other-bu", [FLEET.softwareTagKey]: "postfix" });
        } else {
            const servers = [...makeServers(2, { software: "postfix" }), ...makeServers(1, { software: "iis", prefix: "mi", offset: 2 })];
            await createFleetTable(this.dynamodb, FLEET_TABLE, servers);
            this.instances.postfix = servers.filter((s) => s.software === "postfix").map((s) => s.serverId);
            this.instances.iis = servers.filter((s) => s.software === "iis").map((s) => s.serverId);
        }
        this.config = {
            iamUserName: USER,
            sesRegion: SES_REGION,
            smtpPort: port,
            fleet: this.options.fleet === "tag" ? FLEET : { kind: "table", tableName: FLEET_TABLE },
            postfixDocument: "ses-postfix-update",
            iisDocument: "ses-iis-update",
            notifyTopicArn: this.topicArn,
            fleetDeadlineSeconds: 600,
            ...(this.kmsKeyId ? { kmsKeyId: this.kmsKeyId } : {}),
            retirement: { observationHours: this.options.observationHours ?? 0, graceDays: this.options.graceDays ?? 7 },
        };
        return this;
    }

    /** The real SMTP AUTH check against the local SES-compatible endpoint (one try, no retry budget). */
    smtpCheck(): ReturnType<typeof createSmtpCheck> {
        const implicit = this.config.smtpPort === 465;
        return createSmtpCheck({
            host: this.endpoint.host,
            port: implicit ? this.endpoint.implicitTlsPort : this.endpoint.port,
            tlsMode: implicit ? "implicit" : "starttls",
            ca: this.endpoint.ca,
            budgetMs: 0,
        });
    }

    /** The handler as the Lambda builds it, with the real SMTP check against the local SES endpoint. */
    handler(overrides: Partial<RotationConfig> = {}): (event: RotationEvent, context?: { getRemainingTimeInMillis?: () => number }) => Promise<void> {
        const scannerLog = leakScanner.log("rotation-handler");
        return createRotationHandler(
            {
                iam: this.iam,
                secrets: this.secrets,
                ssm: this.ssm,
                sns: this.sns,
                dynamodb: this.dynamodb,
                smtpCheck: this.smtpCheck(),
                now: () => new Date(this.clock),
                sleep: async (ms) => {
                    this.clock += ms;
                    this.onFleetWait();
                },
                log: (msg, fields) => {
                    this.logs.push(`${msg} ${JSON.stringify(fields ?? {})}`);
                    scannerLog(msg, fields);
                },
            },
            { ...this.config, ...overrides },
        );
    }

    /** Creates the pending version for a new token the way moto's RotateSecret(RotateImmediately=false) does. */
    async beginRotation(opts: { placeholder?: "moto" | "aws" } = {}): Promise<string> {
        const token = await createPendingVersion(this.secrets, this.secretArn);
        if (opts.placeholder === "aws") {
            testEnv().proxy.addFault({ service: "secretsmanager", operation: "GetSecretValue", bodyIncludes: token, kind: "error", code: "ResourceNotFoundException", status: 400, times: 1 });
        }
        return token;
    }

    /**
     * Secrets Manager's configuration test (rotation configured with RotateImmediately=false): testSecret alone on
     * a fresh AWSPENDING version, then the version's label removed. `pending: "copy"` is moto's copy of the
     * current value; `"empty"` emulates a value-less version at the proxy (every read of it answers
     * ResourceNotFoundException, as AWS does for a version without a value). Returns the token.
     */
    async configurationTest(pending: "copy" | "empty", handler = this.handler()): Promise<string> {
        return playConfigurationTest(this.secrets, this.secretArn, handler, (token) => {
            if (pending === "empty") {
                testEnv().proxy.addFault({ service: "secretsmanager", operation: "GetSecretValue", bodyIncludes: token, kind: "error", code: "ResourceNotFoundException", status: 400 });
            }
        });
    }

    /** One step, as Secrets Manager invokes it. */
    async step(step: string, token: string, handler = this.handler()): Promise<void> {
        await handler({ Step: step, SecretId: this.secretArn, ClientRequestToken: token });
    }

    /** What Secrets Manager does after a successful finishSecret: the pending label goes. */
    async endRotation(token: string): Promise<void> {
        const stages = await this.stages();
        if (stages[token]?.includes("AWSPENDING")) await removePendingLabel(this.secrets, this.secretArn, token);
    }

    /** A whole rotation: begin, the four steps, end. Returns the token. */
    async rotate(handler = this.handler()): Promise<string> {
        const token = await this.beginRotation();
        for (const s of STEPS) await this.step(s, token, handler);
        await this.endRotation(token);
        return token;
    }

    async stages(): Promise<Record<string, string[]>> {
        return (await this.secrets.send(new DescribeSecretCommand({ SecretId: this.secretArn }))).VersionIdsToStages ?? {};
    }

    async value(which: { stage: string } | { versionId: string }): Promise<SmtpCredentialValue> {
        const out = await this.secrets.send(
            new GetSecretValueCommand({ SecretId: this.secretArn, ...("stage" in which ? { VersionStage: which.stage } : { VersionId: which.versionId }) }),
        );
        return JSON.parse(out.SecretString!);
    }

    /** SNS messages published (see publishedMessages). */
    published(): { subject: string; message: string }[] {
        return publishedMessages();
    }

    /** The SendCommand requests made (parameters only). */
    sentCommands(): { request: any; command: any }[] {
        return testEnv()
            .proxy.calls.filter((c) => c.service === "ssm" && c.operation === "SendCommand" && c.status === 200)
            .map((c) => ({ request: JSON.parse(c.requestBody), command: JSON.parse(c.responseBody).Command }));
    }
}
