/**
 * Mocha root hooks: one moto_server and one wire proxy for the whole run.
 * Every AWS SDK client in the tests (and the production code they drive) reaches moto through the proxy
 * via AWS_ENDPOINT_URL, with fake credentials.
 */
import { AwsProxy } from "../../sandbox/aws-proxy";
import { freePort, MotoServer, resetMoto, startMoto } from "../../sandbox/moto";

export interface TestEnv {
    moto: MotoServer;
    proxy: AwsProxy;
    /** the endpoint SDK clients use (the proxy) */
    endpoint: string;
    region: string;
}

let env: TestEnv | undefined;

// The AWS SDK warns once per process that releases after January 2027 will need Node 22 (the Lambdas run
// nodejs22.x; tests and tools run on the machine's Node 20). The SDK's own switch silences only that notice.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

export function testEnv(): TestEnv {
    if (!env) throw new Error("test environment not started (tests/support/hooks.ts is a mocha root hook)");
    return env;
}

/** Clears moto and the proxy's rules, overlays and call record. */
export async function resetAws(): Promise<void> {
    const e = testEnv();
    e.proxy.reset();
    await resetMoto(e.moto.url);
}

/** Common SDK client config for tests. */
export function clientConfig(region = "us-east-1"): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string }; maxAttempts: number } {
    return {
        region,
        endpoint: testEnv().endpoint,
        credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "test-secret" },
        maxAttempts: 1,
    };
}

/** Starts moto_server and the wire proxy and points the SDK at them (the root hook's beforeAll). */
export async function startTestEnv(): Promise<TestEnv> {
    process.env.AWS_ACCESS_KEY_ID ??= "AKIAIOSFODNN7EXAMPLE";
    process.env.AWS_SECRET_ACCESS_KEY ??= "test-secret";
    process.env.AWS_REGION ??= "us-east-1";
    // moto's Step Functions interpreter calls back through the proxy (recorded, bridgeable): see startMoto.
    const proxyPort = await freePort();
    const moto = await startMoto({ callbackPort: proxyPort });
    const proxy = new AwsProxy(moto.url);
    const endpoint = await proxy.start(proxyPort);
    process.env.AWS_ENDPOINT_URL = endpoint;
    env = { moto, proxy, endpoint, region: "us-east-1" };
    return env;
}

/** true while the environment startTestEnv started is up (the root afterAll stops it) */
export function testEnvStarted(): boolean {
    return env !== undefined;
}

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(60000);
        await startTestEnv();
    },
    async afterAll() {
        if (!env) return;
        await env.proxy.stop();
        await env.moto.stop();
        env = undefined;
    },
};
