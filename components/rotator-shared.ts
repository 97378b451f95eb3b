/**
 * The pieces `SmtpCredentialRotator` creates for both modes, handed to the mode builders
 * (`auto-rotation.ts` here, `buildManualRotation` in `components/manual/`), and what a mode builder returns.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { FleetTarget } from "../runtime/fleet-target";
import { FleetBinding } from "./args";
import { AwsContext, CredentialStore, serviceAssumeRolePolicy } from "./policies";
import { RotatorSettings } from "./settings";

/** Shared resources and settings of one rotator. Every resource a mode builder creates must use `{ parent }`. */
export interface RotatorShared {
    /** the rotator component: parent of everything the mode builder creates */
    parent: pulumi.ComponentResource;
    /** the rotator's name: prefix of every logical name (never a physical name) */
    name: string;
    /** validated settings (defaults applied) */
    settings: RotatorSettings;
    /** partition, account and stack region, from data sources */
    ctx: pulumi.Output<AwsContext>;
    /** the SMTP IAM user (its access keys are the credentials; `forceDestroy`) */
    user: aws.iam.User;
    /** alert topic: rotation start / success / failure / held retirements */
    topic: aws.sns.Topic;
    /** SSM Command documents that install the credential on servers */
    documents: { postfix: aws.ssm.Document; iis: aws.ssm.Document };
    /** the fleet binding as given */
    fleet: FleetBinding;
    /** the fleet target JSON */
    fleetTarget: pulumi.Output<FleetTarget>;
    /** the fleet table ARN (table selector only) */
    fleetTableArn?: pulumi.Output<string>;
    /** customer KMS key ARN for the credential, if any */
    kmsKeyArn?: string;
    /** SES region the SMTP password is derived for */
    sesRegion: string;
    /** tags for taggable resources */
    tags: Record<string, string>;
    /** `args.manual` as given (manual-mode options; validated by the manual builder, errors naming `manual.<key>`) */
    manualOptions: Record<string, unknown>;
    /**
     * The stack's AWS identity for the dynamic providers: profile / role (names and ARNs only) and the account
     * the stack deploys into (the aws provider's getCallerIdentity). Spread into every provider's inputs.
     */
    providerIdentity: ProviderIdentityInputs;
    /** Opt-in resource options for what holds the servers' credential (IAM user, secret, first credential). */
    credentialLifecycle: CredentialLifecycle;
}

/** The identity inputs of the dynamic providers (components/providers/aws-identity.ts). */
export interface ProviderIdentityInputs {
    awsProfile?: pulumi.Input<string>;
    awsRoleArn?: pulumi.Input<string>;
    awsExternalId?: pulumi.Input<string>;
    awsRoleSessionName?: pulumi.Input<string>;
    accountId: pulumi.Input<string>;
}

/** `protect` / `retainOnDelete` for the IAM user and the credential store (both default false). */
export interface CredentialLifecycle {
    protect?: boolean;
    retainOnDelete?: boolean;
}

/** The resource options a credential-holding resource gets from {@link CredentialLifecycle}. */
export function lifecycleOptions(lifecycle: CredentialLifecycle): pulumi.CustomResourceOptions {
    return {
        ...(lifecycle.protect ? { protect: true } : {}),
        ...(lifecycle.retainOnDelete ? { retainOnDelete: true } : {}),
    };
}

/** What a mode builder returns to the rotator. */
export interface RotationModeResult {
    /** where the credential lives (the servers' read policy is built from it) */
    credentialStore: pulumi.Output<CredentialStore>;
    /** extra component outputs (no secrets), e.g. `secretArn`, `rotationFunctionName`, `stateMachineArn` */
    outputs: Record<string, pulumi.Output<unknown>>;
}

/**
 * Signature `components/manual/index.ts` exports as `buildManualRotation`. The rotator starts rotate-now
 * executions on `resources.rotationStateMachine` (and creates the credential parameter with the first credential).
 */
export type ManualRotationBuilder = (
    parent: pulumi.ComponentResource,
    name: string,
    inputs: RotatorShared,
) => RotationModeResult & { resources: { rotationStateMachine: aws.sfn.StateMachine } };

/**
 * A Lambda function's log group and execution role (assumable by lambda.amazonaws.com, no policy yet), both
 * with the logical name `logicalName` under the rotator; the caller attaches the function's own policy.
 */
export function lambdaLogGroupAndRole(shared: RotatorShared, logicalName: string, roleDescription: string): { logGroup: aws.cloudwatch.LogGroup; role: aws.iam.Role } {
    const opts: pulumi.CustomResourceOptions = { parent: shared.parent };
    const logGroup = new aws.cloudwatch.LogGroup(logicalName, { retentionInDays: shared.settings.logRetentionDays, tags: shared.tags }, opts);
    const role = new aws.iam.Role(
        logicalName,
        { description: roleDescription, assumeRolePolicy: JSON.stringify(serviceAssumeRolePolicy("lambda.amazonaws.com")), tags: shared.tags },
        opts,
    );
    return { logGroup, role };
}
