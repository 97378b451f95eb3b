/**
 * Inputs checked against rules AWS enforces only at deployment (issue 13 item 9), pure: rate() units (singular
 * for 1, plural otherwise, as Secrets Manager and EventBridge Scheduler require), the rotation window against
 * its schedule, `kms:ViaService` in the China partition, the Pulumi CLI range in Pulumi.yaml, and the README's
 * figure for IAM's 10,240-character limit on a role's inline policies.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
const yaml: { load(text: string): unknown } = require("js-yaml");
import { SmtpCredentialRotatorArgs } from "../components/args";
import { validateManualOptions } from "../components/manual/options";
import { createCredentialPolicy } from "../components/manual/policies";
import { AwsContext, serverReadPolicy } from "../components/policies";
import { validateRotatorArgs } from "../components/settings";
import { argsLabel } from "../components/validation";

const ROOT = path.join(__dirname, "..");
const label = argsLabel("SmtpCredentialRotator", "payments");
const base: SmtpCredentialRotatorArgs = { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet: { target: {} as any, serverRoleNames: [] } };
const validate = (over: Partial<SmtpCredentialRotatorArgs>) => validateRotatorArgs(label, "payments", { ...base, ...over });
const rejects = (fn: () => unknown, key: string, why: RegExp) =>
    assert.throws(fn, (e: Error) => e.message.startsWith(`SmtpCredentialRotator "payments": args.${key} `) && why.test(e.message));

describe("inputs checked against AWS's deployment-time rules", () => {
    it("rate(): the singular unit for 1, the plural otherwise (auto and manual schedules)", () => {
        for (const bad of ["rate(1 days)", "rate(2 day)", "rate(5 hour)"]) rejects(() => validate({ scheduleExpression: bad }), "scheduleExpression", /must use the (singular|plural) unit/);
        for (const good of ["rate(1 day)", "rate(2 days)", "rate(5 hours)"]) assert.strictEqual(validate({ scheduleExpression: good }).schedule.scheduleExpression, good);
        assert.throws(() => validateManualOptions(label, { scheduleExpression: "rate(1 days)" }, "payments"), /args\.manual\.scheduleExpression must use the singular unit: rate\(1 day\)/);
    });

    it("the rotation window must not reach into the next rate(N hours) window or past midnight UTC after a cron start", () => {
        rejects(() => validate({ scheduleExpression: "rate(4 hours)", rotationWindow: "4h" }), "rotationWindow", /shorter than the 4-hour interval/);
        rejects(() => validate({ scheduleExpression: "rate(6 hours)", rotationWindow: "8h" }), "rotationWindow", /shorter than the 6-hour interval/);
        assert.strictEqual(validate({ scheduleExpression: "rate(6 hours)", rotationWindow: "5h" }).schedule.window, "5h");
        rejects(() => validate({ scheduleExpression: "cron(0 22 ? * SUN *)", rotationWindow: "4h" }), "rotationWindow", /at most 2h/);
        assert.strictEqual(validate({ scheduleExpression: "cron(0 20 ? * SUN *)", rotationWindow: "4h" }).schedule.window, "4h");
        assert.strictEqual(validate({ scheduleExpression: "rate(30 days)", rotationWindow: "24h" }).schedule.window, "24h");
    });

    it("kms:ViaService names the China partition's endpoints (amazonaws.com.cn)", () => {
        const cn: AwsContext = { partition: "aws-cn", accountId: "111122223333", region: "cn-north-1" };
        const key = "arn:aws-cn:kms:cn-north-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const via = (doc: any) => doc.Statement.filter((s: any) => s.Condition).map((s: any) => s.Condition.StringEquals["kms:ViaService"]);
        assert.deepStrictEqual(via(serverReadPolicy(cn, { kind: "secret", secretArn: "arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:s-AbCdEf" }, key)), ["secretsmanager.cn-north-1.amazonaws.com.cn"]);
        assert.deepStrictEqual(via(serverReadPolicy(cn, { kind: "parameter", parameterArn: "arn:aws-cn:ssm:cn-north-1:111122223333:parameter/p" }, key)), ["ssm.cn-north-1.amazonaws.com.cn"]);
        const manual = createCredentialPolicy(cn, { userArn: "arn:aws-cn:iam::111122223333:user/u", parameterArn: "arn:aws-cn:ssm:cn-north-1:111122223333:parameter/p", kmsKeyArn: key } as any);
        assert.deepStrictEqual(via(manual), ["ssm.cn-north-1.amazonaws.com.cn"]);
        const commercial: AwsContext = { partition: "aws", accountId: "111122223333", region: "eu-west-1" };
        assert.deepStrictEqual(via(serverReadPolicy(commercial, { kind: "secret", secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf" }, key)), ["secretsmanager.eu-west-1.amazonaws.com"]);
    });

    it("Pulumi.yaml requires a Pulumi CLI range that includes the pinned SDK version", () => {
        const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as any;
        const m = /^>=(\d+\.\d+\.\d+) <4\.0\.0$/.exec(String(project.requiredPulumiVersion));
        assert.ok(m, `requiredPulumiVersion: ${project.requiredPulumiVersion}`);
        const sdk = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
        assert.strictEqual(m![1], sdk, "the CLI floor is the SDK version the program is pinned to");
    });

    it("the README says how many units one server role can serve within IAM's 10,240-character inline-policy limit", () => {
        // Worst case: the longest unit, a long partition and region, a customer KMS key.
        const unit = "a".repeat(40);
        const gov: AwsContext = { partition: "aws-us-gov", accountId: "123456789012", region: "us-gov-west-1" };
        const key = "arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const sizes = [
            JSON.stringify(serverReadPolicy(gov, { kind: "secret", secretArn: `arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:${unit}-credential-1234567-AbCdEf` }, key)).length,
            JSON.stringify(serverReadPolicy(gov, { kind: "parameter", parameterArn: `arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/ses-smtp/${unit}/credential` }, key)).length,
        ];
        const units = Math.floor(10240 / Math.max(...sizes));
        const row = fs.readFileSync(path.join(ROOT, "README.md"), "utf8").split("\n").find((l) => l.startsWith("| `serverRoleNames`"));
        assert.ok(row?.includes("10,240") && row.includes(`at most ${units} business units`), `${units} units per role; README row: ${row}`);
    });
});
