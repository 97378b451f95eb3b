/**
 * The manual-mode Lambda code: one `callbackFactory` per function, closure-serialized by Pulumi into each
 * function's archive (`aws.lambda.CallbackFunction`).
 *
 * Serialization rules (as in ../rotation-lambda.ts): local modules via `import x = require(...)` at the top
 * (captured by value); AWS SDK clients required inside the factory (the nodejs22.x runtime provides SDK v3,
 * excluded from the archive); nothing from `@pulumi/*`. Each factory runs once per cold start.
 */
import apiModule = require("../../runtime/manual/confirmation-api");
import storeModule = require("../../runtime/manual/confirmation-store");
import tasksModule = require("../../runtime/manual/confirmation-tasks");
import credentialModule = require("../../runtime/manual/credential-task");
import fanOutModule = require("../../runtime/manual/confirmation-fanout");
import envModule = require("../../runtime/manual/lambda-env");
import retireModule = require("../../runtime/manual/retire-task");
import pageModule = require("../../runtime/manual/servers-page");
import starterModule = require("../../runtime/manual/starter");
import tallyModule = require("../../runtime/manual/rotation-tally");

/** A Lambda entry: event in, JSON result out. */
export type ManualLambdaEntry = (event: any) => Promise<unknown>;

/** CreateCredential (IAM, SSM). */
export function createCredentialFactory(): ManualLambdaEntry {
    const { IAMClient } = require("@aws-sdk/client-iam");
    const { SSMClient } = require("@aws-sdk/client-ssm");
    return credentialModule.createCredentialHandler({ iam: new IAMClient({}), ssm: new SSMClient({}) }, envModule.createCredentialConfigFromEnv(process.env));
}

/** ListServersPage (DynamoDB for table fleets, EC2 for tag fleets). */
export function listServersPageFactory(): ManualLambdaEntry {
    const config = envModule.serversPageConfigFromEnv(process.env);
    const deps =
        config.fleet.kind === "table"
            ? { dynamodb: new (require("@aws-sdk/client-dynamodb").DynamoDBClient)({}) }
            : { ec2: new (require("@aws-sdk/client-ec2").EC2Client)({}) };
    return pageModule.createServersPageHandler(deps, config);
}

function confirmationTasks() {
    const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
    const { SFNClient } = require("@aws-sdk/client-sfn");
    const { SNSClient } = require("@aws-sdk/client-sns");
    const config = envModule.confirmationConfigFromEnv(process.env);
    const dynamodb = new DynamoDBClient({});
    const sfn = new SFNClient({});
    const store = new storeModule.ConfirmationStore(dynamodb, config.tableName);
    const tally = new tallyModule.RotationTally(dynamodb, sfn, config.tableName);
    return { sfn, tally, ...tasksModule.createConfirmationTaskHandlers({ store, tally, sfn, sns: new SNSClient({}) }, config) };
}

/** StartConfirmation: the fan-out (CredentialRotation's AwaitConfirmations, ConfirmationPage's steps). */
export function startConfirmationFactory(): ManualLambdaEntry {
    const tasks = confirmationTasks();
    return fanOutModule.createFanOutHandler({ sfn: tasks.sfn, tally: tasks.tally, startConfirmation: tasks.startConfirmation });
}

/** RequestConfirmation (ManualConfirmation's wait). */
export function requestConfirmationFactory(): ManualLambdaEntry {
    return confirmationTasks().requestConfirmation;
}

/** RemindOwner (ManualConfirmation's reminder loop). */
export function remindOwnerFactory(): ManualLambdaEntry {
    return confirmationTasks().remindOwner;
}

/** ReportOutcome (ManualConfirmation's end). */
export function reportOutcomeFactory(): ManualLambdaEntry {
    return confirmationTasks().reportOutcome;
}

/** RetireOldKeys (IAM). */
export function retireOldKeysFactory(): ManualLambdaEntry {
    const { IAMClient } = require("@aws-sdk/client-iam");
    const { SSMClient } = require("@aws-sdk/client-ssm");
    return retireModule.createRetireHandler(
        { iam: new IAMClient({}), ssm: new SSMClient({}) },
        { iamUserName: process.env.IAM_USER_NAME ?? "", parameterName: process.env.PARAMETER_NAME ?? "" },
    ) as ManualLambdaEntry;
}

/** The confirmation API (API Gateway HTTP API, payload 2.0). */
export function confirmationApiFactory(): ManualLambdaEntry {
    const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
    const { SFNClient } = require("@aws-sdk/client-sfn");
    const config = envModule.confirmationConfigFromEnv(process.env);
    return apiModule.createConfirmationApiHandler({ store: new storeModule.ConfirmationStore(new DynamoDBClient({}), config.tableName), sfn: new SFNClient({}) });
}

/** The starter (EventBridge Scheduler target, or invoked by an operator). */
export function starterFactory(): ManualLambdaEntry {
    const { SFNClient } = require("@aws-sdk/client-sfn");
    return starterModule.createStarterHandler({ sfn: new SFNClient({}) }, envModule.starterConfigFromEnv(process.env));
}
