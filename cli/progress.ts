/**
 * Live progress of a rotation, per step and per server, shared by the CLI's `rotate --wait` and the demo:
 * a block redrawn in place on a terminal (log-update, colours from picocolors), plain timestamped lines
 * otherwise (pipes, CI, the demo's `--json` where it goes to stderr). Nothing secret is ever passed in here.
 */
import logUpdate = require("log-update");
import { colors as pc } from "./colors";

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
const FINISHED = new Set(["done", "failed", "skipped"]);

/** Progress display; `live` redraws a block (TTY), otherwise each change is one line. */
export class Progress {
    private readonly steps: Row<StepState>[];
    private readonly servers: Row<ServerState>[];
    private readonly started = Date.now();
    private frame = 0;
    private timer?: NodeJS.Timeout;
    private readonly update?: logUpdate.LogUpdate;

    constructor(
        private readonly out: NodeJS.WritableStream,
        private readonly live: boolean,
        steps: string[],
        servers: { name: string; label: string }[],
    ) {
        this.steps = steps.map((name) => ({ name, label: name, state: "pending", detail: "" }));
        this.servers = servers.map((s) => ({ name: s.name, label: s.label, state: "idle", detail: "" }));
        if (live) {
            this.update = logUpdate.create(out as NodeJS.WriteStream, { showCursor: true });
            this.timer = setInterval(() => this.redraw(), 120);
            this.timer.unref();
        }
    }

    /** A line above the block (or a plain line). */
    note(text: string): void {
        if (this.update) {
            this.update.clear();
            this.out.write(`${text}\n`);
            this.redraw();
        } else {
            this.out.write(`[${this.elapsed()}] ${text}\n`);
        }
    }

    /** Sets a step's state (a step not declared yet is added at the end). A finished step stays finished. */
    step(name: string, state: StepState, detail = ""): void {
        let row = this.steps.find((s) => s.name === name);
        if (!row) this.steps.push((row = { name, label: name, state: "pending", detail: "" }));
        if (FINISHED.has(row.state)) return;
        this.change(row, state, detail, `step ${name}`);
    }

    /** Sets a server's state (a server not declared yet is added, labelled with its name). */
    server(name: string, state: ServerState, detail = ""): void {
        let row = this.servers.find((s) => s.name === name);
        if (!row) this.servers.push((row = { name, label: name, state: "idle", detail: "" }));
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

    /** Final drawing; stops the spinner and leaves the block on screen. */
    finish(): void {
        if (this.timer) clearInterval(this.timer);
        this.timer = undefined;
        if (this.update) {
            this.redraw();
            this.update.done();
        }
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
        if (this.update) this.redraw();
        else this.out.write(`[${this.elapsed()}] ${what}: ${state}${detail ? ` (${detail})` : ""}\n`);
    }

    private elapsed(): string {
        return `${((Date.now() - this.started) / 1000).toFixed(1).padStart(5)}s`;
    }

    private redraw(): void {
        if (!this.update) return;
        this.frame++;
        const columns = (this.out as NodeJS.WriteStream).columns || 120;
        const cut = (text: string) => (text.length > columns - 1 ? `${text.slice(0, columns - 2)}…` : text);
        const lines: string[] = ["  Rotation steps"];
        for (const s of this.steps) lines.push(`    ${this.icon(s.state)} ${cut(`${s.label.padEnd(16)} ${this.time(s)} `)}${pc.dim(cut(s.detail))}`);
        lines.push("  Servers");
        const width = Math.max(...this.servers.map((s) => s.label.length), 10);
        for (const s of this.servers) lines.push(`    ${this.icon(s.state)} ${s.label.padEnd(width)} ${s.state.padEnd(22)} ${pc.dim(cut(s.detail))}`);
        this.update(lines.join("\n"));
    }

    private icon(state: string): string {
        if (state === "done" || state === "updated" || state === "confirmed") return pc.green("✔");
        if (state === "failed" || state === "rejected") return pc.red("✘");
        if (state === "pending" || state === "idle" || state === "skipped") return pc.dim("·");
        if (state === "awaiting confirmation") return pc.yellow("?");
        return pc.yellow(SPINNER[this.frame % SPINNER.length]);
    }

    private time(row: Row<string>): string {
        if (row.startedAt === undefined) return "      ";
        return `${(((row.endedAt ?? Date.now()) - row.startedAt) / 1000).toFixed(1).padStart(5)}s`;
    }
}
