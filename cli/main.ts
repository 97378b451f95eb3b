#!/usr/bin/env node
/**
 * `ses-smtp-rotator`: the operator's command line. Parses flags and prints; the work is done by the
 * functions of this folder over injected SDK clients (status.ts, rotate.ts, check.ts, servers.ts).
 *
 * Exit codes: status 0 healthy / 1 warning / 2 last rotation failed; rotate --wait 0 done / 2 failed /
 * 130 watch interrupted (the rotation goes on); check 0 all pass / 2 a server would fail;
 * 3 the command could not do its work (AWS error, missing rotator); 64 bad flags.
 */
import * as fs from "fs";
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";

/** Usage errors (bad or missing flags) exit with this code. */
export const EXIT_USAGE = 64;
/** The command could not do its work. */
export const EXIT_ERROR = 3;

interface Globals {
    profile?: string;
    region?: string;
    outputs?: string;
    unit?: string;
    json?: boolean;
}

function positiveInt(flag: string) {
    return (v: string): number => {
        if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
        return Number(v);
    };
}

async function context(g: Globals) {
    if (!g.outputs && !g.unit) throw new UsageError("say which rotator: --outputs <file|-> (pulumi stack output --json) or --unit <business unit>");
    if (g.outputs && g.unit) throw new UsageError("--outputs and --unit are alternatives: pass one");
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
    const { createClients } = await import("./clients");
    const clients = createClients({ profile: g.profile, region: g.region });
    const { rotatorFromOutputs, rotatorFromUnit } = await import("./target");
    let ref;
    if (g.outputs) {
        let text: string;
        try {
            text = fs.readFileSync(g.outputs === "-" ? 0 : g.outputs, "utf8");
        } catch (e) {
            throw new UsageError(`--outputs ${g.outputs}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
        }
        ref = rotatorFromOutputs(text, g.outputs === "-" ? "stdin" : g.outputs);
    } else ref = await rotatorFromUnit(clients, g.unit!);
    const region = g.region ?? (await clients.ssm.config.region());
    return { clients, ref, region };
}

class UsageError extends Error {}

function print(json: boolean | undefined, data: unknown, text: () => string): void {
    process.stdout.write(json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
}

export function buildProgram(): Command {
    const program = new Command("ses-smtp-rotator")
        .description("Operate an SES SMTP credential rotator: its status, a rotation, a preflight check of the fleet, the fleet itself.")
        .option("--outputs <file>", "the stack outputs as `pulumi stack output --json` prints them (a file, or - for stdin)")
        .option("--unit <name>", "find the rotator by business unit (the ses-rotator:business-unit tag)")
        .option("--profile <name>", "AWS profile (otherwise the SDK's default credential chain)")
        .option("--region <region>", "AWS region of the rotator's stack (otherwise AWS_REGION / the profile's region)")
        .option("--json", "machine-readable output on stdout")
        .showHelpAfterError()
        .exitOverride();
    program.configureOutput({ outputError: (text, write) => write(text) });

    program
        .command("status")
        .description("credential, access keys, retirements, the last rotation per server; exit 0 healthy, 1 warning, 2 last rotation failed")
        .addOption(new Option("--max-age-days <n>", "warn when the credential is older (default: the rotation schedule)").argParser(positiveInt("--max-age-days")))
        .action(async (o: { maxAgeDays?: number }) => {
            const g = program.opts<Globals>();
            const { clients, ref } = await context(g);
            const { gatherStatus } = await import("./status");
            const s = await gatherStatus(clients, ref, { maxAgeDays: o.maxAgeDays });
            const { renderStatus } = await import("./render");
            print(g.json, s, () => renderStatus(s));
            process.exitCode = s.exitCode;
        });

    program
        .command("servers")
        .description("the fleet as the rotator sees it: software, owner, SSM ping status, platform")
        .action(async () => {
            const g = program.opts<Globals>();
            const { clients, ref } = await context(g);
            const { describeTarget, listServers } = await import("./servers");
            const servers = await listServers(clients, ref);
            const { renderServers } = await import("./render");
            print(g.json, { fleet: ref.fleetTarget, servers }, () => renderServers(servers, describeTarget(ref.fleetTarget)));
        });

    program
        .command("check")
        .description("preflight: run the SSM documents in check mode on every server (changes nothing); exit 2 if any server would fail")
        .addOption(new Option("--timeout <seconds>", "how long to wait for the servers' answers").default(300).argParser(positiveInt("--timeout")))
        .action(async (o: { timeout: number }) => {
            const g = program.opts<Globals>();
            const { clients, ref, region } = await context(g);
            const { runCheck } = await import("./check");
            const r = await runCheck(clients, ref, { region, deadline: new Date(Date.now() + o.timeout * 1000), pollMs: 1000 });
            const { renderCheck } = await import("./render");
            print(g.json, r, () => renderCheck(r));
            process.exitCode = r.exitCode;
        });

    program
        .command("rotate")
        .description("start a rotation now (auto: RotateSecret; manual: the starter); --wait follows it to the end")
        .option("--wait", "follow the rotation with live progress until it ends (Ctrl-C stops watching, not the rotation)")
        .addOption(new Option("--timeout <seconds>", "with --wait: stop watching after this long").default(3600).argParser(positiveInt("--timeout")))
        .action(async (o: { wait?: boolean; timeout: number }) => {
            const g = program.opts<Globals>();
            const { clients, ref } = await context(g);
            const { startRotation, watchAgainHint, watchRotation, AUTO_STEPS } = await import("./rotate");
            const started = await startRotation(clients, ref);
            const log = g.json ? process.stderr : process.stdout;
            log.write(started.mode === "auto" ? `rotation of ${ref.businessUnit} started: secret version ${started.versionId}\n` : `rotation of ${ref.businessUnit} started: execution ${started.name}\n`);
            if (!o.wait) {
                print(g.json, started, () => "follow it with: ses-smtp-rotator status (or rotate --wait next time)");
                return;
            }
            const { Progress } = await import("./progress");
            const progress = new Progress(log, log.isTTY === true, started.mode === "auto" ? [...AUTO_STEPS] : [], []);
            let stopped = false;
            process.once("SIGINT", () => {
                stopped = true;
                progress.finish();
                process.stderr.write(`\nstopped watching; ${watchAgainHint(started)}\n`);
                process.exit(130);
            });
            const outcome = await watchRotation(clients, ref, started, progress, { pollMs: 1000, deadline: new Date(Date.now() + o.timeout * 1000), stopped: () => stopped });
            progress.finish();
            print(g.json, { started, ...outcome }, () => (outcome.ok ? "rotation complete" : outcome.unfinished ? `stopped watching: ${outcome.failure ?? ""}; ${watchAgainHint(started)}` : `rotation FAILED: ${outcome.failure}`));
            process.exitCode = outcome.ok ? 0 : outcome.unfinished ? 1 : 2;
        });

    program
        .command("demo")
        .description("rotate a local mail fleet end to end without an AWS account (needs moto_server, the aws CLI, openssl); `demo --help` for its options")
        .helpOption(false)
        .allowUnknownOption()
        .argument("[options...]")
        .action(async (args: string[]) => {
            const { demoMain } = await import("../demo/cli");
            await demoMain(args);
        });
    return program;
}

export async function main(argv: string[]): Promise<void> {
    const program = buildProgram();
    try {
        await program.parseAsync(argv, { from: "user" });
    } catch (e) {
        if (e instanceof CommanderError) {
            process.exitCode = e.exitCode === 0 ? 0 : EXIT_USAGE;
            return;
        }
        if (e instanceof UsageError) {
            process.stderr.write(`error: ${e.message}\n`);
            process.exitCode = EXIT_USAGE;
            return;
        }
        const err = e as Error;
        const msg = /Region is missing/i.test(err?.message ?? "") ? "no AWS region: pass --region or set AWS_REGION" : String(err?.message ?? e);
        process.stderr.write(`error: ${msg}${process.env.SES_ROTATOR_DEBUG ? `\n${err?.stack}` : ""}\n`);
        process.exitCode = EXIT_ERROR;
    }
}

if (require.main === module) void main(process.argv.slice(2));
