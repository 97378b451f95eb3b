/**
 * `RetirementGuard`: the usage-guarded retirement of old SMTP keys (runtime/retirement.ts), seen from the stack.
 *
 * On `pulumi up` it advances the retirements of the rotator's IAM user (`advanceRetirements`: observe →
 * hold or deactivate → delete) and exposes the result as outputs: the held key ids with IAM's evidence
 * (last-used date, service, region) and every retirement in progress. Setting the `overrideKeyId` input
 * (stack config `retirementOverrideKeyId: AKIA...`) releases that key's held retirement (`overrideHold`);
 * the same run then deactivates it.
 *
 * `diff` reads the retirement records (read only) so a preview shows an update only when there is
 * something to do or report: a transition is due, a requested override is pending, or the records changed
 * since the last run. Retirement records live on the IAM user (tags); nothing here is destroyed with the
 * resource. Auto mode also advances them hourly from a scheduled Lambda (see retirement-lambda.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import retirement = require("../../runtime/retirement");
import notify = require("../../runtime/notify");
import accessKeys = require("../../runtime/access-keys");
import currentCredential = require("../../runtime/current-credential");
import currentParameter = require("../../runtime/manual/current-parameter");
import support = require("./provider-support");
import identity = require("./aws-identity");
import type { RetirementRecord, RetirementKeyReport } from "../../runtime/retirement";

/** Inputs of {@link RetirementGuard}. */
export interface RetirementGuardArgs extends IdentityArgs {
    /** the rotator's IAM user (its tags hold the retirement records) */
    iamUserName: pulumi.Input<string>;
    /** region for the IAM/SNS clients */
    region: pulumi.Input<string>;
    /** hours the old key stays Active after the switch before IAM's last-use report decides */
    observationHours: pulumi.Input<number>;
    /** days an Inactive old key is kept before deletion */
    graceDays: pulumi.Input<number>;
    /** alert topic for held retirements */
    notifyTopicArn?: pulumi.Input<string>;
    /** an operator's release of a held retirement: the held key's id (stack config); empty = none */
    overrideKeyId?: pulumi.Input<string>;
    /** auto mode: the rotated secret, re-read before every deactivate and delete (AWSCURRENT's key is never retired). Set this or parameterName. */
    secretArn?: pulumi.Input<string>;
    /** manual mode: the credential parameter, re-read before every deactivate and delete (its latest version's key is never retired). Set this or secretArn. */
    parameterName?: pulumi.Input<string>;
}

/** The stack identity inputs (see aws-identity.ts), as `pulumi.Input`s. */
type IdentityArgs = { [K in keyof identity.AwsIdentityInputs]?: pulumi.Input<string> };

/** Plain inputs as the provider receives them. */
export interface RetirementGuardInputs extends identity.AwsIdentityInputs {
    iamUserName: string;
    region: string;
    observationHours: number;
    graceDays: number;
    notifyTopicArn?: string;
    overrideKeyId?: string;
    secretArn?: string;
    parameterName?: string;
}

/** One retirement in progress, as recorded in the outputs. */
export type RetirementSummary = Omit<RetirementKeyReport, "action" | "note" | "keyStatus"> & {
    /** the old key's state in IAM at the last check or refresh */
    keyStatus?: RetirementKeyReport["keyStatus"];
    note?: string;
};

/** What the provider records (plain JSON, key ids and dates only). */
export interface RetirementGuardOutputs extends RetirementGuardInputs {
    /** when the retirement state was last checked */
    checkedAt: string;
    /** retirements still in progress after the check */
    retirements: RetirementSummary[];
    /** keys deleted (retirement finished) by the last check */
    retiredKeyIds: string[];
    /** keys whose retirement is held: some consumer used them after the switch */
    heldKeyIds: string[];
    /** the first held key, if any */
    heldKeyId?: string;
    /** IAM's report for the first held key: when, which service, which region */
    heldEvidence?: { lastUsedDate: string; serviceName?: string; region?: string };
    /** what the last override request did */
    override?: { accessKeyId: string; status: "released" | "already-released" | "no-held-retirement"; at: string };
    /** retirement records refused by the last check (inconsistent, or naming the key in use): nothing was done to them */
    refused?: { accessKeyId: string; reason: string; record: string }[];
}

const REPLACING_INPUTS = ["iamUserName", "region"] as const;
const IN_PLACE_INPUTS = ["observationHours", "graceDays", "notifyTopicArn", "overrideKeyId", "secretArn", "parameterName", ...identity.IDENTITY_INPUTS] as const;
const HOUR_MS = 3600_000;

function iamClient(session: identity.AwsSession) {
    const iam = require("@aws-sdk/client-iam");
    return new iam.IAMClient(identity.clientConfig(session));
}

function snsClient(session: identity.AwsSession) {
    const sns = require("@aws-sdk/client-sns");
    return new sns.SNSClient(identity.clientConfig(session));
}

/** The stack's identity for the inputs, checked against its account (before any other call). */
function connect(inputs: RetirementGuardInputs): Promise<identity.AwsSession> {
    return identity.connect(inputs.region, inputs, "RetirementGuard");
}

/**
 * Records of the user. A missing user is an error, never "no retirements": the guard exists only while its
 * user does (it depends on it), so NoSuchEntity means the wrong account or a user deleted behind Pulumi's back.
 */
async function recordsOf(inputs: RetirementGuardInputs, session: identity.AwsSession): Promise<RetirementRecord[]> {
    try {
        return await retirement.listRetirements(iamClient(session), inputs.iamUserName);
    } catch (e) {
        if (support.awsErrorName(e) === "NoSuchEntity" || support.awsErrorName(e) === "NoSuchEntityException") {
            throw new Error(
                `RetirementGuard: IAM user ${inputs.iamUserName} does not exist for ${session.describe}` +
                    `${inputs.accountId ? ` (account ${inputs.accountId})` : ""}: its retirement records cannot be read (${(e as Error).message})`,
            );
        }
        throw e;
    }
}

/** True when advancing would change something now (a time-based transition is due, or a hold was released). */
export function transitionDue(record: RetirementRecord, observationHours: number, now: Date): boolean {
    if (record.phase === "held") return record.overrideAt !== undefined;
    if (record.phase === "deactivated") return now.getTime() >= Date.parse(record.deleteAfter ?? "1970-01-01T00:00:00Z");
    const deactivateAfter = record.deactivateAfter ?? new Date(Date.parse(record.switchedAt) + observationHours * HOUR_MS).toISOString();
    return now.getTime() >= Date.parse(deactivateAfter);
}

function fingerprint(records: { accessKeyId: string; phase: string; overrideAt?: string }[]): string {
    return records
        .map((r) => `${r.accessKeyId}:${r.phase}:${r.overrideAt ?? ""}`)
        .sort()
        .join(",");
}

/** The credential store the retirement re-reads before every deactivate and delete. */
function storeOf(inputs: RetirementGuardInputs, session: identity.AwsSession): currentCredential.CurrentCredentialReader {
    if (inputs.secretArn) {
        const sm = require("@aws-sdk/client-secrets-manager");
        return currentCredential.secretCredentialReader(new sm.SecretsManagerClient(identity.clientConfig(session)), inputs.secretArn);
    }
    const ssm = require("@aws-sdk/client-ssm");
    return currentParameter.parameterCredentialReader(new ssm.SSMClient(identity.clientConfig(session)), inputs.parameterName ?? "");
}

/** Override (if asked), advance, and shape the outputs. */
async function guard(inputs: RetirementGuardInputs): Promise<RetirementGuardOutputs> {
    const session = await connect(inputs);
    const deps = { iam: iamClient(session), sns: inputs.notifyTopicArn ? snsClient(session) : undefined, log: notify.silentLogger, store: storeOf(inputs, session) };
    const now = new Date();
    let override: RetirementGuardOutputs["override"];
    if (inputs.overrideKeyId) {
        const record = (await recordsOf(inputs, session)).find((r) => r.accessKeyId === inputs.overrideKeyId);
        const at = retirement.isoSeconds(now);
        if (record?.phase === "held" && !record.overrideAt) {
            await retirement.overrideHold(deps, { userName: inputs.iamUserName, accessKeyId: inputs.overrideKeyId, now });
            override = { accessKeyId: inputs.overrideKeyId, status: "released", at };
        } else {
            override = { accessKeyId: inputs.overrideKeyId, status: record?.overrideAt ? "already-released" : "no-held-retirement", at };
        }
    }
    // A missing user is an error (recordsOf), never "nothing to retire"; with the user there, the run also finds a
    // replaced key that has no record yet (a crash after AWSCURRENT moved).
    await recordsOf(inputs, session);
    const report = await retirement.advanceRetirements(deps, {
        userName: inputs.iamUserName,
        policy: { observationHours: inputs.observationHours, graceDays: inputs.graceDays },
        notifyTopicArn: inputs.notifyTopicArn,
        now,
    });
    const finished = (k: RetirementKeyReport) => k.action === "deleted" || k.action === "record-removed";
    const retirements = report.keys.filter((k) => !finished(k)).map(({ action: _action, ...rest }) => rest);
    const firstHeld = report.keys.find((k) => k.accessKeyId === report.held[0]);
    return support.plainJson({
        ...inputs,
        checkedAt: report.checkedAt,
        retirements,
        retiredKeyIds: report.keys.filter(finished).map((k) => k.accessKeyId),
        heldKeyIds: report.held,
        heldKeyId: firstHeld?.accessKeyId,
        heldEvidence: firstHeld?.evidence,
        override,
        refused: report.refused,
    });
}

/** The dynamic provider behind {@link RetirementGuard}. Exported for tests that call its methods directly. */
export const retirementGuardProvider: pulumi.dynamic.ResourceProvider<RetirementGuardInputs, RetirementGuardOutputs> = {
    async check(_olds: RetirementGuardInputs, news: RetirementGuardInputs) {
        const failures: support.InputFailure[] = [];
        support.requireThat(failures, news, "iamUserName", support.isIamUserName, "must be an IAM user name");
        support.requireThat(failures, news, "region", support.isRegion, "must be an AWS region such as eu-west-1");
        support.requireThat(failures, news, "observationHours", (v) => typeof v === "number" && v >= 0 && v <= 24 * 90, "must be a number of hours from 0 to 2160");
        support.requireThat(failures, news, "graceDays", (v) => typeof v === "number" && v >= 0 && v <= 365, "must be a number of days from 0 to 365");
        support.requireThat(failures, news, "notifyTopicArn", (v) => v === undefined || (typeof v === "string" && /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/.test(v)), "must be an SNS topic ARN");
        failures.push(...identity.identityFailures(news, support.isUnknown));
        support.requireThat(failures, news, "secretArn", (v) => v === undefined || (typeof v === "string" && /^arn:aws[a-z-]*:secretsmanager:/.test(v)), "must be the rotated secret's ARN");
        support.requireThat(failures, news, "parameterName", (v) => v === undefined || (typeof v === "string" && v.startsWith("/")), "must be the credential parameter's name (starting with /)");
        if (!support.isUnknown(news.secretArn) && !support.isUnknown(news.parameterName) && !news.secretArn === !news.parameterName) {
            failures.push({ property: "secretArn", reason: "set exactly one of secretArn (auto mode) or parameterName (manual mode): the retirement re-reads that store before every deactivate and delete" });
        }
        support.requireThat(failures, news, "overrideKeyId", (v) => v === undefined || v === "" || (typeof v === "string" && /^AKIA[A-Z0-9]{12,124}$/.test(v)), "must be the held access key id (AKIA...) or empty");
        return { inputs: news, failures };
    },

    async diff(_id: string, olds: RetirementGuardOutputs, news: RetirementGuardInputs) {
        const replaces = REPLACING_INPUTS.filter((k) => olds[k] !== news[k]);
        const inputChanged = replaces.length > 0 || IN_PLACE_INPUTS.some((k) => (olds[k] ?? "") !== (news[k] ?? ""));
        if (inputChanged || Object.values(news).some(support.isUnknown)) {
            return { changes: true, replaces: [...replaces], deleteBeforeReplace: false };
        }
        const records = await recordsOf(news, await connect(news));
        const now = new Date();
        const overridePending = !!news.overrideKeyId && records.some((r) => r.accessKeyId === news.overrideKeyId && r.phase === "held" && !r.overrideAt);
        // Due = a time-based step the last run scheduled (its nextStepAt) has come, or a record the last run did
        // not see. A record the last run left as it was without a next step (e.g. the replacement key is not
        // Active) is not due again by itself: otherwise every preview would show a change that `up` cannot make.
        const due = records.some((r) => {
            const last = (olds.retirements ?? []).find((p) => p.accessKeyId === r.accessKeyId);
            if (!last) return transitionDue(r, news.observationHours, now);
            return last.nextStepAt !== undefined && now.getTime() >= Date.parse(last.nextStepAt);
        });
        const changedSinceLastCheck = fingerprint(records) !== fingerprint(olds.retirements ?? []);
        return { changes: overridePending || due || changedSinceLastCheck, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs: RetirementGuardInputs) {
        return { id: `${inputs.iamUserName}-retirement`, outs: await guard(inputs) };
    },

    async update(_id: string, _olds: RetirementGuardOutputs, news: RetirementGuardInputs) {
        return { outs: await guard(news) };
    },

    async read(id: string, props?: RetirementGuardOutputs) {
        // Refresh: report the records as they are, without advancing anything.
        if (!props) return { id, props };
        const session = await connect(props);
        const records = await recordsOf(props, session);
        const keys = records.length ? await accessKeys.listAccessKeys(iamClient(session), props.iamUserName) : [];
        const held = records.filter((r) => r.phase === "held" && !r.overrideAt);
        return {
            id,
            props: support.plainJson({
                ...props,
                retirements: records.map(
                    (r): RetirementSummary => ({
                        ...(props.retirements ?? []).find((p) => p.accessKeyId === r.accessKeyId),
                        ...r,
                        keyStatus: keys.find((k) => k.accessKeyId === r.accessKeyId)?.status ?? "absent",
                    }),
                ),
                heldKeyIds: held.map((r) => r.accessKeyId),
                heldKeyId: held[0]?.accessKeyId,
                heldEvidence: held[0]?.evidence,
            }),
        };
    },

    async delete() {
        // The records belong to the IAM user (its tags) and go with it; the scheduled Lambda keeps advancing them.
    },
};

/**
 * Advances old-key retirements on every `pulumi up` and exposes held retirements as outputs; its
 * `overrideKeyId` input releases a hold. Type `pulumi-nodejs:dynamic/ses-rotator:RetirementGuard`.
 */
export class RetirementGuard extends pulumi.dynamic.Resource {
    /** keys whose retirement is held (a consumer used them after the switch) */
    declare public readonly heldKeyIds: pulumi.Output<string[]>;
    /** the first held key, if any */
    declare public readonly heldKeyId: pulumi.Output<string | undefined>;
    /** IAM's evidence for the first held key */
    declare public readonly heldEvidence: pulumi.Output<{ lastUsedDate: string; serviceName?: string; region?: string } | undefined>;
    /** retirements in progress */
    declare public readonly retirements: pulumi.Output<RetirementSummary[]>;
    /** what the last override request did */
    declare public readonly override: pulumi.Output<RetirementGuardOutputs["override"]>;
    /** retirement records the last check refused (inconsistent, or naming the key in use) */
    declare public readonly refused: pulumi.Output<RetirementGuardOutputs["refused"]>;
    /** when the state was last checked */
    declare public readonly checkedAt: pulumi.Output<string>;

    constructor(name: string, args: RetirementGuardArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            retirementGuardProvider,
            name,
            {
                ...args,
                heldKeyIds: undefined,
                heldKeyId: undefined,
                heldEvidence: undefined,
                retirements: undefined,
                retiredKeyIds: undefined,
                override: undefined,
                refused: undefined,
                checkedAt: undefined,
            },
            opts,
            "ses-rotator",
            "RetirementGuard",
        );
    }
}
