#!/usr/bin/env node
// `npm test`: the whole suite as two mocha processes side by side, each with its own moto_server, proxy and leak
// scanner (the root hooks in .mocharc.json). Most of the suite waits on emulators, real Postfix and child
// processes rather than on the CPU, so two groups finish in about half the wall time of one. The slowest files
// (the fault matrix, the demo runs) form one group; everything else the other. Every line is printed as it comes,
// prefixed with its group; the last line adds up both groups' closing lines: "tests: N passed, N failed, N skipped".
// `npm test -- tests/x.test.ts ...` runs just those files in one process.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const path = require("path");
const readline = require("readline");

const root = path.join(__dirname, "..");
const mocha = require.resolve("mocha/bin/mocha.js");
const SLOW = ["fault-matrix", "demo", "demo-front-door", "demo-browser"].map((n) => `tests/${n}.test.ts`);

function groups(args) {
    if (args.length > 0) return [{ name: "tests", files: args }];
    const all = fs.readdirSync(path.join(root, "tests")).filter((f) => f.endsWith(".test.ts")).map((f) => `tests/${f}`).sort();
    const missing = SLOW.filter((f) => !all.includes(f));
    if (missing.length > 0) throw new Error(`scripts/run-tests.js: ${missing.join(", ")} not found (update SLOW)`);
    return [
        { name: "slow", files: SLOW },
        { name: "rest", files: all.filter((f) => !SLOW.includes(f)) },
    ];
}

function run({ name, files }, prefix) {
    return new Promise((resolve) => {
        const child = spawn(process.execPath, [mocha, ...files], { cwd: root, stdio: ["ignore", "pipe", "pipe"] });
        const totals = { passed: 0, failed: 0, skipped: 0, seen: false };
        for (const stream of [child.stdout, child.stderr]) {
            readline.createInterface({ input: stream }).on("line", (line) => {
                const m = /^tests: (\d+) passed, (\d+) failed, (\d+) skipped$/.exec(line.trim());
                if (m) Object.assign(totals, { passed: +m[1], failed: +m[2], skipped: +m[3], seen: true });
                (stream === child.stderr ? process.stderr : process.stdout).write(prefix ? `[${name}] ${line}\n` : `${line}\n`);
            });
        }
        child.on("close", (code, signal) => resolve({ name, code: code ?? 1, signal, ...totals }));
    });
}

async function main() {
    const list = groups(process.argv.slice(2));
    const results = await Promise.all(list.map((g) => run(g, list.length > 1)));
    const sum = (k) => results.reduce((n, r) => n + r[k], 0);
    for (const r of results) {
        if (!r.seen) console.log(`group ${r.name} ended without its summary line (exit ${r.code}${r.signal ? `, ${r.signal}` : ""})`);
    }
    const failedGroups = results.filter((r) => r.code !== 0 || !r.seen);
    // a group that failed without counting a failed test (it crashed) still counts as a failure
    const failed = sum("failed") || failedGroups.length;
    console.log(`\ntests: ${sum("passed")} passed, ${failed} failed, ${sum("skipped")} skipped`);
    process.exit(failedGroups.length > 0 ? 1 : 0);
}

main().catch((e) => {
    console.error(e.message);
    process.exit(1);
});
