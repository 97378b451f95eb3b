/**
 * The program's stack configuration (namespace = project name, `ses-smtp-rotator`), read into component
 * arguments with the same validation the components use. Pure: it takes a raw getter (`pulumi.Config#get`
 * in the program, a plain map in tests). Keys are flat because Pulumi's project config schema types are
 * only string / integer / boolean / array (see Pulumi.yaml, which declares every key below).
 */
import { EmailServerFleetArgs, FleetSelector, RetirementArgs, SmtpCredentialRotatorArgs } from "./args";
import { validateManualOptions } from "./manual/options";
import { DEFAULT_ROTATE_AFTER_DAYS, RotatorSettings, validateFleetSelector, validateRotatorOptions, validateServerRoleNames } from "./settings";
import { configLabel, InputLabel, invalid, requireIdentifier } from "./validation";

export const CONFIG_NAMESPACE = "ses-smtp-rotator";

export type ConfigKeyType = "string" | "integer" | "boolean" | "array";

/** Every stack config key the program reads, with its Pulumi.yaml type. */
export const STACK_CONFIG_KEYS: Readonly<Record<string, ConfigKeyType>> = Object.freeze({
    businessUnit: "string",
    mode: "string",
    sesRegion: "string",
    sesIdentities: "array",
    sesConfigurationSet: "string",
    fleetTagKey: "string",
    fleetTagValue: "string",
    fleetSoftwareTagKey: "string",
    fleetTable: "string",
    serverRoleNames: "array",
    notifyEmails: "array",
    rotateAfterDays: "integer",
    scheduleExpression: "string",
    rotationWindow: "string",
    rotateImmediately: "boolean",
    kmsKeyArn: "string",
    smtpEndpoint: "string",
    allowNonSesSmtpEndpoint: "boolean",
    smtpPort: "integer",
    fleetDeadlineSeconds: "integer",
    retirementObservationHours: "integer",
    retirementGraceDays: "integer",
    retirementOverrideKeyId: "string",
    rotateNow: "string",
    logRetentionDays: "integer",
    manualScheduleExpression: "string",
    manualScheduleTimeZone: "string",
    manualScheduleEnabled: "boolean",
    manualReminderHours: "integer",
    manualConfirmationTimeoutDays: "integer",
    manualMaxConcurrency: "integer",
    manualPageSize: "integer",
    manualOwnerEmailTagKey: "string",
    manualSubscribeOwners: "boolean",
    manualParameterName: "string",
    protectCredential: "boolean",
    retainCredentialOnDelete: "boolean",
    renamedFrom: "string",
});

/**
 * Manual-mode options (components/manual/options.ts) → the stack config key that sets each: one grace period
 * for both modes (`retirementGraceDays`), the rest `manual<Option>` keys (ignored in auto mode, but still
 * validated so a typo fails before it matters). Options not listed keep the builder's defaults.
 */
const MANUAL_OPTION_KEYS: Record<string, string> = {
    graceDays: "retirementGraceDays",
    scheduleExpression: "manualScheduleExpression",
    scheduleTimeZone: "manualScheduleTimeZone",
    scheduleEnabled: "manualScheduleEnabled",
    reminderHours: "manualReminderHours",
    confirmationTimeoutDays: "manualConfirmationTimeoutDays",
    maxConcurrency: "manualMaxConcurrency",
    pageSize: "manualPageSize",
    ownerEmailTagKey: "manualOwnerEmailTagKey",
    subscribeOwners: "manualSubscribeOwners",
    parameterName: "manualParameterName",
};

/** Component-argument paths → the stack config key that carries them (for error messages). */
const ARG_TO_CONFIG_KEY: Record<string, string> = {
    "retirement.observationHours": "retirementObservationHours",
    "retirement.graceDays": "retirementGraceDays",
    "retirement.overrideKeyId": "retirementOverrideKeyId",
    "selector.tag.key": "fleetTagKey",
    "selector.tag.value": "fleetTagValue",
    "selector.tag.softwareTagKey": "fleetSoftwareTagKey",
    "selector.table.name": "fleetTable",
    "selector.table": "fleetTable",
    selector: "fleetTagKey",
};

/** Labels component-argument keys with the stack config key the user actually set. */
function stackLabel(namespace: string): InputLabel {
    const label = configLabel(namespace);
    return (key) => label(ARG_TO_CONFIG_KEY[key] ?? (key.startsWith("manual.") ? MANUAL_OPTION_KEYS[key.slice(7)] : undefined) ?? key);
}

/** Converts one raw (string) config value to its declared type; errors name the key. */
function typed(label: InputLabel, key: string, type: ConfigKeyType, raw: string | undefined): unknown {
    if (raw === undefined || raw === "") return undefined;
    switch (type) {
        case "string":
            return raw;
        case "integer":
            if (!/^-?\d+$/.test(raw.trim())) invalid(label, key, "must be an integer", raw);
            return Number(raw.trim());
        case "boolean":
            if (raw !== "true" && raw !== "false") invalid(label, key, "must be true or false", raw);
            return raw === "true";
        case "array": {
            let v: unknown;
            try {
                v = JSON.parse(raw);
            } catch {
                invalid(label, key, "must be a list", raw);
            }
            if (!Array.isArray(v)) invalid(label, key, "must be a list", raw);
            return v;
        }
    }
}

/** What the program builds from the stack config. */
export interface StackSettings {
    businessUnit: string;
    fleetArgs: EmailServerFleetArgs;
    /** rotator args without `fleet` (the program passes the fleet it built) */
    rotatorArgs: Omit<SmtpCredentialRotatorArgs, "fleet">;
    /** the validated rotator settings (defaults applied) */
    rotator: RotatorSettings;
    /** the business unit this stack's components were deployed under before a rename (aliases), if any */
    renamedFrom?: string;
}

/**
 * Reads and validates the stack config. `get(key)` returns the raw string Pulumi stores (JSON for arrays),
 * or undefined. Throws at the first bad key, naming it as `stack config "ses-smtp-rotator:<key>"`.
 */
export function readStackConfig(get: (key: string) => string | undefined, namespace = CONFIG_NAMESPACE): StackSettings {
    const label = stackLabel(namespace);
    const v: Record<string, any> = {};
    for (const [key, type] of Object.entries(STACK_CONFIG_KEYS)) v[key] = typed(label, key, type, get(key));

    if (v.businessUnit === undefined) invalid(label, "businessUnit", "is required (e.g. payments)");
    const businessUnit = requireIdentifier(label, "businessUnit", v.businessUnit);

    const byTag = v.fleetTagKey !== undefined || v.fleetTagValue !== undefined;
    if (byTag === (v.fleetTable !== undefined)) {
        invalid(label, "fleetTagKey", "or fleetTable must be set, not both: fleetTagKey + fleetTagValue select servers by tag, fleetTable is \"create\" or an existing table's name");
    }
    const selector: FleetSelector = byTag
        ? { tag: { key: v.fleetTagKey, value: v.fleetTagValue, ...(v.fleetSoftwareTagKey !== undefined ? { softwareTagKey: v.fleetSoftwareTagKey } : {}) } }
        : { table: v.fleetTable === "create" ? { create: true } : { name: v.fleetTable } };
    validateFleetSelector(label, selector);
    validateServerRoleNames(label, v.serverRoleNames);

    // Pulumi applies Pulumi.yaml's default (90) to rotateAfterDays, so "both set" means a non-default value.
    if (v.scheduleExpression !== undefined && v.rotateAfterDays === DEFAULT_ROTATE_AFTER_DAYS) delete v.rotateAfterDays;
    const rotatorArgs: Omit<SmtpCredentialRotatorArgs, "fleet"> = {
        mode: v.mode,
        businessUnit,
        sesRegion: v.sesRegion,
        sesIdentities: v.sesIdentities,
        sesConfigurationSet: v.sesConfigurationSet,
        notifyEmails: v.notifyEmails,
        rotateAfterDays: v.rotateAfterDays,
        scheduleExpression: v.scheduleExpression,
        rotationWindow: v.rotationWindow,
        rotateImmediately: v.rotateImmediately,
        kmsKeyArn: v.kmsKeyArn,
        smtpEndpoint: v.smtpEndpoint,
        allowNonSesSmtpEndpoint: v.allowNonSesSmtpEndpoint,
        smtpPort: v.smtpPort,
        fleetDeadlineSeconds: v.fleetDeadlineSeconds,
        rotateNow: v.rotateNow,
        retirement: { observationHours: v.retirementObservationHours, graceDays: v.retirementGraceDays, overrideKeyId: v.retirementOverrideKeyId },
        logRetentionDays: v.logRetentionDays,
        protectCredential: v.protectCredential,
        retainCredentialOnDelete: v.retainCredentialOnDelete,
    };
    for (const k of Object.keys(rotatorArgs.retirement!) as (keyof RetirementArgs)[]) if (rotatorArgs.retirement![k] === undefined) delete rotatorArgs.retirement![k];
    for (const k of Object.keys(rotatorArgs) as (keyof typeof rotatorArgs)[]) if (rotatorArgs[k] === undefined) delete rotatorArgs[k];
    const rotator = validateRotatorOptions(label, businessUnit, rotatorArgs);
    // The manual-mode keys, checked here so errors name the stack config key. Auto mode ignores them (and has
    // its own, wider grace-days range), but a bad value still fails.
    const manual: Record<string, unknown> = Object.fromEntries(
        Object.entries(MANUAL_OPTION_KEYS).filter(([, configKey]) => v[configKey] !== undefined).map(([option, configKey]) => [option, v[configKey]]),
    );
    if (rotator.mode === "manual") {
        validateManualOptions(label, manual, businessUnit);
        rotatorArgs.manual = manual;
    } else {
        const { graceDays: _autoGraceDays, ...manualOnly } = manual;
        validateManualOptions(label, manualOnly, businessUnit);
    }
    const renamedFrom = v.renamedFrom === undefined ? undefined : requireIdentifier(label, "renamedFrom", v.renamedFrom);
    return {
        ...(renamedFrom !== undefined && renamedFrom !== businessUnit ? { renamedFrom } : {}),
        businessUnit,
        fleetArgs: { selector, serverRoleNames: v.serverRoleNames ?? [], tags: { "ses-rotator:business-unit": businessUnit } },
        rotatorArgs,
        rotator,
    };
}
