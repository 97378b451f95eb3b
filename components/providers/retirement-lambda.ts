/**
 * Auto mode's scheduled retirement: a small Lambda, invoked hourly by an EventBridge schedule, that calls
 * `advanceRetirements` for the rotator's IAM user (the rotation's finish step only schedules retirements; it
 * never waits out the observation window).
 *
 * `retirementLambdaFactory` is a `callbackFactory` for `aws.lambda.CallbackFunction`: Pulumi
 * closure-serializes it, so local modules are imported with `import x = require()` at the top (captured by
 * value) and SDK clients are required inside the factory (the nodejs22.x runtime provides SDK v3). No
 * `@pulumi` import here.
 */
import retirement = require("../../runtime/retirement");
import notify = require("../../runtime/notify");
import currentCredential = require("../../runtime/current-credential");
import type { RetirementPolicy, RetirementReport } from "../../runtime/retirement";

/** How often the retirement Lambda runs (EventBridge schedule expression). */
export const RETIREMENT_SCHEDULE_EXPRESSION = "rate(1 hour)";

/** The IAM actions the retirement Lambda needs on the SMTP user (plus sns:Publish on the alert topic and secretsmanager:GetSecretValue on the secret). */
export const RETIREMENT_LAMBDA_USER_ACTIONS = [
    "iam:DeleteAccessKey",
    "iam:GetAccessKeyLastUsed",
    "iam:ListAccessKeys",
    "iam:ListUserTags",
    "iam:TagUser",
    "iam:UntagUser",
    "iam:UpdateAccessKey",
] as const;

/** The retirement Lambda's configuration (environment variables, the same names the rotation Lambda uses). */
export interface RetirementLambdaConfig {
    /** IAM_USER_NAME */
    iamUserName: string;
    /** RETIRE_OBSERVATION_HOURS, RETIRE_GRACE_DAYS */
    policy: RetirementPolicy;
    /** NOTIFY_TOPIC_ARN (optional): held retirements are alerted here */
    notifyTopicArn?: string;
    /** SECRET_ARN: the rotated secret, re-read before every deactivate and delete (its AWSCURRENT key is never retired) */
    secretArn: string;
}

/** Reads the configuration; errors name the environment variable. */
export function retirementLambdaConfigFromEnv(env: Record<string, string | undefined>): RetirementLambdaConfig {
    const text = (name: string) => (env[name] ?? "").trim();
    const iamUserName = text("IAM_USER_NAME");
    if (!/^[\w+=,.@-]{1,64}$/.test(iamUserName)) throw new Error(`environment variable IAM_USER_NAME must be an IAM user name, got ${JSON.stringify(env.IAM_USER_NAME)}`);
    const numberOf = (name: string, max: number) => {
        const n = Number(text(name));
        if (text(name) === "" || !isFinite(n) || n < 0 || n > max) throw new Error(`environment variable ${name} must be a number from 0 to ${max}, got ${JSON.stringify(env[name])}`);
        return n;
    };
    const notifyTopicArn = text("NOTIFY_TOPIC_ARN");
    if (notifyTopicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(notifyTopicArn)) {
        throw new Error(`environment variable NOTIFY_TOPIC_ARN must be an SNS topic ARN, got ${JSON.stringify(notifyTopicArn)}`);
    }
    const secretArn = text("SECRET_ARN");
    if (!/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$/.test(secretArn)) {
        throw new Error(`environment variable SECRET_ARN must be the rotated secret's ARN, got ${JSON.stringify(env.SECRET_ARN)}`);
    }
    return {
        iamUserName,
        secretArn,
        policy: { observationHours: numberOf("RETIRE_OBSERVATION_HOURS", 24 * 90), graceDays: numberOf("RETIRE_GRACE_DAYS", 365) },
        ...(notifyTopicArn ? { notifyTopicArn } : {}),
    };
}

/** The Lambda entry point: advances every retirement of the user and returns (and logs) the report. */
export type RetirementLambdaEntry = (event?: unknown) => Promise<RetirementReport>;

/** `callbackFactory` for the retirement Lambda: reads the environment and builds the clients once per cold start. */
export function retirementLambdaFactory(): RetirementLambdaEntry {
    const { IAMClient } = require("@aws-sdk/client-iam");
    const { SNSClient } = require("@aws-sdk/client-sns");
    const { SecretsManagerClient } = require("@aws-sdk/client-secrets-manager");
    const config = retirementLambdaConfigFromEnv(process.env);
    const deps = {
        iam: new IAMClient({}),
        sns: config.notifyTopicArn ? new SNSClient({}) : undefined,
        log: notify.jsonLineLogger,
        store: currentCredential.secretCredentialReader(new SecretsManagerClient({}), config.secretArn),
    };
    return async () => {
        const report = await retirement.advanceRetirements(deps, {
            userName: config.iamUserName,
            policy: config.policy,
            notifyTopicArn: config.notifyTopicArn,
            now: new Date(),
        });
        notify.jsonLineLogger("retirement check", { userName: report.userName, held: report.held, refused: report.refused, keys: report.keys.map((k) => ({ accessKeyId: k.accessKeyId, phase: k.phase, action: k.action })) });
        return report;
    };
}
