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
import { IAMClient, CreateUserCommand, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { SecretsManagerClient, CreateSecretCommand, DescribeSecretCommand } from "@aws-sdk/client-secrets-manager";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { RotateNow } from "../components/providers/rotate-now";
import { BootstrapCredential } from "../components/providers/bootstrap-credential";

const projectDir = path.resolve(__dirname, "..");
const region = "us-east-1";
/** Upper bound for one provider's serialized text: the runtime helpers it uses, not whole modules. */
const MAX_PROVIDER_TEXT_BYTES = 100 * 1024;

/** Loads the provider text like the Pulumi host and calls one method; prints the JSON result. */
const LOADER = `
const fs = require("fs");
const [file, method, argsJson] = process.argv.slice(1);
const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
const provider = requireFromString(fs.readFileSync(file, "utf8")).handler();
const methods = ["check", "diff", "create", "read", "update", "delete"].filter((m) => typeof provider[m] === "function");
if (method === "methods") { process.stdout.write(JSON.stringify(methods)); process.exit(0); }
provider[method](...JSON.parse(argsJson)).then(
  (r) => process.stdout.write(JSON.stringify(r === undefined ? null : r)),
  (e) => { process.stderr.write(String(e && e.stack || e)); process.exit(3); });
`;

let tmpDir: string;

/** Runs one provider method in a fresh node process; resolves with its JSON result. */
function inFreshProcess(providerFile: string, method: string, args: unknown[] = []): Promise<any> {
    return new Promise((resolve, reject) => {
        execFile(
            process.execPath,
            ["-e", LOADER, providerFile, method, JSON.stringify(args)],
            {
                cwd: projectDir,
                env: { ...process.env, AWS_ENDPOINT_URL: testEnv().endpoint, AWS_REGION: region, NODE_OPTIONS: "" },
                timeout: 60000,
            },
            (err, stdout, stderr) => (err ? reject(new Error(`${method} failed in a fresh process: ${stderr || err.message}`)) : resolve(JSON.parse(stdout))),
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
});
