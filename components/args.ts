/**
 * The arguments of the two components, documented field by field (meaning, default, constraints).
 * Validation lives in `settings.ts`; the components live in `fleet.ts` and `rotator.ts`.
 */
import * as pulumi from "@pulumi/pulumi";
import { FleetTarget } from "../runtime/fleet-target";
import type { AwsIdentityArgs } from "./stack-identity";

/** Select servers by EC2/SSM tags (EC2 `i-...` and hybrid `mi-...` managed nodes alike). */
export interface TagFleetSelector {
    tag: {
        /** Tag key that marks the servers of this business unit, e.g. `SmtpFleet`. 1-128 chars, not `aws:...`. */
        key: string;
        /** Tag value to match, e.g. `payments`. 1-256 chars. */
        value: string;
        /**
         * Tag key whose value says which software the server runs: `postfix` or `iis`.
         * Default `SmtpSoftware`. Servers without it are not targeted.
         */
        softwareTagKey?: string;
    };
}

/**
 * Select servers listed in a DynamoDB table, one item per server:
 * `{ serverId (S, partition key, i-... or mi-...), hostname (S), software (S: postfix|iis), ownerEmail (S) }`.
 */
export interface TableFleetSelector {
    table:
        | {
              /** Create the table (partition key `serverId`, on-demand billing, point-in-time recovery on, autonamed). */
              create: true;
          }
        | {
              /** Use an existing table by name (must live in the stack's region and account). */
              name: string;
          };
}

/** How the fleet is selected: exactly one of `tag` or `table`. */
export type FleetSelector = TagFleetSelector | TableFleetSelector;

export interface EmailServerFleetArgs {
    /** Which servers form the fleet. Required. */
    selector: FleetSelector;
    /**
     * Names of the IAM roles the mail servers run with (EC2 instance profiles' roles, hybrid activation
     * roles). The rotator attaches to each one an inline policy that allows reading the current credential
     * (and decrypting it with the customer KMS key, if any). Default: none (attach `serverReadPolicy` yourself).
     */
    serverRoleNames?: pulumi.Input<string>[];
    /** Tags for the resources the fleet creates (the table). */
    tags?: Record<string, string>;
}

/** What a rotator needs from a fleet. `EmailServerFleet` implements it; so can anything else. */
export interface FleetBinding {
    /** the plain-JSON target the rotation runtime reads (env `FLEET_TARGET`) */
    readonly target: pulumi.Output<FleetTarget>;
    /** ARN of the fleet table (table selector only); the rotation gets `dynamodb:Scan` on it */
    readonly tableArn?: pulumi.Output<string>;
    /** roles that get the server read policy */
    readonly serverRoleNames: pulumi.Input<string>[];
}

export type RotationMode = "auto" | "manual";

/** Old-key retirement after all servers switched (shared by both modes, see runtime/retirement.ts). */
export interface RetirementArgs {
    /**
     * Hours the old key stays active after every server confirmed the new one, before IAM's last-used report
     * decides (IAM needs a few hours to report usage). 0..720, default 24.
     */
    observationHours?: number;
    /** Days between deactivating the old key and deleting it. 0..365, default 3 (manual mode: 0..90). */
    graceDays?: number;
    /**
     * Release a held retirement: the held old key's access key id (`AKIA...`, see the rotator's
     * `retirementHeldKeyId` output). The next `pulumi up` releases the hold and deactivates the key (deleted
     * after `graceDays`). Set it back to "" (or leave it) afterwards: releasing twice changes nothing. Default "".
     */
    overrideKeyId?: string;
}

/**
 * Manual-mode options (`mode: "manual"`), validated by `components/manual/options.ts` with errors naming
 * `manual.<key>`. Of each pair of alternatives (`graceDays`/`graceSeconds`, ...) give at most one.
 */
export interface ManualModeArgs {
    /** EventBridge Scheduler expression that starts CredentialRotation. Default `cron(0 0 L 1/3 ? *)` (last day of every third month). */
    scheduleExpression?: string;
    /** IANA time zone of the schedule and of the execution names' date (`password-rotation-dd-mm-yy`). Default `UTC`. */
    scheduleTimeZone?: string;
    /** false: no schedule (rotate on demand only, e.g. with `rotateNow`). Default true. */
    scheduleEnabled?: boolean;
    /** Days between deactivating the old key and deleting it, 0..90. Default: `retirement.graceDays` (3). */
    graceDays?: number;
    /** The same in seconds (alternative to `graceDays`). */
    graceSeconds?: number;
    /** Hours between reminders to an owner who has not confirmed, 1..720. Default 24. */
    reminderHours?: number;
    /** The same in seconds (alternative to `reminderHours`), 60..2592000. */
    reminderSeconds?: number;
    /** Days an owner has to confirm before the run fails (old key stays active). Default 14. */
    confirmationTimeoutDays?: number;
    /** The same in seconds (alternative to `confirmationTimeoutDays`). */
    confirmationTimeoutSeconds?: number;
    /** ManualConfirmation executions running at once, 1..40. Default 10. */
    maxConcurrency?: number;
    /** Servers read per ListServersPage call, 5..1000. Default 100. */
    pageSize?: number;
    /** Tag fleets: the instance tag holding the owner's e-mail address. Default `OwnerEmail`. */
    ownerEmailTagKey?: string;
    /** Subscribe owners to the owner-mail topic (filtered on their address) when first mailing them. Default true. */
    subscribeOwners?: boolean;
    /**
     * The SecureString parameter that holds the credential. Default `/ses-smtp/<businessUnit>/<stack>/<component
     * name>/credential` (unique per stack and component). The rotator creates it, tagged `ses-rotator:owner`, and
     * refuses a parameter that exists without its tag (someone else's). Changing it moves the live credential to the
     * new parameter on the next `pulumi up` (same key; the old parameter is deleted after the new one holds it).
     */
    parameterName?: string;
}

export interface SmtpCredentialRotatorArgs {
    /**
     * `auto` (default): Secrets Manager rotation with a Lambda that updates servers over SSM and proves the new
     * credential with SMTP AUTH. `manual`: Step Functions workflow with per-server human confirmation
     * (built by `components/manual/`).
     */
    mode?: RotationMode;
    /** Business unit (tags, descriptions). 1-40 lowercase letters, digits, `-`. Default: the component name if it fits. */
    businessUnit?: string;
    /** The SES region the SMTP password is derived for; may differ from the stack region. Required. */
    sesRegion: string;
    /**
     * SES identities the SMTP user may send as: domains, e-mail addresses, or identity ARNs. Names are turned
     * into `arn:<partition>:ses:<sesRegion>:<account>:identity/<name>`. At least one identity or a
     * configuration set is required.
     */
    sesIdentities?: string[];
    /** Restrict sending to one SES configuration set (name or ARN). Optional. */
    sesConfigurationSet?: string;
    /** The servers to update (an `EmailServerFleet`). Required. */
    fleet: FleetBinding;
    /** E-mail addresses subscribed to the alert topic (each must confirm the SNS subscription). Default none. */
    notifyEmails?: string[];
    /** Rotate every N days, 1..1000. Default 90. Not together with `scheduleExpression`. */
    rotateAfterDays?: number;
    /** Instead of `rotateAfterDays`: `rate(N days)`, `rate(N hours)` (N >= 4) or `cron(<6 fields>)`, UTC. */
    scheduleExpression?: string;
    /** Rotation window (Secrets Manager `Duration`), `1h`..`24h`. Default: the service default. */
    rotationWindow?: string;
    /**
     * Auto mode: also rotate once as soon as rotation is configured. Default false: the first `pulumi up`
     * already stores a valid first credential (`BootstrapCredential`) that servers can fetch; push a credential
     * to the fleet with `rotateNow` (or wait for the schedule). true makes a second key at once and pushes it.
     */
    rotateImmediately?: boolean;
    /**
     * Rotate now: changing this value makes the next `pulumi up` start a rotation (auto: `RotateSecret`;
     * manual: a CredentialRotation execution). Unchanged = nothing happens; the first deploy records it as a
     * baseline. 1-64 letters, digits or `. _ : -` (e.g. today's date). Default "".
     */
    rotateNow?: string;
    /**
     * Customer managed KMS key ARN for the credential (secret / SecureString). Honoured by every writer and
     * reader; the servers' read policy gets `kms:Decrypt` on it through that service only. Default: AWS managed key.
     */
    kmsKeyArn?: string;
    /**
     * SMTP endpoint to test the credential against (every rotation sends the new password there). Default
     * `email-smtp.<sesRegion>.amazonaws.com`. Must be an SES SMTP endpoint of `sesRegion`:
     * `email-smtp[-fips].<sesRegion>.amazonaws.com[.cn]` or an email-smtp VPC endpoint name
     * (`vpce-<id>-<suffix>.email-smtp.<sesRegion>.vpce.amazonaws.com`), unless `allowNonSesSmtpEndpoint` is true.
     */
    smtpEndpoint?: string;
    /**
     * Opt-in: let `smtpEndpoint` name a host that is not an SES SMTP endpoint (a relay of your own, a test
     * endpoint). The new SMTP password is sent to that host at every rotation. Default false.
     */
    allowNonSesSmtpEndpoint?: boolean;
    /** 587 (STARTTLS, default) or 465 (implicit TLS). */
    smtpPort?: 587 | 465;
    /** Auto mode: how long the server update step may wait for the fleet, seconds, 60..780 (Lambda limit 900). Default 600. */
    fleetDeadlineSeconds?: number;
    /** Old-key retirement timing. */
    retirement?: RetirementArgs;
    /** Retention of the rotation function's log group, days. Default 90. */
    logRetentionDays?: number;
    /** Manual mode options, passed unchanged to `components/manual/` (ignored in auto mode). */
    manual?: ManualModeArgs;
    /**
     * Tags for every taggable resource the rotator creates. The SMTP IAM user gets them at creation only (its tags
     * also hold the retirement records, which an update must not remove after a `pulumi refresh`).
     */
    tags?: Record<string, string>;
    /**
     * The AWS identity the rotator's own providers (first credential, rotate-now, retirement guard) use, names
     * and ARNs only. Default: the stack's `aws:profile` and `aws:assumeRoles` (one role), or, with an explicit aws
     * provider (`providers: { aws }`), that provider's `profile` (give its role here: a provider's assume-role
     * settings cannot be read back). Every provider call first checks that this identity is in the account the
     * aws provider deploys into, and fails naming both accounts otherwise.
     */
    awsIdentity?: AwsIdentityArgs;
    /**
     * Protect what holds the servers' credential (the SMTP IAM user, the secret, the first credential) with
     * Pulumi's `protect`: a rename, replacement or destroy that would delete them fails instead. Stack config
     * `protectCredential`. Default false.
     */
    protectCredential?: boolean;
    /**
     * Keep the SMTP IAM user (and its keys), the secret and the first credential in AWS when Pulumi deletes them
     * (`retainOnDelete`): a destroy or rename leaves the servers' credential working until you remove it by hand
     * (README runbook). Stack config `retainCredentialOnDelete`. Default false.
     */
    retainCredentialOnDelete?: boolean;
}
