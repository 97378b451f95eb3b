/**
 * The rotation Lambda's archive, built the way `aws.lambda.CallbackFunction` builds it: the factory the
 * component uses (`rotationLambdaFactory`) closure-serialized with the same options, plus the node_modules
 * packages `computeCodePaths` selects with the component's `codePathOptions`.
 *
 * The serialized text is written as `__index.js` next to exactly those packages and loaded in a fresh `node`
 * process whose only other modules are the `@aws-sdk/*` clients (standing in for the nodejs22.x runtime,
 * which provides SDK v3). It runs real rotation steps against moto through the test proxy.
 * The zipped archive size is printed (and bounded).
 */
import { settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { builtinModules } from "module";
import { rotationLambdaEnvironment } from "../components/auto-rotation";
import { lambdaCodePathOptions, rotationLambdaFactory } from "../components/rotation-lambda";
import { validateRotatorArgs } from "../components/settings";
import { argsLabel } from "../components/validation";
import { resetAws, testEnv } from "./support/hooks";
import { FLEET, RotationWorld, SES_REGION, USER } from "./support/rotation-driver";
import type { SesEndpoint } from "./support/ses-endpoint";

const ROOT = path.join(__dirname, "..");

interface RunResult {
    code: number | null;
    stdout: string;
    stderr: string;
}

/** Loads `<dir>/__index.js` in a fresh node process and calls `handler(event)` once. */
function invokeInFreshNode(dir: string, env: Record<string, string>, event: object): Promise<RunResult> {
    const script = `
        const mod = require(${JSON.stringify(path.join(dir, "__index.js"))});
        mod.handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 600000 })
            .then(() => { console.log("HANDLER-RESOLVED"); })
            .catch((e) => { console.error("HANDLER-REJECTED " + e.message); process.exitCode = 1; });`;
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

/** Package names a serialized text requires (not Node built-ins). */
function requiredPackages(text: string): string[] {
    const names = new Set<string>();
    for (const m of text.matchAll(/require\("([^"]+)"\)/g)) {
        const spec = m[1].replace(/^node:/, "");
        if (builtinModules.includes(spec) || builtinModules.includes(spec.split("/")[0])) continue;
        const parts = spec.split("/");
        names.add(spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]);
    }
    return [...names].sort();
}

describe("rotation Lambda archive", function () {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-lambda-"));
    const archiveDir = path.join(workDir, "archive");
    const sdkRuntimeDir = path.join(workDir, "lambda-runtime", "node_modules");
    let text = "";
    let archivePackages: string[] = [];

    before(async () => {
        await settled(); // nothing of another file's Pulumi work may still be running
        const serialized = await pulumi.runtime.serializeFunction(rotationLambdaFactory, {
            serialize: () => true,
            exportName: "handler",
            isFactoryFunction: true,
            allowSecrets: true,
        });
        text = serialized.text;
        assert.strictEqual(serialized.containsSecrets, false);

        // The same package selection CallbackFunction makes (it appends "aws-sdk" to the exclusions).
        const options = lambdaCodePathOptions(ROOT);
        options.extraExcludePackages.push("aws-sdk");
        const codePaths = await pulumi.runtime.computeCodePaths(options);
        archivePackages = [...codePaths.keys()].map((p) => p.replace(/^.*node_modules\//, "")).sort();

        fs.mkdirSync(path.join(archiveDir, "node_modules"), { recursive: true });
        fs.writeFileSync(path.join(archiveDir, "__index.js"), text);
        for (const p of codePaths.keys()) {
            fs.cpSync(path.resolve(ROOT, p), path.join(archiveDir, "node_modules", p.replace(/^.*node_modules\//, "")), { recursive: true, dereference: true });
        }
        // What the nodejs22.x runtime provides: AWS SDK v3 clients (and, through them, their dependencies).
        fs.mkdirSync(path.join(sdkRuntimeDir, "@aws-sdk"), { recursive: true });
        for (const name of fs.readdirSync(path.join(ROOT, "node_modules", "@aws-sdk"))) {
            fs.symlinkSync(path.join(ROOT, "node_modules", "@aws-sdk", name), path.join(sdkRuntimeDir, "@aws-sdk", name), "dir");
        }
    });

    after(() => fs.rmSync(workDir, { recursive: true, force: true }));

    it("excludes @aws-sdk/* and @pulumi/*: the archive holds the handler text and nodemailer only", () => {
        const excluded = lambdaCodePathOptions(ROOT).extraExcludePackages;
        assert.ok(excluded.includes("@aws-sdk/client-iam") && excluded.includes("@pulumi/pulumi") && excluded.includes("@pulumi/aws"), excluded.join());
        assert.ok(excluded.every((p) => /^@(aws-sdk|pulumi)\//.test(p)), excluded.join());
        assert.deepStrictEqual(archivePackages, ["nodemailer"]);
        // Every package the text requires is either in the archive or provided by the Lambda runtime.
        const required = requiredPackages(text);
        assert.ok(required.includes("nodemailer") && required.includes("@aws-sdk/client-iam"), required.join());
        for (const pkg of required) assert.ok(archivePackages.includes(pkg) || pkg.startsWith("@aws-sdk/"), `${pkg} is neither packaged nor provided by the runtime`);
        assert.ok(!/@pulumi\//.test(text), "nothing of Pulumi is serialized into the handler");
    });

    it("zipped, the archive is small (size printed)", async () => {
        const zip = path.join(workDir, "archive.zip");
        await new Promise<void>((resolve, reject) => {
            const z = spawn("zip", ["-q", "-r", "-X", zip, "."], { cwd: archiveDir, stdio: "ignore" });
            z.on("error", reject);
            z.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`zip exited ${code}`))));
        });
        const zipped = fs.statSync(zip).size;
        console.log(`      rotation Lambda archive: __index.js ${(text.length / 1024).toFixed(1)} KiB, zipped archive ${(zipped / 1024).toFixed(1)} KiB (packages: ${archivePackages.join(", ")})`);
        assert.ok(zipped < 2 * 1024 * 1024, `archive is ${zipped} bytes`);
    });

    describe("loaded in a fresh node process", () => {
        let world: RotationWorld;
        let env: Record<string, string>;

        beforeEach(async () => {
            await resetAws();
            // The SES endpoint is only used by world.handler(); this test runs the archive's handler instead.
            world = await new RotationWorld(undefined as unknown as SesEndpoint).setUp();
            const settings = validateRotatorArgs(argsLabel("SmtpCredentialRotator", "bu-a"), "bu-a", {
                sesRegion: SES_REGION,
                sesIdentities: ["example.com"],
                fleet: { target: pulumi.output(FLEET), serverRoleNames: [] },
                retirement: { observationHours: 0, graceDays: 7 },
            });
            env = {
                PATH: process.env.PATH ?? "",
                NODE_PATH: sdkRuntimeDir,
                AWS_ENDPOINT_URL: testEnv().endpoint,
                AWS_REGION: "us-east-1",
                AWS_ACCESS_KEY_ID: "AKIAIOSFODNN7EXAMPLE",
                AWS_SECRET_ACCESS_KEY: "test-secret",
                AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE: "1",
                ...rotationLambdaEnvironment(settings, {
                    iamUserName: USER,
                    fleetTarget: FLEET,
                    postfixDocument: world.config.postfixDocument,
                    iisDocument: world.config.iisDocument,
                    notifyTopicArn: world.topicArn,
                }),
            };
        });

        it("runs createSecret against moto: a new key, stored as AWSPENDING, nothing secret in its output", async () => {
            const token = await world.beginRotation();
            const before = testEnv().proxy.callCounts()["iam:CreateAccessKey"] ?? 0;
            const run = await invokeInFreshNode(archiveDir, env, { Step: "createSecret", SecretId: world.secretArn, ClientRequestToken: token });
            assert.strictEqual(run.code, 0, `handler failed:\n${run.stderr}\n${run.stdout}`);
            assert.match(run.stdout, /HANDLER-RESOLVED/);
            assert.strictEqual((testEnv().proxy.callCounts()["iam:CreateAccessKey"] ?? 0) - before, 1, "the archive's handler created the key (through the proxy)");

            const pending = await world.value({ versionId: token });
            assert.notStrictEqual(pending.username, world.firstKeyId);
            assert.match(pending.username, /^AKIA/);
            assert.strictEqual(pending.region, SES_REGION);
            assert.strictEqual(pending.endpoint, "email-smtp.eu-west-1.amazonaws.com");
            const keys = await world.iam.send(new ListAccessKeysCommand({ UserName: USER }));
            assert.deepStrictEqual(keys.AccessKeyMetadata!.map((k) => k.AccessKeyId).sort(), [world.firstKeyId, pending.username].sort());
            assert.ok(!run.stdout.includes(pending.password) && !run.stderr.includes(pending.password), "the password never reaches the log");
        });

        it("reports a bad event the same way in the archive: non-zero exit, a named error, a failure notice", async () => {
            const run = await invokeInFreshNode(archiveDir, env, { Step: "createSecret", SecretId: world.secretArn, ClientRequestToken: "00000000-0000-4000-8000-000000000000" });
            assert.strictEqual(run.code, 1);
            assert.match(run.stderr, /HANDLER-REJECTED secret version 00000000-0000-4000-8000-000000000000 has no stage for rotation/);
            const published = world.published();
            assert.ok(published.some((m) => /FAILED/.test(m.subject + m.message)), JSON.stringify(published));
        });
    });
});
