/**
 * "The Lambda dies right after this AWS call took effect", emulated faithfully for an in-process handler.
 *
 * A 500 reply after the call (the proxy's passThenFail) is not a crash: code that catches errors (a best-effort
 * notice, a poll loop that polls again) absorbs it and the invocation goes on. A real crash ends the process:
 * nothing after the call runs. Here the SDK clients the handler gets carry a middleware that, once the armed call
 * has taken effect (moto answered), fails that call AND every later AWS call of the same invocation, and the
 * harness counts the invocation as failed whatever the handler returned. So the step really fails, no later call
 * of that invocation reaches AWS (no failure notice either, as after a real crash), and Secrets Manager's retry
 * is what must converge.
 */
export type CrashService = "iam" | "secretsmanager" | "ssm" | "sns" | "dynamodb";

export interface CrashRule {
    service: CrashService;
    operation: string;
    /** how often the crash happened (a crash that never happened proves nothing) */
    fired: number;
}

interface Instrumentable {
    middlewareStack: { add(mw: any, opts: { step: string; name: string }): void };
}

export class LambdaCrashes {
    readonly rules: CrashRule[] = [];
    private pending: CrashRule[] = [];
    private inInvocation = false;
    /** "service:Operation" after which the current invocation died */
    private died?: string;

    /** The next `service:operation` call made inside an invocation takes effect, then the Lambda dies. */
    arm(service: CrashService, operation: string): CrashRule {
        const rule = { service, operation, fired: 0 };
        this.rules.push(rule);
        this.pending.push(rule);
        return rule;
    }

    /** Adds the crash middleware to one of the clients the handler gets (once per client). */
    instrument(client: Instrumentable, service: CrashService): void {
        client.middlewareStack.add(
            (next: (args: unknown) => Promise<unknown>, context: { commandName?: string }) => async (args: unknown) => {
                if (!this.inInvocation) return next(args);
                if (this.died) throw crashError(this.died);
                const out = await next(args);
                const operation = String(context.commandName ?? "").replace(/Command$/, "");
                const rule = this.pending.find((r) => r.service === service && r.operation === operation);
                if (rule) {
                    this.pending.splice(this.pending.indexOf(rule), 1);
                    rule.fired++;
                    this.died = `${service}:${operation}`;
                    throw crashError(this.died);
                }
                return out;
            },
            { step: "initialize", name: `faultMatrixCrash-${service}` },
        );
    }

    begin(): void {
        this.inInvocation = true;
        this.died = undefined;
    }

    /** Ends the invocation; returns the call after which it died, if it did. */
    end(): string | undefined {
        this.inInvocation = false;
        return this.died;
    }

    unfired(): string[] {
        return this.rules.filter((r) => r.fired === 0).map((r) => `${r.service}:${r.operation} crash`);
    }
}

function crashError(after: string): Error {
    return Object.assign(new Error(`the Lambda died right after ${after} took effect (fault matrix crash)`), { name: "LambdaCrash" });
}
