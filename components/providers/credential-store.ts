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
import identity = require("./aws-identity");
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
    /**
     * manual: this rotator's ownership tag value (`ses-rotator:owner`). A parameter is created with it, and an
     * existing parameter is overwritten or deleted only when it carries it. Undefined: no ownership check
     * (state written before ownership tags existed).
     */
    owner?: string;
    /** the stack's identity, already checked against its account (see aws-identity.ts); default: region only */
    session?: identity.AwsSession;
}

/** A reference to one stored version: never the value. */
export interface StoredVersionRef {
    /** the secret ARN or the parameter ARN */
    credentialArn: string;
    /** secret version id (uuid) or parameter version (integer, as a string) */
    credentialVersion: string;
}

function configOf(store: CredentialStore) {
    return store.session ? identity.clientConfig(store.session) : { region: store.region };
}

function secretsClient(store: CredentialStore) {
    const sm = require("@aws-sdk/client-secrets-manager");
    return { sm, client: new sm.SecretsManagerClient(configOf(store)) };
}

function ssmClient(store: CredentialStore) {
    const ssm = require("@aws-sdk/client-ssm");
    return { ssm, client: new ssm.SSMClient(configOf(store)) };
}

/**
 * The credential currently stored (AWSCURRENT / latest parameter version), or undefined when nothing usable is
 * stored (no version yet, the store does not exist, or the value is not one of ours).
 */
export async function readStoredCredential(store: CredentialStore): Promise<(SmtpCredentialValue & StoredVersionRef) | undefined> {
    if (store.mode === "auto") {
        const { sm, client } = secretsClient(store);
        try {
            const out = await client.send(new sm.GetSecretValueCommand({ SecretId: store.secretArn, VersionStage: "AWSCURRENT" }));
            const value = credential.parseCredential(out.SecretString);
            return value && { ...value, credentialArn: out.ARN, credentialVersion: out.VersionId };
        } catch (e) {
            if (support.awsErrorName(e) === "ResourceNotFoundException") return undefined;
            throw e;
        }
    }
    const { ssm, client } = ssmClient(store);
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
        const { sm, client } = secretsClient(store);
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
    const { ssm, client } = ssmClient(store);
    const put = { Name: store.parameterName, Value: text, Type: "SecureString", ...(store.kmsKeyId ? { KeyId: store.kmsKeyId } : {}) };
    const description = "SES SMTP credential (ses-smtp-rotator); servers fetch it by name and version";
    let version: number;
    try {
        // Create-only first, with the ownership tag (SSM refuses Tags together with Overwrite).
        const tags = store.owner ? { Tags: [{ Key: PARAMETER_OWNER_TAG, Value: store.owner }] } : {};
        version = (await client.send(new ssm.PutParameterCommand({ ...put, Description: description, Overwrite: false, ...tags }))).Version;
    } catch (e) {
        if (support.awsErrorName(e) !== "ParameterAlreadyExists") throw e;
        await requireOwned(store);
        version = (await client.send(new ssm.PutParameterCommand({ ...put, Description: description, Overwrite: true }))).Version;
    }
    return { credentialArn: await parameterArn(store), credentialVersion: String(version) };
}

/** The tag that marks a credential parameter as this rotator's (value: the rotator's IAM user name). */
export const PARAMETER_OWNER_TAG = "ses-rotator:owner";

/** The parameter's owner tag value; undefined when the parameter has none (or does not exist). */
export async function parameterOwner(store: CredentialStore): Promise<string | undefined> {
    const { ssm, client } = ssmClient(store);
    try {
        const out = await client.send(new ssm.ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: parameterNameOf(store.parameterName!) }));
        return (out.TagList ?? []).find((t: { Key?: string }) => t.Key === PARAMETER_OWNER_TAG)?.Value;
    } catch (e) {
        if (support.awsErrorName(e) === "InvalidResourceId" || support.awsErrorName(e) === "ParameterNotFound") return undefined;
        throw e;
    }
}

/** Refuses (naming the input) a parameter that exists without this rotator's ownership tag. */
export async function requireOwned(store: CredentialStore): Promise<void> {
    if (store.mode !== "manual" || store.owner === undefined) return;
    const owner = await parameterOwner(store);
    if (owner === store.owner) return;
    const { ssm, client } = ssmClient(store);
    try {
        await client.send(new ssm.GetParameterCommand({ Name: store.parameterName, WithDecryption: false }));
    } catch (e) {
        if (support.awsErrorName(e) === "ParameterNotFound") return;
        throw e;
    }
    throw new Error(
        `parameterName (manual.parameterName, stack config manualParameterName): the parameter ${store.parameterName} already ` +
            `exists and was not created by this rotator (${owner ? `tag ${PARAMETER_OWNER_TAG}=${owner}` : `no ${PARAMETER_OWNER_TAG} tag`}, ` +
            `expected ${store.owner}). Refusing to overwrite it, make it readable by the servers or delete it on destroy: ` +
            `choose a parameter name that does not exist (or leave manualParameterName unset for the per-stack default).`,
    );
}

/** `/a/b` for a name or a parameter ARN. */
function parameterNameOf(nameOrArn: string): string {
    const m = /^arn:[^:]+:ssm:[^:]*:\d{12}:parameter(\/.*)$/.exec(nameOrArn);
    return m ? m[1] : nameOrArn;
}

/** The parameter's ARN (read without decryption). */
async function parameterArn(store: CredentialStore): Promise<string> {
    const { ssm, client } = ssmClient(store);
    const out = await client.send(new ssm.GetParameterCommand({ Name: store.parameterName, WithDecryption: false }));
    return out.Parameter.ARN;
}

/**
 * Manual mode: removes the parameter (all versions). Already gone counts as done. A parameter that does not
 * carry this rotator's ownership tag (someone else's, or re-created by hand) is left alone: "not-owned".
 */
export async function deleteParameter(store: CredentialStore): Promise<"deleted" | "absent" | "not-owned"> {
    const { ssm, client } = ssmClient(store);
    if (store.owner !== undefined && (await parameterOwner(store)) !== store.owner) {
        try {
            await client.send(new ssm.GetParameterCommand({ Name: store.parameterName, WithDecryption: false }));
            return "not-owned";
        } catch (e) {
            if (support.awsErrorName(e) === "ParameterNotFound") return "absent";
            throw e;
        }
    }
    try {
        await client.send(new ssm.DeleteParameterCommand({ Name: store.parameterName }));
        return "deleted";
    } catch (e) {
        if (support.awsErrorName(e) === "ParameterNotFound") return "absent";
        throw e;
    }
}
