/**
 * The README's "Performance" table, row by row, from one bench run: the integrator copies the "measured" cells
 * from here instead of collecting them from the detailed tables. A row whose part did not run (or whose sizes
 * were left out) says which option brings it back.
 */
import type { BenchResults } from "./report";
import type { FleetScaleResult, Targeting } from "./fleet-scale";
import { STANDARD_HISTORY_EVENT_LIMIT } from "./manual-history";
import { formatBytes, formatMs, linearFit } from "./stats";

const KIB = 1024;
const en = (n: number) => n.toLocaleString("en");
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const range = (xs: number[], fmt: (x: number) => string) => (xs.length ? (Math.min(...xs) === Math.max(...xs) ? fmt(xs[0]) : `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`) : "n/a");

/** [measure, goal, measured] rows in the README's order; `missing` names what was not run. */
export function readmeHeadlines(r: BenchResults): string[][] {
    const rows: string[][] = [];
    const missing = (part: string) => `not measured in this run (${part})`;
    const bundles = (r.bundle ?? []).filter((b) => !b.error && !b.informational);
    const rotation = bundles.find((b) => b.name === "auto: rotation"); // bench/lambdas.ts's name
    const others = bundles.filter((b) => b !== rotation);
    rows.push([
        "rotation Lambda archive (zip)",
        "≤ 256 KiB, ≥ 100× smaller than a naive `CallbackFunction`",
        rotation ? `**${formatBytes(rotation.zipBytes)}**, ${rotation.ratio.toFixed(0)}× smaller than naive (${formatBytes(rotation.naiveZipBytes)})${rotation.ratio < 100 ? " — ratio goal missed" : ""}` : missing("--only bundle"),
    ]);
    rows.push([
        `the other ${others.length} Lambdas (retirement, manual mode)`,
        "same",
        others.length ? `${range(others.map((b) => b.zipBytes / KIB), (x) => x.toFixed(1))} KiB, ${range(others.map((b) => b.ratio), (x) => `${en(Math.round(x))}×`)} smaller` : missing("--only bundle"),
    ]);
    rows.push([
        "cold `require` + init of the rotation handler",
        "—",
        rotation ? `${rotation.coldInitMs.toFixed(0)} ms (median of 5; the others ${range(others.map((b) => b.coldInitMs), (x) => x.toFixed(0))} ms)` : missing("--only bundle"),
    ]);
    const fleet = r.fleet?.results ?? [];
    const at = (n: number, t: Targeting): FleetScaleResult | undefined => fleet.find((f) => f.n === n && f.targeting === t);
    const tenK = (["tag", "table"] as Targeting[]).map((t) => [t, at(10_000, t)] as const).filter((x): x is readonly [Targeting, FleetScaleResult] => !!x[1]);
    rows.push([
        "auto rotation, N = 10,000 servers, SSM calls",
        `≤ 2·⌈N/50⌉+20 = ${tenK[0]?.[1].ssmBudget ?? 420}`,
        tenK.length ? tenK.map(([t, f]) => `${t} ${f.ssmCallsAwsEquivalent}`).join(", ") : missing("--only fleet --sizes …,10000"),
    ]);
    rows.push([
        "auto rotation, N = 10,000, handler time",
        "< 60 s, each step ≪ 900 s",
        tenK.length
            ? `${tenK.map(([t, f]) => `${t} ${secs(f.totalMs)} (slowest step ${secs(f.slowestStepMs)})`).join(", ")}; the handler's own work ${tenK.map(([, f]) => `${f.ownMs.toFixed(0)} ms`).join(" / ")}`
            : missing("--only fleet --sizes …,10000"),
    ]);
    const alerts = tenK.filter(([, f]) => f.failureAlert);
    rows.push([
        "failure alert at N = 10,000",
        "accepted by SNS (≤ 256 KiB)",
        alerts.length
            ? alerts.map(([t, f]) => `${t} ${range(f.failureAlert!.publishes.map((p) => p.messageBytes), formatBytes)}, ${f.failureAlert!.delivered ? "delivered" : "**not delivered**"}`).join("; ")
            : missing("failure probe at N = 10,000"),
    ]);
    const slopes = (["tag", "table"] as Targeting[])
        .map((t) => fleet.filter((f) => f.targeting === t))
        .filter((fs) => fs.length >= 2)
        .map((fs) => ({ calls: linearFit(fs.map((f) => ({ n: f.n, y: f.ssmCallsAwsEquivalent })))!.slope * 1000, ms: linearFit(fs.map((f) => ({ n: f.n, y: f.totalMs })))!.slope * 1000 }));
    rows.push([
        "cost growth",
        "—",
        slopes.length ? `≈ linear: ${range(slopes.map((s) => s.calls), (x) => x.toFixed(0))} SSM calls and ${range(slopes.map((s) => s.ms / 1000), (x) => x.toFixed(1))} s per 1,000 servers` : missing("two or more fleet sizes"),
    ]);
    const big = fleet.filter((f) => f.n === 30_000);
    rows.push([
        "auto rotation, N = 30,000, SSM calls / handler's own time",
        `≤ ${en(big[0]?.ssmBudget ?? 1220)}`,
        big.length ? big.map((f) => `${f.targeting} ${f.ssmCallsAwsEquivalent} / ${secs(f.ownMs)} (the run's ${secs(f.totalMs)} are mostly moto's)`).join("; ") : missing("--sizes …,30000"),
    ]);
    const fan = r.manual ?? [];
    const h = r.manualHistory;
    const e2eMail = (h?.runs ?? []).map((x) => `N = ${en(x.n)}: ${secs(x.lastOwnerMailedMs)}`).join(", ");
    rows.push([
        "manual: start → last owner mailed",
        "every owner asked at the start",
        (fan.length ? `${fan.map((x) => `N = ${en(x.n)}: ${secs(x.lastOwnerMailedMs)}`).join(", ")} (in-process fan-out against moto, pages of 100, MaxConcurrency ${fan[0].maxConcurrency} start calls)` : missing("--only manual")) +
            (e2eMail ? `; in moto end to end, last owner mailed after ${e2eMail}` : ""),
    ]);
    const p30 = h?.projections.find((p) => p.n === 30_000) ?? h?.projections[h.projections.length - 1];
    const measuredPages = (h?.runs ?? []).flatMap((x) => x.pageEvents);
    const page100 = measuredPages.filter((p) => p.servers === 100).map((p) => p.events);
    rows.push([
        "manual, largest single execution history",
        `≤ ${en(STANDARD_HISTORY_EVENT_LIMIT)} events at N = 30,000`,
        h && p30
            ? `does not grow with N: rotation ${Math.max(...h.runs.map((x) => x.parentEvents))} events (measured), a page of 100 servers ${page100.length ? `${Math.max(...page100)} (measured)` : `≈ ${p30.largestHistory} (derived)`}` +
              ` (of 1,000: ≈ ${en(p30.largestHistoryMaxPage)} derived, ${((100 * p30.headroom) / STANDARD_HISTORY_EVENT_LIMIT).toFixed(0)} % headroom); ${en(p30.executions)} executions at N = ${en(p30.n)}`
            : missing("--only manual, manual e2e sizes"),
    ]);
    for (const mode of ["ts-node", "compiled"] as const) {
        const one = r.program?.find((p) => p.mode === mode && p.rotators === 1);
        const twenty = r.program?.find((p) => p.mode === mode && p.rotators === 20);
        const floor = r.program?.find((p) => p.mode === mode && p.rotators === 0);
        rows.push([
            `program evaluation under mocks (${mode === "ts-node" ? "TypeScript through ts-node" : "compiled bin/"}), wall / CPU`,
            "20 rotators < 5 s",
            one && twenty
                ? `1 rotator ${secs(one.evalMs)} / ${secs(one.evalCpuMs)}, 20 rotators ${secs(twenty.evalMs)} / ${secs(twenty.evalCpuMs)} (${twenty.resources} resources; ${(twenty.evalMs / one.evalMs).toFixed(1)}× one)` +
                  (floor ? `; Pulumi + @pulumi/aws alone for the same registrations: ${secs(floor.evalMs)} / ${secs(floor.evalCpuMs)}` : "")
                : missing("--only program"),
        ]);
    }
    return rows;
}
