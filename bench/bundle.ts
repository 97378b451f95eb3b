/**
 * Lambda archive size and cold init, measured the way `aws.lambda.CallbackFunction` builds the archive:
 * `pulumi.runtime.serializeFunction(factory, {isFactoryFunction: true, exportName: "handler"})` gives
 * `__index.js`; `pulumi.runtime.computeCodePaths(codePathOptions + "aws-sdk" excluded)` gives the
 * node_modules folders added next to it (see @pulumi/aws lambda/lambdaMixins.js). The zip is built with the
 * `zip` CLI (Info-ZIP, deflate level 6, `-X`), which is what we can reproduce here; Pulumi's engine zips
 * the same file set with Go's deflate, so sizes agree to within a few percent, not to the byte.
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { median } from "./stats";

/** One Lambda of the project: the factory its CallbackFunction serializes and the codePathOptions it passes. */
export interface LambdaUnderTest {
    name: string;
    factory: () => unknown;
    codePathOptions?: pulumi.runtime.CodePathOptions;
    /** env vars the factory reads at init (it runs at require time) */
    env?: Record<string, string>;
    /** a packaging alternative measured for comparison, not what the component ships (no goal verdict) */
    informational?: boolean;
}

export interface BundleMeasurement {
    name: string;
    informational?: boolean;
    /** zipped bytes of the project's build */
    zipBytes: number;
    /** node_modules folders the project's build includes */
    packages: string[];
    /** bytes of __index.js */
    indexBytes: number;
    /** zipped bytes of a naive CallbackFunction build (default codePathOptions) of the same handler */
    naiveZipBytes: number;
    naivePackageCount: number;
    /** naive / project */
    ratio: number;
    /** cold require+init of the archive's __index.js in a fresh node, median and all runs (ms) */
    coldInitMs: number;
    coldInitRuns: number[];
    /** fresh node process wall time to load the handler and exit, median (ms) */
    coldProcessMs: number;
    /** the same archive with nodemailer excluded too: its size, and whether the handler still loads without it */
    withoutNodemailer?: { zipBytes: number; loads: boolean };
    error?: string;
}

/** The text `__index.js` of a CallbackFunction built with `callbackFactory: factory`. */
export async function serializeHandler(factory: () => unknown): Promise<string> {
    const closure = await pulumi.runtime.serializeFunction(factory, {
        serialize: () => true,
        exportName: "handler",
        isFactoryFunction: true,
        allowSecrets: true,
    });
    return closure.text;
}

/** The folders CallbackFunction adds to the archive for these options (relative to the project root = cwd). */
export async function archivePackagePaths(options?: pulumi.runtime.CodePathOptions): Promise<string[]> {
    const opts: pulumi.runtime.CodePathOptions = {
        ...(options ?? {}),
        // CallbackFunction always appends "aws-sdk" (v2) to the exclusions.
        extraExcludePackages: [...(options?.extraExcludePackages ?? []), "aws-sdk"],
    };
    const map = await pulumi.runtime.computeCodePaths(opts);
    return [...map.keys()].sort();
}

/** Zips `__index.js` + `paths` (relative to cwd) into `zipFile`; returns its size. `baseZip` is copied first when given. */
export function buildZip(zipFile: string, indexText: string, paths: string[], baseZip?: string): number {
    const stage = fs.mkdtempSync(path.join(os.tmpdir(), "bench-index-"));
    try {
        fs.writeFileSync(path.join(stage, "__index.js"), indexText);
        if (baseZip) fs.copyFileSync(baseZip, zipFile);
        else fs.rmSync(zipFile, { force: true });
        execFileSync("zip", ["-q", "-X", "-6", zipFile, "__index.js"], { cwd: stage });
        if (!baseZip && paths.length) zipFolders(zipFile, paths);
        return fs.statSync(zipFile).size;
    } finally {
        fs.rmSync(stage, { recursive: true, force: true });
    }
}

function zipFolders(zipFile: string, paths: string[]): void {
    // Batches keep the command line short for the naive build's many folders.
    for (let i = 0; i < paths.length; i += 200) {
        execFileSync("zip", ["-q", "-r", "-X", "-6", zipFile, ...paths.slice(i, i + 200)], { cwd: process.cwd(), maxBuffer: 64 << 20 });
    }
}

/**
 * Cold require+init of the archive in fresh `node` processes, laid out as Lambda does: the archive extracted
 * into a task folder, and only the runtime-provided AWS SDK v3 on NODE_PATH (no project node_modules). A
 * package the archive lacks therefore fails here as it would in Lambda.
 */
export function coldInit(zipFile: string, env: Record<string, string>, runs: number): { initMs: number[]; processMs: number[] } {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-lambda-"));
    try {
        const task = path.join(root, "task");
        const runtimeModules = path.join(root, "runtime", "node_modules");
        fs.mkdirSync(task);
        fs.mkdirSync(runtimeModules, { recursive: true });
        fs.symlinkSync(path.resolve("node_modules/@aws-sdk"), path.join(runtimeModules, "@aws-sdk"));
        execFileSync("unzip", ["-q", zipFile, "-d", task]);
        const probe =
            "const t0 = process.hrtime.bigint(); const m = require('./__index.js');" +
            "if (typeof m.handler !== 'function') throw new Error('handler is not a function');" +
            "process.stdout.write(String(Number(process.hrtime.bigint() - t0) / 1e6));";
        const initMs: number[] = [];
        const processMs: number[] = [];
        for (let i = 0; i < runs; i++) {
            const start = performance.now();
            const r = spawnSync(process.execPath, ["-e", probe], {
                cwd: task,
                env: { PATH: process.env.PATH ?? "", NODE_PATH: runtimeModules, AWS_REGION: "us-east-1", ...env },
                encoding: "utf8",
            });
            processMs.push(performance.now() - start);
            if (r.status !== 0) throw new Error(`cold init failed (exit ${r.status}): ${(r.stderr || "").split("\n").slice(0, 8).join("\n")}`);
            initMs.push(Number(r.stdout));
        }
        return { initMs, processMs };
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
}

/** A file-name-safe form of a Lambda's label. */
function slug(name: string): string {
    return name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * Size of the archive without nodemailer (only the rotation handler does SMTP), and whether the handler still
 * loads without it: one cold init in the Lambda-like layout; a handler that needs nodemailer fails to load.
 */
async function measureWithoutNodemailer(zipFile: string, text: string, l: LambdaUnderTest): Promise<{ zipBytes: number; loads: boolean } | undefined> {
    const excluded = l.codePathOptions?.extraExcludePackages ?? [];
    const included = l.codePathOptions?.extraIncludePaths ?? [];
    const isNodemailer = (p: string) => /(^|\/)node_modules\/nodemailer(\/|$)/.test(p);
    const paths = await archivePackagePaths({
        ...l.codePathOptions,
        extraExcludePackages: [...new Set([...excluded, "nodemailer"])],
        extraIncludePaths: included.filter((p) => !isNodemailer(p)),
    });
    const current = await archivePackagePaths(l.codePathOptions);
    if (!current.some(isNodemailer)) return undefined; // nothing of nodemailer in the archive
    const zipBytes = buildZip(zipFile, text, paths);
    let loads = true;
    try {
        coldInit(zipFile, l.env ?? {}, 1);
    } catch {
        loads = false;
    }
    return { zipBytes, loads };
}

/**
 * "nodemailer (13 files)" / "nodemailer": the archive's node_modules content grouped by package (a folder of a
 * whole package, or single files picked from it with extraIncludePaths).
 */
export function summarizePackages(paths: string[]): string {
    const byPackage = new Map<string, { whole: boolean; files: number }>();
    for (const p of paths) {
        const m = /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)(\/.*)?$/.exec(p);
        const name = m ? m[1] : p;
        const entry = byPackage.get(name) ?? { whole: false, files: 0 };
        if (m && !m[2]) entry.whole = true;
        else entry.files++;
        byPackage.set(name, entry);
    }
    if (byPackage.size === 0) return "none";
    return [...byPackage].map(([name, e]) => (e.whole ? name : `${name} (${e.files} file${e.files === 1 ? "" : "s"})`)).join(", ");
}

/** Measures every Lambda: project build vs naive build (the naive dependency zip is built once and reused per handler). */
export async function measureBundles(lambdas: LambdaUnderTest[], opts: { runs: number; workDir: string; log: (s: string) => void }): Promise<BundleMeasurement[]> {
    fs.mkdirSync(opts.workDir, { recursive: true });
    const naivePaths = await archivePackagePaths(undefined);
    const naiveBase = path.join(opts.workDir, "naive-base.zip");
    opts.log(`bundle: zipping the naive dependency set once (${naivePaths.length} folders)`);
    buildZip(naiveBase, "", naivePaths);
    const out: BundleMeasurement[] = [];
    for (const l of lambdas) {
        const m: BundleMeasurement = {
            name: l.name, ...(l.informational ? { informational: true } : {}), zipBytes: 0, packages: [], indexBytes: 0, naiveZipBytes: 0, naivePackageCount: naivePaths.length,
            ratio: 0, coldInitMs: 0, coldInitRuns: [], coldProcessMs: 0,
        };
        try {
            const text = await serializeHandler(l.factory);
            m.indexBytes = Buffer.byteLength(text);
            m.packages = await archivePackagePaths(l.codePathOptions);
            const zip = path.join(opts.workDir, `${slug(l.name)}.zip`);
            m.zipBytes = buildZip(zip, text, m.packages);
            m.naiveZipBytes = buildZip(path.join(opts.workDir, `${slug(l.name)}-naive.zip`), text, naivePaths, naiveBase);
            m.ratio = m.naiveZipBytes / m.zipBytes;
            const cold = coldInit(zip, l.env ?? {}, opts.runs);
            m.coldInitRuns = cold.initMs;
            m.coldInitMs = median(cold.initMs);
            m.coldProcessMs = median(cold.processMs);
            if (!l.informational) m.withoutNodemailer = await measureWithoutNodemailer(path.join(opts.workDir, `${slug(l.name)}-no-nodemailer.zip`), text, l);
        } catch (e) {
            m.error = (e as Error).message;
        }
        opts.log(`bundle: ${l.name} ${m.error ? "ERROR " + m.error : `${m.zipBytes} B vs ${m.naiveZipBytes} B`}`);
        out.push(m);
    }
    return out;
}
