/**
 * Live progress of a demo run, per step and per server: a redrawn table on a terminal, plain timestamped
 * lines otherwise (pipes, CI, `--json` where it goes to stderr). Nothing secret is ever passed in here.
 */

/** State of one rotation step. */
export type StepState = "pending" | "running" | "done" | "failed" | "skipped";
/** State of one server. */
export type ServerState = "idle" | "waiting" | "updating" | "updated" | "failed" | "awaiting confirmation" | "confirmed" | "rejected";

interface Row<S> {
    name: string;
    label: string;
    state: S;
    detail: string;
    startedAt?: number;
    endedAt?: number;
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const GREEN = "\x1b[32m";
const RED = "\x1b[31m";
const YELLOW = "\x1b[33m";
const DIM = "\x1b[2m";
const RESET = "\x1b[0m";

/** Progress display; `live` redraws a table (TTY), otherwise each change is one line. */
export class Progress {
    private readonly steps: Row<StepState>[];
    private readonly servers: Row<ServerState>[];
    private readonly started = Date.now();
    private drawn = 0;
    private frame = 0;
    private timer?: NodeJS.Timeout;

    constructor(
        private readonly out: NodeJS.WritableStream,
        private readonly live: boolean,
        steps: string[],
        servers: { name: string; label: string }[],
    ) {
        this.steps = steps.map((name) => ({ name, label: name, state: "pending", detail: "" }));
        this.servers = servers.map((s) => ({ name: s.name, label: s.label, state: "idle", detail: "" }));
        if (live) {
            this.timer = setInterval(() => this.redraw(), 120);
            this.timer.unref();
        }
    }

    /** A line above the table (or a plain line). */
    note(text: string): void {
        if (this.live) {
            this.clear();
            this.out.write(`${text}\n`);
            this.draw();
        } else {
            this.out.write(`[${this.elapsed()}] ${text}\n`);
        }
    }

    step(name: string, state: StepState, detail = ""): void {
        const row = this.steps.find((s) => s.name === name);
        if (!row) throw new Error(`Progress.step: unknown step ${JSON.stringify(name)}`);
        // A finished step stays finished (callers may report states they derive from polling more than once).
        if (row.state === "done" || row.state === "failed" || row.state === "skipped") return;
        this.change(row, state, detail, `step ${name}`);
    }

    server(name: string, state: ServerState, detail = ""): void {
        const row = this.servers.find((s) => s.name === name);
        if (!row) throw new Error(`Progress.server: unknown server ${JSON.stringify(name)}`);
        this.change(row, state, detail, `server ${row.label}`);
    }

    /** Whether the step has started (it may have finished). */
    stepStarted(name: string): boolean {
        return this.steps.find((s) => s.name === name)?.startedAt !== undefined;
    }

    /** Milliseconds each step took (steps that ran). */
    stepDurations(): Record<string, number> {
        const out: Record<string, number> = {};
        for (const s of this.steps) if (s.startedAt !== undefined) out[s.name] = (s.endedAt ?? Date.now()) - s.startedAt;
        return out;
    }

    /** Final drawing; stops the spinner. */
    finish(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        if (this.live) this.redraw();
        this.drawn = 0;
    }

    private change<S extends string>(row: Row<S>, state: S, detail: string, what: string): void {
        if (row.state === state && row.detail === detail) return;
        const now = Date.now();
        if (state === "running" || state === "updating" || state === "waiting" || state === "awaiting confirmation") row.startedAt ??= now;
        if (["done", "failed", "updated", "confirmed", "rejected"].includes(state)) {
            row.startedAt ??= now;
            row.endedAt = now;
        }
        row.state = state;
        row.detail = detail;
        if (this.live) this.redraw();
        else this.out.write(`[${this.elapsed()}] ${what}: ${state}${detail ? ` (${detail})` : ""}\n`);
    }

    private elapsed(): string {
        return `${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
    }

    private clear(): void {
        if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[0J`);
        this.drawn = 0;
    }

    private redraw(): void {
        this.frame++;
        this.clear();
        this.draw();
    }

    private draw(): void {
        const lines: string[] = ["  Rotation steps"];
        for (const s of this.steps) lines.push(`    ${this.icon(s.state)} ${s.label.padEnd(14)} ${this.time(s)} ${DIM}${s.detail}${RESET}`);
        lines.push("  Servers");
        const width = Math.max(...this.servers.map((s) => s.label.length), 10);
        for (const s of this.servers) lines.push(`    ${this.icon(s.state)} ${s.label.padEnd(width)} ${s.state.padEnd(22)} ${DIM}${s.detail}${RESET}`);
        const columns = (this.out as NodeJS.WriteStream).columns || 120;
        // Cut to the terminal width (ANSI codes excluded from the count) so every line takes one row.
        const cut = lines.map((l) => fit(l, columns - 1));
        this.out.write(cut.join("\n") + "\n");
        this.drawn = cut.length;
    }

    private icon(state: string): string {
        if (state === "done" || state === "updated" || state === "confirmed") return `${GREEN}✔${RESET}`;
        if (state === "failed" || state === "rejected") return `${RED}✘${RESET}`;
        if (state === "pending" || state === "idle" || state === "skipped") return `${DIM}·${RESET}`;
        if (state === "awaiting confirmation") return `${YELLOW}?${RESET}`;
        return `${YELLOW}${SPINNER[this.frame % SPINNER.length]}${RESET}`;
    }

    private time(row: Row<string>): string {
        if (row.startedAt === undefined) return "      ";
        return `${(((row.endedAt ?? Date.now()) - row.startedAt) / 1000).toFixed(1).padStart(5)}s`;
    }
}

function fit(line: string, columns: number): string {
    let visible = 0;
    let out = "";
    for (let i = 0; i < line.length; i++) {
        if (line[i] === "\x1b") {
            const end = line.indexOf("m", i);
            out += line.slice(i, end + 1);
            i = end;
            continue;
        }
        if (visible >= columns) continue;
        out += line[i];
        visible++;
    }
    return out + RESET;
}
