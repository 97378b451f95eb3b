/**
 * Library entry (`import { SmtpCredentialRotator, EmailServerFleet } from "ses-smtp-rotator"`):
 * the two components, their argument types, and the pure builders other stacks may reuse.
 */
export { EmailServerFleet, EMAIL_SERVER_FLEET_TYPE } from "./fleet";
export { SmtpCredentialRotator, SMTP_CREDENTIAL_ROTATOR_TYPE } from "./rotator";
export type {
    EmailServerFleetArgs,
    FleetBinding,
    FleetSelector,
    ManualModeArgs,
    RetirementArgs,
    RotationMode,
    SmtpCredentialRotatorArgs,
    TableFleetSelector,
    TagFleetSelector,
} from "./args";
export type { RotatorShared, RotationModeResult, ManualRotationBuilder } from "./rotator-shared";
export { BootstrapCredential, RetirementGuard, RotateNow } from "./providers";
export type { BootstrapCredentialArgs, RetirementGuardArgs, RetirementSummary, RotateNowArgs } from "./providers";
export type { AwsContext, CredentialStore, PolicyDocument, PolicyStatement } from "./policies";
export { serverReadPolicy, smtpUserPolicy, rotationLambdaPolicy } from "./policies";
export type { FleetTarget, FleetServer, ServerSoftware } from "../runtime/fleet-target";
