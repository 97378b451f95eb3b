/**
 * Pure builders for every IAM / resource policy document the components create, and the ARNs they scope
 * to. Plain strings in, plain JSON objects out (the components call them inside `pulumi.all(...).apply`),
 * so each document is tested for its exact actions and resources without Pulumi.
 * All ARNs are built with the deployment's partition (aws, aws-cn, aws-us-gov, ...).
 */
import { RETIREMENT_LAMBDA_USER_ACTIONS } from "./providers/retirement-lambda";

export interface PolicyStatement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Principal?: Record<string, string | string[]>;
    Action: string | string[];
    /** absent only in trust (assume-role) policies */
    Resource?: string | string[];
    Condition?: Record<string, Record<string, string | string[]>>;
}

export interface PolicyDocument {
    Version: "2012-10-17";
    Statement: PolicyStatement[];
}

/** Where the deployment runs: from `aws.getPartition`, `aws.getCallerIdentity`, `aws.getRegion`. */
export interface AwsContext {
    partition: string;
    accountId: string;
    /** the stack's region (Secrets Manager, Lambda, SSM, SNS live here) */
    region: string;
}

function doc(...statements: PolicyStatement[]): PolicyDocument {
    return { Version: "2012-10-17", Statement: statements };
}

/** `arn:<partition>:ses:<sesRegion>:<account>:identity/<identity>`; ARNs given by the user pass unchanged. */
export function sesIdentityArn(ctx: AwsContext, sesRegion: string, identity: string): string {
    return identity.startsWith("arn:") ? identity : `arn:${ctx.partition}:ses:${sesRegion}:${ctx.accountId}:identity/${identity}`;
}

export function sesConfigurationSetArn(ctx: AwsContext, sesRegion: string, configurationSet: string): string {
    return configurationSet.startsWith("arn:")
        ? configurationSet
        : `arn:${ctx.partition}:ses:${sesRegion}:${ctx.accountId}:configuration-set/${configurationSet}`;
}

export function dynamoTableArn(ctx: AwsContext, tableName: string): string {
    return `arn:${ctx.partition}:dynamodb:${ctx.region}:${ctx.accountId}:table/${tableName}`;
}

export function ssmDocumentArn(ctx: AwsContext, documentName: string): string {
    return `arn:${ctx.partition}:ssm:${ctx.region}:${ctx.accountId}:document/${documentName}`;
}

/** Every managed node SSM may run a command on: EC2 instances and hybrid (on-premises) managed instances. */
export function managedNodeArns(partition: string): string[] {
    return [`arn:${partition}:ec2:*:*:instance/*`, `arn:${partition}:ssm:*:*:managed-instance/*`];
}

/**
 * The SMTP user's only permission: send raw e-mail (what SES SMTP uses) from the given identities and/or
 * through the given configuration set, in the SES region.
 */
export function smtpUserPolicy(resources: { identityArns: string[]; configurationSetArn?: string }): PolicyDocument {
    const arns = [...resources.identityArns, ...(resources.configurationSetArn ? [resources.configurationSetArn] : [])];
    if (arns.length === 0) throw new Error("smtpUserPolicy: at least one SES identity or configuration set ARN is required");
    return doc({ Sid: "SendThroughSesSmtp", Effect: "Allow", Action: "ses:SendRawEmail", Resource: arns });
}

/** Trust policy for a role assumed by a service (lambda.amazonaws.com, states.amazonaws.com, ...). */
export function serviceAssumeRolePolicy(servicePrincipal: string, ctx?: AwsContext): PolicyDocument {
    return doc({
        Effect: "Allow",
        Principal: { Service: servicePrincipal },
        Action: "sts:AssumeRole",
        ...(ctx ? { Condition: { StringEquals: { "aws:SourceAccount": ctx.accountId } } } : {}),
    });
}

/** Where the credential lives: a Secrets Manager secret (auto mode) or an SSM SecureString (manual mode). */
export type CredentialStore = { kind: "secret"; secretArn: string } | { kind: "parameter"; parameterArn: string };

/**
 * The `kms:ViaService` value of an AWS service in the stack's region: `<service>.<region>.amazonaws.com`, and
 * `amazonaws.com.cn` in the China partition (aws-cn).
 */
export function kmsViaService(service: "secretsmanager" | "ssm", ctx: Pick<AwsContext, "partition" | "region">): string {
    return `${service}.${ctx.region}.${ctx.partition === "aws-cn" ? "amazonaws.com.cn" : "amazonaws.com"}`;
}

/** The service that decrypts the credential with a customer KMS key (for `kms:ViaService`). */
function viaService(store: CredentialStore, ctx: AwsContext): string {
    return kmsViaService(store.kind === "secret" ? "secretsmanager" : "ssm", ctx);
}

/**
 * What the mail servers' instance roles need to fetch the credential themselves (the SSM documents read it
 * by ARN + version): read that one secret / parameter and, with a customer key, decrypt through that service.
 */
export function serverReadPolicy(ctx: AwsContext, store: CredentialStore, kmsKeyArn?: string): PolicyDocument {
    const statements: PolicyStatement[] = [
        store.kind === "secret"
            ? { Sid: "ReadSmtpCredential", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: store.secretArn }
            : { Sid: "ReadSmtpCredential", Effect: "Allow", Action: "ssm:GetParameter", Resource: store.parameterArn },
    ];
    if (kmsKeyArn) {
        statements.push({
            Sid: "DecryptSmtpCredential",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": viaService(store, ctx) } },
        });
    }
    return doc(...statements);
}

/** The resources the auto-mode rotation Lambda acts on. */
export interface RotationLambdaScope {
    userArn: string;
    secretArn: string;
    topicArn: string;
    postfixDocumentArn: string;
    iisDocumentArn: string;
    /** ARN of the log group the function writes to */
    logGroupArn: string;
    /** fleet table (table selector only) */
    fleetTableArn?: string;
    /**
     * Tag fleets: the fleet's tag. SendCommand is then allowed only on managed nodes carrying it
     * (`ssm:resourceTag/<key>`). Table fleets have none: their nodes share no tag, so the grant covers any
     * managed node and the table (writable only by whoever manages the fleet) is what limits the targets.
     */
    fleetTag?: { key: string; value: string };
    kmsKeyArn?: string;
}

/**
 * The IAM actions the rotation handler calls on its SMTP user: creating the new key, plus the retirement
 * code's calls (runtime/retirement.ts: keys + retirement records kept as user tags), which the retirement
 * Lambda makes too.
 */
export const ROTATION_USER_ACTIONS = ["iam:CreateAccessKey", ...RETIREMENT_LAMBDA_USER_ACTIONS] as const;

export const ROTATION_SECRET_ACTIONS = [
    "secretsmanager:DescribeSecret",
    "secretsmanager:GetSecretValue",
    "secretsmanager:ListSecretVersionIds",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
] as const;

/** Least privilege for the rotation Lambda: exactly the calls `runtime/auto/rotation-handler.ts` makes. */
export function rotationLambdaPolicy(ctx: AwsContext, scope: RotationLambdaScope): PolicyDocument {
    const statements: PolicyStatement[] = [
        { Sid: "ManageSmtpUserKeys", Effect: "Allow", Action: [...ROTATION_USER_ACTIONS], Resource: scope.userArn },
        { Sid: "RotateSecret", Effect: "Allow", Action: [...ROTATION_SECRET_ACTIONS], Resource: scope.secretArn },
        // SendCommand is authorised on the document AND on every target node: only this rotator's two documents,
        // and (tag fleets) only nodes carrying the fleet tag. A tag condition must not sit on the document
        // statement (documents do not carry the nodes' tag).
        { Sid: "UpdateServersDocuments", Effect: "Allow", Action: "ssm:SendCommand", Resource: [scope.postfixDocumentArn, scope.iisDocumentArn] },
        {
            Sid: "UpdateServers",
            Effect: "Allow",
            Action: "ssm:SendCommand",
            Resource: managedNodeArns(ctx.partition),
            ...(scope.fleetTag ? { Condition: { StringEquals: { [`ssm:resourceTag/${scope.fleetTag.key}`]: [scope.fleetTag.value] } } } : {}),
        },
        // ListCommands / ListCommandInvocations / GetCommandInvocation support no resource-level permissions.
        // GetCommandInvocation: only for an invocation whose listed output was cut before the script's marker.
        { Sid: "WatchServerUpdates", Effect: "Allow", Action: ["ssm:GetCommandInvocation", "ssm:ListCommandInvocations", "ssm:ListCommands"], Resource: "*" },
        { Sid: "Notify", Effect: "Allow", Action: "sns:Publish", Resource: scope.topicArn },
        { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${scope.logGroupArn}:*` },
    ];
    if (scope.fleetTableArn) {
        statements.push({ Sid: "ReadFleetTable", Effect: "Allow", Action: "dynamodb:Scan", Resource: scope.fleetTableArn });
    }
    if (scope.kmsKeyArn) {
        statements.push({
            Sid: "UseCredentialKey",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: scope.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": kmsViaService("secretsmanager", ctx) } },
        });
    }
    return doc(...statements);
}

/** The resources the scheduled retirement Lambda (auto mode) acts on. */
export interface RetirementLambdaScope {
    userArn: string;
    topicArn: string;
    logGroupArn: string;
    /** the rotated secret: read before every deactivate and delete (AWSCURRENT's key is never retired) */
    secretArn: string;
    /** the stack region (for kms:ViaService) */
    region: string;
    /** the secret's customer KMS key, if any */
    kmsKeyArn?: string;
}

/**
 * Least privilege for the scheduled retirement Lambda (components/providers/retirement-lambda.ts): advance the
 * user's old-key retirements (`userActions`, from that module), alert held retirements, write its logs.
 */
export function retirementLambdaPolicy(scope: RetirementLambdaScope, userActions: readonly string[]): PolicyDocument {
    return doc(
        { Sid: "RetireOldKeys", Effect: "Allow", Action: [...userActions], Resource: scope.userArn },
        { Sid: "ReadCurrentCredential", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: scope.secretArn },
        ...(scope.kmsKeyArn
            ? [
                  {
                      Sid: "DecryptCredential",
                      Effect: "Allow" as const,
                      Action: "kms:Decrypt",
                      Resource: scope.kmsKeyArn,
                      Condition: { StringEquals: { "kms:ViaService": `secretsmanager.${scope.region}.amazonaws.com` } },
                  },
              ]
            : []),
        { Sid: "Notify", Effect: "Allow", Action: "sns:Publish", Resource: scope.topicArn },
        { Sid: "Logs", Effect: "Allow", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${scope.logGroupArn}:*` },
    );
}

/** Topic policy: EventBridge may publish to the alert topic, only for the given rule. */
export function alertTopicPolicy(topicArn: string, ruleArn: string): PolicyDocument {
    return doc({
        Sid: "RotationFailureEvents",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sns:Publish",
        Resource: topicArn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
    });
}

/** EventBridge pattern: Secrets Manager reports (via CloudTrail) that rotation of this secret failed. */
export function rotationFailedEventPattern(secretArn: string): object {
    return {
        source: ["aws.secretsmanager"],
        "detail-type": ["AWS Service Event via CloudTrail"],
        detail: {
            eventSource: ["secretsmanager.amazonaws.com"],
            eventName: ["RotationFailed"],
            additionalEventData: { SecretId: [secretArn] },
        },
    };
}
