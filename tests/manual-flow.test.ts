/**
 * Manual mode end to end: the EMITTED CredentialRotation and ManualConfirmation definitions executed by
 * moto's Step Functions interpreter; Lambda task states answered by the real runtime handlers in-process
 * (tests/support/sfn-bridge.ts); SNS, DynamoDB, IAM, SSM, KMS are moto; the "owner" uses the real
 * confirmation API handler with the link from the e-mail SNS received.
 */
import * as assert from "assert";
import { ListAccessKeysCommand } from "@aws-sdk/client-iam";
import { DescribeExecutionCommand } from "@aws-sdk/client-sfn";
import { GetParameterCommand, GetParameterHistoryCommand } from "@aws-sdk/client-ssm";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import type { AwsCall } from "../sandbox/aws-proxy";
import { parseCredential } from "../runtime/credential";
import { resetAws, testEnv } from "./support/hooks";
import { ManualRig, serverList, until } from "./support/manual-rig";

describe("manual mode: CredentialRotation + ManualConfirmation executed by moto", function () {
    let rig: ManualRig;
    beforeEach(resetAws);
    afterEach(async function () {
        if (this.currentTest?.state === "failed" && rig) console.log(await rig.explain());
        await rig?.tearDown();
    });

    async function keys(): Promise<Record<string, string>> {
        const out = await rig.iam.send(new ListAccessKeysCommand({ UserName: rig.userName }));
        return Object.fromEntries((out.AccessKeyMetadata ?? []).map((k) => [k.AccessKeyId!, k.Status!]));
    }

    it("all servers confirm: new credential stored with the customer key, old key deactivated, then deleted after the grace", async () => {
        const servers = serverList(3);
        rig = await new ManualRig({ servers, graceSeconds: 2 }).setUp();
        const started = await rig.startRotation({ requestId: "test-1" });
        assert.match(started.name, /^password-rotation-\d{2}-\d{2}-\d{2}$/);

        // Each owner gets a mail with a link; GET shows the page and changes nothing; POST confirms.
        for (const s of servers) {
            const id = await rig.linkFor(s.ownerEmail);
            const get = await rig.api("GET", id);
            assert.strictEqual(get.statusCode, 200);
            assert.match(get.body, new RegExp(s.hostname.replace(/\./g, "\\.")));
            assert.match(get.body, /<form method="post">/);
            assert.strictEqual((await rig.store.getByConfirmationId(id))!.status, "pending", "GET must not confirm");
            const post = await rig.api("POST", id, "action=confirm");
            assert.strictEqual(post.statusCode, 200, post.body);
        }

        // After all confirmations, but before the grace ends, the old key is Inactive.
        const newKey = await until("old key deactivated", async () => {
            const k = await keys();
            return k[rig.oldAccessKeyId] === "Inactive" ? k : undefined;
        });
        const newKeyId = Object.keys(newKey).find((id) => id !== rig.oldAccessKeyId)!;
        assert.strictEqual(newKey[newKeyId], "Active");

        const done = await rig.finished(started.executionArn);
        assert.strictEqual(done.status, "SUCCEEDED", `${done.error}: ${done.cause}`);
        assert.deepStrictEqual(await keys(), { [newKeyId]: "Active" }, "old key deleted after the grace, new key active");

        // The stored value: new key, version 2, encrypted with the customer key on every write.
        const history = await rig.ssm.send(new GetParameterHistoryCommand({ Name: rig.parameterName }));
        assert.deepStrictEqual(history.Parameters!.map((p) => [p.Version, p.KeyId]), [[1, rig.kmsKeyId], [2, rig.kmsKeyId]]);
        const stored = parseCredential((await rig.ssm.send(new GetParameterCommand({ Name: `${rig.parameterName}:2`, WithDecryption: true }))).Parameter!.Value);
        assert.strictEqual(stored!.username, newKeyId);

        // Every ManualConfirmation execution succeeded; the operators were told.
        const children = (await rig.executions()).filter((e) => e.executionArn.includes(":ManualConfirmation:"));
        assert.deepStrictEqual(children.map((e) => e.status).sort(), ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED"]);
        assert.deepStrictEqual(children.map((e) => e.name).sort(), servers.map((s) => `${s.serverId}-${started.name}`).sort());
        assert.ok(rig.notices().some((n) => n.subject === "SMTP credential rotation finished"));

        // Leak check over this whole run: the IAM secret access keys (old and new) and the SMTP passwords
        // appear only where the credential is created, stored and read back from Parameter Store.
        const calls = testEnv().proxy.calls;
        const created = calls.filter((c) => c.service === "iam" && c.operation === "CreateAccessKey").map((c) => /<SecretAccessKey>([^<]+)</.exec(c.responseBody)![1]);
        assert.strictEqual(created.length, 2, "the old key (set-up) and the rotation's new key");
        const secrets = [...new Set([...rig.secrets, ...created, ...created.map((k) => deriveSmtpPassword(k, "eu-west-1"))])];
        assert.ok(secrets.includes(stored!.password), "the stored password is one the scan looks for");
        assert.ok(calls.some((c) => c.operation === "PutParameter" && c.requestBody.includes(stored!.password)), "the scan sees the password where it legitimately travels");
        const legitimate = (c: AwsCall) =>
            (c.service === "iam" && c.operation === "CreateAccessKey") ||
            (c.service === "ssm" && ["PutParameter", "GetParameter", "GetParameterHistory"].includes(c.operation));
        const hits: string[] = [];
        const scan = (where: string, text: string | undefined) => {
            for (const s of secrets) if (text && text.includes(s)) hits.push(`${where} contains a secret`);
        };
        for (const c of calls.filter((c) => !legitimate(c))) scan(`${c.service}:${c.operation}`, c.requestBody + c.responseBody);
        const executions = await rig.executions();
        assert.strictEqual(executions.length, 5, "the rotation, one page, three servers");
        for (const e of executions) {
            scan(`history of ${e.name}`, JSON.stringify(await rig.history(e.executionArn)));
            const d = await rig.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn }));
            scan(`input/output of ${e.name}`, `${d.input}${d.output}`);
        }
        for (const line of rig.logs) scan("log", line);
        for (const i of rig.bridge.invocations) scan(`Lambda ${i.functionName} payload/result`, JSON.stringify(i));
        const mails = [...rig.ownerMails().map((m) => m.message), ...rig.notices().map((n) => n.message)];
        assert.ok(mails.length >= 4);
        for (const m of mails) scan("SNS message", m);
        assert.deepStrictEqual(hits, []);
        // No task token in any e-mail or log line (the link carries an opaque id instead).
        const tokens = (await Promise.all(servers.map((s) => rig.store.get(`${s.serverId}-${started.name}`)))).map((i) => i!.taskToken!);
        tokens.push((await rig.tally.read(started.name))!.parentTaskToken!);
        assert.strictEqual(new Set(tokens.filter(Boolean)).size, 4, "three waiting tokens and the rotation's one");
        for (const t of tokens) for (const text of [...mails, ...rig.logs]) assert.ok(!text.includes(t), "a task token reached a mail or log");
    });
});
