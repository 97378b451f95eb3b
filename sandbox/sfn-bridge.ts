/**
 * Step Functions test bridge: lets moto's state-machine interpreter run the REAL runtime handlers for
 * Lambda task states.
 *
 * moto executes state machines (Standard workflows, task tokens, Map, Parallel, Wait,
 * `states:startExecution.sync:2`, the SNS integration ...) but cannot run Lambda code here (no Docker).
 * Its interpreter makes every service call at `http://localhost:$MOTO_PORT`, which the root hook points at
 * the wire proxy; this bridge installs a proxy interceptor that answers Lambda `Invoke` for registered
 * functions by calling the handler in-process with the task's payload and returning its result (or, when it
 * throws, Lambda's function-error shape, so the state's Retry/Catch see `errorType` as the error name,
 * as on AWS). Everything else the definition does (service integrations, callbacks, waits) is moto's.
 * The state-machine definition under test is the one the component emits, unchanged.
 */
import { AwsProxy, Interceptor } from "./aws-proxy";

/** A Lambda handler as the bridge calls it: payload in, JSON-serialisable result out. */
export type BridgedHandler = (payload: any) => Promise<unknown>;

/** One bridged invocation (for assertions and the leak scanner). */
export interface BridgedInvocation {
    functionName: string;
    payload: any;
    result?: unknown;
    error?: { errorType: string; errorMessage: string };
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations/;

/** The function name from a name, a partial ARN or a full ARN (with or without a qualifier). */
export function lambdaFunctionName(nameOrArn: string): string {
    const m = /(?:^|:function:)([A-Za-z0-9_-]+)(?::[^:]+)?$/.exec(nameOrArn);
    return m ? m[1] : nameOrArn;
}

export class SfnBridge {
    readonly invocations: BridgedInvocation[] = [];
    private readonly handlers = new Map<string, BridgedHandler>();
    private readonly remove: () => void;

    constructor(proxy: AwsProxy) {
        const interceptor: Interceptor = async (req): ReturnType<Interceptor> => {
            if (req.service !== "lambda" || req.method !== "POST") return undefined;
            const m = INVOKE_PATH.exec(req.path);
            if (!m) return undefined;
            const functionName = lambdaFunctionName(decodeURIComponent(m[1]));
            const handler = this.handlers.get(functionName);
            if (!handler) {
                return {
                    status: 404,
                    headers: { "content-type": "application/json", "x-amzn-errortype": "ResourceNotFoundException" },
                    body: JSON.stringify({ Type: "User", Message: `sfn-bridge: no handler registered for function ${functionName}` }),
                };
            }
            const payload = req.body ? JSON.parse(req.body) : {};
            const record: BridgedInvocation = { functionName, payload };
            this.invocations.push(record);
            try {
                record.result = await handler(payload);
                return { status: 200, body: JSON.stringify(record.result ?? null) };
            } catch (e) {
                const err = e as Error;
                record.error = { errorType: err?.name && err.name !== "Error" ? err.name : "Error", errorMessage: String(err?.message ?? e) };
                return {
                    status: 200,
                    headers: { "content-type": "application/json", "x-amz-function-error": "Unhandled" },
                    body: JSON.stringify(record.error),
                };
            }
        };
        this.remove = proxy.addInterceptor(interceptor);
    }

    /** Routes Invoke of `functionNameOrArn` to `handler`. */
    register(functionNameOrArn: string, handler: BridgedHandler): this {
        this.handlers.set(lambdaFunctionName(functionNameOrArn), handler);
        return this;
    }

    /** Invocations of one function. */
    invocationsOf(functionNameOrArn: string): BridgedInvocation[] {
        const name = lambdaFunctionName(functionNameOrArn);
        return this.invocations.filter((i) => i.functionName === name);
    }

    /** Stops answering (later Invokes fall through to moto). */
    dispose(): void {
        this.remove();
    }
}
