/**
 * What the rotator emits for a real `pulumi up` life, under `pulumi.runtime.setMocks` (Pulumi's mock monitor: no
 * CLI, no engine, no AWS). The mock monitor records the registration requests; this file also reads the resource
 * OPTIONS each request carries (ignoreChanges, protect, retainOnDelete), which is what the real engine acts on.
 * What the engine and the AWS provider then do with them (refresh, diff, TagUser/UntagUser) is replayed against
 * moto in tests/lifecycle-moto.test.ts; protect / retainOnDelete are engine behaviour that cannot run here.
 *
 *  - issue 13 item 1: the dynamic providers get the stack's identity (aws:profile, aws:assumeRoles, an explicit
 *    aws provider, the awsIdentity argument) and the stack's account;
 *  - item 2: the SMTP IAM user's tags are ignoreChanges (the retirement records live there);
 *  - item 3: manual mode's default parameter name is unique per stack and component;
 *  - item 7: opt-in protect / retainOnDelete for the user, the secret and the first credential.
 */
import { mockAws, ofType, recorded, resetMockAws, resetRecorded, settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { EmailServerFleet, SmtpCredentialRotator } from "../components";
import { readStackConfig } from "../components/config";
import { optionsOf } from "./support/registration-options";

const BOOTSTRAP = "pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential";
const ROTATE_NOW = "pulumi-nodejs:dynamic/ses-rotator:RotateNow";
const GUARD = "pulumi-nodejs:dynamic/ses-rotator:RetirementGuard";
const USER = "aws:iam/user:User";
const SECRET = "aws:secretsmanager/secret:Secret";

function build(name: string, rotator: Record<string, unknown> = {}, opts?: pulumi.ComponentResourceOptions) {
    const fleet = new EmailServerFleet(`${name}-fleet`, { selector: { table: { create: true } }, serverRoleNames: [] } as any);
    return new SmtpCredentialRotator(name, { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet, ...rotator } as any, opts);
}

function providerInputs(type: string, name: string): Record<string, unknown> {
    const r = ofType(type).find((x) => x.name === name);
    assert.ok(r, `${name} registered`);
    return r.inputs;
}

const IDENTITY = ["awsProfile", "awsRoleArn", "awsExternalId", "awsRoleSessionName", "accountId"];
function identityOf(inputs: Record<string, unknown>) {
    return Object.fromEntries(IDENTITY.filter((k) => inputs[k] !== undefined).map((k) => [k, inputs[k]]));
}

/** Runs with extra stack config (e.g. `aws:profile`), restoring the config afterwards. */
async function withConfig(values: Record<string, string>, run: () => Promise<void>): Promise<void> {
    const saved = pulumi.runtime.allConfig();
    for (const [k, v] of Object.entries(values)) pulumi.runtime.setConfig(k, v);
    try {
        await run();
    } finally {
        pulumi.runtime.setAllConfig(saved);
    }
}

describe("lifecycle options and identity the rotator emits (Pulumi mocks)", function () {
    this.timeout(300000);
    beforeEach(() => {
        resetRecorded();
        resetMockAws();
    });
    after(resetMockAws);

    describe("the providers' AWS identity (issue 13 item 1)", () => {
        it("defaults to the stack's aws:profile and aws:assumeRoles, with the account from getCallerIdentity, for all three providers", async () => {
            mockAws.accountId = "111111111111";
            await withConfig(
                {
                    "aws:profile": "stack-b",
                    "aws:assumeRoles": JSON.stringify([{ roleArn: "arn:aws:iam::111111111111:role/deployer", externalId: "ext-1", sessionName: "ci" }]),
                },
                async () => {
                    build("idc");
                    await settled();
                },
            );
            const expected = {
                awsProfile: "stack-b",
                awsRoleArn: "arn:aws:iam::111111111111:role/deployer",
                awsExternalId: "ext-1",
                awsRoleSessionName: "ci",
                accountId: "111111111111",
            };
            assert.deepStrictEqual(identityOf(providerInputs(BOOTSTRAP, "idc-first-credential")), expected);
            assert.deepStrictEqual(identityOf(providerInputs(ROTATE_NOW, "idc-rotate-now")), expected);
            assert.deepStrictEqual(identityOf(providerInputs(GUARD, "idc-retirement")), expected);
        });

        it("an explicit aws provider: its profile, not the default provider's config; awsIdentity adds the role", async () => {
            await withConfig({ "aws:profile": "default-provider-profile" }, async () => {
                const provider = new aws.Provider("explicit-b", { region: "eu-west-1", profile: "explicit-b" });
                build("idp", {}, { providers: { aws: provider } });
                build("idr", { awsIdentity: { roleArn: "arn:aws:iam::123456789012:role/rotator", externalId: "ext-2" } }, { providers: { aws: provider } });
                await settled();
            });
            assert.deepStrictEqual(identityOf(providerInputs(BOOTSTRAP, "idp-first-credential")), { awsProfile: "explicit-b", accountId: "123456789012" });
            assert.deepStrictEqual(identityOf(providerInputs(GUARD, "idr-retirement")), {
                awsProfile: "explicit-b",
                awsRoleArn: "arn:aws:iam::123456789012:role/rotator",
                awsExternalId: "ext-2",
                accountId: "123456789012",
            });
        });

        it("errors name the input: a bad awsIdentity field, a chain of roles in aws:assumeRoles", async () => {
            assert.throws(() => build("bad-role", { awsIdentity: { roleArn: "deployer" } }), /args\.awsIdentity\.roleArn must be an IAM role ARN/);
            assert.throws(() => build("bad-ext", { awsIdentity: { externalId: "x1" } }), /args\.awsIdentity\.externalId needs awsIdentity\.roleArn/);
            await withConfig({ "aws:assumeRoles": JSON.stringify([{ roleArn: "arn:aws:iam::1:role/a" }, { roleArn: "arn:aws:iam::2:role/b" }]) }, async () => {
                assert.throws(() => build("chain"), /aws:assumeRoles has a chain of several roles/);
            });
        });
    });

    it("the SMTP IAM user's tags are ignoreChanges: the retirement records in them survive refresh + up (issue 13 item 2)", async () => {
        build("tags", { tags: { team: "mail" } });
        await settled();
        const user = ofType(USER).find((u) => u.name === "tags-smtp")!;
        assert.deepStrictEqual(optionsOf(user).ignoreChanges, ["tags"]);
        assert.deepStrictEqual(user.inputs.tags, { team: "mail", "ses-rotator:business-unit": "tags" }, "the declared tags are still set at creation");
    });

    describe("manual mode's parameter name (issue 13 item 3)", () => {
        it("defaults to a name unique per stack and component: two rotators of one business unit do not share it", async () => {
            build("unit-a", { mode: "manual", businessUnit: "payments" });
            build("unit-b", { mode: "manual", businessUnit: "payments" });
            await settled();
            const a = providerInputs(BOOTSTRAP, "unit-a-first-credential").parameterName;
            const b = providerInputs(BOOTSTRAP, "unit-b-first-credential").parameterName;
            assert.strictEqual(a, "/ses-smtp/payments/test/unit-a/credential", "stack 'test' and component name in the path");
            assert.notStrictEqual(a, b);
        });
        it("another stack of the same unit gets another name; odd component names stay valid and distinct", () => {
            const { defaultManualParameterName } = require("../components/rotator") as { defaultManualParameterName: (u: string, s: string, n: string) => string };
            assert.notStrictEqual(defaultManualParameterName("payments", "staging", "payments"), defaultManualParameterName("payments", "prod", "payments"));
            const odd = defaultManualParameterName("payments", "prod", "mail relay #1");
            assert.match(odd, /^\/ses-smtp\/payments\/prod\/mail_relay__1-[0-9a-f]{8}\/credential$/);
            assert.notStrictEqual(odd, defaultManualParameterName("payments", "prod", "mail_relay__1"));
        });
    });

    describe("protect / retainOnDelete for what holds the servers' credential (issue 13 item 7)", () => {
        it("off by default", async () => {
            build("plain");
            await settled();
            for (const r of [ofType(USER)[0], ofType(SECRET)[0], ofType(BOOTSTRAP)[0]]) {
                assert.deepStrictEqual([optionsOf(r).protect, optionsOf(r).retainOnDelete], [false, false], r.name);
            }
        });
        it("protectCredential and retainCredentialOnDelete reach the IAM user, the secret and the first credential (auto and manual)", async () => {
            build("kept", { protectCredential: true, retainCredentialOnDelete: true });
            build("kept-manual", { mode: "manual", protectCredential: true, retainCredentialOnDelete: true });
            await settled();
            const held = [
                ...ofType(USER),
                ...ofType(SECRET),
                ...ofType(BOOTSTRAP),
            ];
            assert.strictEqual(held.length, 5, "two users, one secret (auto), two first credentials");
            for (const r of held) assert.deepStrictEqual([optionsOf(r).protect, optionsOf(r).retainOnDelete], [true, true], r.name);
            // Nothing else is protected: the rest is rebuilt from code.
            const others = recorded().filter((r) => r.custom && !held.includes(r));
            assert.ok(others.length > 10);
            for (const r of others) assert.strictEqual(optionsOf(r).protect, false, r.name);
        });
        it("a rename keeps the resources: the component registers the alias to its old name (stack config renamedFrom)", async () => {
            const base: Record<string, string> = { businessUnit: "payments-eu", sesRegion: "eu-west-1", sesIdentities: '["example.com"]', fleetTable: "create" };
            assert.strictEqual(readStackConfig((k) => ({ ...base, renamedFrom: "payments" })[k]).renamedFrom, "payments");
            assert.strictEqual(readStackConfig((k) => base[k]).renamedFrom, undefined);
            assert.throws(() => readStackConfig((k) => ({ ...base, renamedFrom: "Payments!" })[k]), /ses-smtp-rotator:renamedFrom/);
            build("payments-eu", {}, { aliases: [{ name: "payments" }] });
            await settled();
            const root = recorded().find((r) => r.type === "ses-smtp-rotator:index:SmtpCredentialRotator")!;
            assert.match(JSON.stringify(optionsOf(root).aliases), /payments(?!-eu)/, "the old name is sent as an alias");
        });
        it("stack config protectCredential / retainCredentialOnDelete map to the arguments; a bad value names the key", () => {
            const base: Record<string, string> = { businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: '["example.com"]', fleetTable: "create" };
            const s = readStackConfig((k) => ({ ...base, protectCredential: "true", retainCredentialOnDelete: "true" })[k]);
            assert.deepStrictEqual([s.rotatorArgs.protectCredential, s.rotatorArgs.retainCredentialOnDelete], [true, true]);
            assert.throws(() => readStackConfig((k) => ({ ...base, protectCredential: "yes" })[k]), /ses-smtp-rotator:protectCredential.*must be true or false/);
            assert.throws(() => build("bad-protect", { protectCredential: "yes" }), /args\.protectCredential must be true or false/);
        });
    });
});
