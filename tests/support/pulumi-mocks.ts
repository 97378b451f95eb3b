/**
 * The tests' Pulumi mock runtime lives in sandbox/pulumi-mocks.ts (product code: the benchmark uses it too, and
 * product code never imports from tests/). Importing this module sets the mocks, as before.
 */
export * from "../../sandbox/pulumi-mocks";
