/**
 * The dynamic providers of the rotator (types `pulumi-nodejs:dynamic/ses-rotator:<Type>`):
 * - {@link RotateNow}: rotate from `pulumi up` when a trigger value changes;
 * - {@link BootstrapCredential}: the first credential, made without secrets in Pulumi state;
 * - {@link RetirementGuard}: advance / hold / override old-key retirements and show holds as outputs;
 * plus the scheduled retirement Lambda's factory (auto mode).
 */
export { RotateNow, rotationExecutionName } from "./rotate-now";
export type { RotateNowArgs } from "./rotate-now";
export { BootstrapCredential } from "./bootstrap-credential";
export type { BootstrapCredentialArgs } from "./bootstrap-credential";
export { RetirementGuard } from "./retirement-guard";
export type { RetirementGuardArgs, RetirementSummary } from "./retirement-guard";
export { retirementLambdaFactory, retirementLambdaConfigFromEnv, RETIREMENT_SCHEDULE_EXPRESSION, RETIREMENT_LAMBDA_USER_ACTIONS } from "./retirement-lambda";
export type { RetirementLambdaConfig } from "./retirement-lambda";
