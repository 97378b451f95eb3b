/**
 * Auto mode's scheduled old-key retirement: the rotation's finishSecret only hands the old key to
 * retirement (runtime/retirement.ts); this small Lambda, run hourly by an EventBridge schedule, moves each
 * retirement on (observation window → IAM last-used check → deactivate / hold + alert → delete after the
 * grace period). Without it an old key would wait for the next rotation.
 * Code: `retirementLambdaFactory` (components/providers/retirement-lambda.ts), packaged like the rotation Lambda.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { RETIREMENT_LAMBDA_USER_ACTIONS, RETIREMENT_SCHEDULE_EXPRESSION, retirementLambdaFactory } from "./providers/retirement-lambda";
import { retirementLambdaPolicy } from "./policies";
import { LAMBDA_RUNTIME_ENTRIES, lambdaCodePathOptions } from "./rotation-lambda";
import { SharedCodeFunction } from "./shared-code-function";
import { lambdaLogGroupAndRole, RotatorShared } from "./rotator-shared";
import { RotatorSettings } from "./settings";

/** The retirement Lambda's environment (names as runtime/auto/config.ts and retirement-lambda.ts read them). Pure. */
export function retirementLambdaEnvironment(settings: RotatorSettings, values: { iamUserName: string; notifyTopicArn: string; secretArn: string }): Record<string, string> {
    return {
        IAM_USER_NAME: values.iamUserName,
        SECRET_ARN: values.secretArn,
        NOTIFY_TOPIC_ARN: values.notifyTopicArn,
        RETIRE_OBSERVATION_HOURS: String(settings.retirement.observationHours),
        RETIRE_GRACE_DAYS: String(settings.retirement.graceDays),
    };
}

/** Builds the retirement Lambda and its hourly schedule under the rotator. */
export function buildRetirementSchedule(shared: RotatorShared, secretArn: pulumi.Input<string>): { functionName: pulumi.Output<string>; scheduleRuleName: pulumi.Output<string> } {
    const { parent, name, settings, tags } = shared;
    const opts: pulumi.CustomResourceOptions = { parent };

    const { logGroup, role } = lambdaLogGroupAndRole(shared, `${name}-retirement`, `Old-key retirement Lambda of the ${settings.businessUnit} SES SMTP credential`);
    const policy = new aws.iam.RolePolicy(
        `${name}-retirement`,
        {
            role: role.name,
            policy: pulumi
                .all([shared.ctx, shared.user.arn, shared.topic.arn, logGroup.arn, secretArn])
                .apply(([ctx, userArn, topicArn, logGroupArn, secret]) =>
                    JSON.stringify(retirementLambdaPolicy({ userArn, topicArn, logGroupArn, secretArn: secret, region: ctx.region, kmsKeyArn: settings.kmsKeyArn }, RETIREMENT_LAMBDA_USER_ACTIONS)),
                ),
        },
        opts,
    );
    const fn = new SharedCodeFunction(
        `${name}-retirement`,
        {
            description: `Retires the ${settings.businessUnit} SES SMTP credential's old keys (hourly)`,
            callbackFactory: retirementLambdaFactory,
            codePathOptions: lambdaCodePathOptions({ entries: LAMBDA_RUNTIME_ENTRIES.retirement }), // what its runtime modules reach (tests/lambda-packages.test.ts)
            role,
            runtime: aws.lambda.Runtime.NodeJS22dX,
            timeout: 120,
            memorySize: 256,
            environment: {
                variables: pulumi
                    .all([shared.user.name, shared.topic.arn, secretArn])
                    .apply(([iamUserName, notifyTopicArn, secret]) => retirementLambdaEnvironment(settings, { iamUserName, notifyTopicArn, secretArn: secret })),
            },
            loggingConfig: { logFormat: "Text", logGroup: logGroup.name },
            tags,
        },
        { parent, dependsOn: [policy] },
    );
    const rule = new aws.cloudwatch.EventRule(
        `${name}-retirement`,
        { description: `Hourly old-key retirement check of the ${settings.businessUnit} SES SMTP credential`, scheduleExpression: RETIREMENT_SCHEDULE_EXPRESSION, tags },
        opts,
    );
    const permission = new aws.lambda.Permission(
        `${name}-retirement-invoke`,
        { action: "lambda:InvokeFunction", function: fn.name, principal: "events.amazonaws.com", sourceArn: rule.arn },
        opts,
    );
    new aws.cloudwatch.EventTarget(`${name}-retirement`, { rule: rule.name, arn: fn.arn }, { parent, dependsOn: [permission] });
    return { functionName: fn.name, scheduleRuleName: rule.name };
}
