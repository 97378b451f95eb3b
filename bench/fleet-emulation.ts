/**
 * Makes moto's SSM behave like a fleet that takes time to answer, so the fan-out's polling path runs as it
 * would against AWS. moto completes every command inside SendCommand (Status "Success" at once); real SSM
 * answers SendCommand with "Pending" and the servers report over the following seconds. Here:
 *  - a proxy interceptor forwards SendCommand to moto unchanged and reports the command as "Pending"
 *    (what SSM returns), and the proxy's agent mode keeps every server Pending until it has "answered";
 *  - the handler's injected `sleep` (its wait between polls) is where servers answer: after each wait, a
 *    fixed share of each command's servers report Success (proxy.setInvocation). No real time passes: the
 *    waits are added to a virtual clock (the handler's `now`) and reported separately from handler time.
 * Everything is an emulation of the fleet's timing, stated as such in the report; the SSM API calls the
 * handler makes are the real ones, counted at the proxy.
 */
import type { AwsProxy } from "../sandbox/aws-proxy";

const FAKE_SSM_AUTH = "AWS4-HMAC-SHA256 Credential=AKIABENCHFLEET/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=x";

async function motoSsm(motoUrl: string, operation: string, body: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`${motoUrl}/`, {
        method: "POST",
        headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": `AmazonSSM.${operation}`, authorization: FAKE_SSM_AUTH },
        body,
    });
    return { status: res.status, text: await res.text() };
}

/** The emulated fleet's clock and answer schedule. */
export interface SlowFleet {
    /** pass as RotationDeps.sleep: advances the virtual clock and lets servers answer */
    sleep: (ms: number) => Promise<void>;
    /** pass as RotationDeps.now */
    now: () => Date;
    /** virtual milliseconds the handler asked to wait, since the last reset */
    waitedMs(): number;
    /** waits the handler asked for, since the last reset */
    waits(): number;
    /** real time the emulation itself took inside those waits (reading moto, setting results), ms */
    emulationMs(): number;
    resetCounters(): void;
    /** removes the interceptor and turns agent mode off */
    uninstall(): void;
}

/**
 * Installs the emulation on `proxy`. `shareAnsweringPerWait` of each command's servers answer after each
 * wait (0.5 → two poll rounds before everything is in). `failingServers` servers (the first ids of the first
 * command) answer Failed (exit 1) instead of Success.
 */
export function installSlowFleet(proxy: AwsProxy, motoUrl: string, opts: { shareAnsweringPerWait?: number; failingServers?: number } = {}): SlowFleet {
    const shareAnsweringPerWait = opts.shareAnsweringPerWait ?? 0.5;
    let failuresLeft = opts.failingServers ?? 0;
    /** commands sent while installed (older commands in moto are not this fleet's business) → servers answered */
    const answered = new Map<string, Set<string>>();
    let clockMs = 0;
    let waitedMs = 0;
    let waits = 0;
    let emulationMs = 0;
    proxy.agentMode = true;
    const remove = proxy.addInterceptor(async (req) => {
        if (req.service !== "ssm" || req.operation !== "SendCommand") return undefined;
        const upstream = await motoSsm(motoUrl, "SendCommand", req.body);
        if (upstream.status !== 200) return { status: upstream.status, body: upstream.text, headers: { "content-type": "application/x-amz-json-1.1" } };
        const json = JSON.parse(upstream.text);
        answered.set(json.Command.CommandId, new Set());
        Object.assign(json.Command, { Status: "Pending", StatusDetails: "Pending", CompletedCount: 0, ErrorCount: 0 });
        return { status: 200, body: JSON.stringify(json), headers: { "content-type": "application/x-amz-json-1.1" } };
    });
    const answerSome = async () => {
        const { text } = await motoSsm(motoUrl, "ListCommands", "{}");
        for (const cmd of JSON.parse(text).Commands ?? []) {
            const done = answered.get(cmd.CommandId);
            if (!done) continue;
            const ids: string[] = [...(cmd.InstanceIds ?? [])].sort();
            const quota = Math.max(1, Math.ceil(ids.length * shareAnsweringPerWait));
            let n = 0;
            for (const id of ids) {
                if (n >= quota) break;
                if (done.has(id)) continue;
                if (failuresLeft > 0) {
                    failuresLeft--;
                    proxy.setInvocation(cmd.CommandId, id, { status: "Failed", responseCode: 1, stderr: "bench: emulated server failure" });
                } else proxy.setInvocation(cmd.CommandId, id, { status: "Success", responseCode: 0 });
                done.add(id);
                n++;
            }
        }
    };
    return {
        sleep: async (ms: number) => {
            clockMs += ms;
            waitedMs += ms;
            waits++;
            const start = performance.now();
            await answerSome();
            emulationMs += performance.now() - start;
        },
        now: () => new Date(Date.now() + clockMs),
        waitedMs: () => waitedMs,
        waits: () => waits,
        emulationMs: () => emulationMs,
        resetCounters: () => {
            waits = 0;
            waitedMs = 0;
            emulationMs = 0;
        },
        uninstall: () => {
            remove();
            proxy.agentMode = false;
        },
    };
}
