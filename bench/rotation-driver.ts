/**
 * One auto-mode rotation for the scale runs, driven the way Secrets Manager drives the rotation Lambda, with
 * the Secrets Manager play (sandbox/secrets-manager-play.ts: `createPendingVersion` prepares the
 * pending version as moto's RotateSecret(RotateImmediately=false) does, `removePendingLabel` ends the
 * rotation): the real handler (`createRotationHandler`, configured from the environment variables the
 * component sets) runs createSecret, setSecret, testSecret, finishSecret in turn. Each step is timed; AWS
 * calls are counted per step from the proxy's record.
 */
import { CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateDocumentCommand, SSMClient } from "@aws-sdk/client-ssm";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createRotationHandler, rotationConfigFromEnv } from "../runtime/auto/rotation-handler";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential } from "../runtime/credential";
import { createSmtpCheck } from "../runtime/smtp-check";
import type { FleetTarget } from "../runtime/fleet-target";
import { iisDocumentContent, postfixDocumentContent } from "../documents";
import { createPendingVersion, removePendingLabel, STEPS } from "../sandbox/secrets-manager-play";
import type { SesEndpoint } from "../sandbox/ses-endpoint";
import { BenchAws, CallTimer } from "./aws-env";
import type { SlowFleet } from "./fleet-emulation";

/**
 * The rotation's SMTP AUTH check against the bench's SES-compatible endpoint. That endpoint runs in this process,
 * whose event loop also carries the emulated fleet's 30,000-server answers: on a loaded machine its greeting can
 * take longer than the Lambda's 15 s default, so the bench allows 120 s.
 */
function benchSmtpCheck(ses: SesEndpoint): ReturnType<typeof createSmtpCheck> {
    return createSmtpCheck({ host: ses.host, port: ses.port, tlsMode: "starttls", ca: ses.ca, connectTimeoutMs: 120_000 });
}

/** The four steps, in the order Secrets Manager invokes them. */
export const ROTATION_STEPS = STEPS;
export type RotationStep = (typeof ROTATION_STEPS)[number];

/** What one step cost. */
export interface StepMeasurement {
    /** wall time of the handler call, ms (emulated fleet waits excluded: they take no real time) */
    ms: number;
    /** client-side time inside SDK calls (moto + proxy + SDK), ms */
    awsWaitMs: number;
    /** time inside the SMTP AUTH check (TLS to the local SES-compatible endpoint, which reads moto's IAM state), ms */
    smtpMs: number;
    /** the handler's waits between SSM polls (virtual: the emulated fleet), ms */
    pollWaitMs: number;
    /** real time the fleet emulation took inside those waits (not the handler's work), ms */
    emulationMs: number;
    /** AWS calls by "service:Operation", from the proxy's record */
    calls: Record<string, number>;
    /** bodies of ListCommands listings (to compute AWS-equivalent pages: moto does not paginate them) */
    listCommandsResponses: { request: string; response: string }[];
}

export interface RotationMeasurement {
    steps: Record<RotationStep, StepMeasurement>;
    totalMs: number;
}

/** AWS resources of one rotator (the state the component and BootstrapCredential would leave). */
export interface BenchRotator {
    userName: string;
    secretArn: string;
    env: Record<string, string>;
}

let documentsCreated: string | undefined;

/** Creates the rotator's IAM user, first credential (AWSCURRENT), topic and (once per moto) the two documents. */
export async function createBenchRotator(aws: BenchAws, name: string, fleet: FleetTarget): Promise<BenchRotator> {
    const cfg = aws.clientConfig();
    const iam = new IAMClient(cfg);
    const secrets = new SecretsManagerClient(cfg);
    const ssm = new SSMClient(cfg);
    const sns = new SNSClient(cfg);
    await iam.send(new CreateUserCommand({ UserName: name }));
    const key = await createAccessKeyForSmtp(iam, name, aws.region);
    const value = smtpCredentialForKey(key, { sesRegion: aws.region, smtpEndpoint: "127.0.0.1", smtpPort: 587 });
    const secret = await secrets.send(new CreateSecretCommand({ Name: `${name}-smtp`, SecretString: serializeCredential(value) }));
    // Turns rotation on in moto; without a Lambda ARN moto completes this first rotation itself (value copied).
    await secrets.send(new RotateSecretCommand({ SecretId: secret.ARN!, RotationRules: { AutomaticallyAfterDays: 90 }, RotateImmediately: false }));
    const topic = await sns.send(new CreateTopicCommand({ Name: `${name}-notices` }));
    if (documentsCreated !== aws.moto.url) {
        for (const [docName, content] of [["bench-postfix", postfixDocumentContent()], ["bench-iis", iisDocumentContent()]] as const) {
            await ssm.send(new CreateDocumentCommand({ Name: docName, DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(content) }));
        }
        documentsCreated = aws.moto.url;
    }
    return {
        userName: name,
        secretArn: secret.ARN!,
        env: {
            IAM_USER_NAME: name,
            SES_REGION: aws.region,
            SMTP_ENDPOINT: "127.0.0.1",
            ALLOW_NON_SES_SMTP_ENDPOINT: "true", // the local SES-compatible endpoint is not an SES host name
            SMTP_PORT: "587",
            FLEET_TARGET: JSON.stringify(fleet),
            POSTFIX_DOCUMENT: "bench-postfix",
            IIS_DOCUMENT: "bench-iis",
            NOTIFY_TOPIC_ARN: topic.TopicArn!,
            FLEET_DEADLINE_SECONDS: "600",
        },
    };
}

/** Forgets the documents-created marker (after moto was reset). */
export function forgetBenchDocuments(): void {
    documentsCreated = undefined;
}

/** Runs one full rotation of `rotator` and measures each step. Throws if a step fails. */
export async function runRotation(
    aws: BenchAws,
    rotator: BenchRotator,
    opts: { ses: SesEndpoint; fleet: SlowFleet; timer: CallTimer; log: (line: string) => void },
): Promise<RotationMeasurement> {
    const cfg = aws.clientConfig();
    const t = opts.timer;
    const config = rotationConfigFromEnv(rotator.env);
    const smtpCheck = benchSmtpCheck(opts.ses);
    let smtpMs = 0;
    const handler = createRotationHandler(
        {
            iam: t.instrument(new IAMClient(cfg), "iam"),
            secrets: t.instrument(new SecretsManagerClient(cfg), "secretsmanager"),
            ssm: t.instrument(new SSMClient(cfg), "ssm"),
            sns: t.instrument(new SNSClient(cfg), "sns"),
            dynamodb: t.instrument(new DynamoDBClient(cfg), "dynamodb"),
            smtpCheck: async (cred) => {
                const start = performance.now();
                try {
                    return await smtpCheck(cred);
                } finally {
                    smtpMs += performance.now() - start;
                }
            },
            sleep: opts.fleet.sleep,
            now: opts.fleet.now,
            log: process.env.BENCH_DEBUG ? (m: string, f?: object) => opts.log(`      ${m} ${JSON.stringify(f ?? {})}`) : () => undefined,
        },
        config,
    );
    const sm = new SecretsManagerClient(cfg);
    const token = await createPendingVersion(sm, rotator.secretArn);
    const steps = {} as Record<RotationStep, StepMeasurement>;
    let totalMs = 0;
    for (const step of ROTATION_STEPS) {
        const firstCall = aws.proxy.calls.length;
        t.reset();
        smtpMs = 0;
        opts.fleet.resetCounters();
        const start = performance.now();
        await handler({ Step: step, SecretId: rotator.secretArn, ClientRequestToken: token }, { getRemainingTimeInMillis: () => 900_000 });
        const ms = performance.now() - start;
        const calls: Record<string, number> = {};
        const listCommandsResponses: StepMeasurement["listCommandsResponses"] = [];
        for (const c of aws.proxy.calls.slice(firstCall)) {
            const key = `${c.service}:${c.operation}`;
            calls[key] = (calls[key] ?? 0) + 1;
            if (key === "ssm:ListCommands" && c.requestBody.includes("Filters")) listCommandsResponses.push({ request: c.requestBody, response: c.responseBody });
        }
        steps[step] = { ms, awsWaitMs: t.totalMs(), smtpMs, pollWaitMs: opts.fleet.waitedMs(), emulationMs: opts.fleet.emulationMs(), calls, listCommandsResponses };
        totalMs += ms;
        opts.log(`    ${step}: ${ms.toFixed(0)} ms, ${Object.values(calls).reduce((a, b) => a + b, 0)} AWS calls`);
    }
    await removePendingLabel(sm, rotator.secretArn, token);
    return { steps, totalMs };
}

/** What happened to the failure alert of a rotation whose setSecret failed. */
export interface FailureAlertProbe {
    /** setSecret's error (first line), or "no error" if it unexpectedly succeeded */
    error: string;
    /** SNS Publish calls the handler made for the failure, with their HTTP status and message size */
    publishes: { status: number; messageBytes: number }[];
    /** true when a failure notice reached SNS (HTTP 200) */
    delivered: boolean;
}

/** Runs createSecret and setSecret with a fleet in which some servers fail; reports whether the alert got out. */
export async function probeFailureAlert(
    aws: BenchAws,
    rotator: BenchRotator,
    opts: { ses: SesEndpoint; fleet: SlowFleet; log: (line: string) => void },
): Promise<FailureAlertProbe> {
    const cfg = aws.clientConfig();
    const handler = createRotationHandler(
        {
            iam: new IAMClient(cfg),
            secrets: new SecretsManagerClient(cfg),
            ssm: new SSMClient(cfg),
            sns: new SNSClient(cfg),
            dynamodb: new DynamoDBClient(cfg),
            smtpCheck: benchSmtpCheck(opts.ses),
            sleep: opts.fleet.sleep,
            now: opts.fleet.now,
            log: () => undefined,
        },
        rotationConfigFromEnv(rotator.env),
    );
    const token = await createPendingVersion(new SecretsManagerClient(cfg), rotator.secretArn);
    await handler({ Step: "createSecret", SecretId: rotator.secretArn, ClientRequestToken: token });
    const firstCall = aws.proxy.calls.length;
    let error = "no error";
    try {
        await handler({ Step: "setSecret", SecretId: rotator.secretArn, ClientRequestToken: token }, { getRemainingTimeInMillis: () => 900_000 });
    } catch (e) {
        error = String((e as Error).message).split("\n")[0].slice(0, 240);
    }
    const publishes = aws.proxy.calls
        .slice(firstCall)
        .filter((c) => c.service === "sns" && c.operation === "Publish")
        .map((c) => ({ status: c.status, messageBytes: Buffer.byteLength(new URLSearchParams(c.requestBody).get("Message") ?? JSON.parse(c.requestBody || "{}").Message ?? "") }));
    opts.log(`    failure probe: ${publishes.map((p) => `Publish ${p.status} (${p.messageBytes} B)`).join(", ") || "no Publish"}`);
    return { error, publishes, delivered: publishes.some((p) => p.status === 200) };
}

/**
 * Pages AWS would serve for these `ListCommands` listings (calls with `Filters`, in order; a call without
 * `NextToken` starts a listing). moto pages ListCommands 50 at a time but ignores `Filters`, so once earlier
 * runs' commands are in moto, its listings are longer than AWS's: AWS returns only commands invoked after
 * `InvokedAfter`, 50 a page. Returns the AWS page count for the same listings.
 */
export function awsEquivalentListingPages(listings: { request: string; response: string }[]): number {
    const chains: number[] = [];
    for (const l of listings) {
        const req = JSON.parse(l.request);
        if (!req.NextToken || chains.length === 0) chains.push(0);
        const after = req.Filters?.find((f: any) => f.key === "InvokedAfter")?.value;
        const afterMs = after ? Date.parse(after) : 0;
        const cmds: any[] = JSON.parse(l.response).Commands ?? [];
        chains[chains.length - 1] += cmds.filter((c) => toMs(c.RequestedDateTime) > afterMs).length;
    }
    return chains.reduce((pages, matching) => pages + Math.max(1, Math.ceil(matching / 50)), 0);
}

function toMs(v: unknown): number {
    if (typeof v === "number") return v < 1e12 ? v * 1000 : v;
    if (typeof v === "string") return Date.parse(v);
    return 0;
}
