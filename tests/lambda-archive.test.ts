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
import { IAMClient, ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { builtinModules } from "module";
import { rotationLambdaEnvironment } from "../components/auto-rotation";
import { lambdaCodePathOptions, rotationLambdaFactory } from "../components/rotation-lambda";
import { sharedArchiveEntries } from "../components/shared-code-function";
import type { SmtpCredentialValue } from "../runtime/credential";
import smtpCheck = require("../runtime/smtp-check");
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { validateRotatorArgs } from "../components/settings";
import { argsLabel } from "../components/validation";
import { clientConfig, resetAws, testEnv, childAwsEnv } from "./support/hooks";
import { FLEET, RotationWorld, SES_REGION, USER } from "./support/rotation-driver";
import { NodeScriptRun, runNodeScript } from "./support/node-script";
import { createUserWithKey, SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";

const ROOT = path.join(__dirname, "..");

/** A one-attempt SMTP check (runtime/smtp-check.ts) whose endpoint CA comes from the environment. */
function smtpCheckFactory(): (credential: SmtpCredentialValue) => Promise<unknown> {
    return smtpCheck.createSmtpCheck({ ca: process.env.SMTP_CHECK_CA, budgetMs: 0 });
}

/** Loads `<dir>/__index.js` in a fresh node process and calls `handler(event)` once. */
function invokeInFreshNode(dir: string, env: Record<string, string>, event: object): Promise<NodeScriptRun> {
    const script = `
        const mod = require(${JSON.stringify(path.join(dir, "__index.js"))});
        mod.handler(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 600000 })
            .then(() => { console.log("HANDLER-RESOLVED"); })
            .catch((e) => { console.error("HANDLER-REJECTED " + e.message); process.exitCode = 1; });`;
    return runNodeScript(script, { cwd: dir, env });
}

/** The package a module specifier (or a path below node_modules) names. */
function packageOf(spec: string): string {
    const parts = spec.split("/");
    return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Every file below `dir`, relative to it, "/"-separated, sorted. */
function listFiles(dir: string): string[] {
    return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).map((f) => f.split(path.sep).join("/")).sort();
}

/** Package names a serialized text requires (not Node built-ins). */
function requiredPackages(text: string): string[] {
    const names = new Set<string>();
    for (const m of text.matchAll(/require\("([^"]+)"\)/g)) {
        const spec = m[1].replace(/^node:/, "");
        if (builtinModules.includes(spec) || builtinModules.includes(spec.split("/")[0])) continue;
        names.add(packageOf(spec));
    }
    return [...names].sort();
}

describe("rotation Lambda archive", function () {
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-lambda-"));
    const archiveDir = path.join(workDir, "archive");
    const sdkRuntimeDir = path.join(workDir, "lambda-runtime", "node_modules");
    let text = "";
    let archivePackages: string[] = [];
    /** every file in the archive, relative to its root */
    let archiveFiles: string[] = [];

    before(async () => {
        await settled(); // nothing of another file's Pulumi work may still be running
        // The __index.js the component ships (SharedCodeFunction: CallbackFunction's serialization, once per process;
        // it refuses code that captured a secret).
        const shipped = await sharedArchiveEntries(rotationLambdaFactory, lambdaCodePathOptions({ projectDir: ROOT }));
        text = await (shipped["__index.js"] as any).text;

        // The same package selection CallbackFunction makes (it appends "aws-sdk" to the exclusions).
        const options = lambdaCodePathOptions({ projectDir: ROOT });
        options.extraExcludePackages.push("aws-sdk");
        const codePaths = await pulumi.runtime.computeCodePaths(options);
        archivePackages = [...new Set([...codePaths.keys()].map((p) => packageOf(p.replace(/^node_modules\//, ""))))].sort();

        // CallbackFunction names each code path's archive entry by the path itself (a folder or a single file).
        fs.mkdirSync(archiveDir, { recursive: true });
        fs.writeFileSync(path.join(archiveDir, "__index.js"), text);
        for (const p of codePaths.keys()) {
            assert.ok(!path.isAbsolute(p) && p.startsWith("node_modules/"), `archive entry ${p}`);
            fs.cpSync(path.resolve(ROOT, p), path.join(archiveDir, p), { recursive: true, dereference: true });
        }
        archiveFiles = listFiles(archiveDir);
        // What the nodejs22.x runtime provides: AWS SDK v3 clients (and, through them, their dependencies).
        fs.mkdirSync(path.join(sdkRuntimeDir, "@aws-sdk"), { recursive: true });
        for (const name of fs.readdirSync(path.join(ROOT, "node_modules", "@aws-sdk"))) {
            fs.symlinkSync(path.join(ROOT, "node_modules", "@aws-sdk", name), path.join(sdkRuntimeDir, "@aws-sdk", name), "dir");
        }
    });

    after(() => fs.rmSync(workDir, { recursive: true, force: true }));

    it("excludes @aws-sdk/* and @pulumi/*: the archive holds the handler text and nodemailer only", () => {
        const excluded = lambdaCodePathOptions({ projectDir: ROOT }).extraExcludePackages;
        assert.ok(excluded.includes("@aws-sdk/client-iam") && excluded.includes("@pulumi/pulumi") && excluded.includes("@pulumi/aws"), excluded.join());
        // every production dependency of package.json is excluded: computeCodePaths would add each one whole
        const deps = Object.keys(JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies);
        for (const dep of deps) assert.ok(excluded.includes(dep), `${dep} is not excluded`);
        assert.deepStrictEqual(archivePackages, ["nodemailer"]);
        // Every package the text requires is either in the archive or provided by the Lambda runtime.
        const required = requiredPackages(text);
        assert.ok(required.includes("nodemailer") && required.includes("@aws-sdk/client-iam"), required.join());
        // ... and the only node_modules module it loads outside the SDK is nodemailer's SMTP client.
        const modules = [...new Set([...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]).filter((m) => !builtinModules.includes(m.replace(/^node:/, "")) && !m.startsWith("@aws-sdk/")))];
        assert.deepStrictEqual(modules.sort(), ["nodemailer/lib/smtp-connection"]);
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
        assert.ok(zipped <= 256 * 1024, `archive is ${zipped} bytes, over the 256 KiB goal`);
    });

    it("ships nodemailer's SMTP client closure only: the traced files, no ESM build, no .d.ts, no maps", () => {
        const closure = lambdaCodePathOptions({ projectDir: ROOT }).extraIncludePaths;
        assert.deepStrictEqual(archiveFiles, ["__index.js", ...closure].sort());
        assert.ok(archiveFiles.includes("node_modules/nodemailer/package.json") && archiveFiles.includes("node_modules/nodemailer/dist/cjs/package.json"));
        assert.ok(archiveFiles.includes("node_modules/nodemailer/dist/cjs/smtp-connection/index.js"));
        assert.ok(!archiveFiles.some((f) => /\/dist\/esm\/|\.d\.ts$|\.map$|\.md$/.test(f)), archiveFiles.join("\n"));
    });

    describe("nodemailer from the archive proves a credential against the local SES endpoint (fresh node)", () => {
        let ses: SesEndpoint;
        let smtpDir = "";

        before(async () => {
            ses = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
            // The SMTP check the rotation handler uses (runtime/smtp-check.ts), serialized by the same rules as
            // the rotation factory, next to the archive's __index.js (so it resolves the archive's node_modules).
            // The rotation Lambda's own SMTP_PORT accepts only 587/465, hence this second entry point.
            const serialized = await pulumi.runtime.serializeFunction(smtpCheckFactory, { serialize: () => true, exportName: "handler", isFactoryFunction: true });
            assert.match(serialized.text, /require\("nodemailer\/lib\/smtp-connection"\)/);
            smtpDir = archiveDir;
            fs.writeFileSync(path.join(smtpDir, "__smtp-check.js"), serialized.text);
        });
        after(async () => {
            fs.rmSync(path.join(smtpDir, "__smtp-check.js"), { force: true });
            await ses.stop();
        });
        beforeEach(resetAws);

        async function run(password: (secret: string) => string): Promise<{ out: NodeScriptRun; keyId: string }> {
            const iam = new IAMClient(clientConfig());
            const k = await createUserWithKey(iam, "smtp");
            const credential = { username: k.id, password: password(k.secret), endpoint: ses.host, port: ses.port, region: SES_REGION };
            // The credential travels on stdin (never argv/env); the child prints only the outcome.
            const script = `
                const chunks = [];
                process.stdin.on("data", (c) => chunks.push(c)).on("end", () => {
                    console.log("NODEMAILER-FROM " + require.resolve("nodemailer/lib/smtp-connection"));
                    require("./__smtp-check.js").handler(JSON.parse(Buffer.concat(chunks).toString()))
                        .then((r) => console.log("CHECK-OK " + JSON.stringify(r)))
                        .catch((e) => { console.log("CHECK-FAILED " + e.name + " " + e.failureClass); process.exitCode = 1; });
                });`;
            const out = await runNodeScript(script, { cwd: smtpDir, env: { PATH: process.env.PATH ?? "", SMTP_CHECK_CA: ses.ca }, stdin: JSON.stringify(credential) });
            assert.ok(out.stdout.includes(`NODEMAILER-FROM ${path.join(fs.realpathSync(archiveDir), "node_modules", "nodemailer", "dist", "cjs", "smtp-connection", "index.js")}`), out.stdout + out.stderr);
            return { out, keyId: k.id };
        }

        it("an active key's SMTP password passes AUTH (STARTTLS) in one attempt", async () => {
            const { out, keyId } = await run((secret) => deriveSmtpPassword(secret, SES_REGION));
            assert.strictEqual(out.code, 0, out.stderr + out.stdout);
            assert.match(out.stdout, /CHECK-OK \{"attempts":1\}/);
            assert.deepStrictEqual(ses.authLog.map((a) => [a.username, a.ok]), [[keyId, true]]);
        });

        it("a wrong password is refused with 535, classified by the check from nodemailer's error", async () => {
            const { out, keyId } = await run((secret) => deriveSmtpPassword(secret, "us-east-1"));
            assert.strictEqual(out.code, 1, out.stderr + out.stdout);
            assert.match(out.stdout, /CHECK-FAILED SmtpCheckError auth-rejected/);
            assert.ok(ses.authLog.some((a) => a.username === keyId && !a.ok && a.reason === "wrong-password"), JSON.stringify(ses.authLog));
        });
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
            env = childAwsEnv({
                NODE_PATH: sdkRuntimeDir,
                ...rotationLambdaEnvironment(settings, {
                    iamUserName: USER,
                    fleetTarget: FLEET,
                    postfixDocument: world.config.postfixDocument,
                    iisDocument: world.config.iisDocument,
                    notifyTopicArn: world.topicArn,
                }),
            });
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
