/**
 * The demo's local stand-ins for AWS, started on free loopback ports: moto_server (the AWS API emulator,
 * Step Functions execution on), the wire proxy in front of it (SSM command results reported by the server
 * agents, IAM "last used" after SMTP logins), and the SES-compatible SMTP endpoint (accepts only passwords
 * derived from keys that are Active in moto). The same pieces the test suite uses (sandbox/).
 *
 * Everything started is registered with the demo's Cleanup (./cleanup.ts).
 */
import { spawnSync } from "child_process";
import { AwsProxy } from "../sandbox/aws-proxy";
import { freePort, MotoServer, startMoto } from "../sandbox/moto";
import { SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";
import type { Cleanup } from "./cleanup";

/** Programs the demo runs, and how to get each. */
const REQUIRED_TOOLS: Record<string, string> = {
    moto_server: "the AWS API emulator: pip install 'moto[server]'",
    aws: "the AWS CLI, which the SSM document runs on each server: pip install awscli (or AWS CLI v2)",
    openssl: "makes the SES endpoint's throwaway TLS certificate: apt-get install openssl",
    bash: "runs the SSM document's script",
};

/** Throws one error listing every missing program and how to install it. */
export function checkPrerequisites(): void {
    const missing = Object.entries(REQUIRED_TOOLS).filter(([tool]) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0);
    if (missing.length) throw new Error(`missing on PATH:\n${missing.map(([tool, why]) => `  ${tool}: ${why}`).join("\n")}`);
}

/** The running emulators. */
export interface Emulators {
    moto: MotoServer;
    proxy: AwsProxy;
    /** what SDK clients and the servers' aws CLI use (the proxy) */
    endpoint: string;
    ses: SesEndpoint;
    /** the demo's stack region (where the secret, documents, state machines live) */
    region: string;
    /** the SES region (SMTP passwords are derived for it) */
    sesRegion: string;
}

/** Fake credentials: moto accepts any; nothing here is an AWS account. */
export const DEMO_CREDENTIALS = { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "demo-not-a-secret" };

/** SDK client configuration pointing at the proxy. */
export function demoClientConfig(emulators: Pick<Emulators, "endpoint" | "region">): {
    region: string;
    endpoint: string;
    credentials: typeof DEMO_CREDENTIALS;
    maxAttempts: number;
} {
    return { region: emulators.region, endpoint: emulators.endpoint, credentials: DEMO_CREDENTIALS, maxAttempts: 3 };
}

/** Starts moto, the proxy and the SES endpoint; registers their stops with `cleanup`. */
export async function startEmulators(cleanup: Cleanup, opts: { region: string; sesRegion: string }): Promise<Emulators> {
    // moto's Step Functions interpreter calls Lambda at MOTO_PORT: point it at the proxy (manual mode's bridge).
    const proxyPort = await freePort();
    const moto = await startMoto({ callbackPort: proxyPort });
    cleanup.add("moto_server", () => moto.stop());
    const proxy = new AwsProxy(moto.url);
    const endpoint = await proxy.start(proxyPort);
    cleanup.add("wire proxy", () => proxy.stop());
    const ses = await startSesEndpoint({
        motoUrl: moto.url,
        region: opts.sesRegion,
        // What IAM reports after a login with a key (GetAccessKeyLastUsed): retirement checks it.
        onAuthenticated: ({ username, at }) => proxy.setKeyLastUsed(username, { lastUsedDate: at, serviceName: "ses", region: opts.sesRegion }),
    });
    cleanup.add("SES SMTP endpoint", () => ses.stop());
    return { moto, proxy, endpoint, ses, region: opts.region, sesRegion: opts.sesRegion };
}
