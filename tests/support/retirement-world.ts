/**
 * The retirement tests' starting point in moto (through the wire proxy): the SMTP user with an old and a new
 * access key, the alert topic, and the credential store the retirement re-reads — a secret whose AWSCURRENT
 * names the new key.
 */
import { CreateUserCommand, IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { createAccessKeyForSmtp, smtpCredentialForKey } from "../../runtime/access-keys";
import { serializeCredential } from "../../runtime/credential";
import { clientConfig } from "./hooks";

export interface RetirementWorld {
    iam: IAMClient;
    sns: SNSClient;
    topicArn: string;
    oldKey: string;
    newKey: string;
    secretArn: string;
}

export async function createRetirementWorld(userName: string): Promise<RetirementWorld> {
    const iam = new IAMClient(clientConfig());
    const sns = new SNSClient(clientConfig());
    await iam.send(new CreateUserCommand({ UserName: userName }));
    const topicArn = (await sns.send(new CreateTopicCommand({ Name: "rotation-alerts" }))).TopicArn!;
    const oldKey = (await createAccessKeyForSmtp(iam, userName, "eu-west-1")).accessKeyId;
    const created = await createAccessKeyForSmtp(iam, userName, "eu-west-1");
    const value = serializeCredential(smtpCredentialForKey(created, { sesRegion: "eu-west-1" }));
    const secretArn = (await new SecretsManagerClient(clientConfig()).send(new CreateSecretCommand({ Name: "smtp", SecretString: value }))).ARN!;
    return { iam, sns, topicArn, oldKey, newKey: created.accessKeyId, secretArn };
}
