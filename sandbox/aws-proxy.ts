/**
 * The wire proxy that sits between the AWS SDK and moto in every test.
 *
 * moto is the AWS emulator; this proxy adds only what moto cannot show, at the HTTP level, so the
 * production code paths stay unchanged:
 *  - **faults**: rules that answer an operation with an error (throttling, 5xx, any AWS error code),
 *    drop the connection, or let the call through and then "crash" the caller (see FaultRule);
 *  - **SSM command results**: moto reports every command as Success and has no
 *    `ListCommandInvocations`. The proxy serves `ListCommandInvocations` from moto's own command
 *    records, and overlays per-instance results reported by fleet agents or set by a test
 *    (`setInvocation`), rewriting `ListCommands` / `GetCommandInvocation` to match;
 *  - **SSM document versions**: moto drops SendCommand's `DocumentVersion`; the proxy remembers it per command
 *    and puts it back into SendCommand / ListCommands answers, as SSM reports the version a command runs;
 *  - **IAM last-used**: `GetAccessKeyLastUsed` can be overlaid (`setKeyLastUsed`), standing in for what
 *    IAM would report after an SMTP login (moto cannot see SMTP logins);
 *  - **a record** of every call (service, operation, request body, response body) for call counting and
 *    the leak scanner.
 * Everything the proxy synthesises is named as such in tests and docs: it is an emulation, not AWS.
 */
import * as http from "http";
import { AddressInfo } from "net";

export interface AwsCall {
    service: string;
    operation: string;
    requestBody: string;
    status: number;
    responseBody: string;
    /** true when the proxy answered (fault or emulation) instead of moto */
    synthesized: boolean;
}

export interface FaultRule {
    /** signing name from the Authorization header, e.g. "iam", "secretsmanager", "ssm", "states", "dynamodb", "sns" */
    service?: string;
    operation: string;
    /** only requests whose raw body contains this text */
    bodyIncludes?: string;
    /** how many matching calls to affect (default: unlimited); decremented as they happen */
    times?: number;
    /** skip this many matching calls before the rule applies (default 0) */
    after?: number;
    /** "error": answer with an AWS error; "drop": destroy the socket; "passThenFail": forward to moto (the
     *  effect happens) and then answer 500, as if the caller crashed right after the call */
    kind: "error" | "drop" | "passThenFail";
    /** for "error": HTTP status (default 400) and AWS error code (default "ThrottlingException") */
    status?: number;
    code?: string;
    message?: string;
}

export type InvocationStatus = "Pending" | "InProgress" | "Success" | "Failed" | "TimedOut" | "Cancelled" | "Undeliverable";

export interface InvocationResult {
    status: InvocationStatus;
    responseCode?: number;
    stdout?: string;
    stderr?: string;
}

/** One managed node as SSM's DescribeInstanceInformation shows it (emulated: set by the fleet agents). */
export interface ManagedNodeInfo {
    pingStatus: "Online" | "ConnectionLost" | "Inactive";
    platformType: "Linux" | "Windows" | "MacOS";
    platformName: string;
    lastPing: Date;
}

export interface LastUsedOverlay {
    lastUsedDate: Date;
    serviceName: string;
    region: string;
}

/** A request as an interceptor sees it. */
export interface InterceptedRequest {
    service: string;
    operation: string;
    method: string;
    /** URL path and query */
    path: string;
    body: string;
}

/** An interceptor's answer; `undefined` lets the request through. */
export type Interceptor = (
    req: InterceptedRequest,
) => Promise<{ status: number; body: string; headers?: Record<string, string> } | undefined>;

interface ActiveRule extends FaultRule {
    seen: number;
    applied: number;
}

const TERMINAL: InvocationStatus[] = ["Success", "Failed", "TimedOut", "Cancelled", "Undeliverable"];
/** SSM keeps the first 2,500 characters of a step's output in ListCommandInvocations' `CommandPlugins[].Output`. */
const LISTED_OUTPUT_LIMIT = 2500;

/**
 * `CommandPlugins[].Output` as SSM lists it (Details=true): standard output, then standard error after an
 * `----------ERROR-------` line, cut to 2,500 characters (GetCommandInvocation keeps 24,000 of stdout).
 */
function listedOutput(r: InvocationResult): string {
    const text = (r.stdout ?? "") + (r.stderr ? `\n----------ERROR-------\n${r.stderr}` : "");
    return text.length > LISTED_OUTPUT_LIMIT ? `${text.slice(0, LISTED_OUTPUT_LIMIT - 24)}\n---Output truncated---` : text;
}

export class AwsProxy {
    readonly calls: AwsCall[] = [];
    private rules: ActiveRule[] = [];
    /** commandId -> instanceId -> result */
    private invocations = new Map<string, Map<string, InvocationResult>>();
    /** commandId -> the DocumentVersion its SendCommand named (moto does not keep it) */
    private documentVersions = new Map<string, string>();
    private sendsInFlight = new Set<Promise<void>>();
    /** when true, instances without a reported result are "Pending" (agents decide); otherwise moto's Success stands */
    agentMode = false;
    private lastUsed = new Map<string, LastUsedOverlay>();
    /** managed nodes the SSM Agent stand-ins registered (moto has no DescribeInstanceInformation for them) */
    private nodes = new Map<string, ManagedNodeInfo>();
    private interceptors: Interceptor[] = [];
    private server?: http.Server;
    url = "";

    constructor(private readonly motoUrl: string) {}

    /** Listens on 127.0.0.1:`port` (0 = any free port). */
    async start(port = 0): Promise<string> {
        this.server = http.createServer((req, res) => {
            this.handle(req, res).catch((e) => {
                res.writeHead(500, { "content-type": "text/plain" });
                res.end(`proxy error: ${String(e)}`);
            });
        });
        await new Promise<void>((r) => this.server!.listen(port, "127.0.0.1", () => r()));
        this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}`;
        return this.url;
    }

    async stop(): Promise<void> {
        if (!this.server) return;
        this.server.closeAllConnections();
        await new Promise<void>((r) => this.server!.close(() => r()));
    }

    /** Forget rules, overlays and the call record (call between tests, with resetMoto). */
    reset(): void {
        this.documentVersions.clear();
        this.rules = [];
        this.invocations.clear();
        this.lastUsed.clear();
        this.nodes.clear();
        this.calls.length = 0;
        this.agentMode = false;
        this.interceptors = [];
    }

    /**
     * Lets a test component answer some requests itself (e.g. the Step Functions bridge answers Lambda
     * `Invoke` by running the real handler in-process). Fault rules still apply first. Returns a remover.
     */
    addInterceptor(interceptor: Interceptor): () => void {
        this.interceptors.push(interceptor);
        return () => {
            this.interceptors = this.interceptors.filter((i) => i !== interceptor);
        };
    }

    addFault(rule: FaultRule): ActiveRule {
        const active = { ...rule, seen: 0, applied: 0 };
        this.rules.push(active);
        return active;
    }

    clearFaults(): void {
        this.rules = [];
    }

    setInvocation(commandId: string, instanceId: string, result: InvocationResult): void {
        let byInstance = this.invocations.get(commandId);
        if (!byInstance) this.invocations.set(commandId, (byInstance = new Map()));
        byInstance.set(instanceId, result);
    }

    setKeyLastUsed(accessKeyId: string, overlay: LastUsedOverlay): void {
        this.lastUsed.set(accessKeyId, overlay);
    }

    /** Count of calls per "service:Operation". */
    callCounts(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const c of this.calls) out[`${c.service}:${c.operation}`] = (out[`${c.service}:${c.operation}`] ?? 0) + 1;
        return out;
    }

    private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
        const body = await readBody(req);
        const service = signingService(req.headers.authorization);
        const operation = operationOf(req, body);

        const rule = this.matchRule(service, operation, body);
        if (rule && rule.kind === "drop") {
            this.calls.push({ service, operation, requestBody: body, status: 0, responseBody: "", synthesized: true });
            req.socket.destroy();
            return;
        }
        if (rule && rule.kind === "error") {
            const status = rule.status ?? 400;
            const code = rule.code ?? "ThrottlingException";
            const payload = errorPayload(req, code, rule.message ?? `injected ${code}`);
            this.calls.push({ service, operation, requestBody: body, status, responseBody: payload.body, synthesized: true });
            res.writeHead(status, payload.headers);
            res.end(payload.body);
            return;
        }

        for (const intercept of this.interceptors) {
            const answer = await intercept({ service, operation, method: req.method ?? "GET", path: req.url ?? "/", body });
            if (!answer) continue;
            this.calls.push({ service, operation, requestBody: body, status: answer.status, responseBody: answer.body, synthesized: true });
            res.writeHead(answer.status, answer.headers ?? { "content-type": "application/json" });
            res.end(answer.body);
            return;
        }

        const synthesized = await this.emulate(service, operation, body);
        if (synthesized) {
            this.calls.push({ service, operation, requestBody: body, status: 200, responseBody: synthesized, synthesized: true });
            res.writeHead(200, { "content-type": "application/x-amz-json-1.1" });
            res.end(synthesized);
            return;
        }

        // A SendCommand in flight: ListCommands answers wait for it, so no listing shows its command without the
        // DocumentVersion the proxy records once moto answered.
        let sendDone: (() => void) | undefined;
        if (service === "ssm" && operation === "SendCommand") {
            const inFlight = new Promise<void>((r) => (sendDone = r));
            this.sendsInFlight.add(inFlight);
            void inFlight.then(() => this.sendsInFlight.delete(inFlight));
        }
        let upstream: Awaited<ReturnType<typeof forward>>;
        let responseBody: string;
        try {
            upstream = await forward(this.motoUrl, req, body);
            responseBody = upstream.body;
            if (upstream.status === 200) responseBody = await this.rewrite(service, operation, body, responseBody);
        } finally {
            sendDone?.();
        }
        if (rule && rule.kind === "passThenFail") {
            this.calls.push({ service, operation, requestBody: body, status: 500, responseBody, synthesized: true });
            const payload = errorPayload(req, "InternalFailure", "injected crash after the call took effect");
            res.writeHead(500, payload.headers);
            res.end(payload.body);
            return;
        }
        this.calls.push({ service, operation, requestBody: body, status: upstream.status, responseBody, synthesized: false });
        const headers = { ...upstream.headers };
        delete headers["content-length"];
        delete headers["transfer-encoding"];
        res.writeHead(upstream.status, headers);
        res.end(responseBody);
    }

    private matchRule(service: string, operation: string, body: string): ActiveRule | undefined {
        for (const r of this.rules) {
            if (r.operation !== operation) continue;
            if (r.service && r.service !== service) continue;
            if (r.bodyIncludes && !body.includes(r.bodyIncludes)) continue;
            r.seen++;
            if (r.seen <= (r.after ?? 0)) continue;
            if (r.times !== undefined && r.applied >= r.times) continue;
            r.applied++;
            return r;
        }
        return undefined;
    }

    /** What SSM's DescribeInstanceInformation reports for a managed node (set by the fleet agents; undefined forgets it). */
    setNodeInfo(instanceId: string, info: ManagedNodeInfo | undefined): void {
        if (info) this.nodes.set(instanceId, info);
        else this.nodes.delete(instanceId);
    }

    /** Answers operations moto lacks. Returns the JSON body, or undefined to forward. */
    private async emulate(service: string, operation: string, body: string): Promise<string | undefined> {
        if (service === "ssm" && operation === "DescribeInstanceInformation") {
            const input = JSON.parse(body || "{}");
            const ids: string[] | undefined = (input.Filters ?? []).find((f: any) => f.Key === "InstanceIds")?.Values;
            const list = [...this.nodes.entries()]
                .filter(([id]) => !ids || ids.includes(id))
                .map(([id, n]) => ({ InstanceId: id, ResourceType: id.startsWith("mi-") ? "ManagedInstance" : "EC2Instance", PingStatus: n.pingStatus, PlatformType: n.platformType, PlatformName: n.platformName, LastPingDateTime: n.lastPing.getTime() / 1000 }));
            return JSON.stringify({ InstanceInformationList: list });
        }
        if (service === "ssm" && operation === "ListCommandInvocations") {
            const input = JSON.parse(body || "{}");
            const commands = await this.motoCommands(input.CommandId);
            const rows: any[] = [];
            for (const cmd of commands) {
                for (const instanceId of [...(cmd.InstanceIds ?? [])].sort()) {
                    if (input.InstanceId && input.InstanceId !== instanceId) continue;
                    const r = this.resultFor(cmd.CommandId, instanceId, cmd.Parameters);
                    rows.push({
                        CommandId: cmd.CommandId,
                        InstanceId: instanceId,
                        DocumentName: cmd.DocumentName,
                        Status: r.status,
                        StatusDetails: r.status,
                        ...(input.Details
                            ? {
                                  CommandPlugins: [
                                      {
                                          Name: "update",
                                          Status: r.status,
                                          ResponseCode: r.responseCode ?? (r.status === "Success" ? 0 : -1),
                                          Output: listedOutput(r),
                                      },
                                  ],
                              }
                            : {}),
                    });
                }
            }
            const max = Math.min(input.MaxResults ?? 50, 50);
            const start = input.NextToken ? Number(input.NextToken) : 0;
            const page = rows.slice(start, start + max);
            const next = start + max < rows.length ? String(start + max) : undefined;
            return JSON.stringify({ CommandInvocations: page, ...(next ? { NextToken: next } : {}) });
        }
        return undefined;
    }

    /**
     * The result of one invocation: what a fleet agent or test reported, else (outside agent mode) a server whose
     * script succeeded. A Success reported without `stdout` stands for a script that did its work, so its output
     * is the result marker the documents print for the command's Mode (runtime/server-report.ts); a test that
     * wants a silent or skipped step sets `stdout` explicitly.
     */
    private resultFor(commandId: string, instanceId: string, parameters?: Record<string, string[]>): InvocationResult {
        const r = this.invocations.get(commandId)?.get(instanceId) ?? (this.agentMode ? { status: "Pending" as const } : { status: "Success" as const, responseCode: 0 });
        if (r.status !== "Success" || r.stdout !== undefined) return r;
        return { ...r, stdout: `SES-ROTATOR-RESULT: ${parameters?.Mode?.[0] === "check" ? "check-passed" : "updated"}\n` };
    }

    private async motoCommands(commandId?: string): Promise<any[]> {
        const res = await fetch(`${this.motoUrl}/`, {
            method: "POST",
            headers: {
                "content-type": "application/x-amz-json-1.1",
                "x-amz-target": "AmazonSSM.ListCommands",
                authorization: "AWS4-HMAC-SHA256 Credential=AKIAPROXY/20260101/us-east-1/ssm/aws4_request, SignedHeaders=host, Signature=x",
            },
            body: JSON.stringify(commandId ? { CommandId: commandId } : {}),
        });
        const json: any = await res.json();
        return json.Commands ?? [];
    }

    /** Rewrites moto's answers where an overlay applies. */
    private async rewrite(service: string, operation: string, requestBody: string, responseBody: string): Promise<string> {
        if (service === "ssm" && operation === "SendCommand") {
            const version = JSON.parse(requestBody || "{}").DocumentVersion;
            const json = JSON.parse(responseBody);
            if (typeof version === "string" && json.Command?.CommandId) {
                this.documentVersions.set(json.Command.CommandId, version);
                json.Command.DocumentVersion = version;
            }
            return JSON.stringify(json);
        }
        if (service === "ssm" && operation === "ListCommands") {
            await Promise.all([...this.sendsInFlight]);
            const json = JSON.parse(responseBody);
            for (const cmd of json.Commands ?? []) {
                const version = this.documentVersions.get(cmd.CommandId);
                if (version) cmd.DocumentVersion = version;
                const ids: string[] = cmd.InstanceIds ?? [];
                const results = ids.map((id) => this.resultFor(cmd.CommandId, id, cmd.Parameters));
                const done = results.filter((r) => TERMINAL.includes(r.status));
                const errors = results.filter((r) => TERMINAL.includes(r.status) && r.status !== "Success");
                cmd.TargetCount = ids.length;
                cmd.CompletedCount = done.length;
                cmd.ErrorCount = errors.filter((r) => r.status !== "Undeliverable").length;
                cmd.DeliveryTimedOutCount = errors.filter((r) => r.status === "Undeliverable").length;
                cmd.Status = done.length < ids.length ? "InProgress" : aggregateStatus(results);
                cmd.StatusDetails = cmd.Status;
            }
            return JSON.stringify(listCommandsPage(json, JSON.parse(requestBody || "{}")));
        }
        if (service === "ssm" && operation === "GetCommandInvocation") {
            const input = JSON.parse(requestBody);
            const json = JSON.parse(responseBody);
            const [cmd] = await this.motoCommands(input.CommandId);
            const r = this.resultFor(input.CommandId, input.InstanceId, cmd?.Parameters);
            json.Status = r.status;
            json.StatusDetails = r.status;
            json.ResponseCode = r.responseCode ?? (r.status === "Success" ? 0 : -1);
            json.StandardOutputContent = r.stdout ?? "";
            json.StandardErrorContent = r.stderr ?? "";
            return JSON.stringify(json);
        }
        if (service === "iam" && operation === "GetAccessKeyLastUsed") {
            const id = new URLSearchParams(requestBody).get("AccessKeyId") ?? "";
            const o = this.lastUsed.get(id);
            if (!o) return responseBody;
            const inner =
                `<LastUsedDate>${o.lastUsedDate.toISOString()}</LastUsedDate>` +
                `<ServiceName>${o.serviceName}</ServiceName><Region>${o.region}</Region>`;
            return responseBody.replace(/<AccessKeyLastUsed>[\s\S]*?<\/AccessKeyLastUsed>/, `<AccessKeyLastUsed>${inner}</AccessKeyLastUsed>`);
        }
        return responseBody;
    }
}

/**
 * A finished command's aggregate status, as SSM derives it with MaxErrors 100%: Success when every invocation
 * succeeded; TimedOut or Cancelled when every invocation ended so; otherwise Failed (SSM's "Incomplete" details).
 */
function aggregateStatus(results: InvocationResult[]): string {
    if (results.every((r) => r.status === "Success")) return "Success";
    for (const all of ["TimedOut", "Cancelled"] as const) if (results.every((r) => r.status === all)) return all;
    return "Failed";
}

/** Command statuses SSM's ExecutionStage filter counts as "Executing"; every other status is "Complete". */
const COMMAND_STILL_RUNNING = ["Pending", "InProgress", "Cancelling"];

/**
 * moto's ListCommands ignores `Filters` and pagination. SSM applies the filters and returns at most `MaxResults`
 * (≤ 50) per page: emulated here when the caller asks for pages (MaxResults) or filters, so call counts are honest.
 */
function listCommandsPage(json: any, input: any): any {
    if (input.CommandId || (input.MaxResults === undefined && !input.Filters)) return json;
    const seconds = (v: unknown) => (typeof v === "number" ? v : Date.parse(String(v)) / 1000);
    let commands: any[] = json.Commands ?? [];
    for (const f of input.Filters ?? []) {
        if (f.key === "InvokedAfter") commands = commands.filter((c) => seconds(c.RequestedDateTime) >= seconds(f.value));
        if (f.key === "InvokedBefore") commands = commands.filter((c) => seconds(c.RequestedDateTime) <= seconds(f.value));
        if (f.key === "Status") commands = commands.filter((c) => c.Status === f.value);
        if (f.key === "DocumentName") commands = commands.filter((c) => c.DocumentName === f.value);
        // SSM: "Executing" = still running, "Complete" = finished (whatever the outcome)
        if (f.key === "ExecutionStage") commands = commands.filter((c) => COMMAND_STILL_RUNNING.includes(c.Status) === (f.value === "Executing"));
    }
    const max = Math.min(input.MaxResults ?? 50, 50);
    const start = input.NextToken ? Number(input.NextToken) : 0;
    const next = start + max < commands.length ? String(start + max) : undefined;
    return { ...json, Commands: commands.slice(start, start + max), ...(next ? { NextToken: next } : {}) };
}

function readBody(req: http.IncomingMessage): Promise<string> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        req.on("data", (c) => chunks.push(c));
        req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
        req.on("error", reject);
    });
}

function signingService(authorization: string | undefined): string {
    const m = /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(authorization ?? "");
    return m ? m[1] : "unknown";
}

function operationOf(req: http.IncomingMessage, body: string): string {
    const target = req.headers["x-amz-target"];
    if (typeof target === "string") return target.split(".").pop()!;
    const action = new URLSearchParams(body).get("Action");
    if (action) return action;
    // REST protocols (e.g. API Gateway, Scheduler): method + path
    return `${req.method} ${(req.url ?? "").split("?")[0]}`;
}

function errorPayload(req: http.IncomingMessage, code: string, message: string): { headers: Record<string, string>; body: string } {
    if (req.headers["x-amz-target"]) {
        return {
            headers: { "content-type": "application/x-amz-json-1.1", "x-amzn-errortype": code },
            body: JSON.stringify({ __type: code, message }),
        };
    }
    return {
        headers: { "content-type": "text/xml" },
        body: `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${message}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>`,
    };
}

function forward(
    base: string,
    req: http.IncomingMessage,
    body: string,
): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: string }> {
    const target = new URL(req.url ?? "/", base);
    return new Promise((resolve, reject) => {
        const out = http.request(
            target,
            { method: req.method, headers: { ...req.headers, host: target.host } },
            (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c) => chunks.push(c));
                res.on("end", () =>
                    resolve({ status: res.statusCode ?? 500, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }),
                );
                res.on("error", reject);
            },
        );
        out.on("error", reject);
        out.end(body);
    });
}
