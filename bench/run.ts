/**
 * `npm run bench`: Lambda archive size and cold init, fleet-scale rotations against moto, manual-mode
 * fan-out, and program evaluation under Pulumi mocks. Prints a Markdown report and writes the JSON to
 * bench/results/latest.json (and the report to docs/benchmark.md with --write-doc).
 *
 * Flags:
 *   --sizes 24,1000,10000,30000   fleet sizes (default all four; the manual fan-out runs those ≤ 10,000)
 *   --runs N                runs per measurement for N ≤ 1000 (default 3); --big-runs N for larger N (default 2; one run above 10,000)
 *   --only bundle,fleet,manual,program   parts to run (default all)
 *   --targeting tag,table   fleet targetings (default both)
 *   --no-moto-tag-index     run moto without the bench's EC2 tag-lookup speed fix (see bench/moto-patch)
 *   --no-failure-probe      skip the extra rotation per size with one failing server (is the alert delivered?)
 *   --manual-e2e-sizes 24,120   fleet sizes for the manual-mode end-to-end runs in moto (history events per server; the
 *                           histories at 1,000 / 10,000 / 30,000 are derived from these; add 1000 to measure N = 1,000
 *                           too, about 12 more minutes on a shared 2-core machine)
 *   --write-doc             also write docs/benchmark.md
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { startBenchAws } from "./aws-env";
import { measureBundles } from "./bundle";
import { measureFleetScale, Targeting } from "./fleet-scale";
import { projectLambdas } from "./lambdas";
import { measureManualFanout } from "./manual-fanout";
import { measureManualHistory } from "./manual-history";
import { measureProgramEvaluation } from "./program-eval";
import { measureConsumerArchives } from "./consumer-stack";
import { BenchResults, evaluateGoals, renderMarkdown } from "./report";

interface Options {
    sizes: number[];
    runs: number;
    bigRuns: number;
    only: Set<string>;
    targeting: Targeting[];
    motoTagIndex: boolean;
    failureProbe: boolean;
    manualE2eSizes: number[];
    writeDoc: boolean;
}

function parseArgs(argv: string[]): Options {
    const o: Options = { sizes: [24, 1000, 10000, 30000], runs: 3, bigRuns: 2, only: new Set(["bundle", "fleet", "manual", "program"]), targeting: ["tag", "table"], motoTagIndex: true, failureProbe: true, manualE2eSizes: [24, 120], writeDoc: false };
    const value = (i: number, flag: string) => {
        const v = argv[i + 1];
        if (v === undefined || v.startsWith("--")) throw new Error(`bench: ${flag} needs a value`);
        return v;
    };
    const positiveInt = (text: string, flag: string) => {
        const n = Number(text);
        if (!Number.isInteger(n) || n < 1) throw new Error(`bench: ${flag} must be a positive integer, got ${JSON.stringify(text)}`);
        return n;
    };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === "--sizes") o.sizes = value(i++, a).split(",").map((s) => positiveInt(s, "--sizes"));
        else if (a === "--runs") o.runs = positiveInt(value(i++, a), a);
        else if (a === "--big-runs") o.bigRuns = positiveInt(value(i++, a), a);
        else if (a === "--only") {
            o.only = new Set(value(i++, a).split(","));
            for (const p of o.only) if (!["bundle", "fleet", "manual", "program"].includes(p)) throw new Error(`bench: --only part ${JSON.stringify(p)} is not one of bundle, fleet, manual, program`);
        } else if (a === "--targeting") {
            o.targeting = value(i++, a).split(",") as Targeting[];
            for (const t of o.targeting) if (t !== "tag" && t !== "table") throw new Error(`bench: --targeting ${JSON.stringify(t)} is not tag or table`);
        } else if (a === "--no-moto-tag-index") o.motoTagIndex = false;
        else if (a === "--no-failure-probe") o.failureProbe = false;
        else if (a === "--manual-e2e-sizes") o.manualE2eSizes = value(i++, a).split(",").map((x) => positiveInt(x, a));
        else if (a === "--write-doc") o.writeDoc = true;
        else throw new Error(`bench: unknown argument ${JSON.stringify(a)} (see the header of bench/run.ts)`);
    }
    return o;
}

function log(line: string): void {
    process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<void> {
    const opts = parseArgs(process.argv.slice(2));
    const projectRoot = path.resolve(__dirname, "..");
    process.chdir(projectRoot); // computeCodePaths reads ./package.json
    const resultsDir = path.join(projectRoot, "bench", "results");
    fs.mkdirSync(resultsDir, { recursive: true });
    const started = performance.now();
    const results: BenchResults = {
        machine: {
            cpus: os.cpus().length,
            cpuModel: os.cpus()[0]?.model ?? "unknown",
            node: process.version,
            platform: `${os.platform()} ${os.release()}`,
            memoryGiB: os.totalmem() / 1024 ** 3,
            loadAverageAtStart: os.loadavg(),
            startedAt: new Date().toISOString(),
        },
        options: { ...opts, only: [...opts.only] },
        errors: [],
        goals: [],
        durationMs: 0,
    };
    const attempt = async (part: string, fn: () => Promise<void>) => {
        if (!opts.only.has(part)) return;
        try {
            await fn();
        } catch (e) {
            const msg = `${part}: ${(e as Error).stack ?? e}`;
            results.errors.push(msg.split("\n").slice(0, 4).join(" "));
            log(`ERROR ${msg}`);
        }
    };

    await attempt("bundle", async () => {
        const lambdas = projectLambdas();
        const measurable = lambdas.filter((l): l is Exclude<typeof l, { error: string }> => !("error" in l));
        results.bundle = await measureBundles(measurable, { runs: 5, workDir: path.join(resultsDir, "archives"), log });
        for (const l of lambdas) if ("error" in l) results.bundle.push({ name: l.name, error: l.error } as any);
        results.bundleNote =
            "Archive = `__index.js` from `pulumi.runtime.serializeFunction(callbackFactory)` + the folders `pulumi.runtime.computeCodePaths(codePathOptions)` returns, " +
            "zipped with Info-ZIP `zip -6 -X` (Pulumi's engine zips the same file set itself with Go's deflate, so its bytes may differ slightly). " +
            "Naive = the same handler with default codePathOptions, as a newcomer's CallbackFunction ships it: every production dependency of package.json and their dependencies, " +
            "except `@pulumi/*` (computeCodePaths always leaves deployment-time Pulumi packages out). " +
            "Cold init = `require('./__index.js')` (runs the factory) in a fresh node with only the AWS SDK v3 on NODE_PATH, as in the nodejs22.x runtime; median of 5.";
        // The same Lambdas built while the library is an installed dependency (npm pack → consumer stack, bench/consumer-stack.ts).
        const consumer = measureConsumerArchives(fs.mkdtempSync(path.join(os.tmpdir(), "bench-consumer-")));
        results.bundleConsumer = { tarballFiles: consumer.tarball.entryCount, tarballBytes: consumer.tarball.size, archives: consumer.archives };
        log(`consumer case: tarball ${consumer.tarball.entryCount} files; ${consumer.archives.map((a) => `${a.kind} ${(a.zipBytes / 1024).toFixed(1)} KiB`).join(", ")}`);
    });

    if (opts.only.has("fleet") || opts.only.has("manual")) {
        if (opts.motoTagIndex) {
            process.env.PYTHONPATH = [path.join(projectRoot, "bench", "moto-patch"), process.env.PYTHONPATH].filter(Boolean).join(path.delimiter);
            process.env.BENCH_MOTO_TAG_INDEX = "1";
        }
        const aws = await startBenchAws();
        try {
            await attempt("fleet", async () => {
                results.fleet = await measureFleetScale(aws, { sizes: opts.sizes, runs: (n) => (n > 10000 ? 1 : n > 1000 ? opts.bigRuns : opts.runs), targetings: opts.targeting, failureProbe: opts.failureProbe, log });
            });
            await attempt("manual", async () => {
                results.manual = await measureManualFanout(aws, { sizes: opts.sizes.filter((n) => n <= 10000), log });
            });
        } finally {
            await aws.stop();
        }
    }

    // Its own moto + proxy (the test harness's, with the Step Functions bridge), after the bench's stopped.
    await attempt("manual", async () => {
        results.manualHistory = await measureManualHistory({ sizes: opts.manualE2eSizes, log });
    });

    await attempt("program", async () => {
        results.program = await measureProgramEvaluation({ rotatorCounts: [1, 20], runs: opts.runs, resultsDir, log });
    });

    results.durationMs = performance.now() - started;
    results.goals = evaluateGoals(results);
    fs.writeFileSync(path.join(resultsDir, "latest.json"), JSON.stringify(results, null, 2));
    const markdown = renderMarkdown(results);
    fs.writeFileSync(path.join(resultsDir, "latest.md"), markdown + "\n");
    if (opts.writeDoc) writeDoc(projectRoot, markdown, process.argv.slice(2), results.durationMs, results.machine.loadAverageAtStart[0]);
    process.stdout.write(markdown + "\n");
    log(`wrote ${path.relative(projectRoot, path.join(resultsDir, "latest.json"))}`);
}

function writeDoc(projectRoot: string, markdown: string, args: string[], durationMs: number, loadAverage: number): void {
    const header = fs.readFileSync(path.join(projectRoot, "bench", "doc-header.md"), "utf8");
    const rest = args.filter((a) => a !== "--write-doc");
    const command = `npm run bench${rest.length ? " -- " + rest.join(" ") : ""}`;
    const duration = `the run below took ${(durationMs / 60000).toFixed(1)} minutes on a shared 2-core machine, load average ${loadAverage.toFixed(0)} at its start`;
    const footer = fs.readFileSync(path.join(projectRoot, "bench", "doc-footer.md"), "utf8");
    fs.writeFileSync(path.join(projectRoot, "docs", "benchmark.md"), header.replace("{{command}}", command).replace("{{duration}}", duration) + "\n" + markdown + "\n" + footer);
}

main().then(
    () => process.exit(0),
    (e) => {
        log(`FAILED: ${(e as Error).stack ?? e}`);
        process.exit(1);
    },
);
