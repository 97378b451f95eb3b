/**
 * Runs a script in a fresh `node` process (standing in for a Lambda runtime or a clean machine): no ts-node,
 * no mocha, only the environment given. Used by the archive tests that load serialized Lambda code.
 */
import { spawn } from "child_process";

/** What a finished node process left behind. */
export interface NodeScriptRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

/**
 * Runs `script` with `node -e` in `cwd` with exactly `env`; `stdin`, when given, is written to the process and
 * closed (the way tests hand it secrets: never in argv or the environment). Resolves when the process exits.
 */
export function runNodeScript(script: string, options: { cwd: string; env: Record<string, string>; stdin?: string }): Promise<NodeScriptRun> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-e", script], { cwd: options.cwd, env: options.env, stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout!.on("data", (d) => (stdout += d));
        child.stderr!.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
        if (options.stdin !== undefined) child.stdin!.end(options.stdin);
    });
}
