/**
 * `BootstrapCredential`: the first SMTP credential of a new rotator, made entirely inside the provider.
 *
 * `create` makes an access key for the rotator's IAM user, derives the SES SMTP password and stores it (auto:
 * the secret's AWSCURRENT; manual: the SecureString parameter, KMS key honoured). The IAM secret access key
 * and the SMTP password never enter Pulumi inputs, outputs or state: outputs keep only references (access key
 * id, secret/parameter ARN, version).
 *
 * Convergence:
 * - a usable credential already stored (an Active key of the user; e.g. a crash after the write) is adopted;
 * - keys that appear during our own create besides ours (an SDK retry after a lost CreateAccessKey response)
 *   are deleted: their secret was never seen, nothing can use them;
 * - a failed write deletes the new key; if that cleanup fails too, the error records the key (Pulumi keeps
 *   the partial state) and the next `pulumi up` (update) or destroy (delete) finishes the job.
 * `delete` removes the key it made (and, in manual mode, the parameter it made). Keys made later by rotations
 * belong to the IAM user (forceDestroy) and retirement.
 */
import * as pulumi from "@pulumi/pulumi";
import accessKeys = require("../../runtime/access-keys");
import store = require("./credential-store");
import support = require("./provider-support");

/** Inputs of {@link BootstrapCredential}. */
export interface BootstrapCredentialArgs {
    mode: pulumi.Input<"auto" | "manual">;
    /** region of the secret / parameter (and of the IAM calls) */
    region: pulumi.Input<string>;
    /** the rotator's IAM user */
    iamUserName: pulumi.Input<string>;
    /** the SES region the SMTP password is derived for (may differ from `region`) */
    sesRegion: pulumi.Input<string>;
    /** SMTP host stored in the credential (default email-smtp.<sesRegion>.amazonaws.com) */
    smtpEndpoint?: pulumi.Input<string>;
    /** 587 (STARTTLS, default) or 465 (implicit TLS) */
    smtpPort?: pulumi.Input<number>;
    /** auto mode: the credential secret (created by the component, without a value) */
    secretArn?: pulumi.Input<string>;
    /** manual mode: the SecureString parameter name (`/prefix/credential`), created by this provider */
    parameterName?: pulumi.Input<string>;
    /** manual mode: KMS key id/ARN/alias for the SecureString */
    kmsKeyId?: pulumi.Input<string>;
}

/** Plain inputs as the provider receives them. */
export interface BootstrapCredentialInputs {
    mode: "auto" | "manual";
    region: string;
    iamUserName: string;
    sesRegion: string;
    smtpEndpoint?: string;
    smtpPort?: number;
    secretArn?: string;
    parameterName?: string;
    kmsKeyId?: string;
}

/** What the provider records: references only. */
export interface BootstrapCredentialOutputs extends BootstrapCredentialInputs {
    /** the access key the bootstrap made (or adopted) */
    accessKeyId: string;
    /** the secret ARN or the parameter ARN */
    credentialArn?: string;
    /** the secret version id or the parameter version */
    credentialVersion?: string;
    /** true when an already stored credential was adopted instead of making a key */
    adopted?: boolean;
    /** set by a partial create: the key exists but the bootstrap did not finish (the next update finishes it) */
    incomplete?: boolean;
    /** the key's status at the last create/refresh: Active, Inactive or Deleted (retired by a rotation) */
    accessKeyStatus?: string;
}

/** Inputs whose change means another user or store: replace. */
const REPLACING_INPUTS = ["mode", "region", "iamUserName", "secretArn", "parameterName"] as const;
/** Inputs the rotation applies from its own config; a change here is recorded without touching AWS. */
const RECORDED_INPUTS = ["sesRegion", "smtpEndpoint", "smtpPort", "kmsKeyId"] as const;

function iamClient(region: string) {
    const iam = require("@aws-sdk/client-iam");
    return new iam.IAMClient({ region });
}

function storeOf(inputs: BootstrapCredentialInputs): store.CredentialStore {
    return { mode: inputs.mode, region: inputs.region, secretArn: inputs.secretArn, parameterName: inputs.parameterName, kmsKeyId: inputs.kmsKeyId };
}

/** The dynamic provider behind {@link BootstrapCredential}. Exported for tests that call its methods directly. */
export const bootstrapCredentialProvider: pulumi.dynamic.ResourceProvider<BootstrapCredentialInputs, BootstrapCredentialOutputs> = {
    async check(_olds: BootstrapCredentialInputs, news: BootstrapCredentialInputs) {
        const failures: support.InputFailure[] = [];
        support.requireThat(failures, news, "mode", (v) => v === "auto" || v === "manual", 'must be "auto" or "manual"');
        support.requireThat(failures, news, "region", support.isRegion, "must be an AWS region such as eu-west-1");
        support.requireThat(failures, news, "sesRegion", support.isRegion, "must be an AWS region such as eu-west-1");
        support.requireThat(failures, news, "iamUserName", support.isIamUserName, "must be an IAM user name");
        support.requireThat(failures, news, "smtpPort", (v) => v === undefined || v === 587 || v === 465, "must be 587 (STARTTLS) or 465 (implicit TLS)");
        support.requireThat(failures, news, "smtpEndpoint", (v) => v === undefined || (typeof v === "string" && /^[A-Za-z0-9.-]{1,253}$/.test(v)), "must be a host name");
        if (news.mode === "auto") {
            support.requireThat(failures, news, "secretArn", support.isSecretArn, "auto mode needs the credential secret's ARN");
        }
        if (news.mode === "manual") {
            support.requireThat(failures, news, "parameterName", support.isParameterName, "manual mode needs the SecureString parameter name (/prefix/credential)");
            support.requireThat(failures, news, "kmsKeyId", (v) => v === undefined || (typeof v === "string" && v.length > 0 && v.length <= 2048), "must be a KMS key id, ARN or alias");
        }
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs) {
        const replaces = REPLACING_INPUTS.filter((k) => olds[k] !== news[k]);
        const changes = olds.incomplete === true || replaces.length > 0 || RECORDED_INPUTS.some((k) => olds[k] !== news[k]);
        // The new credential must exist before the old one's key is removed: create before delete.
        return { changes, replaces: [...replaces], deleteBeforeReplace: false };
    },

    async create(inputs: BootstrapCredentialInputs) {
        const outs = await bootstrap(inputs);
        return { id: outs.accessKeyId, outs: support.plainJson(outs) };
    },

    async update(_id: string, olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs) {
        if (olds.incomplete) {
            // A partial create left this key. If its credential did get stored (the write's answer was lost),
            // bootstrap adopts it; otherwise its secret is lost, so the key goes first.
            const stored = await store.readStoredCredential(storeOf(olds));
            if (stored?.username !== olds.accessKeyId) {
                await accessKeys.deleteAccessKey(iamClient(olds.region), olds.iamUserName, olds.accessKeyId);
            }
            return { outs: support.plainJson(await bootstrap(news)) };
        }
        const recorded: Partial<BootstrapCredentialOutputs> = {};
        for (const k of RECORDED_INPUTS) (recorded as any)[k] = news[k];
        return { outs: support.plainJson({ ...olds, ...recorded }) };
    },

    async read(id: string, props?: BootstrapCredentialOutputs) {
        if (!props) return { id, props };
        const keys = await listKeysOrNone(props);
        const key = keys.find((k) => k.accessKeyId === props.accessKeyId);
        return { id, props: support.plainJson({ ...props, accessKeyStatus: key ? key.status : "Deleted" }) };
    },

    async delete(_id: string, props: BootstrapCredentialOutputs) {
        if (props.accessKeyId) {
            try {
                await accessKeys.deleteAccessKey(iamClient(props.region), props.iamUserName, props.accessKeyId);
            } catch (e) {
                // The user itself is gone: so are its keys.
                if (!accessKeys.isNoSuchEntity(e)) throw e;
            }
        }
        if (props.mode === "manual") await store.deleteParameter(storeOf(props));
    },
};

async function listKeysOrNone(inputs: BootstrapCredentialInputs): Promise<accessKeys.AccessKeyInfo[]> {
    try {
        return await accessKeys.listAccessKeys(iamClient(inputs.region), inputs.iamUserName);
    } catch (e) {
        if (accessKeys.isNoSuchEntity(e)) return [];
        throw e;
    }
}

/** Makes (or adopts) the first credential. Returns references only. */
async function bootstrap(inputs: BootstrapCredentialInputs): Promise<BootstrapCredentialOutputs> {
    const iam = iamClient(inputs.region);
    const target = storeOf(inputs);
    const before = await accessKeys.listAccessKeys(iam, inputs.iamUserName);
    const stored = await store.readStoredCredential(target);
    const adoptable = stored && before.find((k) => k.accessKeyId === stored.username && k.status === "Active");
    if (stored && adoptable) {
        return {
            ...inputs,
            accessKeyId: stored.username,
            credentialArn: stored.credentialArn,
            credentialVersion: stored.credentialVersion,
            adopted: true,
            accessKeyStatus: "Active",
        };
    }

    const key = await accessKeys.createAccessKeyForSmtp(iam, inputs.iamUserName, inputs.sesRegion);
    const strays = (await accessKeys.listAccessKeys(iam, inputs.iamUserName)).filter(
        (k) => k.accessKeyId !== key.accessKeyId && !before.some((b) => b.accessKeyId === k.accessKeyId),
    );
    for (const stray of strays) await accessKeys.deleteAccessKey(iam, inputs.iamUserName, stray.accessKeyId);

    let ref: store.StoredVersionRef;
    try {
        const value = accessKeys.smtpCredentialForKey(key, { sesRegion: inputs.sesRegion, smtpEndpoint: inputs.smtpEndpoint, smtpPort: inputs.smtpPort });
        ref = await store.writeCredential(target, value);
    } catch (writeError) {
        const where = inputs.mode === "auto" ? `secret ${inputs.secretArn}` : `parameter ${inputs.parameterName}`;
        const failure = `BootstrapCredential: storing the new credential in ${where} failed: ${(writeError as Error).message}`;
        try {
            await accessKeys.deleteAccessKey(iam, inputs.iamUserName, key.accessKeyId);
        } catch (cleanupError) {
            throw new support.PartialCreateError(
                `${failure}; created access key ${key.accessKeyId} for IAM user ${inputs.iamUserName} and could not delete it ` +
                    `(${(cleanupError as Error).message}): it is recorded in the stack, the next pulumi up deletes it and retries`,
                key.accessKeyId,
                support.plainJson({ ...(inputs as any), accessKeyId: key.accessKeyId, incomplete: true }),
            );
        }
        throw new Error(`${failure}; the access key ${key.accessKeyId} it had created was deleted again (nothing left behind)`);
    }
    return { ...inputs, accessKeyId: key.accessKeyId, ...ref, adopted: false, accessKeyStatus: "Active" };
}

/**
 * The first credential of a rotator, made without the IAM secret key or SMTP password entering Pulumi state.
 * Type `pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential`.
 */
export class BootstrapCredential extends pulumi.dynamic.Resource {
    /** the access key the bootstrap made (or adopted) */
    declare public readonly accessKeyId: pulumi.Output<string>;
    /** the secret ARN or the parameter ARN */
    declare public readonly credentialArn: pulumi.Output<string>;
    /** the secret version id or the parameter version */
    declare public readonly credentialVersion: pulumi.Output<string>;
    /** true when an already stored credential was adopted */
    declare public readonly adopted: pulumi.Output<boolean>;

    constructor(name: string, args: BootstrapCredentialArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            bootstrapCredentialProvider,
            name,
            { ...args, accessKeyId: undefined, credentialArn: undefined, credentialVersion: undefined, adopted: undefined, accessKeyStatus: undefined },
            opts,
            "ses-rotator",
            "BootstrapCredential",
        );
    }
}
