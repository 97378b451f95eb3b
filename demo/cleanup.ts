/**
 * One place that stops everything the demo started (moto_server, proxy, SES endpoint, agents, Postfix,
 * web server), newest first, exactly once, on every way out.
 */

/** Stops what was started, newest first, once (Ctrl-C, errors and normal ends all go through it). */
export class Cleanup {
    private readonly stoppers: { what: string; stop: () => Promise<void> }[] = [];
    private running?: Promise<void>;

    /** Registers `stop` for `what` (a name for error messages). */
    add(what: string, stop: () => Promise<void>): void {
        this.stoppers.push({ what, stop });
    }

    /** Runs every stopper (errors are collected, not thrown, so one failure stops nothing else). */
    run(): Promise<void> {
        if (!this.running) {
            this.running = (async () => {
                const errors: string[] = [];
                for (const { what, stop } of this.stoppers.reverse()) {
                    await stop().catch((e) => void errors.push(`${what}: ${String((e as Error)?.message ?? e)}`));
                }
                if (errors.length) process.stderr.write(`demo: clean-up problems: ${errors.join("; ")}\n`);
            })();
        }
        return this.running;
    }
}
