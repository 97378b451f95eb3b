/**
 * A real `pulumi up` life against moto (issue 13 items 2, 3 and 4): refresh then up, a parameter name that
 * collides or belongs to someone else, a changed parameter name or secret.
 *
 * What is modelled, and how (no Pulumi CLI or engine runs here):
 *  - The rotator's resource options come from the component itself, built under Pulumi's mock monitor
 *    (tests/support/registration-options.ts reads them from the registration requests).
 *  - `pulumi refresh` then `pulumi up` on the SMTP IAM user is replayed with the real IAM API (moto): refresh reads
 *    the live tags into the state (bridged providers extract the inputs from what they read); the next update's
 *    inputs are the program's declared tags, except properties in `ignoreChanges`, which keep the state's inputs;
 *    the AWS provider then sends UntagUser for tag keys the inputs lack and TagUser for new or changed ones.
 *  - A change of a BootstrapCredential input is replayed as the engine does it: the provider's `diff` decides; a
 *    replace runs `create(news)` and then `delete(olds)` (create before delete), otherwise `update(olds, news)`.
 *    The provider methods run through the dynamic provider host's data path, against moto through the wire proxy.
 */
import { ofType, resetRecorded, settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import {
    IAMClient,
    CreateUserCommand,
    CreateAccessKeyCommand,
    ListAccessKeysCommand,
    ListUserTagsCommand,
    TagUserCommand,
    UntagUserCommand,
} from "@aws-sdk/client-iam";
import { SecretsManagerClient, CreateSecretCommand, GetSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { SSMClient, AddTagsToResourceCommand, GetParameterCommand, PutParameterCommand } from "@aws-sdk/client-ssm";
import { EmailServerFleet, SmtpCredentialRotator } from "../components";
import { bootstrapCredentialProvider, BootstrapCredentialInputs, BootstrapCredentialOutputs } from "../components/providers/bootstrap-credential";
import { serializeCredential, parseCredential } from "../runtime/credential";
import { smtpCredentialForKey } from "../runtime/access-keys";
import { listRetirements, scheduleRetirement } from "../runtime/retirement";
import { scannedLogger } from "./support/leak-scanner";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { hosted } from "./support/dynamic-provider-host";
import { optionsOf } from "./support/registration-options";

const region = "us-east-1";
const provider = hosted(bootstrapCredentialProvider);
const iam = () => new IAMClient(clientConfig(region));
const ssm = () => new SSMClient(clientConfig(region));
const sm = () => new SecretsManagerClient(clientConfig(region));

async function tagsOf(userName: string): Promise<Record<string, string>> {
    const out = await iam().send(new ListUserTagsCommand({ UserName: userName }));
    return Object.fromEntries((out.Tags ?? []).map((t) => [t.Key!, t.Value!]));
}

/**
 * `pulumi refresh` then `pulumi up` for the IAM user's `tags` (see the file comment for what is modelled). Two
 * refresh variants: the refresh writes the live tags into the state's inputs and outputs (bridged providers extract
 * inputs from what they read), or, for a property in `ignoreChanges`, the engine keeps the state's value (pulumi
 * PR #16146, engine 3.120+). The user was created with `declared`, so that is the state before the refresh.
 */
async function refreshThenUp(userName: string, declared: Record<string, string>, ignoreChanges: string[], refresh: "writes-live" | "keeps-ignored"): Promise<void> {
    const ignored = ignoreChanges.includes("tags");
    const live = await tagsOf(userName);
    const afterRefresh = refresh === "keeps-ignored" && ignored ? declared : live;
    const state = { inputs: { tags: afterRefresh }, outputs: { tags: afterRefresh } };
    const news = ignored ? state.inputs.tags : declared; // the update's inputs
    // The AWS provider diffs the new inputs against the state and sends the difference.
    const removed = Object.keys(state.outputs.tags).filter((k) => !(k in news));
    const changed = Object.entries(news).filter(([k, v]) => state.outputs.tags[k] !== v);
    if (removed.length) await iam().send(new UntagUserCommand({ UserName: userName, TagKeys: removed }));
    if (changed.length) await iam().send(new TagUserCommand({ UserName: userName, Tags: changed.map(([Key, Value]) => ({ Key, Value })) }));
}

async function keysOf(userName: string): Promise<{ id: string; status: string }[]> {
    const out = await iam().send(new ListAccessKeysCommand({ UserName: userName }));
    return (out.AccessKeyMetadata ?? []).map((k) => ({ id: k.AccessKeyId!, status: k.Status! }));
}

/** The engine's handling of a changed input (see the file comment). */
async function engineApplies(olds: BootstrapCredentialOutputs, news: BootstrapCredentialInputs): Promise<BootstrapCredentialOutputs> {
    const d = await provider.diff(olds.accessKeyId, olds, news);
    if (!d.changes) return olds;
    if (d.replaces && d.replaces.length > 0) {
        const created = await provider.create(news);
        await provider.delete(olds.accessKeyId, olds);
        return created.outs!;
    }
    return (await provider.update(olds.accessKeyId, olds, news)).outs!;
}

/** What a manual rotation's CreateCredential does: a new key, written as the parameter's next version. */
async function rotateManually(userName: string, parameterName: string): Promise<string> {
    const key = (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
    const value = smtpCredentialForKey({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }, { sesRegion: region });
    await ssm().send(new PutParameterCommand({ Name: parameterName, Value: serializeCredential(value), Type: "SecureString", Overwrite: true }));
    return key.AccessKeyId!;
}

async function storedKey(parameterName: string): Promise<string | undefined> {
    const out = await ssm().send(new GetParameterCommand({ Name: parameterName, WithDecryption: true }));
    return parseCredential(out.Parameter?.Value)?.username;
}

async function parameterExists(name: string): Promise<boolean> {
    try {
        await ssm().send(new GetParameterCommand({ Name: name }));
        return true;
    } catch (e) {
        if ((e as Error).name === "ParameterNotFound") return false;
        throw e;
    }
}

function manualInputs(userName: string, parameterName: string): BootstrapCredentialInputs {
    return { mode: "manual", region, iamUserName: userName, sesRegion: region, parameterName };
}

describe("a pulumi up life against moto: refresh, parameter ownership, changed stores", function () {
    this.timeout(120000);
    beforeEach(resetAws);

    describe("issue 13 item 2: pulumi refresh then pulumi up", () => {
        let userIgnoreChanges: string[];
        let declaredTags: Record<string, string>;
        before(async () => {
            resetRecorded();
            const fleet = new EmailServerFleet("life-fleet", { selector: { table: { create: true } } } as any);
            new SmtpCredentialRotator("life", { sesRegion: region, sesIdentities: ["example.com"], fleet, tags: { team: "mail" } } as any);
            await settled();
            const user = ofType("aws:iam/user:User").find((u) => u.name === "life-smtp")!;
            userIgnoreChanges = optionsOf(user).ignoreChanges;
            declaredTags = user.inputs.tags;
        });

        async function userWithRecord(): Promise<{ userName: string; oldKey: string }> {
            const userName = "life-smtp-1234567";
            // The AWS provider's create: the user with the declared tags.
            await iam().send(new CreateUserCommand({ UserName: userName, Tags: Object.entries(declaredTags).map(([Key, Value]) => ({ Key, Value })) }));
            const oldKey = (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!.AccessKeyId!;
            const newKey = (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!.AccessKeyId!;
            // A rotation switched the servers and recorded the old key's retirement in the user's tags.
            await scheduleRetirement({ iam: iam(), log: scannedLogger("retirement") }, { userName, oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: new Date(), observationHours: 24 });
            return { userName, oldKey };
        }

        for (const refresh of ["writes-live", "keeps-ignored"] as const) {
            it(`the retirement record survives refresh + up with the options the rotator emits; the declared tags stay (refresh ${refresh})`, async () => {
                const { userName, oldKey } = await userWithRecord();
                await refreshThenUp(userName, declaredTags, userIgnoreChanges, refresh);
                assert.deepStrictEqual((await listRetirements(iam(), userName)).map((r) => r.accessKeyId), [oldKey], "the record is still there");
                const tags = await tagsOf(userName);
                for (const [k, v] of Object.entries(declaredTags)) assert.strictEqual(tags[k], v, `declared tag ${k}`);
            });
        }

        it("the model is not vacuous: without ignoreChanges the same replay erases the record (the reported bug)", async () => {
            const { userName } = await userWithRecord();
            await refreshThenUp(userName, declaredTags, [], "writes-live");
            assert.deepStrictEqual(await listRetirements(iam(), userName), []);
        });
    });

    describe("issue 13 item 3 + issue 12 item 11: the manual parameter belongs to one rotator", () => {
        it("an existing parameter the rotator did not create is refused, naming the input; nothing is overwritten and no key is made", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            await ssm().send(new PutParameterCommand({ Name: "/payments/db/password", Value: "db-password-value", Type: "SecureString" }));
            await assert.rejects(provider.create(manualInputs("bu-smtp-a", "/payments/db/password")), (e: Error) => {
                assert.match(e.message, /manualParameterName/);
                assert.match(e.message, /\/payments\/db\/password already exists and was not created by this rotator/);
                return true;
            });
            const kept = await ssm().send(new GetParameterCommand({ Name: "/payments/db/password", WithDecryption: true }));
            assert.strictEqual(kept.Parameter!.Value, "db-password-value");
            assert.strictEqual(kept.Parameter!.Version, 1);
            assert.deepStrictEqual(await keysOf("bu-smtp-a"), [], "refused before a key was made");
        });

        it("two rotators (two stacks of one unit) naming the same parameter: the second is refused, the first keeps its credential", async () => {
            for (const u of ["staging-smtp", "prod-smtp"]) await iam().send(new CreateUserCommand({ UserName: u }));
            const first = await provider.create(manualInputs("staging-smtp", "/ses-smtp/payments/credential"));
            await assert.rejects(provider.create(manualInputs("prod-smtp", "/ses-smtp/payments/credential")), /not created by this rotator \(tag ses-rotator:owner=staging-smtp/);
            assert.strictEqual(await storedKey("/ses-smtp/payments/credential"), first.outs!.accessKeyId);
            assert.deepStrictEqual(await keysOf("prod-smtp"), []);
        });

        it("destroy deletes only a parameter it owns", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            const created = await provider.create(manualInputs("bu-smtp-a", "/ses-smtp/bu/credential"));
            // The name now belongs to someone else (their ownership tag).
            const tag = (Value: string) => new AddTagsToResourceCommand({ ResourceType: "Parameter", ResourceId: "/ses-smtp/bu/credential", Tags: [{ Key: "ses-rotator:owner", Value }] });
            await ssm().send(tag("someone-else"));
            await provider.delete(created.id, created.outs!);
            assert.ok(await parameterExists("/ses-smtp/bu/credential"), "a parameter owned by someone else is left alone");
            await ssm().send(tag("bu-smtp-a"));
            await provider.delete(created.id, created.outs!);
            assert.strictEqual(await parameterExists("/ses-smtp/bu/credential"), false, "its own is deleted");
        });
    });

    describe("issue 13 item 4: a changed store carries the live key over", () => {
        it("manual: a new parameter name moves the live credential; no key is deleted; the old parameter goes after", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            const created = await provider.create(manualInputs("bu-smtp-a", "/ses-smtp/bu/old/credential"));
            const live = created.outs!.accessKeyId;
            const outs = await engineApplies(created.outs!, manualInputs("bu-smtp-a", "/ses-smtp/bu/new/credential"));
            assert.deepStrictEqual(await keysOf("bu-smtp-a"), [{ id: live, status: "Active" }], "the servers' key is neither deleted nor replaced");
            assert.strictEqual(await storedKey("/ses-smtp/bu/new/credential"), live);
            assert.strictEqual(outs.accessKeyId, live);
            assert.strictEqual(outs.carriedOverFrom, "parameter /ses-smtp/bu/old/credential");
            assert.strictEqual(await parameterExists("/ses-smtp/bu/old/credential"), false);
            // A retry of the same update (e.g. after a lost answer) finds the work done.
            const again = await provider.update(live, created.outs!, manualInputs("bu-smtp-a", "/ses-smtp/bu/new/credential"));
            assert.strictEqual(again.outs!.accessKeyId, live);
            assert.deepStrictEqual((await keysOf("bu-smtp-a")).map((k) => k.id), [live]);
        });

        it("manual, after a rotation: the key the rotation made (not the first key) is carried over", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            const created = await provider.create(manualInputs("bu-smtp-a", "/ses-smtp/bu/old/credential"));
            const rotated = await rotateManually("bu-smtp-a", "/ses-smtp/bu/old/credential");
            const outs = await engineApplies(created.outs!, manualInputs("bu-smtp-a", "/ses-smtp/bu/new/credential"));
            assert.strictEqual(await storedKey("/ses-smtp/bu/new/credential"), rotated);
            assert.strictEqual(outs.accessKeyId, rotated);
            assert.deepStrictEqual((await keysOf("bu-smtp-a")).map((k) => k.id).sort(), [created.outs!.accessKeyId, rotated].sort(), "both keys kept (retirement decides)");
        });

        it("manual: a new name that is someone else's parameter is refused; the old parameter and the key stay", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            const created = await provider.create(manualInputs("bu-smtp-a", "/ses-smtp/bu/credential"));
            await ssm().send(new PutParameterCommand({ Name: "/payments/db/password", Value: "db-password-value", Type: "SecureString" }));
            await assert.rejects(engineApplies(created.outs!, manualInputs("bu-smtp-a", "/payments/db/password")), /manualParameterName.*\/payments\/db\/password already exists/);
            assert.strictEqual((await ssm().send(new GetParameterCommand({ Name: "/payments/db/password", WithDecryption: true }))).Parameter!.Value, "db-password-value");
            assert.strictEqual(await storedKey("/ses-smtp/bu/credential"), created.outs!.accessKeyId);
            assert.deepStrictEqual(await keysOf("bu-smtp-a"), [{ id: created.outs!.accessKeyId, status: "Active" }]);
        });

        it("auto: a replaced secret gets the live credential; the key stays", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            const [s1, s2] = [await sm().send(new CreateSecretCommand({ Name: "cred-1" })), await sm().send(new CreateSecretCommand({ Name: "cred-2" }))];
            const inputs: BootstrapCredentialInputs = { mode: "auto", region, iamUserName: "bu-smtp-a", sesRegion: region, secretArn: s1.ARN! };
            const created = await provider.create(inputs);
            await engineApplies(created.outs!, { ...inputs, secretArn: s2.ARN! });
            const moved = parseCredential((await sm().send(new GetSecretValueCommand({ SecretId: s2.ARN! }))).SecretString);
            assert.strictEqual(moved?.username, created.outs!.accessKeyId);
            assert.deepStrictEqual(await keysOf("bu-smtp-a"), [{ id: created.outs!.accessKeyId, status: "Active" }]);
        });

        it("a replaced IAM user (rename without aliases) is refused at diff, before anything changes", async () => {
            await iam().send(new CreateUserCommand({ UserName: "bu-smtp-a" }));
            const created = await provider.create(manualInputs("bu-smtp-a", "/ses-smtp/bu/credential"));
            await assert.rejects(engineApplies(created.outs!, manualInputs("bu-smtp-b", "/ses-smtp/bu/credential")), /iamUserName changes from bu-smtp-a to bu-smtp-b.*aliases/);
            assert.deepStrictEqual(await keysOf("bu-smtp-a"), [{ id: created.outs!.accessKeyId, status: "Active" }]);
            assert.strictEqual(await storedKey("/ses-smtp/bu/credential"), created.outs!.accessKeyId);
            assert.ok(testEnv().proxy.calls.every((c) => c.operation !== "DeleteAccessKey"));
        });
    });
});
