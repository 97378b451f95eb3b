/**
 * The demo's mail servers. Each is a fleet agent (sandbox/fleet-agent.ts: plays the SSM Agent, runs
 * the emitted Postfix document's script in bash, which fetches the credential itself with the aws CLI) in
 * front of either
 *  - a real local Postfix instance (sandbox/postfix.ts), for the first server when Postfix is installed
 *    and the demo runs as root, relaying to the local SES-compatible endpoint; or
 *  - a simulated Postfix: a config dir with main.cf and sasl_passwd, and `postconf`/`postmap`/`postfix`
 *    stand-ins (demo/simulated-postfix/) that implement just what the document calls.
 * The document script itself is the real one either way. `--fail <server>` makes that server's
 * `postfix reload` fail, so the document restores the previous credential and exits non-zero.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { SmtpCredentialValue } from "../runtime/credential";
import { FleetAgent } from "../sandbox/fleet-agent";
import { makeArgvShims, PostfixInstance, postfixInstalled } from "../sandbox/postfix";
import type { Cleanup } from "./cleanup";
import { demoClientConfig, Emulators } from "./emulators";
import type { DemoServer } from "./provision";

/** The stand-in tools: next to this file from a clone (ts-node), in the package's demo/ folder when built into bin/demo/. */
const SIMULATED_POSTFIX_BIN = [path.join(__dirname, "simulated-postfix"), path.join(__dirname, "..", "..", "demo", "simulated-postfix")].find((d) => fs.existsSync(d)) ?? path.join(__dirname, "simulated-postfix");

/** A started server. */
export interface RunningServer {
    server: DemoServer;
    kind: "postfix" | "simulated";
    agent: FleetAgent;
    /** the Postfix configuration dir (main.cf, sasl_passwd) */
    configDir: string;
    /** the relay host key in sasl_passwd */
    relayhost: string;
    postfix?: PostfixInstance;
    /** true when --fail named this server */
    failing: boolean;
}

/** True when this machine can run a real Postfix instance for the demo (installed, and we are root). */
export function canRunRealPostfix(): boolean {
    return postfixInstalled() && process.getuid?.() === 0;
}

/** Starts every server with `initial` installed; registers their stops with `cleanup`. */
export async function startServers(
    cleanup: Cleanup,
    emulators: Emulators,
    servers: DemoServer[],
    initial: SmtpCredentialValue,
    opts: { failServer?: string; realPostfix: boolean },
): Promise<RunningServer[]> {
    const started: RunningServer[] = [];
    for (const [i, server] of servers.entries()) {
        const failing = opts.failServer === server.name;
        const real = opts.realPostfix && i === 0;
        const running = real ? await startRealServer(cleanup, emulators, server, initial, failing) : startSimulatedServer(cleanup, emulators, server, initial, failing);
        started.push(running);
    }
    return started;
}

function agentFor(cleanup: Cleanup, emulators: Emulators, server: DemoServer, env: Record<string, string>): FleetAgent {
    const agent = new FleetAgent({ instanceId: server.serverId, proxy: emulators.proxy, clientConfig: demoClientConfig(emulators), env, pollIntervalMs: 200 });
    agent.start();
    cleanup.add(`agent of ${server.name}`, () => agent.stop());
    return agent;
}

async function startRealServer(cleanup: Cleanup, emulators: Emulators, server: DemoServer, initial: SmtpCredentialValue, failing: boolean): Promise<RunningServer> {
    // Registered before it starts: a Ctrl-C during start-up waits for the start to settle, then stops the
    // instance and removes its directory (nothing is left in the temp folder).
    const postfix = new PostfixInstance({ name: server.name, relay: { host: emulators.ses.host, port: emulators.ses.port }, caPem: emulators.ses.ca });
    let starting: Promise<void> | undefined;
    cleanup.add(`Postfix of ${server.name}`, async () => {
        await starting?.catch(() => undefined);
        await postfix.destroy();
    });
    starting = postfix.start();
    await starting;
    await postfix.installCredential(initial.username, initial.password);
    let PATH = process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin";
    if (failing) {
        const shims = makeArgvShims(postfix.root);
        shims.failReload(true);
        PATH = `${shims.dir}:${PATH}`;
    }
    const agent = agentFor(cleanup, emulators, server, { SES_ROTATOR_POSTFIX_CONFIG_DIR: postfix.configDir, PATH });
    return { server, kind: "postfix", agent, configDir: postfix.configDir, relayhost: postfix.relayhost(), postfix, failing };
}

function startSimulatedServer(cleanup: Cleanup, emulators: Emulators, server: DemoServer, initial: SmtpCredentialValue, failing: boolean): RunningServer {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `ses-demo-${server.name}-`));
    cleanup.add(`files of ${server.name}`, async () => fs.rmSync(root, { recursive: true, force: true }));
    const configDir = path.join(root, "etc");
    fs.mkdirSync(configDir, { mode: 0o755 });
    const relayhost = `[${emulators.ses.host}]:${emulators.ses.port}`;
    const saslPasswd = path.join(configDir, "sasl_passwd");
    fs.writeFileSync(
        path.join(configDir, "main.cf"),
        [`myhostname = ${server.hostname}`, `relayhost = ${relayhost}`, "smtp_sasl_auth_enable = yes", "smtp_sasl_security_options = noanonymous", `smtp_sasl_password_maps = hash:${saslPasswd}`, "smtp_tls_security_level = encrypt", ""].join("\n"),
    );
    // What an administrator installed before any rotation (the simulated postmap's .db is a copy).
    const line = `${relayhost} ${initial.username}:${initial.password}\n`;
    fs.writeFileSync(saslPasswd, line, { mode: 0o600 });
    fs.writeFileSync(`${saslPasswd}.db`, line, { mode: 0o600 });
    if (failing) fs.writeFileSync(path.join(configDir, "fail-reload"), "");
    const agent = agentFor(cleanup, emulators, server, {
        SES_ROTATOR_POSTFIX_CONFIG_DIR: configDir,
        PATH: `${SIMULATED_POSTFIX_BIN}:${process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin"}`,
    });
    return { server, kind: "simulated", agent, configDir, relayhost, failing };
}

/** The SMTP user name (access key id) the server's sasl_passwd holds for its relay host now, if any. */
export function installedUserName(s: RunningServer): string | undefined {
    const file = path.join(s.configDir, "sasl_passwd");
    if (!fs.existsSync(file)) return undefined;
    for (const line of fs.readFileSync(file, "utf8").split("\n")) {
        const [key, value] = line.split(/\s+/);
        if (key === s.relayhost && value) return value.split(":")[0];
    }
    return undefined;
}
