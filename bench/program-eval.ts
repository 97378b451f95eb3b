/**
 * Program evaluation time under Pulumi's mock runtime for 1 and for 20 business-unit rotators: each run is a
 * fresh `node` process (ts-node, transpile-only, as the tests run) executing bench/program-eval-child.ts.
 */
import { spawnSync } from "child_process";
import * as path from "path";
import { median } from "./stats";

export interface ProgramEvalResult {
    rotators: number;
    /** resources registered (components and custom resources) */
    resources: number;
    /** median from the first component constructor to every registration settled, ms */
    evalMs: number;
    /** median module load time (mock runtime + @pulumi/aws + components), ms */
    moduleLoadMs: number;
    runs: number;
    /** median wall time of the whole process (includes ts-node start-up), ms */
    processMs: number;
}

export async function measureProgramEvaluation(opts: { rotatorCounts: number[]; runs: number; log: (s: string) => void }): Promise<ProgramEvalResult[]> {
    const child = path.join(__dirname, "program-eval-child.ts");
    const out: ProgramEvalResult[] = [];
    for (const rotators of opts.rotatorCounts) {
        const runs: { resources: number; moduleLoadMs: number; evalMs: number; processMs: number }[] = [];
        for (let r = 0; r < opts.runs; r++) {
            const started = performance.now();
            const res = spawnSync(process.execPath, ["-r", "ts-node/register/transpile-only", child], {
                cwd: path.resolve(__dirname, ".."),
                env: { ...process.env, BENCH_ROTATORS: String(rotators), AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1" },
                encoding: "utf8",
                maxBuffer: 16 << 20,
            });
            const processMs = performance.now() - started;
            if (res.status !== 0) throw new Error(`program evaluation with ${rotators} rotators failed (exit ${res.status}): ${(res.stderr || "").split("\n").slice(0, 6).join(" ")}`);
            const line = res.stdout.trim().split("\n").pop()!;
            runs.push({ ...JSON.parse(line), processMs });
        }
        const m: ProgramEvalResult = {
            rotators,
            resources: runs[0].resources,
            evalMs: median(runs.map((x) => x.evalMs)),
            moduleLoadMs: median(runs.map((x) => x.moduleLoadMs)),
            runs: runs.length,
            processMs: median(runs.map((x) => x.processMs)),
        };
        opts.log(`program: ${rotators} rotators: ${m.resources} resources, eval ${m.evalMs.toFixed(0)} ms (median of ${m.runs})`);
        out.push(m);
    }
    return out;
}
