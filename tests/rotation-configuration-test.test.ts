/**
 * Secrets Manager's configuration test (issue 13 item 6). When rotation is configured, or its schedule changes,
 * with RotateImmediately=false (the default here), AWS invokes only testSecret, on a fresh AWSPENDING version it
 * then removes. That version holds no value or a copy of the current one (not documented which): both are
 * played by the rotation driver (`RotationWorld.configurationTest`): the copy is what moto stores, the value-less
 * version is emulated at the proxy (GetSecretValue of it answers ResourceNotFoundException, as AWS does).
 * The handler must check the current credential and succeed quietly: no key, no server command, no notice.
 */
import * as assert from "assert";
import { IAMClient, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { listAccessKeys } from "../runtime/access-keys";
import { clientConfig, testEnv } from "./support/hooks";
import { RotationWorld, USER } from "./support/rotation-driver";
import { useRotationWorld } from "./support/suite-hooks";
import { SesEndpoint } from "../sandbox/ses-endpoint";

describe("auto mode: Secrets Manager's configuration test (testSecret alone on a fresh AWSPENDING version)", () => {
    let endpoint: SesEndpoint;
    let world: RotationWorld;
    useRotationWorld((e, w) => {
        endpoint = e;
        world = w;
    });

    const counts = () => testEnv().proxy.callCounts();

    for (const pending of ["empty", "copy"] as const) {
        it(`pending version ${pending === "empty" ? "without a value" : "holding a copy of the current value"}: checks the current credential, succeeds quietly`, async () => {
            const before = { ...counts() };
            const token = await world.configurationTest(pending);
            // The current credential was proven by SMTP AUTH; nothing else happened.
            assert.deepStrictEqual(endpoint.authLog.map((a) => [a.username, a.ok]), [[world.firstKeyId, true]]);
            for (const call of ["iam:CreateAccessKey", "ssm:SendCommand", "iam:UpdateAccessKey", "iam:DeleteAccessKey"]) {
                assert.strictEqual((counts()[call] ?? 0) - (before[call] ?? 0), 0, `no ${call}`);
            }
            assert.deepStrictEqual(world.published(), [], "no notice (no false 'rotation FAILED')");
            const keys = await listAccessKeys(new IAMClient(clientConfig()), USER);
            assert.deepStrictEqual(keys.map((k) => [k.accessKeyId, k.status]), [[world.firstKeyId, "Active"]]);
            assert.strictEqual((await world.value({ stage: "AWSCURRENT" })).username, world.firstKeyId);
            assert.ok(!(await world.stages())[token]?.includes("AWSPENDING"), "the driver removed the test's pending label, as AWS does");
            const line = world.logs.find((l) => l.startsWith("testSecret: Secrets Manager's configuration test"));
            assert.ok(line, world.logs.join("\n"));
            assert.match(line!, new RegExp(`"pendingValue":"${pending === "empty" ? "none" : "copy of current"}"`));
        });
    }

    it("a real rotation after the configuration test still creates, pushes and proves a new key", async () => {
        await world.configurationTest("empty");
        await world.rotate();
        const current = await world.value({ stage: "AWSCURRENT" });
        assert.notStrictEqual(current.username, world.firstKeyId);
        assert.ok(endpoint.authLog.some((a) => a.username === current.username && a.ok));
    });

    it("a current credential SES refuses fails the configuration test with an alert naming the key", async () => {
        await new IAMClient(clientConfig()).send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: world.firstKeyId, Status: "Inactive" }));
        await assert.rejects(world.configurationTest("empty"), (e: Error) => e.message.includes(`SMTP check of ${world.firstKeyId}`) && /auth-rejected/.test(e.message));
        assert.ok(world.published().some((m) => /FAILED/.test(m.subject) && m.message.includes(world.firstKeyId)), JSON.stringify(world.published()));
    });
});
