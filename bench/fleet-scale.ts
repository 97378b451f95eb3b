/**
 * Fleet scale: full auto-mode rotations against moto (through the proxy) for each fleet size, with tag
 * targeting (moto EC2 instances) and the DynamoDB list, several runs each. Reports per-step handler time,
 * AWS calls by operation, the SSM budget check and how cost grows with N.
 */
import { EC2Client } from "@aws-sdk/client-ec2";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { startSesEndpoint } from "../sandbox/ses-endpoint";
import { BenchAws, CallTimer } from "./aws-env";
import { installSlowFleet } from "./fleet-emulation";
import { createFleetTable, createTaggedInstances, makeServers } from "../sandbox/ec2-fleet";
import type { FleetTarget, ServerSoftware } from "../runtime/fleet-target";
import { awsEquivalentListingPages, createBenchRotator, FailureAlertProbe, probeFailureAlert, forgetBenchDocuments, ROTATION_STEPS, RotationMeasurement, RotationStep, runRotation } from "./rotation-driver";
import { median, timed } from "./stats";

export type Targeting = "tag" | "table";

/** Medians over the runs of one (N, targeting). */
export interface FleetScaleResult {
    n: number;
    targeting: Targeting;
    runs: number;
    /** median handler ms per step and in total */
    stepMs: Record<RotationStep, number>;
    totalMs: number;
    /** median of the client-side time inside SDK calls (emulator + proxy), whole rotation */
    awsWaitMs: number;
    /** median time inside the SMTP AUTH checks (setSecret proves the pending credential before the fan-out, testSecret again) */
    smtpMs: number;
    /** median of (handler time − time inside SDK calls − SMTP checks − fleet emulation): the handler's own work */
    ownMs: number;
    /** virtual poll waits of setSecret (the emulated fleet), median */
    pollWaitMs: number;
    /** AWS calls of the first run by "service:Operation" (identical across runs) */
    calls: Record<string, number>;
    /** SSM calls measured against moto, and as AWS would page the ListCommands listings */
    ssmCalls: number;
    ssmCallsAwsEquivalent: number;
    /** 2·⌈N/50⌉ + 20 */
    ssmBudget: number;
    /** the largest single-step median, ms */
    slowestStepMs: number;
    /** a further rotation with one failing server: did the failure alert reach SNS? */
    failureAlert?: FailureAlertProbe;
}

/** Time to put the fleet into moto (tag: EC2 RunInstances; table: CreateTable + BatchWriteItem). */
export interface FleetSeedTiming {
    n: number;
    targeting: Targeting;
    ms: number;
}

/** The tag names of the bench fleet (the shape EmailServerFleet's tag selector produces). */
export const BENCH_TAGS = { tagKey: "MailFleet", tagValue: "bench", softwareTagKey: "SmtpSoftware" } as const;

/** Half Postfix, half IIS (the fan-out sends per software): `n` moto EC2 instances with the bench fleet's tags. */
async function seedInstances(ec2: EC2Client, n: number): Promise<void> {
    for (const [software, count] of [["postfix", Math.ceil(n / 2)], ["iis", Math.floor(n / 2)]] as [ServerSoftware, number][]) {
        await createTaggedInstances(ec2, count, { [BENCH_TAGS.tagKey]: BENCH_TAGS.tagValue, [BENCH_TAGS.softwareTagKey]: software });
    }
}

export function ssmBudget(n: number): number {
    return 2 * Math.ceil(n / 50) + 20;
}

/**
 * Runs every size and targeting. moto is reset before each (size, targeting) and seeded with only what that
 * targeting uses: tagged EC2 instances for tag targeting; for the DynamoDB list, the table alone (server ids
 * of the right shape, not EC2 instances). Keeping EC2 instances out of the table runs matters: moto adds
 * every EC2 instance to a SendCommand that names InstanceIds without Targets (its target resolution treats
 * "no targets" as "no filter"), which AWS does not do.
 */
export async function measureFleetScale(
    aws: BenchAws,
    opts: { sizes: number[]; runs: (n: number) => number; targetings: Targeting[]; failureProbe: boolean; log: (s: string) => void },
): Promise<{ results: FleetScaleResult[]; seeding: FleetSeedTiming[] }> {
    const results: FleetScaleResult[] = [];
    const seeding: FleetSeedTiming[] = [];
    const ses = await startSesEndpoint({ motoUrl: aws.moto.url, region: aws.region });
    try {
        for (const n of opts.sizes) {
            for (const targeting of opts.targetings) {
                await aws.reset();
                forgetBenchDocuments();
                const cfg = aws.clientConfig();
                const tableName = `bench-fleet-${n}`;
                const seed = await timed(() => (targeting === "tag" ? seedInstances(new EC2Client(cfg), n) : createFleetTable(new DynamoDBClient(cfg), tableName, makeServers(n))));
                seeding.push({ n, targeting, ms: seed.ms });
                opts.log(`fleet: N=${n} ${targeting}: seeded moto in ${(seed.ms / 1000).toFixed(1)} s`);
                const target: FleetTarget = targeting === "tag" ? { kind: "tag", ...BENCH_TAGS } : { kind: "table", tableName };
                const runs: RotationMeasurement[] = [];
                for (let r = 0; r < opts.runs(n); r++) {
                    opts.log(`fleet: N=${n} ${targeting} run ${r + 1}/${opts.runs(n)}`);
                    const rotator = await createBenchRotator(aws, `bench-${targeting}-${n}-${r}`, target);
                    const fleet = installSlowFleet(aws.proxy, aws.moto.url);
                    try {
                        runs.push(await runRotation(aws, rotator, { ses, fleet, timer: new CallTimer(), log: opts.log }));
                    } finally {
                        fleet.uninstall();
                    }
                }
                const result = summarize(n, targeting, runs);
                if (opts.failureProbe) {
                    opts.log(`fleet: N=${n} ${targeting}: rotation with one failing server (failure alert)`);
                    const rotator = await createBenchRotator(aws, `bench-${targeting}-${n}-failing`, target);
                    const fleet = installSlowFleet(aws.proxy, aws.moto.url, { failingServers: 1 });
                    try {
                        result.failureAlert = await probeFailureAlert(aws, rotator, { ses, fleet, log: opts.log });
                    } finally {
                        fleet.uninstall();
                    }
                }
                results.push(result);
            }
        }
    } finally {
        await ses.stop();
    }
    return { results, seeding };
}

function summarize(n: number, targeting: Targeting, runs: RotationMeasurement[]): FleetScaleResult {
    const stepMs = {} as Record<RotationStep, number>;
    for (const s of ROTATION_STEPS) stepMs[s] = median(runs.map((r) => r.steps[s].ms));
    const sumOver = (r: RotationMeasurement, f: (s: RotationMeasurement["steps"][RotationStep]) => number) => ROTATION_STEPS.reduce((a, s) => a + f(r.steps[s]), 0);
    const first = runs[0];
    const calls: Record<string, number> = {};
    for (const s of ROTATION_STEPS) for (const [k, v] of Object.entries(first.steps[s].calls)) calls[k] = (calls[k] ?? 0) + v;
    const ssmCalls = Object.entries(calls).filter(([k]) => k.startsWith("ssm:")).reduce((a, [, v]) => a + v, 0);
    const listings = ROTATION_STEPS.flatMap((s) => first.steps[s].listCommandsResponses);
    return {
        n,
        targeting,
        runs: runs.length,
        stepMs,
        totalMs: median(runs.map((r) => r.totalMs)),
        awsWaitMs: median(runs.map((r) => sumOver(r, (s) => s.awsWaitMs))),
        smtpMs: median(runs.map((r) => sumOver(r, (s) => s.smtpMs))),
        ownMs: median(runs.map((r) => r.totalMs - sumOver(r, (s) => s.awsWaitMs + s.smtpMs + s.emulationMs))),
        pollWaitMs: median(runs.map((r) => r.steps.setSecret.pollWaitMs)),
        calls,
        ssmCalls,
        ssmCallsAwsEquivalent: ssmCalls - listings.length + awsEquivalentListingPages(listings),
        ssmBudget: ssmBudget(n),
        slowestStepMs: Math.max(...ROTATION_STEPS.map((s) => stepMs[s])),
    };
}
