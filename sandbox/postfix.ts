/**
 * Real Postfix instances for the end-to-end tests. Each instance has its own config, queue and data
 * directories under a temp dir (so several run at once, like `postmulti` instances), no SMTP listener (mail
 * is submitted with `sendmail -C DIR`, i.e. postdrop + pickup), and relays everything to the local
 * SES-compatible endpoint configured as the AWS docs configure Postfix for SES: relayhost `[host]:port`,
 * TLS required (`smtp_tls_security_level = encrypt`), SASL on, `noanonymous`, `hash:` password map.
 * There is no syslog here: Postfix logs to `DIR/maillog` through its own postlogd (`maillog_file`).
 *
 * Needs root (`postfix start`) and Debian's postfix + libsasl2-modules (scripts/install-system-packages.sh).
 */
import { execFile, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/** True when the Postfix binaries the harness needs are installed. */
export function postfixInstalled(): boolean {
    return ["postfix", "postconf", "postmap", "postqueue", "sendmail"].every((tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0);
}

/**
 * Call in a `before` hook: skips the suite when Postfix is missing, except under CI=true where a missing
 * Postfix is a failure (the CI script installs it).
 */
export function requirePostfix(ctx: { skip(): void }): void {
    if (postfixInstalled() && process.getuid?.() === 0) return;
    const why = postfixInstalled() ? "the Postfix tests need root (postfix start)" : "Postfix is not installed (run scripts/install-system-packages.sh)";
    if (process.env.CI === "true") throw new Error(`${why}; under CI=true this is a failure, not a skip`);
    ctx.skip();
}

/** How to build one test Postfix instance. */
export interface PostfixOptions {
    /** short instance name; also the host part of myhostname (`<name>.e2e.test`) */
    name: string;
    /** the relay host (the SES-compatible endpoint): host and STARTTLS port */
    relay: { host: string; port: number };
    /** PEM of the CA that signed the relay's certificate (smtp_tls_CAfile) */
    caPem: string;
    /** override smtp_sasl_password_maps (e.g. to point at a broken path); default hash:<configDir>/sasl_passwd */
    saslPasswordMaps?: string;
}

/** One queued message as `postqueue -j` reports it. */
export interface QueueEntry {
    queue_name: string;
    queue_id: string;
    sender: string;
    recipients: Array<{ address: string; delay_reason?: string }>;
}

/** One delivery attempt from the mail log. */
export interface DeliveryRecord {
    queueId: string;
    to: string;
    relay: string;
    /** sent | deferred | bounced | expired */
    status: string;
    detail: string;
}

/** One Postfix instance of its own (config, queue, data dirs and mail log under `root`); see startPostfix. */
export class PostfixInstance {
    readonly root: string;
    readonly configDir: string;
    readonly queueDir: string;
    readonly dataDir: string;
    readonly mailLog: string;
    readonly saslPasswdPath: string;
    readonly hostname: string;

    constructor(readonly options: PostfixOptions) {
        if (!/^[a-z][a-z0-9-]{0,30}$/.test(options.name)) throw new Error(`PostfixInstance: name ${JSON.stringify(options.name)} must be a short host label`);
        this.root = fs.mkdtempSync(path.join(os.tmpdir(), `postfix-${options.name}-`));
        fs.chmodSync(this.root, 0o755);
        this.configDir = path.join(this.root, "etc");
        this.queueDir = path.join(this.root, "queue");
        this.dataDir = path.join(this.root, "data");
        this.mailLog = path.join(this.root, "maillog");
        this.saslPasswdPath = path.join(this.configDir, "sasl_passwd");
        this.hostname = `${options.name}.e2e.test`;
    }

    /** Writes main.cf/master.cf, creates the directories and starts the instance. */
    async start(): Promise<void> {
        for (const d of [this.configDir, this.queueDir, this.dataDir]) fs.mkdirSync(d, { recursive: true });
        fs.chownSync(this.dataDir, uid("postfix"), gid("postfix"));
        fs.writeFileSync(path.join(this.configDir, "relay-ca.pem"), this.options.caPem, { mode: 0o644 });
        fs.writeFileSync(path.join(this.configDir, "main.cf"), this.mainCf());
        fs.writeFileSync(path.join(this.configDir, "master.cf"), masterCf());
        await run("postfix", ["-c", this.configDir, "check"]);
        await run("postfix", ["-c", this.configDir, "start"]);
        await waitUntil(() => this.running(), 20000, `postfix ${this.options.name} to start`);
    }

    /** Stops the instance (waiting until its master is gone) and removes its directories. */
    async destroy(): Promise<void> {
        if (await this.running()) {
            await run("postfix", ["-c", this.configDir, "stop"]).catch(() => undefined);
            await waitUntil(async () => !(await this.running()), 20000, `postfix ${this.options.name} to stop`);
        }
        fs.rmSync(this.root, { recursive: true, force: true });
    }

    async running(): Promise<boolean> {
        return run("postfix", ["-c", this.configDir, "status"]).then(
            () => true,
            () => false,
        );
    }

    /** Installs a credential the way an administrator does before any rotation (sasl_passwd + postmap, mode 0600). */
    async installCredential(username: string, password: string): Promise<void> {
        const relayhost = this.relayhost();
        fs.writeFileSync(this.saslPasswdPath, `${relayhost} ${username}:${password}\n`, { mode: 0o600 });
        await run("postmap", ["-c", this.configDir, `hash:${this.saslPasswdPath}`]);
    }

    relayhost(): string {
        return `[${this.options.relay.host}]:${this.options.relay.port}`;
    }

    /** Submits one message with sendmail -C (postdrop; no SMTP listener involved). */
    submit(msg: { from?: string; to: string; subject: string; body?: string }): Promise<void> {
        const from = msg.from ?? `app@${this.hostname}`;
        const text = `From: ${from}\nTo: ${msg.to}\nSubject: ${msg.subject}\n\n${msg.body ?? msg.subject}\n`;
        return new Promise((resolve, reject) => {
            const child = spawn("sendmail", ["-C", this.configDir, "-f", from, "-i", msg.to], { stdio: ["pipe", "ignore", "pipe"] });
            let stderr = "";
            child.stderr.on("data", (d) => (stderr += d));
            child.on("error", reject);
            child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`sendmail -C ${this.configDir} exited ${code}: ${stderr}`))));
            child.stdin.end(text);
        });
    }

    /** The queue as `postqueue -j` reports it (empty array = nothing queued). */
    async queue(): Promise<QueueEntry[]> {
        const out = await run("postqueue", ["-c", this.configDir, "-j"]);
        return out
            .split("\n")
            .filter((l) => l.trim())
            .map((l) => JSON.parse(l) as QueueEntry);
    }

    /** Asks Postfix to retry deferred mail now (postqueue -f). */
    async flush(): Promise<void> {
        await run("postqueue", ["-c", this.configDir, "-f"]);
    }

    maillog(): string {
        return fs.existsSync(this.mailLog) ? fs.readFileSync(this.mailLog, "utf8") : "";
    }

    /** Delivery attempts (smtp lines with status=) from the mail log. */
    deliveries(): DeliveryRecord[] {
        const out: DeliveryRecord[] = [];
        const re = /postfix\/smtp\[\d+\]: ([0-9A-F]+): to=<([^>]*)>, relay=(\S+), .*?status=(\w+) \((.*)\)$/;
        for (const line of this.maillog().split("\n")) {
            const m = re.exec(line);
            if (m) out.push({ queueId: m[1], to: m[2], relay: m[3].replace(/,$/, ""), status: m[4], detail: m[5] });
        }
        return out;
    }

    postconf(parameter: string): Promise<string> {
        return run("postconf", ["-c", this.configDir, "-h", parameter]).then((s) => s.trim());
    }

    private mainCf(): string {
        const c = this.configDir;
        const settings: Array<[string, string]> = [
            ["compatibility_level", "3.6"],
            ["queue_directory", this.queueDir],
            ["data_directory", this.dataDir],
            ["myhostname", this.hostname],
            ["mydomain", "e2e.test"],
            ["myorigin", "$myhostname"],
            ["mydestination", ""],
            ["local_transport", "error:local delivery is disabled"],
            ["alias_maps", ""],
            ["alias_database", ""],
            ["inet_interfaces", "loopback-only"],
            ["inet_protocols", "ipv4"],
            ["maillog_file", this.mailLog],
            ["maillog_file_prefixes", this.root],
            // As the AWS docs configure Postfix for SES:
            ["relayhost", this.relayhost()],
            ["smtp_sasl_auth_enable", "yes"],
            ["smtp_sasl_security_options", "noanonymous"],
            ["smtp_sasl_password_maps", this.options.saslPasswordMaps ?? `hash:${c}/sasl_passwd`],
            ["smtp_tls_security_level", "encrypt"],
            ["smtp_tls_note_starttls_offer", "yes"],
            ["smtp_tls_CAfile", `${c}/relay-ca.pem`],
            // Test pacing: one SMTP session (and AUTH) per message, so the endpoint's record attributes each
            // message to the key it was sent with; deferred mail is retried within seconds.
            ["smtp_connection_cache_on_demand", "no"],
            ["queue_run_delay", "1s"],
            ["minimal_backoff_time", "1s"],
            ["maximal_backoff_time", "2s"],
        ];
        return settings.map(([k, v]) => `${k} = ${v}`).join("\n") + "\n";
    }
}

/** Starts a Postfix instance of its own; destroy() it in an after hook. */
export async function startPostfix(options: PostfixOptions): Promise<PostfixInstance> {
    const instance = new PostfixInstance(options);
    try {
        await instance.start();
    } catch (e) {
        await instance.destroy().catch(() => undefined);
        throw e;
    }
    return instance;
}

/** Debian's master.cf without the port-25 listener and without chroot (the queue dir has no chroot tree). */
function masterCf(): string {
    const installed = ["/etc/postfix/master.cf", "/usr/share/postfix/master.cf.dist"].find((f) => fs.existsSync(f));
    if (!installed) throw new Error("Postfix's master.cf is not installed (/etc/postfix/master.cf, /usr/share/postfix/master.cf.dist)");
    const base = fs.readFileSync(installed, "utf8");
    return base
        .split("\n")
        .filter((line) => !/^smtp\s+inet\s/.test(line))
        .map((line) => {
            const f = line.split(/\s+/);
            if (/^[a-z]/.test(line) && f.length >= 8 && f[4] === "y") {
                f[4] = "n";
                return f.join(" ");
            }
            return line;
        })
        .join("\n");
}

function uid(user: string): number {
    return Number(spawnSync("id", ["-u", user], { encoding: "utf8" }).stdout.trim());
}

function gid(user: string): number {
    return Number(spawnSync("id", ["-g", user], { encoding: "utf8" }).stdout.trim());
}

/** Runs a Postfix tool asynchronously (the SES endpoint and the proxy live in this process). */
export function run(cmd: string, args: string[], env?: Record<string, string>): Promise<string> {
    return new Promise((resolve, reject) => {
        execFile(cmd, args, { env: env ? { ...process.env, ...env } : process.env, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            if (err) reject(new Error(`${cmd} ${args.join(" ")} failed: ${stderr || err.message}`));
            else resolve(stdout);
        });
    });
}

/** Polls `condition` until it holds; throws naming `what` after `deadlineMs`. */
export async function waitUntil(condition: () => boolean | Promise<boolean>, deadlineMs: number, what: string): Promise<void> {
    const until = Date.now() + deadlineMs;
    for (;;) {
        if (await condition()) return;
        if (Date.now() > until) throw new Error(`timed out after ${deadlineMs} ms waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
    }
}

/**
 * Submits one message tagged `subject` and waits until the SES endpoint received it; returns what the
 * endpoint recorded (including the access key id the Postfix session authenticated with).
 */
export async function mailAndAwait<M extends { data: string; username: string }>(
    postfix: PostfixInstance,
    endpoint: { messages: M[] },
    subject: string,
    deadlineMs = 120000,
): Promise<M> {
    await postfix.submit({ to: "someone@example.com", subject });
    const has = () => endpoint.messages.find((m) => m.data.includes(`Subject: ${subject}\r\n`) || m.data.includes(`Subject: ${subject}\n`));
    await waitUntil(() => has() !== undefined, deadlineMs, `"${subject}" to arrive from ${postfix.hostname} (queue: ${postfix.maillog().split("\n").slice(-3).join(" | ")})`);
    return has()!;
}

/** Base names of the files under `dir` (recursively) whose bytes contain any of `secrets`. */
export function filesHolding(dir: string, secrets: string[]): string[] {
    const out: string[] = [];
    const walk = (d: string) => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
            const p = path.join(d, e.name);
            if (e.isDirectory()) walk(p);
            else if (e.isFile()) {
                const text = fs.readFileSync(p, "latin1");
                if (secrets.some((s) => text.includes(s))) out.push(e.name);
            }
        }
    };
    walk(dir);
    return out.sort();
}

/** Tools the Postfix document runs; the argv shims wrap each of them. */
const SHIMMED_TOOLS = ["postconf", "postmap", "postfix", "aws", "mktemp", "chmod", "mv", "rm", "cat", "dirname", "flock"];

/**
 * PATH shims for every external command the Postfix document runs: each records its argv (one line per
 * call, fields separated by \x1f) and then execs the real tool, so a test can prove no secret was ever a
 * process argument (what `ps` would show). `failReload(true)` makes `postfix ... reload` fail, to exercise
 * the script's restore path on real Postfix without touching the script.
 */
export function makeArgvShims(root: string): { dir: string; log(): string[][]; failReload(on: boolean): void } {
    const dir = path.join(root, "shims");
    fs.mkdirSync(dir, { recursive: true });
    const logFile = path.join(dir, "argv.log");
    const flag = path.join(dir, "fail-reload");
    for (const tool of SHIMMED_TOOLS) {
        const real = spawnSync("sh", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
        if (!real) throw new Error(`makeArgvShims: ${tool} is not installed`);
        const failReload = tool === "postfix" ? `if [ -e '${flag}' ] && [ "\${3:-}" = reload ]; then echo "postfix: reload refused (test shim)" >&2; exit 1; fi\n` : "";
        fs.writeFileSync(
            path.join(dir, tool),
            `#!/bin/bash\n{ printf '%s\\x1f' ${tool} "$@"; printf '\\n'; } >>'${logFile}'\n${failReload}exec '${real}' "$@"\n`,
            { mode: 0o755 },
        );
    }
    return {
        dir,
        log: () =>
            (fs.existsSync(logFile) ? fs.readFileSync(logFile, "utf8") : "")
                .split("\n")
                .filter(Boolean)
                .map((l) => l.split("\x1f").filter((_, i, a) => i < a.length - 1 || a[i] !== "")),
        failReload: (on) => (on ? fs.writeFileSync(flag, "") : fs.rmSync(flag, { force: true })),
    };
}
