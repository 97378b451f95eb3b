/**
 * Manual-mode options (`SmtpCredentialRotatorArgs.manual`), validated with errors naming `manual.<key>`.
 * Pure: no Pulumi import.
 */
import { InputLabel, integerInRange, invalid, oneOf, requireScheduleExpression, requireString, requireTagKey } from "../validation";
import {
    DEFAULT_CONFIRMATION_TIMEOUT_SECONDS,
    DEFAULT_GRACE_SECONDS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_OBSERVATION_SECONDS,
    DEFAULT_REMINDER_SECONDS,
    MAX_EXECUTION_SECONDS,
    REPORT_MARGIN_SECONDS,
} from "./definitions";

/** Last day of every third month, midnight (EventBridge Scheduler cron: min hour day-of-month month day-of-week year). */
export const DEFAULT_MANUAL_SCHEDULE = "cron(0 0 L 1/3 ? *)";

export interface ManualOptions {
    /** EventBridge Scheduler expression for CredentialRotation; default `cron(0 0 L 1/3 ? *)` */
    scheduleExpression: string;
    /** IANA time zone of the schedule and of the execution names' date; default UTC */
    scheduleTimeZone: string;
    /** set false to create no schedule (on-demand runs only) */
    scheduleEnabled: boolean;
    /** seconds between deactivating and deleting the old key; default 3 days (`graceDays` or `graceSeconds`) */
    graceSeconds: number;
    /**
     * seconds the old key stays Active after every server confirmed, before IAM's last-use report decides
     * (`observationHours` or `observationSeconds`); default: the rotator's `retirement.observationHours`
     * (stack config `retirementObservationHours`), else 24 h
     */
    observationSeconds: number;
    /** seconds between reminders; default 1 day (`reminderHours` or `reminderSeconds`) */
    reminderSeconds: number;
    /** seconds an owner has to confirm; default 14 days (`confirmationTimeoutDays` or `confirmationTimeoutSeconds`) */
    confirmationTimeoutSeconds: number;
    /** ManualConfirmation executions at once; default 10 */
    maxConcurrency: number;
    /** servers per ListServersPage call; default 100 */
    pageSize: number;
    /** tag fleets: the instance tag with the owner's e-mail; default OwnerEmail */
    ownerEmailTagKey: string;
    /** subscribe owners to the owner-mail topic (filtered on their address) when first mailing them; default true */
    subscribeOwners: boolean;
    /** the SecureString parameter; default /ses-smtp/<businessUnit>/credential */
    parameterName: string;
}

const KNOWN = [
    "scheduleExpression",
    "scheduleTimeZone",
    "scheduleEnabled",
    "graceDays",
    "graceSeconds",
    "observationHours",
    "observationSeconds",
    "reminderHours",
    "reminderSeconds",
    "confirmationTimeoutDays",
    "confirmationTimeoutSeconds",
    "maxConcurrency",
    "pageSize",
    "ownerEmailTagKey",
    "subscribeOwners",
    "parameterName",
];

function oneOfUnits(label: InputLabel, raw: Record<string, unknown>, big: string, unit: number, small: string, min: number, max: number, fallback: number): number {
    if (raw[big] !== undefined && raw[small] !== undefined) invalid(label, `manual.${big}`, `and manual.${small} are alternatives: give one`);
    if (raw[small] !== undefined) return integerInRange(label, `manual.${small}`, raw[small], min, max, fallback);
    if (raw[big] !== undefined) return integerInRange(label, `manual.${big}`, raw[big], Math.ceil(min / unit), Math.floor(max / unit), 0) * unit;
    return fallback;
}

function bool(label: InputLabel, key: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") invalid(label, key, "must be true or false", value);
    return value;
}

/**
 * Validates `args.manual`; `businessUnit` names the default parameter; `defaultObservationSeconds` (the
 * rotator's `retirement.observationHours` in seconds) applies when neither observation option is given.
 */
export function validateManualOptions(label: InputLabel, raw: object | undefined, businessUnit: string, defaultObservationSeconds = DEFAULT_OBSERVATION_SECONDS): ManualOptions {
    const o = (raw ?? {}) as Record<string, unknown>;
    if (typeof o !== "object" || Array.isArray(o)) invalid(label, "manual", "must be an object", o);
    for (const key of Object.keys(o)) if (!KNOWN.includes(key)) invalid(label, `manual.${key}`, `is not a manual-mode option (known: ${KNOWN.join(", ")})`);
    const timeZone = o.scheduleTimeZone === undefined ? "UTC" : requireString(label, "manual.scheduleTimeZone", o.scheduleTimeZone);
    try {
        new Intl.DateTimeFormat("en-GB", { timeZone });
    } catch {
        invalid(label, "manual.scheduleTimeZone", "is not an IANA time zone (e.g. Europe/Berlin)", timeZone);
    }
    const timeout = oneOfUnits(label, o, "confirmationTimeoutDays", 86400, "confirmationTimeoutSeconds", 60, MAX_EXECUTION_SECONDS - REPORT_MARGIN_SECONDS - 90 * 86400, DEFAULT_CONFIRMATION_TIMEOUT_SECONDS);
    const parameterName = o.parameterName === undefined ? `/ses-smtp/${businessUnit}/credential` : requireString(label, "manual.parameterName", o.parameterName);
    if (!/^\/[A-Za-z0-9_.\-/]{1,1010}$/.test(parameterName)) invalid(label, "manual.parameterName", "must be a Parameter Store path starting with / (letters, digits, _ . - /)", parameterName);
    if (/^\/(aws|ssm)/i.test(parameterName)) invalid(label, "manual.parameterName", "must not start with /aws or /ssm (reserved)", parameterName);
    const ownerEmailTagKey = o.ownerEmailTagKey === undefined ? "OwnerEmail" : requireTagKey(label, "manual.ownerEmailTagKey", o.ownerEmailTagKey);
    return {
        scheduleExpression: o.scheduleExpression === undefined ? DEFAULT_MANUAL_SCHEDULE : requireScheduleExpression(label, "manual.scheduleExpression", o.scheduleExpression),
        scheduleTimeZone: timeZone,
        scheduleEnabled: bool(label, "manual.scheduleEnabled", o.scheduleEnabled, true),
        graceSeconds: oneOfUnits(label, o, "graceDays", 86400, "graceSeconds", 0, 90 * 86400, DEFAULT_GRACE_SECONDS),
        observationSeconds: oneOfUnits(label, o, "observationHours", 3600, "observationSeconds", 0, 90 * 86400, defaultObservationSeconds),
        reminderSeconds: oneOfUnits(label, o, "reminderHours", 3600, "reminderSeconds", 60, 30 * 86400, DEFAULT_REMINDER_SECONDS),
        confirmationTimeoutSeconds: timeout,
        maxConcurrency: integerInRange(label, "manual.maxConcurrency", o.maxConcurrency, 1, 40, DEFAULT_MAX_CONCURRENCY),
        pageSize: integerInRange(label, "manual.pageSize", o.pageSize, 5, 1000, 100),
        ownerEmailTagKey,
        subscribeOwners: bool(label, "manual.subscribeOwners", o.subscribeOwners, true),
        parameterName: oneOf(label, "manual.parameterName", parameterName, [parameterName]),
    };
}
