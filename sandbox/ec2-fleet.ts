/**
 * Test fleets in moto: tagged EC2 instances (for tag targeting) and DynamoDB fleet tables (for table targeting).
 * moto resolves SSM tag targets only against its EC2 instances; real SSM also reaches hybrid `mi-` nodes,
 * which moto cannot register, so `mi-` ids appear in tests only through fleet tables.
 */
import { EC2Client, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { DynamoDBClient, CreateTableCommand, BatchWriteItemCommand } from "@aws-sdk/client-dynamodb";
import type { FleetServer, ServerSoftware } from "../runtime/fleet-target";

/** Starts `count` moto EC2 instances carrying `tags`; returns their ids. */
export async function createTaggedInstances(ec2: EC2Client, count: number, tags: Record<string, string>): Promise<string[]> {
    const ids: string[] = [];
    // moto accepts any image id unless MOTO_ENABLE_AMI_VALIDATION is set
    for (let left = count; left > 0; left -= 100) {
        const n = Math.min(left, 100);
        const out = await ec2.send(
            new RunInstancesCommand({
                ImageId: "ami-12c6146b",
                InstanceType: "t3.micro",
                MinCount: n,
                MaxCount: n,
                TagSpecifications: [{ ResourceType: "instance", Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) }],
            }),
        );
        ids.push(...out.Instances!.map((i) => i.InstanceId!));
    }
    return ids.sort();
}

/** `count` well-formed fleet servers; ids are `i-`/`mi-` + 17 hex digits, `software` alternates unless given. */
export function makeServers(count: number, opts: { software?: ServerSoftware; prefix?: "i" | "mi"; offset?: number } = {}): FleetServer[] {
    return Array.from({ length: count }, (_, k) => {
        const n = k + (opts.offset ?? 0);
        const serverId = `${opts.prefix ?? "i"}-${n.toString(16).padStart(17, "0")}`;
        return { serverId, hostname: `mail-${n}.example.internal`, software: opts.software ?? (n % 2 === 0 ? "postfix" : "iis"), ownerEmail: `owner-${n}@example.com` };
    });
}

/** Creates a fleet table (partition key serverId) and writes `servers` (raw items may be added for invalid-data tests). */
export async function createFleetTable(dynamodb: DynamoDBClient, tableName: string, servers: FleetServer[], rawItems: Record<string, any>[] = []): Promise<void> {
    await dynamodb.send(
        new CreateTableCommand({
            TableName: tableName,
            KeySchema: [{ AttributeName: "serverId", KeyType: "HASH" }],
            AttributeDefinitions: [{ AttributeName: "serverId", AttributeType: "S" }],
            BillingMode: "PAY_PER_REQUEST",
        }),
    );
    const items = [
        ...servers.map((s) => ({ serverId: { S: s.serverId }, hostname: { S: s.hostname }, software: { S: s.software }, ownerEmail: { S: s.ownerEmail } })),
        ...rawItems,
    ];
    for (let i = 0; i < items.length; i += 25) {
        await dynamodb.send(new BatchWriteItemCommand({ RequestItems: { [tableName]: items.slice(i, i + 25).map((Item) => ({ PutRequest: { Item } })) } }));
    }
}
