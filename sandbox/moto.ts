/**
 * Starts a real `moto_server` (the AWS API emulator) on a free loopback port for the test run.
 * Nothing here fakes AWS: the SDK talks HTTP to moto (usually through the wire proxy in aws-proxy.ts).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as net from "net";
import * as path from "path";

/** The Python start-up shims: next to this file from a clone (ts-node), in the package's sandbox/ folder when built into bin/sandbox/. */
const MOTO_SHIMS = [path.join(__dirname, "moto-shims"), path.join(__dirname, "..", "..", "sandbox", "moto-shims")].find((d) => fs.existsSync(d)) ?? path.join(__dirname, "moto-shims");

export interface MotoServer {
    /** e.g. http://127.0.0.1:45123 */
    url: string;
    port: number;
    stop(): Promise<void>;
}

export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const srv = net.createServer();
        srv.unref();
        srv.on("error", reject);
        srv.listen(0, "127.0.0.1", () => {
            const port = (srv.address() as net.AddressInfo).port;
            srv.close(() => resolve(port));
        });
    });
}

async function waitForHttp(url: string, child: ChildProcess, deadlineMs: number): Promise<void> {
    const until = Date.now() + deadlineMs;
    let lastError: unknown;
    while (Date.now() < until) {
        if (child.exitCode !== null) {
            throw new Error(`moto_server exited early with code ${child.exitCode}`);
        }
        try {
            const res = await fetch(url);
            if (res.ok) return;
        } catch (e) {
            lastError = e;
        }
        // Polling for readiness of a child process: there is no event to wait on.
        await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`moto_server did not answer at ${url}: ${String(lastError)}`);
}

/**
 * Starts moto with Step Functions execution enabled.
 * moto's state-machine interpreter calls AWS services (Lambda, SNS, Step Functions, ...) at
 * `http://localhost:$MOTO_PORT`; `callbackPort` (default: moto's own port) points those calls elsewhere —
 * the root hook points them at the wire proxy, so the proxy records them and the Step Functions test
 * bridge (sandbox/sfn-bridge.ts) can answer Lambda invocations.
 */
export async function startMoto(opts: { callbackPort?: number } = {}): Promise<MotoServer> {
    const port = await freePort();
    const child = spawn("moto_server", ["-H", "127.0.0.1", "-p", String(port)], {
        env: {
            ...process.env,
            MOTO_PORT: String(opts.callbackPort ?? port),
            // moto-shims/sitecustomize.py fixes a moto bug (no second execution while one runs); see that file.
            PYTHONPATH: [MOTO_SHIMS, process.env.PYTHONPATH].filter(Boolean).join(path.delimiter),
        },
        stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (d) => {
        stderr = (stderr + d.toString()).slice(-4000);
    });
    const url = `http://127.0.0.1:${port}`;
    try {
        await waitForHttp(`${url}/moto-api/data.json`, child, 30000);
    } catch (e) {
        child.kill("SIGKILL");
        throw new Error(`${(e as Error).message}\n${stderr}`);
    }
    await configureMoto(url);
    return {
        url,
        port,
        stop: () =>
            new Promise<void>((resolve) => {
                if (child.exitCode !== null) return resolve();
                child.once("exit", () => resolve());
                child.kill("SIGTERM");
            }),
    };
}

async function configureMoto(url: string): Promise<void> {
    const res = await fetch(`${url}/moto-api/config`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
    });
    if (!res.ok) throw new Error(`moto config failed: ${res.status}`);
}

/** Clears every moto backend; configuration (Step Functions execution) is re-applied. */
export async function resetMoto(url: string): Promise<void> {
    const res = await fetch(`${url}/moto-api/reset`, { method: "POST" });
    if (!res.ok) throw new Error(`moto reset failed: ${res.status}`);
    await configureMoto(url);
}

/** moto's internal view of all backends (used by the SES-compatible endpoint to look up keys). */
export async function motoData(url: string): Promise<any> {
    const res = await fetch(`${url}/moto-api/data.json`);
    if (!res.ok) throw new Error(`moto data.json failed: ${res.status}`);
    return res.json();
}
