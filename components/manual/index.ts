/**
 * Manual mode of `SmtpCredentialRotator`: `buildManualRotation(parent, name, shared)` creates, all with
 * `{ parent }` and no fixed physical names:
 *  - the confirmation table (DynamoDB; customer KMS key when given) and the owner-mail SNS topic;
 *  - nine Lambdas (SharedCodeFunction, nodejs22.x, SDK excluded from the archive), each with its own log group
 *    and least-privilege role: CreateCredential, ListServersPage, StartConfirmation, RequestConfirmation,
 *    RemindOwner, ReportOutcome, RetireOldKeys, the confirmation API and the starter;
 *  - the ManualConfirmation, ConfirmationPage and CredentialRotation state machines (Standard), each with its
 *    own role;
 *  - the confirmation API (API Gateway HTTP API: GET and POST /confirm/{id});
 *  - the EventBridge Scheduler schedule (default `cron(0 0 L 1/3 ? *)`) that invokes the starter.
 * The credential parameter itself is written only by CreateCredential (never by Pulumi: no secret in state).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { PolicyDocument, serviceAssumeRolePolicy } from "../policies";
import { LAMBDA_RUNTIME_ENTRIES, lambdaCodePathOptions } from "../rotation-lambda";
import { SharedCodeFunction } from "../shared-code-function";
import { RotationModeResult, RotatorShared } from "../rotator-shared";
import { argsLabel } from "../validation";
import { confirmationPageDefinition, credentialRotationDefinition, manualConfirmationDefinition } from "./definitions";
import * as code from "./lambdas";
import { ManualOptions, validateManualOptions } from "./options";
import * as policies from "./policies";

export { confirmationPageDefinition, credentialRotationDefinition, manualConfirmationDefinition } from "./definitions";
export { DEFAULT_MANUAL_SCHEDULE, ManualOptions, validateManualOptions } from "./options";

/** What buildManualRotation creates, for tests and callers that need more than the returned outputs. */
export interface ManualRotationResources {
    functions: Record<ManualFunctionKey, SharedCodeFunction>;
    rotationStateMachine: aws.sfn.StateMachine;
    pageStateMachine: aws.sfn.StateMachine;
    confirmationStateMachine: aws.sfn.StateMachine;
    confirmationTable: aws.dynamodb.Table;
    ownerTopic: aws.sns.Topic;
    api: aws.apigatewayv2.Api;
    schedule?: aws.scheduler.Schedule;
}

export type ManualFunctionKey =
    | "createCredential"
    | "listServersPage"
    | "startConfirmation"
    | "requestConfirmation"
    | "remindOwner"
    | "reportOutcome"
    | "retireOldKeys"
    | "confirmationApi"
    | "starter";

const FACTORIES: Record<ManualFunctionKey, [() => (event: any) => Promise<unknown>, string]> = {
    createCredential: [code.createCredentialFactory, "creates the new SES SMTP credential (manual mode)"],
    listServersPage: [code.listServersPageFactory, "lists one page of mail servers (manual mode)"],
    startConfirmation: [code.startConfirmationFactory, "starts the owners' confirmations, page by page (manual mode)"],
    requestConfirmation: [code.requestConfirmationFactory, "e-mails a server owner the confirmation link"],
    remindOwner: [code.remindOwnerFactory, "reminds a server owner"],
    reportOutcome: [code.reportOutcomeFactory, "reports a server's confirmation outcome to the rotation"],
    retireOldKeys: [code.retireOldKeysFactory, "usage-guarded retirement of the old SMTP access keys"],
    confirmationApi: [code.confirmationApiFactory, "confirmation page and confirm action"],
    starter: [code.starterFactory, "starts CredentialRotation with a dated execution name"],
};

/** Builds manual mode under the rotator. */
export function buildManualRotation(parent: pulumi.ComponentResource, name: string, shared: RotatorShared): RotationModeResult & { resources: ManualRotationResources } {
    const { settings, tags, ctx } = shared;
    const options: ManualOptions = validateManualOptions(
        argsLabel("SmtpCredentialRotator", name),
        shared.manualOptions,
        settings.businessUnit,
        settings.retirement.observationHours * 3600,
    );
    const opts: pulumi.CustomResourceOptions = { parent };
    const prefix = `${name}-manual`;

    const confirmationTable = new aws.dynamodb.Table(
        `${prefix}-confirmations`,
        {
            billingMode: "PAY_PER_REQUEST",
            hashKey: "pk",
            attributes: [{ name: "pk", type: "S" }],
            serverSideEncryption: settings.kmsKeyArn ? { enabled: true, kmsKeyArn: settings.kmsKeyArn } : { enabled: true },
            pointInTimeRecovery: { enabled: true },
            tags,
        },
        opts,
    );
    const ownerTopic = new aws.sns.Topic(`${prefix}-owner-mail`, { displayName: `SMTP credential ${settings.businessUnit}`.slice(0, 100), kmsMasterKeyId: "alias/aws/sns", tags }, opts);

    // Role + log group first for every function, so that policies can name any function's ARN.
    const roles = {} as Record<ManualFunctionKey, aws.iam.Role>;
    const logGroups = {} as Record<ManualFunctionKey, aws.cloudwatch.LogGroup>;
    for (const key of Object.keys(FACTORIES) as ManualFunctionKey[]) {
        logGroups[key] = new aws.cloudwatch.LogGroup(`${prefix}-${key}`, { retentionInDays: settings.logRetentionDays, tags }, opts);
        roles[key] = new aws.iam.Role(
            `${prefix}-${key}`,
            { description: `${settings.businessUnit} SMTP rotation (manual): ${FACTORIES[key][1]}`.slice(0, 1000), assumeRolePolicy: JSON.stringify(serviceAssumeRolePolicy("lambda.amazonaws.com")), tags },
            opts,
        );
    }

    const functions = {} as Record<ManualFunctionKey, SharedCodeFunction>;
    const makeFunction = (key: ManualFunctionKey, variables: pulumi.Input<Record<string, pulumi.Input<string>>>) => {
        functions[key] = new SharedCodeFunction(
            `${prefix}-${key}`,
            {
                description: `${settings.businessUnit}: ${FACTORIES[key][1]}`.slice(0, 256),
                callbackFactory: FACTORIES[key][0],
                codePathOptions: lambdaCodePathOptions({ entries: LAMBDA_RUNTIME_ENTRIES.manual }), // what its runtime modules reach (tests/lambda-packages.test.ts)
                role: roles[key],
                runtime: aws.lambda.Runtime.NodeJS22dX,
                timeout: 60,
                memorySize: 256,
                environment: { variables },
                loggingConfig: { logFormat: "Text", logGroup: logGroups[key].name },
                tags,
            },
            opts,
        );
        return functions[key];
    };
    const rolePolicy = (key: string, role: aws.iam.Role, policy: pulumi.Output<PolicyDocument>) =>
        new aws.iam.RolePolicy(`${prefix}-${key}`, { role: role.name, policy: policy.apply((d) => JSON.stringify(d)) }, opts);
    const logScope = (key: ManualFunctionKey) => logGroups[key].arn.apply((logGroupArn) => ({ logGroupArn }));

    // The confirmation API: HTTP API -> confirmationApi Lambda (payload 2.0).
    const apiFunction = makeFunction("confirmationApi", { CONFIRMATION_TABLE: confirmationTable.name });
    const api = new aws.apigatewayv2.Api(`${prefix}-confirm`, { protocolType: "HTTP", description: `Server owners confirm the new ${settings.businessUnit} SMTP credential`, tags }, opts);
    const integration = new aws.apigatewayv2.Integration(
        `${prefix}-confirm`,
        { apiId: api.id, integrationType: "AWS_PROXY", integrationUri: apiFunction.arn, payloadFormatVersion: "2.0", integrationMethod: "POST" },
        opts,
    );
    for (const method of ["GET", "POST"]) {
        new aws.apigatewayv2.Route(`${prefix}-confirm-${method.toLowerCase()}`, { apiId: api.id, routeKey: `${method} /confirm/{id}`, target: pulumi.interpolate`integrations/${integration.id}` }, opts);
    }
    const stage = new aws.apigatewayv2.Stage(`${prefix}-confirm`, { apiId: api.id, name: "$default", autoDeploy: true, tags }, opts);
    new aws.lambda.Permission(
        `${prefix}-confirm-invoke`,
        { action: "lambda:InvokeFunction", function: apiFunction.name, principal: "apigateway.amazonaws.com", sourceArn: pulumi.interpolate`${api.executionArn}/*/*/confirm/{id}` },
        opts,
    );
    const confirmationBaseUrl = stage.invokeUrl;

    // ManualConfirmation and its task functions.
    const ownerMailEnv = {
        CONFIRMATION_TABLE: confirmationTable.name,
        OWNER_TOPIC_ARN: ownerTopic.arn,
        CONFIRMATION_BASE_URL: confirmationBaseUrl,
        CONFIRMATION_TIMEOUT_SECONDS: String(options.confirmationTimeoutSeconds),
        SUBSCRIBE_OWNERS: String(options.subscribeOwners),
    };
    makeFunction("requestConfirmation", ownerMailEnv);
    makeFunction("remindOwner", ownerMailEnv);
    makeFunction("reportOutcome", { CONFIRMATION_TABLE: confirmationTable.name });
    const confirmationRole = new aws.iam.Role(`${prefix}-confirmation-sm`, { assumeRolePolicy: ctx.apply((c) => JSON.stringify(serviceAssumeRolePolicy("states.amazonaws.com", c))), tags }, opts);
    const confirmationPolicy = rolePolicy(
        "confirmation-sm",
        confirmationRole,
        pulumi.all([functions.requestConfirmation.arn, functions.remindOwner.arn, functions.reportOutcome.arn]).apply((arns) => policies.stateMachinePolicy({ functionArns: arns })),
    );
    const confirmationStateMachine = new aws.sfn.StateMachine(
        `${prefix}-confirmation`,
        {
            type: "STANDARD",
            roleArn: confirmationRole.arn,
            definition: pulumi.all([ctx, functions.requestConfirmation.arn, functions.remindOwner.arn, functions.reportOutcome.arn]).apply(([c, request, remind, report]) =>
                JSON.stringify(
                    manualConfirmationDefinition({
                        partition: c.partition,
                        requestConfirmationArn: request,
                        remindOwnerArn: remind,
                        reportOutcomeArn: report,
                        reminderSeconds: options.reminderSeconds,
                        confirmationTimeoutSeconds: options.confirmationTimeoutSeconds,
                    }),
                ),
            ),
            tags,
        },
        { parent, dependsOn: [confirmationPolicy] },
    );

    // CredentialRotation and its task functions.
    makeFunction("startConfirmation", { CONFIRMATION_TABLE: confirmationTable.name, CONFIRMATION_STATE_MACHINE_ARN: confirmationStateMachine.arn });
    makeFunction("createCredential", {
        IAM_USER_NAME: shared.user.name,
        SES_REGION: shared.sesRegion,
        SMTP_PORT: String(settings.smtpPort),
        ...(settings.smtpEndpoint ? { SMTP_ENDPOINT: settings.smtpEndpoint } : {}),
        PARAMETER_NAME: options.parameterName,
        ...(settings.kmsKeyArn ? { KMS_KEY_ID: settings.kmsKeyArn } : {}),
    });
    makeFunction("listServersPage", { FLEET_TARGET: shared.fleetTarget.apply((t) => JSON.stringify(t)), PAGE_SIZE: String(options.pageSize), OWNER_EMAIL_TAG_KEY: options.ownerEmailTagKey });
    makeFunction("retireOldKeys", { IAM_USER_NAME: shared.user.name, PARAMETER_NAME: options.parameterName });
    // ConfirmationPage: one execution per page of the fleet, started by the fan-out Lambda.
    const pageRole = new aws.iam.Role(`${prefix}-page-sm`, { assumeRolePolicy: ctx.apply((c) => JSON.stringify(serviceAssumeRolePolicy("states.amazonaws.com", c))), tags }, opts);
    const pagePolicy = rolePolicy(
        "page-sm",
        pageRole,
        pulumi.all([functions.listServersPage.arn, functions.startConfirmation.arn]).apply((arns) => policies.stateMachinePolicy({ functionArns: arns })),
    );
    const pageStateMachine = new aws.sfn.StateMachine(
        `${prefix}-page`,
        {
            type: "STANDARD",
            roleArn: pageRole.arn,
            definition: pulumi.all([ctx, functions.listServersPage.arn, functions.startConfirmation.arn]).apply(([c, list, start]) =>
                JSON.stringify(confirmationPageDefinition({ partition: c.partition, listServersPageArn: list, startConfirmationArn: start, maxConcurrency: options.maxConcurrency })),
            ),
            tags,
        },
        { parent, dependsOn: [pagePolicy] },
    );
    const rotationRole = new aws.iam.Role(`${prefix}-rotation-sm`, { assumeRolePolicy: ctx.apply((c) => JSON.stringify(serviceAssumeRolePolicy("states.amazonaws.com", c))), tags }, opts);
    const rotationTasks = [functions.createCredential.arn, functions.listServersPage.arn, functions.startConfirmation.arn, functions.retireOldKeys.arn];
    const rotationPolicy = rolePolicy(
        "rotation-sm",
        rotationRole,
        pulumi.all([shared.topic.arn, ...rotationTasks]).apply(([topic, ...arns]) => policies.stateMachinePolicy({ functionArns: arns, notifyTopicArn: topic })),
    );
    const rotationStateMachine = new aws.sfn.StateMachine(
        `${prefix}-rotation`,
        {
            type: "STANDARD",
            roleArn: rotationRole.arn,
            definition: pulumi
                .all([ctx, shared.topic.arn, functions.createCredential.arn, functions.listServersPage.arn, functions.startConfirmation.arn, functions.retireOldKeys.arn, pageStateMachine.arn])
                .apply(([c, topic, create, list, start, retire, pages]) =>
                JSON.stringify(
                    credentialRotationDefinition({
                        partition: c.partition,
                        createCredentialArn: create,
                        listServersPageArn: list,
                        startConfirmationArn: start,
                        retireOldKeysArn: retire,
                        confirmationPageStateMachineArn: pages,
                        notifyTopicArn: topic,
                        graceSeconds: options.graceSeconds,
                        observationSeconds: options.observationSeconds,
                        confirmationTimeoutSeconds: options.confirmationTimeoutSeconds,
                    }),
                ),
            ),
            tags,
        },
        { parent, dependsOn: [rotationPolicy] },
    );

    // Starter + schedule.
    const starter = makeFunction("starter", { STATE_MACHINE_ARN: rotationStateMachine.arn, TIME_ZONE: options.scheduleTimeZone });
    let schedule: aws.scheduler.Schedule | undefined;
    if (options.scheduleEnabled) {
        const schedulerRole = new aws.iam.Role(`${prefix}-scheduler`, { assumeRolePolicy: ctx.apply((c) => JSON.stringify(serviceAssumeRolePolicy("scheduler.amazonaws.com", c))), tags }, opts);
        const schedulerPolicy = rolePolicy("scheduler", schedulerRole, starter.arn.apply((arn) => policies.schedulerPolicy({ starterFunctionArn: arn })));
        schedule = new aws.scheduler.Schedule(
            `${prefix}-schedule`,
            {
                description: `Rotate the ${settings.businessUnit} SES SMTP credential with owner confirmation`,
                scheduleExpression: options.scheduleExpression,
                scheduleExpressionTimezone: options.scheduleTimeZone,
                flexibleTimeWindow: { mode: "OFF" },
                target: { arn: starter.arn, roleArn: schedulerRole.arn, input: JSON.stringify({ scheduledTime: "<aws.scheduler.scheduled-time>" }), retryPolicy: { maximumRetryAttempts: 3 } },
            },
            { parent, dependsOn: [schedulerPolicy] },
        );
    }

    // Each function's own least-privilege policy.
    const parameterArn = ctx.apply((c) => policies.parameterArn(c, options.parameterName));
    const confirmationScope = (key: ManualFunctionKey) => pulumi.all([logScope(key), confirmationTable.arn]).apply(([l, confirmationTableArn]) => ({ ...l, confirmationTableArn }));
    rolePolicy("createCredential", roles.createCredential, pulumi.all([ctx, logScope("createCredential"), shared.user.arn, parameterArn]).apply(([c, l, userArn, p]) =>
        policies.createCredentialPolicy(c, { ...l, userArn, parameterArn: p, kmsKeyArn: settings.kmsKeyArn })));
    rolePolicy("listServersPage", roles.listServersPage, pulumi.all([logScope("listServersPage"), shared.fleetTableArn ?? pulumi.output(undefined)]).apply(([l, fleetTableArn]) =>
        policies.listServersPagePolicy({ ...l, fleetTableArn })));
    rolePolicy("startConfirmation", roles.startConfirmation, pulumi.all([confirmationScope("startConfirmation"), confirmationStateMachine.arn, pageStateMachine.arn]).apply(([s, sm, pages]) =>
        policies.startConfirmationPolicy({ ...s, confirmationStateMachineArn: sm, confirmationPageStateMachineArn: pages })));
    for (const key of ["requestConfirmation", "remindOwner"] as const) {
        rolePolicy(key, roles[key], pulumi.all([confirmationScope(key), ownerTopic.arn]).apply(([s, ownerTopicArn]) =>
            policies.ownerMailPolicy({ ...s, ownerTopicArn, writesTable: key === "requestConfirmation" })));
    }
    for (const key of ["reportOutcome", "confirmationApi"] as const) rolePolicy(key, roles[key], confirmationScope(key).apply((s) => policies.completeTaskPolicy(s)));
    rolePolicy("retireOldKeys", roles.retireOldKeys, pulumi.all([ctx, logScope("retireOldKeys"), shared.user.arn, parameterArn]).apply(([c, l, userArn, p]) =>
        policies.retireOldKeysPolicy(c, { ...l, userArn, parameterArn: p, kmsKeyArn: settings.kmsKeyArn })));
    rolePolicy("starter", roles.starter, pulumi.all([logScope("starter"), rotationStateMachine.arn]).apply(([l, sm]) => policies.starterPolicy({ ...l, rotationStateMachineArn: sm })));

    return {
        credentialStore: parameterArn.apply((p) => ({ kind: "parameter" as const, parameterArn: p })),
        outputs: {
            parameterName: pulumi.output(options.parameterName),
            stateMachineArn: rotationStateMachine.arn,
            confirmationStateMachineArn: confirmationStateMachine.arn,
            confirmationApiUrl: confirmationBaseUrl,
            confirmationTableName: confirmationTable.name,
            ownerTopicArn: ownerTopic.arn,
            starterFunctionName: starter.name,
            ...(schedule ? { scheduleName: schedule.name } : {}),
        },
        resources: { functions, rotationStateMachine, pageStateMachine, confirmationStateMachine, confirmationTable, ownerTopic, api, schedule },
    };
}
