/**
 * The fan-out's polling and per-server report, asserted call by call (written for mutation testing of
 * runtime/fleet.ts; see docs/mutation.md): when polling stops, what each listing asks SSM for, how the listing is
 * paged, the per-command path, the log lines, and servers SSM never lists. moto + wire proxy; the servers' answers
 * are played through the proxy's agent mode (an emulation, as in tests/fleet.test.ts).
 */
import * as assert from "assert";
import { SendCommandCommand } from "@aws-sdk/client-ssm";
import { FleetUpdateRequest, updateFleet, validateFleetUpdateRequest } from "../runtime/fleet";
import { createFleetTable, createTaggedInstances, makeServers } from "../sandbox/ec2-fleet";
import { testEnv } from "./support/hooks";
import { recordedLog, useFleetWorld } from "./support/fleet-world";

const UPDATED = { status: "Success" as const, responseCode: 0, stdout: "SES-ROTATOR-RESULT: updated\n" };

describe("fleet fan-out: polling and report, call by call (moto + proxy)", () => {
    const world = useFleetWorld();
    const { deps, request, ssmCalls, sent, serversAnswer } = world;
    const table = { kind: "table" as const, tableName: "bu-a-fleet" };
    const listings = () => ssmCalls().filter((c) => c.operation === "ListCommands").map((c) => JSON.parse(c.requestBody));

    it("stops polling in the round every command finished; the listing asks for finished commands since the fan-out, whole seconds", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(120));
        serversAnswer((id, round) => (round >= 1 + (parseInt(id.slice(-2), 16) % 3) ? UPDATED : undefined));
        const result = await updateFleet(deps(), request(table));
        assert.strictEqual(result.ok, true);
        assert.strictEqual(world.sleeps.length, 3, "servers answered over three rounds: three waits, no more");
        const first = Math.min(...sent().map((s) => s.command.RequestedDateTime * 1000)); // SSM's clock, epoch seconds on the wire
        const after = new Date(Math.floor(first / 1000) * 1000 - 1000).toISOString().replace(".000Z", "Z");
        for (const l of listings()) assert.deepStrictEqual(l, { Filters: [{ key: "InvokedAfter", value: after }, { key: "ExecutionStage", value: "Complete" }], MaxResults: 50 });
    });

    it("pages the listing (50 a page) when more than 50 finished commands were invoked since the fan-out", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(4));
        const others = makeServers(60, { prefix: "mi", offset: 0xf000 }).map((s) => s.serverId);
        let round = 0;
        testEnv().proxy.agentMode = true;
        world.onSleep = async () => {
            round++;
            if (round === 1) {
                // someone else's 60 one-server commands, all finished, then ours still running: our page is the second
                for (const id of others) {
                    const out = await world.ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunShellScript", InstanceIds: [id], Parameters: { commands: ["true"] } }));
                    testEnv().proxy.setInvocation(out.Command!.CommandId!, id, { status: "Success", responseCode: 0 });
                }
            }
            if (round === 2) for (const { command } of sent()) for (const id of command.InstanceIds as string[]) testEnv().proxy.setInvocation(command.CommandId, id, UPDATED);
        };
        const result = await updateFleet(deps(), request(table));
        assert.strictEqual(result.ok, true);
        assert.strictEqual(world.sleeps.length, 2, "finished in the second round");
        // round 1: the listing of 60 finished commands takes 2 pages; round 2: our 2 pending commands cost no more
        // asked for one by one
        assert.deepStrictEqual(listings().map((l) => (l.CommandId ? "by id" : (l.NextToken ?? "first page"))), ["first page", "50", "by id", "by id"]);
    });

    it("asks for the last pending command by id once that is cheaper than the listing", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(3, { software: "postfix" }).concat(makeServers(1, { software: "iis", offset: 3 })));
        const postfix = new Set(makeServers(3).map((s) => s.serverId));
        serversAnswer((id, round) => (round >= 2 || postfix.has(id) ? UPDATED : undefined));
        const result = await updateFleet(deps(), request(table));
        assert.strictEqual(result.ok, true);
        assert.strictEqual(world.sleeps.length, 2);
        const [listing, byId] = listings();
        assert.ok(listing.Filters, "round 1: two commands pending, the listing (one page)");
        assert.deepStrictEqual(byId, { CommandId: sent().find((s) => s.request.DocumentName === "ses-iis-doc")!.command.CommandId }, "round 2: only the iis command is pending: asked for by id");
    });

    it("logs the deadline with the commands still pending, and a skipped poll round with its number and error", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(2));
        serversAnswer(() => undefined);
        testEnv().proxy.addFault({ service: "ssm", operation: "ListCommands", kind: "error", code: "ThrottlingException", message: "Rate exceeded", times: 2 });
        const { lines, log } = recordedLog();
        const result = await updateFleet({ ...deps(), log }, request(table, { deadline: new Date(world.clock + 12_000) }));
        assert.strictEqual(result.ok, false);
        const fleet = "table bu-a-fleet";
        assert.deepStrictEqual(
            lines.filter(([m]) => m === "fleet poll round failed, will poll again").map(([, f]) => f),
            [1, 2].map((round) => ({ fleet, round, error: "ThrottlingException: Rate exceeded" })),
        );
        assert.deepStrictEqual(lines.find(([m]) => m === "fleet deadline reached"), ["fleet deadline reached", { fleet, pendingCommands: 2 }]);
    });

    it("reports a listed server SSM gave no invocation for as TimedOut, naming the command's status", async () => {
        const servers = makeServers(2, { software: "postfix", prefix: "mi" });
        await createFleetTable(world.dynamodb, table.tableName, servers);
        serversAnswer(() => UPDATED);
        const [kept, missing] = servers.map((s) => s.serverId);
        // SSM lists only one of the two invocations (the other never materialised)
        testEnv().proxy.addInterceptor(async (req) => {
            if (req.service !== "ssm" || req.operation !== "ListCommandInvocations") return undefined;
            const { CommandId } = JSON.parse(req.body);
            const inv = { CommandId, InstanceId: kept, Status: "Success", StatusDetails: "Success", CommandPlugins: [{ Name: "update", Status: "Success", ResponseCode: 0, Output: UPDATED.stdout }] };
            return { status: 200, body: JSON.stringify({ CommandInvocations: [inv] }), headers: { "content-type": "application/x-amz-json-1.1" } };
        });
        const result = await updateFleet(deps(), request(table));
        assert.deepStrictEqual(result.failed, [{ serverId: missing, software: "postfix", status: "TimedOut", detail: "no invocation reported by SSM (command Success)" }]);
        assert.deepStrictEqual(result.servers.map((s) => [s.serverId, s.status]), [[kept, "Success"], [missing, "TimedOut"]]);
    });

    it("a table chunk still running at the deadline with no invocation listed reports each of its servers, nothing more", async () => {
        const servers = makeServers(2, { software: "postfix", prefix: "mi" });
        await createFleetTable(world.dynamodb, table.tableName, servers);
        serversAnswer(() => undefined);
        testEnv().proxy.addInterceptor(async (req) =>
            req.service === "ssm" && req.operation === "ListCommandInvocations" ? { status: 200, body: JSON.stringify({ CommandInvocations: [] }), headers: { "content-type": "application/x-amz-json-1.1" } } : undefined,
        );
        const result = await updateFleet(deps(), request(table, { deadline: new Date(world.clock + 20_000) }));
        assert.deepStrictEqual(
            result.failed,
            servers.map((s) => ({ serverId: s.serverId, software: "postfix", status: "TimedOut", detail: "no invocation reported by SSM (command InProgress)" })),
        );
    });

    it("reads no full output for a failed server, however long its listed output", async () => {
        await createFleetTable(world.dynamodb, table.tableName, makeServers(1, { software: "postfix" }));
        serversAnswer(() => ({ status: "Failed", responseCode: 1, stdout: "x".repeat(3000) }));
        const result = await updateFleet(deps(), request(table));
        assert.strictEqual(result.failed[0].status, "Failed");
        assert.strictEqual(testEnv().proxy.callCounts()["ssm:GetCommandInvocation"] ?? 0, 0);
    });

    for (const targets of [0, 3]) {
        it(`a tag command still running at the deadline with ${targets ? "fewer invocations than its targets" : "no target resolved"} fails the fan-out: its servers are unknown, not 'matched nobody'`, async () => {
            await createTaggedInstances(world.ec2, 2, { "ses-fleet": "bu-a", "mail-software": "postfix" });
            serversAnswer(() => UPDATED);
            const id = (doc: string) => sent().find((s) => s.request.DocumentName === doc)?.command.CommandId;
            // SSM's view: the postfix command finished; the iis one is still Pending (targets resolved or not), none listed
            testEnv().proxy.addInterceptor(async (req) => {
                if (req.service !== "ssm" || req.operation !== "ListCommands") return undefined;
                const asked = JSON.parse(req.body).CommandId;
                const postfix = { CommandId: id("ses-postfix-doc"), Status: "Success", TargetCount: 2 };
                const iis = { CommandId: id("ses-iis-doc"), Status: "Pending", TargetCount: targets };
                const commands = asked === undefined ? [postfix] : asked === iis.CommandId ? [iis] : [postfix];
                return { status: 200, body: JSON.stringify({ Commands: commands }), headers: { "content-type": "application/x-amz-json-1.1" } };
            });
            const result = await updateFleet(deps(), request({ kind: "tag", tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" }, { deadline: new Date(world.clock + 60_000) }));
            assert.strictEqual(result.ok, false);
            assert.deepStrictEqual(result.failed, [
                {
                    serverId: `(iis servers of command ${id("ses-iis-doc")})`,
                    software: "iis",
                    status: "TimedOut",
                    detail: `SSM had listed ${targets ? "0 of its 3 targets" : "none of its targets"} by the deadline (command Pending): the others are unknown, not updated`,
                },
            ]);
            assert.strictEqual(result.servers.filter((s) => s.status === "Success").length, 2);
        });
    }

    it("does not read the invocations of a tag command that matched nobody", async () => {
        await createTaggedInstances(world.ec2, 2, { "ses-fleet": "bu-a", "mail-software": "postfix" });
        serversAnswer(() => UPDATED);
        const result = await updateFleet(deps(), request({ kind: "tag", tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" }));
        assert.strictEqual(result.servers.length, 2);
        const postfix = sent().find((s) => s.request.DocumentName === "ses-postfix-doc")!.command.CommandId;
        const read = ssmCalls().filter((c) => c.operation === "ListCommandInvocations").map((c) => JSON.parse(c.requestBody).CommandId);
        assert.deepStrictEqual(read, [postfix], "only the postfix command's invocations are read");
    });
});

describe("fleet fan-out: request validation, every field by name (no AWS call)", () => {
    const good = (): FleetUpdateRequest => ({
        target: { kind: "tag", tagKey: "ses-fleet", tagValue: "bu-a", softwareTagKey: "mail-software" },
        documents: { postfix: "ses-postfix-doc", iis: "ses-iis-doc" },
        credential: { source: "SecretsManager", id: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:s", version: "v1", region: "eu-west-1" },
        deadline: new Date("2026-12-02T10:00:00Z"),
    });
    const with_ = (change: (r: any) => void): FleetUpdateRequest => {
        const r: any = good();
        change(r);
        return r;
    };
    const refuses = (req: unknown, message: string) => assert.throws(() => validateFleetUpdateRequest(req as FleetUpdateRequest), (e: Error) => e.message === `updateFleet: ${message}`, message);

    it("accepts a whole tag request, a table request, document versions and a poll interval", () => {
        validateFleetUpdateRequest(good());
        validateFleetUpdateRequest(with_((r) => (r.target = { kind: "table", tableName: "bu-a-fleet" })));
        validateFleetUpdateRequest(with_((r) => ((r.documentVersions = { postfix: "1", iis: "9999999999" }), (r.pollIntervalMs = 0.5))));
        validateFleetUpdateRequest(with_((r) => ((r.credential.source = "ParameterStore"), (r.documentVersions = {}))));
    });

    it("names the request, the target and its kind", () => {
        refuses(undefined, "req must be an object");
        refuses("req", "req must be an object");
        refuses(with_((r) => (r.target = undefined)), "req.target must be a fleet target object");
        refuses(with_((r) => (r.target = "tag")), "req.target must be a fleet target object");
        refuses(with_((r) => (r.target = { kind: "list" })), 'req.target.kind must be "tag" or "table", got "list"');
        refuses(with_((r) => (r.target = {})), 'req.target.kind must be "tag" or "table", got undefined');
    });

    it("names each empty or missing text field", () => {
        for (const k of ["tagKey", "tagValue", "softwareTagKey"]) {
            refuses(with_((r) => (r.target[k] = " ")), `req.target.${k} must be a non-empty string`);
            refuses(with_((r) => delete r.target[k]), `req.target.${k} must be a non-empty string`);
        }
        refuses(with_((r) => (r.target = { kind: "table", tableName: "" })), "req.target.tableName must be a non-empty string");
        refuses(with_((r) => (r.target = { kind: "table", tableName: 7 })), "req.target.tableName must be a non-empty string");
        refuses(with_((r) => (r.documents.postfix = "")), "req.documents.postfix must be a non-empty string");
        refuses(with_((r) => (r.documents.iis = "\t")), "req.documents.iis must be a non-empty string");
        refuses(with_((r) => (r.documents = undefined)), "req.documents.postfix must be a non-empty string");
        refuses(with_((r) => (r.credential.id = "")), "req.credential.id must be a non-empty string");
        refuses(with_((r) => (r.credential.version = " ")), "req.credential.version must be a non-empty string");
    });

    it("names a document version that is not a version number, for either software", () => {
        for (const v of ["0", "01", "1.0", "$LATEST", "12345678901", " 1", "1 "]) {
            refuses(with_((r) => (r.documentVersions = { postfix: v })), `req.documentVersions.postfix must be a document version number, got ${JSON.stringify(v)}`);
            refuses(with_((r) => (r.documentVersions = { iis: v })), `req.documentVersions.iis must be a document version number, got ${JSON.stringify(v)}`);
        }
        validateFleetUpdateRequest(with_((r) => (r.documentVersions = { iis: 2 }))); // a number from configuration
        refuses(with_((r) => (r.documentVersions = { iis: 0 })), "req.documentVersions.iis must be a document version number, got 0");
    });

    it("names the credential's source and region, the deadline and the poll interval", () => {
        refuses(with_((r) => (r.credential.source = "S3")), 'req.credential.source must be "SecretsManager" or "ParameterStore", got "S3"');
        refuses(with_((r) => (r.credential = undefined)), 'req.credential.source must be "SecretsManager" or "ParameterStore", got undefined');
        refuses(with_((r) => (r.credential.region = "mars-1")), 'req.credential.region "mars-1" is not an AWS region');
        refuses(with_((r) => (r.deadline = "2026-12-02T10:00:00Z")), "req.deadline must be a valid Date");
        refuses(with_((r) => (r.deadline = new Date("not a date"))), "req.deadline must be a valid Date");
        for (const p of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "5000"]) refuses(with_((r) => (r.pollIntervalMs = p)), "req.pollIntervalMs must be a positive number");
    });
});
