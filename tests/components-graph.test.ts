/**
 * Resource graphs of EmailServerFleet + SmtpCredentialRotator under `pulumi.runtime.setMocks` (Pulumi's mock
 * monitor: no CLI, no AWS). What each configuration creates, the exact policies that reach the resources,
 * parents and registerOutputs, the Lambda wiring, and that two business units never collide.
 */
import { DEFAULT_MOCK_AWS, countByType, descendantsOf, mockAws, ofType, recorded, RecordedResource, resetMockAws, resetRecorded, settled, valueOf } from "./support/pulumi-mocks";
import * as assert from "assert";
import { EmailServerFleet, SmtpCredentialRotator } from "../components";
import { retirementLambdaPolicy, rotationLambdaPolicy } from "../components/policies";
import { RETIREMENT_LAMBDA_USER_ACTIONS, retirementLambdaConfigFromEnv } from "../components/providers/retirement-lambda";
import { rotationConfigFromEnv } from "../runtime/auto/rotation-handler";

const ROTATOR = "ses-smtp-rotator:index:SmtpCredentialRotator";
const FLEET = "ses-smtp-rotator:index:EmailServerFleet";
const KEY_ARN = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/** The resources one auto-mode rotator creates (fleet excluded). */
const AUTO_MODE_RESOURCES = {
    // rotation-failed alert + hourly retirement schedule
    "aws:cloudwatch/eventRule:EventRule": 2,
    "aws:cloudwatch/eventTarget:EventTarget": 2,
    // rotation Lambda and retirement Lambda: each its own log group, role and inline policy
    "aws:cloudwatch/logGroup:LogGroup": 2,
    "aws:iam/role:Role": 2,
    "aws:iam/rolePolicy:RolePolicy": 2,
    "aws:iam/user:User": 1,
    "aws:iam/userPolicy:UserPolicy": 1,
    "aws:lambda/function:Function": 2,
    "aws:lambda/permission:Permission": 2,
    "aws:secretsmanager/secret:Secret": 1,
    "aws:secretsmanager/secretRotation:SecretRotation": 1,
    "aws:sns/topic:Topic": 1,
    "aws:sns/topicPolicy:TopicPolicy": 1,
    "aws:ssm/document:Document": 2,
    // first credential, rotate-now, retirement guard (components/rotator-providers.ts)
    "pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential": 1,
    "pulumi-nodejs:dynamic/ses-rotator:RetirementGuard": 1,
    "pulumi-nodejs:dynamic/ses-rotator:RotateNow": 1,
};

function one(type: string, from: RecordedResource[] = recorded()): RecordedResource {
    const found = ofType(type, from);
    assert.strictEqual(found.length, 1, `expected one ${type}, got ${found.length}`);
    return found[0];
}

function named(type: string, name: string): RecordedResource {
    const found = ofType(type).filter((r) => r.name === name);
    assert.strictEqual(found.length, 1, `expected one ${type} named ${name}, got ${found.length}`);
    return found[0];
}

function build(name = "payments", rotator: Record<string, unknown> = {}, fleetArgs: Record<string, unknown> = {}) {
    const fleet = new EmailServerFleet(`${name}-fleet`, { selector: { tag: { key: "SmtpFleet", value: name } }, ...fleetArgs } as any);
    const r = new SmtpCredentialRotator(name, { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet, ...rotator } as any);
    return { fleet, rotator: r };
}

describe("components under Pulumi mocks", () => {
    beforeEach(() => {
        resetRecorded();
        resetMockAws();
    });
    after(resetMockAws);

    describe("auto mode, tag selector", () => {
        it("creates exactly the auto-mode resources, all children of the rotator, and registers outputs", async () => {
            const { rotator } = build("payments", { notifyEmails: ["ops@example.com", "oncall@example.com"] }, { serverRoleNames: ["mail-a", "mail-b"] });
            await settled();
            const root = one(ROTATOR);
            const children = recorded().filter((r) => r.parent === root.urn);
            assert.deepStrictEqual(countByType(children), {
                ...AUTO_MODE_RESOURCES,
                "aws:iam/rolePolicy:RolePolicy": 4, // the two Lambdas' + one server read policy per role
                "aws:sns/topicSubscription:TopicSubscription": 2,
            });
            // Nothing else anywhere: no CallbackFunction default role, no stray resource outside the components.
            assert.deepStrictEqual(descendantsOf(root.urn).length, children.length);
            assert.deepStrictEqual(
                recorded().filter((r) => r.parent === "").map((r) => r.type).sort(),
                [ROTATOR, FLEET].sort(),
            );
            assert.ok(root.outputsRegistered && one(FLEET).outputsRegistered, "both components call registerOutputs");
            assert.deepStrictEqual(Object.keys(root.registeredOutputs!).sort(), [
                // (retirementHeldKeyId / retirementHeldEvidence are undefined without a hold: not serialized)
                "credentialStore", "firstAccessKeyId", "iisDocumentName", "postfixDocumentName", "retirementFunctionName", "retirementHeldKeyIds", "retirements", "rotateNowStarted", "rotationFailedRuleName",
                "rotationFunctionArn", "rotationFunctionName", "rotationId", "secretArn", "serverReadPolicy", "topicArn", "userArn", "userName",
            ]);
            assert.strictEqual(await valueOf(rotator.secretArn!), one("aws:secretsmanager/secret:Secret").state.arn);
        });

        it("never puts a secret anywhere: no secret inputs, no secret value on the Secret, no password-like env", async () => {
            build();
            await settled();
            for (const r of recorded()) assert.deepStrictEqual(r.secretInputs, [], `${r.type} ${r.name} has secret inputs`);
            const secret = one("aws:secretsmanager/secret:Secret");
            assert.ok(!("secretString" in secret.inputs) && !("secretBinary" in secret.inputs));
            assert.strictEqual(ofType("aws:secretsmanager/secretVersion:SecretVersion").length, 0);
            for (const fn of ofType("aws:lambda/function:Function")) {
                const env = fn.inputs.environment.variables;
                assert.ok(!Object.keys(env).some((k) => /SECRET_ACCESS|PASSWORD|TOKEN/.test(k)), Object.keys(env).join());
            }
        });

        it("the IAM user is force-destroyable and may only send raw e-mail from the identities", async () => {
            build("payments", { sesRegion: "us-east-1", sesIdentities: ["example.com", "arn:aws:ses:us-east-1:123456789012:identity/ops@example.com"] });
            await settled();
            assert.strictEqual(one("aws:iam/user:User").inputs.forceDestroy, true);
            const policy = JSON.parse(one("aws:iam/userPolicy:UserPolicy").inputs.policy);
            assert.deepStrictEqual(policy.Statement, [
                {
                    Sid: "SendThroughSesSmtp",
                    Effect: "Allow",
                    Action: "ses:SendRawEmail",
                    Resource: ["arn:aws:ses:us-east-1:123456789012:identity/example.com", "arn:aws:ses:us-east-1:123456789012:identity/ops@example.com"],
                },
            ]);
            assert.strictEqual(one("aws:iam/userPolicy:UserPolicy").inputs.user, one("aws:iam/user:User").state.name);
        });

        it("builds ARNs with the deployment's partition (aws-us-gov)", async () => {
            Object.assign(mockAws, { partition: "aws-us-gov", region: "us-gov-west-1" });
            build("payments", { sesRegion: "us-gov-west-1" });
            await settled();
            const send = JSON.parse(one("aws:iam/userPolicy:UserPolicy").inputs.policy).Statement[0].Resource;
            assert.deepStrictEqual(send, ["arn:aws-us-gov:ses:us-gov-west-1:123456789012:identity/example.com"]);
            const lambdaPolicy = JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "payments-rotation")!.inputs.policy);
            const targets = lambdaPolicy.Statement.find((s: any) => s.Sid === "UpdateServers").Resource;
            assert.ok(targets.includes("arn:aws-us-gov:ec2:*:*:instance/*") && targets.includes("arn:aws-us-gov:ssm:*:*:managed-instance/*"), targets.join());
        });

        it("wires the Lambda: nodejs22.x, its own role, env for the handler, exact policy, permission scoped to the secret", async () => {
            build("payments", { notifyEmails: ["ops@example.com"], smtpPort: 465, fleetDeadlineSeconds: 300, retirement: { observationHours: 6, graceDays: 2 } });
            await settled();
            const fn = named("aws:lambda/function:Function", "payments-rotation");
            const role = named("aws:iam/role:Role", "payments-rotation");
            const secret = one("aws:secretsmanager/secret:Secret");
            const user = one("aws:iam/user:User");
            const topic = one("aws:sns/topic:Topic");
            const docs = ofType("aws:ssm/document:Document");
            const postfix = docs.find((d) => d.name === "payments-postfix")!;
            const iis = docs.find((d) => d.name === "payments-iis")!;
            assert.strictEqual(fn.inputs.runtime, "nodejs22.x");
            assert.strictEqual(fn.inputs.handler, "__index.handler");
            assert.strictEqual(fn.inputs.role, role.state.arn);
            assert.strictEqual(fn.inputs.timeout, 900);
            assert.deepStrictEqual(JSON.parse(role.inputs.assumeRolePolicy).Statement[0].Principal, { Service: "lambda.amazonaws.com" });

            const config = rotationConfigFromEnv(fn.inputs.environment.variables);
            assert.deepStrictEqual(config, {
                iamUserName: user.state.name,
                sesRegion: "eu-west-1",
                smtpEndpoint: "email-smtp.eu-west-1.amazonaws.com",
                smtpPort: 465,
                fleet: { kind: "tag", tagKey: "SmtpFleet", tagValue: "payments", softwareTagKey: "SmtpSoftware" },
                postfixDocument: postfix.state.name,
                iisDocument: iis.state.name,
                documentVersions: { postfix: "1", iis: "1" },
                notifyTopicArn: topic.state.arn,
                fleetDeadlineSeconds: 300,
                retirement: { observationHours: 6, graceDays: 2 },
            });

            const lambdaPolicy = ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "payments-rotation")!;
            assert.strictEqual(lambdaPolicy.inputs.role, role.state.name);
            const ctx = { partition: "aws", accountId: DEFAULT_MOCK_AWS.accountId, region: DEFAULT_MOCK_AWS.region };
            assert.deepStrictEqual(
                JSON.parse(lambdaPolicy.inputs.policy),
                rotationLambdaPolicy(ctx, {
                    userArn: user.state.arn,
                    secretArn: secret.state.arn,
                    topicArn: topic.state.arn,
                    postfixDocumentArn: postfix.state.arn,
                    iisDocumentArn: iis.state.arn,
                    logGroupArn: named("aws:cloudwatch/logGroup:LogGroup", "payments-rotation").state.arn,
                    fleetTag: { key: "SmtpFleet", value: "payments" },
                }),
            );
            const nodes = JSON.parse(lambdaPolicy.inputs.policy).Statement.find((s: any) => s.Sid === "UpdateServers");
            assert.deepStrictEqual(nodes.Condition, { StringEquals: { "ssm:resourceTag/SmtpFleet": ["payments"] } }, "SendCommand only on the fleet's nodes");

            const permission = named("aws:lambda/permission:Permission", "payments-rotation-invoke");
            assert.deepStrictEqual(
                { action: permission.inputs.action, principal: permission.inputs.principal, sourceArn: permission.inputs.sourceArn, function: permission.inputs.function },
                { action: "lambda:InvokeFunction", principal: "secretsmanager.amazonaws.com", sourceArn: secret.state.arn, function: fn.state.name },
            );
            assert.strictEqual(fn.inputs.loggingConfig.logGroup, named("aws:cloudwatch/logGroup:LogGroup", "payments-rotation").state.name);
        });

        it("schedules rotation: default every 90 days, or the given expression and window", async () => {
            build("payments");
            build("billing", { scheduleExpression: "cron(0 3 ? * SUN *)", rotationWindow: "4h", rotateImmediately: true });
            await settled();
            const rotations = ofType("aws:secretsmanager/secretRotation:SecretRotation");
            const byName = Object.fromEntries(rotations.map((r) => [r.name, r.inputs]));
            assert.deepStrictEqual(byName["payments-rotation"].rotationRules, { scheduleExpression: "rate(90 days)" });
            assert.strictEqual(byName["payments-rotation"].rotateImmediately, false, "default: the first credential is already stored");
            assert.deepStrictEqual(byName["billing-rotation"].rotationRules, { scheduleExpression: "cron(0 3 ? * SUN *)", duration: "4h" });
            assert.strictEqual(byName["billing-rotation"].rotateImmediately, true);
            const fn = ofType("aws:lambda/function:Function").find((f) => f.name === "payments-rotation")!;
            assert.strictEqual(byName["payments-rotation"].rotationLambdaArn, fn.state.arn);
        });

        it("alerts: e-mail subscriptions, and RotationFailed events of this secret reach the topic through a scoped topic policy", async () => {
            build("payments", { notifyEmails: ["ops@example.com"] });
            await settled();
            const topic = one("aws:sns/topic:Topic");
            const sub = one("aws:sns/topicSubscription:TopicSubscription");
            assert.deepStrictEqual([sub.inputs.protocol, sub.inputs.endpoint, sub.inputs.topic], ["email", "ops@example.com", topic.state.arn]);
            const rule = named("aws:cloudwatch/eventRule:EventRule", "payments-rotation-failed");
            const pattern = JSON.parse(rule.inputs.eventPattern);
            assert.deepStrictEqual(pattern.detail.eventName, ["RotationFailed"]);
            assert.deepStrictEqual(pattern.detail.additionalEventData.SecretId, [one("aws:secretsmanager/secret:Secret").state.arn]);
            const target = named("aws:cloudwatch/eventTarget:EventTarget", "payments-rotation-failed");
            assert.deepStrictEqual([target.inputs.rule, target.inputs.arn], [rule.state.name, topic.state.arn]);
            const topicPolicy = JSON.parse(one("aws:sns/topicPolicy:TopicPolicy").inputs.policy);
            assert.deepStrictEqual(topicPolicy.Statement[0].Condition, { ArnEquals: { "aws:SourceArn": rule.state.arn } });
        });

        it("retires old keys hourly: its own Lambda, role and policy, invoked by a schedule rule scoped permission", async () => {
            build("payments", { retirement: { observationHours: 12, graceDays: 5 } });
            await settled();
            const fn = named("aws:lambda/function:Function", "payments-retirement");
            const role = named("aws:iam/role:Role", "payments-retirement");
            const user = one("aws:iam/user:User");
            const topic = one("aws:sns/topic:Topic");
            assert.strictEqual(fn.inputs.runtime, "nodejs22.x");
            assert.strictEqual(fn.inputs.role, role.state.arn);
            assert.deepStrictEqual(retirementLambdaConfigFromEnv(fn.inputs.environment.variables), {
                iamUserName: user.state.name,
                secretArn: one("aws:secretsmanager/secret:Secret").state.arn,
                policy: { observationHours: 12, graceDays: 5 },
                notifyTopicArn: topic.state.arn,
            });
            const policy = JSON.parse(named("aws:iam/rolePolicy:RolePolicy", "payments-retirement").inputs.policy);
            assert.deepStrictEqual(
                policy,
                retirementLambdaPolicy(
                    {
                        userArn: user.state.arn,
                        topicArn: topic.state.arn,
                        logGroupArn: named("aws:cloudwatch/logGroup:LogGroup", "payments-retirement").state.arn,
                        secretArn: one("aws:secretsmanager/secret:Secret").state.arn,
                        region: DEFAULT_MOCK_AWS.region,
                    },
                    RETIREMENT_LAMBDA_USER_ACTIONS,
                ),
            );
            const rule = named("aws:cloudwatch/eventRule:EventRule", "payments-retirement");
            assert.strictEqual(rule.inputs.scheduleExpression, "rate(1 hour)");
            const target = named("aws:cloudwatch/eventTarget:EventTarget", "payments-retirement");
            assert.deepStrictEqual([target.inputs.rule, target.inputs.arn], [rule.state.name, fn.state.arn]);
            const permission = named("aws:lambda/permission:Permission", "payments-retirement-invoke");
            assert.deepStrictEqual(
                [permission.inputs.principal, permission.inputs.sourceArn, permission.inputs.function],
                ["events.amazonaws.com", rule.state.arn, fn.state.name],
            );
        });

        it("installs the Postfix and IIS documents as JSON Command documents", async () => {
            build();
            await settled();
            const docs = ofType("aws:ssm/document:Document");
            for (const d of docs) {
                assert.deepStrictEqual([d.inputs.documentType, d.inputs.documentFormat], ["Command", "JSON"]);
                assert.strictEqual(JSON.parse(d.inputs.content).schemaVersion, "2.2");
            }
            const actions = docs.map((d) => JSON.parse(d.inputs.content).mainSteps[0].action).sort();
            assert.deepStrictEqual(actions, ["aws:runPowerShellScript", "aws:runShellScript"]);
        });

        it("gives each server role a read policy for the secret only", async () => {
            build("payments", {}, { serverRoleNames: ["mail-a"] });
            await settled();
            const read = ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.inputs.role === "mail-a")!;
            assert.deepStrictEqual(JSON.parse(read.inputs.policy).Statement, [
                { Sid: "ReadSmtpCredential", Effect: "Allow", Action: "secretsmanager:GetSecretValue", Resource: one("aws:secretsmanager/secret:Secret").state.arn },
            ]);
        });
    });

    it("customer KMS key: encrypts the secret, lets the Lambda and the servers use it through Secrets Manager only", async () => {
        build("payments", { kmsKeyArn: KEY_ARN }, { serverRoleNames: ["mail-a"] });
        await settled();
        assert.strictEqual(one("aws:secretsmanager/secret:Secret").inputs.kmsKeyId, KEY_ARN);
        const fn = named("aws:lambda/function:Function", "payments-rotation");
        assert.strictEqual(fn.inputs.environment.variables.KMS_KEY_ID, KEY_ARN);
        const policies = ofType("aws:iam/rolePolicy:RolePolicy").map((p) => JSON.parse(p.inputs.policy));
        const readers = policies.filter((p) => JSON.stringify(p).includes("secretsmanager:GetSecretValue"));
        assert.strictEqual(readers.length, 3, "the rotation Lambda, the retirement Lambda (the key in use is never retired) and the server role read the secret");
        for (const p of readers) {
            const kms = p.Statement.find((s: any) => String(s.Action).includes("kms:"));
            assert.ok(kms, "every policy that reads the secret can decrypt it");
            assert.strictEqual(kms.Resource, KEY_ARN);
            assert.deepStrictEqual(kms.Condition, { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } });
        }
    });

    describe("table selector", () => {
        it("creates the fleet table (serverId key, on-demand, PITR, autonamed) and lets the Lambda scan it", async () => {
            const { fleet } = build("payments", {}, { selector: { table: { create: true } } });
            await settled();
            const table = one("aws:dynamodb/table:Table");
            assert.strictEqual(table.parent, one(FLEET).urn);
            assert.deepStrictEqual(
                { hashKey: table.inputs.hashKey, attributes: table.inputs.attributes, billingMode: table.inputs.billingMode, pitr: table.inputs.pointInTimeRecovery },
                { hashKey: "serverId", attributes: [{ name: "serverId", type: "S" }], billingMode: "PAY_PER_REQUEST", pitr: { enabled: true } },
            );
            assert.ok(!("name" in table.inputs), "no fixed table name");
            assert.deepStrictEqual(await valueOf(fleet.target), { kind: "table", tableName: table.state.name });
            const env = named("aws:lambda/function:Function", "payments-rotation").inputs.environment.variables;
            assert.deepStrictEqual(JSON.parse(env.FLEET_TARGET), { kind: "table", tableName: table.state.name });
            const lambdaPolicy = JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "payments-rotation")!.inputs.policy);
            assert.deepStrictEqual(lambdaPolicy.Statement.find((s: any) => s.Action === "dynamodb:Scan").Resource, table.state.arn);
        });

        it("uses an existing table by name: no table resource, ARN from partition, region and account", async () => {
            Object.assign(mockAws, { partition: "aws-cn", region: "cn-north-1", accountId: "999988887777" });
            const { fleet } = build("payments", { sesRegion: "eu-west-1" }, { selector: { table: { name: "mail-servers" } } });
            await settled();
            assert.strictEqual(ofType("aws:dynamodb/table:Table").length, 0);
            assert.strictEqual(await valueOf(fleet.tableArn!), "arn:aws-cn:dynamodb:cn-north-1:999988887777:table/mail-servers");
            assert.deepStrictEqual(await valueOf(fleet.target), { kind: "table", tableName: "mail-servers" });
            const lambdaPolicy = JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "payments-rotation")!.inputs.policy);
            assert.strictEqual(lambdaPolicy.Statement.find((s: any) => s.Action === "dynamodb:Scan").Resource, "arn:aws-cn:dynamodb:cn-north-1:999988887777:table/mail-servers");
        });

        it("a tag selector grants no DynamoDB access", async () => {
            build();
            await settled();
            const lambdaPolicy = JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.name === "payments-rotation")!.inputs.policy);
            assert.ok(!JSON.stringify(lambdaPolicy).includes("dynamodb"));
        });
    });

    it("two business units in one account and region do not collide: no fixed physical names", async () => {
        build("payments", { notifyEmails: ["ops@example.com"] }, { selector: { table: { create: true } }, serverRoleNames: ["mail"] });
        build("billing", { notifyEmails: ["ops@example.com"] }, { selector: { table: { create: true } }, serverRoleNames: ["mail"] });
        await settled();
        const custom = recorded().filter((r) => r.custom);
        const named = custom.filter((r) => "name" in r.inputs || "namePrefix" in r.inputs);
        assert.deepStrictEqual(named.map((r) => `${r.type} ${r.name}`), [], "every physical name is left to autonaming");
        const urns = recorded().map((r) => r.urn);
        assert.strictEqual(new Set(urns).size, urns.length, "URNs are unique");
        const physical = custom.filter((r) => r.state.name !== undefined && !r.type.includes("Policy") && !r.type.includes("Subscription"));
        assert.strictEqual(new Set(physical.map((r) => r.state.name)).size, physical.length, "physical names are unique");
        assert.deepStrictEqual(countByType(descendantsOf(recorded().find((r) => r.type === ROTATOR && r.name === "billing")!.urn)), {
            ...AUTO_MODE_RESOURCES,
            "aws:iam/rolePolicy:RolePolicy": 3,
            "aws:sns/topicSubscription:TopicSubscription": 1,
        });
        const tags = ofType("aws:iam/user:User").map((u) => u.inputs.tags["ses-rotator:business-unit"]).sort();
        assert.deepStrictEqual(tags, ["billing", "payments"]);
    });

    it("bad arguments fail at construction with an error naming the input", async () => {
        const fleet = new EmailServerFleet("f", { selector: { tag: { key: "SmtpFleet", value: "x" } } });
        assert.throws(
            () => new SmtpCredentialRotator("payments", { sesRegion: "eu-west-x", sesIdentities: ["example.com"], fleet }),
            /^Error: SmtpCredentialRotator "payments": args\.sesRegion is not an AWS region \(e\.g\. eu-west-1\), got "eu-west-x"$/,
        );
        assert.throws(
            () => new SmtpCredentialRotator("payments", { sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet, rotateAfterDays: 0 }),
            /args\.rotateAfterDays must be an integer from 1 to 1000, got 0/,
        );
        assert.throws(() => new EmailServerFleet("g", { selector: { table: { name: "no" } } }), /EmailServerFleet "g": args\.selector\.table\.name/);
        await settled();
        assert.deepStrictEqual(recorded().map((r) => r.name), ["f"], "a rejected component registers nothing");
    });

    it("manual mode: shared pieces under the rotator, the rest from components/manual, servers read the parameter", async () => {
        const fleet = new EmailServerFleet("m-fleet", { selector: { table: { create: true } }, serverRoleNames: ["mail-a"] });
        const rotator = new SmtpCredentialRotator("manual-unit", { mode: "manual", sesRegion: "eu-west-1", sesIdentities: ["example.com"], fleet });
        await settled();
        const store = await valueOf(rotator.credentialStore);
        assert.strictEqual(store.kind, "parameter");
        const children = recorded().filter((r) => r.parent === one(ROTATOR).urn);
        assert.strictEqual(ofType("aws:iam/user:User", children).length, 1);
        assert.strictEqual(ofType("aws:sns/topic:Topic", children).filter((t) => t.name === "manual-unit-alerts").length, 1);
        assert.strictEqual(ofType("aws:ssm/document:Document", children).length, 2);
        assert.strictEqual(ofType("aws:secretsmanager/secret:Secret").length, 0, "manual mode keeps the credential in Parameter Store");
        assert.strictEqual(ofType("aws:sfn/stateMachine:StateMachine", descendantsOf(one(ROTATOR).urn)).length, 3, "CredentialRotation, ConfirmationPage, ManualConfirmation");
        const read = ofType("aws:iam/rolePolicy:RolePolicy").find((r) => r.inputs.role === "mail-a")!;
        assert.deepStrictEqual(JSON.parse(read.inputs.policy).Statement, [
            { Sid: "ReadSmtpCredential", Effect: "Allow", Action: "ssm:GetParameter", Resource: store.kind === "parameter" ? store.parameterArn : "" },
        ]);
        assert.ok(recorded().every((r) => r.parent !== "" || r.type === ROTATOR || r.type === FLEET), "nothing outside the components");
    });
});
