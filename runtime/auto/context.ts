/** Types shared by the auto-mode rotation steps. */
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { IAMClient } from "@aws-sdk/client-iam";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { SmtpCredentialValue } from "../credential";
import type { Logger } from "../notify";
import type { RotationConfig } from "./config";
import type { SecretInfo } from "./secret-versions";

/** SDK clients and hooks the handler uses; all injected (the Lambda builds them, tests point them at moto). */
export interface RotationDeps {
    iam: IAMClient;
    secrets: SecretsManagerClient;
    ssm: SSMClient;
    sns: SNSClient;
    /** needed when the fleet target is a DynamoDB table */
    dynamodb?: DynamoDBClient;
    /**
     * proves a credential by SMTP AUTH (runtime/smtp-check.ts createSmtpCheck); rejects when it does not work.
     * The handler passes its per-invocation redacting logger as `call.log`: the check's retry lines reach its log.
     */
    smtpCheck: (cred: SmtpCredentialValue, call?: { log?: Logger }) => Promise<unknown>;
    now?: () => Date;
    log?: Logger;
    /** used between SSM polls (default: setTimeout) */
    sleep?: (ms: number) => Promise<void>;
    /** SSM poll interval passed to updateFleet */
    fleetPollIntervalMs?: number;
}

/** The Secrets Manager rotation event. `Step` in either spelling: createSecret / create_secret, ... */
export interface RotationEvent {
    Step: string;
    SecretId: string;
    ClientRequestToken: string;
    RotationToken?: string;
}

/** The part of the Lambda context the handler uses. */
export interface LambdaContextLike {
    getRemainingTimeInMillis?: () => number;
}

export type StepName = "createSecret" | "setSecret" | "testSecret" | "finishSecret";

/** Everything a step needs for one invocation. */
export interface StepContext {
    deps: RotationDeps;
    config: RotationConfig;
    secret: SecretInfo;
    token: string;
    now: () => Date;
    /** redacting logger: values in `secrets` never reach the log */
    log: Logger;
    /** secret values seen during this invocation (passwords): kept out of logs and notifications */
    secrets: string[];
    /** when Lambda stops this invocation, on the `now` clock (start + `getRemainingTimeInMillis()`); absent outside Lambda */
    lambdaEndsAtMs?: number;
}
