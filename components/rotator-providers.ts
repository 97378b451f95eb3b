/**
 * The rotator's dynamic providers (components/providers/), wired under the rotator in both modes:
 *  - `BootstrapCredential` (`<name>-first-credential`): the first credential, so a server can fetch a valid
 *    credential right after the first `pulumi up` (auto: the secret's AWSCURRENT; manual: the SecureString
 *    parameter, which this provider creates and owns - Pulumi never holds its value);
 *  - `RotateNow` (`<name>-rotate-now`): starts a rotation when the `rotateNow` value changes (from the first
 *    deploy on: trigger "" records a baseline);
 *  - `RetirementGuard` (`<name>-retirement`): advances old-key retirements on `pulumi up`, shows held
 *    retirements, and releases one when `retirement.overrideKeyId` names it.
 */
import * as pulumi from "@pulumi/pulumi";
import { BootstrapCredential } from "./providers/bootstrap-credential";
import { RetirementGuard } from "./providers/retirement-guard";
import { RotateNow } from "./providers/rotate-now";
import { lifecycleOptions, RotatorShared } from "./rotator-shared";

/** Where the first credential goes: the auto-mode secret, or the manual-mode parameter (created by the provider). */
export type FirstCredentialStore = { secretArn: pulumi.Input<string> } | { parameterName: pulumi.Input<string> };

/** What `RotateNow` starts: the secret's rotation (auto) or a CredentialRotation execution (manual). */
export type RotateNowTarget =
    | { mode: "auto"; secretArn: pulumi.Input<string> }
    | { mode: "manual"; stateMachineArn: pulumi.Input<string>; timeZone: string; parameterName: string };

/** Creates the first credential under the rotator (references only in state). */
export function createFirstCredential(shared: RotatorShared, target: FirstCredentialStore): BootstrapCredential {
    const { settings } = shared;
    const manual = "parameterName" in target;
    return new BootstrapCredential(
        `${shared.name}-first-credential`,
        {
            mode: settings.mode,
            region: shared.ctx.region,
            iamUserName: shared.user.name,
            sesRegion: settings.sesRegion,
            ...(settings.smtpEndpoint ? { smtpEndpoint: settings.smtpEndpoint } : {}),
            smtpPort: settings.smtpPort,
            ...(manual ? { parameterName: target.parameterName } : { secretArn: target.secretArn }),
            // The secret carries its own KMS key (auto); the parameter is written by the provider (manual).
            ...(manual && settings.kmsKeyArn ? { kmsKeyId: settings.kmsKeyArn } : {}),
            ...shared.providerIdentity,
        },
        // It deletes its key (and, in manual mode, its parameter) on delete: opt-in protect / retainOnDelete.
        { parent: shared.parent, ...lifecycleOptions(shared.credentialLifecycle) },
    );
}

/** The operator controls and what they report. */
export interface OperatorControls {
    rotateNow: RotateNow;
    guard: RetirementGuard;
}

/**
 * Creates `RotateNow` (after the first credential and the rotation machinery it starts) and the
 * `RetirementGuard` (after the first credential).
 */
export function createOperatorControls(
    shared: RotatorShared,
    first: BootstrapCredential,
    target: RotateNowTarget,
    rotationResource: pulumi.Resource,
): OperatorControls {
    const { settings } = shared;
    const rotateNow = new RotateNow(
        `${shared.name}-rotate-now`,
        {
            trigger: settings.rotateNow,
            mode: target.mode,
            region: shared.ctx.region,
            ...(target.mode === "auto" ? { secretArn: target.secretArn } : { stateMachineArn: target.stateMachineArn, timeZone: target.timeZone }),
            ...shared.providerIdentity,
        },
        { parent: shared.parent, dependsOn: [first, rotationResource] },
    );
    const guard = new RetirementGuard(
        `${shared.name}-retirement`,
        {
            iamUserName: shared.user.name,
            region: shared.ctx.region,
            observationHours: settings.retirement.observationHours,
            graceDays: settings.retirement.graceDays,
            notifyTopicArn: shared.topic.arn,
            overrideKeyId: settings.retirement.overrideKeyId,
            ...shared.providerIdentity,
            // the store the retirement re-reads before every deactivate and delete
            ...(target.mode === "auto" ? { secretArn: target.secretArn } : { parameterName: target.parameterName }),
        },
        { parent: shared.parent, dependsOn: [first] },
    );
    return { rotateNow, guard };
}
