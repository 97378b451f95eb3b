/**
 * Program evaluation under Pulumi's mock runtime for 1 and for 20 business-unit rotators: each run is a fresh
 * `node` process executing bench/program-eval-child.ts, in two ways a program meets this library:
 *  - `ts-node`: the TypeScript sources through ts-node (transpile-only), as the tests run them and as
 *    `pulumi up` runs a TypeScript program (Pulumi registers ts-node, whose source-map hook then maps every
 *    stack trace; Pulumi's SDK captures one per resource and one per output property);
 *  - `compiled`: the built package (bin/) in plain node, as a program compiled to JavaScript runs it.
 * Beside them, the floor: the largest run's registrations replayed (the same types, names, parents and
 * inputs; AWS resources through @pulumi/aws's classes) under the same mocks in the same kind of process:
 * Pulumi's and @pulumi/aws's own cost for exactly that graph, no code of this library. CPU time is reported beside wall time:
 * on a shared machine the wall time grows with the load, CPU time much less.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as ts from "typescript";
import { median } from "./stats";

export type ProgramEvalMode = "ts-node" | "compiled";

export interface ProgramEvalResult {
    mode: ProgramEvalMode;
    /** business-unit rotators built; 0 for the floor (the largest run's registrations replayed as plain resources) */
    rotators: number;
    /** resources registered (components and custom resources) */
    resources: number;
    /** median from the first constructor to every registration settled, ms (wall) */
    evalMs: number;
    /** median CPU time (user + system) of the same span, ms */
    evalCpuMs: number;
    /** median module load time (mock runtime + @pulumi/aws + components), ms */
    moduleLoadMs: number;
    runs: number;
    /** median wall time of the whole process (includes ts-node start-up), ms */
    processMs: number;
}

const ROOT = path.resolve(__dirname, "..");

/** The child as plain JavaScript (for the compiled mode), next to the bench results, from the same source. */
function compiledChild(resultsDir: string): string {
    if (!fs.existsSync(path.join(ROOT, "bin", "components", "rotator.js"))) {
        const build = spawnSync(process.execPath, [path.join(ROOT, "scripts", "build.js")], { cwd: ROOT, encoding: "utf8" });
        if (build.status !== 0) throw new Error(`program evaluation: building bin/ failed: ${build.stderr}`);
    }
    const source = fs.readFileSync(path.join(__dirname, "program-eval-child.ts"), "utf8");
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true } }).outputText;
    const file = path.join(resultsDir, "program-eval-child.js");
    fs.writeFileSync(file, js);
    return file;
}

function runChild(mode: ProgramEvalMode, childJs: string, env: Record<string, string>): { resources: number; moduleLoadMs: number; evalMs: number; evalCpuMs: number; processMs: number } {
    const args = mode === "ts-node" ? ["-r", "ts-node/register/transpile-only", path.join(__dirname, "program-eval-child.ts")] : [childJs];
    const started = performance.now();
    const res = spawnSync(process.execPath, args, {
        cwd: ROOT,
        env: { ...process.env, ...env, BENCH_ROOT: ROOT, BENCH_FROM: mode === "compiled" ? "bin" : "src", AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1" },
        encoding: "utf8",
        maxBuffer: 16 << 20,
    });
    const processMs = performance.now() - started;
    if (res.status !== 0) throw new Error(`program evaluation (${mode}, ${JSON.stringify(env)}) failed (exit ${res.status}): ${(res.stderr || "").split("\n").slice(0, 6).join(" ")}`);
    return { ...JSON.parse(res.stdout.trim().split("\n").pop()!), processMs };
}

export async function measureProgramEvaluation(opts: { rotatorCounts: number[]; runs: number; resultsDir: string; log: (s: string) => void }): Promise<ProgramEvalResult[]> {
    const childJs = compiledChild(opts.resultsDir);
    const out: ProgramEvalResult[] = [];
    for (const mode of ["ts-node", "compiled"] as const) {
        const measure = (rotators: number, env: Record<string, string>) => {
            const runs = Array.from({ length: opts.runs }, () => runChild(mode, childJs, env));
            const m: ProgramEvalResult = {
                mode,
                rotators,
                resources: runs[0].resources,
                evalMs: median(runs.map((x) => x.evalMs)),
                evalCpuMs: median(runs.map((x) => x.evalCpuMs)),
                moduleLoadMs: median(runs.map((x) => x.moduleLoadMs)),
                runs: runs.length,
                processMs: median(runs.map((x) => x.processMs)),
            };
            opts.log(`program (${mode}): ${rotators ? `${rotators} rotators` : "floor"}: ${m.resources} resources, eval ${m.evalMs.toFixed(0)} ms wall, ${m.evalCpuMs.toFixed(0)} ms CPU (median of ${m.runs})`);
            out.push(m);
            return m;
        };
        const largest = Math.max(...opts.rotatorCounts);
        const record = path.join(opts.resultsDir, `program-eval-${mode}-registrations.json`);
        for (const rotators of opts.rotatorCounts) measure(rotators, { BENCH_ROTATORS: String(rotators), ...(rotators === largest ? { BENCH_RECORD: record } : {}) });
        measure(0, { BENCH_REPLAY: record });
    }
    return out;
}
