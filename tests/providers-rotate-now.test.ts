/**
 * RotateNow provider methods called directly, against moto through the wire proxy (real AWS SDK v3 calls).
 * moto's RotateSecret without a rotation Lambda only adds the new version (no Lambda runs here); its
 * Step Functions really starts executions (execute_state_machine is on).
 */
import * as assert from "assert";
import { SecretsManagerClient, CreateSecretCommand, DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { SFNClient, CreateStateMachineCommand, ListExecutionsCommand, DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { hosted, throughWire } from "./support/dynamic-provider-host";
import { rotateNowProvider, RotateNowInputs, RotateNowOutputs, rotationExecutionName } from "../components/providers/rotate-now";
import { UNKNOWN_INPUT } from "../components/providers/provider-support";


/** Called through the host's data path (protobuf Struct conversion, `__provider` present). */
const provider = hosted(rotateNowProvider);
const region = "us-east-1";

async function makeSecret(): Promise<string> {
    const sm = new SecretsManagerClient(clientConfig(region));
    const out = await sm.send(new CreateSecretCommand({ Name: `smtp-cred-${Date.now()}`, SecretString: '{"placeholder":true}' }));
    return out.ARN!;
}

async function makeStateMachine(): Promise<string> {
    const sfn = new SFNClient(clientConfig(region));
    const out = await sfn.send(
        new CreateStateMachineCommand({
            name: "CredentialRotation",
            roleArn: "arn:aws:iam::123456789012:role/sfn",
            definition: JSON.stringify({ StartAt: "Done", States: { Done: { Type: "Pass", End: true } } }),
        }),
    );
    return out.stateMachineArn!;
}

function count(op: string): number {
    return testEnv().proxy.callCounts()[op] ?? 0;
}

describe("providers: RotateNow", () => {
    beforeEach(resetAws);

    it("the host's wire conversion used by these tests refuses undefined outputs, as the real host does", () => {
        assert.throws(() => throughWire({ startedAt: undefined }), /Unexpected struct type/);
    });

    describe("check", () => {
        it("accepts valid auto and manual inputs", async () => {
            const auto = await provider.check!({} as any, { trigger: "x", mode: "auto", region, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:c-AbCdEf" });
            assert.deepStrictEqual(auto.failures, []);
            const manual = await provider.check!({} as any, { trigger: "", mode: "manual", region, stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:CredentialRotation" });
            assert.deepStrictEqual(manual.failures, []);
        });

        it("names each bad property", async () => {
            const r = await provider.check!({} as any, { trigger: 5 as any, mode: "sometimes" as any, region: "eu-west-x" });
            assert.deepStrictEqual(r.failures!.map((f) => f.property).sort(), ["mode", "region", "trigger"]);
            assert.match(r.failures!.find((f) => f.property === "region")!.reason, /region.*eu-west-x/);
        });

        it("requires the target of the mode", async () => {
            const auto = await provider.check!({} as any, { trigger: "x", mode: "auto", region, stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:S" });
            assert.deepStrictEqual(auto.failures!.map((f) => f.property), ["secretArn"]);
            const manual = await provider.check!({} as any, { trigger: "x", mode: "manual", region, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:c" });
            assert.deepStrictEqual(manual.failures!.map((f) => f.property), ["stateMachineArn"]);
        });

        it("accepts values that are unknown during preview", async () => {
            const r = await provider.check!({} as any, { trigger: UNKNOWN_INPUT, mode: "auto", region, secretArn: UNKNOWN_INPUT });
            assert.deepStrictEqual(r.failures, []);
        });
    });

    describe("diff", () => {
        const olds: RotateNowOutputs = { trigger: "a", mode: "auto", region, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:c" };
        it("unchanged trigger: no changes", async () => {
            assert.deepStrictEqual(await provider.diff!("id", olds, { ...olds }), { changes: false, replaces: [], deleteBeforeReplace: false });
        });
        it("changed or unknown trigger: an update (preview shows the rotation), no replacement", async () => {
            assert.deepStrictEqual(await provider.diff!("id", olds, { ...olds, trigger: "b" }), { changes: true, replaces: [], deleteBeforeReplace: false });
            assert.strictEqual((await provider.diff!("id", olds, { ...olds, trigger: UNKNOWN_INPUT })).changes, true);
        });
        it("another target replaces", async () => {
            const d = await provider.diff!("id", olds, { ...olds, secretArn: "arn:aws:secretsmanager:us-east-1:123456789012:secret:other" });
            assert.deepStrictEqual(d.replaces, ["secretArn"]);
        });
    });

    describe("auto mode (RotateSecret)", () => {
        it("create records the baseline without rotating; an unchanged trigger is a no-op", async () => {
            const secretArn = await makeSecret();
            const inputs: RotateNowInputs = { trigger: "first", mode: "auto", region, secretArn };
            const created = await provider.create(inputs);
            assert.strictEqual(created.outs!.rotationVersionId, undefined);
            const same = await provider.update!(created.id, created.outs!, { ...inputs });
            assert.strictEqual(same.outs!.rotationVersionId, undefined);
            assert.strictEqual(count("secretsmanager:RotateSecret"), 0);
        });

        it("a changed trigger starts one rotation and records its version id; a retry after a crash does not start another", async () => {
            const secretArn = await makeSecret();
            const olds = (await provider.create({ trigger: "first", mode: "auto", region, secretArn })).outs!;
            const news: RotateNowInputs = { trigger: "2026-11-29", mode: "auto", region, secretArn };
            const updated = (await provider.update!("id", olds, news)).outs!;
            assert.match(updated.rotationVersionId!, /^[0-9a-f-]{36}$/);
            assert.strictEqual(updated.startedForTrigger, "2026-11-29");
            assert.ok(!isNaN(Date.parse(updated.startedAt!)));
            const stages = (await new SecretsManagerClient(clientConfig(region)).send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages!;
            // moto, with no rotation Lambda to run, labels the new version itself (AWS would run the Lambda).
            assert.ok(stages[updated.rotationVersionId!], "RotateSecret made the version with our token");
            assert.strictEqual(count("secretsmanager:RotateSecret"), 1);

            // The engine did not record the result (crash): it calls update with the same olds again.
            const retried = (await provider.update!("id", olds, news)).outs!;
            assert.strictEqual(retried.rotationVersionId, updated.rotationVersionId);
            assert.strictEqual(count("secretsmanager:RotateSecret"), 1);

            // The next change starts a new rotation.
            const next = (await provider.update!("id", updated, { ...news, trigger: "again" })).outs!;
            assert.notStrictEqual(next.rotationVersionId, updated.rotationVersionId);
            assert.strictEqual(count("secretsmanager:RotateSecret"), 2);
        });

        it("a refused RotateSecret fails the update with a message naming the secret", async () => {
            const secretArn = await makeSecret();
            testEnv().proxy.addFault({ service: "secretsmanager", operation: "RotateSecret", kind: "error", code: "InvalidRequestException", message: "A previous rotation isn't complete" });
            const olds = (await provider.create({ trigger: "a", mode: "auto", region, secretArn })).outs!;
            await assert.rejects(provider.update!("id", olds, { ...olds, trigger: "b" }), (e: Error) => e.message.includes(secretArn) && /previous rotation/.test(e.message));
        });
    });

    describe("manual mode (StartExecution)", () => {
        it("a changed trigger starts one named execution with the trigger in its input; a retry finds it", async () => {
            const stateMachineArn = await makeStateMachine();
            const olds = (await provider.create({ trigger: "", mode: "manual", region, stateMachineArn, executionInput: { ticket: "CHG-1" } })).outs!;
            const news: RotateNowInputs = { trigger: "now", mode: "manual", region, stateMachineArn, executionInput: { ticket: "CHG-1" } };
            const updated = (await provider.update!("id", olds, news)).outs!;
            assert.match(updated.executionArn!, /:execution:CredentialRotation:password-rotation-\d{2}-\d{2}-\d{2}-[0-9a-f]{10}$/);
            const sfn = new SFNClient(clientConfig(region));
            const described = await sfn.send(new DescribeExecutionCommand({ executionArn: updated.executionArn }));
            const input = JSON.parse(described.input!);
            assert.deepStrictEqual(input, { ticket: "CHG-1", trigger: "on-demand", requestId: input.requestId, rotateNow: "now", requestedBy: "pulumi up (RotateNow)" });
            assert.match(input.requestId, /^rotate-now-[0-9a-f]{10}$/);

            const retried = (await provider.update!("id", olds, news)).outs!;
            assert.strictEqual(retried.executionArn, updated.executionArn);
            const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
            assert.strictEqual(executions.executions!.length, 1);
            assert.strictEqual(count("states:StartExecution"), 1);
        });

        it("names executions password-rotation-dd-mm-yy-<suffix>, UTC or the given time zone", () => {
            assert.strictEqual(rotationExecutionName(new Date("2026-01-05T23:30:00Z"), "abc"), "password-rotation-05-01-26-abc");
            assert.strictEqual(rotationExecutionName(new Date("2026-01-05T23:30:00Z"), "abc", "Europe/Berlin"), "password-rotation-06-01-26-abc");
        });

        it("check names a bad time zone", async () => {
            const r = await provider.check!({} as any, { trigger: "", mode: "manual", region, stateMachineArn: "arn:aws:states:us-east-1:123456789012:stateMachine:S", timeZone: "Mars/Olympus" });
            assert.deepStrictEqual(r.failures!.map((f) => f.property), ["timeZone"]);
        });

        it("delete leaves the started execution alone", async () => {
            const stateMachineArn = await makeStateMachine();
            const olds = (await provider.create({ trigger: "", mode: "manual", region, stateMachineArn })).outs!;
            const updated = (await provider.update!("id", olds, { ...olds, trigger: "x" })).outs!;
            await provider.delete!("id", updated);
            const read = await provider.read!("id", updated);
            assert.deepStrictEqual(read.props, updated);
            const executions = await new SFNClient(clientConfig(region)).send(new ListExecutionsCommand({ stateMachineArn }));
            assert.strictEqual(executions.executions!.length, 1);
        });
    });
});
