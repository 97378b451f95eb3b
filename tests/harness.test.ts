import * as assert from "assert";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, GetAccessKeyLastUsedCommand } from "@aws-sdk/client-iam";
import { SSMClient, SendCommandCommand, ListCommandsCommand, ListCommandInvocationsCommand } from "@aws-sdk/client-ssm";
import { clientConfig, resetAws, testEnv } from "./support/hooks";

describe("test harness: moto behind the wire proxy", () => {
    beforeEach(resetAws);

    it("forwards IAM calls to moto and records them", async () => {
        const iam = new IAMClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: "harness" }));
        const key = await iam.send(new CreateAccessKeyCommand({ UserName: "harness" }));
        assert.match(key.AccessKey!.AccessKeyId!, /^AKIA/);
        assert.strictEqual(testEnv().proxy.callCounts()["iam:CreateAccessKey"], 1);
    });

    it("injects a fault at the wire and the SDK sees the AWS error code", async () => {
        testEnv().proxy.addFault({ service: "iam", operation: "CreateUser", kind: "error", code: "Throttling", times: 1 });
        const iam = new IAMClient(clientConfig());
        await assert.rejects(iam.send(new CreateUserCommand({ UserName: "t" })), (e: any) => e.name === "Throttling");
        await iam.send(new CreateUserCommand({ UserName: "t" }));
    });

    it("serves ListCommandInvocations (absent in moto) and overlays agent results", async () => {
        const ssm = new SSMClient(clientConfig());
        const sent = await ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ["mi-0123456789abcdef0", "i-0123456789abcdef0"], Parameters: { commands: ["true"] } }));
        const id = sent.Command!.CommandId!;
        testEnv().proxy.setInvocation(id, "mi-0123456789abcdef0", { status: "Failed", responseCode: 3, stderr: "boom" });
        const list = await ssm.send(new ListCommandInvocationsCommand({ CommandId: id, Details: true }));
        const byId = Object.fromEntries(list.CommandInvocations!.map((i) => [i.InstanceId, i.Status]));
        assert.deepStrictEqual(byId, { "i-0123456789abcdef0": "Success", "mi-0123456789abcdef0": "Failed" });
        const cmds = await ssm.send(new ListCommandsCommand({ CommandId: id }));
        assert.strictEqual(cmds.Commands![0].Status, "Failed");
        assert.strictEqual(cmds.Commands![0].ErrorCount, 1);
    });

    it("applies ListCommands' ExecutionStage filter (moto ignores filters): Executing = still running, Complete = finished", async () => {
        const ssm = new SSMClient(clientConfig());
        testEnv().proxy.agentMode = true;
        const send = async (instance: string) => (await ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: [instance], Parameters: { commands: ["true"] } }))).Command!.CommandId!;
        const [running, failed, succeeded] = [await send("mi-0000000000000000a"), await send("mi-0000000000000000b"), await send("mi-0000000000000000c")];
        testEnv().proxy.setInvocation(failed, "mi-0000000000000000b", { status: "Failed", responseCode: 1 });
        testEnv().proxy.setInvocation(succeeded, "mi-0000000000000000c", { status: "Success", responseCode: 0 });
        const stage = async (value: string) => ((await ssm.send(new ListCommandsCommand({ Filters: [{ key: "ExecutionStage", value }] }))).Commands ?? []).map((c) => c.CommandId).sort();
        assert.deepStrictEqual(await stage("Executing"), [running]);
        assert.deepStrictEqual(await stage("Complete"), [failed, succeeded].sort());
    });

    it("overlays IAM's last-used report for a key", async () => {
        const iam = new IAMClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: "u" }));
        const key = await iam.send(new CreateAccessKeyCommand({ UserName: "u" }));
        const when = new Date("2026-11-01T10:00:00Z");
        testEnv().proxy.setKeyLastUsed(key.AccessKey!.AccessKeyId!, { lastUsedDate: when, serviceName: "ses", region: "eu-west-1" });
        const used = await iam.send(new GetAccessKeyLastUsedCommand({ AccessKeyId: key.AccessKey!.AccessKeyId! }));
        assert.strictEqual(used.AccessKeyLastUsed!.ServiceName, "ses");
        assert.strictEqual(used.AccessKeyLastUsed!.LastUsedDate!.toISOString(), when.toISOString());
    });
});
