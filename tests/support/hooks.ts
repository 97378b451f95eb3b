/**
 * Mocha root hooks: one moto_server and one wire proxy for the whole run (sandbox/aws-world.ts, which the
 * benchmark starts the same way outside mocha).
 * Every AWS SDK client in the tests (and the production code they drive) reaches moto through the proxy
 * via AWS_ENDPOINT_URL, with fake credentials.
 */
import { AwsWorld, startAwsWorld } from "../../sandbox/aws-world";

/** The running world (moto, proxy, endpoint, region, ...). */
export type TestEnv = AwsWorld;

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
    await testEnv().reset();
}

/** Common SDK client config for tests (SDK retries off). */
export function clientConfig(region = "us-east-1"): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string }; maxAttempts: number } {
    return testEnv().clientConfig(region, 1);
}

/** The environment of a child process (a Lambda archive run in node) whose SDK reaches the test world as {@link clientConfig} does. */
export function childAwsEnv(extra: Record<string, string> = {}): Record<string, string> {
    const c = clientConfig();
    return {
        PATH: process.env.PATH ?? "",
        AWS_ENDPOINT_URL: c.endpoint,
        AWS_REGION: c.region,
        AWS_ACCESS_KEY_ID: c.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: c.credentials.secretAccessKey,
        AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
        ...extra,
    };
}

/** Starts moto_server and the wire proxy and points the SDK at them (the root hook's beforeAll; mutation runs call it once per worker). */
export async function startTestEnv(): Promise<TestEnv> {
    env = await startAwsWorld({ region: "us-east-1" });
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
        await env.stop();
        env = undefined;
    },
};
