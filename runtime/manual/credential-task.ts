/**
 * CreateCredential task (manual mode): a new IAM access key, its SES SMTP password derived and stored as a
 * Parameter Store SecureString (the customer KMS key passed on every PutParameter), and only a reference
 * returned to the state machine: parameter name + version, access key id, and the keys this rotation retires.
 *
 * Idempotent per rotation execution: the parameter version's Description names the execution, so a retry
 * after the value was stored returns the same reference; a key created by an earlier attempt whose secret was
 * never stored (crash between CreateAccessKey and PutParameter) is deleted first — only a key the creation
 * intent recorded before CreateAccessKey names (../key-intent.ts), referenced by no parameter version, and
 * never used according to IAM. An unreferenced key created after the execution started that is not ours (or
 * was used) stops the run with a message naming it, its creation date and its last use.
 *
 * Resuming after a failed run: in manual mode the "current" key is the one every server last confirmed; the
 * rotation that confirmed it recorded the retirement of the key before it (an IAM user tag, see
 * ../retirement-record.ts), and that record stays until the old key is deleted. So when the user already has
 * two keys, the latest parameter version was written by a rotation and names the newer of them (L), and the
 * other one (O) has NO retirement record, then L is an unfinished rotation's key (some servers may already use it): it is reused — same
 * parameter version, O retired once every server confirmed L. Every other two-key situation is refused
 * with a message saying what to do (see {@link resumeUnfinishedRotation}).
 */
import ssmSdk = require("@aws-sdk/client-ssm");
import type { IAMClient } from "@aws-sdk/client-iam";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { clearKeyIntent, createAccessKeyWithIntent, createdByIntent, judgeUnreferencedKey, readKeyIntent } from "../key-intent";
import { AccessKeyInfo, deleteAccessKey, listAccessKeys, MAX_ACCESS_KEYS_PER_USER, smtpCredentialForKey } from "../access-keys";
import { parseCredential, serializeCredential } from "../credential";
import { jsonLineLogger, Logger } from "../notify";
import { listRetirements } from "../retirement";
import { isAwsRegion } from "../smtp-password";
import { assertExecutionName, RotationCredential } from "./types";

export interface CreateCredentialDeps {
    iam: IAMClient;
    ssm: SSMClient;
    log?: Logger;
}

export interface CreateCredentialConfig {
    iamUserName: string;
    sesRegion: string;
    smtpEndpoint?: string;
    smtpPort: 587 | 465;
    /** the SecureString parameter, e.g. /ses-smtp/bu-a/credential */
    parameterName: string;
    /** customer KMS key (id, alias or ARN); absent = the account's alias/aws/ssm, named explicitly */
    kmsKeyId?: string;
}

export interface CreateCredentialEvent {
    /** `$$.Execution.Name` */
    executionName: string;
    /** `$$.Execution.StartTime` (ISO-8601) */
    executionStartTime: string;
}

/** Parameter Store's name for the AWS-managed key, used only when no customer key is configured. */
export const DEFAULT_SSM_KEY = "alias/aws/ssm";

/** The Description of the parameter version a rotation writes (the idempotency marker). */
export function credentialVersionDescription(executionName: string): string {
    return `SES SMTP credential created by rotation ${executionName}`;
}

/** Validates the configuration, naming the bad field. */
export function assertCreateCredentialConfig(config: CreateCredentialConfig): void {
    if (typeof config?.iamUserName !== "string" || config.iamUserName === "") throw new Error("iamUserName must be a non-empty IAM user name");
    if (!isAwsRegion(config.sesRegion)) throw new Error(`sesRegion ${JSON.stringify(config.sesRegion)} is not a well-formed AWS region`);
    if (config.smtpPort !== 587 && config.smtpPort !== 465) throw new Error(`smtpPort ${JSON.stringify(config.smtpPort)} must be 587 or 465`);
    if (typeof config.parameterName !== "string" || !/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(config.parameterName)) {
        throw new Error(`parameterName ${JSON.stringify(config.parameterName)} must be a Parameter Store path starting with /`);
    }
    if (config.kmsKeyId !== undefined && (typeof config.kmsKeyId !== "string" || config.kmsKeyId === "")) {
        throw new Error(`kmsKeyId ${JSON.stringify(config.kmsKeyId)} must be a KMS key id, alias or ARN`);
    }
}

/** One version of the credential parameter: its number, Description and the access key id it holds. */
export interface StoredVersion {
    version: number;
    description?: string;
    accessKeyId?: string;
}

async function parameterHistory(ssm: SSMClient, name: string): Promise<StoredVersion[]> {
    const versions: StoredVersion[] = [];
    let token: string | undefined;
    try {
        do {
            const page = await ssm.send(new ssmSdk.GetParameterHistoryCommand({ Name: name, WithDecryption: true, NextToken: token, MaxResults: 50 }));
            for (const p of page.Parameters ?? []) {
                versions.push({ version: p.Version!, description: p.Description, accessKeyId: parseCredential(p.Value)?.username });
            }
            token = page.NextToken;
        } while (token);
    } catch (e) {
        if ((e as { name?: string }).name === "ParameterNotFound") return [];
        throw e;
    }
    return versions.sort((a, b) => a.version - b.version);
}

/**
 * The user already has the most keys IAM allows: reuse the unfinished rotation's key when that is the
 * only reading of the situation, otherwise throw an error saying exactly what to do.
 */
export async function resumeUnfinishedRotation(
    deps: CreateCredentialDeps,
    config: CreateCredentialConfig,
    history: StoredVersion[],
    keys: AccessKeyInfo[],
): Promise<RotationCredential> {
    const user = config.iamUserName;
    const ids = keys.map((k) => `${k.accessKeyId} (${k.status})`).join(", ");
    const latest = history[history.length - 1];
    const deleteHint = (id: string) => `aws iam delete-access-key --user-name ${user} --access-key-id ${id}`;
    const retiring = (await listRetirements(deps.iam, user)).filter((r) => keys.some((k) => k.accessKeyId === r.accessKeyId));
    if (retiring.length > 0) {
        const r = retiring[0];
        const what =
            r.phase === "held"
                ? `is held: it was used at ${r.evidence?.lastUsedDate ?? "?"} after the switch. Move that consumer to the current credential, release the hold (stack config retirementOverrideKeyId=${r.accessKeyId}, then pulumi up), and start again once it is deleted`
                : r.phase === "deactivated"
                  ? `is Inactive and will be deleted after ${r.deleteAfter ?? "the grace period"}; start again after that (or delete it now: ${deleteHint(r.accessKeyId)})`
                  : `is being observed until ${r.deactivateAfter ?? "the end of the observation window"}; start again once it is deleted`;
        throw new Error(`cannot start a rotation: the previous rotation is still retiring old access key ${r.accessKeyId} of IAM user "${user}" (replaced by ${r.newAccessKeyId}); its retirement ${what}.`);
    }
    const candidate = latest?.accessKeyId ? keys.find((k) => k.accessKeyId === latest.accessKeyId) : undefined;
    const createdAt = (k: AccessKeyInfo) => (k.createDate ? Date.parse(k.createDate) : NaN);
    // A failed run leaves: the latest version written by a rotation, holding a key newer than the other one.
    const unfinished =
        candidate &&
        latest?.description?.startsWith(credentialVersionDescription("")) &&
        keys.every((k) => k === candidate || createdAt(k) <= createdAt(candidate))
            ? candidate
            : undefined;
    if (!latest || !unfinished) {
        throw new Error(
            `cannot start a rotation: IAM user "${user}" already has ${keys.length} access keys (${ids}) and the latest version of parameter ${config.parameterName}` +
                ` (key ${latest?.accessKeyId ?? "none readable"}) is not an unfinished rotation's newest key, so which key the servers use is unknown.` +
                ` Find the key no server uses, delete it (${deleteHint("<that key id>")}), then start the rotation again.`,
        );
    }
    const others = keys.filter((k) => k.accessKeyId !== unfinished.accessKeyId);
    if (unfinished.status !== "Active" || others.some((k) => k.status !== "Active")) {
        throw new Error(
            `cannot start a rotation: IAM user "${user}" has access keys ${ids} and no retirement in progress; an Inactive key is not what a failed rotation leaves.` +
                ` Check that no server uses the Inactive key, delete it (${deleteHint("<inactive key id>")}), then start the rotation again.`,
        );
    }
    const previousAccessKeyIds = others.map((k) => k.accessKeyId);
    (deps.log ?? jsonLineLogger)("reusing the key of an unfinished rotation (some servers may already use it)", {
        parameterName: config.parameterName,
        parameterVersion: latest.version,
        accessKeyId: unfinished.accessKeyId,
        previousAccessKeyIds,
    });
    return { parameterName: config.parameterName, parameterVersion: latest.version, accessKeyId: unfinished.accessKeyId, previousAccessKeyIds };
}

/** The CreateCredential Lambda handler. */
export function createCredentialHandler(deps: CreateCredentialDeps, config: CreateCredentialConfig): (event: CreateCredentialEvent) => Promise<RotationCredential> {
    assertCreateCredentialConfig(config);
    const log = deps.log ?? jsonLineLogger;
    return async (event) => {
        const executionName = assertExecutionName("executionName", event?.executionName);
        const startedAt = Date.parse(event?.executionStartTime);
        if (!Number.isFinite(startedAt)) throw new Error(`executionStartTime ${JSON.stringify(event?.executionStartTime)} is not an ISO-8601 time`);
        const marker = credentialVersionDescription(executionName);

        const history = await parameterHistory(deps.ssm, config.parameterName);
        const current = history[history.length - 1];
        let keys = await listAccessKeys(deps.iam, config.iamUserName);

        if (current && current.description === marker && current.accessKeyId) {
            // A retry after the value was stored: same answer.
            const previous = keys.filter((k) => k.accessKeyId !== current.accessKeyId).map((k) => k.accessKeyId);
            log("credential already created by this rotation", { executionName, parameterVersion: current.version, accessKeyId: current.accessKeyId });
            return { parameterName: config.parameterName, parameterVersion: current.version, accessKeyId: current.accessKeyId, previousAccessKeyIds: previous };
        }

        const referenced = new Set(history.map((v) => v.accessKeyId).filter((id): id is string => !!id));
        const intent = await readKeyIntent(deps.iam, config.iamUserName);
        for (const k of keys) {
            if (referenced.has(k.accessKeyId)) continue;
            const created = k.createDate ? Date.parse(k.createDate) : NaN;
            const ours = createdByIntent(intent, k);
            // Keys older than this execution and not ours are left to the two-key checks below (they refuse, naming them).
            if (!ours && !(Number.isFinite(created) && created >= startedAt - 1000)) continue;
            // Created by an earlier attempt (secret lost, nobody can use it) only if the intent says so and IAM shows it never used.
            const verdict = await judgeUnreferencedKey(deps.iam, config.iamUserName, k, ours ? "intent" : false);
            if (!verdict.deletable) throw new Error(`cannot start a rotation: ${verdict.reason}`);
            await deleteAccessKey(deps.iam, config.iamUserName, k.accessKeyId);
            log("deleted an unstored key left by an earlier attempt of a rotation (never used)", { executionName, accessKeyId: k.accessKeyId, intentToken: intent?.token ?? null });
        }
        keys = await listAccessKeys(deps.iam, config.iamUserName);
        if (keys.length >= MAX_ACCESS_KEYS_PER_USER) return resumeUnfinishedRotation(deps, config, history, keys);
        const previousAccessKeyIds = keys.map((k) => k.accessKeyId);

        const key = await createAccessKeyWithIntent(deps.iam, config.iamUserName, config.sesRegion, executionName);
        const value = smtpCredentialForKey(key, { sesRegion: config.sesRegion, smtpEndpoint: config.smtpEndpoint, smtpPort: config.smtpPort });
        const put = await deps.ssm.send(
            new ssmSdk.PutParameterCommand({
                Name: config.parameterName,
                Value: serializeCredential(value),
                Type: "SecureString",
                KeyId: config.kmsKeyId ?? DEFAULT_SSM_KEY,
                Overwrite: true,
                Description: marker,
            }),
        );
        if (!put.Version) throw new Error(`PutParameter ${config.parameterName} returned no version`);
        await clearKeyIntent(deps.iam, config.iamUserName);
        log("credential stored", { executionName, parameterName: config.parameterName, parameterVersion: put.Version, accessKeyId: key.accessKeyId });
        return { parameterName: config.parameterName, parameterVersion: put.Version, accessKeyId: key.accessKeyId, previousAccessKeyIds };
    };
}
