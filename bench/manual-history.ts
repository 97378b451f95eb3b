/**
 * Manual mode end to end at small N, to measure what the in-process fan-out cannot show: the emitted
 * CredentialRotation and ManualConfirmation definitions executed by moto's Step Functions interpreter
 * (derived from LocalStack's, it emits AWS's history event types), Lambda tasks answered in-process by the
 * real handlers through the test bridge, every owner confirming through the real confirmation API as soon as
 * the mail arrives (tests/support/manual-rig.ts, reused as is, on the test harness's own moto + proxy).
 * Measured: execution history events of the parent (Standard workflows stop at 25,000 events) and of one
 * child, run time, status. The growth per server gives the fleet size at which the parent's history fills up.
 */
import { resetAws, mochaHooks } from "../tests/support/hooks";
import { ManualRig, serverList } from "../tests/support/manual-rig";
import { DEFAULT_MAX_CONCURRENCY } from "../components/manual/definitions";
import { linearFit } from "./stats";

/** AWS Step Functions: maximum execution history size (events) of a Standard workflow execution. */
export const STANDARD_HISTORY_EVENT_LIMIT = 25_000;

export interface ManualHistoryResult {
    n: number;
    status: string;
    /** history events of the CredentialRotation execution */
    parentEvents: number;
    /** history events of one ManualConfirmation execution */
    childEvents: number;
    ms: number;
    maxConcurrency: number;
    pageSize: number;
}

export interface ManualHistorySummary {
    runs: ManualHistoryResult[];
    /** parent history events ≈ fixed + perServer·N (least squares) */
    perServer?: number;
    fixed?: number;
    /** N at which the parent's history would reach 25,000 events */
    maxServersBeforeHistoryLimit?: number;
}

export async function measureManualHistory(opts: { sizes: number[]; log: (s: string) => void }): Promise<ManualHistorySummary> {
    const pageSize = 100;
    const runs: ManualHistoryResult[] = [];
    await mochaHooks.beforeAll.call({ timeout: () => undefined } as any);
    try {
        for (const n of opts.sizes) {
            await resetAws();
            const rig = await new ManualRig({ servers: serverList(n), maxConcurrency: DEFAULT_MAX_CONCURRENCY, pageSize, graceSeconds: 1 }).setUp();
            try {
                const owners = rig.ownersAnswer(() => "confirm");
                const t0 = performance.now();
                const started = await rig.startRotation({ requestId: `bench-${n}` });
                const done = await rig.finished(started.executionArn, 600_000);
                const ms = performance.now() - t0;
                await owners.stop();
                const parentEvents = (await rig.history(started.executionArn)).length;
                const child = (await rig.executions()).find((e) => e.executionArn.includes(":ManualConfirmation:"));
                const childEvents = child ? (await rig.history(child.executionArn)).length : 0;
                runs.push({ n, status: done.status ?? "unknown", parentEvents, childEvents, ms, maxConcurrency: DEFAULT_MAX_CONCURRENCY, pageSize });
                opts.log(`manual e2e: N=${n}: ${done.status}, parent history ${parentEvents} events, child ${childEvents}, ${(ms / 1000).toFixed(1)} s`);
            } finally {
                await rig.tearDown();
            }
        }
    } finally {
        await mochaHooks.afterAll();
    }
    const fit = linearFit(runs.map((r) => ({ n: r.n, y: r.parentEvents })));
    return {
        runs,
        ...(fit ? { perServer: fit.slope, fixed: fit.intercept, maxServersBeforeHistoryLimit: Math.floor((STANDARD_HISTORY_EVENT_LIMIT - fit.intercept) / fit.slope) } : {}),
    };
}
