/**
 * The program (index.ts) under Pulumi mocks, configured the way the Pulumi CLI would configure the `prod`
 * stack: Pulumi.yaml defaults overlaid with Pulumi.prod.yaml values. It builds one fleet + one rotator for
 * the business unit and exports references only.
 */
import { countByType, recorded, resetMockAws, resetRecorded, settled, valueOf } from "./support/pulumi-mocks";
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
// js-yaml (a mocha dependency) ships no types; only `load` is used.
const yaml: { load(text: string): unknown } = require("js-yaml");

const ROOT = path.join(__dirname, "..");

/** Stack config as the CLI hands it to the program: namespaced keys, string values (JSON for lists). */
function cliConfig(stackFile: string): Record<string, string> {
    const project = yaml.load(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as any;
    const stack = yaml.load(fs.readFileSync(path.join(ROOT, stackFile), "utf8")) as any;
    const out: Record<string, string> = {};
    const put = (key: string, v: unknown) => (out[key] = typeof v === "string" ? v : JSON.stringify(v));
    for (const [key, decl] of Object.entries<any>(project.config)) if ("default" in decl) put(`${project.name}:${key}`, decl.default);
    for (const [key, v] of Object.entries(stack.config)) put(key, v);
    return out;
}

describe("the program (index.ts) with the prod stack config", () => {
    let program: Record<string, any>;

    before(async () => {
        resetRecorded();
        resetMockAws();
        pulumi.runtime.setAllConfig(cliConfig("Pulumi.prod.yaml"));
        program = require("../index");
        await settled();
    });
    after(() => pulumi.runtime.setAllConfig({}));

    it("builds one fleet and one auto-mode rotator named after the business unit", () => {
        const top = recorded().filter((r) => r.parent === "");
        assert.deepStrictEqual(top.map((r) => `${r.type} ${r.name}`).sort(), [
            "ses-smtp-rotator:index:EmailServerFleet payments-fleet",
            "ses-smtp-rotator:index:SmtpCredentialRotator payments",
        ]);
        const counts = countByType();
        assert.strictEqual(counts["aws:secretsmanager/secret:Secret"], 1);
        assert.strictEqual(counts["aws:lambda/function:Function"], 2, "rotation + retirement");
        assert.strictEqual(counts["aws:sns/topicSubscription:TopicSubscription"], 1);
        assert.strictEqual(counts["aws:dynamodb/table:Table"], undefined, "the prod unit selects servers by tag");
        const rotation = recorded().find((r) => r.type === "aws:secretsmanager/secretRotation:SecretRotation")!;
        assert.deepStrictEqual(rotation.inputs.rotationRules, { scheduleExpression: "rate(90 days)", duration: "4h" });
        const read = recorded().find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.inputs.role === "payments-mail-server");
        assert.ok(read, "the server role from the stack config gets the read policy");
    });

    it("wires rotate-now and the retirement guard from the stack config (defaults: baseline trigger, no override)", () => {
        const rotateNow = recorded().find((r) => r.type === "pulumi-nodejs:dynamic/ses-rotator:RotateNow")!;
        const guard = recorded().find((r) => r.type === "pulumi-nodejs:dynamic/ses-rotator:RetirementGuard")!;
        assert.strictEqual(rotateNow.inputs.trigger, "");
        assert.strictEqual(rotateNow.inputs.region, "eu-west-1");
        assert.strictEqual(guard.inputs.overrideKeyId, "");
        assert.strictEqual(guard.inputs.observationHours, 24);
        assert.strictEqual(guard.inputs.graceDays, 3);
        const rotation = recorded().find((r) => r.type === "aws:secretsmanager/secretRotation:SecretRotation")!;
        assert.strictEqual(rotation.inputs.rotateImmediately, false, "the prod stack relies on the first credential");
    });

    it("exports references only: ARNs and names, no secret values", async () => {
        assert.strictEqual(program.businessUnit, "payments");
        assert.strictEqual(program.mode, "auto");
        assert.strictEqual(program.sesRegion, "eu-west-1");
        const secret = recorded().find((r) => r.type === "aws:secretsmanager/secret:Secret")!;
        assert.strictEqual(await valueOf(program.secretArn), secret.state.arn);
        assert.deepStrictEqual(await valueOf(program.credentialStore), { kind: "secret", secretArn: secret.state.arn });
        assert.deepStrictEqual(await valueOf(program.fleetTarget), { kind: "tag", tagKey: "SmtpFleet", tagValue: "payments", softwareTagKey: "SmtpSoftware" });
        for (const key of ["smtpUserName", "alertTopicArn", "postfixDocumentName", "iisDocumentName", "rotationFunctionName"]) {
            const v = await valueOf(program[key]);
            assert.ok(typeof v === "string" && v.length > 0, `${key} = ${v}`);
        }
        // The hold and the rotate-now record, as stack outputs (the mocked guard reports no hold).
        assert.deepStrictEqual(await valueOf(program.retirementHeldKeyIds), []);
        assert.deepStrictEqual(await valueOf(program.retirements), []);
        for (const key of ["retirementHeldKeyId", "retirementHeldEvidence", "rotateNowStarted", "firstAccessKeyId"]) {
            assert.ok(pulumi.Output.isInstance(program[key]), `${key} is exported`);
        }
        const first = recorded().find((r) => r.type === "pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential")!;
        assert.match(first.state.accessKeyId, /^AKIA[A-Z0-9]{16}$/);
        assert.strictEqual(await valueOf(program.firstAccessKeyId), first.state.accessKeyId);
        const exported = JSON.stringify(
            await Promise.all(Object.values(program).map((v) => (pulumi.Output.isInstance(v) ? valueOf(v as pulumi.Output<unknown>) : v))),
        );
        assert.ok(!/password|SecretAccessKey|secretString/i.test(exported), exported);
    });
});
