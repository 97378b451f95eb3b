/**
 * `npm run demo`: rotates the SES SMTP credential of a local mail fleet end to end, with no AWS account.
 * See `demo/options.ts` for the flags and docs/demo.md for a transcript.
 *
 * Everything the demo starts (moto_server, the proxy, the SES endpoint, fleet agents, Postfix, the
 * confirmation web server) is registered with one Cleanup, run on every way out: success, failure, error,
 * Ctrl-C (SIGINT), SIGTERM, SIGHUP.
 */
import { Cleanup } from "./cleanup";
import { DemoOptions, parseDemoOptions, USAGE } from "./options";
import type { RotatorRef } from "../cli/target";
import type { Emulators } from "./emulators";
import type { ManualResources } from "./manual-provision";
import type { DemoResult } from "./result";

/** The demo's stack region and SES region (they may differ, as in production). */
export const DEMO_REGION = "us-east-1";
export const DEMO_SES_REGION = "eu-west-1";

async function runDemo(opts: DemoOptions, cleanup: Cleanup, out: NodeJS.WriteStream): Promise<DemoResult> {
    const say = (text: string) => out.write(`${text}\n`);
    // The first line before anything slow is loaded or started.
    say(`ses-smtp-rotator demo: ${opts.mode} mode, ${opts.servers} server${opts.servers === 1 ? "" : "s"}${opts.failServer ? `, ${opts.failServer} will fail` : ""}. No AWS account is used. Starting local stand-ins for AWS...`);
    // Loaded after the flags are checked, so a typo fails fast.
    const { checkPrerequisites, startEmulators } = await import("./emulators");
    checkPrerequisites();
    const { demoClients, demoServers, provisionAuto, provisionShared } = await import("./provision");
    const { demoRotatorRef } = await import("./status");
    const { canRunRealPostfix, startServers } = await import("./servers");
    const emulators = await startEmulators(cleanup, { region: DEMO_REGION, sesRegion: DEMO_SES_REGION });
    say(`  AWS API emulator (moto_server) ${emulators.moto.url}; reached through a local adapter ${emulators.endpoint} that adds what moto lacks (per-server command results)`);
    say(`  SES-compatible SMTP endpoint ${emulators.ses.host}:${emulators.ses.port} (STARTTLS; accepts only keys Active in moto)`);

    const servers = demoServers(opts.servers);
    const clients = demoClients(emulators);
    const shared = await provisionShared(clients, emulators, opts.mode, servers);
    say(`  provisioned from the components' builders: IAM user ${shared.userName} (+ send policy), topic, SSM documents ${shared.documents.postfix} / ${shared.documents.iis}, fleet table ${shared.fleetTableName}`);

    const realPostfix = opts.realPostfix && canRunRealPostfix();
    const running = await startServers(cleanup, emulators, servers, shared.initialCredential, { failServer: opts.failServer, realPostfix });
    say(
        realPostfix
            ? `  ${servers[0].name} is a REAL local Postfix (instance dir ${running[0].postfix!.root}) relaying to the SES endpoint; the others are simulated Postfix servers. Each has a fleet agent running the real SSM document.`
            : `  all servers are simulated Postfix servers (${opts.realPostfix ? "Postfix is not installed, or the demo is not root" : "--no-postfix"}); each has a fleet agent running the real SSM document.`,
    );

    const labels = running.map((r) => ({ name: r.server.name, label: `${r.server.name} (${r.kind === "postfix" ? "real Postfix" : "simulated"})` }));
    if (opts.mode === "auto") {
        const { AUTO_STEPS, runAutoRotation } = await import("./auto-run");
        const { Progress } = await import("../cli/progress");
        const auto = await provisionAuto(clients, shared);
        say(`  secret ${auto.secretArn} holds the first credential (${shared.initialCredential.username}); rotation Lambda role and policy created`);
        say(`  In production the old key stays Active for an observation window after the switch (default 24 h) and is retired only if IAM saw no use of it; the demo shortens that window to 0.`);
        say("");
        const progress = new Progress(out, out.isTTY === true, [...AUTO_STEPS], labels);
        let result: DemoResult;
        try {
            result = await runAutoRotation({ emulators, clients, shared, auto, servers: running, progress, failServer: opts.failServer });
        } finally {
            progress.finish();
        }
        return withStatus(result, emulators, demoRotatorRef(shared, { secretArn: auto.secretArn }));
    }
    const { runManualDemo } = await import("./manual-run");
    let manual: ManualResources | undefined;
    const result = await runManualDemo({ emulators, clients, shared, servers: running, labels, opts, cleanup, out, onProvisioned: (m) => (manual = m) });
    return manual ? withStatus(result, emulators, demoRotatorRef(shared, { manual })) : result;
}

/** Adds what `ses-smtp-rotator status` reports for the fleet just rotated (read while the emulators still run). */
async function withStatus(result: DemoResult, emulators: Emulators, ref: RotatorRef): Promise<DemoResult> {
    const { demoStatus } = await import("./status");
    return { ...result, status: await demoStatus(emulators, ref) };
}

/** Runs the demo with `argv` (the flags only); exits the process when done. */
export async function demoMain(argv: string[]): Promise<void> {
    let opts: DemoOptions;
    try {
        opts = parseDemoOptions(argv);
    } catch (e) {
        process.stderr.write(`demo: ${(e as Error).message}\n`);
        process.exit(2);
    }
    if (opts.help) {
        process.stdout.write(`${USAGE}\n`);
        return;
    }
    // The AWS SDK's notice that it will need Node 22 in 2027 is noise here.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

    const out = opts.json ? process.stderr : process.stdout;
    const cleanup = new Cleanup();
    // Every abnormal way out stops what the demo started first. (Only SIGKILL cannot be caught: after
    // `kill -9`, moto_server and a real Postfix instance would stay running.)
    let interrupted = false;
    const bail = (why: string, code: number) => {
        if (interrupted) return;
        interrupted = true;
        try {
            process.stderr.write(`\n${why}: stopping everything the demo started...\n`);
        } catch {
            // stderr may be gone too
        }
        void cleanup.run().finally(() => process.exit(code));
    };
    for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(signal, () => bail(signal, 130));
    for (const stream of [process.stdout, process.stderr]) stream.on("error", () => bail("output closed", 1));
    process.on("uncaughtException", (e) => bail(`unexpected error: ${String(e?.stack ?? e)}`, 1));
    process.on("unhandledRejection", (e) => bail(`unexpected error: ${String((e as Error)?.stack ?? e)}`, 1));

    let result: DemoResult | undefined;
    let error: unknown;
    try {
        result = await runDemo(opts, cleanup, out);
    } catch (e) {
        error = e;
    } finally {
        await cleanup.run();
    }
    if (interrupted) return; // the signal handler exits
    if (error || !result) {
        const e = error as Error;
        process.stderr.write(`demo failed: ${process.env.DEMO_DEBUG ? String(e?.stack ?? e) : String(e?.message ?? e)}${process.env.DEMO_DEBUG ? "" : "\n(set DEMO_DEBUG=1 for the stack trace)"}\n`);
        process.exit(1);
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    else {
        process.stdout.write(`${(await import("./result")).summaryLines(result).join("\n")}\n`);
        if (result.status) process.stdout.write(`\n$ ses-smtp-rotator status   (the operator's view of the fleet just rotated)\n${(await import("../cli/render")).renderStatus(result.status)}\n`);
    }
    process.exit(result.asExpected ? 0 : 1);
}

if (require.main === module) void demoMain(process.argv.slice(2));
