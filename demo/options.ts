/**
 * Command-line flags of `npm run demo`. Every error names the flag.
 */

export interface DemoOptions {
    mode: "auto" | "manual";
    /** number of mail servers (1..20) */
    servers: number;
    /** a server name (mail-N) whose update fails */
    failServer?: string;
    /** machine-readable result on stdout (progress goes to stderr) */
    json: boolean;
    /** manual mode: confirm every server as its owner would, without a browser */
    autoConfirm: boolean;
    /** manual mode: port of the confirmation pages (0 = any free port) */
    port: number;
    /** use a real local Postfix for mail-1 when one is installed (default true) */
    realPostfix: boolean;
    help: boolean;
}

export const MAX_SERVERS = 20;

export const USAGE = `Usage: npm run demo -- [options]

Rotates the SES SMTP credential of a local mail fleet end to end, without an AWS account: moto (AWS API
emulator), a local SES-compatible SMTP endpoint, fleet agents running the real SSM document, and the real
rotation code.

Options:
  --mode auto|manual   auto (default): Secrets Manager rotation Lambda, servers updated over SSM.
                       manual: Step Functions workflow; each server's owner confirms on a web page.
  --servers N          number of mail servers, 1..${MAX_SERVERS} (default 3)
  --fail mail-K        make server mail-K's credential update fail (its postfix reload fails; the SSM
                       document restores the previous credential). auto: the rotation stops before
                       switching; manual: its owner answers "I could not update". Either way a safe,
                       stopped rotation: the old key stays Active.
  --json               print the result as JSON on stdout (progress goes to stderr)
  --auto-confirm       manual mode: confirm every server automatically (no browser needed)
  --port P             manual mode: port for the confirmation pages on 127.0.0.1 (default: a free port)
  --no-postfix         use simulated servers only, even when Postfix is installed
  -h, --help           this text

Exit status: 0 when the outcome is the expected one (a completed rotation, or with --fail a safe stop),
1 otherwise, 2 for bad flags, 130 when interrupted (everything started is stopped first).`;

function fail(flag: string, message: string): never {
    throw new Error(`${flag} ${message}\n\n${USAGE}`);
}

/** Parses argv (without node and the script). */
export function parseDemoOptions(argv: string[]): DemoOptions {
    const o: DemoOptions = { mode: "auto", servers: 3, json: false, autoConfirm: false, port: 0, realPostfix: true, help: false };
    const args = [...argv];
    while (args.length) {
        const arg = args.shift()!;
        const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
        const value = () => {
            const v = inline ?? args.shift();
            if (v === undefined || v === "") fail(flag, "needs a value");
            return v;
        };
        switch (flag) {
            case "--mode": {
                const v = value();
                if (v !== "auto" && v !== "manual") fail("--mode", `must be "auto" or "manual", got ${JSON.stringify(v)}`);
                o.mode = v;
                break;
            }
            case "--servers": {
                const v = value();
                const n = Number(v);
                if (!/^\d+$/.test(v) || n < 1 || n > MAX_SERVERS) fail("--servers", `must be an integer from 1 to ${MAX_SERVERS}, got ${JSON.stringify(v)}`);
                o.servers = n;
                break;
            }
            case "--fail":
                o.failServer = value();
                break;
            case "--port": {
                const v = value();
                const n = Number(v);
                if (!/^\d+$/.test(v) || n > 65535) fail("--port", `must be a TCP port number (0..65535), got ${JSON.stringify(v)}`);
                o.port = n;
                break;
            }
            case "--json":
                o.json = true;
                break;
            case "--auto-confirm":
                o.autoConfirm = true;
                break;
            case "--no-postfix":
                o.realPostfix = false;
                break;
            case "-h":
            case "--help":
                o.help = true;
                break;
            default:
                fail(arg, "is not a known option");
        }
    }
    if (o.failServer !== undefined) {
        const names = Array.from({ length: o.servers }, (_, i) => `mail-${i + 1}`);
        if (!names.includes(o.failServer)) fail("--fail", `must name one of the demo's servers (${names.join(", ")}), got ${JSON.stringify(o.failServer)}`);
    }
    if (o.mode === "auto" && (o.autoConfirm || o.port)) fail(o.autoConfirm ? "--auto-confirm" : "--port", "applies to --mode manual only");
    return o;
}
