/**
 * A fleet of real Postfix "servers" for the end-to-end rotation scenario: each server is a Postfix instance
 * of its own plus a fleet agent playing its SSM Agent (managed node id `mi-...`), listed in a DynamoDB fleet
 * table (moto). The auto-mode rotation handler runs against moto through the proxy with the real SMTP check
 * against the local SES-compatible endpoint, and a real clock (the agents are real processes).
 *
 * Secrets Manager's part (moto cannot invoke our Lambda) is played by tests/support/rotation-driver.ts's
 * playRotation: a pending version for a new token holding a copy of the current value, the four steps, then
 * the AWSPENDING label removed.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateUserCommand, IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, DescribeSecretCommand, GetSecretValueCommand, RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { CreateDocumentCommand, SSMClient } from "@aws-sdk/client-ssm";
import * as fs from "fs";
import * as path from "path";
import { postfixDocumentContent } from "../../documents";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../../runtime/access-keys";
import { createRotationHandler, RotationConfig } from "../../runtime/auto/rotation-handler";
import { serializeCredential, SmtpCredentialValue } from "../../runtime/credential";
import { createSmtpCheck } from "../../runtime/smtp-check";
import { createFleetTable } from "../../sandbox/ec2-fleet";
import { FleetAgent } from "../../sandbox/fleet-agent";
import { clientConfig, testEnv } from "./hooks";
import { leakScanner } from "./leak-scanner";
import { makeArgvShims, PostfixInstance, startPostfix } from "../../sandbox/postfix";
import { playRotation } from "./rotation-driver";
import type { SesEndpoint } from "../../sandbox/ses-endpoint";

/** SES region the SMTP passwords are derived for (the endpoint checks logins for it). */
export const E2E_SES_REGION = "eu-west-1";
export const E2E_USER = "ses-smtp-postfix-e2e";
const POSTFIX_DOCUMENT = "ses-postfix-update-e2e";
const IIS_DOCUMENT = "ses-iis-update-e2e";

/** How a server is broken for the failure scenario (nothing else in it differs). */
export type ServerFault =
    /** sasl_passwd is a symlink into another directory: Postfix reads it, the document refuses to replace it */
    | "sasl-passwd-symlink"
    /** `postfix reload` fails after the new map is in place: the document must restore the previous one */
    | "reload-fails";

/** One "server" of the fleet: a Postfix instance and the fleet agent playing its SSM Agent. */
export interface MailServer {
    name: string;
    serverId: string;
    postfix: PostfixInstance;
    agent: FleetAgent;
}

/** The scenario's world: IAM user + secret + fleet table in moto, real Postfix servers, the rotation handler. */
export class PostfixFleetWorld {
    readonly iam = new IAMClient(clientConfig());
    readonly secrets = new SecretsManagerClient(clientConfig());
    readonly ssm = new SSMClient(clientConfig());
    readonly sns = new SNSClient(clientConfig());
    readonly dynamodb = new DynamoDBClient(clientConfig());
    readonly servers: MailServer[] = [];
    secretArn = "";
    firstCredential!: SmtpCredentialValue;
    config!: RotationConfig;
    logs: string[] = [];

    constructor(readonly endpoint: SesEndpoint) {}

    /** IAM user + first key stored as AWSCURRENT (rotation enabled), documents, and one Postfix + agent per server. */
    async setUp(servers: Array<{ name: string; fault?: ServerFault }>): Promise<this> {
        await this.iam.send(new CreateUserCommand({ UserName: E2E_USER }));
        this.firstCredential = smtpCredentialForKey(await createAccessKeyForSmtp(this.iam, E2E_USER, E2E_SES_REGION), { sesRegion: E2E_SES_REGION, smtpEndpoint: this.endpoint.host });
        this.secretArn = (await this.secrets.send(new CreateSecretCommand({ Name: "ses-smtp-postfix-e2e", SecretString: serializeCredential(this.firstCredential) }))).ARN!;
        // Turns rotation on in moto (without a Lambda moto completes this first rotation itself, copying the value).
        await this.secrets.send(new RotateSecretCommand({ SecretId: this.secretArn, RotationRules: { AutomaticallyAfterDays: 30 }, RotateImmediately: false }));
        const topicArn = (await this.sns.send(new CreateTopicCommand({ Name: "ses-rotation-postfix-e2e" }))).TopicArn!;
        await this.ssm.send(new CreateDocumentCommand({ Name: POSTFIX_DOCUMENT, DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(postfixDocumentContent()) }));
        const tableName = "mail-fleet-postfix-e2e";
        const entries = servers.map((s, i) => ({ ...s, serverId: `mi-0e2e${(i + 1).toString(16).padStart(13, "0")}` }));
        await createFleetTable(
            this.dynamodb,
            tableName,
            entries.map((s) => ({ serverId: s.serverId, hostname: `${s.name}.e2e.test`, software: "postfix" as const, ownerEmail: `ops+${s.name}@example.com` })),
        );
        for (const s of entries) this.servers.push(await this.startServer(s.name, s.serverId, s.fault));
        this.config = {
            iamUserName: E2E_USER,
            sesRegion: E2E_SES_REGION,
            // The servers relay through the local SES-compatible endpoint: credentials name it (the documents
            // install a credential only for a relay host that is SES of its region or the endpoint it names).
            smtpEndpoint: this.endpoint.host,
            smtpPort: 587,
            fleet: { kind: "table", tableName },
            postfixDocument: POSTFIX_DOCUMENT,
            iisDocument: IIS_DOCUMENT,
            notifyTopicArn: topicArn,
            fleetDeadlineSeconds: 120,
            retirement: { observationHours: 0, graceDays: 7 },
        };
        return this;
    }

    private async startServer(name: string, serverId: string, fault?: ServerFault): Promise<MailServer> {
        const postfix = await startPostfix({ name, relay: { host: this.endpoint.host, port: this.endpoint.port }, caPem: this.endpoint.ca });
        leakScanner.watchDirectory(postfix.root, ["sasl_passwd", "sasl_passwd.db"]);
        await postfix.installCredential(this.firstCredential.username, this.firstCredential.password);
        if (fault === "sasl-passwd-symlink") {
            const elsewhere = path.join(postfix.root, "credentials");
            fs.mkdirSync(elsewhere, { mode: 0o700 });
            fs.renameSync(postfix.saslPasswdPath, path.join(elsewhere, "sasl_passwd"));
            fs.renameSync(`${postfix.saslPasswdPath}.db`, path.join(elsewhere, "sasl_passwd.db"));
            fs.symlinkSync(path.join(elsewhere, "sasl_passwd"), postfix.saslPasswdPath);
            fs.symlinkSync(path.join(elsewhere, "sasl_passwd.db"), `${postfix.saslPasswdPath}.db`);
        }
        const shims = makeArgvShims(postfix.root);
        if (fault === "reload-fails") shims.failReload(true);
        const agent = new FleetAgent({
            instanceId: serverId,
            proxy: testEnv().proxy,
            clientConfig: clientConfig(),
            env: { SES_ROTATOR_POSTFIX_CONFIG_DIR: postfix.configDir, PATH: `${shims.dir}:${process.env.PATH}` },
        });
        agent.start();
        return { name, serverId, postfix, agent };
    }

    /** The rotation Lambda's handler as it is built in Lambda, with real time and the real SMTP check. */
    handler(): ReturnType<typeof createRotationHandler> {
        const scannerLog = leakScanner.log("postfix-e2e rotation-handler");
        return createRotationHandler(
            {
                iam: this.iam,
                secrets: this.secrets,
                ssm: this.ssm,
                sns: this.sns,
                dynamodb: this.dynamodb,
                smtpCheck: createSmtpCheck({ host: this.endpoint.host, port: this.endpoint.port, ca: this.endpoint.ca, budgetMs: 60000, initialDelayMs: 500, connectTimeoutMs: 120000 }),
                fleetPollIntervalMs: 300,
                log: (msg, fields) => {
                    this.logs.push(`${msg} ${JSON.stringify(fields ?? {})}`);
                    if (process.env.E2E_DEBUG) console.log(new Date().toISOString(), msg, JSON.stringify(fields ?? {}).slice(0, 300));
                    scannerLog(msg, fields);
                },
            },
            this.config,
        );
    }

    /**
     * One rotation as Secrets Manager runs it (playRotation): pending version for a new token, the four steps
     * (`afterStep` is called after each), AWSPENDING removed on success. Returns the token; a failing step's
     * error propagates (AWSPENDING then stays, as in AWS).
     */
    async rotate(afterStep: (step: string) => void | Promise<void> = () => undefined): Promise<string> {
        return playRotation(this.secrets, this.secretArn, this.handler(), afterStep);
    }

    async stages(): Promise<Record<string, string[]>> {
        return (await this.secrets.send(new DescribeSecretCommand({ SecretId: this.secretArn }))).VersionIdsToStages ?? {};
    }

    async credentialAt(stage: string): Promise<SmtpCredentialValue> {
        return JSON.parse((await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretArn, VersionStage: stage }))).SecretString!);
    }

    async credentialOf(versionId: string): Promise<SmtpCredentialValue> {
        return JSON.parse((await this.secrets.send(new GetSecretValueCommand({ SecretId: this.secretArn, VersionId: versionId }))).SecretString!);
    }

    /** accessKeyId -> Active | Inactive, as IAM (moto) reports it now. */
    async keyStatuses(): Promise<Record<string, string>> {
        const out = await this.iam.send(new ListAccessKeysCommand({ UserName: E2E_USER }));
        return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]));
    }

    async destroy(): Promise<void> {
        for (const s of this.servers) await s.agent.stop();
        for (const s of this.servers) await s.postfix.destroy();
    }
}

/** One message of the steady stream. */
export interface StreamedMail {
    subject: string;
    server: MailServer;
    submittedAt: Date;
}

/**
 * A steady stream of mail: one message every `everyMs`, round-robin over `servers`, until stop(). The timer
 * paces the load; nothing waits on it (tests wait for arrival with deadlines).
 */
export class MailStream {
    readonly sent: StreamedMail[] = [];
    private timer?: NodeJS.Timeout;
    private inFlight = new Set<Promise<void>>();
    private n = 0;
    readonly errors: string[] = [];

    constructor(
        private readonly servers: MailServer[],
        private readonly prefix: string,
        private readonly everyMs = 250,
    ) {}

    start(): void {
        this.timer = setInterval(() => this.submitOne(), this.everyMs);
        this.submitOne();
    }

    /** One message through every server now (e.g. after each rotation step), on top of the timer's. */
    submitRound(): void {
        for (let i = 0; i < this.servers.length; i++) this.submitOne();
    }

    private submitOne(): void {
        const server = this.servers[this.n % this.servers.length];
        const subject = `${this.prefix}-${++this.n}-${server.name}`;
        const submittedAt = new Date();
        const p = server.postfix
            .submit({ to: "stream@example.com", subject })
            .then(() => void this.sent.push({ subject, server, submittedAt }))
            .catch((e) => void this.errors.push(String(e)))
            .finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
    }

    async stop(): Promise<void> {
        clearInterval(this.timer);
        await Promise.all([...this.inFlight]);
    }
}
