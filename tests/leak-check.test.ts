/**
 * The leak scanner itself: it must find each kind of secret in each channel, and stay quiet in the narrow
 * list of places where a secret legitimately travels. Planted leaks go through a private proxy and a private
 * scanner (and moto is reset before the suite-wide sweep) so they never trip the suite-wide check, which
 * this file also verifies is installed.
 */
import * as assert from "assert";
import { promises as fs } from "fs";
import * as os from "os";
import * as path from "path";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, TagUserCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { PutParameterCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { CreateTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { execFile, spawn } from "child_process";
import { CreateTopicCommand, PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { CreateStateMachineCommand, GetExecutionHistoryCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { AwsProxy } from "../sandbox/aws-proxy";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { LeakScanner, leakScanner, liveObservations, scannedLogger, sweepMoto, tapProxy, tempRoots, verdict } from "./support/leak-scanner";
import { ManualRig } from "./support/manual-rig";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { serializeCredential } from "../runtime/credential";

/**
 * A proxy of its own for the suite and, before each test, fresh AWS state and a private scanner tapped into that
 * proxy (the suite-wide scanner never learns the secrets these tests plant).
 */
function usePrivateScanner(use: (scanner: LeakScanner, cfg: ReturnType<typeof clientConfig>) => void): void {
    let proxy: AwsProxy;
    let cfg: ReturnType<typeof clientConfig>;
    before(async () => {
        proxy = new AwsProxy(testEnv().moto.url);
        cfg = { ...clientConfig(), endpoint: await proxy.start() };
    });
    after(async () => {
        await proxy.stop();
    });
    beforeEach(async () => {
        await resetAws();
        proxy.reset();
        const scanner = new LeakScanner();
        tapProxy(proxy, scanner);
        use(scanner, cfg);
    });
}

describe("leak scanner", () => {
    let scanner: LeakScanner;
    let cfg: ReturnType<typeof clientConfig>;
    let secretKey: string;
    let accessKeyId: string;
    let password: string;

    usePrivateScanner((s, c) => {
        scanner = s;
        cfg = c;
    });
    beforeEach(async () => {
        const iam = new IAMClient(cfg);
        await iam.send(new CreateUserCommand({ UserName: "leaky" }));
        const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "leaky" }))).AccessKey!;
        secretKey = key.SecretAccessKey!;
        accessKeyId = key.AccessKeyId!;
        password = deriveSmtpPassword(secretKey, "eu-west-1");
    });
    // Planted leaks sit in moto: clear it before the suite-wide sweep (a root afterEach) looks.
    afterEach(resetAws);

    it("learns the IAM secret from CreateAccessKey and stays quiet in the legitimate places", async () => {
        assert.ok(scanner.secretCounts()["iam-secret-access-key"] >= 1);
        assert.ok(scanner.secretCounts()["smtp-password"] >= 37, "derived SMTP passwords for every SES region");
        const sm = new SecretsManagerClient(cfg);
        const value = serializeCredential({ username: accessKeyId, password, endpoint: "email-smtp.eu-west-1.amazonaws.com", port: 587, region: "eu-west-1" });
        const created = await sm.send(new CreateSecretCommand({ Name: "cred", SecretString: "{}" }));
        await sm.send(new PutSecretValueCommand({ SecretId: created.ARN!, SecretString: value, VersionStages: ["AWSPENDING"] }));
        await sm.send(new GetSecretValueCommand({ SecretId: created.ARN!, VersionStage: "AWSPENDING" }));
        assert.deepStrictEqual(scanner.scan(), []);
    });

    it("finds the SMTP password in an SNS message and an SSM command parameter, naming the place", async () => {
        const sns = new SNSClient(cfg);
        const topic = await sns.send(new CreateTopicCommand({ Name: "alerts" }));
        await sns.send(new PublishCommand({ TopicArn: topic.TopicArn!, Message: `rotation done, new password ${password}` }));
        const ssm = new SSMClient(cfg);
        await ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: ["i-0123456789abcdef0"], Parameters: { commands: [`echo ${password}`] } }));
        const found = scanner.scan();
        assert.deepStrictEqual(found.map((f) => `${f.kind} ${f.where}`).sort(), [
            "smtp-password aws sns:Publish request",
            "smtp-password aws ssm:SendCommand request",
            "smtp-password aws ssm:SendCommand response", // SSM echoes the parameters back
        ]);
        await sweepMoto(testEnv().moto.url, scanner);
        assert.ok(scanner.scan().some((f) => f.where === "moto sns message on alerts"), "the moto sweep sees the SNS message too");
    });

    it("finds the IAM secret percent-encoded in a query-protocol body, and never prints a secret", async () => {
        const iam = new IAMClient(cfg);
        await iam.send(new TagUserCommand({ UserName: "leaky", Tags: [{ Key: "k", Value: secretKey.slice(0, 40) }] }));
        const found = scanner.scan();
        assert.deepStrictEqual(found.map((f) => `${f.kind} ${f.where}`), ["iam-secret-access-key aws iam:TagUser request"]);
        const report = scanner.report();
        assert.ok(!report.includes(secretKey), "the report must not contain the secret");
        assert.match(report, /«iam-secret-access-key»/);
    });

    it("reports two adjacent secrets without printing either, not even a cut-off part", () => {
        scanner.log("handler")(`key=${secretKey} password=${password} user=${accessKeyId}`);
        const found = scanner.scan();
        assert.deepStrictEqual(found.map((f) => f.kind).sort(), ["iam-secret-access-key", "smtp-password"]);
        const report = scanner.report();
        for (const s of [secretKey, password]) for (let i = 0; i + 12 <= s.length; i += 4) assert.ok(!report.includes(s.slice(i, i + 12)), "no 12-character piece of a secret in the report");
        assert.ok(report.includes(accessKeyId), "access key ids (not secret) stay readable");
    });

    it("finds a credential base64-encoded in a log line, and a secret learned after the text was seen", () => {
        const log = scanner.log("handler");
        log("stored", { blob: Buffer.from(JSON.stringify({ password })).toString("base64") });
        assert.deepStrictEqual(scanner.scan().map((f) => f.where), ["log handler"]);
        const later = "Zm9vYmFyYmF6cXV4cXV1eHF1dXhxdXV4cXV1eA+/AB";
        log(`value ${later}`);
        assert.deepStrictEqual(scanner.scan(), [], "unknown yet");
        scanner.addSecret("smtp-password", later);
        assert.deepStrictEqual(scanner.scan().map((f) => f.where), ["log handler"]);
    });

    it("finds a raw task token in an SNS message sent by Step Functions, allows it in SendTaskSuccess", async function () {
        const sns = new SNSClient(cfg);
        const topic = await sns.send(new CreateTopicCommand({ Name: "owners" }));
        const sfn = new SFNClient(cfg);
        const definition = {
            StartAt: "Ask",
            States: { Ask: { Type: "Task", Resource: "arn:aws:states:::sns:publish.waitForTaskToken", Parameters: { TopicArn: topic.TopicArn, "Message.$": "$$.Task.Token" }, End: true } },
        };
        const sm = await sfn.send(new CreateStateMachineCommand({ name: "ask", roleArn: "arn:aws:iam::123456789012:role/sfn", definition: JSON.stringify(definition) }));
        const ex = await sfn.send(new StartExecutionCommand({ stateMachineArn: sm.stateMachineArn!, name: "ask-1" }));
        const deadline = Date.now() + 20000;
        let scheduled = false;
        while (!scheduled) {
            assert.ok(Date.now() < deadline, "the task was never scheduled");
            const h = await sfn.send(new GetExecutionHistoryCommand({ executionArn: ex.executionArn! }));
            scheduled = (h.events ?? []).some((e) => e.type === "TaskScheduled");
            if (!scheduled) await new Promise((r) => setTimeout(r, 100)); // polling moto's executor thread
        }
        assert.strictEqual(scanner.secretCounts()["task-token"], 1, "token harvested from the history");
        assert.deepStrictEqual(scanner.scan(), [], "the history itself is a legitimate place");
        // moto's executor publishes right after recording TaskScheduled: poll the sweep until the message is there
        let found: ReturnType<LeakScanner["scan"]> = [];
        while (found.length === 0) {
            assert.ok(Date.now() < deadline, "the sweep never saw the SNS message");
            await sweepMoto(testEnv().moto.url, scanner);
            found = scanner.scan();
        }
        assert.deepStrictEqual(found.map((f) => `${f.kind} ${f.where}`), ["task-token moto sns message on owners"]);
        const token = JSON.parse((await sfn.send(new GetExecutionHistoryCommand({ executionArn: ex.executionArn! }))).events!.find((e) => e.type === "TaskScheduled")!.taskScheduledEventDetails!.parameters!).Message;
        await sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" }));
        assert.deepStrictEqual(scanner.scan(), []);
    });

    it("finds secrets in Pulumi state and in server files other than the live sasl_passwd", async () => {
        scanner.observePulumiResource({ type: "aws:secretsmanager/secretVersion:SecretVersion", name: "v", inputs: { secretString: serializeCredential({ username: accessKeyId, password, endpoint: "e", port: 587, region: "eu-west-1" }) } });
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "leak-host-"));
        try {
            await fs.writeFile(path.join(dir, "sasl_passwd"), `[email-smtp.eu-west-1.amazonaws.com]:587 ${accessKeyId}:${password}\n`);
            await fs.mkdir(path.join(dir, "backup"));
            await fs.writeFile(path.join(dir, "backup", "sasl_passwd.old"), `[x]:587 ${accessKeyId}:${password}\n`);
            assert.strictEqual(await scanner.observeDirectory(dir, new Set(["sasl_passwd"])), 2);
        } finally {
            await fs.rm(dir, { recursive: true, force: true });
        }
        const where = scanner.scan().map((f) => f.where.replace(dir, "<dir>")).sort();
        assert.deepStrictEqual(where, ["file <dir>/backup/sasl_passwd.old", "pulumi aws:secretsmanager/secretVersion:SecretVersion v inputs"]);
    });
});

describe("leak scanner: exemptions by field, derived forms, child processes, temp roots, failed sweeps", () => {
    let scanner: LeakScanner;
    let cfg: ReturnType<typeof clientConfig>;
    let password: string;
    let secretKey: string;
    const credential = () => serializeCredential({ username: "AKIAEXAMPLEEXAMPLE01", password, endpoint: "email-smtp.eu-west-1.amazonaws.com", port: 587, region: "eu-west-1" });

    usePrivateScanner((s, c) => {
        scanner = s;
        cfg = c;
    });
    beforeEach(async () => {
        // a planted secret the private scanner knows (the suite-wide one never learns it)
        secretKey = `wJalr${Math.random().toString(36).slice(2)}XUtnFEMI/K7MDENGbPxRfiCY`.slice(0, 40);
        scanner.addSecret("iam-secret-access-key", secretKey);
        password = deriveSmtpPassword(secretKey, "eu-west-1");
    });
    afterEach(async () => {
        liveObservations.scanner = leakScanner;
        await resetAws();
    });

    it("exempts only the credential parameter's SecureString value: the same value in a plaintext String parameter is a leak", async () => {
        const ssm = new SSMClient(cfg);
        await ssm.send(new PutParameterCommand({ Name: "/ses/credential", Type: "SecureString", Value: credential() }));
        assert.deepStrictEqual(scanner.scan(), []);
        await ssm.send(new PutParameterCommand({ Name: "/ses/copy", Type: "String", Value: credential() }));
        assert.deepStrictEqual(scanner.scan().map((f) => `${f.kind} ${f.where}`), ["smtp-password aws ssm:PutParameter request"]);
    });

    it("exempts only the secret's value: the password in the secret's Description is a leak", async () => {
        const sm = new SecretsManagerClient(cfg);
        await sm.send(new CreateSecretCommand({ Name: "ok", SecretString: credential() }));
        assert.deepStrictEqual(scanner.scan(), []);
        await sm.send(new CreateSecretCommand({ Name: "bad", SecretString: "{}", Description: `rotated to ${password}` }));
        assert.deepStrictEqual(scanner.scan().map((f) => `${f.kind} ${f.where}`), ["smtp-password aws secretsmanager:CreateSecret request"]);
    });

    it("exempts only the confirmation table's token attributes: a token in any other attribute is a leak", async () => {
        const token = `AAAAKgAAAAIAAAAAAAAAA${Math.random().toString(36).slice(2)}ZmFrZS10b2tlbi1mb3ItdGhlLXNjYW5uZXI`;
        scanner.addSecret("task-token", token);
        const ddb = new DynamoDBClient(cfg);
        await ddb.send(new CreateTableCommand({ TableName: "confirmations", KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }], AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }], BillingMode: "PAY_PER_REQUEST" }));
        await ddb.send(new PutItemCommand({ TableName: "confirmations", Item: { pk: { S: "a" }, taskToken: { S: token } } }));
        await ddb.send(new UpdateItemCommand({ TableName: "confirmations", Key: { pk: { S: "a" } }, UpdateExpression: "SET parentTaskToken = :t", ExpressionAttributeValues: { ":t": { S: token } } }));
        await sweepMoto(testEnv().moto.url, scanner);
        assert.deepStrictEqual(scanner.scan(), []);
        await ddb.send(new UpdateItemCommand({ TableName: "confirmations", Key: { pk: { S: "a" } }, UpdateExpression: "SET note = :n", ExpressionAttributeValues: { ":n": { S: `token ${token}` } } }));
        await sweepMoto(testEnv().moto.url, scanner);
        assert.deepStrictEqual(scanner.scan().map((f) => `${f.kind} ${f.where}`).sort(), ["task-token aws dynamodb:UpdateItem request", "task-token moto dynamodb items of confirmations"]);
    });

    it("finds derived forms: hex, base64url, fully URL-encoded, and any 16-character piece", () => {
        const forms: [string, string][] = [
            ["hex", Buffer.from(password).toString("hex")],
            ["raw bytes as hex", Buffer.from(password, "base64").toString("hex")],
            ["base64url", Buffer.from(secretKey).toString("base64url")],
            ["url-encoded", [...password].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("")],
            ["16-character piece", `...${secretKey.slice(11, 27)}...`],
        ];
        for (const [form, text] of forms) {
            const own = new LeakScanner();
            own.addSecret("iam-secret-access-key", secretKey);
            own.log("handler")(`value=${text}`);
            assert.strictEqual(own.scan().length, 1, `the ${form} form is found`);
        }
        const clean = new LeakScanner();
        clean.addSecret("iam-secret-access-key", secretKey);
        clean.log("handler")(`value=...${secretKey.slice(11, 26)}...`);
        assert.deepStrictEqual(clean.scan(), [], "15 characters are not a finding");
    });

    it("reads every child process's stdout and stderr (spawn and execFile)", async () => {
        liveObservations.scanner = scanner;
        const env = { ...process.env, PLANTED: password };
        await new Promise<void>((resolve, reject) => {
            const child = spawn(process.execPath, ["-e", "process.stderr.write('pw ' + process.env.PLANTED + '\\n')"], { env });
            child.on("error", reject);
            child.on("close", () => resolve());
        });
        await new Promise<void>((resolve) => execFile(process.execPath, ["-e", "console.log(process.env.PLANTED)"], { env }, () => resolve()));
        assert.deepStrictEqual(scanner.scan().map((f) => f.where).sort(), [`child ${path.basename(process.execPath)} stderr`, `child ${path.basename(process.execPath)} stdout`]);
    });

    it("reads files anywhere under a temp root made during the test, right before it is removed", async () => {
        liveObservations.scanner = scanner;
        const dir = await fs.mkdtemp(path.join(os.tmpdir(), "leak-root-"));
        assert.ok(tempRoots.has(path.resolve(dir)), "mkdtemp registers the temp root");
        await fs.mkdir(path.join(dir, "a", "b"), { recursive: true });
        await fs.writeFile(path.join(dir, "a", "b", "debug.json"), JSON.stringify({ password }));
        await fs.writeFile(path.join(dir, "a", "sasl_passwd"), `[x]:587 AKIAEXAMPLEEXAMPLE01:${password}\n`);
        await fs.rm(dir, { recursive: true, force: true });
        assert.deepStrictEqual(scanner.scan().map((f) => f.where.replace(dir, "<root>")), ["file <root>/a/b/debug.json"]);
    });

    it("reads the log lines of every manual-mode handler the rig builds, and of any handler given scannedLogger", () => {
        liveObservations.scanner = scanner;
        const rig = new ManualRig({ servers: [] });
        rig.log("credential stored", { note: `planted ${password}` }); // the logger each of the rig's handlers gets
        scannedLogger("retirement")("old keys: observe", { note: `planted ${secretKey}` });
        assert.deepStrictEqual(scanner.scan().map((f) => `${f.kind} ${f.where}`).sort(), ["iam-secret-access-key log retirement", "smtp-password log manual-rig"]);
        assert.strictEqual(rig.logs.length, 1, "the rig still keeps its lines for the tests' own assertions");
    });

    it("a failed sweep fails the run", async () => {
        await assert.rejects(sweepMoto("http://127.0.0.1:9", scanner));
        assert.throws(() => verdict(new LeakScanner(), ["ListExecutions: 500"]), /sweep failed 1 time/);
        assert.doesNotThrow(() => verdict(new LeakScanner(), []));
    });
});

describe("suite-wide leak check", () => {
    beforeEach(resetAws);

    it("is installed as a root hook plugin and taps the harness proxy", async () => {
        const mocharc = JSON.parse(await fs.readFile(path.join(__dirname, "..", ".mocharc.json"), "utf8"));
        assert.ok(mocharc.require.includes("tests/support/leak-scanner.ts"));
        const before = leakScanner.stats.observations;
        const iam = new IAMClient(clientConfig());
        await iam.send(new CreateUserCommand({ UserName: "watched" }));
        const key = (await iam.send(new CreateAccessKeyCommand({ UserName: "watched" }))).AccessKey!;
        assert.ok(leakScanner.stats.observations > before, "the harness proxy's calls are observed");
        // the secret is known (so a leak of it anywhere would be found), and its legitimate place is no finding
        const findings = leakScanner.findings.length;
        leakScanner.scan();
        assert.strictEqual(leakScanner.findings.length, findings);
        assert.ok(key.SecretAccessKey && key.SecretAccessKey.length === 40);
    });

    it("no test hands the code under test a silent logger (its lines would bypass the scan)", async () => {
        const silent = /log: \(\) => (undefined|\{\s*\})|\bsilentLogger\b/;
        const files = (await fs.readdir(path.join(__dirname), { recursive: true })).map(String).filter((f) => f.endsWith(".ts"));
        const offenders: string[] = [];
        for (const file of files) {
            if (file === path.join("support", "leak-scanner.ts") || file === "leak-check.test.ts") continue; // they name the pattern
            const text = await fs.readFile(path.join(__dirname, file), "utf8");
            text.split("\n").forEach((line, i) => {
                if (silent.test(line)) offenders.push(`tests/${file}:${i + 1}: ${line.trim()}`);
            });
        }
        assert.ok(files.length > 50, "the test tree was read");
        assert.deepStrictEqual(offenders, [], "use scannedLogger(...) or a rig's logger instead");
    });
});
