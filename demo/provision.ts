/**
 * Provisions into moto what `SmtpCredentialRotator` + `EmailServerFleet` create, from the SAME pure builders
 * the components use (no hand-written copies): settings from `validateRotatorOptions`, the SMTP user's policy
 * from `smtpUserPolicy`, the SSM documents from `documents/`, the servers' read policy from `serverReadPolicy`,
 * and in auto mode the rotation Lambda's policy (`rotationLambdaPolicy`) and environment
 * (`rotationLambdaEnvironment`, parsed back by the handler's own `rotationConfigFromEnv`).
 * The first access key and its credential are made as the BootstrapCredential provider makes them
 * (`createAccessKeyForSmtp` + `smtpCredentialForKey`).
 *
 * What moto cannot run (Lambda functions, schedules, API Gateway) is played in-process by the demo with the
 * real handlers; the resources are still created here so the policies and names are the components' own.
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateRoleCommand, CreateUserCommand, IAMClient, PutRolePolicyCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, RotateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { CreateDocumentCommand, SSMClient } from "@aws-sdk/client-ssm";
import {
    AwsContext,
    dynamoTableArn,
    PolicyDocument,
    rotationLambdaPolicy,
    serverReadPolicy,
    serviceAssumeRolePolicy,
    sesIdentityArn,
    smtpUserPolicy,
    ssmDocumentArn,
} from "../components/policies";
import { RotatorSettings, validateRotatorOptions } from "../components/settings";
import { argsLabel } from "../components/validation";
import { iisDocumentContent, postfixDocumentContent } from "../documents";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../runtime/access-keys";
import { rotationConfigFromEnv, RotationConfig } from "../runtime/auto/rotation-handler";
import { serializeCredential, SmtpCredentialValue } from "../runtime/credential";
import type { FleetServer } from "../runtime/fleet-target";
import { createFleetTable } from "../sandbox/ec2-fleet";
import { demoClientConfig, Emulators } from "./emulators";

/** The business unit (component name) the demo deploys. */
export const DEMO_BUSINESS_UNIT = "demo";
/** The SES identity the SMTP user may send as. */
export const DEMO_SES_IDENTITY = "example.com";

/** A server of the demo fleet: a fleet-table entry plus a short name for the CLI (`mail-1`, ...). */
export interface DemoServer extends FleetServer {
    name: string;
}

/** `count` Postfix servers `mail-1..N` (hybrid managed-node ids, as on-premises servers have). */
export function demoServers(count: number): DemoServer[] {
    return Array.from({ length: count }, (_, i) => {
        const n = i + 1;
        return {
            name: `mail-${n}`,
            serverId: `mi-0de${n.toString(16).padStart(14, "0")}`,
            hostname: `mail-${n}.demo.internal`,
            software: "postfix" as const,
            ownerEmail: `owner-mail-${n}@example.com`,
        };
    });
}

/** SDK clients for the demo, all through the proxy. */
export interface DemoClients {
    iam: IAMClient;
    secrets: SecretsManagerClient;
    ssm: SSMClient;
    sns: SNSClient;
    dynamodb: DynamoDBClient;
}

export function demoClients(emulators: Emulators): DemoClients {
    const config = demoClientConfig(emulators);
    return { iam: new IAMClient(config), secrets: new SecretsManagerClient(config), ssm: new SSMClient(config), sns: new SNSClient(config), dynamodb: new DynamoDBClient(config) };
}

/** What both modes share: the rotator's user, topic, documents, the fleet table and the first credential. */
export interface SharedResources {
    settings: RotatorSettings;
    ctx: AwsContext;
    userName: string;
    userArn: string;
    topicArn: string;
    documents: { postfix: string; iis: string };
    fleetTableName: string;
    /** the credential in use before the demo's rotation (never printed) */
    initialCredential: SmtpCredentialValue;
    /**
     * The SMTP endpoint credentials name: the local SES-compatible endpoint (what a stack sets with smtpEndpoint).
     * The SSM documents install a credential only for a relay host that is SES of its region or this endpoint.
     */
    smtpEndpoint: string;
    /** every policy document created, by resource name (shown with --json for inspection) */
    policies: Record<string, PolicyDocument>;
}

/** Names as the components would derive them for business unit "demo" (moto needs fixed names). */
const NAMES = {
    user: "ses-smtp-demo",
    topic: "ses-smtp-demo-alerts",
    postfixDocument: "ses-smtp-demo-postfix",
    iisDocument: "ses-smtp-demo-iis",
    fleetTable: "ses-smtp-demo-fleet",
    secret: "ses-smtp-demo-credential",
    rotationRole: "ses-smtp-demo-rotation",
    serverRole: "ses-smtp-demo-mail-servers",
};

/** The rotator's settings for the demo, validated by the components' own validator. */
export function demoSettings(mode: "auto" | "manual", sesRegion: string): RotatorSettings {
    return validateRotatorOptions(argsLabel("SmtpCredentialRotator", DEMO_BUSINESS_UNIT), DEMO_BUSINESS_UNIT, {
        mode,
        sesRegion,
        sesIdentities: [DEMO_SES_IDENTITY],
        fleetDeadlineSeconds: 120,
        // Production default: 24 h of observation before IAM's last-used report decides. The demo cannot wait.
        retirement: { observationHours: 0, graceDays: 3 },
    });
}

/** User + send policy, alert topic, both SSM documents, fleet table, first key. */
export async function provisionShared(c: DemoClients, emulators: Emulators, mode: "auto" | "manual", servers: FleetServer[]): Promise<SharedResources> {
    const settings = demoSettings(mode, emulators.sesRegion);
    const user = await c.iam.send(new CreateUserCommand({ UserName: NAMES.user, Tags: [{ Key: "ses-rotator:business-unit", Value: settings.businessUnit }] }));
    const userArn = user.User!.Arn!;
    const ctx: AwsContext = { partition: userArn.split(":")[1], accountId: userArn.split(":")[4], region: emulators.region };
    const policies: Record<string, PolicyDocument> = {};
    policies[`${NAMES.user}-send`] = smtpUserPolicy({ identityArns: settings.sesIdentities.map((i) => sesIdentityArn(ctx, settings.sesRegion, i)) });
    await c.iam.send(new PutUserPolicyCommand({ UserName: NAMES.user, PolicyName: `${NAMES.user}-send`, PolicyDocument: JSON.stringify(policies[`${NAMES.user}-send`]) }));
    const topicArn = (await c.sns.send(new CreateTopicCommand({ Name: NAMES.topic }))).TopicArn!;
    for (const [name, content] of [
        [NAMES.postfixDocument, postfixDocumentContent()],
        [NAMES.iisDocument, iisDocumentContent()],
    ] as const) {
        await c.ssm.send(
            new CreateDocumentCommand({ Name: name, DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(content), Tags: [{ Key: "ses-rotator:business-unit", Value: settings.businessUnit }] }),
        );
    }
    await createFleetTable(c.dynamodb, NAMES.fleetTable, servers);
    const first = await createAccessKeyForSmtp(c.iam, NAMES.user, settings.sesRegion);
    const smtpEndpoint = emulators.ses.host;
    const initialCredential = smtpCredentialForKey(first, { sesRegion: settings.sesRegion, smtpEndpoint, smtpPort: settings.smtpPort });
    return {
        settings,
        ctx,
        userName: NAMES.user,
        userArn,
        topicArn,
        documents: { postfix: NAMES.postfixDocument, iis: NAMES.iisDocument },
        fleetTableName: NAMES.fleetTable,
        initialCredential,
        smtpEndpoint,
        policies,
    };
}

/** Auto mode: the secret holding the first credential (rotation enabled), the Lambda's role, the handler's config. */
export interface AutoResources {
    secretArn: string;
    /** the rotation Lambda's configuration, parsed from the environment the component would set */
    config: RotationConfig;
    /** that environment (no secrets in it) */
    lambdaEnvironment: Record<string, string>;
}

export async function provisionAuto(c: DemoClients, shared: SharedResources): Promise<AutoResources> {
    const secretArn = (
        await c.secrets.send(
            new CreateSecretCommand({
                Name: NAMES.secret,
                Description: `Amazon SES SMTP credential of business unit ${shared.settings.businessUnit} (rotated automatically; servers read it by ARN + version)`,
                SecretString: serializeCredential(shared.initialCredential),
                // As the component tags it: `ses-smtp-rotator --unit demo` finds the rotator by this tag.
                Tags: [{ Key: "ses-rotator:business-unit", Value: shared.settings.businessUnit }],
            }),
        )
    ).ARN!;
    // Turns rotation on in moto. Without a Lambda ARN moto completes this first rotation itself (copying the value).
    await c.secrets.send(new RotateSecretCommand({ SecretId: secretArn, RotationRules: { AutomaticallyAfterDays: 90 }, RotateImmediately: false }));

    const { ctx } = shared;
    const lambdaPolicy = rotationLambdaPolicy(ctx, {
        userArn: shared.userArn,
        secretArn,
        topicArn: shared.topicArn,
        postfixDocumentArn: ssmDocumentArn(ctx, shared.documents.postfix),
        iisDocumentArn: ssmDocumentArn(ctx, shared.documents.iis),
        logGroupArn: `arn:${ctx.partition}:logs:${ctx.region}:${ctx.accountId}:log-group:/aws/lambda/${NAMES.rotationRole}`,
        fleetTableArn: dynamoTableArn(ctx, shared.fleetTableName),
    });
    await createRoleWithPolicy(c.iam, NAMES.rotationRole, "lambda.amazonaws.com", lambdaPolicy);
    shared.policies[NAMES.rotationRole] = lambdaPolicy;
    const readPolicy = serverReadPolicy(ctx, { kind: "secret", secretArn });
    await createRoleWithPolicy(c.iam, NAMES.serverRole, "ec2.amazonaws.com", readPolicy);
    shared.policies[NAMES.serverRole] = readPolicy;

    // Loaded here (it pulls in @pulumi/aws, ~2 s): the component's own environment builder.
    const { rotationLambdaEnvironment } = require("../components/auto-rotation") as typeof import("../components/auto-rotation");
    const lambdaEnvironment = rotationLambdaEnvironment(shared.settings, {
        iamUserName: shared.userName,
        fleetTarget: { kind: "table", tableName: shared.fleetTableName },
        postfixDocument: shared.documents.postfix,
        iisDocument: shared.documents.iis,
        notifyTopicArn: shared.topicArn,
    });
    // As a stack with smtpEndpoint set to the local endpoint (and allowNonSesSmtpEndpoint, which a host that is not
    // an SES endpoint needs) would have it; the demo's settings keep the default.
    lambdaEnvironment.SMTP_ENDPOINT = shared.smtpEndpoint;
    lambdaEnvironment.ALLOW_NON_SES_SMTP_ENDPOINT = "true";
    return { secretArn, config: rotationConfigFromEnv(lambdaEnvironment), lambdaEnvironment };
}

/** Creates a service role with one inline policy (trust policy from the components' builder). */
export async function createRoleWithPolicy(iam: IAMClient, roleName: string, servicePrincipal: string, policy: PolicyDocument): Promise<string> {
    const role = await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(serviceAssumeRolePolicy(servicePrincipal)) }));
    await iam.send(new PutRolePolicyCommand({ RoleName: roleName, PolicyName: roleName, PolicyDocument: JSON.stringify(policy) }));
    return role.Role!.Arn!;
}

/** Creates a DynamoDB table with a string partition key (PAY_PER_REQUEST), as the components do. */
export async function createKeyedTable(dynamodb: DynamoDBClient, tableName: string, key: string): Promise<void> {
    await dynamodb.send(
        new CreateTableCommand({
            TableName: tableName,
            BillingMode: "PAY_PER_REQUEST",
            AttributeDefinitions: [{ AttributeName: key, AttributeType: "S" }],
            KeySchema: [{ AttributeName: key, KeyType: "HASH" }],
        }),
    );
}
