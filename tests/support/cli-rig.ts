/**
 * The sandbox a CLI test runs the real `ses-smtp-rotator` against: the suite's moto + wire proxy (root hook),
 * the SES-compatible SMTP endpoint, an auto-mode rotator provisioned by the demo's builders-based provisioning
 * (IAM user, documents, fleet table, secret), fleet agents running the real Postfix document (simulated Postfix,
 * or a real one for mail-1 when installed and root), and the Secrets Manager rotation bridge
 * (sandbox/rotation-bridge.ts) so the CLI's RotateSecret runs the REAL rotation handler. Emulated: Secrets
 * Manager's Lambda invocation (the bridge) and the SSM results the agents report (the proxy).
 */
import { ChildProcess, spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Cleanup } from "../../demo/cleanup";
import type { Emulators } from "../../demo/emulators";
import { AutoResources, demoClients, DemoClients, demoServers, provisionAuto, provisionShared, SharedResources } from "../../demo/provision";
import { canRunRealPostfix, RunningServer, startServers } from "../../demo/servers";
import { createRotationHandler } from "../../runtime/auto/rotation-handler";
import { createSmtpCheck } from "../../runtime/smtp-check";
import { bridgeRotateSecret, BridgedRotation } from "../../sandbox/rotation-bridge";
import { startSesEndpoint } from "../../sandbox/ses-endpoint";
import { resetAws, testEnv } from "./hooks";
import { leakScanner, scannedLogger } from "./leak-scanner";

const ROOT = path.join(__dirname, "..", "..");

export interface CliRun {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Runs the real CLI (cli/main.ts under ts-node, as `npm run cli` does) as a child process against the sandbox. */
export function runCli(args: string[], opts: { stdin?: string; onSpawn?: (child: ChildProcess) => void } = {}): Promise<CliRun> {
    const env = testEnv();
    const child = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", path.join(ROOT, "cli", "main.ts"), ...args], {
        cwd: ROOT,
        env: { ...process.env, AWS_ENDPOINT_URL: env.endpoint, AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE", AWS_SECRET_ACCESS_KEY: "cli-test", AWS_REGION: "", AWS_PROFILE: "" },
        stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d) => (stdout += d));
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdin!.end(opts.stdin ?? "");
    opts.onSpawn?.(child);
    return new Promise((resolve) =>
        child.on("close", (code) => {
            // What the operator sees is scanned for secrets like every log line of the suite.
            leakScanner.observe(`log cli ${args.join(" ")}`, stdout + stderr);
            // CLI_TRANSCRIPT=<file> keeps what an operator would have seen (for the README and closing notes).
            if (process.env.CLI_TRANSCRIPT) fs.appendFileSync(process.env.CLI_TRANSCRIPT, `$ ses-smtp-rotator ${args.join(" ")}\n${stdout}${stderr}(exit ${code})\n\n`);
            resolve({ code, stdout, stderr });
        }),
    );
}

export interface AutoCliRig {
    emulators: Emulators;
    clients: DemoClients;
    shared: SharedResources;
    auto: AutoResources;
    servers: RunningServer[];
    rotations: BridgedRotation[];
    /** the stack outputs as `pulumi stack output --json` prints them for index.ts's exports */
    outputs: Record<string, unknown>;
    outputsFile: string;
    stop: () => Promise<void>;
}

/** Resets moto and sets up an auto-mode rotator with `count` servers (`failServer`'s postfix reload fails). */
export async function autoCliRig(opts: { servers: number; failServer?: string }): Promise<AutoCliRig> {
    await resetAws();
    const env = testEnv();
    const cleanup = new Cleanup();
    const sesRegion = "eu-west-1";
    const ses = await startSesEndpoint({
        motoUrl: env.moto.url,
        region: sesRegion,
        onAuthenticated: ({ username, at }) => env.proxy.setKeyLastUsed(username, { lastUsedDate: at, serviceName: "ses", region: sesRegion }),
    });
    cleanup.add("SES endpoint", () => ses.stop());
    const emulators: Emulators = { moto: env.moto, proxy: env.proxy, endpoint: env.endpoint, ses, region: env.region, sesRegion };
    const clients = demoClients(emulators);
    const fleet = demoServers(opts.servers);
    const shared = await provisionShared(clients, emulators, "auto", fleet);
    const auto = await provisionAuto(clients, shared);
    const servers = await startServers(cleanup, emulators, fleet, shared.initialCredential, { failServer: opts.failServer, realPostfix: canRunRealPostfix() });
    const handler = createRotationHandler(
        {
            ...clients,
            smtpCheck: createSmtpCheck({ host: ses.host, port: ses.port, tlsMode: "starttls", ca: ses.ca, budgetMs: 20000, initialDelayMs: 200 }),
            fleetPollIntervalMs: 300,
            log: scannedLogger("cli-rig rotation-handler"),
        },
        auto.config,
    );
    const bridge = bridgeRotateSecret(env.proxy, clients.secrets, auto.secretArn, handler);
    cleanup.add("rotation bridge", async () => bridge.dispose());
    const outputs = {
        businessUnit: shared.settings.businessUnit,
        mode: "auto",
        sesRegion,
        smtpUserName: shared.userName,
        alertTopicArn: shared.topicArn,
        postfixDocumentName: shared.documents.postfix,
        iisDocumentName: shared.documents.iis,
        credentialStore: { kind: "secret", secretArn: auto.secretArn },
        secretArn: auto.secretArn,
        rotationFunctionName: "ses-smtp-demo-rotation",
        fleetTarget: { kind: "table", tableName: shared.fleetTableName },
        fleetTableName: shared.fleetTableName,
        rotation: { secretArn: auto.secretArn, rotationFunctionName: "ses-smtp-demo-rotation" },
        firstAccessKeyId: shared.initialCredential.username,
        retirementHeldKeyIds: [],
        retirements: [],
        rotateNowStarted: {},
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cli-test-"));
    cleanup.add("outputs file", async () => fs.rmSync(dir, { recursive: true, force: true }));
    const outputsFile = path.join(dir, "outputs.json");
    fs.writeFileSync(outputsFile, JSON.stringify(outputs, null, 2));
    return { emulators, clients, shared, auto, servers, rotations: bridge.rotations, outputs, outputsFile, stop: () => cleanup.run() };
}
