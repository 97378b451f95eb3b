/**
 * Reads and writes the stored SMTP credential for the dynamic providers: the Secrets Manager secret
 * (auto mode, AWSCURRENT) or the Parameter Store SecureString (manual mode, KMS key honoured).
 *
 * Closure-serialized with the providers: SDK modules are required inside the functions. The credential
 * value passes through memory only; nothing here logs or returns the password except `readStoredCredential`,
 * whose caller must keep it out of outputs.
 */
import credential = require("../../runtime/credential");
import support = require("./provider-support");
import type { SmtpCredentialValue } from "../../runtime/credential";

/** Where a credential lives. */
export interface CredentialStore {
    mode: "auto" | "manual";
    /** region of the secret / parameter */
    region: string;
    /** auto */
    secretArn?: string;
    /** manual: `/prefix/credential` */
    parameterName?: string;
    /** manual: KMS key for the SecureString (default: the account's aws/ssm key) */
    kmsKeyId?: string;
}

/** A reference to one stored version: never the value. */
export interface StoredVersionRef {
    /** the secret ARN or the parameter ARN */
    credentialArn: string;
    /** secret version id (uuid) or parameter version (integer, as a string) */
    credentialVersion: string;
}

function secretsClient(region: string) {
    const sm = require("@aws-sdk/client-secrets-manager");
    return { sm, client: new sm.SecretsManagerClient({ region }) };
}

function ssmClient(region: string) {
    const ssm = require("@aws-sdk/client-ssm");
    return { ssm, client: new ssm.SSMClient({ region }) };
}

/**
 * The credential currently stored (AWSCURRENT / latest parameter version), or undefined when nothing usable is
 * stored (no version yet, the store does not exist, or the value is not one of ours).
 */
export async function readStoredCredential(store: CredentialStore): Promise<(SmtpCredentialValue & StoredVersionRef) | undefined> {
    if (store.mode === "auto") {
        const { sm, client } = secretsClient(store.region);
        try {
            const out = await client.send(new sm.GetSecretValueCommand({ SecretId: store.secretArn, VersionStage: "AWSCURRENT" }));
            const value = credential.parseCredential(out.SecretString);
            return value && { ...value, credentialArn: out.ARN, credentialVersion: out.VersionId };
        } catch (e) {
            if (support.awsErrorName(e) === "ResourceNotFoundException") return undefined;
            throw e;
        }
    }
    const { ssm, client } = ssmClient(store.region);
    try {
        const out = await client.send(new ssm.GetParameterCommand({ Name: store.parameterName, WithDecryption: true }));
        const value = credential.parseCredential(out.Parameter?.Value);
        return value && { ...value, credentialArn: out.Parameter.ARN, credentialVersion: String(out.Parameter.Version) };
    } catch (e) {
        if (support.awsErrorName(e) === "ParameterNotFound") return undefined;
        throw e;
    }
}

/**
 * Stores the credential as the current one. Auto: `PutSecretValue` AWSCURRENT with an idempotency token
 * derived from the secret and the key (a retry after a lost response finds the same version). Manual:
 * `PutParameter` SecureString with the KMS key, overwriting.
 */
export async function writeCredential(store: CredentialStore, value: SmtpCredentialValue): Promise<StoredVersionRef> {
    const text = credential.serializeCredential(value);
    if (store.mode === "auto") {
        const { sm, client } = secretsClient(store.region);
        const out = await client.send(
            new sm.PutSecretValueCommand({
                SecretId: store.secretArn,
                SecretString: text,
                VersionStages: ["AWSCURRENT"],
                ClientRequestToken: support.stableUuid("bootstrap", store.secretArn!, value.username),
            }),
        );
        return { credentialArn: out.ARN, credentialVersion: out.VersionId };
    }
    const { ssm, client } = ssmClient(store.region);
    const put = await client.send(
        new ssm.PutParameterCommand({
            Name: store.parameterName,
            Value: text,
            Type: "SecureString",
            ...(store.kmsKeyId ? { KeyId: store.kmsKeyId } : {}),
            Overwrite: true,
            Description: "SES SMTP credential (ses-smtp-rotator); servers fetch it by name and version",
        }),
    );
    return { credentialArn: await parameterArn(store), credentialVersion: String(put.Version) };
}

/** The parameter's ARN (read without decryption). */
async function parameterArn(store: CredentialStore): Promise<string> {
    const { ssm, client } = ssmClient(store.region);
    const out = await client.send(new ssm.GetParameterCommand({ Name: store.parameterName, WithDecryption: false }));
    return out.Parameter.ARN;
}

/** Manual mode: removes the parameter (all versions). Already gone counts as done. */
export async function deleteParameter(store: CredentialStore): Promise<"deleted" | "absent"> {
    const { ssm, client } = ssmClient(store.region);
    try {
        await client.send(new ssm.DeleteParameterCommand({ Name: store.parameterName }));
        return "deleted";
    } catch (e) {
        if (support.awsErrorName(e) === "ParameterNotFound") return "absent";
        throw e;
    }
}
