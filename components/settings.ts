/**
 * Validates component arguments into normalized settings (defaults applied). Pure: no Pulumi calls, so
 * the same checks run for library users (args) and for the program (stack config, see `config.ts`).
 */
import { FleetTarget } from "../runtime/fleet-target";
import { EmailServerFleetArgs, FleetSelector, RotationMode, SmtpCredentialRotatorArgs } from "./args";
import {
    InputLabel,
    integerInRange,
    invalid,
    oneOf,
    requireEmail,
    requireSmtpEndpoint,
    requireIdentifier,
    requireAccessKeyId,
    requireKmsKeyArn,
    requireRegion,
    requireRoleName,
    requireRotateNowTrigger,
    requireRotationWindow,
    requireScheduleExpression,
    requireSesConfigurationSet,
    requireSesIdentity,
    requireTableName,
    requireTagKey,
    requireTagValue,
    requireWindowFitsSchedule,
    stringList,
} from "./validation";

export const DEFAULT_ROTATE_AFTER_DAYS = 90;
export const DEFAULT_SOFTWARE_TAG_KEY = "SmtpSoftware";
export const DEFAULT_FLEET_DEADLINE_SECONDS = 600;
/** The rotation Lambda's timeout; the fleet deadline must stay well inside it. */
export const ROTATION_LAMBDA_TIMEOUT_SECONDS = 900;
export const MAX_FLEET_DEADLINE_SECONDS = 780;
export const DEFAULT_OBSERVATION_HOURS = 24;
export const DEFAULT_GRACE_DAYS = 3;
export const DEFAULT_LOG_RETENTION_DAYS = 90;
/** The retention values CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

/** The fleet selector, validated. `table.create` or `table.name`, never both. */
export type FleetSettings =
    | { kind: "tag"; tagKey: string; tagValue: string; softwareTagKey: string }
    | { kind: "table"; create: true }
    | { kind: "table"; create: false; tableName: string };

export function validateFleetSelector(label: InputLabel, selector: FleetSelector | undefined): FleetSettings {
    const s = selector as any;
    if (!s || typeof s !== "object") invalid(label, "selector", "is required: { tag: {...} } or { table: {...} }", selector);
    const kinds = ["tag", "table"].filter((k) => s[k] !== undefined);
    if (kinds.length !== 1) invalid(label, "selector", "must have exactly one of `tag` or `table`", selector);
    if (s.tag !== undefined) {
        const t = s.tag;
        if (!t || typeof t !== "object") invalid(label, "selector.tag", "must be { key, value, softwareTagKey? }", t);
        const tagKey = requireTagKey(label, "selector.tag.key", t.key);
        const tagValue = requireTagValue(label, "selector.tag.value", t.value);
        const softwareTagKey = t.softwareTagKey === undefined ? DEFAULT_SOFTWARE_TAG_KEY : requireTagKey(label, "selector.tag.softwareTagKey", t.softwareTagKey);
        if (softwareTagKey === tagKey) invalid(label, "selector.tag.softwareTagKey", "must differ from selector.tag.key", softwareTagKey);
        return { kind: "tag", tagKey, tagValue, softwareTagKey };
    }
    const t = s.table;
    if (!t || typeof t !== "object" || (t.create === undefined) === (t.name === undefined)) {
        invalid(label, "selector.table", "must be { create: true } or { name: \"<existing table>\" }", t);
    }
    if (t.create !== undefined) {
        if (t.create !== true) invalid(label, "selector.table.create", "must be true (or give selector.table.name)", t.create);
        return { kind: "table", create: true };
    }
    return { kind: "table", create: false, tableName: requireTableName(label, "selector.table.name", t.name) };
}

/** Fleet target JSON for a validated selector (the created table's name is known only after deployment). */
export function fleetTargetFor(settings: FleetSettings, createdTableName?: string): FleetTarget {
    if (settings.kind === "tag") {
        return { kind: "tag", tagKey: settings.tagKey, tagValue: settings.tagValue, softwareTagKey: settings.softwareTagKey };
    }
    const tableName = settings.create ? createdTableName : settings.tableName;
    if (!tableName) throw new Error("fleetTargetFor: the created table's name is required");
    return { kind: "table", tableName };
}

export function validateFleetArgs(label: InputLabel, args: EmailServerFleetArgs | undefined): FleetSettings {
    if (!args || typeof args !== "object") invalid(label, "selector", "is required (args missing)", args);
    validateServerRoleNames(label, args.serverRoleNames);
    return validateFleetSelector(label, args.selector);
}

/** Plain role names are checked now; names that are Outputs are checked by IAM at deployment. */
export function validateServerRoleNames(label: InputLabel, names: unknown): void {
    if (names === undefined) return;
    if (!Array.isArray(names)) invalid(label, "serverRoleNames", "must be a list of IAM role names", names);
    names.forEach((n, i) => {
        if (typeof n === "string" || n === null || typeof n !== "object") requireRoleName(label, `serverRoleNames[${i}]`, n);
    });
}

/** How rotation is scheduled (Secrets Manager rotation rules for auto mode). */
export interface ScheduleSettings {
    /** always a schedule expression: `rotateAfterDays: N` becomes `rate(N days)` so a window can apply to both */
    scheduleExpression: string;
    /** `Nh`, or undefined for the service default */
    window?: string;
}

/** Normalized rotator settings. */
export interface RotatorSettings {
    mode: RotationMode;
    businessUnit: string;
    sesRegion: string;
    sesIdentities: string[];
    sesConfigurationSet?: string;
    notifyEmails: string[];
    schedule: ScheduleSettings;
    rotateImmediately: boolean;
    /** the RotateNow trigger ("" = none yet; changing it starts a rotation) */
    rotateNow: string;
    kmsKeyArn?: string;
    smtpEndpoint?: string;
    /** true: `smtpEndpoint` may be any host (the opt-in); false: only an SES SMTP endpoint of `sesRegion` */
    allowNonSesSmtpEndpoint: boolean;
    smtpPort: 587 | 465;
    fleetDeadlineSeconds: number;
    /** `overrideKeyId` "" = no override requested */
    retirement: { observationHours: number; graceDays: number; overrideKeyId: string };
    logRetentionDays: number;
}

export function validateSchedule(label: InputLabel, rotateAfterDays: unknown, scheduleExpression: unknown, rotationWindow: unknown): ScheduleSettings {
    if (rotateAfterDays !== undefined && scheduleExpression !== undefined) {
        invalid(label, "scheduleExpression", "cannot be combined with rotateAfterDays: give one of them");
    }
    const window = rotationWindow === undefined ? undefined : requireRotationWindow(label, "rotationWindow", rotationWindow);
    if (scheduleExpression !== undefined) {
        const expression = requireScheduleExpression(label, "scheduleExpression", scheduleExpression);
        if (window !== undefined) requireWindowFitsSchedule(label, "rotationWindow", window, expression);
        return { scheduleExpression: expression, window };
    }
    const days = integerInRange(label, "rotateAfterDays", rotateAfterDays, 1, 1000, DEFAULT_ROTATE_AFTER_DAYS);
    return { scheduleExpression: `rate(${days} ${days === 1 ? "day" : "days"})`, window };
}

/** Validates every rotator argument, the fleet included; the first bad one throws an error naming it. */
export function validateRotatorArgs(label: InputLabel, name: string, args: SmtpCredentialRotatorArgs | undefined): RotatorSettings {
    const settings = validateRotatorOptions(label, name, args);
    const fleet = (args as any).fleet;
    if (!fleet || typeof fleet !== "object" || !fleet.target) invalid(label, "fleet", "is required: an EmailServerFleet (or { target, serverRoleNames })");
    validateServerRoleNames(label, fleet.serverRoleNames);
    return settings;
}

/** Validates every rotator argument except `fleet` (the stack config validates its fleet keys itself). */
export function validateRotatorOptions(label: InputLabel, name: string, args: Omit<SmtpCredentialRotatorArgs, "fleet"> | undefined): RotatorSettings {
    if (!args || typeof args !== "object") invalid(label, "sesRegion", "is required (args missing)", args);
    const mode = oneOf<RotationMode>(label, "mode", args.mode, ["auto", "manual"], "auto");
    const businessUnit =
        args.businessUnit !== undefined
            ? requireIdentifier(label, "businessUnit", args.businessUnit)
            : /^[a-z][a-z0-9-]{0,39}$/.test(name)
              ? name
              : invalid(label, "businessUnit", `is required when the component name ${JSON.stringify(name)} is not a valid business unit id (1-40 of a-z, 0-9, -)`);
    const sesRegion = requireRegion(label, "sesRegion", args.sesRegion);
    const sesIdentities = stringList(label, "sesIdentities", args.sesIdentities).map((v, i) => requireSesIdentity(label, `sesIdentities[${i}]`, v));
    const sesConfigurationSet =
        args.sesConfigurationSet === undefined ? undefined : requireSesConfigurationSet(label, "sesConfigurationSet", args.sesConfigurationSet);
    if (sesIdentities.length === 0 && !sesConfigurationSet) {
        invalid(label, "sesIdentities", "must list at least one SES identity (or give sesConfigurationSet)", args.sesIdentities);
    }
    const notifyEmails = stringList(label, "notifyEmails", args.notifyEmails).map((v, i) => requireEmail(label, `notifyEmails[${i}]`, v));
    const schedule = validateSchedule(label, args.rotateAfterDays, args.scheduleExpression, args.rotationWindow);
    if (args.rotateImmediately !== undefined && typeof args.rotateImmediately !== "boolean") {
        invalid(label, "rotateImmediately", "must be true or false", args.rotateImmediately);
    }
    const kmsKeyArn = args.kmsKeyArn === undefined ? undefined : requireKmsKeyArn(label, "kmsKeyArn", args.kmsKeyArn);
    if (args.allowNonSesSmtpEndpoint !== undefined && typeof args.allowNonSesSmtpEndpoint !== "boolean") {
        invalid(label, "allowNonSesSmtpEndpoint", "must be true or false", args.allowNonSesSmtpEndpoint);
    }
    const allowNonSesSmtpEndpoint = args.allowNonSesSmtpEndpoint ?? false;
    const smtpEndpoint =
        args.smtpEndpoint === undefined ? undefined : requireSmtpEndpoint(label, "smtpEndpoint", args.smtpEndpoint, sesRegion, allowNonSesSmtpEndpoint, "allowNonSesSmtpEndpoint");
    const smtpPort = oneOf<587 | 465>(label, "smtpPort", args.smtpPort, [587, 465], 587);
    const fleetDeadlineSeconds = integerInRange(label, "fleetDeadlineSeconds", args.fleetDeadlineSeconds, 60, MAX_FLEET_DEADLINE_SECONDS, DEFAULT_FLEET_DEADLINE_SECONDS);
    const r = args.retirement ?? {};
    if (typeof r !== "object") invalid(label, "retirement", "must be { observationHours?, graceDays?, overrideKeyId? }", r);
    const retirement = {
        observationHours: integerInRange(label, "retirement.observationHours", r.observationHours, 0, 720, DEFAULT_OBSERVATION_HOURS),
        graceDays: integerInRange(label, "retirement.graceDays", r.graceDays, 0, 365, DEFAULT_GRACE_DAYS),
        overrideKeyId: r.overrideKeyId === undefined || r.overrideKeyId === "" ? "" : requireAccessKeyId(label, "retirement.overrideKeyId", r.overrideKeyId),
    };
    const rotateNow = args.rotateNow === undefined || args.rotateNow === "" ? "" : requireRotateNowTrigger(label, "rotateNow", args.rotateNow);
    const logRetentionDays = oneOf<number>(label, "logRetentionDays", args.logRetentionDays, LOG_RETENTION_DAYS, DEFAULT_LOG_RETENTION_DAYS);
    return {
        mode,
        businessUnit,
        sesRegion,
        sesIdentities,
        sesConfigurationSet,
        notifyEmails,
        schedule,
        rotateImmediately: args.rotateImmediately ?? false,
        rotateNow,
        kmsKeyArn,
        smtpEndpoint,
        allowNonSesSmtpEndpoint,
        smtpPort,
        fleetDeadlineSeconds,
        retirement,
        logRetentionDays,
    };
}
