/**
 * Manual mode's usage-guarded retirement and resuming after a failed run: the EMITTED CredentialRotation
 * definition executed by moto's Step Functions, Lambda tasks answered by the real handlers in-process
 * (tests/support/sfn-bridge.ts), owners acting through the real confirmation API handler. The old key's
 * "use after the switch" is what IAM would report after an SMTP login, fed through the proxy in front of
 * moto (`setKeyLastUsed`: an emulation — moto cannot see SMTP logins).
 */
import * as assert from "assert";
import { CreateAccessKeyCommand, TagUserCommand } from "@aws-sdk/client-iam";
import { GetParameterHistoryCommand } from "@aws-sdk/client-ssm";
import { retirementGuardProvider } from "../components/providers/retirement-guard";
import { createCredentialHandler } from "../runtime/manual/credential-task";
import { listRetirements } from "../runtime/retirement";
import { hosted } from "./support/dynamic-provider-host";
import { testEnv } from "./support/hooks";
import { ManualRig, REGION, serverList, until } from "./support/manual-rig";
import { useManualRigs } from "./support/suite-hooks";

describe("manual mode: usage-guarded retirement and resuming after a failed run (moto Step Functions + real handlers)", function () {
    const track = useManualRigs();

    /** The IAM calls this run made on the old key and the user's retirement tags, in order. */
    function retirementCalls(oldKey: string): string[] {
        return testEnv()
            .proxy.calls.filter((c) => c.service === "iam" && c.status === 200)
            .filter((c) => ["TagUser", "UntagUser", "GetAccessKeyLastUsed", "UpdateAccessKey", "DeleteAccessKey"].includes(c.operation))
            .filter((c) => decodeURIComponent(c.requestBody).includes(oldKey))
            .map((c) => (c.operation === "UpdateAccessKey" ? `UpdateAccessKey:${/Status=(\w+)/.exec(c.requestBody)?.[1]}` : c.operation));
    }

    it("all confirm → observed → not used after the switch → deactivated → deleted after the grace; records kept as user tags", async () => {
        const servers = serverList(2);
        const r = track(await new ManualRig({ servers, observationSeconds: 2, graceSeconds: 2 }).setUp());
        const owners = r.ownersAnswer(() => "confirm");
        const started = await r.startRotation({ requestId: "unused-old-key" });

        // While observing: the record exists (what the RetirementGuard provider reads) and the old key is still Active.
        const observing = await until("retirement recorded", async () => (await listRetirements(r.iam, r.userName)).find((x) => x.accessKeyId === r.oldAccessKeyId));
        assert.strictEqual(observing.phase, "observing");
        const done = await r.finished(started.executionArn);
        await owners.stop();
        assert.strictEqual(done.status, "SUCCEEDED", `${done.error}: ${done.cause}`);

        const keys = await r.keyStatuses();
        assert.deepStrictEqual(Object.keys(keys).length, 1, "only the new key is left");
        assert.strictEqual(observing.newAccessKeyId, Object.keys(keys)[0]);
        assert.strictEqual(Date.parse(observing.deactivateAfter!) - Date.parse(observing.switchedAt), 2000, "observation window from the option");
        assert.deepStrictEqual(await listRetirements(r.iam, r.userName), [], "record removed with the key");
        assert.deepStrictEqual(retirementCalls(r.oldAccessKeyId), ["TagUser", "GetAccessKeyLastUsed", "UpdateAccessKey:Inactive", "TagUser", "DeleteAccessKey", "UntagUser"]);

        // The state machine waited for each step: observation, then the grace period.
        const history = await r.history(started.executionArn);
        const waits = history.filter((e) => e.type === "WaitStateEntered" && e.stateEnteredEventDetails?.name === "WaitForRetirementStep");
        assert.ok(waits.length >= 2, `waits: ${waits.length}`);
        const notice = r.notices().find((n) => n.subject === "SMTP credential rotation finished");
        assert.ok(notice && notice.message.includes(r.oldAccessKeyId) && notice.message.includes("deleted"), notice?.message);
    });

    it("all confirm → old key used after the switch → held, old key still Active, alert names the evidence; override → deactivated", async () => {
        const servers = serverList(2);
        const r = track(await new ManualRig({ servers, observationSeconds: 3, graceSeconds: 1 }).setUp());
        const owners = r.ownersAnswer(() => "confirm");
        const started = await r.startRotation({ requestId: "missed-consumer" });

        // A consumer nobody listed still logs in with the old key after every server switched.
        const record = await until("retirement recorded", async () => (await listRetirements(r.iam, r.userName)).find((x) => x.accessKeyId === r.oldAccessKeyId));
        const usedAt = new Date(Date.parse(record.switchedAt) + 1000);
        testEnv().proxy.setKeyLastUsed(r.oldAccessKeyId, { lastUsedDate: usedAt, serviceName: "ses", region: "eu-west-1" });

        const done = await r.finished(started.executionArn);
        await owners.stop();
        assert.strictEqual(done.status, "FAILED");
        assert.strictEqual(done.error, "RetirementHeld");
        assert.match(done.cause!, /retirementOverrideKeyId/);
        assert.match(done.cause!, /stays Active/);
        const keys = await r.keyStatuses();
        assert.strictEqual(keys[r.oldAccessKeyId], "Active", "held: the old key stays Active");
        assert.strictEqual(Object.values(keys).filter((s) => s === "Active").length, 2);
        const held = (await listRetirements(r.iam, r.userName))[0];
        assert.strictEqual(held.phase, "held");
        assert.deepStrictEqual([Date.parse(held.evidence!.lastUsedDate), held.evidence!.serviceName, held.evidence!.region], [usedAt.getTime(), "ses", "eu-west-1"]);

        const alert = r.notices().find((n) => n.subject === "SMTP credential retirement held");
        assert.ok(alert, JSON.stringify(r.notices()));
        for (const part of [r.oldAccessKeyId, held.evidence!.lastUsedDate, "ses", "eu-west-1", "retirementOverrideKeyId"]) assert.ok(alert.message.includes(part), `alert names ${part}: ${alert.message}`);
        assert.ok(!r.notices().some((n) => n.subject === "SMTP credential rotation finished"));

        // The next rotation refuses clearly while the retirement is held.
        const create = createCredentialHandler(
            { iam: r.iam, ssm: r.ssm, log: r.log },
            { iamUserName: r.userName, sesRegion: "eu-west-1", smtpPort: 587, parameterName: r.parameterName, kmsKeyId: r.kmsKeyId },
        );
        await assert.rejects(create({ executionName: "password-rotation-next", executionStartTime: new Date().toISOString() }), (e: Error) => {
            assert.match(e.message, new RegExp(`still retiring old access key ${r.oldAccessKeyId}.*is held.*retirementOverrideKeyId=${r.oldAccessKeyId}`));
            return true;
        });

        // The operator releases the hold through the stack (the RetirementGuard provider, as in auto mode).
        const guard = hosted(retirementGuardProvider);
        const out = await guard.create({ iamUserName: r.userName, region: REGION, parameterName: r.parameterName, observationHours: 24, graceDays: 3, overrideKeyId: r.oldAccessKeyId } as any);
        assert.strictEqual((out.outs as any).override.status, "released");
        assert.deepStrictEqual((out.outs as any).heldKeyIds, []);
        assert.strictEqual((await r.keyStatuses())[r.oldAccessKeyId], "Inactive", "override → deactivated");
        assert.strictEqual((await listRetirements(r.iam, r.userName))[0].phase, "deactivated");
    });

    it("a failed run, then a new run reuses the unfinished key (same parameter version) and completes", async () => {
        const servers = serverList(3);
        const r = track(await new ManualRig({ servers, observationSeconds: 1, graceSeconds: 1, confirmationTimeoutSeconds: 60 }).setUp());
        let rejecting = true;
        const owners = r.ownersAnswer((to) => (rejecting && to === servers[1].ownerEmail ? "reject" : "confirm"));
        const first = await r.startRotation({ requestId: "first" });
        const failed = await r.finished(first.executionArn);
        assert.strictEqual(failed.status, "FAILED");
        assert.strictEqual(failed.error, "ServersNotConfirmed");
        const afterFailure = await r.keyStatuses();
        const unfinished = Object.keys(afterFailure).find((k) => k !== r.oldAccessKeyId)!;
        assert.deepStrictEqual(afterFailure, { [r.oldAccessKeyId]: "Active", [unfinished]: "Active" });

        rejecting = false;
        const second = await r.startRotation({ requestId: "second" });
        assert.notStrictEqual(second.name, first.name);
        const done = await r.finished(second.executionArn);
        await owners.stop();
        assert.strictEqual(done.status, "SUCCEEDED", `${done.error}: ${done.cause}`);
        assert.deepStrictEqual(await r.keyStatuses(), { [unfinished]: "Active" }, "the unfinished key is now the only key; the old one retired");
        const versions = (await r.ssm.send(new GetParameterHistoryCommand({ Name: r.parameterName }))).Parameters!.map((p) => p.Version);
        assert.deepStrictEqual(versions, [1, 2], "no new parameter version: the servers that already took version 2 are right");
        const secondInput = JSON.parse(done.output!);
        assert.deepStrictEqual(
            [secondInput.credential.accessKeyId, secondInput.credential.parameterVersion, secondInput.credential.previousAccessKeyIds],
            [unfinished, 2, [r.oldAccessKeyId]],
        );
        assert.strictEqual(testEnv().proxy.calls.filter((c) => c.service === "iam" && c.operation === "CreateAccessKey" && c.status === 200).length, 2, "set-up key + one rotation key");
    });

    it("two keys that do not tell which one is in use: CreateCredential refuses, naming the keys and what to do", async () => {
        const r = track(await new ManualRig({ servers: serverList(1) }).setUp());
        const create = createCredentialHandler(
            { iam: r.iam, ssm: r.ssm, log: r.log },
            { iamUserName: r.userName, sesRegion: "eu-west-1", smtpPort: 587, parameterName: r.parameterName, kmsKeyId: r.kmsKeyId },
        );
        const event = { executionName: "password-rotation-x", executionStartTime: new Date(Date.now() + 60_000).toISOString() };
        // A key made by hand, outside any rotation: the parameter still names the old key.
        const stray = (await r.iam.send(new CreateAccessKeyCommand({ UserName: r.userName }))).AccessKey!;
        r.secrets.push(stray.SecretAccessKey!);
        await assert.rejects(create(event), new RegExp(`already has 2 access keys .*${stray.AccessKeyId}.*not an unfinished rotation's newest key.*delete-access-key --user-name ${r.userName}`));
        // A retirement record for the other key (a rotation that finished and is retiring): refused, phase named.
        await r.iam.send(
            new TagUserCommand({ UserName: r.userName, Tags: [{ Key: `ses-rotator:retire:${stray.AccessKeyId}`, Value: `phase=observing new=${r.oldAccessKeyId} switched=2026-11-29T19:00:00Z deactivate=2026-11-30T19:00:00Z` }] }),
        );
        await assert.rejects(create(event), new RegExp(`still retiring old access key ${stray.AccessKeyId}.*observed until 2026-11-30T19:00:00Z`));
        assert.strictEqual(Object.keys(await r.keyStatuses()).length, 2, "nothing created or deleted");
    });
});
