/**
 * The fault matrix's world: the REAL auto-mode rotation handler against moto (through the fault-injecting
 * proxy), a simulated fleet of mail servers that really hold credentials, Secrets Manager's retry behaviour,
 * and the invariants checked at every checkpoint.
 *
 *  - Servers: the moto EC2 instances of tests/support/rotation-driver.ts. Each holds an SMTP credential
 *    (initially AWSCURRENT's). When the handler's SSM command reaches a server, the scenario's policy says what
 *    the server does; on "success" the server fetches the referenced secret version itself (as the document's
 *    script does) and installs it; the outcome is reported through the proxy's SSM overlay.
 *  - "Authenticates" is measured: at every checkpoint each distinct credential a server holds (and AWSCURRENT's)
 *    makes a real SMTP AUTH against the local SES-compatible endpoint, which decides from moto's IAM state and an
 *    SES password derivation that shares no code with runtime/ (sandbox/ses-password-reference.ts). The checker's
 *    own logins neither consume the scenario's 535 refusals nor count as a server's mail. What the endpoint decides
 *    from (the credential, whether its key exists and its status, whether SES refuses it) is read at every
 *    checkpoint; a login's verdict is reused only while all of that is unchanged (logins are slow on a busy host).
 *  - A "crash" is a real one for the in-process handler (./crash.ts): after the armed call, the invocation dies.
 *  - Secrets Manager model: each step is retried up to STEP_RETRIES times on error; if the rotation still
 *    failed, a later RotateSecret re-attempts the same pending version from createSecret ("a previous rotation
 *    isn't complete; that rotation will be reattempted").
 * Reads made by the checker go straight to moto, never through the proxy, so they neither meet the faults nor
 * change the call record.
 */
import { IAMClient, ListAccessKeysCommand, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createRotationHandler, RotationConfig, RotationEvent } from "../../runtime/auto/rotation-handler";
import { SmtpCredentialValue } from "../../runtime/credential";
import { advanceRetirements, RETIREMENT_TAG_PREFIX } from "../../runtime/retirement";
import { secretCredentialReader } from "../../runtime/current-credential";
import { createSmtpCheck } from "../../runtime/smtp-check";
import type { AwsProxy, FaultRule } from "../../sandbox/aws-proxy";
import { clientConfig, testEnv } from "../support/hooks";
import { leakScanner } from "../support/leak-scanner";
import { smtpLogin } from "../../sandbox/smtp-login";
import { CrashService, LambdaCrashes } from "./crash";
import { publishedMessages, RotationWorld, SES_REGION, STEPS, USER } from "../support/rotation-driver";
export { FLEET_TABLE } from "../support/rotation-driver";
import type { SesEndpoint } from "../../sandbox/ses-endpoint";

export const STEP_RETRIES = 2;
export type Step = (typeof STEPS)[number];

/** What a server does with one SSM command. */
export type ServerOutcome =
    | "success" // installs the referenced version, reports Success
    | "fail" // script fails (exit 1), keeps its credential
    | "timeout" // SSM reports TimedOut, credential unchanged
    | "undeliverable" // unreachable: never got the command
    | "silent" // never answers (stays Pending until the handler's deadline)
    | "late"; // installs the version but its report arrives only after the deadline

export interface FleetServerState {
    instanceId: string;
    software: "postfix" | "iis";
    held: SmtpCredentialValue;
    /** removed from the fleet (terminated): no longer checked */
    removed?: boolean;
}

export interface RunRecord {
    rounds: number;
    stepErrors: string[];
    rotated: boolean;
    violations: string[];
}

/** Everything a scenario can touch. `proxy.addFault` records each rule, so the harness can prove it fired. */
export interface ScenarioContext {
    h: FaultHarness;
    world: RotationWorld;
    proxy: Pick<AwsProxy, "addFault">;
    /** the next `service:operation` call of the handler takes effect, then the Lambda dies (./crash.ts) */
    crash: (service: CrashService, operation: string) => void;
}

export interface Scenario {
    name: string;
    family: string;
    /** the injected fault, in words (goes into docs/fault-matrix.md) */
    fault: string;
    expect: "rotated" | "failed";
    /** handler config overrides */
    config?: Partial<RotationConfig>;
    /** the servers are found by EC2 tags (default: a DynamoDB fleet table) */
    fleet?: "tag" | "table";
    /** pre-state, before Secrets Manager starts the rotation */
    setup?: (c: ScenarioContext) => Promise<void>;
    /** faults, installed once the rotation has started (so Secrets Manager's own start is not affected) */
    inject?: (c: ScenarioContext) => Promise<void>;
    /** what the operator does besides lifting the fault; "new-rotation": cancel (drop AWSPENDING) and rotate anew */
    repair?: (c: ScenarioContext) => Promise<"new-rotation" | void>;
    /** right before a step invocation (attempt 0 = first try of that step in that round) */
    beforeStep?: (c: ScenarioContext, step: Step, attempt: number, round: number) => Promise<void>;
    /**
     * what server `instanceId` does with the n-th command it receives (n from 0); a promise when a real server
     * (a fleet agent running the real document) answers: the harness waits for it
     */
    server?: (c: ScenarioContext, instanceId: string, n: number) => ServerOutcome | Promise<ServerOutcome>;
    /** a fixed invocation sequence (steps, and "end" for Secrets Manager removing AWSPENDING) instead of the SM model */
    sequence?: (Step | "end")[];
    /** strings a failure alert must contain (besides the failed servers, which are always required) */
    alertMentions?: (c: ScenarioContext) => string[];
    /** extra checks after convergence; a returned string is what the scenario showed (goes into the table) */
    verify?: (c: ScenarioContext, run: RunRecord) => Promise<string | void>;
    /** the step this fault must make fail at least once (a crash scenario whose step never failed proves nothing) */
    failsStep?: Step;
    /**
     * The fault is absorbed (no step fails): why that is right. Required when injected faults fired but no
     * invocation failed, so an absorbed fault is never reported as a retried one.
     */
    absorbed?: string;
    /** stops what the scenario started (real servers, agents); runs whether the scenario passed or not */
    cleanup?: (c: ScenarioContext) => Promise<void>;
}

const direct = () => ({ ...clientConfig(), endpoint: testEnv().moto.url });

export class FaultHarness {
    readonly world: RotationWorld;
    readonly servers = new Map<string, FleetServerState>();
    readonly violations: string[] = [];
    readonly stepErrors: string[] = [];
    /** logins the endpoint refuses (IAM propagation / SES rejecting a key), by user name */
    readonly refusals = new Map<string, number>();
    private readonly iamDirect = new IAMClient(direct());
    private readonly smDirect = new SecretsManagerClient(direct());
    readonly dynamodb = new DynamoDBClient(clientConfig());
    /** crashes armed by the scenario (./crash.ts) */
    readonly crashes = new LambdaCrashes();
    private readonly commandsSeen = new Map<string, number>();
    private readonly answered = new Set<string>();
    /** "late" reports held back; due (dueAt set) once the invocation that waited for them has ended */
    private readonly lateReports: { commandId: string; instanceId: string; dueAt?: number }[] = [];
    /** "late" reports delivered: when (world clock) and after which deadline */
    readonly lateDelivered: { instanceId: string; at: number; dueAt: number }[] = [];
    /** while the checker logs in: the refusal hook must not consume the scenario's refusals */
    private checking = false;
    /** SMTP AUTH verdicts by credential + the IAM/SES state the endpoint decides from */
    private readonly loginVerdicts = new Map<string, string | undefined>();
    /** real SMTP AUTHs the checker made */
    checkerLogins = 0;
    private checkpoints = 0;
    /** set when a failed rotation's SSM command left servers failed (for the alert check) */
    readonly failedServers = new Set<string>();
    /** server answers other than a plain success (a server policy that never bites proves nothing) */
    unusualOutcomes = 0;

    constructor(
        readonly endpoint: SesEndpoint,
        readonly scenario: Scenario,
    ) {
        this.world = new RotationWorld(endpoint, { observationHours: 24, graceDays: 3, fleet: scenario.fleet ?? "table" });
    }

    /** every fault rule the scenario installed, with how often it fired */
    readonly faults: (FaultRule & { applied: number })[] = [];

    get ctx(): ScenarioContext {
        const addFault = (rule: FaultRule) => {
            const active = testEnv().proxy.addFault(rule);
            this.faults.push(active);
            return active;
        };
        return { h: this, world: this.world, proxy: { addFault }, crash: (service, operation) => void this.crashes.arm(service, operation) };
    }

    /** Injected faults (proxy rules and crashes) that fired at least once. */
    firedFaults(): number {
        return this.faults.filter((f) => f.applied > 0).length + this.crashes.rules.filter((r) => r.fired > 0).length;
    }

    /** Faults that never fired (a scenario whose fault did not happen proves nothing). */
    unfiredFaults(): string[] {
        return [...this.faults.filter((f) => f.applied === 0).map((f) => `${f.service}:${f.operation} ${f.kind}`), ...this.crashes.unfired()];
    }

    async setUp(): Promise<this> {
        await this.world.setUp();
        testEnv().proxy.agentMode = true;
        this.endpoint.refuseLogin = (username) => {
            const left = this.refusals.get(username) ?? 0;
            if (left <= 0) return undefined;
            if (this.checking) return "refused-by-test";
            this.refusals.set(username, left === Infinity ? Infinity : left - 1);
            return "refused-by-test";
        };
        const w = this.world;
        for (const [client, service] of [[w.iam, "iam"], [w.secrets, "secretsmanager"], [w.ssm, "ssm"], [w.sns, "sns"], [this.dynamodb, "dynamodb"]] as const) {
            this.crashes.instrument(client as any, service);
        }
        const current = await this.world.value({ stage: "AWSCURRENT" });
        for (const id of this.world.instances.postfix) this.servers.set(id, { instanceId: id, software: "postfix", held: current });
        for (const id of this.world.instances.iis) this.servers.set(id, { instanceId: id, software: "iis", held: current });
        return this;
    }

    tearDown(): void {
        this.endpoint.refuseLogin = undefined;
    }

    /** The handler as the Lambda builds it, with an SMTP check that waits for propagation within a budget. */
    handler(): (event: RotationEvent) => Promise<void> {
        const w = this.world;
        const scannerLog = leakScanner.log("rotation-handler");
        return createRotationHandler(
            {
                iam: w.iam,
                secrets: w.secrets,
                ssm: w.ssm,
                sns: w.sns,
                dynamodb: this.dynamodb,
                smtpCheck: createSmtpCheck({
                    host: this.endpoint.host,
                    port: w.config.smtpPort === 465 ? this.endpoint.implicitTlsPort : this.endpoint.port,
                    tlsMode: w.config.smtpPort === 465 ? "implicit" : "starttls",
                    ca: this.endpoint.ca,
                    budgetMs: 120_000,
                    initialDelayMs: 2_000,
                    now: () => w.clock,
                    sleep: async (ms) => {
                        w.clock += ms;
                    },
                }),
                now: () => new Date(w.clock),
                sleep: async (ms) => {
                    w.clock += ms;
                    await this.answerFleet();
                    await this.check("while setSecret waits for the fleet");
                },
                log: (msg, fields) => {
                    w.logs.push(`${msg} ${JSON.stringify(fields ?? {})}`);
                    scannerLog(msg, fields);
                },
            },
            { ...w.config, ...(this.scenario.config ?? {}) },
        );
    }

    /** Plays the servers: answers every command not answered yet, per the scenario's policy. */
    async answerFleet(): Promise<void> {
        const proxy = testEnv().proxy;
        // A "late" server's report arrives only after the invocation that waited for it has ended: that
        // invocation stopped waiting because its fleet deadline passed (a late report is never terminal before).
        for (const late of this.lateReports.filter((l) => l.dueAt !== undefined)) {
            this.lateReports.splice(this.lateReports.indexOf(late), 1);
            proxy.setInvocation(late.commandId, late.instanceId, { status: "Success", responseCode: 0 });
            this.lateDelivered.push({ instanceId: late.instanceId, at: this.world.clock, dueAt: late.dueAt! });
        }
        for (const { request, command } of this.world.sentCommands()) {
            for (const instanceId of command.InstanceIds ?? []) {
                const key = `${command.CommandId}/${instanceId}`;
                const server = this.servers.get(instanceId);
                if (this.answered.has(key) || !server || server.removed) continue;
                this.answered.add(key);
                const n = this.commandsSeen.get(instanceId) ?? 0;
                this.commandsSeen.set(instanceId, n + 1);
                const outcome = this.repaired ? "success" : ((await this.scenario.server?.(this.ctx, instanceId, n)) ?? "success");
                if (outcome !== "success") this.unusualOutcomes++;
                if (outcome !== "success" && outcome !== "late") this.failedServers.add(instanceId);
                if (outcome === "success" || outcome === "late") {
                    server.held = await this.fetchVersion(request.Parameters.CredentialVersion[0]);
                    if (outcome === "success") proxy.setInvocation(command.CommandId, instanceId, { status: "Success", responseCode: 0 });
                    else this.lateReports.push({ commandId: command.CommandId, instanceId });
                } else if (outcome === "fail") {
                    proxy.setInvocation(command.CommandId, instanceId, { status: "Failed", responseCode: 1, stderr: "update-smtp-credentials: ERROR: postmap failed; previous sasl_passwd restored" });
                } else if (outcome === "timeout") {
                    proxy.setInvocation(command.CommandId, instanceId, { status: "TimedOut", responseCode: -1 });
                } else if (outcome === "undeliverable") {
                    proxy.setInvocation(command.CommandId, instanceId, { status: "Undeliverable", responseCode: -1 });
                }
                // "silent": no report at all
            }
        }
    }

    /** What the document's script does: GetSecretValue by version id (straight from moto). */
    async fetchVersion(versionId: string): Promise<SmtpCredentialValue> {
        const out = await this.smDirect.send(new GetSecretValueCommand({ SecretId: this.world.secretArn, VersionId: versionId }));
        return JSON.parse(out.SecretString!);
    }

    async keys(): Promise<{ id: string; status: string }[]> {
        const out = await this.iamDirect.send(new ListAccessKeysCommand({ UserName: USER }));
        return (out.AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId!, status: k.Status! }));
    }

    /**
     * Does SES accept this credential now? Measured by a real SMTP AUTH against the SES-compatible endpoint
     * (which applies the scenario's refusals without consuming them while the checker logs in).
     */
    async authenticates(cred: SmtpCredentialValue): Promise<string | undefined> {
        this.checking = true;
        try {
            const out = await smtpLogin(this.endpoint, cred.username, cred.password);
            return out.code === 235 ? undefined : `SMTP AUTH as ${cred.username} answered ${out.code} (${out.reason})`;
        } finally {
            this.checking = false;
        }
    }

    async stages(): Promise<Record<string, string[]>> {
        return (await this.smDirect.send(new DescribeSecretCommand({ SecretId: this.world.secretArn }))).VersionIdsToStages ?? {};
    }

    async valueOf(stage: string): Promise<SmtpCredentialValue | undefined> {
        const id = Object.entries(await this.stages()).find(([, s]) => s.includes(stage))?.[0];
        return id ? this.fetchVersion(id) : undefined;
    }

    /** The invariants that must hold at every checkpoint. */
    async check(label: string): Promise<void> {
        this.checkpoints++;
        const keys = await this.keys();
        if (keys.length > 2) this.violations.push(`${label}: ${keys.length} access keys exist (at most 2)`);
        // a real login per distinct credential, unless one was made under exactly the same key state
        const verdict = async (cred: SmtpCredentialValue): Promise<string | undefined> => {
            const key = keys.find((k) => k.id === cred.username);
            const refused = (this.refusals.get(cred.username) ?? 0) > 0;
            const id = `${cred.username}\n${cred.password}\n${key?.status ?? "absent"}\n${refused}`;
            if (!this.loginVerdicts.has(id)) {
                this.checkerLogins++;
                this.loginVerdicts.set(id, await this.authenticates(cred));
            }
            return this.loginVerdicts.get(id);
        };
        for (const s of this.servers.values()) {
            if (s.removed) continue;
            const why = await verdict(s.held);
            if (why) this.violations.push(`${label}: server ${s.instanceId} holds a credential that does not authenticate: ${why}`);
        }
        const current = await this.valueOf("AWSCURRENT");
        const why = current ? await verdict(current) : "no AWSCURRENT value";
        if (why) this.violations.push(`${label}: AWSCURRENT does not authenticate: ${why}`);
    }

    private token = "";
    /** after repair(): faults lifted, every server answers success, SES accepts every key */
    repaired = false;

    private async invoke(step: Step, label: string): Promise<boolean> {
        this.crashes.begin();
        try {
            await this.handler()({ Step: step, SecretId: this.world.secretArn, ClientRequestToken: this.token });
            const died = this.crashes.end();
            // the handler may have caught the crash error (a best-effort notice): the Lambda died all the same
            if (died) this.stepErrors.push(`${step}: the Lambda died right after ${died} took effect`);
            return !died;
        } catch (e) {
            const died = this.crashes.end();
            this.stepErrors.push(`${step}: ${died ? `the Lambda died right after ${died} took effect` : String((e as Error).message ?? e).slice(0, 300)}`);
            return false;
        } finally {
            for (const late of this.lateReports) late.dueAt ??= this.world.clock;
            await this.check(label);
        }
    }

    /** One RotateSecret attempt: the four steps, each retried up to STEP_RETRIES times. True when finished. */
    private async round(round: number): Promise<boolean> {
        for (const step of STEPS) {
            let ok = false;
            for (let attempt = 0; attempt <= STEP_RETRIES && !ok; attempt++) {
                if (!this.repaired) await this.scenario.beforeStep?.(this.ctx, step, attempt, round);
                ok = await this.invoke(step, `after ${step} (round ${round}, attempt ${attempt + 1})`);
            }
            if (!ok) return false;
        }
        await this.world.endRotation(this.token);
        return true;
    }

    /** Runs the rotation the way Secrets Manager drives it; checks invariants around every invocation. */
    async run(): Promise<RunRecord> {
        await this.scenario.setup?.(this.ctx);
        await this.check("before the rotation");
        this.token = await this.world.beginRotation();
        await this.scenario.inject?.(this.ctx);
        let rounds = 0;
        let rotated = false;
        if (this.scenario.sequence) {
            rounds = 1;
            for (const [i, step] of this.scenario.sequence.entries()) {
                if (step === "end") await this.world.endRotation(this.token);
                else await this.invoke(step, `after ${step} (#${i + 1} of the sequence)`);
            }
            rotated = (await this.stages())[this.token]?.includes("AWSCURRENT") ?? false;
        } else {
            for (let round = 1; round <= 2 && !rotated; round++) {
                rounds = round;
                rotated = await this.round(round);
            }
        }
        return { rounds, stepErrors: this.stepErrors.slice(), rotated, violations: this.violations };
    }

    /** The operator fixes the cause (faults lifted, servers and SES healthy); the next RotateSecret re-attempts. */
    async repairAndRetry(): Promise<boolean> {
        testEnv().proxy.clearFaults();
        this.refusals.clear();
        this.repaired = true;
        if ((await this.scenario.repair?.(this.ctx)) === "new-rotation") {
            await this.world.endRotation(this.token);
            this.token = await this.world.beginRotation();
        }
        return this.round(3);
    }

    /** After a successful rotation: let the retirement run its course (observation, deactivate, grace, delete). */
    async converge(): Promise<void> {
        const w = this.world;
        const deps = { iam: w.iam, sns: w.sns, log: leakScanner.log("retirement"), store: secretCredentialReader(w.secrets, w.secretArn) };
        const policy = { observationHours: 24, graceDays: 3 };
        for (const hours of [25, 24 * 3 + 1]) {
            w.clock += hours * 3600 * 1000;
            // every server keeps sending mail with what it holds: that is what IAM's last-used report shows
            for (const s of this.servers.values()) {
                if (!s.removed) testEnv().proxy.setKeyLastUsed(s.held.username, { lastUsedDate: new Date(w.clock - 3600 * 1000), serviceName: "ses", region: SES_REGION });
            }
            await advanceRetirements(deps, { userName: USER, policy, notifyTopicArn: w.topicArn, now: new Date(w.clock) });
            await this.check(`after the retirement ran (+${hours}h)`);
        }
    }

    /** Keys not referenced by any stored version, server, or retirement record. */
    async orphanKeys(): Promise<string[]> {
        const referenced = new Set<string>();
        for (const versionId of Object.keys(await this.stages())) referenced.add((await this.fetchVersion(versionId)).username);
        for (const s of this.servers.values()) if (!s.removed) referenced.add(s.held.username);
        const tags = (await this.iamDirect.send(new ListUserTagsCommand({ UserName: USER }))).Tags ?? [];
        for (const t of tags) if (t.Key!.startsWith(RETIREMENT_TAG_PREFIX)) referenced.add(t.Key!.slice(RETIREMENT_TAG_PREFIX.length));
        return (await this.keys()).map((k) => k.id).filter((id) => !referenced.has(id));
    }

    /** Every notice published to the operators' topic (subject and message). */
    notices(): string[] {
        return publishedMessages().map((m) => `${m.subject}\n${m.message}`);
    }

    /** rotation-failed notices. */
    failureAlerts(): string[] {
        return this.notices().filter((t) => t.includes("rotation-failed"));
    }

    get checkpointCount(): number {
        return this.checkpoints;
    }
}
