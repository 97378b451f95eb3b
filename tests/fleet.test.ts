/**
 * Fleet fan-out against moto through the wire proxy.
 * moto resolves SSM tag targets only against its own EC2 instances (real SSM also reaches hybrid `mi-` nodes
 * by tag), records every command as Success and has no ListCommandInvocations: the proxy emulates that API
 * and, in `agentMode`, lets these tests play the servers' answers (`setInvocation`). Servers are simulated by
 * that overlay here; the real agent path (documents run by tests/support/fleet-agent.ts) is tested elsewhere.
 */
import * as assert from "assert";
import { SendCommandCommand } from "@aws-sdk/client-ssm";
import { checkFleet, listFleetServers, updateFleet } from "../runtime/fleet";
import { createFleetTable, createTaggedInstances, makeServers } from "../sandbox/ec2-fleet";
import { testEnv } from "./support/hooks";
import { FLEET_SECRET_ARN, FLEET_START, FLEET_VERSION, useFleetWorld } from "./support/fleet-world";

describe("fleet fan-out over SSM (moto + proxy-emulated ListCommandInvocations)", () => {
    const world = useFleetWorld();
    const { deps, request, ssmCalls, sent, serversAnswer } = world;
    const START = FLEET_START;

    describe("tag targets", () => {
        const target = { kind: "tag" as const, tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" };

        it("sends one command per software with a tag selector and only references to the credential", async () => {
            const postfix = await createTaggedInstances(world.ec2, 3, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            const iis = await createTaggedInstances(world.ec2, 2, { "ses-fleet": "bu-a", "mail-software": "iis" });
            await createTaggedInstances(world.ec2, 2, { "ses-fleet": "bu-b", "mail-software": "postfix" }); // another business unit
            const result = await updateFleet(deps(), request(target));
            assert.strictEqual(result.ok, true);
            assert.deepStrictEqual(
                result.servers.map((s) => [s.serverId, s.software, s.status]),
                [...postfix.map((id) => [id, "postfix", "Success"]), ...iis.map((id) => [id, "iis", "Success"])].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
            );
            const sends = sent().map((s) => s.request);
            assert.deepStrictEqual(
                sends.map((s) => [s.DocumentName, s.Targets, s.InstanceIds]),
                [
                    ["ses-postfix-doc", [{ Key: "tag:ses-fleet", Values: ["bu-a"] }, { Key: "tag:mail-software", Values: ["postfix"] }], undefined],
                    ["ses-iis-doc", [{ Key: "tag:ses-fleet", Values: ["bu-a"] }, { Key: "tag:mail-software", Values: ["iis"] }], undefined],
                ],
            );
            for (const s of sends) {
                assert.deepStrictEqual(s.Parameters, { CredentialSource: ["SecretsManager"], CredentialId: [FLEET_SECRET_ARN], CredentialVersion: [FLEET_VERSION], Region: ["eu-west-1"], Mode: ["update"] });
                assert.strictEqual(s.TimeoutSeconds, 600, "SSM stops delivering at the deadline");
                assert.deepStrictEqual([s.MaxConcurrency, s.MaxErrors], ["100%", "100%"]);
            }
            assert.deepStrictEqual(result.commandIds, sent().map((s) => s.command.CommandId));
        });

        it("reports a software group that matches nobody as empty, not as a failure", async () => {
            const postfix = await createTaggedInstances(world.ec2, 2, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            const result = await updateFleet(deps(), request(target));
            assert.strictEqual(result.ok, true);
            assert.deepStrictEqual(result.servers.map((s) => s.serverId), postfix);
        });

        it("refuses a fleet whose tags match no server at all, naming the fleet", async () => {
            await createTaggedInstances(world.ec2, 1, { "ses-fleet": "bu-b", "mail-software": "postfix" });
            await assert.rejects(updateFleet(deps(), request(target)), /fleet tag ses-fleet=bu-a matched no servers/);
        });

        it("names a failed and a never-answering server, after waiting until the deadline", async () => {
            const ids = await createTaggedInstances(world.ec2, 4, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            const [broken, silent] = [ids[1], ids[3]];
            serversAnswer((id) =>
                id === silent ? undefined : id === broken ? { status: "Failed", responseCode: 3, stderr: "postfix reload failed: relayhost not set" } : { status: "Success", responseCode: 0 },
            );
            const result = await updateFleet(deps(), request(target, { deadline: new Date(START.getTime() + 60_000) }));
            assert.strictEqual(result.ok, false);
            assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.status]), [[broken, "Failed"], [silent, "TimedOut"]]);
            assert.match(result.failed[0].detail!, /exit 3: postfix reload failed: relayhost not set/);
            assert.match(result.failed[1].detail!, /no answer by the deadline \(last status Pending\)/);
            assert.strictEqual(result.servers.filter((s) => s.status === "Success").length, 2);
        });
    });

    describe("table targets", () => {
        const target = { kind: "table" as const, tableName: "bu-a-fleet" };

        it("sends InstanceIds in chunks of at most 50 per software, covering every listed server once", async () => {
            const servers = makeServers(120); // 60 postfix + 60 iis
            await createFleetTable(world.dynamodb, target.tableName, servers);
            const result = await updateFleet(deps(), request(target));
            assert.strictEqual(result.ok, true);
            const sends = sent().map((s) => s.request);
            assert.deepStrictEqual(sends.map((s) => [s.DocumentName, s.InstanceIds.length]).sort(), [["ses-iis-doc", 10], ["ses-iis-doc", 50], ["ses-postfix-doc", 10], ["ses-postfix-doc", 50]]);
            const bySoftware = new Map(servers.map((s) => [s.serverId, s.software]));
            for (const s of sends) for (const id of s.InstanceIds) assert.strictEqual(`ses-${bySoftware.get(id)}-doc`, s.DocumentName);
            assert.deepStrictEqual(sends.flatMap((s) => s.InstanceIds).sort(), servers.map((s) => s.serverId).sort());
            assert.deepStrictEqual(result.servers.map((s) => s.serverId), servers.map((s) => s.serverId).sort());
        });

        it("respects the deadline with an injected clock: stops polling, reports silent servers TimedOut", async () => {
            const servers = makeServers(6, { prefix: "mi" });
            await createFleetTable(world.dynamodb, target.tableName, servers);
            const silent = new Set([servers[0].serverId, servers[5].serverId]);
            serversAnswer((id, round) => (silent.has(id) || round < 2 ? undefined : { status: "Success", responseCode: 0 }));
            const deadline = new Date(START.getTime() + 90_000);
            const result = await updateFleet(deps(), request(target, { deadline, pollIntervalMs: 10_000 }));
            assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.status]), [...silent].sort().map((id) => [id, "TimedOut"]));
            assert.strictEqual(world.clock, deadline.getTime(), "waited exactly up to the deadline, not beyond");
            assert.deepStrictEqual(world.sleeps, [10_000, 15_000, 22_500, 30_000, 12_500], "interval grows ×1.5 up to 30 s; the last wait is cut at the deadline");
        });

        it("reads every chunk's invocations with their output (Details, 50 per page) and names its failed servers", async () => {
            const servers = makeServers(60, { software: "postfix", prefix: "mi" }); // chunks: 0-49, 50-59
            await createFleetTable(world.dynamodb, target.tableName, servers);
            const offline = servers[52].serverId;
            const broken = servers[57].serverId;
            serversAnswer((id) =>
                id === offline ? { status: "Undeliverable" } : id === broken ? { status: "Failed", responseCode: 1, stderr: "postmap: fatal: open /etc/postfix/sasl_passwd" } : { status: "Success", responseCode: 0 },
            );
            const result = await updateFleet(deps(), request(target));
            assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.status]), [[offline, "Undeliverable"], [broken, "Failed"]]);
            assert.match(result.failed[1].detail!, /exit 1: postmap: fatal/);
            const lci = ssmCalls().filter((c) => c.operation === "ListCommandInvocations").map((c) => JSON.parse(c.requestBody));
            // One page per chunk of 50, whatever the aggregate says: only the output tells an update from a skipped step.
            // Chunks are polled concurrently, so the order of their pages is not fixed: compare them as a set.
            assert.deepStrictEqual(lci.map((r) => [r.CommandId, r.MaxResults, r.Details]).sort(), sent().map((s) => [s.command.CommandId, 50, true]).sort());
        });

        it("stops on a non-transient polling error (e.g. AccessDenied) instead of waiting out the deadline", async () => {
            await createFleetTable(world.dynamodb, target.tableName, makeServers(2));
            testEnv().proxy.addFault({ service: "ssm", operation: "ListCommands", kind: "error", code: "AccessDeniedException", message: "not authorized to perform ssm:ListCommands" });
            await assert.rejects(updateFleet(deps(), request(target)), /not authorized to perform ssm:ListCommands/);
            assert.strictEqual(world.sleeps.length, 1);
        });

        it("keeps the other chunks going when SendCommand rejects one (e.g. an unregistered node) and reports its servers NotSent", async () => {
            const servers = makeServers(60, { software: "postfix" });
            await createFleetTable(world.dynamodb, target.tableName, servers);
            testEnv().proxy.addFault({ service: "ssm", operation: "SendCommand", kind: "error", code: "InvalidInstanceId", bodyIncludes: servers[55].serverId });
            const result = await updateFleet(deps(), request(target));
            assert.strictEqual(result.ok, false);
            assert.deepStrictEqual(result.failed.map((f) => f.serverId), servers.slice(50).map((s) => s.serverId));
            assert.ok(result.failed.every((f) => f.status === "NotSent" && /InvalidInstanceId/.test(f.detail!)));
            assert.strictEqual(result.servers.filter((s) => s.status === "Success").length, 50);
        });

        it("skips a throttled poll round (no extra loop) and still finishes", async () => {
            await createFleetTable(world.dynamodb, target.tableName, makeServers(3));
            testEnv().proxy.addFault({ service: "ssm", operation: "ListCommands", kind: "error", code: "ThrottlingException", times: 1 });
            const result = await updateFleet(deps(), request(target));
            assert.strictEqual(result.ok, true);
            assert.strictEqual(world.sleeps.length, 2, "one throttled round, one good round");
        });

        it("refuses an empty fleet table, naming the fleet", async () => {
            await createFleetTable(world.dynamodb, target.tableName, []);
            await assert.rejects(updateFleet(deps(), request(target)), /fleet table bu-a-fleet lists no servers/);
            assert.strictEqual(sent().length, 0);
        });

        it("lists the table page by page and names a bad item and attribute", async () => {
            await createFleetTable(world.dynamodb, target.tableName, makeServers(20));
            const pages: number[] = [];
            for await (const page of listFleetServers(world.dynamodb, target.tableName, { pageSize: 7 })) pages.push(page.length);
            assert.deepStrictEqual(pages, [7, 7, 6]);
            await createFleetTable(world.dynamodb, "bad-fleet", makeServers(2), [{ serverId: { S: "i-0000000000000abcd" }, hostname: { S: "mx" }, software: { S: "exchange" }, ownerEmail: { S: "a@b.example" } }]);
            await assert.rejects(async () => {
                for await (const _ of listFleetServers(world.dynamodb, "bad-fleet")) void _;
            }, /fleet table bad-fleet: item serverId="i-0000000000000abcd": attribute "software" must be one of postfix, iis, got "exchange"/);
        });
    });

    describe("what the scripts said: a server counts only with its result marker (runtime/server-report.ts)", () => {
        const target = { kind: "tag" as const, tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" };
        const SKIPPED = `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [platformType, Windows]'. Step name: updateSmtpCredentials\n`;

        it("a step SSM skipped for the wrong platform (Success, no marker) fails, naming the software tag", async () => {
            const [linux] = await createTaggedInstances(world.ec2, 1, { "ses-fleet": "bu-a", "mail-software": "iis" }); // a Postfix node tagged iis
            const [ok] = await createTaggedInstances(world.ec2, 1, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            serversAnswer((id) => (id === linux ? { status: "Success", responseCode: 0, stdout: SKIPPED } : { status: "Success", responseCode: 0, stdout: "update-smtp-credentials: updated\nSES-ROTATOR-RESULT: updated\n" }));
            const result = await updateFleet(deps(), request(target));
            assert.strictEqual(result.ok, false);
            assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.software, f.status]), [[linux, "iis", "Skipped"]]);
            assert.match(result.failed[0].detail!, /software tag does not match the platform: SSM skipped the iis document's step on this node \(not Windows; its mail-software tag says iis\)/);
            assert.deepStrictEqual(result.servers.find((s) => s.serverId === ok)!.status, "Success");
        });

        it("a script that exits 0 without printing the marker (or printing another one) is not counted as updated", async () => {
            await createFleetTable(world.dynamodb, "bu-a-fleet", makeServers(3, { software: "postfix", prefix: "mi" }));
            const [silent, wrong, good] = makeServers(3, { software: "postfix", prefix: "mi" }).map((s) => s.serverId);
            serversAnswer((id) => ({ status: "Success", responseCode: 0, stdout: id === silent ? "" : id === wrong ? "SES-ROTATOR-RESULT: check-passed\n" : "SES-ROTATOR-RESULT: updated\n" }));
            const result = await updateFleet(deps(), request({ kind: "table", tableName: "bu-a-fleet" }));
            assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.status]), [[silent, "NoResult"], [wrong, "NoResult"]].sort());
            assert.match(result.failed.find((f) => f.serverId === silent)!.detail!, /did not print "SES-ROTATOR-RESULT: updated": treated as not updated/);
            assert.match(result.failed.find((f) => f.serverId === wrong)!.detail!, /it printed check-passed/);
            assert.strictEqual(result.servers.find((s) => s.serverId === good)!.status, "Success");
        });

        it("reads GetCommandInvocation only for a server whose marker SSM's listed output (2,500 characters) may have cut", async () => {
            await createFleetTable(world.dynamodb, "bu-a-fleet", makeServers(4, { software: "postfix", prefix: "mi" }));
            const [chatty] = makeServers(4, { software: "postfix", prefix: "mi" }).map((s) => s.serverId);
            serversAnswer((id) => ({ status: "Success", responseCode: 0, stdout: `${id === chatty ? "postmap: warning: noise\n".repeat(200) : ""}SES-ROTATOR-RESULT: updated\n` }));
            const result = await updateFleet(deps(), request({ kind: "table", tableName: "bu-a-fleet" }));
            assert.strictEqual(result.ok, true, JSON.stringify(result.failed));
            const gets = ssmCalls().filter((c) => c.operation === "GetCommandInvocation").map((c) => JSON.parse(c.requestBody).InstanceId);
            assert.deepStrictEqual(gets, [chatty]);
        });

        it("checkFleet sends Mode=check with the same targeting and returns each server's checks; a failed check names the server", async () => {
            const postfix = await createTaggedInstances(world.ec2, 2, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            const [bad, good] = postfix;
            serversAnswer((id) =>
                id === bad
                    ? { status: "Failed", responseCode: 1, stdout: "SES-ROTATOR-CHECK: fetch ok read\nSES-ROTATOR-CHECK: relayhost fail relay host 'mailhub.corp.example' is not the SES SMTP endpoint\nSES-ROTATOR-RESULT: check-failed\n" }
                    : { status: "Success", responseCode: 0, stdout: "SES-ROTATOR-CHECK: fetch ok read\nSES-ROTATOR-CHECK: relayhost ok ses\nSES-ROTATOR-RESULT: check-passed\n" },
            );
            const result = await checkFleet(deps(), request(target));
            assert.strictEqual(result.ok, false);
            for (const s of sent().map((x) => x.request)) assert.deepStrictEqual(s.Parameters.Mode, ["check"]);
            assert.deepStrictEqual(result.failed.map((f) => f.serverId), [bad]);
            assert.match(result.failed[0].detail!, /failed checks: relayhost: relay host 'mailhub\.corp\.example' is not the SES SMTP endpoint/);
            assert.deepStrictEqual(result.failed[0].report!.result, "check-failed");
            const passed = result.servers.find((s) => s.serverId === good)!;
            assert.deepStrictEqual([passed.status, passed.report!.result, passed.report!.checks.map((c) => `${c.name} ${c.ok}`)], ["Success", "check-passed", ["fetch true", "relayhost true"]]);
        });
    });

    describe("SSM call budget (≤ 2·⌈N/50⌉ + 20) for N = 120", () => {
        const N = 120;
        const budget = 2 * Math.ceil(N / 50) + 20;
        const countSsm = () => {
            const counts = testEnv().proxy.callCounts();
            return Object.entries(counts).filter(([k]) => k.startsWith("ssm:")).reduce((n, [, v]) => n + v, 0);
        };

        it("tag targets: 2 sends, one cheap poll per round, detail pages of 50", async () => {
            await createTaggedInstances(world.ec2, N / 2, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            await createTaggedInstances(world.ec2, N / 2, { "ses-fleet": "bu-a", "mail-software": "iis" });
            // servers answer over three poll rounds
            serversAnswer((id, round) => (round >= 1 + (parseInt(id.slice(-2), 16) % 3) ? { status: "Success", responseCode: 0 } : undefined));
            const result = await updateFleet(deps(), request({ kind: "tag", tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" }));
            assert.strictEqual(result.servers.length, N);
            assert.strictEqual(result.ok, true);
            const counts = testEnv().proxy.callCounts();
            assert.strictEqual(counts["ssm:SendCommand"], 2);
            assert.strictEqual(counts["ssm:ListCommandInvocations"], 2 * Math.ceil(N / 2 / 50));
            assert.ok(countSsm() <= budget, `${countSsm()} SSM calls > budget ${budget}: ${JSON.stringify(counts)}`);
        });

        it("table targets: ⌈N/50⌉+1 sends, polls by filtered listing, one detail page (with output) per chunk", async () => {
            await createFleetTable(world.dynamodb, "bu-a-fleet", makeServers(N));
            serversAnswer((id, round) => (round >= 1 + (parseInt(id.slice(-2), 16) % 3) ? { status: "Success", responseCode: 0 } : undefined));
            const result = await updateFleet(deps(), request({ kind: "table", tableName: "bu-a-fleet" }));
            assert.strictEqual(result.ok, true);
            const counts = testEnv().proxy.callCounts();
            assert.strictEqual(counts["ssm:SendCommand"], 4);
            assert.strictEqual(counts["ssm:ListCommandInvocations"], 4);
            assert.strictEqual(counts["ssm:GetCommandInvocation"] ?? 0, 0, "no per-server call in the common case");
            assert.strictEqual(counts["ssm:ListCommands"], world.sleeps.length, "one listing page per poll round");
            assert.strictEqual(counts["dynamodb:Scan"], 1);
            assert.ok(countSsm() <= budget, `${countSsm()} SSM calls > budget ${budget}: ${JSON.stringify(counts)}`);
        });

        it("table targets: a poll round lists only finished commands, so other Run Command work in the account adds no page", async () => {
            await createFleetTable(world.dynamodb, "bu-a-fleet", makeServers(N));
            const foreign = makeServers(60, { prefix: "mi", offset: 0xf000 }).map((s) => s.serverId);
            serversAnswer((id, round) => (foreign.includes(id) ? undefined : round >= 2 ? { status: "Success", responseCode: 0 } : undefined));
            const answer = world.onSleep;
            let othersSent = false;
            world.onSleep = async () => {
                // during the first wait someone else starts 60 long-running commands (one server each) in the account
                if (!othersSent) {
                    othersSent = true;
                    for (const id of foreign) await world.ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: [id], Parameters: { commands: ["sleep 3600"] } }));
                }
                await answer();
            };
            const result = await updateFleet(deps(), request({ kind: "table", tableName: "bu-a-fleet" }));
            assert.strictEqual(result.ok, true);
            assert.strictEqual(result.servers.length, N);
            const listings = ssmCalls().filter((c) => c.operation === "ListCommands").map((c) => JSON.parse(c.requestBody));
            assert.strictEqual(listings.length, world.sleeps.length, "one listing page per poll round: the 64 commands invoked since the fan-out would take two");
            for (const l of listings) assert.deepStrictEqual(l.Filters.map((f: { key: string }) => f.key), ["InvokedAfter", "ExecutionStage"]);
            assert.deepStrictEqual(listings.map((l) => l.Filters[1].value), world.sleeps.map(() => "Complete"));
        });
    });

    it("rejects bad requests naming the field", async () => {
        const tag = { kind: "tag" as const, tagKey: "k", tagValue: "v", softwareTagKey: "s" };
        await assert.rejects(updateFleet(deps(), request({ kind: "tag", tagKey: "", tagValue: "v", softwareTagKey: "s" })), /req\.target\.tagKey must be a non-empty string/);
        await assert.rejects(updateFleet(deps(), request({ kind: "list" } as any)), /req\.target\.kind must be "tag" or "table"/);
        await assert.rejects(updateFleet(deps(), request(tag, { credential: { source: "S3", id: "x", version: "1", region: "eu-west-1" } as any })), /req\.credential\.source/);
        await assert.rejects(updateFleet(deps(), request(tag, { credential: { source: "ParameterStore", id: "/p", version: "1", region: "mars-1" } })), /req\.credential\.region "mars-1" is not an AWS region/);
        await assert.rejects(updateFleet(deps(), request(tag, { documents: { postfix: "p", iis: "" } })), /req\.documents\.iis/);
        await assert.rejects(updateFleet(deps(), request(tag, { deadline: new Date(START.getTime() - 1) })), /req\.deadline .* has already passed/);
        await assert.rejects(updateFleet({ ssm: world.ssm, now: () => new Date(world.clock) }, request({ kind: "table", tableName: "t" })), /deps\.dynamodb is required/);
        assert.strictEqual(sent().length, 0);
    });
});
