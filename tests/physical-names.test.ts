/**
 * Every physical name the components generate fits its AWS limit at the longest business unit validation allows
 * (40 characters) and with units starting with AWS-reserved prefixes (issue 13 item 5). Under Pulumi's mock
 * runtime (tests/support/pulumi-mocks.ts): the mock auto-names a resource `<logical name>-<7 hex>`, the same
 * length as Pulumi's real auto-naming, and reports an explicit `name` as given. Every AWS type created must have
 * a limit listed in AWS_NAME_LIMITS or be listed here as having no auto-named `name`.
 */
import { recorded, resetMockAws, resetRecorded, settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import { EmailServerFleet, SmtpCredentialRotator } from "../components";
import { AWS_NAME_LIMITS, breaksNameLimit, fitPhysicalName } from "../components/physical-names";
import { validateRotatorArgs } from "../components/settings";
import { argsLabel } from "../components/validation";

/** Types whose AWS identity is not an auto-named `name` (ids made by the provider, or given explicitly). */
const NOT_AUTONAMED = new Set([
    "aws:lambda/permission:Permission",
    "aws:cloudwatch/eventTarget:EventTarget",
    "aws:sns/topicSubscription:TopicSubscription",
    "aws:sns/topicPolicy:TopicPolicy",
    "aws:secretsmanager/secretRotation:SecretRotation",
    "aws:apigatewayv2/integration:Integration",
    "aws:apigatewayv2/route:Route",
    "aws:apigatewayv2/stage:Stage",
]);

const LONGEST = "a".repeat(36) + "-x1z"; // 40 characters: the longest business unit validation allows
const RESERVED = ["aws-mail", "amazon-relay", "amzn-" + "b".repeat(35)];

function build(name: string, mode: "auto" | "manual"): void {
    const fleet = new EmailServerFleet(`${name}-fleet`, { selector: { table: { create: true } }, serverRoleNames: ["mail-server"] } as any);
    new SmtpCredentialRotator(name, { mode, sesRegion: "eu-west-1", sesIdentities: ["example.com"], notifyEmails: ["ops@example.com"], fleet } as any);
}

describe("generated physical names fit AWS's limits (Pulumi mocks)", function () {
    this.timeout(120000);
    beforeEach(() => {
        resetRecorded();
        resetMockAws();
    });

    it("the longest unit and the reserved-prefix units are valid business units", () => {
        for (const unit of [LONGEST, ...RESERVED]) {
            assert.strictEqual(validateRotatorArgs(argsLabel("SmtpCredentialRotator", unit), unit, { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet: { target: {} } } as any).businessUnit, unit);
        }
        assert.strictEqual(LONGEST.length, 40);
    });

    for (const mode of ["auto", "manual"] as const) {
        for (const unit of [LONGEST, ...RESERVED]) {
            it(`${mode} mode, unit ${JSON.stringify(unit)} (${unit.length} chars): every name within its limit`, async () => {
                build(unit, mode);
                await settled();
                const problems: string[] = [];
                let checked = 0;
                for (const r of recorded().filter((x) => x.custom && x.type.startsWith("aws:"))) {
                    if (NOT_AUTONAMED.has(r.type)) continue;
                    const limit = AWS_NAME_LIMITS[r.type];
                    if (!limit) {
                        problems.push(`${r.type} (${r.name}) has no name limit listed`);
                        continue;
                    }
                    const physical = String(r.state.name);
                    checked++;
                    if (breaksNameLimit(physical, limit)) problems.push(`${r.type} ${physical} (${physical.length} > ${limit.max} or reserved prefix)`);
                }
                assert.deepStrictEqual(problems, []);
                assert.ok(checked >= (mode === "auto" ? 15 : 30), `names checked: ${checked}`);
            });
        }
    }

    it("names of an ordinary unit are left to Pulumi's auto-naming (existing stacks see no change)", async () => {
        build("payments", "manual");
        await settled();
        const explicit = recorded().filter((r) => r.type in AWS_NAME_LIMITS && r.inputs.name !== undefined && r.type !== "aws:apigatewayv2/stage:Stage");
        assert.deepStrictEqual(explicit.map((r) => `${r.type} ${r.name}`), []);
    });

    it("fitted names are unique per stack and resource, cut at the limit, and keep the unit readable", () => {
        const a = fitPhysicalName("aws:iam/role:Role", `${LONGEST}-manual-requestConfirmation`, "p/prod")!;
        const b = fitPhysicalName("aws:iam/role:Role", `${LONGEST}-manual-requestConfirmation`, "p/staging")!;
        const c = fitPhysicalName("aws:iam/role:Role", `${LONGEST}-manual-reportOutcome`, "p/prod")!;
        assert.ok(a.length <= 64 && a.startsWith(LONGEST), a);
        assert.notStrictEqual(a, b);
        assert.notStrictEqual(a, c);
        assert.strictEqual(fitPhysicalName("aws:iam/role:Role", "payments-rotation", "p/prod"), undefined);
        assert.match(fitPhysicalName("aws:ssm/document:Document", "AWS-mail-postfix", "p/prod")!, /^ses-AWS-mail-postfix-[0-9a-f]{7}$/);
    });
});
