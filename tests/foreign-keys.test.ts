/**
 * Issue 12 item 3: a key no stored credential references is deleted only when it is an orphan this rotator
 * created (its creation intent was recorded before CreateAccessKey) and IAM shows it never used; any other
 * key stops the rotation with an alert naming the key, its creation date and its last use, and what to do.
 * Auto mode: the real rotation handler against moto through the proxy (a crash between CreateAccessKey and
 * PutSecretValue is a passThenFail fault at the wire). Manual mode: the real CreateCredential handler.
 * A key's "last use" is what IAM would report, fed through the proxy (`setKeyLastUsed`, an emulation).
 */
import * as assert from "assert";
import { CreateAccessKeyCommand, IAMClient, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { listAccessKeys } from "../runtime/access-keys";
import { KEY_INTENT_TAG } from "../runtime/key-intent";
import { createCredentialHandler } from "../runtime/manual/credential-task";
import { clientConfig, testEnv } from "./support/hooks";
import { ManualRig, serverList } from "./support/manual-rig";
import { RotationWorld, USER } from "./support/rotation-driver";
import { SES_REGION } from "./support/rotation-driver";
import { useManualRigs, useRotationWorld } from "./support/suite-hooks";

describe("foreign and orphan access keys (moto through the proxy)", function () {
    this.timeout(120000);
    describe("auto mode: createSecret", () => {
        let world: RotationWorld;
        useRotationWorld((_endpoint, w) => {
            world = w;
        });
        const keys = () => listAccessKeys(new IAMClient(clientConfig()), USER);
        const keyStatus = async (id: string) => (await keys()).find((k) => k.accessKeyId === id)?.status ?? "absent";
        const failureAlerts = () => world.published().filter((m) => m.message.includes("rotation-failed"));

        it("a key someone else made stops the rotation with an alert naming it, its creation date and last use; nothing is touched", async () => {
            const foreign = (await world.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!;
            const lastUsed = new Date(Date.now() - 3600_000);
            testEnv().proxy.setKeyLastUsed(foreign.AccessKeyId!, { lastUsedDate: lastUsed, serviceName: "s3", region: "eu-west-1" });
            const token = await world.beginRotation();
            await assert.rejects(world.step("createSecret", token), new RegExp(`${foreign.AccessKeyId}.*not created by this rotator`));
            assert.strictEqual(await keyStatus(foreign.AccessKeyId!), "Active", "the foreign key is untouched");
            assert.strictEqual(await keyStatus(world.firstKeyId), "Active");
            assert.strictEqual((await keys()).length, 2, "no key created");
            const alert = failureAlerts().at(-1)?.message ?? "";
            const created = new Date(foreign.CreateDate!).toISOString();
            for (const part of [foreign.AccessKeyId!, created, lastUsed.toISOString(), "s3", "delete-access-key"]) assert.ok(alert.includes(part), `alert names ${part}: ${alert.slice(0, 800)}`);
        });

        it("a foreign key IAM shows never used also stops the rotation (only our own orphans are deleted)", async () => {
            const foreign = (await world.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!.AccessKeyId!;
            const token = await world.beginRotation();
            await assert.rejects(world.step("createSecret", token), new RegExp(`${foreign}.*last used never.*not created by this rotator`));
            assert.strictEqual(await keyStatus(foreign), "Active");
        });

        it("an orphan of ours (crash between CreateAccessKey and PutSecretValue), never used: recognised by the recorded intent and deleted", async () => {
            const token = await world.beginRotation();
            testEnv().proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "passThenFail", times: 1 });
            await assert.rejects(world.step("createSecret", token));
            const orphan = (await keys()).find((k) => k.accessKeyId !== world.firstKeyId)!.accessKeyId;
            const tags = (await world.iam.send(new ListUserTagsCommand({ UserName: USER }))).Tags ?? [];
            assert.match(tags.find((t) => t.Key === KEY_INTENT_TAG)?.Value ?? "", new RegExp(`^token=${token} at=\\S+Z$`), "intent recorded before CreateAccessKey");
            await world.step("createSecret", token); // Secrets Manager retries the step
            assert.strictEqual(await keyStatus(orphan), "absent");
            const pending = await world.value({ versionId: token });
            assert.notStrictEqual(pending.username, orphan);
            assert.ok(world.logs.some((l) => l.includes("deleted an orphan") && l.includes(orphan)));
            const after = (await world.iam.send(new ListUserTagsCommand({ UserName: USER }))).Tags ?? [];
            assert.ok(!after.some((t) => t.Key === KEY_INTENT_TAG), "intent cleared once the credential is stored");
        });

        it("an orphan of ours that IAM shows used stops the rotation (its secret may be known elsewhere)", async () => {
            const token = await world.beginRotation();
            testEnv().proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "passThenFail", times: 1 });
            await assert.rejects(world.step("createSecret", token));
            const orphan = (await keys()).find((k) => k.accessKeyId !== world.firstKeyId)!.accessKeyId;
            testEnv().proxy.setKeyLastUsed(orphan, { lastUsedDate: new Date(), serviceName: "ses", region: SES_REGION });
            await assert.rejects(world.step("createSecret", token), new RegExp(`${orphan}.*created by this rotator and never stored, yet IAM shows it used`));
            assert.strictEqual(await keyStatus(orphan), "Active");
        });
    });

    describe("manual mode: CreateCredential", () => {
        const track = useManualRigs();

        const handlerOf = (r: ManualRig) =>
            createCredentialHandler(
                { iam: r.iam, ssm: r.ssm, log: r.log },
                { iamUserName: r.userName, sesRegion: "eu-west-1", smtpPort: 587, parameterName: r.parameterName, kmsKeyId: r.kmsKeyId },
            );

        it("a key someone made after the run started is not deleted: the run stops naming it, its creation date and last use", async () => {
            const r = track(await new ManualRig({ servers: serverList(1) }).setUp());
            const event = { executionName: "password-rotation-1", executionStartTime: new Date(Date.now() - 60_000).toISOString() };
            const foreign = (await r.iam.send(new CreateAccessKeyCommand({ UserName: r.userName }))).AccessKey!;
            r.secrets.push(foreign.SecretAccessKey!);
            await assert.rejects(handlerOf(r)(event), (e: Error) => {
                for (const part of [foreign.AccessKeyId!, new Date(foreign.CreateDate!).toISOString(), "last used never", "not created by this rotator", "delete-access-key"]) {
                    assert.ok(e.message.includes(part), `error names ${part}: ${e.message}`);
                }
                return true;
            });
            assert.strictEqual((await r.keyStatuses())[foreign.AccessKeyId!], "Active");
        });

        it("an orphan of ours (crash between CreateAccessKey and PutParameter), never used, is deleted by the retry", async () => {
            const r = track(await new ManualRig({ servers: serverList(1) }).setUp());
            const event = { executionName: "password-rotation-2", executionStartTime: new Date(Date.now() - 60_000).toISOString() };
            testEnv().proxy.addFault({ service: "iam", operation: "CreateAccessKey", kind: "passThenFail", times: 1 });
            await assert.rejects(handlerOf(r)(event));
            const orphan = Object.keys(await r.keyStatuses()).find((k) => k !== r.oldAccessKeyId)!;
            const result = await handlerOf(r)(event);
            assert.notStrictEqual(result.accessKeyId, orphan);
            assert.deepStrictEqual(Object.keys(await r.keyStatuses()).sort(), [r.oldAccessKeyId, result.accessKeyId].sort());
        });
    });
});
