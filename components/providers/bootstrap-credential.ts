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
 * `delete` removes the key it made (and, in manual mode, the parameter it made and still owns). Keys made later
 * by rotations belong to the IAM user (forceDestroy) and retirement.
 *
 * Every operation runs under the stack's AWS identity (inputs `awsProfile`, `awsRoleArn`, `awsExternalId`,
 * kept in state so delete and refresh use them too) after checking the caller is in `accountId`
 * (aws-identity.ts).
 *
 * A changed store (`parameterName`, `secretArn`, `mode`, `region`) is an in-place update that carries the live
 * credential over: the credential the old store holds now (the key the servers use, whatever rotation made it)
 * is written into the new store; no key is deleted. A changed IAM user (the user was replaced: a renamed
 * business unit or component) is refused with the way out (aliases, README runbook): a key cannot move
 * to another user, and the old user's deletion would take the servers' key with it.
 */
import * as pulumi from "@pulumi/pulumi";
import accessKeys = require("../../runtime/access-keys");
import store = require("./credential-store");
import support = require("./provider-support");
import identity = require("./aws-identity");

/** Inputs of {@link BootstrapCredential}. */
export interface BootstrapCredentialArgs extends IdentityArgs {
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

/** The stack identity inputs (see aws-identity.ts), as `pulumi.Input`s. */
export type IdentityArgs = { [K in keyof identity.AwsIdentityInputs]?: pulumi.Input<string> };

/** Plain inputs as the provider receives them. */
export interface BootstrapCredentialInputs extends identity.AwsIdentityInputs {
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
    /** manual: the ownership tag value the parameter was created with (`ses-rotator:owner`) */
    parameterOwner?: string;
    /** set when a store change carried the live credential over: the store it came from */
    carriedOverFrom?: string;
}

/** Inputs whose change means another store: an update that carries the live credential over (never a replace). */
const STORE_INPUTS = ["mode", "region", "secretArn", "parameterName"] as const;
/** Inputs the rotation applies from its own config; a change here is recorded without touching AWS. */
const RECORDED_INPUTS = ["sesRegion", "smtpEndpoint", "smtpPort", "kmsKeyId", ...identity.IDENTITY_INPUTS] as const;
const RESOURCE = "BootstrapCredential";

function iamClient(session: identity.AwsSession) {
    const iam = require("@aws-sdk/client-iam");
    return new iam.IAMClient(identity.clientConfig(session));
}

/** Where the inputs' credential lives; `owner` only for state that recorded one (or a new write). */
function storeOf(inputs: BootstrapCredentialOutputs | BootstrapCredentialInputs, session: identity.AwsSession, owner?: string): store.CredentialStore {
    return {
        mode: inputs.mode,
        region: inputs.region,
        secretArn: inputs.secretArn,
        parameterName: inputs.parameterName,
        kmsKeyId: inputs.kmsKeyId,
        owner: inputs.mode === "manual" ? owner : undefined,
        session,
    };
}

/** The ownership tag value for a parameter this rotator creates: its IAM user's name (unique per rotator). */
function ownerFor(inputs: BootstrapCredentialInputs): string {
    return inputs.iamUserName;
}

function where(inputs: BootstrapCredentialInputs): string {
    return inputs.mode === "auto" ? `secret ${inputs.secretArn}` : `parameter ${inputs.parameterName}`;
}

function userChangeError(olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs): Error {
    return new Error(
        `${RESOURCE}: iamUserName changes from ${olds.iamUserName} to ${news.iamUserName}: the IAM user is being replaced (a renamed ` +
            `business unit or component, or a changed user). The servers' access key belongs to ${olds.iamUserName} and would be ` +
            `deleted with it. Nothing was changed. To rename, keep the user with the component's aliases option (stack config ` +
            `renamedFrom; README "Renames, moves and destroys"); to move to a new user, deploy the new rotator next to the old one, rotate it (rotateNow) so ` +
            `the servers switch, then remove the old one (README runbook).`,
    );
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
        failures.push(...identity.identityFailures(news, support.isUnknown));
        if (news.mode === "manual") {
            support.requireThat(failures, news, "parameterName", support.isParameterName, "manual mode needs the SecureString parameter name (/prefix/credential)");
            support.requireThat(failures, news, "kmsKeyId", (v) => v === undefined || (typeof v === "string" && v.length > 0 && v.length <= 2048), "must be a KMS key id, ARN or alias");
        }
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs) {
        // Known and different: the user was replaced. Refuse before anything else of the update runs.
        if (!support.isUnknown(news.iamUserName) && olds.iamUserName !== news.iamUserName) throw userChangeError(olds, news);
        // Never a replace: a replace would create the new resource, then delete the old one and the servers' key.
        const storeChanged = STORE_INPUTS.some((k) => olds[k] !== news[k]);
        const changes =
            olds.incomplete === true ||
            storeChanged ||
            olds.iamUserName !== news.iamUserName ||
            RECORDED_INPUTS.some((k) => (olds[k] ?? "") !== (news[k] ?? ""));
        return { changes, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs: BootstrapCredentialInputs) {
        const session = await identity.connect(inputs.region, inputs, RESOURCE);
        const outs = await bootstrap(inputs, session);
        return { id: outs.accessKeyId, outs: support.plainJson(outs) };
    },

    async update(_id: string, olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs) {
        if (olds.iamUserName !== news.iamUserName) throw userChangeError(olds, news);
        const session = await identity.connect(news.region, news, RESOURCE);
        if (olds.incomplete) {
            // A partial create left this key. If its credential did get stored (the write's answer was lost),
            // bootstrap adopts it; otherwise its secret is lost, so the key goes first.
            const oldSession = await identity.connect(olds.region, olds, RESOURCE);
            const stored = await store.readStoredCredential(storeOf(olds, oldSession));
            if (stored?.username !== olds.accessKeyId) {
                await accessKeys.deleteAccessKey(iamClient(oldSession), olds.iamUserName, olds.accessKeyId);
            }
            return { outs: support.plainJson(await bootstrap(news, session)) };
        }
        if (STORE_INPUTS.some((k) => olds[k] !== news[k])) return { outs: support.plainJson(await carryOver(olds, news, session)) };
        const recorded: Partial<BootstrapCredentialOutputs> = {};
        for (const k of RECORDED_INPUTS) (recorded as any)[k] = news[k];
        for (const k of identity.IDENTITY_INPUTS) if (news[k] === undefined) delete (olds as any)[k];
        return { outs: support.plainJson({ ...olds, ...recorded }) };
    },

    async read(id: string, props?: BootstrapCredentialOutputs) {
        if (!props) return { id, props };
        const keys = await listKeysOrNone(props, await identity.connect(props.region, props, RESOURCE));
        const key = keys.find((k) => k.accessKeyId === props.accessKeyId);
        return { id, props: support.plainJson({ ...props, accessKeyStatus: key ? key.status : "Deleted" }) };
    },

    async delete(_id: string, props: BootstrapCredentialOutputs) {
        const session = await identity.connect(props.region, props, RESOURCE);
        if (props.accessKeyId) {
            try {
                await accessKeys.deleteAccessKey(iamClient(session), props.iamUserName, props.accessKeyId);
            } catch (e) {
                // The user itself is gone: so are its keys.
                if (!accessKeys.isNoSuchEntity(e)) throw e;
            }
        }
        if (props.mode === "manual") await store.deleteParameter(storeOf(props, session, props.parameterOwner));
    },
};

async function listKeysOrNone(inputs: BootstrapCredentialInputs, session: identity.AwsSession): Promise<accessKeys.AccessKeyInfo[]> {
    try {
        return await accessKeys.listAccessKeys(iamClient(session), inputs.iamUserName);
    } catch (e) {
        if (accessKeys.isNoSuchEntity(e)) return [];
        throw e;
    }
}

/** Makes (or adopts) the first credential. Returns references only. */
async function bootstrap(inputs: BootstrapCredentialInputs, session: identity.AwsSession): Promise<BootstrapCredentialOutputs> {
    const iam = iamClient(session);
    const owner = inputs.mode === "manual" ? ownerFor(inputs) : undefined;
    const target = storeOf(inputs, session, owner);
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
            ...(owner ? { parameterOwner: owner } : {}),
        };
    }

    // Someone else's parameter is refused before a key is made.
    await store.requireOwned(target);
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
        const failure = `BootstrapCredential: storing the new credential in ${where(inputs)} failed: ${(writeError as Error).message}`;
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
    return { ...inputs, accessKeyId: key.accessKeyId, ...ref, adopted: false, accessKeyStatus: "Active", ...(owner ? { parameterOwner: owner } : {}) };
}

/**
 * The store changed (parameter name, secret, mode or region): the credential the old store holds now — the key the
 * servers use, whichever rotation made it — is written into the new store, and the old parameter (manual, ours)
 * removed. No key is deleted. When the old store holds no usable credential, the new store gets a fresh one.
 */
async function carryOver(olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs, session: identity.AwsSession): Promise<BootstrapCredentialOutputs> {
    const oldSession = await identity.connect(olds.region, olds, RESOURCE);
    const from = storeOf(olds, oldSession, olds.parameterOwner);
    const owner = news.mode === "manual" ? ownerFor(news) : undefined;
    const to = storeOf(news, session, owner);
    const live = await store.readStoredCredential(from);
    const keys = await accessKeys.listAccessKeys(iamClient(session), news.iamUserName);
    if (!live || !keys.some((k) => k.accessKeyId === live.username && k.status === "Active")) return bootstrap(news, session);
    const already = await store.readStoredCredential(to);
    const ref =
        already?.username === live.username
            ? { credentialArn: already.credentialArn, credentialVersion: already.credentialVersion }
            : await store.writeCredential(to, { username: live.username, password: live.password, endpoint: live.endpoint, port: live.port, region: live.region });
    if (olds.mode === "manual" && (news.mode !== "manual" || olds.parameterName !== news.parameterName || olds.region !== news.region)) {
        // Only after the new store holds the credential; a parameter that is not ours is left alone.
        await store.deleteParameter(from);
    }
    return {
        ...news,
        accessKeyId: live.username,
        ...ref,
        adopted: true,
        accessKeyStatus: "Active",
        carriedOverFrom: where(olds),
        ...(owner ? { parameterOwner: owner } : {}),
    };
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
            {
                ...args,
                accessKeyId: undefined,
                credentialArn: undefined,
                credentialVersion: undefined,
                adopted: undefined,
                accessKeyStatus: undefined,
                parameterOwner: undefined,
                carriedOverFrom: undefined,
            },
            opts,
            "ses-rotator",
            "BootstrapCredential",
        );
    }
}
