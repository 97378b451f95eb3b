/**
 * Manual mode end to end at small N, to measure what the in-process fan-out cannot show: the emitted
 * CredentialRotation, ConfirmationPage and ManualConfirmation definitions executed by moto's Step Functions
 * interpreter (derived from LocalStack's, it emits AWS's history event types), Lambda tasks answered
 * in-process by the real handlers through the bridge, owners answering through the real confirmation API only
 * once EVERY owner has a link (sandbox/manual-rig.ts, the rig the tests use, on its own moto + proxy from
 * sandbox/aws-world.ts).
 * Measured per run: the history events of every execution (Standard workflows stop at 25,000 events), the
 * number of executions, the time from start until the last owner was mailed. From the measured page histories
 * (events ≈ fixed + perServer·servers on the page) the bench derives the largest single history and the
 * number of executions for large N: the rotation's history does not depend on N, a page's on its page size
 * only, a ManualConfirmation's on its reminders only.
 */
import { startAwsWorld } from "../sandbox/aws-world";
import { ManualRig, serverList, until } from "../sandbox/manual-rig";
import { DEFAULT_MAX_CONCURRENCY, MAX_SERVERS_PER_RUN } from "../components/manual/definitions";
import { linearFit } from "./stats";

/** AWS Step Functions: maximum execution history size (events) of a Standard workflow execution. */
export const STANDARD_HISTORY_EVENT_LIMIT = 25_000;
/** the page size of these runs and of the projection (the component's default) */
export const MANUAL_E2E_PAGE_SIZE = 100;
/** the largest page the ListServersPage handler accepts */
const MAX_PAGE_SIZE = 1000;

export interface ManualHistoryResult {
    n: number;
    status: string;
    /** history events of the CredentialRotation execution */
    parentEvents: number;
    /** the largest ConfirmationPage history, and the servers on each page measured */
    pageEvents: { servers: number; events: number }[];
    /** history events of the largest ManualConfirmation execution */
    childEvents: number;
    executions: number;
    /** start → the last owner's first mail */
    lastOwnerMailedMs: number;
    ms: number;
    maxConcurrency: number;
    pageSize: number;
}

export interface ManualHistoryProjection {
    n: number;
    /** derived: 1 rotation + ⌈N/100⌉ pages + N ManualConfirmations */
    executions: number;
    /** the largest history of any single execution (default page size) */
    largestHistory: number;
    /** with the largest page size (1,000) */
    largestHistoryMaxPage: number;
    /** 25,000 − largestHistoryMaxPage */
    headroom: number;
    /** what the derivation rests on (which runs, which fit) */
    basis: string;
    /** an end-to-end run at this very N in moto, when one ran: its largest single history and its executions */
    measured?: { largestHistory: number; executions: number };
}

export interface ManualHistorySummary {
    runs: ManualHistoryResult[];
    /** ConfirmationPage history ≈ pageFixed + pagePerServer·servers on the page (least squares over every page measured) */
    pagePerServer?: number;
    pageFixed?: number;
    projections: ManualHistoryProjection[];
    maxServersPerRun: number;
}

/** The largest history of any single execution of one measured run. */
export function largestSingleHistory(run: ManualHistoryResult): number {
    return Math.max(run.parentEvents, run.childEvents, ...run.pageEvents.map((p) => p.events));
}

export async function measureManualHistory(opts: { sizes: number[]; projectSizes?: number[]; log: (s: string) => void }): Promise<ManualHistorySummary> {
    const pageSize = MANUAL_E2E_PAGE_SIZE;
    const runs: ManualHistoryResult[] = [];
    const world = await startAwsWorld();
    try {
        for (const n of opts.sizes) {
            await world.reset();
            // SDK retries on, as in the Lambda runtime (the tests turn them off to place faults exactly): moto
            // answers a busy moment with an occasional HTML 500, which a Lambda's SDK client retries.
            const lambdaLike = { proxy: world.proxy, clientConfig: () => world.clientConfig(undefined, 3) };
            const rig = await new ManualRig({ servers: serverList(n), maxConcurrency: DEFAULT_MAX_CONCURRENCY, pageSize, graceSeconds: 1 }, lambdaLike).setUp();
            try {
                const t0 = performance.now();
                const started = await rig.startRotation({ requestId: `bench-${n}` });
                await until(
                    "every owner mailed",
                    async () => {
                        // A failed task never mails its owner: say why now instead of waiting for the deadline.
                        if (rig.bridge.invocations.some((i) => i.error)) throw new Error(`manual e2e N=${n}: a task failed before every owner was mailed:\n${await rig.explain()}`);
                        return new Set(rig.ownerMails().filter((m) => m.confirmationId).map((m) => m.to)).size >= n ? true : undefined;
                    },
                    900_000,
                );
                const lastOwnerMailedMs = performance.now() - t0;
                const owners = rig.ownersAnswer(() => "confirm");
                const done = await rig.finished(started.executionArn, 900_000);
                const ms = performance.now() - t0;
                await owners.stop();
                let parentEvents = 0;
                let childEvents = 0;
                const pageEvents: { servers: number; events: number }[] = [];
                const executions = await rig.executions();
                for (const e of executions) {
                    const history = await rig.history(e.executionArn);
                    if (e.executionArn.includes(":CredentialRotation:")) parentEvents = history.length;
                    else if (e.executionArn.includes(":ManualConfirmation:")) childEvents = Math.max(childEvents, history.length);
                    else {
                        const input = JSON.parse(history[0]?.executionStartedEventDetails?.input ?? "{}");
                        const pages = rig.bridge.invocationsOf("listServersPage").filter((i) => i.payload.mode !== "count" && (i.payload.nextToken ?? null) === (input.cursor ?? null));
                        pageEvents.push({ servers: ((pages[0]?.result as any)?.servers ?? []).length, events: history.length });
                    }
                }
                runs.push({ n, status: done.status ?? "unknown", parentEvents, pageEvents, childEvents, executions: executions.length, lastOwnerMailedMs, ms, maxConcurrency: DEFAULT_MAX_CONCURRENCY, pageSize });
                opts.log(`manual e2e: N=${n}: ${done.status}, ${executions.length} executions, rotation ${parentEvents} events, pages ${JSON.stringify(pageEvents)}, child ≤ ${childEvents}, last owner mailed after ${(lastOwnerMailedMs / 1000).toFixed(1)} s`);
            } finally {
                await rig.tearDown();
            }
        }
    } finally {
        await world.stop();
    }
    const fit = linearFit(runs.flatMap((r) => r.pageEvents.map((p) => ({ n: p.servers, y: p.events }))));
    const parent = Math.max(0, ...runs.map((r) => r.parentEvents));
    const child = Math.max(0, ...runs.map((r) => r.childEvents));
    // Without a fit (every page measured had the same size) only a measured page size can be given; others are NaN (n/a).
    const measuredPage = (servers: number) => {
        const events = runs.flatMap((r) => r.pageEvents.filter((p) => p.servers === servers).map((p) => p.events));
        return events.length ? Math.max(...events) : NaN;
    };
    const page = (servers: number) => (fit ? Math.ceil(fit.intercept + fit.slope * servers) : measuredPage(servers));
    const pagesMeasured = runs.reduce((a, r) => a + r.pageEvents.length, 0);
    const basis = fit
        ? `rotation ${parent} events and ManualConfirmation ≤ ${child} events as measured (they do not depend on N); ` +
          `page ≈ ${fit.intercept.toFixed(0)} + ${fit.slope.toFixed(2)}·servers on the page, least squares over ${pagesMeasured} pages measured at N = ${runs.map((r) => r.n).join(", ")}`
        : "no page measured";
    const projections = (opts.projectSizes ?? [1_000, 10_000, 30_000]).map((n): ManualHistoryProjection => {
        const largestHistory = Math.max(parent, child, page(Math.min(n, pageSize)));
        const largestHistoryMaxPage = Math.max(parent, child, page(Math.min(n, MAX_PAGE_SIZE)));
        const run = runs.find((r) => r.n === n);
        const measured = run ? { largestHistory: largestSingleHistory(run), executions: run.executions } : undefined;
        return { n, executions: 1 + Math.ceil(n / pageSize) + n, largestHistory, largestHistoryMaxPage, headroom: STANDARD_HISTORY_EVENT_LIMIT - largestHistoryMaxPage, basis, ...(measured ? { measured } : {}) };
    });
    return { runs, ...(fit ? { pagePerServer: fit.slope, pageFixed: fit.intercept } : {}), projections, maxServersPerRun: MAX_SERVERS_PER_RUN };
}
