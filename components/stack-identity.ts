/**
 * Which AWS identity the rotator's dynamic providers (BootstrapCredential, RetirementGuard, RotateNow) run
 * under: the same as the stack's aws provider. Pure: `resolveStackIdentity` takes what the component found
 * (its `awsIdentity` argument, the explicit aws provider's profile, the stack's `aws:*` config) and returns the
 * non-secret identity inputs; errors name the input.
 *
 * Order: `awsIdentity` fields win; then an explicit aws provider (`providers: { aws }` / `provider`) gives its
 * `profile` (its assume-role settings are not readable from the provider resource: pass them in
 * `awsIdentity`); then, with the default provider, stack config `aws:profile` and `aws:assumeRoles` (one role;
 * the legacy `aws:assumeRole` object too). Whatever the result, each provider checks before any call that the
 * caller is in the account the aws provider's `getCallerIdentity` reports, and fails naming both accounts.
 */
import { InputLabel, invalid } from "./validation";

/** The identity the rotator's dynamic providers use (names and ARNs only, never keys). */
export interface AwsIdentityArgs {
    /** Shared-config profile (`~/.aws/config` / `~/.aws/credentials`). Default: the stack's `aws:profile`. */
    profile?: string;
    /** IAM role to assume (with the profile's, or the default chain's, credentials). Default: the stack's `aws:assumeRoles` role. */
    roleArn?: string;
    /** External id for assuming `roleArn`. Default: the stack's `aws:assumeRoles` external id. */
    externalId?: string;
    /** Session name for assuming `roleArn`. Default: the stack's `aws:assumeRoles` session name, else `ses-smtp-rotator-pulumi`. */
    roleSessionName?: string;
}

/** What the component found about the stack's aws provider. */
export interface StackIdentitySources {
    /** the component's `awsIdentity` argument */
    explicit?: AwsIdentityArgs;
    /** true when the component was given an explicit aws provider */
    explicitProvider: boolean;
    /** stack config of the default aws provider: `aws:profile`, `aws:assumeRoles`, legacy `aws:assumeRole` */
    config: { profile?: string; assumeRoles?: unknown; assumeRole?: unknown };
}

const PATTERNS: Record<keyof AwsIdentityArgs, [RegExp, string]> = {
    profile: [/^[A-Za-z0-9_.@+=,:-]{1,128}$/, "must be a shared-config profile name"],
    roleArn: [/^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]{1,512}$/, "must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)"],
    externalId: [/^[A-Za-z0-9+=,.@:/_-]{2,1224}$/, "must be an STS external id (2-1224 characters)"],
    roleSessionName: [/^[A-Za-z0-9+=,.@_-]{2,64}$/, "must be an STS role session name (2-64 characters)"],
};

/** The single role of `aws:assumeRoles` (or legacy `aws:assumeRole`), camelCase keys as Pulumi stores them. */
function configRole(label: InputLabel, config: StackIdentitySources["config"]): AwsIdentityArgs {
    const roles = config.assumeRoles ?? (config.assumeRole !== undefined ? [config.assumeRole] : []);
    if (!Array.isArray(roles)) invalid(label, "aws:assumeRoles", "must be a list of roles", roles);
    if (roles.length === 0) return {};
    if (roles.length > 1) {
        invalid(label, "aws:assumeRoles", "has a chain of several roles: the rotator's providers assume one role; set the component's awsIdentity.roleArn (and profile) to an identity that reaches the stack's account directly");
    }
    const role = roles[0] as Record<string, unknown>;
    return {
        ...(typeof role?.roleArn === "string" && role.roleArn ? { roleArn: role.roleArn } : {}),
        ...(typeof role?.externalId === "string" && role.externalId ? { externalId: role.externalId } : {}),
        ...(typeof role?.sessionName === "string" && role.sessionName ? { roleSessionName: role.sessionName } : {}),
    };
}

/**
 * The identity inputs for the providers (profile / role from the explicit argument, else from the default
 * provider's stack config). The explicit provider's profile is added by the component (it is an Output).
 */
export function resolveStackIdentity(label: InputLabel, sources: StackIdentitySources): AwsIdentityArgs {
    const explicit = sources.explicit ?? {};
    for (const key of Object.keys(explicit) as (keyof AwsIdentityArgs)[]) {
        if (!(key in PATTERNS)) invalid(label, `awsIdentity.${key}`, "is not a known field (profile, roleArn, externalId, roleSessionName)");
        const v = explicit[key];
        if (v !== undefined && (typeof v !== "string" || !PATTERNS[key][0].test(v))) invalid(label, `awsIdentity.${key}`, PATTERNS[key][1], v);
    }
    if (explicit.externalId && !explicit.roleArn) invalid(label, "awsIdentity.externalId", "needs awsIdentity.roleArn");
    const fromConfig: AwsIdentityArgs = sources.explicitProvider
        ? {}
        : { ...(sources.config.profile ? { profile: sources.config.profile } : {}), ...configRole(label, sources.config) };
    const roleFields: (keyof AwsIdentityArgs)[] = ["roleArn", "externalId", "roleSessionName"];
    // A role given explicitly replaces the config's role as a whole (its external id belongs to the other role).
    const base = explicit.roleArn ? Object.fromEntries(Object.entries(fromConfig).filter(([k]) => !roleFields.includes(k as keyof AwsIdentityArgs))) : fromConfig;
    const out: AwsIdentityArgs = { ...base };
    for (const [k, v] of Object.entries(explicit)) if (v !== undefined) (out as Record<string, string>)[k] = v;
    return out;
}
