/**
 * The fan-out's sending side, asserted exactly (written for mutation testing of runtime/fleet.ts; see
 * docs/mutation.md): what each SendCommand carries (comment, document version, timeout), how many go out at once,
 * the deadline checked before each send, what a refused send reports and logs, which command statuses end the
 * polling, which poll errors skip a round, and the order of the report. moto + wire proxy; the servers' answers are
 * played through the proxy's agent mode (an emulation, as in tests/fleet.test.ts).
 */
import * as assert from "assert";
import { ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { checkFleet, updateFleet } from "../runtime/fleet";
import { createFleetTable, makeServers } from "../sandbox/ec2-fleet";
import type { InvocationResult } from "../sandbox/aws-proxy";
import { testEnv } from "./support/hooks";
import { FLEET_START, FLEET_VERSION, recordedLog, useFleetWorld } from "./support/fleet-world";

const UPDATED: InvocationResult = { status: "Success", responseCode: 0, stdout: "SES-ROTATOR-RESULT: updated\n" };

describe("fleet fan-out: sending, send concurrency, terminal statuses, poll errors, logs (moto + proxy)", () => {
    const world = useFleetWorld();
    const { deps, request, sent, serversAnswer } = world;
    const table = { kind: "table" as const, tableName: "bu-a-fleet" };

    it("comments each command with the credential version, or the caller's comment cut at 100 characters; a preflight says so", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(2));
        const comments = async (run: () => Promise<unknown>) => {
            const before = sent().length;
            await run();
            return sent().slice(before).map((s) => s.request.Comment);
        };
        assert.deepStrictEqual(await comments(() => updateFleet(deps(), request(table))), [`SES SMTP credential update ${FLEET_VERSION}`, `SES SMTP credential update ${FLEET_VERSION}`]);
        assert.deepStrictEqual(await comments(() => updateFleet(deps(), request(table, { comment: "x".repeat(99) + "yz" }))), ["x".repeat(99) + "y", "x".repeat(99) + "y"]);
        assert.deepStrictEqual(await comments(() => checkFleet(deps(), request(table))), [`SES SMTP credential preflight check ${FLEET_VERSION}`, `SES SMTP credential preflight check ${FLEET_VERSION}`]);
        assert.deepStrictEqual(await comments(() => checkFleet(deps(), request(table, { comment: "quarterly preflight" }))), ["quarterly preflight", "quarterly preflight"]);
    });

    it("names the document version only for the software that has one", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(2));
        await updateFleet(deps(), request(table, { documentVersions: { postfix: "3" } }));
        // the two sends run concurrently: compare them in a fixed order
        assert.deepStrictEqual(sent().map((s) => [s.request.DocumentName, s.request.DocumentVersion]).sort(), [["ses-iis-doc", undefined], ["ses-postfix-doc", "3"]]);
    });

    it("gives SSM at least 30 s and at most 30 days to deliver, and refuses a deadline that is now", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(1, { software: "postfix" }));
        const timeout = async (ms: number) => {
            await updateFleet(deps(), request(table, { deadline: new Date(world.clock + ms) }));
            return sent().at(-1)!.request.TimeoutSeconds;
        };
        assert.deepStrictEqual([await timeout(1), await timeout(29_001), await timeout(30_001), await timeout(40 * 86_400_000)], [30, 30, 31, 2_592_000]);
        await assert.rejects(updateFleet(deps(), request(table, { deadline: new Date(world.clock) })), { message: `updateFleet: req.deadline ${new Date(world.clock).toISOString()} has already passed` });
    });

    it("has at most 4 SendCommand calls in flight, whatever the number of chunks", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(500)); // 10 chunks of 50
        let inFlight = 0;
        let most = 0;
        const ssm = { send: async (command: any) => {
            const isSend = command.constructor.name === "SendCommandCommand";
            if (isSend) most = Math.max(most, ++inFlight);
            try {
                return await world.ssm.send(command);
            } finally {
                if (isSend) inFlight--;
            }
        } } as unknown as SSMClient;
        const result = await updateFleet({ ...deps(), ssm }, request(table));
        assert.strictEqual(result.servers.length, 500);
        assert.strictEqual(sent().length, 10);
        assert.strictEqual(most, 4);
    });

    it("does not send a chunk once the deadline has come (the clock read at each send), reporting its servers NotSent", async () => {
        const servers = makeServers(150, { software: "postfix" }); // 3 chunks
        await createFleetTable(world.dynamodb, table.tableName, servers);
        const deadline = new Date(FLEET_START.getTime() + 600_000);
        let reads = 0;
        // read 1: the deadline check; reads 2-3: the first two chunks; from read 4 on it is exactly the deadline
        const now = () => new Date(++reads <= 3 ? world.clock : deadline.getTime());
        const { lines, log } = recordedLog();
        const result = await updateFleet({ ...deps(), now, log }, request(table, { deadline }));
        assert.strictEqual(sent().length, 2);
        assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.status, f.detail]), servers.slice(100).map((s) => [s.serverId, "NotSent", "deadline passed before the command was sent"]));
        assert.deepStrictEqual(lines.find(([m]) => m === "fleet update finished"), ["fleet update finished", { fleet: "table bu-a-fleet", servers: 150, failed: 50, commands: 2 }]);
    });

    it("reports and logs a refused send with the error's name and the first 300 characters of its message", async () => {
        const servers = makeServers(2, { software: "iis" });
        await createFleetTable(world.dynamodb, table.tableName, servers);
        const message = "m".repeat(299) + "XY";
        testEnv().proxy.addFault({ service: "ssm", operation: "SendCommand", kind: "error", code: "InvalidDocument", message });
        const { lines, log } = recordedLog();
        const result = await updateFleet({ ...deps(), log }, request(table));
        const error = `InvalidDocument: ${"m".repeat(299)}X`;
        assert.deepStrictEqual(result.failed.map((f) => [f.serverId, f.status, f.detail]), servers.map((s) => [s.serverId, "NotSent", `SendCommand failed: ${error}`]));
        assert.deepStrictEqual(lines.filter(([m]) => m.startsWith("fleet command")), [["fleet command not sent", { fleet: "table bu-a-fleet", software: "iis", servers: 2, error }]]);
    });

    it("logs each command sent (with its server count, or 'tag-resolved'), and a preflight's end as a check", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(3));
        const { lines, log } = recordedLog();
        await checkFleet({ ...deps(), log }, request(table));
        const ids = new Map(sent().map((s) => [s.request.DocumentName, s.command.CommandId]));
        // the two sends run concurrently, so their lines may come in either order
        assert.deepStrictEqual(lines.slice(0, 2).sort((a, b) => a[1].software.localeCompare(b[1].software)), [
            ["fleet command sent", { fleet: "table bu-a-fleet", software: "iis", commandId: ids.get("ses-iis-doc"), servers: 1 }],
            ["fleet command sent", { fleet: "table bu-a-fleet", software: "postfix", commandId: ids.get("ses-postfix-doc"), servers: 2 }],
        ]);
        assert.deepStrictEqual(lines.slice(2), [["fleet check finished", { fleet: "table bu-a-fleet", servers: 3, failed: 0, commands: 2 }]]);
        const tagLog = recordedLog();
        await assert.rejects(updateFleet({ ...deps(), log: tagLog.log }, request({ kind: "tag", tagKey: "ses-fleet", tagValue: "nobody", softwareTagKey: "mail-software" })), /matched no servers/);
        assert.deepStrictEqual(tagLog.lines.filter(([m]) => m === "fleet command sent").map(([, f]) => [f.software, f.servers]), [["postfix", "tag-resolved"], ["iis", "tag-resolved"]]);
    });

    for (const [aggregate, answer] of [
        ["Failed", (id: string) => (id.endsWith("0") ? { status: "Failed", responseCode: 1 } : UPDATED)],
        ["TimedOut", () => ({ status: "TimedOut" })],
        ["Cancelled", () => ({ status: "Cancelled" })],
    ] as [string, (id: string) => InvocationResult][]) {
        it(`stops polling once SSM reports the command ${aggregate}, and reports each server's own final status`, async () => {
            const servers = makeServers(2, { software: "postfix" });
            await createFleetTable(world.dynamodb, table.tableName, servers);
            serversAnswer((id) => answer(id));
            const result = await updateFleet(deps(), request(table));
            assert.strictEqual(world.sleeps.length, 1, "one poll round: the command is finished");
            const commandId = sent()[0].command.CommandId;
            const listed = (await world.ssm.send(new ListCommandsCommand({ CommandId: commandId }))).Commands![0].Status;
            assert.strictEqual(listed, aggregate, "the command's aggregate status (emulated by the proxy)");
            const expected = servers.map((s) => [s.serverId, answer(s.serverId).status]);
            assert.deepStrictEqual(result.servers.map((s) => [s.serverId, s.status]), expected);
            // a finished invocation is the server's answer, not a silence at the deadline
            for (const s of result.failed) assert.doesNotMatch(s.detail ?? "", /no answer by the deadline/);
        });
    }

    it("skips a poll round that failed with HTTP 500 or a dropped connection, and still finishes", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(2));
        serversAnswer(() => UPDATED);
        testEnv().proxy.addFault({ service: "ssm", operation: "ListCommands", kind: "error", status: 500, code: "UnknownError", times: 1 });
        testEnv().proxy.addFault({ service: "ssm", operation: "ListCommands", kind: "drop", times: 1 });
        const { lines, log } = recordedLog();
        const result = await updateFleet({ ...deps(), log }, request(table));
        assert.strictEqual(result.ok, true);
        const skipped = lines.filter(([m]) => m === "fleet poll round failed, will poll again").map(([, f]) => [f.round, f.error.split(":")[0]]);
        assert.strictEqual(skipped.length, 2, JSON.stringify(skipped));
        assert.deepStrictEqual(skipped.map(([round]) => round), [1, 2]);
        assert.strictEqual(world.sleeps.length, 3);
    });

    it("reports the servers sorted by id, whatever order their commands were sent in", async () => {
        // iis servers have the lower ids, and some postfix servers are never sent
        const servers = [...makeServers(60, { software: "postfix", offset: 0x500 }), ...makeServers(60, { software: "iis", offset: 0x100 })];
        await createFleetTable(world.dynamodb, table.tableName, servers);
        testEnv().proxy.addFault({ service: "ssm", operation: "SendCommand", kind: "error", code: "InvalidInstanceId", bodyIncludes: servers[55].serverId });
        const result = await updateFleet(deps(), request(table));
        const ids = result.servers.map((s) => s.serverId);
        assert.deepStrictEqual(ids, servers.map((s) => s.serverId).sort());
    });

    it("a skipped step on a table fleet names the table as the source of the software", async () => {
        const [server] = makeServers(1, { software: "iis" });
        await createFleetTable(world.dynamodb, table.tableName, [server]);
        serversAnswer(() => ({ status: "Success", responseCode: 0, stdout: "Step execution skipped due to unsatisfied preconditions: '\"StringEquals\": [platformType, Windows]'. Step name: updateSmtpCredentials\n" }));
        const result = await updateFleet(deps(), request(table));
        assert.match(result.failed[0].detail!, /its software in table bu-a-fleet says iis/);
    });

    it("keeps a command SSM was never heard from at its sent status: 'Pending' names it in the report", async () => {
        // a tag fleet SSM never resolves while every listing is throttled until the deadline
        testEnv().proxy.agentMode = true;
        testEnv().proxy.addFault({ service: "ssm", operation: "ListCommands", kind: "error", code: "ThrottlingException" });
        const tag = { kind: "tag" as const, tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" };
        const result = await updateFleet(deps(), request(tag, { deadline: new Date(world.clock + 20_000) }));
        const ids = sent().map((s) => s.command.CommandId);
        assert.deepStrictEqual(
            result.failed.map((f) => [f.serverId, f.detail]),
            [
                [`(iis servers of command ${ids[1]})`, "SSM had listed none of its targets by the deadline (command Pending): the others are unknown, not updated"],
                [`(postfix servers of command ${ids[0]})`, "SSM had listed none of its targets by the deadline (command Pending): the others are unknown, not updated"],
            ],
        );
    });
});
