// Mutation testing (issue 16): `npm run mutation` runs scripts/mutation.mjs, which calls Stryker once per
// runtime file with that file's fast test set (see the table there). Not part of `npm test`.
// Stryker's command runner runs mocha for every mutant (the project's mocha 12 is newer than the mocha
// runner supports); the root hooks in .mocharc.json start a moto_server per run.
const tests = process.env.MUTATION_TESTS ?? "tests/smtp-password.test.ts tests/ses-password-reference.test.ts";
const name = process.env.MUTATION_NAME ?? "default";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
    packageManager: "npm",
    testRunner: "command",
    commandRunner: { command: `npx mocha --reporter dot ${tests}` },
    coverageAnalysis: "off",
    checkers: ["typescript"],
    tsconfigFile: "tsconfig.json",
    typescriptChecker: { prioritizePerformanceOverAccuracy: true },
    mutate: ["runtime/smtp-password.ts"],
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    reporters: ["clear-text", "json", "progress"],
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    concurrency: 2,
    timeoutMS: 60000,
    ignorePatterns: ["bin", "reports", ".pulumi", "tests/artifacts", "bench/results", "*.log"],
    tempDirName: ".stryker-tmp",
    cleanTempDir: true,
};
