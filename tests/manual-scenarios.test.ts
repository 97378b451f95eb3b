/**
 * Manual mode failure and abuse scenarios, and a 1,000-server fleet: the EMITTED definitions executed by
 * moto's Step Functions, Lambda tasks by the real handlers in-process (tests/support/sfn-bridge.ts),
 * owners acting through the real confirmation API handler.
 */
import * as assert from "assert";
import { DescribeExecutionCommand, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { createConfirmationApiHandler } from "../runtime/manual/confirmation-api";
import { newConfirmationId } from "../runtime/manual/confirmation-store";
import { resetAws, testEnv } from "./support/hooks";
import { ManualRig, serverList, until } from "./support/manual-rig";

describe("manual mode scenarios (moto Step Functions + real handlers)", function () {
    let rig: ManualRig | undefined;
    beforeEach(async () => {
        rig = undefined;
        await resetAws();
    });
    afterEach(async function () {
        if (this.currentTest?.state === "failed" && rig) console.log(await rig.explain());
        await rig?.tearDown();
    });

    const taskCompletions = () => testEnv().proxy.calls.filter((c) => c.service === "states" && (c.operation === "SendTaskSuccess" || c.operation === "SendTaskFailure"));

    it("one server never confirms and one rejects: reminders, the run fails clearly, the old key stays Active, operators are told", async () => {
        const servers = serverList(3);
        const r = (rig = await new ManualRig({ servers, confirmationTimeoutSeconds: 4, reminderSeconds: 1, maxConcurrency: 3 }).setUp());
        const owners = r.ownersAnswer((to) => (to === servers[0].ownerEmail ? "confirm" : to === servers[1].ownerEmail ? "reject" : "ignore"));
        const started = await r.startRotation({ requestId: "timeout-case" });
        const done = await r.finished(started.executionArn);
        await owners.stop();

        assert.strictEqual(done.status, "FAILED");
        assert.strictEqual(done.error, "ServersNotConfirmed");
        const keys = await r.keyStatuses();
        assert.strictEqual(keys[r.oldAccessKeyId], "Active", "old key untouched");
        assert.strictEqual(Object.values(keys).filter((s) => s === "Active").length, 2, "old and new key both active");

        const children = Object.fromEntries((await r.executions()).filter((e) => e.executionArn.includes(":ManualConfirmation:")).map((e) => [e.name.slice(0, 19), e.status]));
        assert.deepStrictEqual(children, { [servers[0].serverId]: "SUCCEEDED", [servers[1].serverId]: "FAILED", [servers[2].serverId]: "FAILED" });

        // The silent owner got reminders, each with a fresh link (only link hashes are stored); the first link is now expired and changes nothing.
        const toSilent = r.ownerMails().filter((m) => m.to === servers[2].ownerEmail);
        assert.ok(toSilent.length >= 2, `reminders sent: ${toSilent.length - 1}`);
        assert.ok(toSilent.slice(1).every((m) => m.subject.startsWith("Reminder:") && m.confirmationId && m.confirmationId !== toSilent[0].confirmationId));
        const before = taskCompletions().length;
        const late = await r.api("POST", toSilent[0].confirmationId, "action=confirm");
        assert.strictEqual(late.statusCode, 410);
        assert.match(late.body, /expired/i);
        assert.strictEqual(taskCompletions().length, before, "an expired link completes no task");

        const notices = r.notices();
        const pageNotice = notices.find((n) => n.subject === "SMTP credential rotation: servers not confirmed");
        assert.ok(pageNotice, JSON.stringify(notices));
        for (const s of servers.slice(1)) assert.ok(pageNotice.message.includes(`"serverId":"${s.serverId}","confirmed":false`), pageNotice.message);
        assert.ok(notices.some((n) => n.subject === "SMTP credential rotation incomplete" && n.message.includes(r.oldAccessKeyId)));
    });

    it("forged, malformed, replayed, expired and GET-only confirmations change nothing; one POST confirms once", async () => {
        const servers = serverList(1);
        const r = (rig = await new ManualRig({ servers, confirmationTimeoutSeconds: 3600 }).setUp());
        const started = await r.startRotation({ requestId: "abuse-case" });
        const id = await r.linkFor(servers[0].ownerEmail);
        const childName = `${servers[0].serverId}-${started.name}`;

        // Forged (well-formed but unknown) and malformed ids.
        for (const forged of [newConfirmationId(), "x", id.slice(0, 42), `${id.slice(0, 42)}!`]) {
            assert.strictEqual((await r.api("GET", forged)).statusCode, 404);
            assert.strictEqual((await r.api("POST", forged, "action=confirm")).statusCode, 404);
        }
        // GET (mail scanners prefetch) any number of times: nothing changes.
        for (let i = 0; i < 3; i++) assert.strictEqual((await r.api("GET", id)).statusCode, 200);
        assert.strictEqual((await r.api("POST", id, "action=maybe")).statusCode, 400);
        assert.strictEqual((await r.api("PUT", id, "action=confirm")).statusCode, 405);
        // An id that has expired by the clock (the task still waits): 410, nothing changes.
        const tomorrowApi = createConfirmationApiHandler({ store: r.store, sfn: r.sfn, log: r.log, now: () => new Date(Date.now() + 2 * 3600 * 1000) });
        const expired = await tomorrowApi({ pathParameters: { id }, requestContext: { http: { method: "POST" } }, body: "action=confirm" });
        assert.strictEqual(expired.statusCode, 410);
        assert.strictEqual(taskCompletions().length, 0, "no task completed by forged/GET/bad/expired requests");
        assert.strictEqual((await r.store.get(childName))!.status, "pending");
        assert.strictEqual((await r.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status, "RUNNING");

        // The real confirmation, then replays.
        assert.strictEqual((await r.api("POST", id, "action=confirm")).statusCode, 200);
        const replay = await r.api("POST", id, "action=confirm");
        assert.strictEqual(replay.statusCode, 409);
        assert.match(replay.body, /already confirmed/i);
        assert.strictEqual((await r.api("POST", id, "action=reject")).statusCode, 409);
        assert.strictEqual((await r.api("GET", id)).statusCode, 409);
        const done = await r.finished(started.executionArn);
        assert.strictEqual(done.status, "SUCCEEDED", `${done.error}: ${done.cause}`);
        // Exactly one completion of the server's wait (the API) and one of the rotation's iteration (ReportOutcome).
        assert.deepStrictEqual(taskCompletions().map((c) => c.operation), ["SendTaskSuccess", "SendTaskSuccess"]);
        // A raw task token is useless once used: Step Functions refuses it.
        const token = (await r.store.get(childName))!.taskToken!;
        await assert.rejects(r.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: "{}" })));
    });

    it("paged fleet with real ManualConfirmation executions: every owner asked once across pages, at most MaxConcurrency at a time", async function () {
        this.timeout(300000);
        const servers = serverList(30);
        const maxConcurrency = 5;
        const r = (rig = await new ManualRig({ servers, maxConcurrency, pageSize: 10, graceSeconds: 0 }).setUp());
        let active = 0;
        let maxActive = 0;
        r.bridge.register("startConfirmation", async (p) => {
            active++;
            maxActive = Math.max(maxActive, active);
            return r.tasks.startConfirmation(p);
        });
        r.bridge.register("reportOutcome", async (p) => {
            const out = await r.tasks.reportOutcome(p);
            if (out.reported) active--;
            return out;
        });
        r.ownersAnswer(() => "confirm");
        const started = await r.startRotation({ requestId: "paged-fleet" });
        const done = await r.finished(started.executionArn, 240000);
        assert.strictEqual(done.status, "SUCCEEDED", `${done.error}: ${done.cause}`);
        const pages = r.bridge.invocationsOf("listServersPage");
        assert.ok(pages.length === 3 || pages.length === 4, `pages read: ${pages.length}`);
        const asked = r.bridge.invocationsOf("startConfirmation").map((i) => i.payload.server.serverId);
        assert.deepStrictEqual([...asked].sort(), servers.map((s) => s.serverId).sort(), "every server asked exactly once");
        assert.ok(maxActive <= maxConcurrency && maxActive >= 2, `max concurrent ManualConfirmation executions: ${maxActive}`);
        const children = (await r.executions()).filter((e) => e.executionArn.includes(":ManualConfirmation:"));
        assert.strictEqual(children.filter((c) => c.status === "SUCCEEDED").length, 30);
        assert.deepStrictEqual(Object.values(await r.keyStatuses()), ["Active"], "old key deleted, new key active");
    });

    it("1,000 servers in the table (confirmations STUBBED): 10 pages of 100 read one Scan each, at most MaxConcurrency iterations waiting at a time", async function () {
        // STUB: no owner confirms anything here. The rotation runs in moto unchanged, but each ManualConfirmation
        // is stood in for by completing the iteration's task token from the test with outcome "confirmed" (what
        // ReportOutcome does), because 1,000 real executions take moto over ten minutes. So this test asserts only
        // what CredentialRotation decides at scale (paging, one Scan per page, one ask per server, MaxConcurrency);
        // that the run SUCCEEDED and retired the old key follows from the stub's answers and proves nothing about
        // confirmations. Real confirmations across pages decide the outcome in the test above.
        this.timeout(900000);
        const servers = serverList(1000);
        const maxConcurrency = 10;
        const r = (rig = await new ManualRig({ servers, maxConcurrency, pageSize: 100, graceSeconds: 0 }).setUp());
        const waiting: { token: string; serverId: string }[] = [];
        let maxWaiting = 0;
        const asked: string[] = [];
        r.bridge.register("startConfirmation", async (p) => {
            asked.push(p.server.serverId);
            waiting.push({ token: p.parentTaskToken, serverId: p.server.serverId });
            maxWaiting = Math.max(maxWaiting, waiting.length);
            return { executionArn: `stand-in:${p.server.serverId}` };
        });
        const t0 = Date.now();
        const started = await r.startRotation({ requestId: "big-fleet" });
        let finished: Awaited<ReturnType<ManualRig["finished"]>> | undefined;
        await until("1,000 confirmations", async () => {
            if (waiting.length > 0) {
                for (let next = waiting.shift(); next; next = waiting.shift()) {
                    await r.sfn.send(new SendTaskSuccessCommand({ taskToken: next.token, output: JSON.stringify({ serverId: next.serverId, outcome: "confirmed" }) }));
                }
                return undefined;
            }
            const d = await r.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
            if (d.status !== "RUNNING") finished = d;
            return finished;
        }, 840000).catch((e) => {
            throw new Error(`${e.message}: ${asked.length} asked, ${r.bridge.invocationsOf("listServersPage").length} pages read after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        });
        // the run got through every page (its SUCCEEDED outcome is the stub's "confirmed" answers, not asserted as such)
        assert.notStrictEqual(finished!.status, "TIMED_OUT", `${finished!.error}: ${finished!.cause}`);
        const pages = r.bridge.invocationsOf("listServersPage");
        const scans = testEnv().proxy.calls.filter((c) => c.service === "dynamodb" && c.operation === "Scan");
        const expectedPages = Math.ceil(servers.length / 100);
        assert.ok(pages.length === expectedPages || pages.length === expectedPages + 1, `pages read: ${pages.length}`);
        assert.strictEqual(scans.length, pages.length, "one Scan per page");
        assert.ok(pages.every((p) => ((p.result as any).servers as unknown[]).length <= 100));
        assert.strictEqual(new Set(asked).size, servers.length, "every server asked");
        assert.strictEqual(asked.length, servers.length, "no server asked twice");
        assert.ok(maxWaiting <= maxConcurrency, `max waiting iterations ${maxWaiting} > ${maxConcurrency}`);
        assert.ok(maxWaiting >= 2, `iterations ran concurrently (max ${maxWaiting})`);
        console.log(`      ${servers.length} servers: ${pages.length} pages, at most ${maxWaiting} confirmations waiting at once (MaxConcurrency ${maxConcurrency}), ${((Date.now() - t0) / 1000).toFixed(0)} s in moto`);
    });
});
