/**
 * The SDK clients the CLI uses, made with the AWS SDK's default credential chain (environment, shared config
 * and credentials files, SSO, container and instance roles), optionally for a named profile and region.
 * Endpoints follow the SDK's own settings too (AWS_ENDPOINT_URL and friends), which is how the tests point
 * the real CLI at moto. Every CLI function takes these clients injected.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { IAMClient } from "@aws-sdk/client-iam";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SFNClient } from "@aws-sdk/client-sfn";
import { SSMClient } from "@aws-sdk/client-ssm";

export interface CliClients {
    iam: IAMClient;
    secrets: SecretsManagerClient;
    ssm: SSMClient;
    sfn: SFNClient;
    dynamodb: DynamoDBClient;
    lambda: LambdaClient;
    ec2: EC2Client;
}

/** What every client is made with (the SDK fills in the rest from its default chain). */
export interface ClientOptions {
    /** a profile of ~/.aws/config (otherwise AWS_PROFILE or "default") */
    profile?: string;
    /** otherwise the SDK's region chain (AWS_REGION, the profile's region) */
    region?: string;
    /** an explicit endpoint (the demo's local adapter); otherwise the SDK's endpoint settings */
    endpoint?: string;
    /** explicit credentials (the demo's fake ones); otherwise the default chain */
    credentials?: { accessKeyId: string; secretAccessKey: string };
}

export function createClients(opts: ClientOptions = {}): CliClients {
    const config = {
        ...(opts.region ? { region: opts.region } : {}),
        ...(opts.profile ? { profile: opts.profile } : {}),
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        ...(opts.credentials ? { credentials: opts.credentials } : {}),
        maxAttempts: 5,
    };
    return {
        iam: new IAMClient(config),
        secrets: new SecretsManagerClient(config),
        ssm: new SSMClient(config),
        sfn: new SFNClient(config),
        dynamodb: new DynamoDBClient(config),
        lambda: new LambdaClient(config),
        ec2: new EC2Client(config),
    };
}
