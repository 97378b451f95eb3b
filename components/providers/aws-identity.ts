/**
 * The AWS identity the dynamic providers run under: the stack's, not the shell's.
 *
 * A dynamic provider runs inside the Pulumi program's process, where an SDK client built with the region only
 * takes the shell's default credential chain, whatever the stack's `aws:profile`, `aws:assumeRoles` or an
 * explicit `providers: { aws }` say. So each provider takes the identity as plain (non-secret) inputs, kept
 * in its state so delete and refresh use the same identity, builds its clients with the SDK's credential
 * providers (`fromIni`, `fromTemporaryCredentials`), and before any other call checks with STS
 * `GetCallerIdentity` that the caller is in the account the stack deploys into (`accountId`, from the aws
 * provider's `getCallerIdentity`).
 *
 * Closure-serialized with the providers: SDK modules are required inside the functions. No `@pulumi` import.
 */

/** The identity inputs every provider takes (references only: a profile name, a role ARN, an account id). */
export interface AwsIdentityInputs {
    /** shared-config profile whose credentials the provider uses (default: the default credential chain) */
    awsProfile?: string;
    /** role the provider assumes (with the profile's, or the default chain's, credentials) */
    awsRoleArn?: string;
    /** external id for assuming `awsRoleArn` */
    awsExternalId?: string;
    /** session name for assuming `awsRoleArn` (default `ses-smtp-rotator-pulumi`) */
    awsRoleSessionName?: string;
    /** the account the stack deploys into; every call is refused when the caller is in another account */
    accountId?: string;
}

/** The identity fields, in one list (diffs, state, tests). */
export const IDENTITY_INPUTS = ["awsProfile", "awsRoleArn", "awsExternalId", "awsRoleSessionName", "accountId"] as const;

/** SDK client configuration for one provider operation: the region and, when set, the identity's credentials. */
export interface AwsSession {
    region: string;
    credentials?: () => Promise<unknown>;
    /** for error messages: how the credentials are obtained */
    describe: string;
}

/**
 * One session for one provider operation: every client of the operation shares the credentials (one
 * AssumeRole per operation, not one per client). Without profile and role: the default chain.
 */
export function awsSession(region: string, id: AwsIdentityInputs): AwsSession {
    const describe = describeIdentity(id);
    if (!id.awsProfile && !id.awsRoleArn) return { region, describe };
    const providers = require("@aws-sdk/credential-providers");
    const base = id.awsProfile ? providers.fromIni({ profile: id.awsProfile }) : undefined;
    const source = id.awsRoleArn
        ? providers.fromTemporaryCredentials({
              params: {
                  RoleArn: id.awsRoleArn,
                  RoleSessionName: id.awsRoleSessionName || "ses-smtp-rotator-pulumi",
                  ...(id.awsExternalId ? { ExternalId: id.awsExternalId } : {}),
              },
              ...(base ? { masterCredentials: base } : {}),
              clientConfig: { region },
          })
        : base;
    let pending: Promise<unknown> | undefined;
    // One operation lasts minutes, far less than the credentials' lifetime: fetch once, reuse.
    const credentials = () => (pending ??= Promise.resolve(source()).catch((e: unknown) => {
        pending = undefined;
        throw new Error(`could not obtain AWS credentials (${describe}): ${(e as Error)?.message ?? e}`);
    }));
    return { region, credentials, describe };
}

/** The client config object for `new XClient(...)`. */
export function clientConfig(session: AwsSession): { region: string; credentials?: () => Promise<unknown> } {
    return session.credentials ? { region: session.region, credentials: session.credentials } : { region: session.region };
}

/** How the identity is obtained, for messages (no secrets: names only). */
export function describeIdentity(id: AwsIdentityInputs): string {
    const parts: string[] = [];
    if (id.awsProfile) parts.push(`profile "${id.awsProfile}"`);
    if (id.awsRoleArn) parts.push(`role ${id.awsRoleArn}${id.awsExternalId ? " with an external id" : ""}`);
    return parts.length ? parts.join(" assuming ") : "the default credential chain of the process running pulumi";
}

/**
 * Checks that the session's caller is in `id.accountId` (skipped when no account is given: state written
 * before the identity inputs existed). Throws an error naming both accounts and what to set.
 */
export async function verifyAccount(session: AwsSession, id: AwsIdentityInputs, resource: string): Promise<void> {
    if (!id.accountId) return;
    const sts = require("@aws-sdk/client-sts");
    let account: string | undefined;
    try {
        const out = await new sts.STSClient(clientConfig(session)).send(new sts.GetCallerIdentityCommand({}));
        account = out.Account;
    } catch (e) {
        throw new Error(`${resource}: could not check the AWS account of ${session.describe}: ${(e as Error)?.message ?? e}`);
    }
    if (account !== id.accountId) {
        throw new Error(
            `${resource}: the AWS credentials it runs with (${session.describe}) belong to account ${account}, but the stack ` +
                `deploys into account ${id.accountId} (the aws provider's getCallerIdentity). Nothing was changed. Point ` +
                `the rotator at the stack's identity: stack config aws:profile / aws:assumeRoles, or the component's ` +
                `awsIdentity argument (profile, roleArn, externalId) when you pass an explicit aws provider.`,
        );
    }
}

/** A session for the inputs, checked against the stack's account: call first in every provider operation. */
export async function connect(region: string, id: AwsIdentityInputs, resource: string): Promise<AwsSession> {
    const session = awsSession(region, id);
    await verifyAccount(session, id, resource);
    return session;
}

/** The identity fields of a provider's inputs or state (plain JSON, no undefined members). */
export function identityOf(inputs: AwsIdentityInputs): AwsIdentityInputs {
    const out: Record<string, string> = {};
    for (const k of IDENTITY_INPUTS) if (typeof inputs[k] === "string" && inputs[k] !== "") out[k] = inputs[k] as string;
    return out;
}

/** `check` rules for the identity inputs (failures name the input). */
export function identityFailures(news: AwsIdentityInputs, isUnknown: (v: unknown) => boolean): { property: string; reason: string }[] {
    const rules: [keyof AwsIdentityInputs, RegExp, string][] = [
        ["awsProfile", /^[A-Za-z0-9_.@+=,:-]{1,128}$/, "must be a shared-config profile name"],
        ["awsRoleArn", /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/, "must be an IAM role ARN"],
        ["awsExternalId", /^[A-Za-z0-9+=,.@:/_-]{2,1224}$/, "must be an STS external id (2-1224 characters)"],
        ["awsRoleSessionName", /^[A-Za-z0-9+=,.@_-]{2,64}$/, "must be an STS role session name"],
        ["accountId", /^\d{12}$/, "must be a 12-digit AWS account id"],
    ];
    const failures: { property: string; reason: string }[] = [];
    for (const [property, pattern, reason] of rules) {
        const v = news?.[property];
        if (v === undefined || v === "" || isUnknown(v)) continue;
        if (typeof v !== "string" || !pattern.test(v)) failures.push({ property, reason: `${property}: ${reason} (got ${JSON.stringify(v)})` });
    }
    if (news?.awsExternalId && !news.awsRoleArn) failures.push({ property: "awsExternalId", reason: "awsExternalId: is only used with awsRoleArn" });
    return failures;
}
