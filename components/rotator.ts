/**
 * `SmtpCredentialRotator`: the SMTP IAM user, the alert topic and the SSM documents (both modes), then the
 * mode's rotation machinery (auto: `auto-rotation.ts`; manual: `components/manual/`), the first credential,
 * rotate-now and the retirement guard (`rotator-providers.ts`), and the policy that lets the fleet's servers
 * read the credential. Thin: every decision is in the pure builders.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { createHash } from "crypto";
import { iisDocumentContent, postfixDocumentContent } from "../documents";
import { SmtpCredentialRotatorArgs } from "./args";
import { buildAutoRotation } from "./auto-rotation";
import { AwsContext, CredentialStore, serverReadPolicy, sesConfigurationSetArn, sesIdentityArn, smtpUserPolicy } from "./policies";
import { validateManualOptions } from "./manual/options";
import type { RetirementSummary } from "./providers/retirement-guard";
import { physicalNameTransformation } from "./physical-names";
import { createFirstCredential, createOperatorControls, OperatorControls } from "./rotator-providers";
import { CredentialLifecycle, lifecycleOptions, ManualRotationBuilder, ProviderIdentityInputs, RotationModeResult, RotatorShared } from "./rotator-shared";
import { RotatorSettings, validateRotatorArgs } from "./settings";
import { resolveStackIdentity } from "./stack-identity";
import { argsLabel, InputLabel, invalid } from "./validation";

export const SMTP_CREDENTIAL_ROTATOR_TYPE = "ses-smtp-rotator:index:SmtpCredentialRotator";

/** Loads `components/manual/` on demand (only manual mode needs it). */
function manualBuilder(label: InputLabel): ManualRotationBuilder {
    let mod: { buildManualRotation?: ManualRotationBuilder };
    try {
        mod = require("./manual");
    } catch (e: any) {
        if (e?.code === "MODULE_NOT_FOUND" && String(e.message).includes("./manual")) {
            throw new Error(`${label("mode")} "manual" is not yet available in this version (components/manual is missing)`);
        }
        throw e;
    }
    if (typeof mod.buildManualRotation !== "function") {
        throw new Error(`${label("mode")} "manual" is not yet available in this version (components/manual exports no buildManualRotation)`);
    }
    return mod.buildManualRotation;
}

/** Stable short id for logical names derived from user input (e-mail addresses, role names). */
function shortId(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/**
 * Manual mode's default credential parameter: unique per stack and component, so two stacks of one business
 * unit (staging, prod) or two rotators of one unit in the same account and region never share it:
 * `/ses-smtp/<businessUnit>/<stack>/<component name>/credential` (characters a parameter name cannot hold
 * become `_`, plus a short hash of the name then).
 */
export function defaultManualParameterName(businessUnit: string, stack: string, name: string): string {
    const safe = (text: string) => text.replace(/[^A-Za-z0-9_.-]/g, "_");
    const component = safe(name) === name ? name : `${safe(name)}-${shortId(name)}`;
    return `/ses-smtp/${businessUnit}/${safe(stack)}/${component}/credential`;
}

/** The rotator's stack identity inputs for the dynamic providers (see stack-identity.ts). */
function providerIdentityOf(
    rotator: pulumi.ComponentResource,
    label: InputLabel,
    args: SmtpCredentialRotatorArgs,
    accountId: pulumi.Output<string>,
): ProviderIdentityInputs {
    const awsProvider = rotator.getProvider("aws:iam/user:User");
    const config = new pulumi.Config("aws");
    const identity = resolveStackIdentity(label, {
        explicit: args.awsIdentity,
        explicitProvider: awsProvider !== undefined,
        config: { profile: config.get("profile"), assumeRoles: config.getObject("assumeRoles"), assumeRole: config.getObject("assumeRole") },
    });
    // An explicit aws provider: its profile (an output of the provider resource).
    const providerProfile = awsProvider && !identity.profile ? ((awsProvider as unknown as { profile?: pulumi.Output<string | undefined> }).profile) : undefined;
    return {
        ...(identity.profile ? { awsProfile: identity.profile } : providerProfile ? { awsProfile: providerProfile.apply((p) => p ?? "") } : {}),
        ...(identity.roleArn ? { awsRoleArn: identity.roleArn } : {}),
        ...(identity.externalId ? { awsExternalId: identity.externalId } : {}),
        ...(identity.roleSessionName ? { awsRoleSessionName: identity.roleSessionName } : {}),
        accountId,
    };
}

/**
 * Rotates one business unit's Amazon SES SMTP credential across its mail servers.
 *
 * Auto mode: Secrets Manager rotation (schedule from `rotateAfterDays` / `scheduleExpression`) with a Lambda
 * that updates every server over SSM, proves the new key with SMTP AUTH, and retires the old key only after
 * every server switched. Manual mode: a Step Functions workflow with per-server human confirmation.
 * No physical names are fixed, so several rotators can share one account and region.
 *
 * The servers' roles (`fleet.serverRoleNames`) get an inline policy (`serverReadPolicy`) to read the
 * credential; attach `serverReadPolicy` yourself to anything else that must read it.
 */
export class SmtpCredentialRotator extends pulumi.ComponentResource {
    /** The SMTP IAM user's name (its access key id is the SMTP user name). */
    readonly userName: pulumi.Output<string>;
    readonly userArn: pulumi.Output<string>;
    /** Alert topic: rotation start, success, failure (with per-server status), held retirements. */
    readonly topicArn: pulumi.Output<string>;
    readonly postfixDocumentName: pulumi.Output<string>;
    readonly iisDocumentName: pulumi.Output<string>;
    /** Where the credential is stored (secret ARN in auto mode, parameter ARN in manual mode). */
    readonly credentialStore: pulumi.Output<CredentialStore>;
    /** IAM policy JSON that lets a server read (and decrypt) the credential. */
    readonly serverReadPolicy: pulumi.Output<string>;
    /** Auto mode: the secret's ARN. */
    readonly secretArn?: pulumi.Output<string>;
    /** Auto mode: the rotation function's name. */
    readonly rotationFunctionName?: pulumi.Output<string>;
    /** The first credential's access key id (made by `BootstrapCredential`; the SMTP user name until the first rotation). */
    readonly firstAccessKeyId: pulumi.Output<string>;
    /** Old keys whose retirement is held: a consumer used them after every server switched. Empty = none. */
    readonly retirementHeldKeyIds: pulumi.Output<string[]>;
    /** The first held key (set `retirement.overrideKeyId` / stack config `retirementOverrideKeyId` to it to release it). */
    readonly retirementHeldKeyId: pulumi.Output<string | undefined>;
    /** IAM's last-use report for the first held key: date, service, region. */
    readonly retirementHeldEvidence: pulumi.Output<{ lastUsedDate: string; serviceName?: string; region?: string } | undefined>;
    /** Every old-key retirement in progress, as of the last `pulumi up`. */
    readonly retirements: pulumi.Output<RetirementSummary[]>;
    /** The rotation last started by changing `rotateNow` (auto: secret version id; manual: execution ARN), if any. */
    readonly rotateNowStarted: pulumi.Output<{ trigger?: string; at?: string; rotationVersionId?: string; executionArn?: string }>;
    /** Mode-specific outputs (no secrets), as returned by the mode builder. */
    readonly modeOutputs: Record<string, pulumi.Output<unknown>>;
    /** Validated settings (defaults applied). */
    readonly settings: RotatorSettings;

    constructor(name: string, args: SmtpCredentialRotatorArgs, opts?: pulumi.ComponentResourceOptions) {
        // Validate (and resolve the mode builder) before registering anything: bad input fails at preview
        // with an error naming it, and leaves no half-built component behind.
        const label = argsLabel("SmtpCredentialRotator", name);
        const settings = validateRotatorArgs(label, name, args);
        const buildMode = settings.mode === "manual" ? manualBuilder(label) : undefined;
        // The explicit identity fields, checked before anything registers (the stack config is read below).
        resolveStackIdentity(label, { explicit: args.awsIdentity, explicitProvider: true, config: {} });
        for (const key of ["protectCredential", "retainCredentialOnDelete"] as const) {
            if (args[key] !== undefined && typeof args[key] !== "boolean") invalid(label, key, "must be true or false", args[key]);
        }
        const credentialLifecycle: CredentialLifecycle = { protect: args.protectCredential === true, retainOnDelete: args.retainCredentialOnDelete === true };
        // Children whose auto-name would break an AWS name limit get an explicit, fitting name (physical-names.ts).
        super(SMTP_CREDENTIAL_ROTATOR_TYPE, name, {}, { ...opts, transformations: [...(opts?.transformations ?? []), physicalNameTransformation] });
        this.settings = settings;

        const tags = { ...(args.tags ?? {}), "ses-rotator:business-unit": settings.businessUnit };
        const partition = aws.getPartitionOutput({}, { parent: this });
        const identity = aws.getCallerIdentityOutput({}, { parent: this });
        const region = aws.getRegionOutput({}, { parent: this });
        const ctx: pulumi.Output<AwsContext> = pulumi
            .all([partition.partition, identity.accountId, region.region])
            .apply(([p, accountId, r]) => ({ partition: p, accountId, region: r }));

        // The retirement records live in this user's tags (runtime/retirement-record.ts), written by the rotation,
        // not by Pulumi: after `pulumi refresh` they are in the state's tags, and an update that sent the declared
        // tags would remove them as drift. So Pulumi sets the declared tags at creation only (ignoreChanges).
        const user = new aws.iam.User(
            `${name}-smtp`,
            { forceDestroy: true, tags },
            { parent: this, ignoreChanges: ["tags"], ...lifecycleOptions(credentialLifecycle) },
        );
        new aws.iam.UserPolicy(
            `${name}-smtp-send`,
            {
                user: user.name,
                policy: ctx.apply((c) =>
                    JSON.stringify(
                        smtpUserPolicy({
                            identityArns: settings.sesIdentities.map((i) => sesIdentityArn(c, settings.sesRegion, i)),
                            configurationSetArn: settings.sesConfigurationSet
                                ? sesConfigurationSetArn(c, settings.sesRegion, settings.sesConfigurationSet)
                                : undefined,
                        }),
                    ),
                ),
            },
            { parent: this },
        );

        const topic = new aws.sns.Topic(`${name}-alerts`, { displayName: `SES SMTP rotation ${settings.businessUnit}`.slice(0, 100), tags }, { parent: this });
        for (const email of settings.notifyEmails) {
            new aws.sns.TopicSubscription(`${name}-notify-${shortId(email)}`, { topic: topic.arn, protocol: "email", endpoint: email }, { parent: this });
        }

        const documentArgs = (content: object) => ({ documentType: "Command", documentFormat: "JSON", content: JSON.stringify(content), tags });
        const documents = {
            postfix: new aws.ssm.Document(`${name}-postfix`, documentArgs(postfixDocumentContent()), { parent: this }),
            iis: new aws.ssm.Document(`${name}-iis`, documentArgs(iisDocumentContent()), { parent: this }),
        };

        const shared: RotatorShared = {
            parent: this,
            name,
            settings,
            ctx,
            user,
            topic,
            documents,
            fleet: args.fleet,
            fleetTarget: pulumi.output(args.fleet.target),
            fleetTableArn: args.fleet.tableArn,
            kmsKeyArn: settings.kmsKeyArn,
            sesRegion: settings.sesRegion,
            tags,
            manualOptions:
                settings.mode === "manual"
                    ? { ...args.manual, parameterName: args.manual?.parameterName ?? defaultManualParameterName(settings.businessUnit, pulumi.getStack(), name) }
                    : { ...args.manual },
            providerIdentity: providerIdentityOf(this, label, args, ctx.apply((c) => c.accountId)),
            credentialLifecycle,
        };
        let result: RotationModeResult;
        let controls: OperatorControls;
        let firstAccessKeyId: pulumi.Output<string>;
        if (buildMode) {
            const manual = buildMode(this, name, shared);
            // The credential parameter has exactly one owner: the first credential's provider creates it (KMS key
            // honoured) and deletes it with the rotator; CreateCredential only writes new versions.
            const options = validateManualOptions(label, shared.manualOptions, settings.businessUnit);
            const first = createFirstCredential(shared, { parameterName: options.parameterName });
            const stateMachine = manual.resources.rotationStateMachine;
            controls = createOperatorControls(shared, first, { mode: "manual", stateMachineArn: stateMachine.arn, timeZone: options.scheduleTimeZone, parameterName: options.parameterName }, stateMachine);
            result = manual;
            firstAccessKeyId = first.accessKeyId;
        } else {
            const auto = buildAutoRotation(shared);
            controls = createOperatorControls(shared, auto.firstCredential, { mode: "auto", secretArn: auto.secret.arn }, auto.rotation);
            result = auto;
            firstAccessKeyId = auto.firstCredential.accessKeyId;
        }

        this.serverReadPolicy = pulumi
            .all([ctx, result.credentialStore])
            .apply(([c, store]) => JSON.stringify(serverReadPolicy(c, store, settings.kmsKeyArn)));
        args.fleet.serverRoleNames.forEach((roleName, i) => {
            // Plain names key the logical name (reordering the list replaces nothing); Outputs fall back to the position.
            const key = typeof roleName === "string" ? shortId(roleName) : String(i);
            new aws.iam.RolePolicy(`${name}-server-read-${key}`, { role: roleName, policy: this.serverReadPolicy }, { parent: this });
        });

        this.userName = user.name;
        this.userArn = user.arn;
        this.topicArn = topic.arn;
        this.postfixDocumentName = documents.postfix.name;
        this.iisDocumentName = documents.iis.name;
        this.credentialStore = result.credentialStore;
        this.modeOutputs = result.outputs;
        this.secretArn = result.outputs.secretArn as pulumi.Output<string> | undefined;
        this.rotationFunctionName = result.outputs.rotationFunctionName as pulumi.Output<string> | undefined;
        this.firstAccessKeyId = firstAccessKeyId;
        const { guard, rotateNow } = controls;
        this.retirementHeldKeyIds = guard.heldKeyIds.apply((ids) => ids ?? []);
        this.retirementHeldKeyId = guard.heldKeyId;
        this.retirementHeldEvidence = guard.heldEvidence;
        this.retirements = guard.retirements.apply((r) => r ?? []);
        this.rotateNowStarted = pulumi
            .all([rotateNow.startedForTrigger, rotateNow.startedAt, rotateNow.rotationVersionId, rotateNow.executionArn])
            .apply(([trigger, at, rotationVersionId, executionArn]) =>
                Object.fromEntries(Object.entries({ trigger, at, rotationVersionId, executionArn }).filter(([, v]) => v !== undefined && v !== null)),
            );

        this.registerOutputs({
            userName: this.userName,
            userArn: this.userArn,
            topicArn: this.topicArn,
            postfixDocumentName: this.postfixDocumentName,
            iisDocumentName: this.iisDocumentName,
            credentialStore: this.credentialStore,
            serverReadPolicy: this.serverReadPolicy,
            firstAccessKeyId: this.firstAccessKeyId,
            retirementHeldKeyIds: this.retirementHeldKeyIds,
            retirementHeldKeyId: this.retirementHeldKeyId,
            retirementHeldEvidence: this.retirementHeldEvidence,
            retirements: this.retirements,
            rotateNowStarted: this.rotateNowStarted,
            ...result.outputs,
        });
    }
}
