// Mutation testing (issue 16): `npm run mutation` runs scripts/mutation.mjs, which calls Stryker once per
// runtime file with that file's fast test set (the TARGETS table there, passed in MUTATION_TARGET).
// Stryker's mocha runner keeps one mocha process per worker and switches mutants inside it; with perTest
// coverage analysis only the tests that reach a mutant run for it. A test set that calls AWS loads
// tests/support/mutation-hooks.ts, which starts one moto_server per worker (not per mutant).
const target = JSON.parse(process.env.MUTATION_TARGET ?? '{"spec":["tests/smtp-password.test.ts"]}');
const name = process.env.MUTATION_NAME ?? "default";

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
    packageManager: "npm",
    testRunner: "mocha",
    mochaOptions: {
        "no-config": true,
        spec: target.spec,
        extension: ["ts"],
        require: ["ts-node/register/transpile-only", ...(target.aws ? ["tests/support/mutation-hooks.ts"] : [])],
        ...(target.grep ? { grep: target.grep } : {}),
    },
    coverageAnalysis: "perTest",
    checkers: ["typescript"],
    // runtime/ only: the checker then type-checks a mutant in well under a second instead of the whole project
    tsconfigFile: "tsconfig.mutation.json",
    typescriptChecker: { prioritizePerformanceOverAccuracy: true },
    mutate: ["runtime/smtp-password.ts"],
    incremental: true,
    incrementalFile: `reports/mutation/${name}.incremental.json`,
    reporters: ["clear-text", "json", "progress"],
    jsonReporter: { fileName: `reports/mutation/${name}.json` },
    concurrency: 1,
    timeoutMS: 20000,
    ignorePatterns: ["bin", "reports", ".pulumi", "tests/artifacts", "bench/results", "*.log"],
    tempDirName: ".stryker-tmp",
    cleanTempDir: true,
};
