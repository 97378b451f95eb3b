/**
 * Configuration validation (pure): every invalid component argument or stack config value fails with an
 * error naming the key; Pulumi.yaml declares exactly the keys the program reads, with the code's defaults;
 * Pulumi.prod.yaml is a valid business unit.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
// js-yaml (a mocha dependency) ships no types; only `load` is used.
const yaml: { load(text: string): unknown } = require("js-yaml");
import { SmtpCredentialRotatorArgs } from "../components/args";
import { CONFIG_NAMESPACE, readStackConfig, STACK_CONFIG_KEYS } from "../components/config";
import {
    DEFAULT_FLEET_DEADLINE_SECONDS,
    DEFAULT_GRACE_DAYS,
    DEFAULT_LOG_RETENTION_DAYS,
    DEFAULT_OBSERVATION_HOURS,
    DEFAULT_ROTATE_AFTER_DAYS,
    DEFAULT_SOFTWARE_TAG_KEY,
    validateFleetArgs,
    validateRotatorArgs,
} from "../components/settings";
import { validateManualOptions } from "../components/manual/options";
import { argsLabel } from "../components/validation";

const ROOT = path.join(__dirname, "..");
const label = argsLabel("SmtpCredentialRotator", "payments");
const fleet = { target: {} as any, serverRoleNames: [] };
const base: SmtpCredentialRotatorArgs = { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet };
const validate = (over: Partial<SmtpCredentialRotatorArgs> & Record<string, unknown>) => validateRotatorArgs(label, "payments", { ...base, ...over } as any);

/** Asserts the call throws and the message starts with the label of `key`. */
function rejectsKey(fn: () => unknown, key: string, prefix = `SmtpCredentialRotator "payments": args.${key} `): void {
    assert.throws(fn, (e: Error) => {
        assert.ok(e.message.startsWith(prefix), `expected the error to name ${key}, got: ${e.message}`);
        return true;
    });
}

describe("configuration validation", () => {
    describe("SmtpCredentialRotator args", () => {
        it("applies the documented defaults", () => {
            const s = validate({});
            assert.strictEqual(s.mode, "auto");
            assert.strictEqual(s.businessUnit, "payments");
            assert.deepStrictEqual(s.schedule, { scheduleExpression: `rate(${DEFAULT_ROTATE_AFTER_DAYS} days)`, window: undefined });
            assert.strictEqual(s.smtpPort, 587);
            assert.strictEqual(s.rotateImmediately, false, "the first credential exists after pulumi up: no immediate second key");
            assert.strictEqual(s.rotateNow, "");
            assert.strictEqual(s.fleetDeadlineSeconds, DEFAULT_FLEET_DEADLINE_SECONDS);
            assert.deepStrictEqual(s.retirement, { observationHours: DEFAULT_OBSERVATION_HOURS, graceDays: DEFAULT_GRACE_DAYS, overrideKeyId: "" });
            assert.strictEqual(s.logRetentionDays, DEFAULT_LOG_RETENTION_DAYS);
        });

        it("accepts schedules, windows, ports, keys and identities in every documented form", () => {
            assert.strictEqual(validate({ rotateAfterDays: 1 }).schedule.scheduleExpression, "rate(1 day)");
            assert.strictEqual(validate({ rotateAfterDays: 1000 }).schedule.scheduleExpression, "rate(1000 days)");
            assert.strictEqual(validate({ scheduleExpression: "rate(4 hours)" }).schedule.scheduleExpression, "rate(4 hours)");
            assert.strictEqual(validate({ scheduleExpression: "cron(0 4 ? * SUN *)", rotationWindow: "3h" }).schedule.window, "3h");
            assert.strictEqual(validate({ smtpPort: 465 }).smtpPort, 465);
            const key = "arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
            assert.strictEqual(validate({ kmsKeyArn: key }).kmsKeyArn, key);
            const ids = ["example.com", "ops@example.com", "arn:aws:ses:eu-west-1:111122223333:identity/example.org"];
            assert.deepStrictEqual(validate({ sesIdentities: ids }).sesIdentities, ids);
            assert.strictEqual(validate({ sesIdentities: [], sesConfigurationSet: "transactional" }).sesConfigurationSet, "transactional");
        });

        const cases: [string, Record<string, unknown>][] = [
            ["mode", { mode: "automatic" }],
            ["businessUnit", { businessUnit: "Payments Team" }],
            ["sesRegion", { sesRegion: "eu-west-x" }],
            ["sesRegion", { sesRegion: undefined }],
            ["sesIdentities", { sesIdentities: [] }],
            ["sesIdentities[1]", { sesIdentities: ["example.com", "not an identity"] }],
            ["sesIdentities[0]", { sesIdentities: ["arn:aws:s3:::bucket"] }],
            ["sesConfigurationSet", { sesConfigurationSet: "bad name!" }],
            ["notifyEmails[0]", { notifyEmails: ["ops at example.com"] }],
            ["notifyEmails", { notifyEmails: "ops@example.com" }],
            ["rotateAfterDays", { rotateAfterDays: 0 }],
            ["rotateAfterDays", { rotateAfterDays: 1001 }],
            ["rotateAfterDays", { rotateAfterDays: 2.5 }],
            ["scheduleExpression", { scheduleExpression: "every 30 days" }],
            ["scheduleExpression", { scheduleExpression: "rate(2 hours)" }],
            ["scheduleExpression", { scheduleExpression: "cron(0 4 * * *)" }],
            ["scheduleExpression", { rotateAfterDays: 30, scheduleExpression: "rate(30 days)" }],
            ["rotationWindow", { rotationWindow: "90m" }],
            ["rotationWindow", { rotationWindow: "25h" }],
            ["rotateImmediately", { rotateImmediately: "yes" }],
            ["kmsKeyArn", { kmsKeyArn: "alias/aws/secretsmanager" }],
            ["kmsKeyArn", { kmsKeyArn: "arn:aws:kms:eu-west-1:111122223333:alias/mine" }],
            ["smtpEndpoint", { smtpEndpoint: "smtp://host" }],
            ["smtpPort", { smtpPort: 25 }],
            ["fleetDeadlineSeconds", { fleetDeadlineSeconds: 900 }],
            ["retirement.observationHours", { retirement: { observationHours: -1 } }],
            ["retirement.graceDays", { retirement: { graceDays: 400 } }],
            ["logRetentionDays", { logRetentionDays: 10 }],
            ["fleet", { fleet: undefined }],
            ["serverRoleNames[0]", { fleet: { target: {}, serverRoleNames: ["role with spaces"] } }],
        ];
        for (const [key, over] of cases) {
            it(`rejects ${JSON.stringify(over)} naming ${key}`, () => rejectsKey(() => validate(over as any), key));
        }

        it("requires businessUnit when the component name is not a valid unit id", () => {
            rejectsKey(() => validateRotatorArgs(argsLabel("SmtpCredentialRotator", "Payments_EU"), "Payments_EU", base), "businessUnit", 'SmtpCredentialRotator "Payments_EU": args.businessUnit ');
        });
    });

    describe("smtpEndpoint: only an SES SMTP endpoint of sesRegion unless opted in (issue 12 item 10)", () => {
        const accepted: [string, string][] = [
            ["eu-west-1", "email-smtp.eu-west-1.amazonaws.com"],
            ["us-east-1", "email-smtp-fips.us-east-1.amazonaws.com"],
            ["us-gov-west-1", "email-smtp.us-gov-west-1.amazonaws.com"],
            ["cn-northwest-1", "email-smtp.cn-northwest-1.amazonaws.com.cn"],
            ["eu-west-1", "vpce-0123456789abcdef0-abcdefgh.email-smtp.eu-west-1.vpce.amazonaws.com"],
            ["eu-west-1", "vpce-0123456789abcdef0-abcdefgh-eu-west-1a.email-smtp.eu-west-1.vpce.amazonaws.com"],
            ["eu-west-1", "Email-SMTP.EU-West-1.AmazonAWS.com"],
        ];
        for (const [sesRegion, host] of accepted) {
            it(`accepts ${host} for ${sesRegion}`, () => assert.strictEqual(validate({ sesRegion, smtpEndpoint: host }).smtpEndpoint, host));
        }
        const refused: [string, string, RegExp][] = [
            ["eu-west-1", "mail.corp.example", /is not an SES SMTP endpoint/],
            ["eu-west-1", "email-smtp.eu-west-1.amazonaws.com.evil.example", /is not an SES SMTP endpoint/],
            ["eu-west-1", "email-smtp.eu-west-1.amazonaws.co", /is not an SES SMTP endpoint/],
            ["eu-west-1", "xemail-smtp.eu-west-1.amazonaws.com", /is not an SES SMTP endpoint/],
            ["eu-west-1", "vpce-0123-abcd.s3.eu-west-1.vpce.amazonaws.com", /is not an SES SMTP endpoint/],
            ["eu-west-1", "email-smtp.us-east-1.amazonaws.com", /of us-east-1, not of the SES region eu-west-1/],
            ["eu-west-1", "email-smtp.eu-west-1.amazonaws.com.cn", /China regions only/],
            ["cn-north-1", "email-smtp.cn-north-1.amazonaws.com", /amazonaws\.com\.cn/],
        ];
        for (const [sesRegion, host, why] of refused) {
            it(`refuses ${host} for ${sesRegion}, naming smtpEndpoint and the opt-in flag`, () => {
                assert.throws(() => validate({ sesRegion, smtpEndpoint: host }), (e: Error) => {
                    assert.ok(e.message.startsWith('SmtpCredentialRotator "payments": args.smtpEndpoint '), e.message);
                    assert.match(e.message, why);
                    assert.match(e.message, /set SmtpCredentialRotator "payments": args\.allowNonSesSmtpEndpoint to true/);
                    return true;
                });
            });
        }

        it("allowNonSesSmtpEndpoint: true accepts another host name or an IPv4 address (still a host name)", () => {
            assert.strictEqual(validate({ smtpEndpoint: "relay.corp.example", allowNonSesSmtpEndpoint: true }).smtpEndpoint, "relay.corp.example");
            assert.strictEqual(validate({ smtpEndpoint: "127.0.0.1", allowNonSesSmtpEndpoint: true }).allowNonSesSmtpEndpoint, true);
            rejectsKey(() => validate({ smtpEndpoint: "smtp://relay", allowNonSesSmtpEndpoint: true }), "smtpEndpoint");
            rejectsKey(() => validate({ allowNonSesSmtpEndpoint: "yes" as unknown as boolean }), "allowNonSesSmtpEndpoint");
            assert.strictEqual(validate({}).allowNonSesSmtpEndpoint, false);
        });

        it("the stack config error names both config keys", () => {
            const get = (over: Record<string, string>) => (k: string) =>
                ({ businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: '["example.com"]', fleetTable: "create", ...over })[k];
            assert.throws(
                () => readStackConfig(get({ smtpEndpoint: "relay.corp.example" })),
                /^Error: stack config "ses-smtp-rotator:smtpEndpoint" is not an SES SMTP endpoint .*set stack config "ses-smtp-rotator:allowNonSesSmtpEndpoint" to true/,
            );
            const s = readStackConfig(get({ smtpEndpoint: "relay.corp.example", allowNonSesSmtpEndpoint: "true" }));
            assert.strictEqual(s.rotator.smtpEndpoint, "relay.corp.example");
            assert.strictEqual(s.rotatorArgs.allowNonSesSmtpEndpoint, true);
        });
    });

    describe("EmailServerFleet args", () => {
        const fleetLabel = argsLabel("EmailServerFleet", "f");
        const check = (args: any) => validateFleetArgs(fleetLabel, args);
        const rejects = (args: any, key: string) => rejectsKey(() => check(args), key, `EmailServerFleet "f": args.${key} `);

        it("accepts tag and table selectors and fills the software tag default", () => {
            assert.deepStrictEqual(check({ selector: { tag: { key: "SmtpFleet", value: "payments" } } }), {
                kind: "tag",
                tagKey: "SmtpFleet",
                tagValue: "payments",
                softwareTagKey: DEFAULT_SOFTWARE_TAG_KEY,
            });
            assert.deepStrictEqual(check({ selector: { table: { create: true } } }), { kind: "table", create: true });
            assert.deepStrictEqual(check({ selector: { table: { name: "mail-servers" } } }), { kind: "table", create: false, tableName: "mail-servers" });
        });

        it("rejects bad selectors naming the field", () => {
            rejects({}, "selector");
            rejects({ selector: { tag: { key: "k", value: "v" }, table: { create: true } } }, "selector");
            rejects({ selector: { tag: { key: "aws:reserved", value: "v" } } }, "selector.tag.key");
            rejects({ selector: { tag: { key: "SmtpFleet", value: "" } } }, "selector.tag.value");
            rejects({ selector: { tag: { key: "SmtpFleet", value: "v", softwareTagKey: "SmtpFleet" } } }, "selector.tag.softwareTagKey");
            rejects({ selector: { table: { create: true, name: "t" } } }, "selector.table");
            rejects({ selector: { table: { create: false } } }, "selector.table.create");
            rejects({ selector: { table: { name: "x" } } }, "selector.table.name");
            rejects({ selector: { table: { create: true } }, serverRoleNames: "role" }, "serverRoleNames");
        });
    });

    describe("stack config", () => {
        const projectFile = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as any;
        const prodFile = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")) as any;

        /** The raw string values Pulumi hands the program: stack values over project defaults (arrays as JSON). */
        function rawConfig(stackValues: Record<string, unknown>): (key: string) => string | undefined {
            const merged: Record<string, unknown> = {};
            for (const [key, decl] of Object.entries<any>(projectFile.config)) if ("default" in decl) merged[key] = decl.default;
            for (const [full, value] of Object.entries(stackValues)) {
                const [ns, key] = full.includes(":") ? full.split(":") : [CONFIG_NAMESPACE, full];
                if (ns === CONFIG_NAMESPACE) merged[key] = value;
            }
            return (key) => {
                const v = merged[key];
                return v === undefined ? undefined : typeof v === "string" ? v : Array.isArray(v) ? JSON.stringify(v) : String(v);
            };
        }

        it("Pulumi.yaml declares exactly the keys the program reads, with the same types", () => {
            assert.strictEqual(projectFile.name, CONFIG_NAMESPACE);
            assert.deepStrictEqual(projectFile.runtime, { name: "nodejs", options: { typescript: true } });
            const declared = Object.fromEntries(Object.entries<any>(projectFile.config).map(([k, d]) => [k, d.type]));
            assert.deepStrictEqual(declared, { ...STACK_CONFIG_KEYS });
            for (const [key, decl] of Object.entries<any>(projectFile.config)) {
                assert.ok(typeof decl.description === "string" && decl.description.length > 20, `${key} needs a description`);
                if (decl.type === "array") assert.deepStrictEqual(decl.items, { type: "string" }, `${key} items`);
            }
            // Only the two keys without a sensible default are required.
            const required = Object.entries<any>(projectFile.config).filter(([, d]) => !("default" in d)).map(([k]) => k);
            assert.deepStrictEqual(required.sort(), ["businessUnit", "sesRegion"]);
        });

        it("Pulumi.yaml defaults are the code's defaults", () => {
            const s = readStackConfig(rawConfig({ businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleetTable: "create" }));
            const c = projectFile.config;
            assert.strictEqual(s.rotator.mode, c.mode.default);
            assert.strictEqual(c.rotateAfterDays.default, DEFAULT_ROTATE_AFTER_DAYS);
            assert.strictEqual(s.rotator.schedule.scheduleExpression, `rate(${c.rotateAfterDays.default} days)`);
            assert.strictEqual(s.rotator.smtpPort, c.smtpPort.default);
            assert.strictEqual(s.rotator.rotateImmediately, c.rotateImmediately.default);
            assert.strictEqual(s.rotator.fleetDeadlineSeconds, c.fleetDeadlineSeconds.default);
            assert.strictEqual(s.rotator.retirement.observationHours, c.retirementObservationHours.default);
            assert.strictEqual(s.rotator.retirement.graceDays, c.retirementGraceDays.default);
            assert.strictEqual(s.rotator.logRetentionDays, c.logRetentionDays.default);
            assert.strictEqual(c.fleetSoftwareTagKey.default, DEFAULT_SOFTWARE_TAG_KEY);
        });

        it("Pulumi.prod.yaml is one valid business unit selected by tag", () => {
            const s = readStackConfig(rawConfig(prodFile.config));
            assert.strictEqual(s.businessUnit, "payments");
            assert.deepStrictEqual(s.fleetArgs.selector, { tag: { key: "SmtpFleet", value: "payments", softwareTagKey: "SmtpSoftware" } });
            assert.deepStrictEqual(s.fleetArgs.serverRoleNames, ["payments-mail-server"]);
            assert.deepStrictEqual(s.rotator.notifyEmails, ["payments-ops@example.com"]);
            assert.deepStrictEqual(s.rotator.schedule, { scheduleExpression: "rate(90 days)", window: "4h" });
        });

        it("a schedule expression replaces the default rotateAfterDays, but not an explicit other value", () => {
            const common = { businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleetTable: "mail-servers" };
            assert.strictEqual(readStackConfig(rawConfig({ ...common, scheduleExpression: "rate(7 days)" })).rotator.schedule.scheduleExpression, "rate(7 days)");
            rejectsKey(() => readStackConfig(rawConfig({ ...common, scheduleExpression: "rate(7 days)", rotateAfterDays: 30 })), "scheduleExpression", `stack config "ses-smtp-rotator:scheduleExpression" `);
        });

        it("manual mode: retirementGraceDays is the manual grace period too; other manual options keep the builder's defaults", () => {
            const common = { businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleetTable: "create" };
            const manualLabel = argsLabel("SmtpCredentialRotator", "payments");
            const s = readStackConfig(rawConfig({ ...common, mode: "manual" }));
            // the documented defaults (components/manual/options.ts TSDoc, README), written out independently
            assert.deepStrictEqual(validateManualOptions(manualLabel, s.rotatorArgs.manual, "payments"), {
                scheduleExpression: "cron(0 0 L 1/3 ? *)",
                scheduleTimeZone: "UTC",
                scheduleEnabled: true,
                graceSeconds: 3 * 86400,
                observationSeconds: 24 * 3600,
                reminderSeconds: 86400,
                confirmationTimeoutSeconds: 14 * 86400,
                maxConcurrency: 10,
                pageSize: 100,
                ownerEmailTagKey: "OwnerEmail",
                subscribeOwners: true,
                parameterName: "/ses-smtp/payments/credential",
            });
            const tuned = readStackConfig(rawConfig({ ...common, mode: "manual", retirementGraceDays: 5 }));
            assert.strictEqual(validateManualOptions(manualLabel, tuned.rotatorArgs.manual, "payments").graceSeconds, 5 * 86400);
            assert.strictEqual(readStackConfig(rawConfig(common)).rotatorArgs.manual, undefined, "auto mode passes no manual options");
        });

        it("manual mode: the manual<Option> keys reach the manual builder; rotateNow and retirementOverrideKeyId reach the rotator", () => {
            const common = { businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleetTagKey: "SmtpFleet", fleetTagValue: "payments" };
            const s = readStackConfig(
                rawConfig({
                    ...common,
                    mode: "manual",
                    rotateNow: "2026-11-29T10:00",
                    retirementOverrideKeyId: "AKIAIOSFODNN7EXAMPLE",
                    manualScheduleExpression: "cron(0 6 1 * ? *)",
                    manualScheduleTimeZone: "Europe/Berlin",
                    manualScheduleEnabled: false,
                    manualReminderHours: 12,
                    manualConfirmationTimeoutDays: 7,
                    manualMaxConcurrency: 4,
                    manualPageSize: 50,
                    manualOwnerEmailTagKey: "Owner",
                    manualSubscribeOwners: false,
                    manualParameterName: "/mail/payments/smtp",
                    retirementObservationHours: 6,
                }),
            );
            assert.strictEqual(s.rotator.rotateNow, "2026-11-29T10:00");
            assert.strictEqual(s.rotator.retirement.overrideKeyId, "AKIAIOSFODNN7EXAMPLE");
            // As buildManualRotation calls it: the stack's retirementObservationHours is manual mode's observation default.
            const o = validateManualOptions(argsLabel("SmtpCredentialRotator", "payments"), s.rotatorArgs.manual, "payments", s.rotator.retirement.observationHours * 3600);
            assert.deepStrictEqual(o, {
                observationSeconds: 6 * 3600,
                scheduleExpression: "cron(0 6 1 * ? *)",
                scheduleTimeZone: "Europe/Berlin",
                scheduleEnabled: false,
                graceSeconds: 3 * 86400,
                reminderSeconds: 12 * 3600,
                confirmationTimeoutSeconds: 7 * 86400,
                maxConcurrency: 4,
                pageSize: 50,
                ownerEmailTagKey: "Owner",
                subscribeOwners: false,
                parameterName: "/mail/payments/smtp",
            });
            const auto = readStackConfig(rawConfig({ ...common, manualReminderHours: 12, retirementGraceDays: 200 }));
            assert.strictEqual(auto.rotatorArgs.manual, undefined, "auto mode ignores valid manual keys (and its grace range is its own)");
        });

        const good = { businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleetTagKey: "SmtpFleet", fleetTagValue: "payments" };
        const bad: [string, Record<string, unknown>][] = [
            ["businessUnit", { businessUnit: undefined }],
            ["sesRegion", { sesRegion: "europe" }],
            ["rotateAfterDays", { rotateAfterDays: "ninety" }],
            ["rotateAfterDays", { rotateAfterDays: 0 }],
            ["rotateImmediately", { rotateImmediately: "maybe" }],
            ["notifyEmails", { notifyEmails: "ops@example.com" }],
            ["notifyEmails[0]", { notifyEmails: ["nobody"] }],
            ["fleetTagKey", { fleetTable: "create" }],
            ["fleetTagKey", { fleetTagKey: undefined, fleetTagValue: undefined }],
            ["fleetTagValue", { fleetTagValue: undefined }],
            ["fleetTable", { fleetTagKey: undefined, fleetTagValue: undefined, fleetTable: "x" }],
            ["retirementGraceDays", { retirementGraceDays: 1000 }],
            ["retirementObservationHours", { retirementObservationHours: -2 }],
            ["serverRoleNames[0]", { serverRoleNames: ["bad role"] }],
            ["kmsKeyArn", { kmsKeyArn: "my-key" }],
            ["mode", { mode: "semi" }],
            ["retirementGraceDays", { mode: "manual", retirementGraceDays: 120 }],
            ["scheduleExpression", { scheduleExpression: "cron(0 3 ? * SUN $(id))" }],
            ["rotateNow", { rotateNow: "rotate now" }],
            ["retirementOverrideKeyId", { retirementOverrideKeyId: "AKIA-not-a-key" }],
            ["manualScheduleExpression", { mode: "manual", manualScheduleExpression: "every quarter" }],
            ["manualScheduleTimeZone", { mode: "manual", manualScheduleTimeZone: "Mars/Olympus" }],
            ["manualReminderHours", { mode: "manual", manualReminderHours: 0 }],
            ["manualConfirmationTimeoutDays", { mode: "manual", manualConfirmationTimeoutDays: 400 }],
            ["manualMaxConcurrency", { manualMaxConcurrency: 41 }],
            ["manualPageSize", { mode: "manual", manualPageSize: 1 }],
            ["manualOwnerEmailTagKey", { mode: "manual", manualOwnerEmailTagKey: "aws:owner" }],
            ["manualParameterName", { mode: "manual", manualParameterName: "/aws/reserved" }],
            ["manualSubscribeOwners", { manualSubscribeOwners: "maybe" }],
        ];
        for (const [key, over] of bad) {
            it(`stack config ${JSON.stringify(over)} fails naming ${CONFIG_NAMESPACE}:${key}`, () => {
                const values: Record<string, unknown> = { ...good, ...over };
                for (const k of Object.keys(values)) if (values[k] === undefined) delete values[k];
                rejectsKey(() => readStackConfig(rawConfig(values)), key, `stack config "${CONFIG_NAMESPACE}:${key}" `);
            });
        }
    });
});
