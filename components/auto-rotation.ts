/**
 * Auto mode: a Secrets Manager secret rotated by a Lambda (runtime/auto/rotation-handler.ts) that updates
 * the fleet over SSM, proves the new credential with SMTP AUTH and hands the old key to retirement.
 * Creates: secret, its first value (BootstrapCredential, made by a dynamic provider: no secret in state), log
 * group, Lambda role + inline policy, the function (SharedCodeFunction: CallbackFunction's archive, serialized once per process), the invoke
 * permission for Secrets Manager (scoped to the secret), the rotation schedule, an EventBridge rule
 * that sends Secrets Manager's RotationFailed events to the alert topic, and the hourly old-key
 * retirement Lambda (retirement-schedule.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { defaultSmtpEndpoint } from "../runtime/credential";
import { FleetTarget } from "../runtime/fleet-target";
import { alertTopicPolicy, rotationFailedEventPattern, rotationLambdaPolicy } from "./policies";
import { buildRetirementSchedule } from "./retirement-schedule";
import { BootstrapCredential } from "./providers/bootstrap-credential";
import { createFirstCredential } from "./rotator-providers";
import { lambdaCodePathOptions, rotationLambdaFactory } from "./rotation-lambda";
import { SharedCodeFunction } from "./shared-code-function";
import { lambdaLogGroupAndRole, lifecycleOptions, RotationModeResult, RotatorShared } from "./rotator-shared";
import { ROTATION_LAMBDA_TIMEOUT_SECONDS, RotatorSettings } from "./settings";

/** Values for the rotation Lambda's environment that are only known at deployment. */
export interface RotationEnvironmentInputs {
    iamUserName: string;
    fleetTarget: FleetTarget;
    postfixDocument: string;
    iisDocument: string;
    /**
     * The document versions this deployment created (`aws.ssm.Document` latestVersion): every command pins them,
     * so a later `ssm:UpdateDocument` by someone else does not change what runs as root on the servers.
     */
    postfixDocumentVersion?: string;
    iisDocumentVersion?: string;
    notifyTopicArn: string;
}

/** The rotation Lambda's environment variables (names and formats: runtime/auto/config.ts). Pure. */
export function rotationLambdaEnvironment(settings: RotatorSettings, values: RotationEnvironmentInputs): Record<string, string> {
    const env: Record<string, string> = {
        IAM_USER_NAME: values.iamUserName,
        SES_REGION: settings.sesRegion,
        SMTP_ENDPOINT: settings.smtpEndpoint ?? defaultSmtpEndpoint(settings.sesRegion),
        SMTP_PORT: String(settings.smtpPort),
        FLEET_TARGET: JSON.stringify(values.fleetTarget),
        POSTFIX_DOCUMENT: values.postfixDocument,
        IIS_DOCUMENT: values.iisDocument,
        ...(values.postfixDocumentVersion ? { POSTFIX_DOCUMENT_VERSION: values.postfixDocumentVersion } : {}),
        ...(values.iisDocumentVersion ? { IIS_DOCUMENT_VERSION: values.iisDocumentVersion } : {}),
        NOTIFY_TOPIC_ARN: values.notifyTopicArn,
        FLEET_DEADLINE_SECONDS: String(settings.fleetDeadlineSeconds),
        RETIRE_OBSERVATION_HOURS: String(settings.retirement.observationHours),
        RETIRE_GRACE_DAYS: String(settings.retirement.graceDays),
    };
    if (settings.kmsKeyArn) env.KMS_KEY_ID = settings.kmsKeyArn;
    if (settings.allowNonSesSmtpEndpoint) env.ALLOW_NON_SES_SMTP_ENDPOINT = "true";
    return env;
}

/** Auto mode's result: the rotator also wires rotate-now to the secret's rotation, after the first credential. */
export interface AutoRotationResult extends RotationModeResult {
    secret: aws.secretsmanager.Secret;
    rotation: aws.secretsmanager.SecretRotation;
    firstCredential: BootstrapCredential;
}

/** Builds auto mode under the rotator (`shared.parent`). */
export function buildAutoRotation(shared: RotatorShared): AutoRotationResult {
    const { parent, name, settings, tags } = shared;
    const opts: pulumi.CustomResourceOptions = { parent };

    const secret = new aws.secretsmanager.Secret(
        `${name}-credential`,
        {
            description: `Amazon SES SMTP credential of business unit ${settings.businessUnit} (rotated automatically; servers read it by ARN + version)`,
            kmsKeyId: settings.kmsKeyArn,
            tags,
        },
        // The servers' credential: opt-in protect / retainOnDelete (renames and destroys, README runbook).
        { ...opts, ...lifecycleOptions(shared.credentialLifecycle) },
    );
    // The secret's first value (AWSCURRENT), stored by the provider: never an aws.secretsmanager.SecretVersion
    // (that would put the credential in Pulumi state).
    const firstCredential = createFirstCredential(shared, { secretArn: secret.arn });

    const { logGroup, role } = lambdaLogGroupAndRole(shared, `${name}-rotation`, `Rotation Lambda of the ${settings.businessUnit} SES SMTP credential`);

    const environment = pulumi
        .all([
            shared.user.name,
            shared.fleetTarget,
            shared.documents.postfix.name,
            shared.documents.iis.name,
            shared.documents.postfix.latestVersion,
            shared.documents.iis.latestVersion,
            shared.topic.arn,
        ])
        .apply(([iamUserName, fleetTarget, postfixDocument, iisDocument, postfixDocumentVersion, iisDocumentVersion, notifyTopicArn]) =>
            rotationLambdaEnvironment(settings, { iamUserName, fleetTarget, postfixDocument, iisDocument, postfixDocumentVersion, iisDocumentVersion, notifyTopicArn }),
        );

    const fn = new SharedCodeFunction(
        `${name}-rotation`,
        {
            description: `Rotates the ${settings.businessUnit} SES SMTP credential across its mail servers`,
            callbackFactory: rotationLambdaFactory,
            codePathOptions: lambdaCodePathOptions(),
            role,
            runtime: aws.lambda.Runtime.NodeJS22dX,
            timeout: ROTATION_LAMBDA_TIMEOUT_SECONDS,
            memorySize: 256,
            environment: { variables: environment },
            loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
            tags,
        },
        opts,
    );

    // Which nodes SendCommand may reach: the fleet table (table fleets) or the fleet tag (tag fleets).
    const fleetScope = pulumi.all([shared.fleetTableArn ?? pulumi.output(undefined), shared.fleetTarget]).apply(([fleetTableArn, target]) => ({
        fleetTableArn,
        fleetTag: target.kind === "tag" ? { key: target.tagKey, value: target.tagValue } : undefined,
    }));
    const policy = new aws.iam.RolePolicy(
        `${name}-rotation`,
        {
            role: role.name,
            policy: pulumi
                .all([
                    shared.ctx,
                    shared.user.arn,
                    secret.arn,
                    shared.topic.arn,
                    shared.documents.postfix.arn,
                    shared.documents.iis.arn,
                    logGroup.arn,
                    fleetScope,
                ])
                .apply(([ctx, userArn, secretArn, topicArn, postfixDocumentArn, iisDocumentArn, logGroupArn, { fleetTableArn, fleetTag }]) =>
                    JSON.stringify(
                        rotationLambdaPolicy(ctx, {
                            userArn,
                            secretArn,
                            topicArn,
                            postfixDocumentArn,
                            iisDocumentArn,
                            logGroupArn,
                            fleetTableArn,
                            ...(fleetTag ? { fleetTag } : {}),
                            kmsKeyArn: settings.kmsKeyArn,
                        }),
                    ),
                ),
        },
        opts,
    );

    const permission = new aws.lambda.Permission(
        `${name}-rotation-invoke`,
        {
            action: "lambda:InvokeFunction",
            function: fn.name,
            principal: "secretsmanager.amazonaws.com",
            sourceArn: secret.arn,
            sourceAccount: shared.ctx.accountId,
        },
        opts,
    );

    const rotation = new aws.secretsmanager.SecretRotation(
        `${name}-rotation`,
        {
            secretId: secret.id,
            rotationLambdaArn: fn.arn,
            rotationRules: { scheduleExpression: settings.schedule.scheduleExpression, duration: settings.schedule.window },
            rotateImmediately: settings.rotateImmediately,
        },
        // An immediate rotation (and every later one) needs a stored current credential: the first one.
        { parent, dependsOn: [permission, policy, firstCredential] },
    );

    const rule = new aws.cloudwatch.EventRule(
        `${name}-rotation-failed`,
        {
            description: `Secrets Manager could not rotate the ${settings.businessUnit} SES SMTP credential`,
            eventPattern: secret.arn.apply((arn) => JSON.stringify(rotationFailedEventPattern(arn))),
            tags,
        },
        opts,
    );
    const topicPolicy = new aws.sns.TopicPolicy(
        `${name}-alerts`,
        { arn: shared.topic.arn, policy: pulumi.all([shared.topic.arn, rule.arn]).apply(([t, r]) => JSON.stringify(alertTopicPolicy(t, r))) },
        opts,
    );
    new aws.cloudwatch.EventTarget(`${name}-rotation-failed`, { rule: rule.name, arn: shared.topic.arn }, { parent, dependsOn: [topicPolicy] });

    const retirement = buildRetirementSchedule(shared, secret.arn);

    return {
        secret,
        rotation,
        firstCredential,
        credentialStore: secret.arn.apply((secretArn) => ({ kind: "secret" as const, secretArn })),
        outputs: {
            secretArn: secret.arn,
            rotationFunctionName: fn.name,
            rotationFunctionArn: fn.arn,
            rotationId: rotation.id,
            rotationFailedRuleName: rule.name,
            retirementFunctionName: retirement.functionName,
        },
    };
}
