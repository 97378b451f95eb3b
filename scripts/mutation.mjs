#!/usr/bin/env node
// `npm run mutation` — mutation testing of runtime/ with Stryker (issue 16), one Stryker run per file so each
// file is mutated against only the fast tests that exercise it. Incremental: results live in
// reports/mutation/<name>.incremental.json, so a re-run only re-tests mutants whose code or tests changed.
//   npm run mutation                                  every file in the table
//   npm run mutation -- runtime/smtp-password.ts      one (or several) files
//   npm run mutation -- --force runtime/access-keys.ts   re-test every mutant (Stryker's --force), not only changed ones
//   npm run mutation -- runtime/fleet.ts:262-357      only the mutants on those lines (Stryker's file:start-end)
// Not part of `npm test` (it is slow). Scores are recorded in docs/mutation.md.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** lets Stryker's mocha runner (written for mocha < 12) find mocha 12's CLI helpers: see that file */
const MOCHA12_RESOLVE = fileURLToPath(new URL("./mocha12-resolve.cjs", import.meta.url));

/**
 * runtime file → the fast test files that exercise it. `aws: true` loads tests/support/mutation-hooks.ts (one
 * moto_server + wire proxy per Stryker worker); `grep` is a mocha --grep regular expression.
 * @type {Record<string, { spec: string[], aws?: boolean, grep?: string }>}
 */
export const TARGETS = {
    // The reference test's endpoint cases are left out: they compile runtime/smtp-password.ts's own text, which
    // Stryker instruments.
    "runtime/smtp-password.ts": { spec: ["tests/smtp-password.test.ts", "tests/mutation-smtp-password.test.ts", "tests/ses-password-reference.test.ts"], grep: "^(?!.*decides with it)" },
    "runtime/server-report.ts": { spec: ["tests/server-report.test.ts"] },
    "runtime/retirement-record.ts": { spec: ["tests/mutation-retirement-record.test.ts"] },
    "runtime/retirement.ts": { spec: ["tests/retirement.test.ts", "tests/retirement-safety.test.ts", "tests/mutation-retirement.test.ts"], aws: true },
    "runtime/access-keys.ts": { spec: ["tests/access-keys.test.ts", "tests/mutation-access-keys.test.ts"], aws: true },
    "runtime/fleet.ts": { spec: ["tests/fleet.test.ts", "tests/mutation-fleet.test.ts", "tests/mutation-fleet-send.test.ts"], aws: true },
    // The manual flow tests (manual-flow, manual-scenarios, manual-link-hash, hostile-input) run whole Step
    // Functions executions (tens of seconds per test): these drive the store and the API handler directly.
    "runtime/manual/confirmation-store.ts": { spec: ["tests/mutation-confirmation-store.test.ts"], aws: true },
    "runtime/manual/confirmation-api.ts": { spec: ["tests/mutation-confirmation-api.test.ts"], aws: true },
    // The rotation steps are driven directly (no handler, SSM or SMTP): tests/rotation-handler.test.ts runs whole
    // rotations, tens of seconds per covering test.
    "runtime/auto/create-secret.ts": { spec: ["tests/mutation-create-secret.test.ts"], aws: true },
    "runtime/auto/rotation-handler.ts": { spec: ["tests/mutation-rotation-handler.test.ts"], aws: true },
};

const args = process.argv.slice(2);
/** Stryker flags passed through, e.g. --force (re-test every mutant, ignoring the incremental file) */
const flags = args.filter((a) => a.startsWith("--"));
const wanted = args.filter((a) => !a.startsWith("--"));
const files = wanted.length > 0 ? wanted : Object.keys(TARGETS);
let failed = 0;
for (const wantedFile of files) {
    // "file:12-80" mutates only those lines; the test set and the incremental file are the whole file's
    const [file, lines] = wantedFile.split(/:(?=\d)/);
    const tests = TARGETS[file];
    if (!tests) {
        console.error(`mutation: no test set for ${file}; add it to TARGETS in scripts/mutation.mjs`);
        process.exitCode = 2;
        continue;
    }
    const name = file.replace(/^runtime\//, "").replace(/\.ts$/, "").replace(/\//g, "-");
    console.log(`\n=== ${wantedFile}  (${JSON.stringify(tests)})`);
    const run = spawnSync("npx", ["stryker", "run", "stryker.config.mjs", "--mutate", lines ? `${file}:${lines}` : file, ...flags], {
        stdio: "inherit",
        env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${MOCHA12_RESOLVE}`.trim(), MUTATION_TARGET: JSON.stringify(tests), MUTATION_NAME: name },
    });
    if (run.status !== 0) failed++;
    try {
        const report = JSON.parse(readFileSync(`reports/mutation/${name}.json`, "utf8"));
        const counts = {};
        for (const m of Object.values(report.files).flatMap((f) => f.mutants)) counts[m.status] = (counts[m.status] ?? 0) + 1;
        const killed = (counts.Killed ?? 0) + (counts.Timeout ?? 0);
        const valid = killed + (counts.Survived ?? 0) + (counts.NoCoverage ?? 0);
        console.log(`mutation: ${wantedFile} ${((100 * killed) / Math.max(valid, 1)).toFixed(1)}% ${JSON.stringify(counts)}`);
    } catch { /* the run failed before writing its report */ }
}
if (failed > 0) process.exitCode = 1;
