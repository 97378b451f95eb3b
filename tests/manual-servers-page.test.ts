/**
 * ListServersPage against moto, both fleet selectors: DynamoDB table pages and EC2 instances selected by tag
 * (software and owner e-mail from tags). Pages are followed with the handler's own opaque tokens.
 */
import * as assert from "assert";
import { BatchWriteItemCommand, CreateTableCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import type { FleetServer } from "../runtime/fleet-target";
import { createServersPageHandler, ServersPage, ServersPageEvent } from "../runtime/manual/servers-page";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { serverList } from "./support/manual-rig";

async function allPages(handler: (e: ServersPageEvent) => Promise<ServersPage>): Promise<FleetServer[][]> {
    const pages: FleetServer[][] = [];
    let nextToken: string | null = null;
    do {
        const page = await handler({ nextToken });
        pages.push(page.servers);
        nextToken = page.nextToken;
    } while (nextToken);
    return pages;
}

describe("manual mode: ListServersPage against moto", function () {
    beforeEach(resetAws);

    it("table fleet: consistent Scan pages of pageSize, every server once; a bad item is named", async () => {
        const dynamodb = new DynamoDBClient(clientConfig());
        await dynamodb.send(new CreateTableCommand({ TableName: "fleet", BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "serverId", AttributeType: "S" }], KeySchema: [{ AttributeName: "serverId", KeyType: "HASH" }] }));
        const servers = serverList(23);
        for (let i = 0; i < servers.length; i += 25) {
            const batch = servers.slice(i, i + 25).map((s) => ({ PutRequest: { Item: { serverId: { S: s.serverId }, hostname: { S: s.hostname }, software: { S: s.software }, ownerEmail: { S: s.ownerEmail } } } }));
            await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { fleet: batch } }));
        }
        const handler = createServersPageHandler({ dynamodb }, { fleet: { kind: "table", tableName: "fleet" }, pageSize: 10, ownerEmailTagKey: "OwnerEmail" });
        const pages = await allPages(handler);
        assert.deepStrictEqual(pages.map((p) => p.length).slice(0, 3), [10, 10, 3]);
        assert.deepStrictEqual(pages.flat().map((s) => s.serverId).sort(), servers.map((s) => s.serverId).sort());
        const scans = testEnv().proxy.calls.filter((c) => c.operation === "Scan").map((c) => JSON.parse(c.requestBody));
        assert.ok(scans.every((s) => s.ConsistentRead === true && s.Limit === 10));

        await dynamodb.send(new PutItemCommand({ TableName: "fleet", Item: { serverId: { S: "i-0aaaaaaaaaaaaaaaa" }, hostname: { S: "bad.example.com" }, software: { S: "exchange" }, ownerEmail: { S: "o@example.com" } } }));
        await assert.rejects(allPages(handler), /fleet table fleet: item serverId="i-0aaaaaaaaaaaaaaaa": attribute "software" must be one of postfix, iis/);
        await assert.rejects(handler({ nextToken: "not a token!" }), /nextToken "not a token!" is not a page token/);

        // Count mode (CredentialRotation's bound check): every item, or the limit when the fleet reaches it.
        assert.strictEqual((await handler({ mode: "count", limit: 1000 })).count, 24);
        assert.strictEqual((await handler({ mode: "count", limit: 24 })).count, 24);
        assert.strictEqual((await handler({ mode: "count", limit: 5 })).count, 5);
        await assert.rejects(handler({ mode: "count" }), /limit undefined must be a positive integer/);
        await assert.rejects(handler({ mode: "all" as any }), /mode "all" must be "page" or "count"/);
    });

    it("tag fleet: EC2 instances with the fleet tag, software and owner from tags; a missing owner tag is named", async () => {
        const ec2 = new EC2Client(clientConfig());
        const run = async (tags: Record<string, string>, count = 1) =>
            ec2.send(
                new RunInstancesCommand({
                    ImageId: "ami-12345678",
                    MinCount: count,
                    MaxCount: count,
                    InstanceType: "t3.micro",
                    TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
                }),
            );
        await run({ SmtpFleet: "bu-a", SmtpSoftware: "postfix", OwnerEmail: "alice@example.com", Name: "mx1.example.com" }, 4);
        await run({ SmtpFleet: "bu-a", SmtpSoftware: "iis", OwnerEmail: "bob@example.com" }, 3);
        await run({ SmtpFleet: "other", SmtpSoftware: "postfix", OwnerEmail: "eve@example.com" }, 2);
        const fleet = { kind: "tag" as const, tagKey: "SmtpFleet", tagValue: "bu-a", softwareTagKey: "SmtpSoftware" };
        const handler = createServersPageHandler({ ec2 }, { fleet, pageSize: 5, ownerEmailTagKey: "OwnerEmail" });
        // (moto answers DescribeInstances in one page here; the handler follows NextToken when EC2 sends one)
        const servers = (await allPages(handler)).flat();
        assert.strictEqual(servers.length, 7, "only the fleet's instances");
        assert.deepStrictEqual(servers.filter((s) => s.software === "postfix").map((s) => [s.ownerEmail, s.hostname]), Array(4).fill(["alice@example.com", "mx1.example.com"]));
        assert.deepStrictEqual(servers.filter((s) => s.software === "iis").map((s) => s.ownerEmail), Array(3).fill("bob@example.com"));
        assert.ok(servers.every((s) => /^i-[0-9a-f]+$/.test(s.serverId)));
        assert.strictEqual((await handler({ mode: "count", limit: 100 })).count, 7, "count: only the fleet's instances");

        await run({ SmtpFleet: "bu-a", SmtpSoftware: "postfix" });
        await assert.rejects(allPages(handler), /tag fleet: instance i-[0-9a-f]+: tag "OwnerEmail" must hold the owner's e-mail address, got undefined/);
    });
});
