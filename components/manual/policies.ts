/**
 * Least-privilege IAM policy documents for manual mode, one per role (pure: ARNs in, JSON out).
 * Every ARN is built or given with the deployment's partition; no action gets "*" as resource unless the
 * action has no resource-level permissions (ec2:DescribeInstances, states:SendTask*), which is noted.
 */
import { AwsContext, kmsViaService, PolicyDocument, PolicyStatement } from "../policies";

export interface ManualLambdaScope {
    /** the function's own log group */
    logGroupArn: string;
}

function doc(...statements: PolicyStatement[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: statements };
}

function logs(scope: ManualLambdaScope): PolicyStatement {
    return { Sid: "WriteOwnLogs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${scope.logGroupArn}:*` };
}

/** `arn:<partition>:ssm:<region>:<account>:parameter/<name without leading slash>` */
export function parameterArn(ctx: AwsContext, parameterName: string): string {
    return `arn:${ctx.partition}:ssm:${ctx.region}:${ctx.accountId}:parameter/${parameterName.replace(/^\//, "")}`;
}

/** CreateCredential: the user's keys (its retirement-record tags read to resume after a failed run; its key-creation intent tag), the one parameter, the customer key through SSM only. */
export function createCredentialPolicy(ctx: AwsContext, s: ManualLambdaScope & { userArn: string; parameterArn: string; kmsKeyArn?: string }): PolicyDocument {
    const statements: PolicyStatement[] = [
        // Tags: the key-creation intent (written before CreateAccessKey) and the retirement records (read);
        // GetAccessKeyLastUsed: an unstored key is deleted only when IAM shows it never used.
        {
            Sid: "ManageSmtpUserKeys",
            Effect: "Allow",
            Action: ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:ListUserTags", "iam:TagUser", "iam:UntagUser"],
            Resource: s.userArn,
        },
        { Sid: "WriteCredentialParameter", Effect: "Allow", Action: ["ssm:GetParameterHistory", "ssm:PutParameter"], Resource: s.parameterArn },
    ];
    if (s.kmsKeyArn) {
        statements.push({
            Sid: "EncryptCredentialThroughSsm",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"],
            Resource: s.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": kmsViaService("ssm", ctx) } },
        });
    }
    return doc(...statements, logs(s));
}

/** ListServersPage: Scan of the fleet table, or EC2 DescribeInstances (no resource-level permissions). */
export function listServersPagePolicy(s: ManualLambdaScope & { fleetTableArn?: string }): PolicyDocument {
    return doc(
        s.fleetTableArn
            ? { Sid: "ReadFleetTable", Effect: "Allow", Action: "dynamodb:Scan", Resource: s.fleetTableArn }
            : { Sid: "ListTaggedInstances", Effect: "Allow", Action: "ec2:DescribeInstances", Resource: "*" },
        logs(s),
    );
}

/**
 * StartConfirmation (the fan-out): record the server and the rotation's tally, start ManualConfirmation and
 * ConfirmationPage executions, complete the rotation's wait.
 */
export function startConfirmationPolicy(s: ManualLambdaScope & { confirmationTableArn: string; confirmationStateMachineArn: string; confirmationPageStateMachineArn: string }): PolicyDocument {
    return doc(
        { Sid: "RecordServer", Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"], Resource: s.confirmationTableArn },
        { Sid: "StartServerConfirmation", Effect: "Allow", Action: "states:StartExecution", Resource: [s.confirmationStateMachineArn, s.confirmationPageStateMachineArn] },
        // SendTaskSuccess/Failure have no resource-level permissions: task tokens are not IAM resources.
        { Sid: "CompleteRotationWait", Effect: "Allow", Action: ["states:SendTaskFailure", "states:SendTaskSuccess"], Resource: "*" },
        logs(s),
    );
}

/** RequestConfirmation / RemindOwner: the confirmation table and the owner topic. */
export function ownerMailPolicy(s: ManualLambdaScope & { confirmationTableArn: string; ownerTopicArn: string; writesTable: boolean }): PolicyDocument {
    return doc(
        {
            Sid: s.writesTable ? "ArmConfirmation" : "ReadConfirmation",
            Effect: "Allow",
            Action: s.writesTable ? ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"] : "dynamodb:GetItem",
            Resource: s.confirmationTableArn,
        },
        { Sid: "MailOwner", Effect: "Allow", Action: ["sns:Publish", "sns:Subscribe"], Resource: s.ownerTopicArn },
        logs(s),
    );
}

/** ReportOutcome and the confirmation API: read/update the table, complete task tokens. */
export function completeTaskPolicy(s: ManualLambdaScope & { confirmationTableArn: string }): PolicyDocument {
    return doc(
        { Sid: "DecideConfirmation", Effect: "Allow", Action: ["dynamodb:GetItem", "dynamodb:UpdateItem"], Resource: s.confirmationTableArn },
        // SendTaskSuccess/Failure have no resource-level permissions: task tokens are not IAM resources.
        { Sid: "CompleteTask", Effect: "Allow", Action: ["states:SendTaskFailure", "states:SendTaskSuccess"], Resource: "*" },
        logs(s),
    );
}

/**
 * RetireOldKeys: the usage-guarded retirement of the user's old keys — read their last use, deactivate /
 * delete them, and keep the retirement records as tags on the user (GetAccessKeyLastUsed is authorized on the
 * key's user).
 */
export function retireOldKeysPolicy(ctx: AwsContext, s: ManualLambdaScope & { userArn: string; parameterArn: string; kmsKeyArn?: string }): PolicyDocument {
    const statements: PolicyStatement[] = [
        {
            Sid: "RetireOldKeys",
            Effect: "Allow",
            Action: ["iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:ListUserTags", "iam:TagUser", "iam:UntagUser", "iam:UpdateAccessKey"],
            Resource: s.userArn,
        },
        // Before every deactivate and delete: which key does the latest parameter version name?
        { Sid: "ReadCurrentCredential", Effect: "Allow", Action: "ssm:GetParameter", Resource: s.parameterArn },
    ];
    if (s.kmsKeyArn) {
        statements.push({
            Sid: "DecryptCredentialThroughSsm",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: s.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": `ssm.${ctx.region}.amazonaws.com` } },
        });
    }
    return doc(...statements, logs(s));
}

/** Starter: start CredentialRotation. */
export function starterPolicy(s: ManualLambdaScope & { rotationStateMachineArn: string }): PolicyDocument {
    return doc({ Sid: "StartRotation", Effect: "Allow", Action: "states:StartExecution", Resource: s.rotationStateMachineArn }, logs(s));
}

/** A state machine's role: invoke exactly its task functions (any version), publish to its topic. */
export function stateMachinePolicy(s: { functionArns: string[]; notifyTopicArn?: string }): PolicyDocument {
    const functions = [...s.functionArns].sort();
    return doc(
        { Sid: "InvokeTaskFunctions", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: [...functions, ...functions.map((f) => `${f}:*`)] },
        ...(s.notifyTopicArn ? [{ Sid: "NotifyOperators", Effect: "Allow" as const, Action: "sns:Publish", Resource: s.notifyTopicArn }] : []),
    );
}

/** EventBridge Scheduler's role: invoke the starter only. */
export function schedulerPolicy(s: { starterFunctionArn: string }): PolicyDocument {
    return doc({ Sid: "InvokeStarter", Effect: "Allow", Action: "lambda:InvokeFunction", Resource: [s.starterFunctionArn, `${s.starterFunctionArn}:*`] });
}
