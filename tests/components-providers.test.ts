/**
 * The rotator's dynamic providers as the components wire them (components/rotator-providers.ts), under
 * `pulumi.runtime.setMocks` (Pulumi's mock monitor: no CLI, no AWS; the providers' own behaviour against moto is
 * tested in tests/providers-*.test.ts): BootstrapCredential, RotateNow and RetirementGuard are children of the
 * rotator in both modes, get the right inputs and dependencies, and never carry a secret.
 */
import { mockAws, ofType, recorded, RecordedResource, resetMockAws, resetRecorded, settled, valueOf } from "./support/pulumi-mocks";
import * as assert from "assert";
import { EmailServerFleet, SmtpCredentialRotator } from "../components";

const ROTATOR = "ses-smtp-rotator:index:SmtpCredentialRotator";
const BOOTSTRAP = "pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential";
const ROTATE_NOW = "pulumi-nodejs:dynamic/ses-rotator:RotateNow";
const GUARD = "pulumi-nodejs:dynamic/ses-rotator:RetirementGuard";
const KEY_ARN = "arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const HELD_KEY = "AKIAIOSFODNN7EXAMPLE";

function one(type: string, from: RecordedResource[] = recorded()): RecordedResource {
    const found = ofType(type, from);
    assert.strictEqual(found.length, 1, `expected one ${type}, got ${found.length}`);
    return found[0];
}

/** The inputs the program sent, without the serialized provider code. */
function inputsOf(r: RecordedResource): Record<string, unknown> {
    const { __provider, ...rest } = r.inputs;
    assert.ok(typeof __provider === "string" && __provider.length > 0, `${r.name}: the serialized provider is sent`);
    // Output-only properties are registered as unknown placeholders (undefined): not inputs.
    return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined));
}

function build(name: string, rotator: Record<string, unknown>, selector: Record<string, unknown> = { table: { create: true } }) {
    const fleet = new EmailServerFleet(`${name}-fleet`, { selector, serverRoleNames: ["mail-a"] } as any);
    return new SmtpCredentialRotator(name, { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet, ...rotator } as any);
}

describe("dynamic providers wired into the rotator (Pulumi mocks)", function () {
    this.timeout(300000);
    beforeEach(() => {
        resetRecorded();
        resetMockAws();
    });
    after(resetMockAws);

    it("auto mode: first credential into the secret before rotation is configured; rotate-now after both; guard after the first credential", async () => {
        mockAws.region = "eu-central-1"; // the stack region differs from the SES region
        const rotator = build("payments", { smtpPort: 465, rotateNow: "2026-11-29", retirement: { observationHours: 6, graceDays: 2, overrideKeyId: HELD_KEY }, kmsKeyArn: KEY_ARN });
        await settled();
        const root = one(ROTATOR);
        const first = one(BOOTSTRAP);
        const rotateNow = one(ROTATE_NOW);
        const guard = one(GUARD);
        for (const r of [first, rotateNow, guard]) assert.strictEqual(r.parent, root.urn, `${r.type} is a child of the rotator`);
        assert.deepStrictEqual([first.name, rotateNow.name, guard.name], ["payments-first-credential", "payments-rotate-now", "payments-retirement"]);

        const user = one("aws:iam/user:User");
        const secret = one("aws:secretsmanager/secret:Secret");
        const topic = ofType("aws:sns/topic:Topic").find((t) => t.name === "payments-alerts")!;
        assert.deepStrictEqual(inputsOf(first), {
            mode: "auto",
            region: "eu-central-1",
            iamUserName: user.state.name,
            sesRegion: "eu-west-1",
            smtpPort: 465,
            secretArn: secret.state.arn,
            accountId: "123456789012",
        });
        assert.deepStrictEqual(inputsOf(rotateNow), { trigger: "2026-11-29", mode: "auto", region: "eu-central-1", secretArn: secret.state.arn, accountId: "123456789012" });
        assert.deepStrictEqual(inputsOf(guard), {
            accountId: "123456789012",
            iamUserName: user.state.name,
            region: "eu-central-1",
            observationHours: 6,
            graceDays: 2,
            notifyTopicArn: topic.state.arn,
            overrideKeyId: HELD_KEY,
            secretArn: secret.state.arn, // re-read before every deactivate and delete
        });

        const rotation = one("aws:secretsmanager/secretRotation:SecretRotation");
        assert.ok(rotation.dependencies.includes(first.urn), "an (immediate) rotation needs the stored first credential");
        assert.ok(rotateNow.dependencies.includes(first.urn) && rotateNow.dependencies.includes(rotation.urn), "rotate-now waits for the rotation");
        assert.ok(guard.dependencies.includes(first.urn), "the guard waits for the first credential");
        assert.ok(!first.dependencies.includes(rotation.urn) && !first.dependencies.includes(rotateNow.urn));
        assert.strictEqual(ofType("aws:secretsmanager/secretVersion:SecretVersion").length, 0, "no secret value through Pulumi");
        assert.strictEqual(await valueOf(rotator.firstAccessKeyId), first.state.accessKeyId);
        assert.deepStrictEqual(await valueOf(rotator.retirementHeldKeyIds), [], "no hold reported by the (mocked) guard");
    });

    it("manual mode: the provider creates the parameter (custom name, customer KMS key); rotate-now starts CredentialRotation in the schedule's time zone", async () => {
        const rotator = build("ops", {
            mode: "manual",
            kmsKeyArn: KEY_ARN,
            manual: { parameterName: "/mail/ops/smtp", scheduleTimeZone: "Europe/Berlin" },
        }, { tag: { key: "SmtpFleet", value: "ops" } });
        await settled();
        const root = one(ROTATOR);
        const first = one(BOOTSTRAP);
        const rotateNow = one(ROTATE_NOW);
        const guard = one(GUARD);
        for (const r of [first, rotateNow, guard]) assert.strictEqual(r.parent, root.urn);
        const user = one("aws:iam/user:User");
        assert.deepStrictEqual(inputsOf(first), {
            mode: "manual",
            region: "eu-west-1",
            iamUserName: user.state.name,
            sesRegion: "eu-west-1",
            smtpPort: 587,
            parameterName: "/mail/ops/smtp",
            kmsKeyId: KEY_ARN,
            accountId: "123456789012",
        });
        // Exactly one owner of the parameter: the provider. CreateCredential writes its new versions.
        assert.strictEqual(ofType("aws:ssm/parameter:Parameter").length, 0, "no aws.ssm.Parameter: it would put the credential in state");
        const create = ofType("aws:lambda/function:Function").find((f) => f.name === "ops-manual-createCredential")!;
        assert.strictEqual(create.inputs.environment.variables.PARAMETER_NAME, "/mail/ops/smtp");
        assert.strictEqual(create.inputs.environment.variables.KMS_KEY_ID, KEY_ARN);
        const store = await valueOf(rotator.credentialStore);
        assert.deepStrictEqual(store, { kind: "parameter", parameterArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/mail/ops/smtp" });

        const stateMachine = ofType("aws:sfn/stateMachine:StateMachine").find((s) => s.name === "ops-manual-rotation")!;
        assert.deepStrictEqual(inputsOf(rotateNow), {
            trigger: "",
            mode: "manual",
            region: "eu-west-1",
            stateMachineArn: stateMachine.state.arn,
            timeZone: "Europe/Berlin",
            accountId: "123456789012",
        });
        assert.ok(rotateNow.dependencies.includes(first.urn) && rotateNow.dependencies.includes(stateMachine.urn), "rotate-now waits for the state machine");
        assert.deepStrictEqual(inputsOf(guard).overrideKeyId, "", "no override requested");
        assert.strictEqual(inputsOf(guard).parameterName, "/mail/ops/smtp", "the guard re-reads the parameter before every deactivate and delete");
        assert.ok(guard.dependencies.includes(first.urn));
    });

    it("no secret in any provider input or recorded state: references and settings only", async () => {
        build("payments", { rotateNow: "now-1" });
        build("ops", { mode: "manual" });
        await settled();
        const identity = ["awsProfile", "awsRoleArn", "awsExternalId", "awsRoleSessionName", "accountId"];
        const allowed: Record<string, string[]> = {
            [BOOTSTRAP]: ["mode", "region", "iamUserName", "sesRegion", "smtpEndpoint", "smtpPort", "secretArn", "parameterName", "kmsKeyId", ...identity],
            [ROTATE_NOW]: ["trigger", "mode", "region", "secretArn", "stateMachineArn", "timeZone", ...identity],
            [GUARD]: ["iamUserName", "region", "observationHours", "graceDays", "notifyTopicArn", "overrideKeyId", "secretArn", "parameterName", ...identity],
        };
        for (const r of recorded().filter((x) => x.type in allowed)) {
            assert.deepStrictEqual(r.secretInputs, [], `${r.name}: no secret inputs`);
            const extra = Object.keys(inputsOf(r)).filter((k) => !allowed[r.type].includes(k));
            assert.deepStrictEqual(extra, [], `${r.name}: unexpected inputs`);
            assert.ok(!/secretAccessKey|SecretAccessKey|password/i.test(JSON.stringify(inputsOf(r))), r.name);
        }
        assert.strictEqual(ofType(BOOTSTRAP).length, 2);
        assert.strictEqual(ofType(ROTATE_NOW).length, 2);
        assert.strictEqual(ofType(GUARD).length, 2);
    });

    it("bad rotate-now and override values fail at construction naming the argument, before anything registers", async () => {
        const fleet = new EmailServerFleet("f", { selector: { tag: { key: "SmtpFleet", value: "x" } } });
        const base = { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet };
        assert.throws(() => new SmtpCredentialRotator("payments", { ...base, rotateNow: "rotate now; id" }), /^Error: SmtpCredentialRotator "payments": args\.rotateNow must be 1-64 /);
        assert.throws(
            () => new SmtpCredentialRotator("payments", { ...base, retirement: { overrideKeyId: "ASIAIOSFODNN7EXAMPLE" } }),
            /^Error: SmtpCredentialRotator "payments": args\.retirement\.overrideKeyId must be an IAM access key id/,
        );
        await settled();
        assert.deepStrictEqual(recorded().map((r) => r.name), ["f"]);
    });
});
