/**
 * The dynamic providers of the rotator (types `pulumi-nodejs:dynamic/ses-rotator:<Type>`):
 * - {@link RotateNow}: rotate from `pulumi up` when a trigger value changes;
 * - {@link BootstrapCredential}: the first credential, made without secrets in Pulumi state;
 * - {@link RetirementGuard}: advance / hold / override old-key retirements and show holds as outputs;
 * plus the scheduled retirement Lambda's factory (auto mode).
 */
// The stable entry points `ses-smtp-rotator/providers/<name>` (providers/*.ts at the package root), loaded with the
// components: Pulumi recognises each provider object as such a module's export when it serializes a resource.
import "../../providers/rotate-now";
import "../../providers/bootstrap-credential";
import "../../providers/retirement-guard";
export { RotateNow, rotationExecutionName } from "./rotate-now";
export type { RotateNowArgs } from "./rotate-now";
export { BootstrapCredential } from "./bootstrap-credential";
export type { BootstrapCredentialArgs } from "./bootstrap-credential";
export { RetirementGuard } from "./retirement-guard";
export type { RetirementGuardArgs, RetirementSummary } from "./retirement-guard";
export { retirementLambdaFactory, retirementLambdaConfigFromEnv, RETIREMENT_SCHEDULE_EXPRESSION, RETIREMENT_LAMBDA_USER_ACTIONS } from "./retirement-lambda";
export type { RetirementLambdaConfig } from "./retirement-lambda";
