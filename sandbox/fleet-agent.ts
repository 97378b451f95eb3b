/**
 * A test stand-in for the SSM Agent on one managed node ("server"): it polls SSM (moto, through the wire
 * proxy) for commands sent to its instance id, fetches each command's document, substitutes `{{ Param }}`
 * with the command's parameters as the agent does, runs each `aws:runShellScript` step as a script file in
 * a fresh `bash` (exit codes honoured, the step's timeoutSeconds enforced), and reports the result.
 *
 * The steps get `AWS_ENDPOINT_URL` (the proxy) and fake credentials, so the document's own `aws` CLI calls
 * read the credential from moto, as a real server reads it from AWS with its instance profile.
 *
 * moto cannot take agent results (every command is "Success" there and it has no ListCommandInvocations),
 * so results go to the proxy (`setInvocation`, with `proxy.agentMode = true` so servers that have not
 * reported stay Pending): an emulation of what the SSM service would show, not SSM itself.
 *
 * Polling the work queue is what the real agent does too; tests wait on the agent's results (or on mail)
 * with deadlines, never with fixed sleeps.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { GetDocumentCommand, ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { AwsProxy, InvocationResult } from "./aws-proxy";

/** SSM keeps at most this many characters of a step's stdout/stderr in StandardOutputContent. */
const OUTPUT_LIMIT = 24000;

/**
 * Replaces every `{{ Name }}` (any inner whitespace) with the value of parameter Name, as the SSM Agent's
 * textual substitution does. Throws on a placeholder that names no parameter (SSM refuses such a command).
 */
export function substituteParameters(text: string, params: Record<string, string>): string {
    return text.replace(/\{\{\s*([A-Za-z0-9_.:-]+)\s*\}\}/g, (_whole, name: string) => {
        if (!(name in params)) throw new Error(`document placeholder {{ ${name} }} has no parameter value`);
        return params[name];
    });
}

/** What the agent did with one command. */
export interface HandledCommand {
    commandId: string;
    documentName: string;
    result: InvocationResult;
    /** when the agent reported the result */
    finishedAt: Date;
}

export interface FleetAgentOptions {
    /** the managed node id this agent plays (i-... or mi-...) */
    instanceId: string;
    /** the wire proxy in front of moto (results are reported there) */
    proxy: AwsProxy;
    /** SDK client config for the agent's own SSM calls (e.g. clientConfig()) */
    clientConfig: ConstructorParameters<typeof SSMClient>[0] & { endpoint: string; region: string };
    /** extra environment for the steps (e.g. SES_ROTATOR_POSTFIX_CONFIG_DIR, a PATH with shims) */
    env?: Record<string, string>;
    /** how often to look for new commands (default 150 ms) */
    pollIntervalMs?: number;
}

interface DocumentStep {
    action: string;
    name: string;
    precondition?: { StringEquals?: [string, string] };
    inputs?: { runCommand?: string[] | string; timeoutSeconds?: string | number };
}

/** Plays the SSM Agent for one instance; start() begins polling, stop() ends it (waiting for a running command). */
export class FleetAgent {
    readonly handled: HandledCommand[] = [];
    private readonly ssm: SSMClient;
    private readonly seen = new Set<string>();
    private running = false;
    private loop?: Promise<void>;
    private wake?: () => void;
    private lastError?: unknown;

    constructor(private readonly options: FleetAgentOptions) {
        this.ssm = new SSMClient(options.clientConfig);
    }

    get instanceId(): string {
        return this.options.instanceId;
    }

    start(): void {
        if (this.running) return;
        this.options.proxy.agentMode = true;
        // What SSM would show for a node whose agent is connected (emulated by the proxy).
        this.options.proxy.setNodeInfo(this.options.instanceId, { pingStatus: "Online", platformType: "Linux", platformName: `${os.type()} ${os.release()}`, lastPing: new Date() });
        this.running = true;
        this.loop = this.pollLoop();
    }

    async stop(): Promise<void> {
        this.running = false;
        this.wake?.();
        await this.loop;
        this.options.proxy.setNodeInfo(this.options.instanceId, { pingStatus: "ConnectionLost", platformType: "Linux", platformName: `${os.type()} ${os.release()}`, lastPing: new Date() });
    }

    /** Handles every command for this instance not handled yet; returns how many it ran. */
    async runOnce(): Promise<number> {
        const listed = await this.ssm.send(new ListCommandsCommand({ InstanceId: this.options.instanceId }));
        let count = 0;
        const commands = [...(listed.Commands ?? [])].sort((a, b) => (a.RequestedDateTime?.getTime() ?? 0) - (b.RequestedDateTime?.getTime() ?? 0));
        for (const cmd of commands) {
            if (!cmd.CommandId || this.seen.has(cmd.CommandId)) continue;
            this.seen.add(cmd.CommandId);
            const result = await this.execute(cmd.CommandId, cmd.DocumentName ?? "", cmd.DocumentVersion, (cmd.Parameters ?? {}) as Record<string, string[]>);
            const finishedAt = new Date();
            this.options.proxy.setInvocation(cmd.CommandId, this.options.instanceId, result);
            this.handled.push({ commandId: cmd.CommandId, documentName: cmd.DocumentName ?? "", result, finishedAt });
            count++;
        }
        return count;
    }

    /** Resolves with the result of `commandId` once this agent has run it; rejects after `deadlineMs`. */
    async waitFor(commandId: string, deadlineMs = 60000): Promise<InvocationResult> {
        const until = Date.now() + deadlineMs;
        for (;;) {
            const done = this.handled.find((h) => h.commandId === commandId);
            if (done) return done.result;
            if (this.lastError) throw new Error(`fleet agent ${this.instanceId} failed: ${String(this.lastError)}`);
            if (Date.now() > until) throw new Error(`fleet agent ${this.instanceId}: command ${commandId} not run within ${deadlineMs} ms`);
            await new Promise((r) => setTimeout(r, 50));
        }
    }

    private async pollLoop(): Promise<void> {
        while (this.running) {
            try {
                await this.runOnce();
            } catch (e) {
                // A poll failing (e.g. an injected SSM fault) is retried on the next round, as the agent does.
                this.lastError = /Throttl|Internal|ECONNRESET|socket hang up/i.test(String(e)) ? undefined : e;
            }
            if (!this.running) break;
            await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, this.options.pollIntervalMs ?? 150);
                this.wake = () => {
                    clearTimeout(t);
                    resolve();
                };
            });
        }
    }

    private async execute(commandId: string, documentName: string, documentVersion: string | undefined, sent: Record<string, string[]>): Promise<InvocationResult> {
        const { proxy, instanceId } = this.options;
        proxy.setInvocation(commandId, instanceId, { status: "InProgress" });
        let doc: any;
        try {
            const got = await this.ssm.send(new GetDocumentCommand({ Name: documentName, DocumentVersion: documentVersion && documentVersion !== "$DEFAULT" ? documentVersion : undefined }));
            doc = JSON.parse(got.Content ?? "");
        } catch (e) {
            return { status: "Failed", responseCode: -1, stderr: `fleet agent: cannot load document ${documentName}: ${String(e)}` };
        }
        // SSM checks parameters against the document when the command is sent; moto does not, so the agent does.
        const params: Record<string, string> = {};
        for (const [name, decl] of Object.entries<any>(doc.parameters ?? {})) {
            const value = sent[name]?.[0] ?? decl.default;
            if (value === undefined) return { status: "Failed", responseCode: -1, stderr: `fleet agent: parameter ${name} missing` };
            if (decl.allowedPattern && !new RegExp(decl.allowedPattern).test(value)) {
                return { status: "Failed", responseCode: -1, stderr: `fleet agent: parameter ${name} does not match its allowedPattern` };
            }
            params[name] = String(value);
        }
        let stdout = "";
        let stderr = "";
        for (const step of (doc.mainSteps ?? []) as DocumentStep[]) {
            const platform = step.precondition?.StringEquals;
            if (platform && platform[0] === "platformType" && platform[1] !== "Linux") {
                // Skipped, as on a Linux node. The SSM Agent reports such a step as a success with this output
                // (amazon-ssm-agent's step precondition check); the command's status stays Success.
                stdout += `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [${platform[0]}, ${platform[1]}]'. Step name: ${step.name}\n`;
                continue;
            }
            if (step.action !== "aws:runShellScript") {
                return { status: "Failed", responseCode: -1, stdout, stderr: `${stderr}fleet agent: unsupported action ${step.action}` };
            }
            const lines = step.inputs?.runCommand ?? [];
            let script: string;
            try {
                script = substituteParameters(Array.isArray(lines) ? lines.join("\n") : lines, params);
            } catch (e) {
                return { status: "Failed", responseCode: -1, stderr: `fleet agent: ${(e as Error).message}` };
            }
            const timeoutSeconds = Number(step.inputs?.timeoutSeconds ?? 3600);
            const r = await this.runStep(commandId, step.name, script, timeoutSeconds);
            stdout += r.stdout;
            stderr += r.stderr;
            if (r.timedOut) return { status: "TimedOut", responseCode: -1, stdout: clip(stdout), stderr: clip(stderr) };
            if (r.code !== 0) return { status: "Failed", responseCode: r.code, stdout: clip(stdout), stderr: clip(stderr) };
        }
        return { status: "Success", responseCode: 0, stdout: clip(stdout), stderr: clip(stderr) };
    }

    /** Writes the step to `_script.sh` in an orchestration dir of its own and runs it with bash (asynchronously: the proxy lives in this process). */
    private runStep(commandId: string, stepName: string, script: string, timeoutSeconds: number): Promise<{ code: number; stdout: string; stderr: string; timedOut: boolean }> {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), `ssm-${this.instanceId}-${commandId.slice(0, 8)}-${stepName}-`));
        const file = path.join(dir, "_script.sh");
        fs.writeFileSync(file, script, { mode: 0o700 });
        const { clientConfig, env } = this.options;
        const stepEnv: Record<string, string> = {
            PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
            HOME: process.env.HOME ?? "/root",
            LANG: "C.UTF-8",
            AWS_ENDPOINT_URL: clientConfig.endpoint,
            AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
            AWS_SECRET_ACCESS_KEY: "fleet-agent-fake-secret",
            AWS_DEFAULT_REGION: clientConfig.region,
            AWS_EC2_METADATA_DISABLED: "true",
            ...(env ?? {}),
        };
        return new Promise((resolve) => {
            const child = spawn("bash", [file], { cwd: dir, env: stepEnv, stdio: ["ignore", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            let timedOut = false;
            child.stdout.on("data", (d) => (stdout += d));
            child.stderr.on("data", (d) => (stderr += d));
            const timer = setTimeout(() => {
                timedOut = true;
                child.kill("SIGTERM");
            }, timeoutSeconds * 1000);
            child.on("close", (code) => {
                clearTimeout(timer);
                fs.rmSync(dir, { recursive: true, force: true });
                resolve({ code: code ?? -1, stdout, stderr, timedOut });
            });
        });
    }
}

function clip(text: string): string {
    return text.length > OUTPUT_LIMIT ? text.slice(0, OUTPUT_LIMIT) : text;
}
