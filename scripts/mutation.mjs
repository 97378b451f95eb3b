#!/usr/bin/env node
// `npm run mutation` — mutation testing of runtime/ with Stryker (issue 16), one Stryker run per file so each
// file is mutated against only the fast tests that exercise it. Incremental: results live in
// reports/mutation/<name>.incremental.json, so a re-run only re-tests mutants whose code or tests changed.
//   npm run mutation                                  every file in the table
//   npm run mutation -- runtime/smtp-password.ts      one (or several) files
// Not part of `npm test` (it is slow). Scores are recorded in docs/mutation.md.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** mocha without .mocharc.json's root hooks (moto, proxy, leak scanner), for tests that make no AWS call */
const PURE = ["--no-config", "-r", "ts-node/register/transpile-only", "--extension", "ts", "--timeout", "120000"];

/** runtime file → the fast test files that exercise it (and any extra mocha arguments, no quoting) */
export const TARGETS = {
    // no AWS needed: without the root hooks (no moto per run) a mutant takes ~4 s instead of ~20 s. The reference
    // test's endpoint cases are left out: they compile runtime/smtp-password.ts's own text, which Stryker instruments.
    "runtime/smtp-password.ts": [...PURE, "tests/smtp-password.test.ts", "tests/mutation-smtp-password.test.ts", "tests/ses-password-reference.test.ts", "--grep", "decides.with.it", "--invert"],
    "runtime/server-report.ts": ["tests/server-report.test.ts"],
    "runtime/access-keys.ts": ["tests/access-keys.test.ts"],
};

const wanted = process.argv.slice(2);
const files = wanted.length > 0 ? wanted : Object.keys(TARGETS);
let failed = 0;
for (const file of files) {
    const tests = TARGETS[file];
    if (!tests) {
        console.error(`mutation: no test set for ${file}; add it to TARGETS in scripts/mutation.mjs`);
        process.exitCode = 2;
        continue;
    }
    const name = file.replace(/^runtime\//, "").replace(/\.ts$/, "").replace(/\//g, "-");
    console.log(`\n=== ${file}  (mocha ${tests.join(" ")})`);
    const run = spawnSync("npx", ["stryker", "run", "stryker.config.mjs", "--mutate", file], {
        stdio: "inherit",
        env: { ...process.env, MUTATION_TESTS: tests.join(" "), MUTATION_NAME: name },
    });
    if (run.status !== 0) failed++;
    try {
        const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, "utf8"));
        const counts = {};
        for (const m of Object.values(report.files).flatMap((f) => f.mutants)) counts[m.status] = (counts[m.status] ?? 0) + 1;
        const killed = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
        const valid = killed + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
        console.log(`mutation: ${file} ${((100 * killed) / Math.max(valid, 1)).toFixed(1)}% ${JSON.stringify(counts)}`);
    } catch { /* the run failed before writing its report */ }
}
if (failed > 0) process.exitCode = 1;
