/**
 * Manual mode's Lambda code as Pulumi ships it: the factories closure-serialized the way
 * `aws.lambda.CallbackFunction` does, written as `__index.js` and loaded in a fresh `node` process whose only
 * packages are the `@aws-sdk/*` clients (standing in for the nodejs22.x runtime). Each handler then runs once
 * against moto through the test proxy.
 */
import { settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand, ListExecutionsCommand, SFNClient } from "@aws-sdk/client-sfn";
import { confirmationApiFactory, starterFactory } from "../components/manual/lambdas";
import { clientConfig, resetAws, testEnv, childAwsEnv } from "./support/hooks";

const ROOT = path.join(__dirname, "..");

async function serializedDir(factory: () => unknown): Promise<{ dir: string; text: string }> {
    const serialized = await pulumi.runtime.serializeFunction(factory as any, { serialize: () => true, exportName: "handler", isFactoryFunction: true, allowSecrets: true });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "manual-lambda-"));
    fs.writeFileSync(path.join(dir, "__index.js"), serialized.text);
    // Only the AWS SDK is resolvable from the archive, as in the nodejs22.x runtime (its own dependencies
    // resolve from its real location).
    fs.mkdirSync(path.join(dir, "node_modules"));
    fs.symlinkSync(path.join(ROOT, "node_modules", "@aws-sdk"), path.join(dir, "node_modules", "@aws-sdk"));
    return { dir, text: serialized.text };
}

function invoke(dir: string, env: Record<string, string>, event: object): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const script = `require(${JSON.stringify(path.join(dir, "__index.js"))}).handler(${JSON.stringify(event)})
        .then((r) => console.log("RESULT " + JSON.stringify(r)))
        .catch((e) => { console.error("REJECTED " + e.message); process.exitCode = 1; });`;
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["-e", script], { cwd: dir, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
    });
}


describe("manual mode Lambda archives load and run in a fresh node", function () {
    this.timeout(180000);
    before(settled);
    beforeEach(resetAws);

    it("the starter names and starts CredentialRotation", async () => {
        const sfn = new SFNClient(clientConfig());
        const sm = await sfn.send(
            new CreateStateMachineCommand({ name: "CredentialRotation", roleArn: "arn:aws:iam::123456789012:role/x", definition: JSON.stringify({ StartAt: "W", States: { W: { Type: "Wait", Seconds: 30, End: true } } }) }),
        );
        const { dir, text } = await serializedDir(starterFactory);
        assert.ok(!/require\("@pulumi/.test(text), "nothing of Pulumi in the archive");
        const out = await invoke(dir, childAwsEnv({ STATE_MACHINE_ARN: sm.stateMachineArn!, TIME_ZONE: "Europe/Berlin" }), { scheduledTime: "2026-12-31T23:30:00Z" });
        assert.strictEqual(out.code, 0, out.stderr);
        // 23:30 UTC on 31 Dec is already 1 Jan in Berlin.
        assert.match(out.stdout, /RESULT .*"name":"password-rotation-01-01-27"/);
        const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: sm.stateMachineArn! }));
        assert.deepStrictEqual(executions.executions!.map((e) => e.name), ["password-rotation-01-01-27"]);
    });

    it("the confirmation API answers a forged link with a 404 page", async () => {
        const dynamodb = new DynamoDBClient(clientConfig());
        await dynamodb.send(
            new CreateTableCommand({ TableName: "confirmations", BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }], KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }] }),
        );
        const { dir } = await serializedDir(confirmationApiFactory);
        const id = "A".repeat(43);
        const out = await invoke(dir, childAwsEnv({ CONFIRMATION_TABLE: "confirmations" }), { rawPath: `/confirm/${id}`, pathParameters: { id }, requestContext: { http: { method: "POST" } }, body: "action=confirm" });
        assert.strictEqual(out.code, 0, out.stderr);
        assert.match(out.stdout, /RESULT \{"statusCode":404/);
        assert.ok(testEnv().proxy.calls.some((c) => c.service === "dynamodb" && c.operation === "GetItem"), "the archived handler reached DynamoDB");
    });
});
