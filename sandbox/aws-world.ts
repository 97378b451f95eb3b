/**
 * The emulated AWS world the tests, the benchmark and the rigs share: one moto_server and one wire proxy
 * (sandbox/aws-proxy.ts) in front of it, moto's Step Functions interpreter calling back through the proxy (so a
 * {@link SfnBridge} on the proxy can answer its Lambda tasks with the real handlers). Every AWS SDK client reaches
 * moto through the proxy via AWS_ENDPOINT_URL, with fake credentials. No test framework here: the tests' mocha
 * root hooks (tests/support/hooks.ts) and the benchmark both start and stop it with these two calls.
 */
import { AwsProxy } from "./aws-proxy";
import { freePort, MotoServer, resetMoto, startMoto } from "./moto";

/** Credentials moto accepts; never real ones. */
export const EMULATOR_CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "test-secret" };

/** SDK client settings that reach moto through the proxy. */
export interface EmulatorClientConfig {
    region: string;
    endpoint: string;
    credentials: { accessKeyId: string; secretAccessKey: string };
    maxAttempts: number;
}

/** A running moto + proxy pair. */
export interface AwsWorld {
    moto: MotoServer;
    proxy: AwsProxy;
    /** the endpoint SDK clients use (the proxy) */
    endpoint: string;
    region: string;
    /** SDK client settings for `region` (default the world's), SDK retries off unless `maxAttempts` says */
    clientConfig(region?: string, maxAttempts?: number): EmulatorClientConfig;
    /** clears moto and the proxy's rules, overlays and call record */
    reset(): Promise<void>;
    /** stops the proxy and moto */
    stop(): Promise<void>;
}

/**
 * Starts moto (its Step Functions interpreter calling back through the proxy) and the wire proxy, and points the
 * process's AWS_ENDPOINT_URL at the proxy. AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION are set to fake
 * values only where unset.
 */
export async function startAwsWorld(opts: { region?: string } = {}): Promise<AwsWorld> {
    const region = opts.region ?? "us-east-1";
    // The AWS SDK warns once per process that releases after January 2027 will need Node 22 (the Lambdas run
    // nodejs22.x; tests and tools run on the machine's Node 20). The SDK's own switch silences only that notice.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
    process.env.AWS_ACCESS_KEY_ID ??= EMULATOR_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY ??= EMULATOR_CREDENTIALS.secretAccessKey;
    process.env.AWS_REGION ??= region;
    // moto's Step Functions interpreter calls back through the proxy (recorded, bridgeable): see startMoto.
    const proxyPort = await freePort();
    const moto = await startMoto({ callbackPort: proxyPort });
    const proxy = new AwsProxy(moto.url);
    let endpoint: string;
    try {
        endpoint = await proxy.start(proxyPort);
    } catch (e) {
        await moto.stop();
        throw e;
    }
    process.env.AWS_ENDPOINT_URL = endpoint;
    return {
        moto,
        proxy,
        endpoint,
        region,
        clientConfig: (r = region, maxAttempts = 1) => ({ region: r, endpoint, credentials: { ...EMULATOR_CREDENTIALS }, maxAttempts }),
        reset: async () => {
            proxy.reset();
            await resetMoto(moto.url);
        },
        stop: async () => {
            await proxy.stop();
            await moto.stop();
        },
    };
}
