/**
 * The `__provider` text Pulumi stores for each dynamic resource, captured under `pulumi.runtime.setMocks`
 * (real closure serialization, mocked engine), written to a temp file and loaded in a FRESH `node` process
 * the way @pulumi/pulumi's dynamic provider host loads it (`require-from-string` + `.handler()`, working
 * directory = the project). The fresh process then runs provider methods against moto through the proxy:
 * proof that SDK modules are required inside the methods and every runtime helper was captured.
 * Each text's size is printed (and bounded: no huge modules pulled in).
 */
import { recorded, resetRecorded, settled, ofType } from "./support/pulumi-mocks";
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { execFile } from "child_process";
import { IAMClient, CreateUserCommand, CreateAccessKeyCommand, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { SecretsManagerClient, CreateSecretCommand, DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { RotateNow } from "../components/providers/rotate-now";
import { BootstrapCredential } from "../components/providers/bootstrap-credential";
import { RetirementGuard } from "../components/providers/retirement-guard";
import { retirementLambdaFactory } from "../components/providers/retirement-lambda";
import { scheduleRetirement } from "../runtime/retirement";
import { smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential } from "../runtime/credential";

/** A secret whose AWSCURRENT names `key`: the store the retirement re-reads before every deactivate and delete. */
async function secretNaming(key: { AccessKeyId?: string; SecretAccessKey?: string }, name: string): Promise<string> {
    const value = serializeCredential(smtpCredentialForKey({ accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! }, { sesRegion: "eu-west-1" }));
    return (await new SecretsManagerClient(clientConfig("us-east-1")).send(new CreateSecretCommand({ Name: `${name}-smtp`, SecretString: value }))).ARN!;
}
import { scannedLogger } from "./support/leak-scanner";
import * as pulumi from "@pulumi/pulumi";

const projectDir = path.resolve(__dirname, "..");
const region = "us-east-1";
/** Upper bound for one provider's serialized text: the runtime helpers it uses, not whole modules. */
const MAX_PROVIDER_TEXT_BYTES = 100 * 1024;

/** Loads the text like the Pulumi host (provider: `.handler()` returns it) or the Lambda runtime (`.handler(event)`); prints the JSON result. */
const RESULT_MARKER = "@@provider-result@@";
const LOADER = `
const RESULT_MARKER = ${JSON.stringify(RESULT_MARKER)};
const fs = require("fs");
const [file, method, argsJson] = process.argv.slice(1);
const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
const loaded = requireFromString(fs.readFileSync(file, "utf8"));
const print = (r) => process.stdout.write("\\n" + RESULT_MARKER + JSON.stringify(r === undefined ? null : r));
const fail = (e) => { process.stderr.write(String((e && e.stack) || e)); process.exit(3); };
if (method === "lambda") {
  loaded.handler(...JSON.parse(argsJson)).then(print, fail);
} else {
  const provider = loaded.handler();
  const methods = ["check", "diff", "create", "read", "update", "delete"].filter((m) => typeof provider[m] === "function");
  if (method === "methods") print(methods);
  else provider[method](...JSON.parse(argsJson)).then(print, fail);
}
`;

let tmpDir: string;
/** what the last fresh process wrote to stdout before its result (e.g. the Lambda's JSON log lines) */
let lastLogs = "";

/** Runs one provider method in a fresh node process; resolves with its JSON result. */
function inFreshProcess(providerFile: string, method: string, args: unknown[] = [], extraEnv: Record<string, string> = {}): Promise<any> {
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            ["-e", LOADER, providerFile, method, JSON.stringify(args)],
            {
                cwd: projectDir,
                env: { ...process.env, AWS_ENDPOINT_URL: testEnv().endpoint, AWS_REGION: region, NODE_OPTIONS: "", ...extraEnv },
                timeout: 60000,
            },
            (err, stdout, stderr) => {
                if (err) return reject(new Error(`${method} failed in a fresh process: ${stderr || err.message}`));
                lastLogs = stdout.slice(0, stdout.lastIndexOf(RESULT_MARKER));
                resolve(JSON.parse(stdout.slice(stdout.lastIndexOf(RESULT_MARKER) + RESULT_MARKER.length)));
            },
        );
    });
}

/** Builds the resource under mocks and writes its `__provider` text to a temp file. */
async function serializedProvider(type: string, build: () => void): Promise<{ file: string; text: string }> {
    resetRecorded();
    build();
    await settled();
    const [res] = ofType(type, recorded());
    assert.ok(res, `${type} was registered`);
    const text: string = res.inputs.__provider;
    assert.strictEqual(typeof text, "string");
    const file = path.join(tmpDir, `${type.split(":").pop()}.js`);
    fs.writeFileSync(file, text);
    console.log(`      ${type}: __provider text ${(Buffer.byteLength(text) / 1024).toFixed(1)} KiB`);
    return { file, text };
}

function assertLean(text: string): void {
    assert.ok(Buffer.byteLength(text) < MAX_PROVIDER_TEXT_BYTES, `provider text is ${Buffer.byteLength(text)} bytes`);
    assert.ok(!/require\("@pulumi\//.test(text), "no @pulumi module in the provider text");
    assert.ok(!/require\("\.{1,2}\//.test(text), "no relative require (local modules must be captured by value)");
}

describe("providers: serialized __provider text loads and runs in a fresh process", function () {
    this.timeout(120000);
    before(() => {
        tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), "ses-rotator-providers-"));
    });
    after(() => fs.rmSync(tmpDir, { recursive: true, force: true }));
    beforeEach(resetAws);

    it("RotateNow: type token, lean text, and a trigger change starts RotateSecret from the fresh process", async () => {
        const sm = new SecretsManagerClient(clientConfig(region));
        const secretArn = (await sm.send(new CreateSecretCommand({ Name: "serialized-rotate-now", SecretString: "{}" }))).ARN!;
        const { file, text } = await serializedProvider("pulumi-nodejs:dynamic/ses-rotator:RotateNow", () => {
            new RotateNow("rotate-now", { trigger: "a", mode: "auto", region, secretArn });
        });
        assertLean(text);
        assert.deepStrictEqual(await inFreshProcess(file, "methods"), ["check", "diff", "create", "read", "update", "delete"]);
        const checked = await inFreshProcess(file, "check", [{}, { trigger: "a", mode: "auto", region: "nowhere" }]);
        assert.deepStrictEqual(checked.failures.map((f: any) => f.property).sort(), ["region", "secretArn"]);
        const olds = { trigger: "a", mode: "auto", region, secretArn };
        const updated = await inFreshProcess(file, "update", ["id", olds, { ...olds, trigger: "b" }]);
        const stages = (await sm.send(new DescribeSecretCommand({ SecretId: secretArn }))).VersionIdsToStages!;
        assert.ok(stages[updated.outs.rotationVersionId], "the rotation started by the fresh process is on the secret");
    });

    it("BootstrapCredential: lean text, and create/delete from the fresh process make and remove the key", async () => {
        const iam = new IAMClient(clientConfig(region));
        await iam.send(new CreateUserCommand({ UserName: "serialized-bootstrap" }));
        const secretArn = (await new SecretsManagerClient(clientConfig(region)).send(new CreateSecretCommand({ Name: "serialized-bootstrap" }))).ARN!;
        const inputs = { mode: "auto", region, iamUserName: "serialized-bootstrap", sesRegion: "eu-west-1", secretArn };
        const { file, text } = await serializedProvider("pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential", () => {
            new BootstrapCredential("bootstrap", inputs as any);
        });
        assertLean(text);
        const created = await inFreshProcess(file, "create", [inputs]);
        const keys = async () => (await iam.send(new ListAccessKeysCommand({ UserName: "serialized-bootstrap" }))).AccessKeyMetadata!.map((k) => k.AccessKeyId);
        assert.deepStrictEqual(await keys(), [created.id]);
        assert.deepStrictEqual(Object.keys(created.outs).sort(), [...Object.keys(inputs), "accessKeyId", "accessKeyStatus", "adopted", "credentialArn", "credentialVersion"].sort());
        await inFreshProcess(file, "delete", [created.id, created.outs]);
        assert.deepStrictEqual(await keys(), []);
    });

    it("RetirementGuard: lean text, and create from the fresh process advances a due retirement", async () => {
        const iam = new IAMClient(clientConfig(region));
        await iam.send(new CreateUserCommand({ UserName: "serialized-guard" }));
        const created2 = [await iam.send(new CreateAccessKeyCommand({ UserName: "serialized-guard" })), await iam.send(new CreateAccessKeyCommand({ UserName: "serialized-guard" }))].map((r) => r.AccessKey!);
        const [oldKey, newKey] = created2.map((k) => k.AccessKeyId!);
        const secretArn = await secretNaming(created2[1], "serialized-guard");
        await scheduleRetirement({ iam, log: scannedLogger("retirement") }, { userName: "serialized-guard", oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: new Date(Date.now() - 60_000), observationHours: 0 });
        const inputs = { iamUserName: "serialized-guard", region, secretArn, observationHours: 0, graceDays: 3 };
        const { file, text } = await serializedProvider("pulumi-nodejs:dynamic/ses-rotator:RetirementGuard", () => {
            new RetirementGuard("guard", inputs);
        });
        assertLean(text);
        const created = await inFreshProcess(file, "create", [inputs]);
        assert.deepStrictEqual(created.outs.retirements.map((r: any) => [r.accessKeyId, r.phase]), [[oldKey, "deactivated"]]);
    });

    it("retirement Lambda (callbackFactory): the serialized handler runs in a fresh process and advances retirements", async () => {
        const iam = new IAMClient(clientConfig(region));
        await iam.send(new CreateUserCommand({ UserName: "scheduled-retire" }));
        const created2 = [await iam.send(new CreateAccessKeyCommand({ UserName: "scheduled-retire" })), await iam.send(new CreateAccessKeyCommand({ UserName: "scheduled-retire" }))].map((r) => r.AccessKey!);
        const [oldKey, newKey] = created2.map((k) => k.AccessKeyId!);
        const secretArn = await secretNaming(created2[1], "scheduled-retire");
        await scheduleRetirement({ iam, log: scannedLogger("retirement") }, { userName: "scheduled-retire", oldAccessKeyId: oldKey, newAccessKeyId: newKey, switchedAt: new Date(Date.now() - 60_000), observationHours: 0 });
        const serialized = await pulumi.runtime.serializeFunction(retirementLambdaFactory, { isFactoryFunction: true });
        assertLean(serialized.text);
        const file = path.join(tmpDir, "retirement-lambda.js");
        fs.writeFileSync(file, serialized.text);
        console.log(`      retirement Lambda handler text ${(Buffer.byteLength(serialized.text) / 1024).toFixed(1)} KiB`);
        const env = { IAM_USER_NAME: "scheduled-retire", RETIRE_OBSERVATION_HOURS: "0", RETIRE_GRACE_DAYS: "0", SECRET_ARN: secretArn };
        const report = await inFreshProcess(file, "lambda", [{ source: "aws.scheduler" }, {}], env);
        assert.deepStrictEqual(report.keys.map((k: any) => [k.accessKeyId, k.action]), [[oldKey, "deleted"]]);
        const left = (await iam.send(new ListAccessKeysCommand({ UserName: "scheduled-retire" }))).AccessKeyMetadata!.map((k) => k.AccessKeyId);
        assert.deepStrictEqual(left, [newKey]);
        assert.match(lastLogs, /"msg":"retirement check"/);
    });
});
