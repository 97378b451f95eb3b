/**
 * The benchmark's AWS side: the same moto_server and wire proxy the tests use (sandbox/aws-world.ts), started
 * outside mocha, plus a per-operation timer on SDK clients so handler time can be split into time spent
 * waiting for the emulator and the handler's own time.
 */
import { AwsWorld, EMULATOR_CREDENTIALS, startAwsWorld } from "../sandbox/aws-world";

/** A running moto + proxy pair and the SDK client settings that reach moto through the proxy. */
export interface BenchAws extends Pick<AwsWorld, "moto" | "proxy" | "region" | "reset" | "stop"> {
    /** SDK client config (endpoint = the proxy, fake credentials, SDK retries on as in Lambda) */
    clientConfig(): ReturnType<AwsWorld["clientConfig"]>;
}

/** Starts moto (Step Functions execution enabled) and the wire proxy; sets AWS_* env for code that builds its own clients. */
export async function startBenchAws(region = "us-east-1"): Promise<BenchAws> {
    process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
    // moto's documented switch: without its ~1,200 default AMIs, each RunInstances instance skips a filter over
    // all of them (the bench's instances use an image id moto does not validate, as the tests do).
    process.env.MOTO_EC2_LOAD_DEFAULT_AMIS = "false";
    // Fake credentials whatever the shell holds: nothing here may reach an AWS account.
    process.env.AWS_ACCESS_KEY_ID = EMULATOR_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = EMULATOR_CREDENTIALS.secretAccessKey;
    process.env.AWS_REGION = region;
    const world = await startAwsWorld({ region });
    return { moto: world.moto, proxy: world.proxy, region, reset: world.reset, stop: world.stop, clientConfig: () => world.clientConfig(region, 3) };
}

/**
 * Client-side time spent in SDK calls, per operation (includes the emulator's and the proxy's time). Calls
 * may overlap (the fan-out sends several at once), so the total is the union of the call intervals.
 */
export class CallTimer {
    private readonly ms = new Map<string, number>();
    private readonly count = new Map<string, number>();
    private intervals: [number, number][] = [];

    /** Adds a middleware to the client that times every command from the SDK's first step to its result. */
    instrument<C extends { middlewareStack: { add: (mw: any, opts: any) => void } }>(client: C, service: string): C {
        client.middlewareStack.add(
            (next: (args: any) => Promise<any>, context: { commandName?: string }) => async (args: any) => {
                const start = performance.now();
                try {
                    return await next(args);
                } finally {
                    const end = performance.now();
                    this.intervals.push([start, end]);
                    const key = `${service}:${(context.commandName ?? "unknown").replace(/Command$/, "")}`;
                    this.ms.set(key, (this.ms.get(key) ?? 0) + performance.now() - start);
                    this.count.set(key, (this.count.get(key) ?? 0) + 1);
                }
            },
            { step: "initialize", name: "benchCallTimer", priority: "high" },
        );
        return client;
    }

    /** Wall time during which at least one SDK call was in flight (ms). */
    totalMs(): number {
        const sorted = [...this.intervals].sort((a, b) => a[0] - b[0]);
        let total = 0;
        let curStart = -Infinity;
        let curEnd = -Infinity;
        for (const [s, e] of sorted) {
            if (s > curEnd) {
                if (curEnd > curStart) total += curEnd - curStart;
                curStart = s;
                curEnd = e;
            } else curEnd = Math.max(curEnd, e);
        }
        if (curEnd > curStart) total += curEnd - curStart;
        return total;
    }

    byOperation(): Record<string, { calls: number; ms: number }> {
        const out: Record<string, { calls: number; ms: number }> = {};
        for (const [k, v] of this.ms) out[k] = { calls: this.count.get(k) ?? 0, ms: v };
        return out;
    }

    reset(): void {
        this.intervals = [];
        this.ms.clear();
        this.count.clear();
    }
}
