/**
 * Command-line flags of the demo (`npm run demo -- ...`, `npx ses-smtp-rotator demo ...`), parsed by
 * commander, the same parser as the operator CLI (cli/main.ts). Every error names the flag.
 */
import { Command, CommanderError, Option } from "commander";

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

/** A flag's value is wrong: the message starts with the flag. */
class FlagError extends Error {}

function fail(flag: string, message: string): never {
    throw new FlagError(`${flag} ${message}`);
}

function integer(flag: string, min: number, max: number, what: string) {
    return (v: string): number => {
        if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) fail(flag, `must be ${what}, got ${JSON.stringify(v)}`);
        return Number(v);
    };
}

function demoCommand(): Command {
    return new Command("demo")
        .usage("[options]   (npm run demo -- [options], or npx ses-smtp-rotator demo [options])")
        .description(
            "Rotates the SES SMTP credential of a local mail fleet end to end, without an AWS account: moto (AWS API " +
                "emulator), a local SES-compatible SMTP endpoint, fleet agents running the real SSM document, and the real " +
                "rotation code. Needs Node >= 20, moto_server (pip install 'moto[server]'), the aws CLI and openssl; a real " +
                "Postfix for mail-1 only when Postfix is installed and the demo runs as root.",
        )
        .addOption(
            new Option("--mode <mode>", "auto: Secrets Manager rotation Lambda, servers updated over SSM. manual: Step Functions workflow; each server's owner confirms on a web page.")
                .default("auto")
                .argParser((v) => (v === "auto" || v === "manual" ? v : fail("--mode", `must be "auto" or "manual", got ${JSON.stringify(v)}`))),
        )
        .addOption(new Option("--servers <N>", `number of mail servers, 1..${MAX_SERVERS}`).default(3).argParser(integer("--servers", 1, MAX_SERVERS, `an integer from 1 to ${MAX_SERVERS}`)))
        .option(
            "--fail <mail-K>",
            "make server mail-K's credential update fail (its postfix reload fails; the SSM document restores the previous credential). auto: the rotation stops before switching; manual: its owner answers \"I could not update\". Either way a safe, stopped rotation: the old key stays Active.",
        )
        .option("--json", "print the result as JSON on stdout (progress goes to stderr)")
        .option("--auto-confirm", "manual mode: confirm every server automatically (no browser needed)")
        .addOption(new Option("--port <P>", "manual mode: port for the confirmation pages on 127.0.0.1 (default: a free port)").argParser(integer("--port", 0, 65535, "a TCP port number (0..65535)")))
        .option("--no-postfix", "use simulated servers only, even when Postfix is installed")
        .helpOption("-h, --help", "this text")
        .addHelpText(
            "after",
            "\nExit status: 0 when the outcome is the expected one (a completed rotation, or with --fail a safe stop),\n1 otherwise, 2 for bad flags, 130 when interrupted (everything started is stopped first).",
        )
        .allowExcessArguments()
        .exitOverride()
        .configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

export const USAGE = demoCommand().helpInformation().trimEnd();

/** Parses argv (without node and the script). Throws an Error whose message names the flag, followed by the usage. */
export function parseDemoOptions(argv: string[]): DemoOptions {
    const cmd = demoCommand();
    try {
        cmd.parse(argv, { from: "user" });
    } catch (e) {
        if (e instanceof CommanderError && e.code === "commander.helpDisplayed") return { ...defaults(), help: true };
        const message = e instanceof FlagError ? e.message : e instanceof CommanderError ? e.message.replace(/^error: /, "") : String(e);
        throw new Error(`${message}\n\n${USAGE}`);
    }
    if (cmd.args.length) throw new Error(`${cmd.args[0]} is not a known option\n\n${USAGE}`);
    const v = cmd.opts();
    const o: DemoOptions = { mode: v.mode, servers: v.servers, failServer: v.fail, json: v.json === true, autoConfirm: v.autoConfirm === true, port: v.port ?? 0, realPostfix: v.postfix, help: false };
    if (o.failServer !== undefined) {
        const names = Array.from({ length: o.servers }, (_, i) => `mail-${i + 1}`);
        if (!names.includes(o.failServer)) fail("--fail", `must name one of the demo's servers (${names.join(", ")}), got ${JSON.stringify(o.failServer)}`);
    }
    if (o.mode === "auto" && (o.autoConfirm || o.port)) fail(o.autoConfirm ? "--auto-confirm" : "--port", "applies to --mode manual only");
    return o;
}

function defaults(): DemoOptions {
    return { mode: "auto", servers: 3, json: false, autoConfirm: false, port: 0, realPostfix: true, help: false };
}
