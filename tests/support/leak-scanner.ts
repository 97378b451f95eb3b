/**
 * The suite-wide leak check (a mocha root hook plugin listed in `.mocharc.json` after `hooks.ts`).
 *
 * One {@link leakScanner} observes the whole run (see leak-scanner-core.ts for what and how):
 *  - it taps the wire proxy's call record (every request/response, before tests reset it);
 *  - it tees stdout/stderr;
 *  - after each test it sweeps moto directly (not through the proxy, so call counts stay untouched):
 *    IAM secrets from `/moto-api/data.json`, SNS messages moto recorded, every Step Functions execution
 *    history, and DynamoDB items (a task token may live there: the confirmation id -> token mapping);
 *  - after each test it collects the Pulumi registrations recorded by `pulumi-mocks.ts` (if loaded) and the
 *    files under watched directories;
 *  - it tees the stdout/stderr of every child process started with spawn/exec/execFile/fork (the demo, archive
 *    runs, fleet agents, scripts) as the bytes arrive;
 *  - it registers every directory made with fs.mkdtemp* during the run (the tests' temp roots) and reads every
 *    file under them after each test and right before an fs.rm/rmSync removes them;
 *  - the root `afterAll` fails the run, listing every finding (never the secret), if anything leaked, and also
 *    if a sweep failed (a sweep that did not look proves nothing).
 *
 * Tests use: `scannedLogger("name")` (or `leakScanner.log("name")`) as the `log` dependency of the code under test,
 * `leakScanner.watchDirectory(dir, ["sasl_passwd", ...])` for a server's files, `leakScanner.observe(where, text)`
 * for anything else they see (an HTML page, an email body), `leakScanner.addSecret("task-token", t)` for
 * tokens handled outside the proxy.
 */
import * as path from "path";
import fsSync = require("fs");
import * as childProcess from "child_process";
import type { AwsCall, AwsProxy } from "../../sandbox/aws-proxy";
import { testEnv } from "./hooks";
import { motoData } from "../../sandbox/moto";
import { LeakScanner, SecretKind } from "./leak-scanner-core";

export * from "./leak-scanner-core";

/** The scanner that watches the whole test run. */
export const leakScanner = new LeakScanner();

const MAX_EXECUTIONS_PER_SWEEP = 5000;
const MAX_ITEMS_PER_TABLE = 20000;
export const sweepProblems: string[] = [];
/** file names that must hold the live SMTP password wherever they are (a server's Postfix map and its db) */
const PASSWORD_FILES = ["sasl_passwd", "sasl_passwd.db"];
const tapTargets = new WeakMap<AwsProxy, LeakScanner>();

/** Taps a proxy's call record: every call it records is also observed by `scanner` (re-tapping switches scanner). */
export function tapProxy(proxy: AwsProxy, scanner: LeakScanner = leakScanner): void {
    const patched = tapTargets.has(proxy);
    tapTargets.set(proxy, scanner);
    if (patched) return;
    Object.defineProperty(proxy.calls, "push", {
        configurable: true,
        writable: true,
        value(this: AwsCall[], ...items: AwsCall[]): number {
            for (const c of items) {
                try {
                    tapTargets.get(proxy)?.observeAwsCall(c);
                } catch (e) {
                    // observing must never break the proxy; the problem is reported at the end of the run
                    sweepProblems.push(`observing ${c.service}:${c.operation}: ${String(e).slice(0, 200)}`);
                }
            }
            return Array.prototype.push.apply(this, items);
        },
    });
}

/**
 * Who observes child-process output and temp-root files about to be removed (tests/leak-check.test.ts points it
 * at a private scanner for its planted leaks).
 */
export const liveObservations: { scanner: LeakScanner } = { scanner: leakScanner };

/**
 * The `log` dependency for code under test whose lines nobody asserts on: every line is observed by the live
 * scanner ({@link liveObservations}, looked up per line, so a planted-leak test can point it at a private one).
 * Use it instead of a silent logger (`() => undefined`, `silentLogger`), which would hide a handler's logs.
 */
export function scannedLogger(channel: string): (msg: string, fields?: object) => void {
    return (msg, fields) => liveObservations.scanner.log(channel)(msg, fields);
}

let childrenTeed = false;
/** Every child process's stdout/stderr, observed chunk by chunk without changing how its reader consumes it. */
function teeChildProcesses(): void {
    if (childrenTeed) return;
    childrenTeed = true;
    const proto = (childProcess as any).ChildProcess.prototype;
    const spawn = proto.spawn;
    proto.spawn = function (this: childProcess.ChildProcess, options: { file?: string }, ...rest: unknown[]) {
        const out = spawn.call(this, options, ...rest);
        const name = path.basename(String(options?.file ?? "child"));
        // `postmap -q <relay host> <password map>` answers with the map's entry: a test reading a server's password map
        // back sees the live SMTP password there, as in the map file itself (PASSWORD_FILES). Nothing else is exempt.
        const mapLookup = name === "postmap" && ((options as { args?: string[] })?.args ?? []).includes("-q");
        for (const [channel, stream] of [["stdout", this.stdout], ["stderr", this.stderr]] as const) {
            if (!stream) continue;
            const push = stream.push;
            const allow: ReadonlySet<SecretKind> = mapLookup && channel === "stdout" ? new Set<SecretKind>(["smtp-password"]) : new Set<SecretKind>();
            (stream as any).push = function (chunk: any, ...more: any[]) {
                if (chunk !== null && chunk !== undefined) liveObservations.scanner.observe(`child ${name} ${channel}`, typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"), allow);
                return push.call(this, chunk, ...more);
            };
        }
        return out;
    };
}

/** Directories made with fs.mkdtemp* during the run: their files are read after each test and before removal. */
export const tempRoots = new Set<string>();
let tempTracked = false;
function trackTempRoots(): void {
    if (tempTracked) return;
    tempTracked = true;
    const mkdtempSync = fsSync.mkdtempSync;
    (fsSync as any).mkdtempSync = (...a: any[]) => {
        const dir = (mkdtempSync as any)(...a);
        tempRoots.add(path.resolve(String(dir)));
        return dir;
    };
    const mkdtemp = fsSync.promises.mkdtemp;
    (fsSync.promises as any).mkdtemp = async (...a: any[]) => {
        const dir = await (mkdtemp as any)(...a);
        tempRoots.add(path.resolve(String(dir)));
        return dir;
    };
    const inRoot = (p: unknown): boolean => typeof p === "string" && [...tempRoots].some((r) => path.resolve(p) === r || path.resolve(p).startsWith(r + path.sep));
    const rmSync = fsSync.rmSync;
    (fsSync as any).rmSync = (p: any, ...a: any[]) => {
        if (inRoot(p)) liveObservations.scanner.observeDirectorySync(String(p), PASSWORD_FILES);
        return (rmSync as any)(p, ...a);
    };
    const rm = fsSync.promises.rm;
    (fsSync.promises as any).rm = async (p: any, ...a: any[]) => {
        if (inRoot(p)) liveObservations.scanner.observeDirectorySync(String(p), PASSWORD_FILES);
        return (rm as any)(p, ...a);
    };
}

let consoleTeed = false;
function teeConsole(): void {
    if (consoleTeed) return;
    consoleTeed = true;
    for (const [name, stream] of [["stdout", process.stdout], ["stderr", process.stderr]] as const) {
        const write = stream.write.bind(stream) as (...a: any[]) => boolean;
        (stream as any).write = (chunk: any, ...rest: any[]) => {
            leakScanner.observe(`log ${name}`, typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
            return write(chunk, ...rest);
        };
    }
}

async function motoCall(motoUrl: string, service: "states" | "dynamodb", target: string, region: string, body: object): Promise<any> {
    const res = await fetch(`${motoUrl}/`, {
        method: "POST",
        headers: {
            "content-type": "application/x-amz-json-1.0",
            "x-amz-target": target,
            authorization: `AWS4-HMAC-SHA256 Credential=AKIALEAKSCANNER0/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=x`,
        },
        body: JSON.stringify(body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${target}: ${res.status} ${text.slice(0, 200)}`);
    return { text, json: JSON.parse(text) };
}

/** A resource deleted between moto's data.json and the call is no problem; any other failure is. */
const goneOrThrow = (e: unknown): undefined => {
    if (/ResourceNotFound|DoesNotExist|NotFound/.test(String(e))) return undefined;
    throw e;
};

const regionOfArn = (arn: string): string => String(arn).split(":")[3] || "us-east-1";

/**
 * Reads moto's state directly: learns every IAM secret (and its SMTP passwords), observes every SNS message,
 * Step Functions execution history and DynamoDB item. Returns what it swept.
 */
export async function sweepMoto(motoUrl: string, scanner: LeakScanner = leakScanner): Promise<{ executions: number; messages: number; items: number }> {
    const data = await motoData(motoUrl);
    for (const key of data?.iam?.AccessKey ?? []) scanner.addSecret("iam-secret-access-key", key.secret_access_key);

    let messages = 0;
    for (const topic of data?.sns?.Topic ?? []) {
        for (const n of topic.sent_notifications ?? []) {
            messages++;
            scanner.observe(`moto sns message on ${topic.name}`, JSON.stringify(n));
        }
    }

    let executions = 0;
    for (const m of data?.stepfunctions?.StateMachine ?? []) scanner.learnDefinition(m.definition);
    const machines = new Set<string>((data?.stepfunctions?.StateMachine ?? []).map((m: any) => m.arn).filter((arn: unknown) => typeof arn === "string"));
    for (const arn of machines) {
        let nextToken: string | undefined;
        do {
            const page = await motoCall(motoUrl, "states", "AWSStepFunctions.ListExecutions", regionOfArn(arn), { stateMachineArn: arn, maxResults: 1000, nextToken }).catch(goneOrThrow);
            if (!page) break;
            for (const ex of page.json.executions ?? []) {
                if (++executions > MAX_EXECUTIONS_PER_SWEEP) break;
                let historyToken: string | undefined;
                do {
                    const h = await motoCall(motoUrl, "states", "AWSStepFunctions.GetExecutionHistory", regionOfArn(arn), { executionArn: ex.executionArn, maxResults: 1000, nextToken: historyToken });
                    scanner.observeExecutionHistory(`moto sfn history ${ex.name}`, h.text);
                    historyToken = h.json.nextToken;
                } while (historyToken);
            }
            nextToken = page.json.nextToken;
        } while (nextToken && executions <= MAX_EXECUTIONS_PER_SWEEP);
    }

    let items = 0;
    const tables = new Map<string, string>(
        (data?.dynamodb?.Table ?? []).filter((t: any) => typeof t.name === "string" && typeof t.region_name === "string").map((t: any) => [`${t.region_name}/${t.name}`, t.region_name]),
    );
    for (const [id, region] of tables) {
        const name = id.slice(region.length + 1);
        let start: any;
        let tableItems = 0;
        do {
            const page = await motoCall(motoUrl, "dynamodb", "DynamoDB_20120810.Scan", region, { TableName: name, ExclusiveStartKey: start }).catch(goneOrThrow);
            if (!page) break;
            tableItems += page.json.Items?.length ?? 0;
            // The confirmation table maps opaque ids to task tokens: only its token attributes may hold one.
            scanner.observeFields(`moto dynamodb items of ${name}`, "moto dynamodb items", page.text);
            start = page.json.LastEvaluatedKey;
        } while (start && tableItems < MAX_ITEMS_PER_TABLE);
        items += tableItems;
    }
    return { executions, messages, items };
}

/** Observes the Pulumi registrations pulumi-mocks.ts recorded, if a Pulumi test loaded it. */
function observePulumiRecords(): void {
    const mod = require.cache[path.join(__dirname, "pulumi-mocks.ts")] ?? require.cache[path.join(__dirname, "pulumi-mocks.js")];
    const recorded = mod?.exports?.recorded as undefined | (() => any[]);
    if (!recorded) return;
    for (const r of recorded()) leakScanner.observePulumiResource(r);
}

function tapHarnessProxy(): void {
    try {
        tapProxy(testEnv().proxy);
    } catch {
        /* harness not started yet */
    }
}

/** Fails the run on any finding, and on any sweep that failed (a sweep that did not look proves nothing). */
export function verdict(scanner: LeakScanner, problems: readonly string[]): void {
    if (scanner.findings.length) {
        throw new Error(`secrets leaked (${scanner.findings.length}):\n${scanner.report()}`);
    }
    if (problems.length) {
        throw new Error(`the leak sweep failed ${problems.length} time(s), so parts of the run were not looked at:\n${problems.slice(0, 10).join("\n")}`);
    }
}

/** Root hooks: tap, sweep after each test, fail the run at the end on any finding. */
export const mochaHooks = {
    beforeAll(): void {
        teeConsole();
        teeChildProcesses();
        trackTempRoots();
        tapHarnessProxy();
    },
    beforeEach(this: Mocha.Context): void {
        tapHarnessProxy();
        leakScanner.currentTest = this.currentTest?.fullTitle() ?? "(unknown test)";
    },
    async afterEach(this: Mocha.Context): Promise<void> {
        this.timeout(300000);
        try {
            await sweepMoto(testEnv().moto.url);
        } catch (e) {
            sweepProblems.push(`${leakScanner.currentTest}: ${String(e).slice(0, 200)}`);
        }
        observePulumiRecords();
        for (const [dir, allowed] of leakScanner.watchedDirectories) await leakScanner.observeDirectory(dir, allowed);
        for (const dir of tempRoots) {
            if (fsSync.existsSync(dir)) leakScanner.observeDirectorySync(dir, PASSWORD_FILES);
            else tempRoots.delete(dir);
        }
        leakScanner.scan();
        leakScanner.currentTest = "(between tests)";
    },
    afterAll(): void {
        leakScanner.scan();
        const s = leakScanner.stats;
        const secrets = leakScanner.secretCounts();
        process.stdout.write(
            `\nleak scan: ${s.observations} observations (${Object.entries(s.byChannel).map(([k, v]) => `${k} ${v}`).join(", ")}), ` +
                `${(s.chars / 1e6).toFixed(1)} MB, secrets known: ${Object.entries(secrets).map(([k, v]) => `${v} ${k}`).join(", ")}; ` +
                `${leakScanner.findings.length} finding(s)` +
                (sweepProblems.length ? `; moto sweep problems: ${sweepProblems.length} (first: ${sweepProblems[0]})` : "") +
                "\n",
        );
        verdict(leakScanner, sweepProblems);
    },
};
