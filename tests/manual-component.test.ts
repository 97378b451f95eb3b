/**
 * Manual mode's resource graph under `pulumi.runtime.setMocks` (Pulumi's mock monitor: no CLI, no AWS),
 * with both fleet selectors; the emitted state-machine definitions validated with asl-validator; the exact
 * least-privilege policies; option errors naming `manual.<key>`.
 */
import { descendantsOf, mockAws, ofType, recorded, RecordedResource, resetMockAws, resetRecorded, settled, valueOf } from "./support/pulumi-mocks";
import * as assert from "assert";
// asl-validator ships no type declarations.
const aslValidator: (definition: unknown) => { isValid: boolean; errors: unknown[] } = require("asl-validator");
import { EmailServerFleet, SmtpCredentialRotator } from "../components";
import { confirmationPageDefinition, credentialRotationDefinition, manualConfirmationDefinition, MAX_SERVERS_PER_RUN } from "../components/manual/definitions";
import { validateManualOptions } from "../components/manual/options";
import { argsLabel } from "../components/validation";

const ROTATOR = "ses-smtp-rotator:index:SmtpCredentialRotator";
const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

function assertValidAsl(definition: unknown, what: string): void {
    const { isValid, errors } = aslValidator(definition as any);
    assert.ok(isValid, `${what}: ${JSON.stringify(errors, null, 1)}`);
}

function build(name: string, selector: Record<string, unknown>, manual: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) {
    const fleet = new EmailServerFleet(`${name}-fleet`, { selector } as any);
    return new SmtpCredentialRotator(name, { mode: "manual", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet, manual, ...extra } as any);
}

function policyOf(name: string): any {
    const found = ofType("aws:iam/rolePolicy:RolePolicy").filter((r) => r.name === name);
    assert.strictEqual(found.length, 1, `role policy ${name}`);
    return JSON.parse(found[0].inputs.policy);
}

const actionsOf = (policy: any) => Object.fromEntries(policy.Statement.map((s: any) => [s.Sid, [s.Action, s.Resource]]));

describe("manual mode: resource graph under Pulumi mocks", function () {
    this.timeout(300000);
    beforeEach(() => {
        resetRecorded();
        resetMockAws();
    });
    after(resetMockAws);

    it("creates the state machines, nine least-privilege Lambdas, the API and the schedule, all under the rotator", async () => {
        const rotator = build("bu-a", { table: { create: true } }, {}, { kmsKeyArn: KEY_ARN });
        await settled();
        const root = ofType(ROTATOR).find((r) => r.name === "bu-a")!;
        const mine = descendantsOf(root.urn).filter((r) => r.name.startsWith("bu-a-manual"));
        const count = (type: string) => ofType(type, mine).length;
        assert.strictEqual(count("aws:lambda/function:Function"), 9);
        assert.strictEqual(count("aws:iam/role:Role"), 9 + 4, "one role per Lambda, per state machine, and the scheduler");
        assert.strictEqual(count("aws:iam/rolePolicy:RolePolicy"), 9 + 4);
        assert.strictEqual(count("aws:cloudwatch/logGroup:LogGroup"), 9);
        assert.strictEqual(count("aws:sfn/stateMachine:StateMachine"), 3);
        assert.strictEqual(count("aws:dynamodb/table:Table"), 1);
        assert.strictEqual(count("aws:apigatewayv2/route:Route"), 2);
        assert.strictEqual(count("aws:scheduler/schedule:Schedule"), 1);
        assert.strictEqual(ofType("aws:ssm/parameter:Parameter").length, 0, "the credential is written by CreateCredential, never by Pulumi");
        assert.ok(mine.every((r) => r.secretInputs.length === 0 || r.type === "aws:lambda/function:Function"), "no secret inputs");

        for (const fn of ofType("aws:lambda/function:Function", mine)) {
            assert.strictEqual(fn.inputs.runtime, "nodejs22.x", fn.name);
            assert.match(fn.inputs.role, /^arn:aws:iam::123456789012:role\/bu-a-manual-/, `${fn.name} has its own role`);
        }
        for (const sm of ofType("aws:sfn/stateMachine:StateMachine", mine)) {
            assert.strictEqual(sm.inputs.type, "STANDARD");
            assertValidAsl(JSON.parse(sm.inputs.definition), sm.name);
        }
        const rotation = JSON.parse(mine.find((r) => r.name === "bu-a-manual-rotation" && r.type === "aws:sfn/stateMachine:StateMachine")!.inputs.definition);
        assert.strictEqual(rotation.States.AdvanceRetirement.Parameters.Payload.graceSeconds, 3 * 86400, "default grace: 3 days");
        const page = JSON.parse(mine.find((r) => r.name === "bu-a-manual-page" && r.type === "aws:sfn/stateMachine:StateMachine")!.inputs.definition);
        assert.strictEqual(page.States.ConfirmServers.MaxConcurrency, 10);
        assert.strictEqual(rotation.States.ConfirmServers, undefined, "the rotation itself runs no per-server Map");
        assert.strictEqual(rotation.States.CreateCredential.Parameters.FunctionName, "arn:aws:lambda:eu-west-1:123456789012:function:bu-a-manual-createCredential-" + rotation.States.CreateCredential.Parameters.FunctionName.split("-").pop());

        const schedule = one("aws:scheduler/schedule:Schedule", mine);
        assert.strictEqual(schedule.inputs.scheduleExpression, "cron(0 0 L 1/3 ? *)");
        assert.strictEqual(schedule.inputs.scheduleExpressionTimezone, "UTC");
        assert.deepStrictEqual(JSON.parse(schedule.inputs.target.input), { scheduledTime: "<aws.scheduler.scheduled-time>" });
        assert.strictEqual(JSON.parse(one("aws:iam/role:Role", mine.filter((r) => r.name === "bu-a-manual-scheduler")).inputs.assumeRolePolicy).Statement[0].Principal.Service, "scheduler.amazonaws.com");

        const table = mine.find((r) => r.type === "aws:dynamodb/table:Table")!;
        assert.deepStrictEqual(table.inputs.serverSideEncryption, { enabled: true, kmsKeyArn: KEY_ARN });

        const store = await valueOf(rotator.credentialStore);
        assert.deepStrictEqual(store, { kind: "parameter", parameterArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/ses-smtp/bu-a/test/bu-a/credential" });
        const outputs = root.registeredOutputs!;
        for (const k of ["stateMachineArn", "confirmationStateMachineArn", "starterFunctionName", "parameterName", "ownerTopicArn"]) assert.ok(outputs[k], `output ${k}`);
    });

    it("grants each role exactly what its code calls (table fleet, customer KMS key)", async () => {
        build("bu-b", { table: { create: true } }, {}, { kmsKeyArn: KEY_ARN });
        await settled();
        const user = ofType("aws:iam/user:User").find((u) => u.name === "bu-b-smtp")!.state.arn;
        const create = actionsOf(policyOf("bu-b-manual-createCredential"));
        assert.deepStrictEqual(create.ManageSmtpUserKeys, [
            ["iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:ListUserTags", "iam:TagUser", "iam:UntagUser"],
            user,
        ]);
        assert.deepStrictEqual(create.WriteCredentialParameter, [["ssm:GetParameterHistory", "ssm:PutParameter"], "arn:aws:ssm:eu-west-1:123456789012:parameter/ses-smtp/bu-b/test/bu-b/credential"]);
        assert.deepStrictEqual(create.EncryptCredentialThroughSsm, [["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey"], KEY_ARN]);
        assert.deepStrictEqual(policyOf("bu-b-manual-createCredential").Statement.find((s: any) => s.Sid === "EncryptCredentialThroughSsm").Condition, { StringEquals: { "kms:ViaService": "ssm.eu-west-1.amazonaws.com" } });
        assert.deepStrictEqual(Object.keys(actionsOf(policyOf("bu-b-manual-listServersPage"))), ["ReadFleetTable", "WriteOwnLogs"]);
        assert.strictEqual(actionsOf(policyOf("bu-b-manual-listServersPage")).ReadFleetTable[0], "dynamodb:Scan");
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-retireOldKeys")).RetireOldKeys, [
            ["iam:DeleteAccessKey", "iam:GetAccessKeyLastUsed", "iam:ListAccessKeys", "iam:ListUserTags", "iam:TagUser", "iam:UntagUser", "iam:UpdateAccessKey"],
            user,
        ]);
        // The retirement re-reads the latest parameter version before every deactivate and delete.
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-retireOldKeys")).ReadCurrentCredential, ["ssm:GetParameter", "arn:aws:ssm:eu-west-1:123456789012:parameter/ses-smtp/bu-b/test/bu-b/credential"]);
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-retireOldKeys")).DecryptCredentialThroughSsm, ["kms:Decrypt", KEY_ARN]);
        const confirmationSm = ofType("aws:sfn/stateMachine:StateMachine").find((r) => r.name === "bu-b-manual-confirmation")!;
        const pageSm = ofType("aws:sfn/stateMachine:StateMachine").find((r) => r.name === "bu-b-manual-page")!;
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-startConfirmation")).StartServerConfirmation, ["states:StartExecution", [confirmationSm.state.arn, pageSm.state.arn]]);
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-startConfirmation")).CompleteRotationWait, [["states:SendTaskFailure", "states:SendTaskSuccess"], "*"]);
        assert.strictEqual(policyOf("bu-b-manual-page-sm").Statement[0].Resource.length, 4, "ListServersPage and StartConfirmation and their versions");
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-confirmationApi")).CompleteTask[0], ["states:SendTaskFailure", "states:SendTaskSuccess"]);
        assert.deepStrictEqual(actionsOf(policyOf("bu-b-manual-remindOwner")).ReadConfirmation[0], "dynamodb:GetItem");
        const rotationSm = policyOf("bu-b-manual-rotation-sm");
        assert.strictEqual(rotationSm.Statement[0].Resource.length, 8, "4 task functions and their versions");
        assert.deepStrictEqual(rotationSm.Statement[1].Action, "sns:Publish");
        assert.strictEqual(policyOf("bu-b-manual-confirmation-sm").Statement.length, 1, "ManualConfirmation publishes nothing itself");
        for (const r of ofType("aws:iam/rolePolicy:RolePolicy").filter((p) => p.name.startsWith("bu-b-manual"))) {
            for (const s of JSON.parse(r.inputs.policy).Statement) {
                if (s.Resource === "*") assert.ok(["ec2:DescribeInstances", "states:SendTaskFailure"].includes([s.Action].flat()[0]), `${r.name}: ${JSON.stringify(s)}`);
            }
        }
    });

    it("tag fleets: EC2 DescribeInstances instead of the table; partition-aware ARNs (aws-cn)", async () => {
        mockAws.partition = "aws-cn";
        mockAws.dnsSuffix = "amazonaws.com.cn";
        mockAws.region = "cn-north-1";
        build("bu-c", { tag: { key: "SmtpFleet", value: "c" } }, { scheduleTimeZone: "Asia/Shanghai", graceDays: 7, maxConcurrency: 25 });
        await settled();
        assert.deepStrictEqual(Object.keys(actionsOf(policyOf("bu-c-manual-listServersPage"))), ["ListTaggedInstances", "WriteOwnLogs"]);
        const env = ofType("aws:lambda/function:Function").find((f) => f.name === "bu-c-manual-listServersPage")!.inputs.environment.variables;
        assert.strictEqual(JSON.parse(env.FLEET_TARGET).kind, "tag");
        const rotation = JSON.parse(ofType("aws:sfn/stateMachine:StateMachine").find((r) => r.name === "bu-c-manual-rotation")!.inputs.definition);
        assert.strictEqual(rotation.States.CreateCredential.Resource, "arn:aws-cn:states:::lambda:invoke");
        assert.strictEqual(rotation.States.AdvanceRetirement.Parameters.Payload.graceSeconds, 7 * 86400);
        const page = JSON.parse(ofType("aws:sfn/stateMachine:StateMachine").find((r) => r.name === "bu-c-manual-page")!.inputs.definition);
        assert.strictEqual(page.States.ConfirmServers.MaxConcurrency, 25);
        assert.strictEqual(page.States.ListServersPage.Resource, "arn:aws-cn:states:::lambda:invoke");
        assertValidAsl(rotation, "aws-cn rotation");
        assertValidAsl(page, "aws-cn page");
        assert.strictEqual(ofType("aws:scheduler/schedule:Schedule")[0].inputs.scheduleExpressionTimezone, "Asia/Shanghai");
        assert.match(JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "bu-c-manual-createCredential")!.inputs.policy).Statement[1].Resource, /^arn:aws-cn:ssm:cn-north-1:/);
    });

    it("bad manual options fail at construction, naming manual.<key>", async () => {
        const label = argsLabel("SmtpCredentialRotator", "bu-x");
        const cases: [Record<string, unknown>, RegExp][] = [
            [{ graceDays: -1 }, /args\.manual\.graceDays must be an integer/],
            [{ graceDays: 1, graceSeconds: 5 }, /args\.manual\.graceDays and manual\.graceSeconds are alternatives/],
            [{ scheduleTimeZone: "Mars/Olympus" }, /args\.manual\.scheduleTimeZone is not an IANA time zone/],
            [{ scheduleExpression: "every day" }, /args\.manual\.scheduleExpression must be rate/],
            [{ maxConcurrency: 0 }, /args\.manual\.maxConcurrency must be an integer from 1 to 40/],
            [{ parameterName: "no-slash" }, /args\.manual\.parameterName must be a Parameter Store path/],
            [{ reminderHourz: 3 }, /args\.manual\.reminderHourz is not a manual-mode option/],
        ];
        for (const [options, message] of cases) assert.throws(() => validateManualOptions(label, options, "bu-x"), message);
        assert.throws(() => build("bu-x", { table: { create: true } }, { pageSize: 1 }), /SmtpCredentialRotator "bu-x": args\.manual\.pageSize must be an integer from 5 to 1000, got 1/);
        const defaults = validateManualOptions(label, undefined, "bu-x");
        assert.deepStrictEqual([defaults.graceSeconds, defaults.reminderSeconds, defaults.confirmationTimeoutSeconds, defaults.scheduleExpression], [259200, 86400, 14 * 86400, "cron(0 0 L 1/3 ? *)"]);
        await settled();
    });

    it("the observation window: stack retirement.observationHours by default, manual.observationHours/Seconds override, bad values named", async () => {
        const observationOf = (name: string) => {
            const sm = ofType("aws:sfn/stateMachine:StateMachine").find((r) => r.name === `${name}-manual-rotation`)!;
            const states = JSON.parse(sm.inputs.definition).States;
            assert.strictEqual(states.ScheduleRetirement.Parameters.Payload.observationSeconds, states.AdvanceRetirement.Parameters.Payload.observationSeconds);
            return states.AdvanceRetirement.Parameters.Payload.observationSeconds;
        };
        build("bu-o1", { table: { create: true } });
        build("bu-o2", { table: { create: true } }, {}, { retirement: { observationHours: 6 } });
        build("bu-o3", { table: { create: true } }, { observationSeconds: 30 }, { retirement: { observationHours: 6 } });
        build("bu-o4", { table: { create: true } }, { observationHours: 2 });
        await settled();
        assert.deepStrictEqual(["bu-o1", "bu-o2", "bu-o3", "bu-o4"].map(observationOf), [86400, 21600, 30, 7200]);
        const label = argsLabel("SmtpCredentialRotator", "bu-x");
        assert.throws(() => validateManualOptions(label, { observationHours: -1 }, "bu-x"), /manual\.observationHours must be an integer from 0 to 2160, got -1/);
        assert.throws(() => validateManualOptions(label, { observationHours: 1, observationSeconds: 5 }, "bu-x"), /manual\.observationHours.*alternatives/);
    });

    it("the pure ASL builders: valid for edge options, and bad inputs are named", () => {
        const SM = "arn:aws:states:eu-west-1:123456789012:stateMachine:pages";
        const fn = (n: string) => `arn:aws:lambda:eu-west-1:123456789012:function:${n}`;
        for (const graceSeconds of [0, 1, 90 * 86400]) {
            assertValidAsl(
                credentialRotationDefinition({ createCredentialArn: fn("a"), listServersPageArn: fn("b"), startConfirmationArn: fn("c"), retireOldKeysArn: fn("d"), confirmationPageStateMachineArn: SM, notifyTopicArn: "arn:aws:sns:eu-west-1:123456789012:t", graceSeconds, maxServers: 1 }),
                `grace ${graceSeconds}`,
            );
        }
        assertValidAsl(manualConfirmationDefinition({ requestConfirmationArn: fn("a"), remindOwnerArn: fn("b"), reportOutcomeArn: fn("c"), reminderSeconds: 1, confirmationTimeoutSeconds: 1 }), "confirmation");
        assert.throws(() => manualConfirmationDefinition({ requestConfirmationArn: "nope", remindOwnerArn: fn("b"), reportOutcomeArn: fn("c") }), /requestConfirmationArn "nope" is not a lambda ARN/);
        for (const maxConcurrency of [1, 1000]) assertValidAsl(confirmationPageDefinition({ listServersPageArn: fn("b"), startConfirmationArn: fn("c"), maxConcurrency }), `page ${maxConcurrency}`);
        assert.throws(() => confirmationPageDefinition({ listServersPageArn: fn("b"), startConfirmationArn: fn("c"), maxConcurrency: 0 }), /maxConcurrency 0 must be an integer from 1 to 1000/);
        const rotation = (extra: object) => () =>
            credentialRotationDefinition({ createCredentialArn: fn("a"), listServersPageArn: fn("b"), startConfirmationArn: fn("c"), retireOldKeysArn: fn("d"), confirmationPageStateMachineArn: SM, notifyTopicArn: "arn:aws:sns:eu-west-1:1:t", ...extra });
        assert.throws(rotation({ maxServers: MAX_SERVERS_PER_RUN + 1 }), /maxServers 100001 must be an integer from 1 to 100000/);
        assert.throws(rotation({ confirmationPageStateMachineArn: fn("x") }), /confirmationPageStateMachineArn .* is not a states ARN/);
        assert.strictEqual((rotation({})() as any).States["FleetWithinBound?"].Choices[0].NumericGreaterThan, MAX_SERVERS_PER_RUN, "the bound defaults to MAX_SERVERS_PER_RUN");
    });
});

function one(type: string, from: RecordedResource[] = recorded()): RecordedResource {
    const found = ofType(type, from);
    assert.strictEqual(found.length, 1, `expected one ${type}, got ${found.length}`);
    return found[0];
}
