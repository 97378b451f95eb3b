/**
 * Manual mode failure and abuse scenarios, and a 1,000-server fleet: the EMITTED definitions executed by
 * moto's Step Functions, Lambda tasks by the real handlers in-process (tests/support/sfn-bridge.ts),
 * owners acting through the real confirmation API handler.
 */
import * as assert from "assert";
import { DescribeExecutionCommand, SendTaskSuccessCommand } from "@aws-sdk/client-sfn";
import { createConfirmationApiHandler } from "../runtime/manual/confirmation-api";
import { newConfirmationId } from "../runtime/manual/confirmation-store";
import { testEnv } from "./support/hooks";
import { ManualRig, serverList, until } from "./support/manual-rig";
import { useManualRigs } from "./support/suite-hooks";

describe("manual mode scenarios (moto Step Functions + real handlers)", function () {
    const track = useManualRigs();

    const taskCompletions = () => testEnv().proxy.calls.filter((c) => c.service === "states" && (c.operation === "SendTaskSuccess" || c.operation === "SendTaskFailure"));

    it("one server never confirms and one rejects: reminders, the run fails clearly, the old key stays Active, operators are told", async () => {
        const servers = serverList(3);
        const r = track(await new ManualRig({ servers, confirmationTimeoutSeconds: 10, reminderSeconds: 1, maxConcurrency: 3 }).setUp());
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
        // One first mail and reminders, each with a fresh link (only link hashes are stored; a 1 s reminder may be
        // published before the first mail's own Publish returns on a loaded machine, so the order is not asserted).
        const summary = JSON.stringify(toSilent.map((m) => [m.subject, m.confirmationId]));
        assert.strictEqual(toSilent.filter((m) => !m.subject.startsWith("Reminder:")).length, 1, summary);
        assert.strictEqual(new Set(toSilent.map((m) => m.confirmationId)).size, toSilent.length, `every mail its own link: ${summary}`);
        const before = taskCompletions().length;
        const late = await r.api("POST", toSilent[0].confirmationId, "action=confirm");
        assert.strictEqual(late.statusCode, 410);
        assert.match(late.body, /expired/i);
        assert.strictEqual(taskCompletions().length, before, "an expired link completes no task");

        const notices = r.notices();
        const pageNotice = notices.find((n) => n.subject === "SMTP credential rotation: servers not confirmed");
        assert.ok(pageNotice, JSON.stringify(notices));
        // One notice for the whole run: the count, the servers (a sample of up to 20), the old key that stays active.
        assert.match(pageNotice.message, /: 2 of 3 servers did not confirm/);
        for (const s of servers.slice(1)) assert.ok(pageNotice.message.includes(`"${s.serverId}"`), pageNotice.message);
        assert.ok(!pageNotice.message.includes(`"${servers[0].serverId}"`), "the confirmed server is not named");
        assert.ok(pageNotice.message.includes(r.oldAccessKeyId), pageNotice.message);
    });

    it("forged, malformed, replayed, expired and GET-only confirmations change nothing; one POST confirms once", async () => {
        const servers = serverList(1);
        const r = track(await new ManualRig({ servers, confirmationTimeoutSeconds: 3600 }).setUp());
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

    /** Wraps the fan-out Lambda: counts StartConfirmation calls in flight; `start` may replace the per-server start. */
    function watchStarts(r: ManualRig, start?: (p: any) => Promise<unknown>): { maxInFlight: () => number; asked: string[] } {
        const fanOut = r.fanOut;
        let inFlight = 0;
        let max = 0;
        const asked: string[] = [];
        r.bridge.register("startConfirmation", async (p) => {
            if (p.action !== "start") return fanOut(p);
            inFlight++;
            max = Math.max(max, inFlight);
            try {
                asked.push(p.server.serverId);
                return await (start ?? fanOut)(p);
            } finally {
                inFlight--;
            }
        });
        return { maxInFlight: () => max, asked };
    }

    it("30 servers, manualMaxConcurrency 10: every owner has a link before anyone confirms; the limit applies to the start calls only", async function () {
        this.timeout(300000);
        const servers = serverList(30);
        const maxConcurrency = 10;
        const r = track(await new ManualRig({ servers, maxConcurrency, pageSize: 10, graceSeconds: 0 }).setUp());
        const starts = watchStarts(r);
        const started = await r.startRotation({ requestId: "all-at-once" });
        // Nobody answers until every owner has a link (the old waves never got past the first ten).
        const links = await until("a link for every owner", async () => {
            const mailed = new Set(r.ownerMails().filter((m) => m.confirmationId).map((m) => m.to));
            return mailed.size === servers.length ? mailed : undefined;
        }, 180000);
        assert.deepStrictEqual([...links].sort(), servers.map((s) => s.ownerEmail).sort());
        assert.strictEqual((await r.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }))).status, "RUNNING");
        r.ownersAnswer(() => "confirm");
        const done = await r.finished(started.executionArn, 240000);
        assert.strictEqual(done.status, "SUCCEEDED", `${done.error}: ${done.cause}`);
        assert.strictEqual(r.bridge.invocationsOf("listServersPage").filter((i) => i.payload.mode !== "count").length, 3 + 0, "three pages of ten (the last one says no more)");
        assert.deepStrictEqual([...starts.asked].sort(), servers.map((s) => s.serverId).sort(), "every server asked exactly once");
        assert.ok(starts.maxInFlight() <= maxConcurrency && starts.maxInFlight() >= 2, `StartConfirmation calls in flight at most: ${starts.maxInFlight()}`);
        const executions = await r.executions();
        assert.strictEqual(executions.filter((c) => c.executionArn.includes(":ManualConfirmation:") && c.status === "SUCCEEDED").length, 30);
        assert.deepStrictEqual(executions.filter((c) => c.executionArn.includes(":ConfirmationPage:")).map((e) => e.name.replace(started.name, "R")).sort(), ["R-page-1", "R-page-2", "R-page-3"]);
        assert.strictEqual(r.bridge.invocationsOf("reportOutcome").length, 30);
        assert.deepStrictEqual(Object.values(await r.keyStatuses()), ["Active"], "old key deleted, new key active");
    });

    it("a fleet above the run's bound is refused at the start, before any key is created", async function () {
        const r = track(await new ManualRig({ servers: serverList(6), maxServers: 5 }).setUp());
        const started = await r.startRotation({ requestId: "too-large" });
        const done = await r.finished(started.executionArn);
        assert.strictEqual(done.status, "FAILED");
        assert.strictEqual(done.error, "FleetTooLarge");
        assert.match(done.cause!, /more than 5 servers/);
        assert.strictEqual(testEnv().proxy.calls.filter((c) => c.service === "iam" && c.operation === "CreateAccessKey").length, 1, "only the rig's own set-up key");
        assert.deepStrictEqual(await r.keyStatuses(), { [r.oldAccessKeyId]: "Active" });
        assert.deepStrictEqual(r.ownerMails(), [], "no owner asked");
        assert.match(r.notices().map((n) => n.message).join("\n"), /refused to start: the fleet lists more than 5 servers \(counted 6\).*No access key was created/);
    });

    it("500 servers in the table (owners' answers STUBBED as confirmed; the real ReportOutcome tally decides): 5 pages of 100, every server started once, every execution's history bounded by its page", async function () {
        // The rotation and its ConfirmationPage executions run in moto unchanged; each ManualConfirmation is stood
        // in for (the server is recorded as StartConfirmation does, then ReportOutcome runs for it from the test),
        // because hundreds of real executions take moto many minutes. Real ManualConfirmation executions: above.
        // (500, not 1,000: moto copies the whole table for every TransactWriteItems, so ReportOutcome costs O(N) there.)
        this.timeout(900000);
        const servers = serverList(500);
        const maxConcurrency = 10;
        const r = track(await new ManualRig({ servers, maxConcurrency, pageSize: 100, graceSeconds: 0 }).setUp());
        const recorded: string[] = [];
        const starts = watchStarts(r, async (p) => {
            const executionName = `${p.server.serverId}-${p.rotation}`;
            await r.store.recordStart({ executionName, rotation: p.rotation, server: p.server, credential: { parameterName: p.credential.parameterName, parameterVersion: p.credential.parameterVersion, accessKeyId: p.credential.accessKeyId } });
            recorded.push(executionName);
            return { executionArn: `stand-in:${executionName}` };
        });
        const t0 = Date.now();
        const started = await r.startRotation({ requestId: "big-fleet" });
        let finished: Awaited<ReturnType<ManualRig["finished"]>> | undefined;
        await until("500 confirmations", async () => {
            for (let next = recorded.shift(); next; next = recorded.shift()) await r.tasks.reportOutcome({ executionName: next, outcome: "confirmed" });
            const d = await r.sfn.send(new DescribeExecutionCommand({ executionArn: started.executionArn }));
            if (d.status !== "RUNNING") finished = d;
            return finished;
        }, 840000).catch((e) => {
            throw new Error(`${e.message}: ${starts.asked.length} asked, ${r.bridge.invocationsOf("listServersPage").length} pages read after ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        });
        assert.strictEqual(finished!.status, "SUCCEEDED", `${finished!.error}: ${finished!.cause}`);
        const pages = r.bridge.invocationsOf("listServersPage").filter((i) => i.payload.mode !== "count");
        const expectedPages = Math.ceil(servers.length / 100);
        assert.ok(pages.length === expectedPages || pages.length === expectedPages + 1, `pages read: ${pages.length}`);
        assert.ok(pages.every((p) => ((p.result as any).servers as unknown[]).length <= 100));
        assert.strictEqual(new Set(starts.asked).size, servers.length, "every server asked");
        assert.strictEqual(starts.asked.length, servers.length, "no server asked twice");
        assert.ok(starts.maxInFlight() <= maxConcurrency && starts.maxInFlight() >= 2, `StartConfirmation calls in flight at most ${starts.maxInFlight()}`);
        const histories = await Promise.all((await r.executions()).map(async (e) => ({ name: e.name, events: (await r.history(e.executionArn)).length })));
        const rotationEvents = histories.find((h) => h.name === started.name)!.events;
        const pageEvents = Math.max(...histories.filter((h) => h.name !== started.name).map((h) => h.events));
        assert.ok(rotationEvents < 80, `the rotation's history does not grow with the fleet: ${rotationEvents} events`);
        assert.ok(pageEvents < 30 + 8 * 100, `a page's history is bounded by its 100 servers: ${pageEvents} events`);
        console.log(`      ${servers.length} servers: ${pages.length} pages, ${histories.length} executions, largest history ${Math.max(rotationEvents, pageEvents)} events (rotation ${rotationEvents}), ${((Date.now() - t0) / 1000).toFixed(0)} s in moto`);
        assert.deepStrictEqual(Object.values(await r.keyStatuses()), ["Active"], "old key deleted, new key active");
    });
});
