/**
 * The runtime API (package export `./runtime`): plain TypeScript with injected AWS SDK v3 clients and no
 * `@pulumi` import, used by the Lambdas, the dynamic providers, the demo and the tests.
 *
 * Lambda code that Pulumi serializes should require the specific module it needs inside its factory
 * (e.g. `require("./runtime/auto/rotation-handler")`) rather than this barrel, to keep the closure small.
 */
export * from "./smtp-password";
export * from "./credential";
export * from "./fleet";
export * from "./smtp-check";
export * from "./access-keys";
export * from "./notify";
export * from "./retirement";
export * from "./auto/rotation-handler";
