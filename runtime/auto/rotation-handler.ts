/**
 * The auto-mode rotation Lambda (Secrets Manager rotation contract): createSecret, setSecret, testSecret,
 * finishSecret. Every step starts with the stage checks, is idempotent, and leaves a state a retry completes
 * when it crashes after any AWS call.
 *
 * Order of safety: servers are updated and confirmed (setSecret) and the new credential proven by SMTP AUTH
 * (testSecret) before AWSCURRENT moves (finishSecret); only then is the old key handed to the usage-guarded
 * retirement, so it keeps working until every server took the new one.
 * Nothing secret (IAM secret key, SMTP password) is logged, notified, or passed to SSM: servers fetch the
 * AWSPENDING version by reference.
 */
import smSdk = require("@aws-sdk/client-secrets-manager");
import { updateFleet, FleetUpdateResult } from "../fleet";
import { jsonLineLogger, Logger, MAX_LISTED_SERVERS, publishNotice, serverReport } from "../notify";
import { advanceRetirements, RetirementReport, scheduleRetirement } from "../retirement";
import type { RotationConfig } from "./config";
import type { LambdaContextLike, RotationDeps, RotationEvent, StepContext, StepName } from "./context";
import { createSecretStep, retirementDeps } from "./create-secret";
import { checkStages, describeSecret, readCredential, StoredCredential, versionWithStage } from "./secret-versions";

export { rotationConfigFromEnv, parseFleetTarget, ROTATION_CONFIG_DEFAULTS } from "./config";
export type { RotationConfig } from "./config";
export type { RotationDeps, RotationEvent, LambdaContextLike } from "./context";

const STEP_NAMES: Record<string, StepName> = {
    createSecret: "createSecret",
    create_secret: "createSecret",
    setSecret: "setSecret",
    set_secret: "setSecret",
    testSecret: "testSecret",
    test_secret: "testSecret",
    finishSecret: "finishSecret",
    finish_secret: "finishSecret",
};

/** Time kept back from the Lambda's remaining time when bounding the fleet wait. */
const LAMBDA_MARGIN_MS = 30_000;

/** Thrown by setSecret when servers did not all take the new credential; carries the per-server status. */
export class FleetUpdateError extends Error {
    constructor(
        message: string,
        readonly result: FleetUpdateResult,
    ) {
        super(message);
        this.name = "FleetUpdateError";
    }
}

/** A logger that replaces any of `secrets` in the log line with [redacted]. */
function redactingLogger(base: Logger, secrets: string[]): Logger {
    return (msg, fields) => {
        let text = JSON.stringify(fields ?? {});
        let line = msg;
        for (const s of secrets) {
            if (s && s.length >= 8) {
                text = text.split(s).join("[redacted]");
                line = line.split(s).join("[redacted]");
            }
        }
        base(line, JSON.parse(text));
    };
}

async function requirePending(ctx: StepContext, step: string): Promise<StoredCredential> {
    const pending = await readCredential(ctx.deps.secrets, ctx.secret.arn, { versionId: ctx.token });
    if (!pending) throw new Error(`${step}: pending version ${ctx.token} of ${ctx.secret.arn} holds no SMTP credential; createSecret must run first`);
    ctx.secrets.push(pending.value.password);
    return pending;
}

async function setSecretStep(ctx: StepContext): Promise<FleetUpdateResult> {
    const pending = await requirePending(ctx, "setSecret");
    // Prove the new credential with SES (waiting out IAM propagation) BEFORE any server gets it: a server
    // must never be switched to a credential SES refuses (found by the fault matrix: 535 during propagation).
    await ctx.deps.smtpCheck(pending.value, { log: ctx.log });
    const now = ctx.now();
    let waitMs = ctx.config.fleetDeadlineSeconds * 1000;
    if (ctx.lambdaEndsAtMs !== undefined) {
        // measured after the SMTP check, which may have spent minutes waiting out IAM propagation
        const leftMs = ctx.lambdaEndsAtMs - now.getTime();
        waitMs = Math.min(waitMs, leftMs - LAMBDA_MARGIN_MS);
        if (waitMs <= 0) {
            throw new Error(
                `setSecret: the Lambda has ${Math.max(0, Math.floor(leftMs / 1000))} s left after the SMTP check, within the ${LAMBDA_MARGIN_MS / 1000} s kept back to report the fleet update: nothing was sent to any server; Secrets Manager retries the step (raise the rotation Lambda's timeout if this repeats)`,
            );
        }
    }
    const result = await updateFleet(
        {
            ssm: ctx.deps.ssm,
            dynamodb: ctx.deps.dynamodb as any,
            ...(ctx.deps.sleep ? { sleep: ctx.deps.sleep } : {}),
            now: ctx.now,
            log: ctx.log,
        },
        {
            target: ctx.config.fleet,
            documents: { postfix: ctx.config.postfixDocument, iis: ctx.config.iisDocument },
            ...(ctx.config.documentVersions ? { documentVersions: ctx.config.documentVersions } : {}),
            credential: { source: "SecretsManager", id: ctx.secret.arn, version: ctx.token, region: ctx.secret.region },
            deadline: new Date(now.getTime() + waitMs),
            ...(ctx.deps.fleetPollIntervalMs !== undefined ? { pollIntervalMs: ctx.deps.fleetPollIntervalMs } : {}),
            comment: `SES SMTP credential rotation ${ctx.token.slice(0, 8)}`,
        },
    );
    const report = serverReport(result.servers.map((s) => ({ serverId: s.serverId, software: s.software, status: s.status })));
    ctx.log("setSecret: fleet update finished", { ok: result.ok, accessKeyId: pending.value.username, ...report, commandIds: result.commandIds });
    if (result.servers.length === 0) {
        throw new FleetUpdateError(`setSecret: no server matched the fleet target ${JSON.stringify(ctx.config.fleet)}; refusing to switch a credential nobody confirmed`, result);
    }
    if (!result.ok || result.failed.length > 0) {
        const failed = result.failed.map((s) => `${s.serverId} (${s.software}: ${s.status}${s.detail ? `: ${s.detail.slice(0, 200)}` : ""})`);
        throw new FleetUpdateError(
            `setSecret: ${result.failed.length} of ${result.servers.length} servers did not take the new credential: ${failed.join(", ")}; ` +
                `AWSCURRENT is unchanged and the old key stays Active`,
            result,
        );
    }
    return result;
}

/**
 * Secrets Manager's configuration test: when rotation is configured or its schedule changes without
 * RotateImmediately, AWS invokes only testSecret, on a fresh AWSPENDING version it removes afterwards. That
 * version holds no value or a copy of the current one (not documented which): no createSecret ran for it. The
 * test then checks the current credential and succeeds quietly (no notice). Returns false for a real rotation.
 */
async function configurationTest(ctx: StepContext): Promise<boolean> {
    const pending = await readCredential(ctx.deps.secrets, ctx.secret.arn, { versionId: ctx.token });
    const current = await readCredential(ctx.deps.secrets, ctx.secret.arn, { stage: "AWSCURRENT" });
    if (current) ctx.secrets.push(current.value.password);
    if (pending) ctx.secrets.push(pending.value.password);
    if (pending && pending.value.username !== current?.value.username) return false;
    if (!current) {
        throw new Error(`testSecret: pending version ${ctx.token} of ${ctx.secret.arn} holds ${pending ? "a copy of" : "no"} credential and AWSCURRENT holds no SMTP credential to test`);
    }
    const outcome = await ctx.deps.smtpCheck(current.value, { log: ctx.log });
    ctx.log("testSecret: Secrets Manager's configuration test (no createSecret ran for this version): the current credential works", {
        pendingValue: pending ? "copy of current" : "none",
        accessKeyId: current.value.username,
        outcome: outcome ?? null,
    });
    return true;
}

async function testSecretStep(ctx: StepContext): Promise<void> {
    if (await configurationTest(ctx)) return;
    const pending = await requirePending(ctx, "testSecret");
    const outcome = await ctx.deps.smtpCheck(pending.value, { log: ctx.log });
    ctx.log("testSecret: SMTP AUTH accepted the pending credential", { accessKeyId: pending.value.username, outcome: outcome ?? null });
}

/** Hands the replaced key to retirement and advances due retirements. */
async function retireOld(ctx: StepContext, oldKeyId: string | undefined, newKeyId: string): Promise<RetirementReport> {
    const rdeps = retirementDeps(ctx);
    if (oldKeyId && oldKeyId !== newKeyId) {
        await scheduleRetirement(rdeps, {
            userName: ctx.config.iamUserName,
            oldAccessKeyId: oldKeyId,
            newAccessKeyId: newKeyId,
            switchedAt: ctx.now(),
            observationHours: ctx.config.retirement.observationHours,
        });
    }
    return advanceRetirements(rdeps, { userName: ctx.config.iamUserName, policy: ctx.config.retirement, notifyTopicArn: ctx.config.notifyTopicArn, now: ctx.now() });
}

async function finishSecretStep(ctx: StepContext): Promise<RetirementReport> {
    const pending = await requirePending(ctx, "finishSecret");
    const currentVersion = versionWithStage(ctx.secret, "AWSCURRENT");
    const old = currentVersion ? await readCredential(ctx.deps.secrets, ctx.secret.arn, { versionId: currentVersion }) : undefined;
    await ctx.deps.secrets.send(
        new smSdk.UpdateSecretVersionStageCommand({
            SecretId: ctx.secret.arn,
            VersionStage: "AWSCURRENT",
            MoveToVersionId: ctx.token,
            ...(currentVersion ? { RemoveFromVersionId: currentVersion } : {}),
        }),
    );
    ctx.log("finishSecret: AWSCURRENT moved", { versionId: ctx.token, fromVersionId: currentVersion ?? null, accessKeyId: pending.value.username });
    return retireOld(ctx, old?.value.username, pending.value.username);
}

/**
 * finishSecret after AWSCURRENT already moved (a retry after a crash): make sure the old key is being retired
 * (advanceRetirements schedules an AWSPREVIOUS key that has no record).
 */
async function finishAlreadyCurrent(ctx: StepContext): Promise<RetirementReport> {
    return retireOld(ctx, undefined, "");
}

/**
 * Builds the Lambda handler. `deps` are SDK clients (in Lambda: created once per container), `config` from
 * `rotationConfigFromEnv(process.env)`.
 */
export function createRotationHandler(deps: RotationDeps, config: RotationConfig): (event: RotationEvent, context?: LambdaContextLike) => Promise<void> {
    const baseLog = deps.log ?? jsonLineLogger;
    const now = deps.now ?? (() => new Date());
    return async (event, context) => {
        const step = STEP_NAMES[event?.Step];
        if (!step) throw new Error(`rotation event Step ${JSON.stringify(event?.Step)} is not one of createSecret, setSecret, testSecret, finishSecret`);
        if (!event.SecretId) throw new Error("rotation event SecretId is missing");
        if (!event.ClientRequestToken) throw new Error("rotation event ClientRequestToken is missing");
        const secrets: string[] = [];
        const log = redactingLogger(baseLog, secrets);
        const remainingMs = context?.getRemainingTimeInMillis?.();
        const lambdaEndsAtMs = remainingMs === undefined ? undefined : now().getTime() + remainingMs;
        let secretArn = event.SecretId;
        try {
            const secret = await describeSecret(deps.secrets, event.SecretId);
            secretArn = secret.arn;
            const ctx: StepContext = { deps, config, secret, token: event.ClientRequestToken, now, log, secrets, ...(lambdaEndsAtMs !== undefined ? { lambdaEndsAtMs } : {}) };
            const stage = checkStages(secret, ctx.token);
            log("rotation step", { step, secretArn, versionId: ctx.token, stage });
            if (stage === "already-current") {
                if (step === "finishSecret") await finishAlreadyCurrent(ctx);
                log("rotation step: version is already AWSCURRENT, nothing to do", { step, versionId: ctx.token });
                return;
            }
            switch (step) {
                case "createSecret":
                    log("createSecret done", { outcome: await createSecretStep(ctx) });
                    return;
                case "setSecret":
                    await setSecretStep(ctx);
                    return;
                case "testSecret":
                    await testSecretStep(ctx);
                    return;
                case "finishSecret": {
                    const retirement = await finishSecretStep(ctx);
                    await publishNotice(
                        deps.sns,
                        config.notifyTopicArn,
                        {
                            kind: "rotation-succeeded",
                            summary: `SES SMTP credential rotated for ${config.iamUserName}`,
                            subject: { secretArn, iamUser: config.iamUserName, versionId: ctx.token },
                            details: { retirement },
                        },
                        { log, secrets },
                    );
                    return;
                }
            }
        } catch (e) {
            const err = e as Error;
            log("rotation step failed", { step, versionId: event.ClientRequestToken, error: String(err?.message ?? err) });
            await publishNotice(
                deps.sns,
                config.notifyTopicArn,
                {
                    kind: "rotation-failed",
                    summary: `SES SMTP credential rotation FAILED for ${config.iamUserName} (${step})`,
                    subject: { secretArn, iamUser: config.iamUserName, versionId: event.ClientRequestToken },
                    details: {
                        step,
                        error: String(err?.message ?? err),
                        ...(err instanceof FleetUpdateError
                            ? { ...serverReport(err.result.servers), failed: err.result.failed.slice(0, MAX_LISTED_SERVERS).map((s) => s.serverId) }
                            : {}),
                        state:
                            step === "finishSecret"
                                ? "the new credential is on every server; see the error for whether AWSCURRENT moved (a retry completes the step)"
                                : "AWSCURRENT unchanged; servers keep a working credential; the old key stays Active",
                    },
                },
                { log, secrets },
            );
            throw e;
        }
    };
}
