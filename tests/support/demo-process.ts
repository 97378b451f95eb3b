/**
 * Runs `npm run demo` as a child process for the demo tests (tests/demo*.test.ts): the same entry, ts-node
 * transpile-only, with none of the suite's AWS environment (the demo starts its own emulators).
 */
import { ChildProcess, spawn } from "child_process";
import * as path from "path";

const ROOT = path.join(__dirname, "..", "..");

export interface DemoRun {
    code: number | null;
    signal: NodeJS.Signals | null;
    stdout: string;
    stderr: string;
}

/** Starts the demo the way `npm run demo -- <args>` does (ts-node, transpile-only). */
export function spawnDemo(args: string[]): ChildProcess {
    return spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "demo", "cli.ts"), ...args], {
        cwd: ROOT,
        env: { ...process.env, AWS_ENDPOINT_URL: "" },
        stdio: ["ignore", "pipe", "pipe"],
    });
}

/** Collects a demo process's output until it exits. */
export function collect(child: ChildProcess): Promise<DemoRun> & { output: () => string } {
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    const done = new Promise<DemoRun>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
    return Object.assign(done, { output: () => stdout + stderr });
}

/** Polls `probe` until it holds (a child process gives no event to wait on); throws naming `what` after `deadlineMs`. */
export async function until(what: string, probe: () => boolean | Promise<boolean>, deadlineMs: number): Promise<void> {
    const end = Date.now() + deadlineMs;
    while (!(await probe())) {
        if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}
