/**
 * The auto-mode rotation handler driven step by step as Secrets Manager drives it (tests/support/rotation-driver.ts),
 * against moto through the wire proxy, with the real SMTP AUTH check against the local SES-compatible endpoint
 * (which accepts only keys Active in moto). Server failures are played through the proxy's SSM overlay.
 */
import * as assert from "assert";
import { IAMClient } from "@aws-sdk/client-iam";
import { CreateSecretCommand, DescribeSecretCommand, PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { deactivateAccessKey, listAccessKeys } from "../runtime/access-keys";
import { listRetirements } from "../runtime/retirement";
import { createAccessKeyWithIntent } from "../runtime/key-intent";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { rotationConfigFromEnv } from "../runtime/auto/rotation-handler";
import { RotationWorld, SES_REGION, STEPS, USER } from "./support/rotation-driver";
import { useRotationWorld } from "./support/suite-hooks";
import { SesEndpoint } from "../sandbox/ses-endpoint";

describe("auto-mode rotation handler (Secrets Manager contract, moto + SES-compatible endpoint)", () => {
    let endpoint: SesEndpoint;
    let world: RotationWorld;
    useRotationWorld((e, w) => {
        endpoint = e;
        world = w;
    });

    const keys = () => listAccessKeys(new IAMClient(clientConfig()), USER);
    const keyStatus = async (id: string) => (await keys()).find((k) => k.accessKeyId === id)?.status ?? "absent";
    const counts = () => testEnv().proxy.callCounts();
    const smtpLoginOk = (username: string) => endpoint.authLog.some((e) => e.username === username && e.ok);

    it("rotates: new key in AWSCURRENT, servers told by reference (tag targets), SMTP proven, old key retired", async () => {
        world = await reset({ fleet: "tag" });
        const token = await world.rotate();
        const current = await world.value({ stage: "AWSCURRENT" });
        assert.deepStrictEqual(Object.keys(current).sort(), ["endpoint", "password", "port", "region", "username"]);
        assert.notStrictEqual(current.username, world.firstKeyId);
        assert.deepStrictEqual([current.endpoint, current.port, current.region], [`email-smtp.${SES_REGION}.amazonaws.com`, 587, SES_REGION]);
        assert.deepStrictEqual((await world.stages())[token], ["AWSCURRENT"]);
        assert.ok(smtpLoginOk(current.username), "testSecret logged in with the new key");

        const sent = world.sentCommands();
        assert.deepStrictEqual(sent.map((s) => s.request.DocumentName).sort(), ["ses-iis-update", "ses-postfix-update"]);
        for (const { request, command } of sent) {
            assert.deepStrictEqual(request.Parameters, { CredentialSource: ["SecretsManager"], CredentialId: [world.secretArn], CredentialVersion: [token], Region: ["us-east-1"], Mode: ["update"] });
            assert.ok(!JSON.stringify(request).includes(current.password));
            assert.strictEqual(command.InstanceIds.length, request.DocumentName === "ses-iis-update" ? 1 : 2, "only this business unit's servers");
        }

        // observationHours 0: the old key is Inactive right away (grace 7 days), the new one Active.
        assert.strictEqual(await keyStatus(world.firstKeyId), "Inactive");
        assert.strictEqual(await keyStatus(current.username), "Active");
        assert.deepStrictEqual((await listRetirements(new IAMClient(clientConfig()), USER)).map((r) => [r.accessKeyId, r.phase]), [[world.firstKeyId, "deactivated"]]);

        const notes = world.published();
        assert.deepStrictEqual(notes.map((n) => JSON.parse(n.message.slice(n.message.indexOf("{"))).kind), ["rotation-started", "rotation-succeeded"]);
        for (const text of [...notes.map((n) => n.message), ...world.logs]) assert.ok(!text.includes(current.password), "no password in notices or logs");
    });

    it("handles real Secrets Manager's value-less pending placeholder (ResourceNotFound, emulated at the proxy) and snake_case steps", async () => {
        const token = await world.beginRotation({ placeholder: "aws" });
        for (const s of ["create_secret", "set_secret", "test_secret", "finish_secret"]) await world.step(s, token);
        assert.strictEqual((await world.value({ stage: "AWSCURRENT" })).username, (await world.value({ versionId: token })).username);
        assert.notStrictEqual((await world.value({ stage: "AWSCURRENT" })).username, world.firstKeyId);
    });

    it("runs the stage checks first: rotation disabled, unknown token, not pending, already current, unknown step", async () => {
        const token = await world.beginRotation();
        await assert.rejects(world.step("createSecret", "00000000-0000-4000-8000-000000000000"), /has no stage for rotation/);
        const previous = Object.entries(await world.stages()).find(([, s]) => s.includes("AWSPREVIOUS"))![0];
        await assert.rejects(world.step("createSecret", previous), /is not set as AWSPENDING/);
        await assert.rejects(world.step("rotateSecret", token), /Step "rotateSecret" is not one of/);
        const current = Object.entries(await world.stages()).find(([, s]) => s.includes("AWSCURRENT"))![0];
        const before = counts()["iam:CreateAccessKey"];
        await world.step("createSecret", current);
        assert.strictEqual(counts()["iam:CreateAccessKey"], before, "already AWSCURRENT: nothing to do");
        // A secret without rotation turned on (moto cannot turn it off again: a second secret).
        const plain = await world.secrets.send(new CreateSecretCommand({ Name: "no-rotation", SecretString: "{}" }));
        await world.secrets.send(new PutSecretValueCommand({ SecretId: plain.ARN!, ClientRequestToken: token, SecretString: "{}", VersionStages: ["AWSPENDING"] }));
        assert.notStrictEqual((await world.secrets.send(new DescribeSecretCommand({ SecretId: plain.ARN! }))).RotationEnabled, true);
        await assert.rejects(world.handler()({ Step: "createSecret", SecretId: plain.ARN!, ClientRequestToken: token }), /is not enabled for rotation/);
    });

    it("every step run twice gives the same state (idempotent)", async () => {
        const token = await world.beginRotation();
        for (const s of STEPS) {
            await world.step(s, token);
            await world.step(s, token);
        }
        await world.endRotation(token);
        assert.strictEqual(counts()["iam:CreateAccessKey"], 2, "the first key and exactly one new key");
        const all = await keys();
        assert.strictEqual(all.length, 2);
        const current = await world.value({ stage: "AWSCURRENT" });
        assert.strictEqual(await keyStatus(current.username), "Active");
        assert.strictEqual((await listRetirements(world.iam, USER)).length, 1);
        assert.strictEqual(world.published().filter((n) => n.subject.includes("rotation started")).length, 1, "start notified once");
    });

    for (const [service, operation] of [
        ["iam", "CreateAccessKey"],
        ["secretsmanager", "PutSecretValue"],
        ["ssm", "SendCommand"],
        ["secretsmanager", "UpdateSecretVersionStage"],
        ["iam", "TagUser"],
        ["iam", "UpdateAccessKey"],
    ] as const) {
        it(`a crash right after ${service}:${operation} took effect is completed by retrying the step`, async () => {
            const token = await world.beginRotation();
            testEnv().proxy.addFault({ service, operation, kind: "passThenFail", times: 1 });
            let crashes = 0;
            for (const s of STEPS) {
                try {
                    await world.step(s, token);
                } catch {
                    crashes++;
                    await world.step(s, token); // Secrets Manager / Lambda retry with the same token
                }
            }
            await world.endRotation(token);
            assert.strictEqual(crashes, 1);
            const current = await world.value({ stage: "AWSCURRENT" });
            const all = await keys();
            assert.deepStrictEqual(all.map((k) => k.accessKeyId).sort(), [world.firstKeyId, current.username].sort(), "no orphan left, at most 2 keys");
            assert.strictEqual(await keyStatus(current.username), "Active");
            assert.strictEqual(await keyStatus(world.firstKeyId), "Inactive");
            assert.ok(smtpLoginOk(current.username));
        });
    }

    it("deletes an orphan key (crash between CreateAccessKey and PutSecretValue), never the key in use", async () => {
        // An earlier attempt recorded its intent, created the key and died before storing it (see tests/foreign-keys.test.ts for others' keys).
        const orphan = (await createAccessKeyWithIntent(world.iam, USER, SES_REGION, "earlier-attempt")).accessKeyId;
        await world.rotate();
        const current = await world.value({ stage: "AWSCURRENT" });
        assert.strictEqual(await keyStatus(orphan), "absent");
        assert.deepStrictEqual((await keys()).map((k) => k.accessKeyId).sort(), [world.firstKeyId, current.username].sort());
        assert.ok(world.logs.some((l) => l.includes("deleted an orphan") && l.includes(orphan)));
    });

    it("touches no key when AWSCURRENT holds no credential of ours (it cannot tell which key is in use)", async () => {
        await world.secrets.send(new PutSecretValueCommand({ SecretId: world.secretArn, SecretString: "placeholder", VersionStages: ["AWSCURRENT"] }));
        const token = await world.beginRotation();
        await assert.rejects(world.step("createSecret", token), (e: Error) => e.message.includes(world.firstKeyId) && /cannot be told apart from a key in use/.test(e.message));
        assert.strictEqual(await keyStatus(world.firstKeyId), "Active");
        assert.strictEqual(counts()["iam:DeleteAccessKey"], undefined);
    });

    it("a failed server: AWSCURRENT unchanged, old key Active, alert naming the server; the next rotation reuses the half-deployed key", async () => {
        const failing = world.instances.postfix[1];
        testEnv().proxy.agentMode = true;
        world.onFleetWait = () => {
            for (const { command } of world.sentCommands()) {
                for (const id of command.InstanceIds as string[]) {
                    testEnv().proxy.setInvocation(command.CommandId, id, id === failing ? { status: "Failed", responseCode: 2, stderr: "postmap: fatal: open /etc/postfix/sasl_passwd" } : { status: "Success", responseCode: 0 });
                }
            }
        };
        const first = await world.beginRotation();
        await world.step("createSecret", first);
        const halfDeployed = (await world.value({ versionId: first })).username;
        await assert.rejects(world.step("setSecret", first), (e: Error) => e.message.includes(failing) && /1 of 3 servers/.test(e.message));
        assert.strictEqual((await world.value({ stage: "AWSCURRENT" })).username, world.firstKeyId);
        assert.strictEqual(await keyStatus(world.firstKeyId), "Active");
        const alert = world.published().find((n) => n.subject.includes("FAILED"))!;
        assert.ok(alert, "failure alert published");
        assert.ok(alert.message.includes(failing) && alert.message.includes('"Failed"') && alert.message.includes(world.instances.iis[0]), "per-server status in the alert");

        // The operator fixes the server; a new rotation must not delete the key some servers already use.
        world.onFleetWait = () => {
            for (const { command } of world.sentCommands()) for (const id of command.InstanceIds as string[]) testEnv().proxy.setInvocation(command.CommandId, id, { status: "Success", responseCode: 0 });
        };
        const createsBefore = counts()["iam:CreateAccessKey"];
        const second = await world.beginRotation();
        for (const s of STEPS) await world.step(s, second);
        assert.strictEqual(counts()["iam:CreateAccessKey"], createsBefore, "no new key: the half-deployed one is reused");
        assert.strictEqual((await world.value({ stage: "AWSCURRENT" })).username, halfDeployed);
        assert.strictEqual(await keyStatus(halfDeployed), "Active");
    });

    it("a pending key that stopped working fails testSecret by real SMTP AUTH; AWSCURRENT stays", async () => {
        const token = await world.beginRotation();
        await world.step("createSecret", token);
        await world.step("setSecret", token);
        const pending = await world.value({ versionId: token });
        await deactivateAccessKey(world.iam, USER, pending.username);
        await assert.rejects(world.step("testSecret", token), /auth-rejected/);
        assert.strictEqual((await world.value({ stage: "AWSCURRENT" })).username, world.firstKeyId);
        assert.ok(endpoint.authLog.some((e) => e.username === pending.username && e.reason === "inactive-key"));
    });

    it("a key under retirement blocks a new key, saying why and how to proceed; after the grace period rotation resumes", async () => {
        world = await reset({ observationHours: 24, graceDays: 7 });
        await world.rotate();
        const second = (await world.value({ stage: "AWSCURRENT" })).username;
        assert.strictEqual(await keyStatus(world.firstKeyId), "Active", "observing: the old key still works");
        const token = await world.beginRotation();
        const creates = counts()["iam:CreateAccessKey"];
        await assert.rejects(world.step("createSecret", token), (e: Error) => e.message.includes(world.firstKeyId) && /observation window ends at 2026-11-30T12:0\d:\d\dZ/.test(e.message));
        assert.strictEqual(counts()["iam:CreateAccessKey"], creates);
        assert.ok(world.published().some((n) => n.subject.includes("FAILED") && n.message.includes("still being retired")));

        world.clock += 25 * 3600_000; // observation over: createSecret advances the retirement, the key is now Inactive
        await assert.rejects(world.step("createSecret", token), /Inactive and will be deleted after/);
        assert.strictEqual(await keyStatus(world.firstKeyId), "Inactive");
        world.clock += 8 * 24 * 3600_000;
        for (const s of STEPS) await world.step(s, token);
        assert.strictEqual(await keyStatus(world.firstKeyId), "absent");
        assert.notStrictEqual((await world.value({ stage: "AWSCURRENT" })).username, second);
    });

    it("works with a customer KMS key on the secret, and with implicit TLS on 465", async () => {
        world = await reset({ kms: true, smtpPort: 465 });
        await world.rotate();
        const meta = await world.secrets.send(new DescribeSecretCommand({ SecretId: world.secretArn }));
        assert.strictEqual(meta.KmsKeyId, world.kmsKeyId);
        const current = await world.value({ stage: "AWSCURRENT" });
        assert.strictEqual(current.port, 465);
        assert.ok(smtpLoginOk(current.username));
    });

    it("a failed notification does not fail the rotation", async () => {
        testEnv().proxy.addFault({ service: "sns", operation: "Publish", kind: "error", code: "InternalError", status: 500 });
        await world.rotate();
        assert.notStrictEqual((await world.value({ stage: "AWSCURRENT" })).username, world.firstKeyId);
        assert.ok(world.logs.some((l) => l.startsWith("notification failed")));
    });

    it("bounds the fleet wait by the Lambda's remaining time, reporting the silent servers as TimedOut", async () => {
        testEnv().proxy.agentMode = true; // no server answers
        const token = await world.beginRotation();
        await world.step("createSecret", token);
        const started = world.clock;
        await assert.rejects(
            world.handler()({ Step: "setSecret", SecretId: world.secretArn, ClientRequestToken: token }, { getRemainingTimeInMillis: () => 40_000 }),
            (e: Error) => /3 of 3 servers did not take the new credential/.test(e.message) && e.message.includes("TimedOut"),
        );
        assert.ok(world.clock - started <= 10_000, `waited ${world.clock - started} ms of fake time: 40 s remaining minus the 30 s margin`);
    });

    async function reset(options: ConstructorParameters<typeof RotationWorld>[1]): Promise<RotationWorld> {
        await resetAws();
        return new RotationWorld(endpoint, options).setUp();
    }
});

describe("rotationConfigFromEnv (the rotation Lambda's environment)", () => {
    const env = {
        IAM_USER_NAME: "ses-smtp-bu-a",
        SES_REGION: "eu-west-1",
        FLEET_TARGET: JSON.stringify({ kind: "tag", tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" }),
        POSTFIX_DOCUMENT: "postfix-doc",
        IIS_DOCUMENT: "iis-doc",
    };

    it("applies the defaults", () => {
        assert.deepStrictEqual(rotationConfigFromEnv(env), {
            iamUserName: "ses-smtp-bu-a",
            sesRegion: "eu-west-1",
            smtpPort: 587,
            fleet: { kind: "tag", tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" },
            postfixDocument: "postfix-doc",
            iisDocument: "iis-doc",
            fleetDeadlineSeconds: 600,
            retirement: { observationHours: 24, graceDays: 7 },
        });
    });

    it("reads every optional variable", () => {
        const c = rotationConfigFromEnv({
            ...env,
            SMTP_ENDPOINT: "email-smtp.eu-west-1.amazonaws.com",
            SMTP_PORT: "465",
            FLEET_TARGET: JSON.stringify({ kind: "table", tableName: "fleet-bu-a" }),
            NOTIFY_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:rotation",
            FLEET_DEADLINE_SECONDS: "300",
            KMS_KEY_ID: "arn:aws:kms:eu-west-1:123456789012:key/1234",
            RETIRE_OBSERVATION_HOURS: "0",
            RETIRE_GRACE_DAYS: "1.5",
        });
        assert.strictEqual(c.smtpPort, 465);
        assert.deepStrictEqual(c.fleet, { kind: "table", tableName: "fleet-bu-a" });
        assert.deepStrictEqual(c.retirement, { observationHours: 0, graceDays: 1.5 });
        assert.strictEqual(c.fleetDeadlineSeconds, 300);
        assert.strictEqual(c.notifyTopicArn, "arn:aws:sns:eu-west-1:123456789012:rotation");
    });

    const cases: [Record<string, string | undefined>, RegExp][] = [
        [{ IAM_USER_NAME: undefined }, /IAM_USER_NAME is required/],
        [{ IAM_USER_NAME: "has space" }, /IAM_USER_NAME is not a valid IAM user name/],
        [{ SES_REGION: "eu-west" }, /SES_REGION is not an AWS region/],
        [{ SMTP_PORT: "25" }, /SMTP_PORT must be 587 \(STARTTLS\) or 465/],
        [{ FLEET_TARGET: "{" }, /FLEET_TARGET must be JSON/],
        [{ FLEET_TARGET: JSON.stringify({ kind: "tag", tagKey: "k" }) }, /FLEET_TARGET needs a non-empty string "tagValue"/],
        [{ FLEET_TARGET: JSON.stringify({ kind: "list" }) }, /FLEET_TARGET must have "kind"/],
        [{ IIS_DOCUMENT: " " }, /IIS_DOCUMENT is required/],
        [{ NOTIFY_TOPIC_ARN: "my-topic" }, /NOTIFY_TOPIC_ARN must be an SNS topic ARN/],
        [{ FLEET_DEADLINE_SECONDS: "900" }, /FLEET_DEADLINE_SECONDS must be an integer from 30 to 840/],
        [{ RETIRE_OBSERVATION_HOURS: "-1" }, /RETIRE_OBSERVATION_HOURS must be a number from 0/],
        [{ RETIRE_GRACE_DAYS: "soon" }, /RETIRE_GRACE_DAYS must be a number/],
        // issue 12 item 10: the new password goes to SMTP_ENDPOINT at every rotation; only SES hosts unless opted in
        [{ SMTP_ENDPOINT: "mail.corp.example" }, /SMTP_ENDPOINT is not an SES SMTP endpoint.*set ALLOW_NON_SES_SMTP_ENDPOINT=true/],
        [{ SMTP_ENDPOINT: "127.0.0.1" }, /SMTP_ENDPOINT is not an SES SMTP endpoint/],
        [{ SMTP_ENDPOINT: "email-smtp.us-east-1.amazonaws.com" }, /SMTP_ENDPOINT is the SES SMTP endpoint of us-east-1, not of the SES region eu-west-1/],
        [{ SMTP_ENDPOINT: "127.0.0.1", ALLOW_NON_SES_SMTP_ENDPOINT: "yes" }, /ALLOW_NON_SES_SMTP_ENDPOINT must be true or false/],
    ];
    it("accepts an SES VPC endpoint name, and any host with ALLOW_NON_SES_SMTP_ENDPOINT=true", () => {
        const vpce = "vpce-0123456789abcdef0-abcdefgh.email-smtp.eu-west-1.vpce.amazonaws.com";
        assert.strictEqual(rotationConfigFromEnv({ ...env, SMTP_ENDPOINT: vpce }).smtpEndpoint, vpce);
        assert.strictEqual(rotationConfigFromEnv({ ...env, SMTP_ENDPOINT: "127.0.0.1", ALLOW_NON_SES_SMTP_ENDPOINT: "true" }).smtpEndpoint, "127.0.0.1");
    });

    for (const [over, expected] of cases) {
        it(`names the bad variable: ${Object.keys(over)[0]}=${JSON.stringify(Object.values(over)[0])}`, () => {
            assert.throws(() => rotationConfigFromEnv({ ...env, ...over }), expected);
        });
    }
});
