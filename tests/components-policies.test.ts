/**
 * The pure policy builders: exact actions, resources and conditions of every document the components
 * attach (no Pulumi here; the resource-graph tests check the same documents arrive on the resources).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import {
    alertTopicPolicy,
    AwsContext,
    managedNodeArns,
    retirementLambdaPolicy,
    rotationFailedEventPattern,
    rotationLambdaPolicy,
    serverReadPolicy,
    serviceAssumeRolePolicy,
    sesConfigurationSetArn,
    sesIdentityArn,
    smtpUserPolicy,
} from "../components/policies";
import { RETIREMENT_LAMBDA_USER_ACTIONS } from "../components/providers/retirement-lambda";

const ctx: AwsContext = { partition: "aws", accountId: "111122223333", region: "eu-west-1" };
const gov: AwsContext = { partition: "aws-us-gov", accountId: "111122223333", region: "us-gov-west-1" };

const scope = {
    userArn: "arn:aws:iam::111122223333:user/payments-smtp-1a2b3c",
    secretArn: "arn:aws:secretsmanager:eu-west-1:111122223333:secret:payments-credential-AbCdEf",
    topicArn: "arn:aws:sns:eu-west-1:111122223333:payments-alerts",
    postfixDocumentArn: "arn:aws:ssm:eu-west-1:111122223333:document/payments-postfix",
    iisDocumentArn: "arn:aws:ssm:eu-west-1:111122223333:document/payments-iis",
    logGroupArn: "arn:aws:logs:eu-west-1:111122223333:log-group:payments-rotation",
};

/** action -> resources, over every Allow statement (statements may list several actions). */
function grants(doc: { Statement: any[] }): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const s of doc.Statement) {
        assert.strictEqual(s.Effect, "Allow");
        for (const a of [].concat(s.Action)) out[a] = [...(out[a] ?? []), ...[].concat(s.Resource)].sort();
    }
    return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
}

describe("policy builders", () => {
    describe("SMTP user", () => {
        it("allows only ses:SendRawEmail on the identities and the configuration set", () => {
            const doc = smtpUserPolicy({
                identityArns: [sesIdentityArn(ctx, "us-east-1", "example.com"), sesIdentityArn(ctx, "us-east-1", "ops@example.com")],
                configurationSetArn: sesConfigurationSetArn(ctx, "us-east-1", "transactional"),
            });
            assert.deepStrictEqual(grants(doc), {
                "ses:SendRawEmail": [
                    "arn:aws:ses:us-east-1:111122223333:configuration-set/transactional",
                    "arn:aws:ses:us-east-1:111122223333:identity/example.com",
                    "arn:aws:ses:us-east-1:111122223333:identity/ops@example.com",
                ],
            });
        });

        it("builds identity ARNs with the deployment's partition and the SES region, and keeps given ARNs", () => {
            assert.strictEqual(sesIdentityArn(gov, "us-gov-east-1", "example.gov"), "arn:aws-us-gov:ses:us-gov-east-1:111122223333:identity/example.gov");
            const given = "arn:aws-cn:ses:cn-north-1:999988887777:identity/example.cn";
            assert.strictEqual(sesIdentityArn(ctx, "eu-west-1", given), given);
        });

        it("refuses an empty resource list (that would grant nothing, or everything if widened)", () => {
            assert.throws(() => smtpUserPolicy({ identityArns: [] }), /at least one SES identity/);
        });
    });

    describe("rotation Lambda", () => {
        it("grants exactly the handler's calls, each on its own resource", () => {
            assert.deepStrictEqual(grants(rotationLambdaPolicy(ctx, scope)), {
                "iam:CreateAccessKey": [scope.userArn],
                "iam:DeleteAccessKey": [scope.userArn],
                "iam:GetAccessKeyLastUsed": [scope.userArn],
                "iam:ListAccessKeys": [scope.userArn],
                "iam:ListUserTags": [scope.userArn],
                "iam:TagUser": [scope.userArn],
                "iam:UntagUser": [scope.userArn],
                "iam:UpdateAccessKey": [scope.userArn],
                "logs:CreateLogStream": [`${scope.logGroupArn}:*`],
                "logs:PutLogEvents": [`${scope.logGroupArn}:*`],
                "secretsmanager:DescribeSecret": [scope.secretArn],
                "secretsmanager:GetSecretValue": [scope.secretArn],
                "secretsmanager:ListSecretVersionIds": [scope.secretArn],
                "secretsmanager:PutSecretValue": [scope.secretArn],
                "secretsmanager:UpdateSecretVersionStage": [scope.secretArn],
                "sns:Publish": [scope.topicArn],
                "ssm:GetCommandInvocation": ["*"],
                "ssm:ListCommandInvocations": ["*"],
                "ssm:ListCommands": ["*"],
                "ssm:SendCommand": [
                    "arn:aws:ec2:*:*:instance/*",
                    scope.iisDocumentArn,
                    scope.postfixDocumentArn,
                    "arn:aws:ssm:*:*:managed-instance/*",
                ].sort(),
            });
        });

        it("matches the AWS calls the handler's code makes (every SDK command reachable from rotation-handler.ts)", () => {
            const used = sdkActionsReachableFrom(path.join(__dirname, "../runtime/auto/rotation-handler.ts"));
            const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
            const granted = Object.keys(grants(rotationLambdaPolicy(ctx, { ...scope, fleetTableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/t", kmsKeyArn: keyArn })));
            // logs:* is Lambda's own logging, kms:* is Secrets Manager decrypting/encrypting on the handler's behalf.
            const apiGrants = granted.filter((a) => !a.startsWith("logs:") && !a.startsWith("kms:"));
            assert.deepStrictEqual(apiGrants, used);
        });

        it("adds dynamodb:Scan on the fleet table and KMS use through Secrets Manager only, when configured", () => {
            const tableArn = "arn:aws:dynamodb:eu-west-1:111122223333:table/payments-servers";
            const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
            const doc = rotationLambdaPolicy(ctx, { ...scope, fleetTableArn: tableArn, kmsKeyArn: keyArn });
            const g = grants(doc);
            assert.deepStrictEqual(g["dynamodb:Scan"], [tableArn]);
            assert.deepStrictEqual(g["kms:Decrypt"], [keyArn]);
            assert.deepStrictEqual(g["kms:GenerateDataKey"], [keyArn]);
            const kms = doc.Statement.find((s) => ([] as string[]).concat(s.Action).includes("kms:Decrypt"))!;
            assert.deepStrictEqual(kms.Condition, { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } });
            assert.strictEqual(Object.keys(g).filter((a) => a.startsWith("dynamodb:") || a.startsWith("kms:")).length, 3);
        });

        it("SendCommand: only this rotator's documents; tag fleets only on nodes with the fleet tag; table fleets on any node", () => {
            const tagged = rotationLambdaPolicy(ctx, { ...scope, fleetTag: { key: "SmtpFleet", value: "payments" } });
            const send = tagged.Statement.filter((s) => ([] as string[]).concat(s.Action).includes("ssm:SendCommand"));
            assert.deepStrictEqual(
                send.map((s) => [s.Sid, s.Resource, s.Condition]),
                [
                    ["UpdateServersDocuments", [scope.postfixDocumentArn, scope.iisDocumentArn], undefined],
                    ["UpdateServers", managedNodeArns("aws"), { StringEquals: { "ssm:resourceTag/SmtpFleet": ["payments"] } }],
                ],
            );
            const table = rotationLambdaPolicy(ctx, { ...scope, fleetTableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/t" });
            assert.strictEqual(table.Statement.find((s) => s.Sid === "UpdateServers")!.Condition, undefined, "a table fleet shares no tag (documented)");
        });

        it("targets managed nodes in the deployment's partition", () => {
            assert.deepStrictEqual(managedNodeArns("aws-cn"), ["arn:aws-cn:ec2:*:*:instance/*", "arn:aws-cn:ssm:*:*:managed-instance/*"]);
            const g = grants(rotationLambdaPolicy(gov, scope));
            assert.ok(g["ssm:SendCommand"].includes("arn:aws-us-gov:ssm:*:*:managed-instance/*"));
            assert.ok(!g["ssm:SendCommand"].some((r) => r.startsWith("arn:aws:ec2")));
        });
    });

    describe("retirement Lambda", () => {
        const secretArn = "arn:aws:secretsmanager:eu-west-1:111122223333:secret:payments-smtp-AbCdEf";
        const retirementScope = { userArn: scope.userArn, topicArn: scope.topicArn, logGroupArn: "arn:aws:logs:eu-west-1:111122223333:log-group:payments-retirement", secretArn, region: "eu-west-1" };

        it("grants the user actions on the user, reading the secret (the key in use), publish on the topic, its own logs", () => {
            assert.deepStrictEqual(grants(retirementLambdaPolicy(retirementScope, RETIREMENT_LAMBDA_USER_ACTIONS)), {
                "iam:DeleteAccessKey": [scope.userArn],
                "iam:GetAccessKeyLastUsed": [scope.userArn],
                "iam:ListAccessKeys": [scope.userArn],
                "iam:ListUserTags": [scope.userArn],
                "iam:TagUser": [scope.userArn],
                "iam:UntagUser": [scope.userArn],
                "iam:UpdateAccessKey": [scope.userArn],
                "logs:CreateLogStream": [`${retirementScope.logGroupArn}:*`],
                "logs:PutLogEvents": [`${retirementScope.logGroupArn}:*`],
                "secretsmanager:GetSecretValue": [secretArn],
                "sns:Publish": [scope.topicArn],
            });
            const kms = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
            const withKey = retirementLambdaPolicy({ ...retirementScope, kmsKeyArn: kms }, RETIREMENT_LAMBDA_USER_ACTIONS);
            assert.deepStrictEqual(
                withKey.Statement.find((s) => s.Sid === "DecryptCredential"),
                { Sid: "DecryptCredential", Effect: "Allow", Action: "kms:Decrypt", Resource: kms, Condition: { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } } },
            );
        });

        it("grants nothing the retirement code cannot call, and misses nothing it calls", () => {
            const reachable = sdkActionsReachableFrom(path.join(__dirname, "../components/providers/retirement-lambda.ts"));
            const granted = Object.keys(grants(retirementLambdaPolicy(retirementScope, RETIREMENT_LAMBDA_USER_ACTIONS))).filter((a) => !a.startsWith("logs:"));
            assert.deepStrictEqual(granted.filter((a) => !reachable.includes(a)), [], "every grant is used");
            // The scan works per module: runtime/access-keys.ts also holds key creation, which retirement never calls.
            assert.deepStrictEqual(reachable.filter((a) => !granted.includes(a)), ["iam:CreateAccessKey"]);
        });
    });

    describe("server read policy", () => {
        const keyArn = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

        it("auto mode: GetSecretValue on the one secret; decrypt through Secrets Manager only", () => {
            const doc = serverReadPolicy(ctx, { kind: "secret", secretArn: scope.secretArn }, keyArn);
            assert.deepStrictEqual(grants(doc), { "kms:Decrypt": [keyArn], "secretsmanager:GetSecretValue": [scope.secretArn] });
            assert.deepStrictEqual(doc.Statement[1].Condition, { StringEquals: { "kms:ViaService": "secretsmanager.eu-west-1.amazonaws.com" } });
        });

        it("manual mode: GetParameter on the one parameter; decrypt through SSM only; no KMS grant without a customer key", () => {
            const parameterArn = "arn:aws:ssm:eu-west-1:111122223333:parameter/payments/credential";
            const withKey = serverReadPolicy(ctx, { kind: "parameter", parameterArn }, keyArn);
            assert.deepStrictEqual(grants(withKey), { "kms:Decrypt": [keyArn], "ssm:GetParameter": [parameterArn] });
            assert.deepStrictEqual(withKey.Statement[1].Condition, { StringEquals: { "kms:ViaService": "ssm.eu-west-1.amazonaws.com" } });
            assert.deepStrictEqual(grants(serverReadPolicy(ctx, { kind: "parameter", parameterArn })), { "ssm:GetParameter": [parameterArn] });
        });
    });

    describe("alerting", () => {
        it("lets only EventBridge publish, only for the failure rule", () => {
            const ruleArn = "arn:aws:events:eu-west-1:111122223333:rule/payments-rotation-failed";
            const doc = alertTopicPolicy(scope.topicArn, ruleArn);
            assert.deepStrictEqual(doc.Statement, [
                {
                    Sid: "RotationFailureEvents",
                    Effect: "Allow",
                    Principal: { Service: "events.amazonaws.com" },
                    Action: "sns:Publish",
                    Resource: scope.topicArn,
                    Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
                },
            ]);
        });

        it("matches Secrets Manager's RotationFailed CloudTrail event for this secret only", () => {
            assert.deepStrictEqual(rotationFailedEventPattern(scope.secretArn), {
                source: ["aws.secretsmanager"],
                "detail-type": ["AWS Service Event via CloudTrail"],
                detail: {
                    eventSource: ["secretsmanager.amazonaws.com"],
                    eventName: ["RotationFailed"],
                    additionalEventData: { SecretId: [scope.secretArn] },
                },
            });
        });
    });

    it("service trust policy names the service and, when asked, the account", () => {
        assert.deepStrictEqual(serviceAssumeRolePolicy("lambda.amazonaws.com").Statement, [
            { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
        ]);
        assert.deepStrictEqual(serviceAssumeRolePolicy("states.amazonaws.com", ctx).Statement[0].Condition, {
            StringEquals: { "aws:SourceAccount": "111122223333" },
        });
    });
});

/** SDK client package -> IAM service prefix. */
const SERVICE_PREFIX: Record<string, string> = {
    "@aws-sdk/client-iam": "iam",
    "@aws-sdk/client-secrets-manager": "secretsmanager",
    "@aws-sdk/client-ssm": "ssm",
    "@aws-sdk/client-sns": "sns",
    "@aws-sdk/client-dynamodb": "dynamodb",
};

/**
 * Static scan: follows the relative (non-type) imports from `entry` and collects every `<sdkAlias>.XxxCommand`
 * / `new XxxCommand` of an AWS SDK client, as IAM actions (`iam:CreateAccessKey`, ...). Sorted, unique.
 */
function sdkActionsReachableFrom(entry: string): string[] {
    const seen = new Set<string>();
    const actions = new Set<string>();
    const visit = (file: string) => {
        if (seen.has(file)) return;
        seen.add(file);
        const text = fs.readFileSync(file, "utf8");
        const aliases = new Map<string, string>();
        for (const m of text.matchAll(/import\s+(\w+)\s*=\s*require\("(@aws-sdk\/client-[a-z-]+)"\)/g)) aliases.set(m[1], m[2]);
        for (const m of text.matchAll(/import\s+\{([^}]+)\}\s+from\s+"(@aws-sdk\/client-[a-z-]+)"/g)) {
            for (const name of m[1].split(",").map((n) => n.trim())) if (name.endsWith("Command")) aliases.set(`#${name}`, m[2]);
        }
        for (const m of text.matchAll(/\b(\w+)\.(\w+)Command\b/g)) {
            const pkg = aliases.get(m[1]);
            if (pkg && SERVICE_PREFIX[pkg]) actions.add(`${SERVICE_PREFIX[pkg]}:${m[2]}`);
        }
        for (const m of text.matchAll(/new\s+(\w+)Command\b/g)) {
            const pkg = aliases.get(`#${m[1]}Command`);
            if (pkg && SERVICE_PREFIX[pkg]) actions.add(`${SERVICE_PREFIX[pkg]}:${m[1]}`);
        }
        for (const m of text.matchAll(/^import\s+(?!type\b)[^;]*?from\s+"(\.[^"]+)"|^import\s+\w+\s*=\s*require\("(\.[^"]+)"\)|^export\s+(?!type\b)[^;]*?from\s+"(\.[^"]+)"/gm)) {
            const rel = m[1] ?? m[2] ?? m[3];
            const base = path.resolve(path.dirname(file), rel);
            const candidate = [`${base}.ts`, path.join(base, "index.ts")].find((f) => fs.existsSync(f));
            if (candidate) visit(candidate);
        }
    };
    visit(entry);
    assert.ok(seen.size > 2, `expected the code to span several modules, scanned ${[...seen].join(", ")}`);
    return [...actions].sort((a, b) => a.localeCompare(b));
}
