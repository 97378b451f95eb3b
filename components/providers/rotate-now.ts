/**
 * `RotateNow`: rotate the SMTP credential from `pulumi up` by changing a stack config value.
 *
 * When the `trigger` input changes, the provider starts a rotation — `RotateSecret` in auto mode, a named
 * Step Functions execution (`password-rotation-dd-mm-yy-<suffix>`) in manual mode — and records what it
 * started. An unchanged trigger is a no-op. Creating the resource records the first trigger as a baseline and
 * rotates nothing (a brand-new rotator has a fresh credential from `BootstrapCredential`).
 *
 * Retries are safe: the rotation version id (auto) and the execution name (manual) are derived from the
 * target, the trigger and the previous rotation, so a retried `pulumi up` after a crash finds the rotation it
 * already started instead of starting another.
 */
import * as pulumi from "@pulumi/pulumi";
import support = require("./provider-support");
import identity = require("./aws-identity");
import starter = require("../../runtime/manual/starter");

/** Inputs of {@link RotateNow}. */
export interface RotateNowArgs extends IdentityArgs {
    /** any string; changing it starts a rotation (e.g. stack config `rotateNow: "2026-11-29"`) */
    trigger: pulumi.Input<string>;
    /** "auto": Secrets Manager rotation; "manual": a CredentialRotation state machine execution */
    mode: pulumi.Input<"auto" | "manual">;
    /** the region of the secret / state machine */
    region: pulumi.Input<string>;
    /** auto mode: the credential secret's ARN */
    secretArn?: pulumi.Input<string>;
    /** manual mode: the CredentialRotation state machine's ARN */
    stateMachineArn?: pulumi.Input<string>;
    /** manual mode: extra (non-secret) fields for the execution input (see {@link rotateNowExecutionInput}) */
    executionInput?: pulumi.Input<Record<string, pulumi.Input<string | number | boolean>>>;
    /** manual mode: IANA time zone of the date in the execution name (default UTC), as the scheduled starter */
    timeZone?: pulumi.Input<string>;
}

/** The stack identity inputs (see aws-identity.ts), as `pulumi.Input`s. */
type IdentityArgs = { [K in keyof identity.AwsIdentityInputs]?: pulumi.Input<string> };

/** Plain inputs as the provider receives them. */
export interface RotateNowInputs extends identity.AwsIdentityInputs {
    trigger: string;
    mode: "auto" | "manual";
    region: string;
    secretArn?: string;
    stateMachineArn?: string;
    executionInput?: Record<string, string | number | boolean>;
    timeZone?: string;
}

/** What the provider records (plain JSON, no secrets). */
export interface RotateNowOutputs extends RotateNowInputs {
    /** auto: the secret version id of the rotation last started from here */
    rotationVersionId?: string;
    /** manual: the execution ARN of the rotation last started from here */
    executionArn?: string;
    /** ISO time the last rotation was started from here; undefined until the trigger first changes */
    startedAt?: string;
    /** the trigger value that started it */
    startedForTrigger?: string;
}

/** Inputs whose change means a different target: the resource is replaced (new baseline, no rotation). */
const REPLACING_INPUTS = ["mode", "region", "secretArn", "stateMachineArn"] as const;

/**
 * The Step Functions execution name: the scheduled starter's `password-rotation-dd-mm-yy` (date in `timeZone`)
 * plus `-<10 hex>` derived from the target, the trigger and the previous rotation (so a retry finds it, and it
 * never collides with the starter's `-2`, `-3` ... names). At most 37 characters.
 */
export function rotationExecutionName(now: Date, suffix: string, timeZone?: string): string {
    return `${starter.rotationExecutionBaseName(now, timeZone)}-${suffix}`;
}

/**
 * The execution input: the starter's on-demand shape (`trigger: "on-demand"`, a `requestId` that is stable
 * for this trigger change) plus the caller's extra fields and the `rotateNow` value. Never a secret.
 */
export function rotateNowExecutionInput(inputs: RotateNowInputs, requestId: string): string {
    return JSON.stringify({ ...(inputs.executionInput ?? {}), trigger: "on-demand", requestId, rotateNow: inputs.trigger, requestedBy: "pulumi up (RotateNow)" });
}

/** The dynamic provider behind {@link RotateNow}. Exported for tests that call its methods directly. */
export const rotateNowProvider: pulumi.dynamic.ResourceProvider<RotateNowInputs, RotateNowOutputs> = {
    async check(_olds: RotateNowInputs, news: RotateNowInputs) {
        const failures: support.InputFailure[] = [];
        support.requireThat(failures, news, "trigger", (v) => typeof v === "string" && v.length <= 256, "must be a string of at most 256 characters");
        support.requireThat(failures, news, "mode", (v) => v === "auto" || v === "manual", 'must be "auto" or "manual"');
        support.requireThat(failures, news, "region", support.isRegion, "must be an AWS region such as eu-west-1");
        failures.push(...identity.identityFailures(news, support.isUnknown));
        if (news.mode === "auto") {
            support.requireThat(failures, news, "secretArn", support.isSecretArn, "auto mode needs the credential secret's ARN");
        }
        if (news.mode === "manual") {
            support.requireThat(failures, news, "stateMachineArn", support.isStateMachineArn, "manual mode needs the CredentialRotation state machine ARN");
            support.requireThat(
                failures,
                news,
                "executionInput",
                (v) => v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v)),
                "must be an object of plain (non-secret) values",
            );
            support.requireThat(failures, news, "timeZone", (v) => v === undefined || isTimeZone(v), "must be an IANA time zone such as Europe/Berlin");
        }
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: RotateNowOutputs, news: RotateNowInputs) {
        const replaces = REPLACING_INPUTS.filter((k) => olds[k] !== news[k]);
        const inputChanged =
            replaces.length > 0 ||
            olds.trigger !== news.trigger ||
            (olds.timeZone ?? "") !== (news.timeZone ?? "") ||
            JSON.stringify(olds.executionInput ?? {}) !== JSON.stringify(news.executionInput ?? {}) ||
            identity.IDENTITY_INPUTS.some((k) => (olds[k] ?? "") !== (news[k] ?? ""));
        return { changes: inputChanged, replaces: [...replaces], deleteBeforeReplace: false };
    },

    async create(inputs: RotateNowInputs) {
        const id = support.shortHash(16, inputs.mode, inputs.secretArn ?? inputs.stateMachineArn ?? "", inputs.region);
        return { id, outs: support.plainJson({ ...inputs }) };
    },

    async update(_id: string, olds: RotateNowOutputs, news: RotateNowInputs) {
        if (olds.trigger === news.trigger) {
            const kept: RotateNowOutputs = { ...olds };
            for (const k of identity.IDENTITY_INPUTS) delete kept[k];
            return { outs: support.plainJson({ ...kept, ...news }) };
        }
        const previous = olds.rotationVersionId ?? olds.executionArn ?? "";
        const started = await startRotation(news, previous);
        return { outs: support.plainJson({ ...news, ...started, startedForTrigger: news.trigger }) };
    },

    async read(id: string, props?: RotateNowOutputs) {
        // Nothing in AWS belongs to this resource: the recorded state is the truth.
        return { id, props };
    },

    async delete() {
        // A started rotation cannot (and must not) be undone; nothing else exists.
    },
};

function isTimeZone(v: unknown): boolean {
    try {
        return typeof v === "string" && starter.rotationExecutionBaseName(new Date(), v).length > 0;
    } catch {
        return false;
    }
}

/** Starts the rotation for the inputs, or finds the one a crashed earlier attempt already started. */
async function startRotation(inputs: RotateNowInputs, previous: string): Promise<Partial<RotateNowOutputs>> {
    const session = await identity.connect(inputs.region, inputs, "RotateNow");
    const startedAt = new Date().toISOString();
    if (inputs.mode === "auto") {
        const sm = require("@aws-sdk/client-secrets-manager");
        const client = new sm.SecretsManagerClient(identity.clientConfig(session));
        const token = support.stableUuid("rotate-now", inputs.secretArn!, inputs.trigger, previous);
        const described = await client.send(new sm.DescribeSecretCommand({ SecretId: inputs.secretArn }));
        if (!described.VersionIdsToStages?.[token]) {
            try {
                await client.send(new sm.RotateSecretCommand({ SecretId: inputs.secretArn, ClientRequestToken: token }));
            } catch (e) {
                throw new Error(`RotateNow: RotateSecret on ${inputs.secretArn} failed: ${(e as Error).message}`);
            }
        }
        return { rotationVersionId: token, startedAt };
    }
    const sfn = require("@aws-sdk/client-sfn");
    const client = new sfn.SFNClient(identity.clientConfig(session));
    const suffix = support.shortHash(10, inputs.stateMachineArn!, inputs.trigger, previous);
    const name = rotationExecutionName(new Date(), suffix, inputs.timeZone);
    const executionArn = inputs.stateMachineArn!.replace(":stateMachine:", ":execution:") + ":" + name;
    try {
        await client.send(new sfn.DescribeExecutionCommand({ executionArn }));
        return { executionArn, startedAt };
    } catch (e) {
        if (support.awsErrorName(e) !== "ExecutionDoesNotExist") throw e;
    }
    const input = rotateNowExecutionInput(inputs, `rotate-now-${suffix}`);
    try {
        const out = await client.send(new sfn.StartExecutionCommand({ stateMachineArn: inputs.stateMachineArn, name, input }));
        return { executionArn: out.executionArn, startedAt };
    } catch (e) {
        throw new Error(`RotateNow: StartExecution ${name} on ${inputs.stateMachineArn} failed: ${(e as Error).message}`);
    }
}

/**
 * Starts a credential rotation whenever `trigger` changes (`pulumi up` with a new `rotateNow` config value).
 * Type `pulumi-nodejs:dynamic/ses-rotator:RotateNow`.
 */
export class RotateNow extends pulumi.dynamic.Resource {
    /** auto: the secret version id of the last rotation started from here */
    declare public readonly rotationVersionId: pulumi.Output<string | undefined>;
    /** manual: the execution ARN of the last rotation started from here */
    declare public readonly executionArn: pulumi.Output<string | undefined>;
    /** ISO time of the last rotation started from here */
    declare public readonly startedAt: pulumi.Output<string | undefined>;
    /** the trigger value that started it */
    declare public readonly startedForTrigger: pulumi.Output<string | undefined>;

    constructor(name: string, args: RotateNowArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            rotateNowProvider,
            name,
            { ...args, rotationVersionId: undefined, executionArn: undefined, startedAt: undefined, startedForTrigger: undefined },
            opts,
            "ses-rotator",
            "RotateNow",
        );
    }
}
