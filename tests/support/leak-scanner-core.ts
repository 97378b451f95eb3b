/**
 * The leak scanner's core (the suite-wide instance, moto sweep and mocha hooks are in leak-scanner.ts): collects everything observable during the test run and fails the run if an SMTP
 * password, an IAM secret access key or a raw Step Functions task token shows up where it must not.
 *
 * What it observes (all of it, for every test, automatically once this file is a mocha root hook plugin):
 *  - every AWS call through the wire proxy: request and response bodies (SSM command parameters and
 *    outputs, SNS Publish messages, DynamoDB items, Step Functions inputs/outputs/histories, ...);
 *  - after each test, straight from moto: every Step Functions execution history (inputs, outputs, task
 *    parameters) and every SNS message moto recorded (including ones Step Functions published itself);
 *  - everything written to stdout/stderr, and every line given to a {@link LeakScanner.log} function;
 *  - Pulumi resource inputs, states and registered outputs recorded by `tests/support/pulumi-mocks.ts`;
 *  - files under directories registered with {@link LeakScanner.watchDirectory} (e.g. a Postfix host dir).
 *
 * Which secrets it knows: IAM secrets from `iam:CreateAccessKey` responses and moto's `/moto-api/data.json`
 * (with the SES SMTP password derived from each for every region), passwords from the credential JSON in the
 * places it legitimately travels, and task tokens from `SendTask*` requests and `.waitForTaskToken` task
 * parameters in execution histories (or registered by the test bridge with {@link LeakScanner.addSecret}).
 *
 * Exemptions are by resource and field (leak-scanner-fields.ts): in the calls where a secret legitimately
 * travels only the one field that must carry it is exempt; the rest of the body is scanned for every kind.
 *
 * Matching: texts are normalised (percent-encoding and JSON \u escapes of token characters undone), split into
 * runs of token characters, and every run is checked for ANY 16-character substring of a known secret (so a
 * truncated, sliced or embedded secret is found too); base64, base64url and hex runs are also decoded once and
 * scanned (hex also re-encoded as base64 at each alignment, for a password's raw bytes printed as hex).
 * Failure messages never print a secret: only its kind, 4 characters and length.
 */
import { createHash } from "crypto";
import * as fsSync from "fs";
import { promises as fs } from "fs";
import * as path from "path";
import type { AwsCall } from "../../sandbox/aws-proxy";
import { deriveSmtpPassword } from "../../runtime/smtp-password";
import { splitAllowedFields } from "./leak-scanner-fields";
import { Matcher, normalise, RUN, secretsIn, windowsOf } from "./leak-scanner-match";

export type SecretKind = "iam-secret-access-key" | "smtp-password" | "task-token";

/**
 * The only AWS API places ("service:Operation request|response") where each kind of secret may appear.
 * Everything else (logs, SSM parameters, SNS messages, other DynamoDB calls, Pulumi state, files) is a leak.
 * Step Functions histories are handled separately: a task token may appear only inside the parameters of a
 * `.waitForTaskToken` TaskScheduled event (Step Functions itself records it there).
 */
export const LEGITIMATE_AWS_PLACES: Readonly<Record<SecretKind, readonly string[]>> = {
    // IAM hands the secret out exactly once; nobody may send it anywhere. STS hands out an assumed role's
    // temporary secret the same way (providers running under the stack's aws:assumeRoles).
    "iam-secret-access-key": ["iam:CreateAccessKey response", "sts:AssumeRole response"],
    // The credential is written to, and read by the servers from, the secret / SecureString parameter only.
    "smtp-password": [
        "secretsmanager:CreateSecret request",
        "secretsmanager:PutSecretValue request",
        "secretsmanager:GetSecretValue response",
        "ssm:PutParameter request",
        "ssm:GetParameter response",
        "ssm:GetParameters response",
        // manual mode's CreateCredential reads the history (decrypted) to find each version's access key id
        "ssm:GetParameterHistory response",
    ],
    // The confirmation API completes the task; the opaque-id -> token mapping lives in DynamoDB.
    "task-token": [
        "states:SendTaskSuccess request",
        "states:SendTaskFailure request",
        "states:SendTaskHeartbeat request",
        // a `lambda:invoke.waitForTaskToken` task hands its token to the function in the payload
        "lambda:POST /2015-03-31/functions/*/invocations request",
        "dynamodb:PutItem request",
        "dynamodb:UpdateItem request",
        "dynamodb:GetItem response",
        "dynamodb:UpdateItem response",
    ],
};

/** LEGITIMATE_AWS_PLACES as matchers (`*` = one path segment). */
const LEGITIMATE_PLACE_MATCHERS: ReadonlyArray<[SecretKind, RegExp]> = (Object.keys(LEGITIMATE_AWS_PLACES) as SecretKind[]).flatMap((kind) =>
    LEGITIMATE_AWS_PLACES[kind].map((place) => [kind, new RegExp(`^${place.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/ ]+")}$`)] as [SecretKind, RegExp]),
);

/** The secret kinds that may appear at `where` ("service:Operation request|response"). */
export function legitimateKindsAt(where: string): Set<SecretKind> {
    return new Set(LEGITIMATE_PLACE_MATCHERS.filter(([, re]) => re.test(where)).map(([kind]) => kind));
}

/** Regions for which every IAM secret seen is also turned into an SES SMTP password to look for. */
const SES_REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-7", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2", "eu-west-1", "eu-west-2",
    "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1", "me-central-1", "mx-central-1",
    "sa-east-1", "us-gov-west-1", "us-gov-east-1", "cn-north-1", "cn-northwest-1",
];

const MIN_SECRET_LENGTH = 20;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const UUID_ONLY = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_RETAINED_CHARS = 64 * 1024 * 1024;

/** One leak: never carries the secret itself. */
export interface LeakFinding {
    kind: SecretKind;
    /** 4 characters and the length of the secret, enough to tell two findings apart */
    hint: string;
    /** where it was seen, e.g. "aws sns:Publish request", "log", "pulumi aws:lambda/function:Function fn state" */
    where: string;
    /** the test during which it was seen */
    test: string;
    /** a short excerpt around the hit with the secret replaced by «kind» */
    excerpt: string;
}

interface Observation {
    hash: string;
    where: string;
    text: string;
    allow: ReadonlySet<SecretKind>;
    test: string;
    /** secrets[0..checked) have been looked for in this text */
    checked: number;
}

const NONE: ReadonlySet<SecretKind> = new Set();

function hintOf(secret: string): string {
    return `${secret.slice(0, 4)}…(${secret.length} chars)`;
}

/** Collects observations and known secrets; {@link scan} turns hits outside the legitimate places into findings. */
export class LeakScanner {
    private readonly secrets: { value: string; kind: SecretKind }[] = [];
    private readonly known = new Map<string, SecretKind>();
    private readonly derivedFrom = new Set<string>();
    /** parameter keys that state machine definitions fill from `$$.Task.Token` */
    private readonly tokenKeys = new Set<string>();
    private observations: Observation[] = [];
    /** hashes of the retained observations: the same text seen again at the same place is kept once */
    private readonly retainedHashes = new Set<string>();
    private retainedChars = 0;
    private readonly findingKeys = new Set<string>();
    readonly findings: LeakFinding[] = [];
    readonly watchedDirectories = new Map<string, ReadonlySet<string>>();
    /** files a test made on purpose to hold a secret of one kind (e.g. an AWS shared credentials file), by absolute path */
    private readonly secretFiles = new Map<string, ReadonlySet<SecretKind>>();
    /** counts for the closing summary */
    readonly stats = { observations: 0, chars: 0, byChannel: {} as Record<string, number> };
    /** title of the running test, stamped on observations */
    currentTest = "(outside a test)";

    /** Registers a secret to look for (the test bridge registers task tokens it handles, for example). */
    addSecret(kind: SecretKind, value: string): void {
        if (typeof value !== "string" || value.length < MIN_SECRET_LENGTH || this.known.has(value)) return;
        this.known.set(value, kind);
        this.secrets.push({ value, kind });
        if (kind === "iam-secret-access-key" && !this.derivedFrom.has(value)) {
            this.derivedFrom.add(value);
            for (const region of SES_REGIONS) this.addSecret("smtp-password", deriveSmtpPassword(value, region));
        }
    }

    /** How many secrets of each kind are known. */
    secretCounts(): Record<SecretKind, number> {
        const out: Record<SecretKind, number> = { "iam-secret-access-key": 0, "smtp-password": 0, "task-token": 0 };
        for (const s of this.secrets) out[s.kind]++;
        return out;
    }

    /** Records text seen at `where`; `allow` lists the secret kinds that legitimately appear there. */
    observe(where: string, text: string, allow: ReadonlySet<SecretKind> = NONE): void {
        if (!text) return;
        const hash = createHash("sha1").update(where).update("\0").update([...allow].join(",")).update("\0").update(text).digest("base64");
        if (this.retainedHashes.has(hash)) return;
        this.retainedHashes.add(hash);
        const channel = where.split(" ")[0];
        this.stats.observations++;
        this.stats.chars += text.length;
        this.stats.byChannel[channel] = (this.stats.byChannel[channel] ?? 0) + 1;
        this.observations.push({ hash, where, text, allow, test: this.currentTest, checked: 0 });
        this.retainedChars += text.length;
        while (this.retainedChars > MAX_RETAINED_CHARS && this.observations.length > 1) {
            const dropped = this.observations.shift()!;
            this.retainedChars -= dropped.text.length;
            this.retainedHashes.delete(dropped.hash);
        }
    }

    /** A `log(msg, fields)` function (the shape the runtime handlers take) whose lines are observed. */
    log(channel = "log"): (msg: string, fields?: object) => void {
        return (msg, fields) => this.observe(`log ${channel}`, fields === undefined ? String(msg) : `${msg} ${JSON.stringify(fields)}`);
    }

    /** Observes one proxied AWS call, harvesting secrets from the places they legitimately travel. */
    observeAwsCall(call: AwsCall): void {
        const place = `${call.service}:${call.operation}`;
        if (place === "iam:CreateAccessKey") {
            const m = /<SecretAccessKey>([^<]+)<\/SecretAccessKey>/.exec(call.responseBody);
            if (m) this.addSecret("iam-secret-access-key", m[1]);
        }
        if (/^states:SendTask(Success|Failure|Heartbeat)$/.test(place)) {
            try {
                this.addSecret("task-token", JSON.parse(call.requestBody).taskToken);
            } catch {
                /* not JSON: nothing to harvest */
            }
        }
        if (/^states:(Create|Update)StateMachine$/.test(place)) {
            try {
                this.learnDefinition(JSON.parse(call.requestBody).definition);
            } catch {
                /* not JSON */
            }
        }
        for (const [direction, text] of [["request", call.requestBody], ["response", call.responseBody]] as const) {
            const where = `${place} ${direction}`;
            if (this.observeFields(`aws ${where}`, where, text)) continue;
            const allow = legitimateKindsAt(where);
            if (allow.has("smtp-password")) this.harvestPasswords(text);
            if (place === "states:GetExecutionHistory" && direction === "response" && call.status === 200) {
                this.observeExecutionHistory(`aws ${where}`, text);
            } else {
                this.observe(`aws ${where}`, text, allow);
            }
        }
    }

    /**
     * Observes `text` seen at `place` field by field if the place has a field rule (leak-scanner-fields.ts):
     * the exempt fields with their kind allowed (passwords there are learned), the rest with nothing allowed.
     */
    observeFields(where: string, place: string, text: string): boolean {
        const split = splitAllowedFields(place, text);
        if (!split) return false;
        for (const a of split.allowed) {
            if (a.kind === "smtp-password") this.harvestPasswords(a.text);
            this.observe(`${where} (${a.field})`, a.text, new Set([a.kind]));
        }
        this.observe(where, split.rest);
        return true;
    }

    /**
     * Observes a GetExecutionHistory answer: task tokens in `.waitForTaskToken` TaskScheduled parameters are
     * harvested and allowed there (and only there); everything else in the history is scanned for all kinds.
     */
    observeExecutionHistory(where: string, text: string): void {
        let json: any;
        try {
            json = JSON.parse(text);
        } catch {
            return this.observe(where, text);
        }
        for (const event of json.events ?? []) {
            const details = event.taskScheduledEventDetails;
            if (details && /waitForTaskToken/.test(String(details.resource ?? ""))) {
                this.harvestTokens(details.parameters);
                this.observe(`${where} (waitForTaskToken parameters)`, String(details.parameters ?? ""), new Set(["task-token"]));
                details.parameters = "(observed separately)";
            }
        }
        this.observe(where, JSON.stringify(json));
    }

    /** Observes a Pulumi resource registration as recorded under mocks. */
    observePulumiResource(r: { type: string; name: string; inputs?: unknown; state?: unknown; registeredOutputs?: unknown }): void {
        for (const part of ["inputs", "state", "registeredOutputs"] as const) {
            if (r[part] !== undefined) this.observe(`pulumi ${r.type} ${r.name} ${part}`, JSON.stringify(r[part]));
        }
    }

    /**
     * Registers a directory (e.g. a Postfix host dir) whose files are read at the end of each test.
     * `allowPasswordIn` lists file names (basenames) that must hold the live SMTP password (sasl_passwd ...).
     */
    watchDirectory(dir: string, allowPasswordIn: string[] = []): void {
        this.watchedDirectories.set(path.resolve(dir), new Set(allowPasswordIn));
    }

    /**
     * Declares one file as the legitimate place of secrets of `kinds` (e.g. the AWS shared credentials file a test
     * writes for a profile, which holds that profile's IAM secret key as ~/.aws/credentials does). Every other file,
     * and every other kind in this one, is still a finding.
     */
    allowSecretsInFile(file: string, kinds: SecretKind[]): void {
        this.secretFiles.set(path.resolve(file), new Set(kinds));
    }

    /** What a file may hold: the SMTP password in a server's password map (by name), or what allowSecretsInFile declared. */
    private fileAllowance(file: string, passwordFile: boolean): ReadonlySet<SecretKind> {
        const declared = this.secretFiles.get(path.resolve(file));
        if (!passwordFile) return declared ?? NONE;
        return new Set<SecretKind>(["smtp-password", ...(declared ?? [])]);
    }

    /** Reads every regular file under `dir` now (call before a test deletes it). */
    async observeDirectory(dir: string, allowPasswordIn: ReadonlySet<string> = NONE as ReadonlySet<any>): Promise<number> {
        let files = 0;
        const walk = async (d: string): Promise<void> => {
            let entries: import("fs").Dirent[];
            try {
                entries = await fs.readdir(d, { withFileTypes: true });
            } catch {
                return; // gone or unreadable: nothing left there
            }
            for (const e of entries) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) await walk(p);
                else if (e.isFile()) {
                    const stat = await fs.stat(p).catch(() => undefined);
                    if (!stat || stat.size > 8 * 1024 * 1024) continue;
                    const text = await fs.readFile(p, "latin1").catch(() => "");
                    files++;
                    this.observe(`file ${p}`, text, this.fileAllowance(p, allowPasswordIn.has(e.name)));
                }
            }
        };
        await walk(path.resolve(dir));
        return files;
    }

    /** Reads every regular file under `dir` now, synchronously (right before something removes it). */
    observeDirectorySync(dir: string, allowPasswordIn: readonly string[] = []): number {
        let files = 0;
        const walk = (d: string): void => {
            let entries: import("fs").Dirent[];
            try {
                entries = fsSync.readdirSync(d, { withFileTypes: true });
            } catch {
                return; // gone or unreadable: nothing left there
            }
            for (const e of entries) {
                const p = path.join(d, e.name);
                if (e.isDirectory()) walk(p);
                else if (e.isFile()) {
                    try {
                        if (fsSync.statSync(p).size > 8 * 1024 * 1024) continue;
                        const text = fsSync.readFileSync(p, "latin1");
                        files++;
                        this.observe(`file ${p}`, text, this.fileAllowance(p, allowPasswordIn.includes(e.name)));
                    } catch {
                        /* vanished meanwhile */
                    }
                }
            }
        };
        walk(path.resolve(dir));
        return files;
    }

    /** Looks for every known secret in every retained observation not yet checked against it. */
    scan(): LeakFinding[] {
        const fresh: LeakFinding[] = [];
        const matchers = new Map<number, Matcher<SecretKind>>();
        for (const obs of this.observations) {
            if (obs.checked >= this.secrets.length) continue;
            let m: Matcher<SecretKind> | undefined = matchers.get(obs.checked);
            if (!m) {
                const byValue = new Map(this.secrets.slice(obs.checked).map((s) => [s.value, s.kind] as const));
                m = { byValue, windows: windowsOf(byValue.keys()) };
                matchers.set(obs.checked, m);
            }
            obs.checked = this.secrets.length;
            for (const secret of secretsIn(obs.text, m)) {
                const kind = m.byValue.get(secret)!;
                if (obs.allow.has(kind)) continue;
                const key = `${kind}|${secret}|${obs.where}`;
                if (this.findingKeys.has(key)) continue;
                this.findingKeys.add(key);
                fresh.push({ kind, hint: hintOf(secret), where: obs.where, test: obs.test, excerpt: excerptOf(obs.text, secret, kind) });
            }
        }
        this.findings.push(...fresh);
        return fresh;
    }

    /** A readable report of all findings (no secret in it). */
    report(findings: LeakFinding[] = this.findings): string {
        return findings.map((f) => `- ${f.kind} ${f.hint} in ${f.where}\n    during: ${f.test}\n    excerpt: ${f.excerpt}`).join("\n");
    }

    private harvestPasswords(text: string): void {
        for (const m of normalise(text).matchAll(/password\\*"\s*:\s*\\*"([A-Za-z0-9+/=]{20,})/gi)) this.addSecret("smtp-password", m[1]);
    }

    /** Learns, from a state machine definition, the parameter keys that carry `$$.Task.Token`. */
    learnDefinition(definition: unknown): void {
        let value = definition;
        if (typeof value === "string") {
            try {
                value = JSON.parse(value);
            } catch {
                return;
            }
        }
        const visit = (v: unknown): void => {
            if (Array.isArray(v)) v.forEach(visit);
            else if (v && typeof v === "object") {
                for (const [k, x] of Object.entries(v)) {
                    if (k.endsWith(".$") && typeof x === "string" && x.includes("$$.Task.Token")) this.tokenKeys.add(k.slice(0, -2));
                    visit(x);
                }
            }
        };
        visit(value);
    }

    /**
     * Task tokens in task parameters: strings under a key that mentions "token" or that a definition fills
     * from `$$.Task.Token`. A string built around the token (States.Format) contributes its uuid-shaped parts.
     */
    private harvestTokens(parameters: unknown): void {
        let value: unknown = parameters;
        if (typeof value === "string") {
            try {
                value = JSON.parse(value);
            } catch {
                return;
            }
        }
        const visit = (v: unknown, key: string): void => {
            if (typeof v === "string" && (/token/i.test(key) || this.tokenKeys.has(key))) {
                const uuids = v.match(UUID) ?? [];
                if (uuids.length && uuids[0] !== v) uuids.forEach((u) => this.addSecret("task-token", u));
                else this.addSecret("task-token", v);
            }
            else if (Array.isArray(v)) v.forEach((x) => visit(x, key));
            else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) visit(x, k);
        };
        visit(value, "");
    }
}

/**
 * ±60 characters around the hit, the secret replaced by «kind»; any other long token run (another secret, or
 * part of one cut at the excerpt's edge) is masked too, except access key ids and uuids.
 */
function excerptOf(text: string, secret: string, kind: SecretKind): string {
    const norm = normalise(text);
    const at = Math.max(0, norm.indexOf(secret));
    const around = norm.slice(Math.max(0, at - 60), at + secret.length + 60).split(secret).join("\u0000");
    const masked = around.replace(RUN, (run) => (/^AKIA[A-Z0-9]{12,}$/.test(run) || UUID_ONLY.test(run) ? run : "«masked»"));
    return JSON.stringify(masked.split("\u0000").join(`«${kind}»`));
}
