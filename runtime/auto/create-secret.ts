/**
 * createSecret: put a working credential for a new (or reusable) access key into the AWSPENDING version.
 *
 * At most two keys exist. Besides the key in AWSCURRENT, a second key is one of:
 *  - the pending version's own key (a retry after PutSecretValue): nothing to do;
 *  - a key under retirement (old key in its observation window, held, or in its grace period): it blocks a
 *    new key; fail naming it and saying how to proceed;
 *  - the key of a stale pending version (a rotation that failed after setSecret reached some servers):
 *    reuse it: it may already be on servers, deleting it would break them;
 *  - a key no stored version references: an orphan of ours (a crash between CreateAccessKey and
 *    PutSecretValue, recognised by the creation intent recorded before CreateAccessKey, see ../key-intent.ts)
 *    is deleted when IAM shows it never used; any other key (someone else's, or used) stops the rotation with
 *    a message naming it, its creation date and its last use. Never the key in AWSCURRENT.
 */
import smSdk = require("@aws-sdk/client-secrets-manager");
import { AccessKeyInfo, deleteAccessKey, listAccessKeys, smtpCredentialForKey } from "../access-keys";
import { clearKeyIntent, createAccessKeyWithIntent, createdByIntent, judgeUnreferencedKey, readKeyIntent } from "../key-intent";
import { serializeCredential, SmtpCredentialValue } from "../credential";
import { publishNotice } from "../notify";
import { secretCredentialReader } from "../current-credential";
import { advanceRetirements, RetirementKeyReport } from "../retirement";
import type { StepContext } from "./context";
import { readCredential, StoredKeyIndex } from "./secret-versions";

/** What createSecret did. */
export type CreateOutcome = "already-created" | "reused-stale-pending" | "created";

async function putPending(ctx: StepContext, value: SmtpCredentialValue): Promise<void> {
    await ctx.deps.secrets.send(
        new smSdk.PutSecretValueCommand({
            SecretId: ctx.secret.arn,
            ClientRequestToken: ctx.token,
            SecretString: serializeCredential(value),
            VersionStages: ["AWSPENDING"],
        }),
    );
}

/** The retirement's view of this secret: AWSCURRENT is in use, AWSPREVIOUS was replaced by a completed switch. */
export function retirementDeps(ctx: StepContext) {
    return { iam: ctx.deps.iam, sns: ctx.deps.sns, log: ctx.log, store: secretCredentialReader(ctx.deps.secrets, ctx.secret.arn) };
}

function blockingMessage(userName: string, r: RetirementKeyReport): string {
    const base = `old access key ${r.accessKeyId} of IAM user "${userName}" is still being retired (phase ${r.phase})`;
    if (r.phase === "held") {
        const ev = r.evidence;
        // held because someone re-activated the deactivated key: IAM may report no use at all
        const why =
            r.heldReason === "reactivated"
                ? `it was found Active again after its deactivation (re-activated; IAM's last use: ${ev?.lastUsedDate ?? "none"})`
                : `IAM reported it used at ${ev?.lastUsedDate ?? "?"} (${ev?.serviceName ?? "?"}, ${ev?.region ?? "?"}) after the switch at ${r.switchedAt}`;
        return `${base}: ${why}. Move that consumer to the current credential, then override the hold (overrideHold / the stack's retirement override) and rotate again`;
    }
    if (r.phase === "observing") {
        // no next step time: the retirement is stuck (e.g. the replacement key is not Active); its note says why
        if (!r.nextStepAt) return `${base}: ${r.note}`;
        return `${base}: its observation window ends at ${r.nextStepAt}; rotate again after the retirement has deactivated and deleted it, or delete it yourself if you are sure nothing uses it`;
    }
    return `${base}: it is Inactive and will be deleted after ${r.nextStepAt ?? r.deleteAfter ?? "?"}; rotate again after that, or delete it yourself once no consumer needs it`;
}

/** The createSecret step. */
export async function createSecretStep(ctx: StepContext): Promise<CreateOutcome> {
    const { deps, config, log } = ctx;
    const userName = config.iamUserName;
    const current = await readCredential(deps.secrets, ctx.secret.arn, { stage: "AWSCURRENT" });
    const currentKeyId = current?.value.username;
    if (current) ctx.secrets.push(current.value.password);

    let keys = await listAccessKeys(deps.iam, userName);
    const pending = await readCredential(deps.secrets, ctx.secret.arn, { versionId: ctx.token });
    if (pending) ctx.secrets.push(pending.value.password);
    // moto copies the current value into the pending version; AWS leaves it empty. Only a different key is ours.
    if (pending && pending.value.username !== currentKeyId) {
        const key = keys.find((k) => k.accessKeyId === pending.value.username);
        if (key?.status === "Active") {
            log("createSecret: pending version already holds a credential for an Active key", { accessKeyId: key.accessKeyId, versionId: ctx.token });
            return "already-created";
        }
        throw new Error(
            `pending version ${ctx.token} of ${ctx.secret.arn} holds access key ${pending.value.username}, which is ${key ? "Inactive" : "deleted"}; ` +
                `a version's value cannot be replaced: cancel this rotation (CancelRotateSecret) and rotate again`,
        );
    }

    // Make room: due retirements move on (a forgotten AWSPREVIOUS key is handed to retirement first).
    const retirements = await advanceRetirements(retirementDeps(ctx), { userName, policy: config.retirement, notifyTopicArn: config.notifyTopicArn, now: ctx.now() });
    if (retirements.keys.some((r) => r.action !== "none")) keys = await listAccessKeys(deps.iam, userName);

    const index = new StoredKeyIndex(deps.secrets, ctx.secret.arn);
    const intent = await readKeyIntent(deps.iam, userName);
    const blocking: string[] = [];
    let reusable: SmtpCredentialValue | undefined;
    for (const key of keys.filter((k: AccessKeyInfo) => k.accessKeyId !== currentKeyId)) {
        const retiring = retirements.keys.find((r) => r.accessKeyId === key.accessKeyId && r.keyStatus !== "absent");
        if (retiring) {
            blocking.push(blockingMessage(userName, retiring));
            continue;
        }
        const refused = retirements.refused.find((r) => r.accessKeyId === key.accessKeyId);
        if (refused) {
            blocking.push(`access key ${key.accessKeyId} of IAM user "${userName}" has a retirement record the retirement refused (${refused.reason}); fix or remove that tag first`);
            continue;
        }
        const stored = await index.find(key.accessKeyId);
        if (stored) ctx.secrets.push(stored.value.password);
        if (stored && key.status === "Active" && !stored.stages.includes("AWSPREVIOUS")) {
            log("createSecret: reusing the key of an unfinished earlier rotation (it may already be on servers)", {
                accessKeyId: key.accessKeyId,
                fromVersionId: stored.versionId,
            });
            reusable = stored.value;
            continue;
        }
        if (!currentKeyId) {
            // Without a credential of ours in AWSCURRENT we cannot tell which key is in use: touch nothing.
            blocking.push(
                `access key ${key.accessKeyId} of IAM user "${userName}" is not referenced by the secret, and AWSCURRENT holds no SMTP credential of ours, ` +
                    `so it cannot be told apart from a key in use; delete it yourself if nothing uses it`,
            );
            continue;
        }
        // Neither current, pending, reusable nor being retired: delete it only if it is ours and IAM shows it never used.
        const verdict = await judgeUnreferencedKey(deps.iam, userName, key, stored ? "stored" : createdByIntent(intent, key) ? "intent" : false);
        if (!verdict.deletable) {
            blocking.push(verdict.reason);
            continue;
        }
        await deleteAccessKey(deps.iam, userName, key.accessKeyId);
        log("createSecret: deleted an orphan access key this rotator created and IAM shows never used", { accessKeyId: key.accessKeyId, status: key.status, createDate: key.createDate ?? null });
    }
    if (blocking.length > 0) {
        throw new Error(`cannot create a new access key: ${blocking.join("; ")}`);
    }

    if (reusable) {
        await putPending(ctx, reusable);
        await notifyStart(ctx, reusable.username, true, currentKeyId);
        return "reused-stale-pending";
    }

    const created = await createAccessKeyWithIntent(deps.iam, userName, config.sesRegion, ctx.token);
    const value = smtpCredentialForKey(created, { sesRegion: config.sesRegion, smtpEndpoint: config.smtpEndpoint, smtpPort: config.smtpPort });
    ctx.secrets.push(value.password, created.secretAccessKey);
    await putPending(ctx, value);
    await clearKeyIntent(deps.iam, userName);
    log("createSecret: new access key stored in AWSPENDING", { accessKeyId: created.accessKeyId, versionId: ctx.token });
    await notifyStart(ctx, created.accessKeyId, false, currentKeyId);
    return "created";
}

async function notifyStart(ctx: StepContext, newKeyId: string, reused: boolean, oldKeyId: string | undefined): Promise<void> {
    await publishNotice(
        ctx.deps.sns,
        ctx.config.notifyTopicArn,
        {
            kind: "rotation-started",
            summary: `SES SMTP credential rotation started for ${ctx.config.iamUserName}`,
            subject: { secretArn: ctx.secret.arn, iamUser: ctx.config.iamUserName, versionId: ctx.token },
            details: { newAccessKeyId: newKeyId, reusedFromEarlierAttempt: reused, currentAccessKeyId: oldKeyId ?? null },
        },
        { log: ctx.log, secrets: ctx.secrets },
    );
}
