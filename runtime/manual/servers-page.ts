/**
 * ListServersPage task: one page of the fleet per call, so the CredentialRotation state machine can loop over
 * pages (state payloads stay far below Step Functions' 256 KB limit for any fleet size).
 *
 * - table fleets: one consistent DynamoDB `Scan` page (items validated by `parseFleetItem`);
 * - tag fleets: one EC2 `DescribeInstances` page filtered by the fleet tag; software from the software tag
 *   and the owner's e-mail from the owner tag (`ownerEmailTagKey`, default "OwnerEmail") of each instance.
 *   Hybrid (mi-) nodes have no EC2 record: list them in a table fleet for manual mode.
 * The page token is opaque to the state machine (base64url JSON of the service's own token).
 */
import ddbSdk = require("@aws-sdk/client-dynamodb");
import ec2Sdk = require("@aws-sdk/client-ec2");
import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { parseFleetItem } from "../fleet-table";
import { FleetServer, FleetTarget, MANAGED_NODE_ID_PATTERN, SERVER_SOFTWARE, ServerSoftware } from "../fleet-target";

export interface ServersPageDeps {
    dynamodb?: DynamoDBClient;
    ec2?: EC2Client;
}

export interface ServersPageConfig {
    fleet: FleetTarget;
    /** servers per page: 1-1000 (EC2 accepts 5-1000; smaller values are raised to 5 there) */
    pageSize: number;
    /** tag fleets: the instance tag holding the owner's e-mail */
    ownerEmailTagKey: string;
}

export interface ServersPageEvent {
    nextToken?: string | null;
    /** "count": count the fleet instead (CredentialRotation's bound check), stopping once `limit` is reached */
    mode?: "page" | "count";
    limit?: number;
}

export interface ServersCount {
    /** servers counted, at most `limit` */
    count: number;
}

export interface ServersPage {
    servers: FleetServer[];
    /** null on the last page */
    nextToken: string | null;
}

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function encodeToken(value: unknown): string {
    return Buffer.from(JSON.stringify(value), "utf8").toString("base64url");
}

function decodeToken(token: unknown): any {
    if (token === undefined || token === null) return undefined;
    if (typeof token !== "string" || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error(`nextToken ${JSON.stringify(token)} is not a page token of ListServersPage`);
    try {
        return JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    } catch {
        throw new Error(`nextToken ${JSON.stringify(token)} is not a page token of ListServersPage`);
    }
}

/** The tag fleet's instances, in any state but terminated. */
function fleetFilters(fleet: Extract<FleetTarget, { kind: "tag" }>) {
    return [
        { Name: `tag:${fleet.tagKey}`, Values: [fleet.tagValue] },
        { Name: "instance-state-name", Values: ["pending", "running", "stopping", "stopped"] },
    ];
}

/** Validates the configuration, naming the bad field. */
export function assertServersPageConfig(config: ServersPageConfig): void {
    if (!config?.fleet || (config.fleet.kind !== "table" && config.fleet.kind !== "tag")) throw new Error('fleet must be {kind: "table", ...} or {kind: "tag", ...}');
    if (!Number.isInteger(config.pageSize) || config.pageSize < 1 || config.pageSize > 1000) {
        throw new Error(`pageSize ${JSON.stringify(config.pageSize)} must be an integer from 1 to 1000`);
    }
    if (config.fleet.kind === "tag" && (typeof config.ownerEmailTagKey !== "string" || config.ownerEmailTagKey === "")) {
        throw new Error("ownerEmailTagKey must be a non-empty tag key for tag fleets");
    }
}

/** The ListServersPage Lambda handler. */
export function createServersPageHandler(deps: ServersPageDeps, config: ServersPageConfig): (event: ServersPageEvent) => Promise<ServersPage & Partial<ServersCount>> {
    assertServersPageConfig(config);
    return async (event) => {
        if (event?.mode === "count") return countServers(deps, config, event.limit);
        if (event?.mode !== undefined && event.mode !== "page") throw new Error(`mode ${JSON.stringify(event.mode)} must be "page" or "count"`);
        const start = decodeToken(event?.nextToken);
        const fleet = config.fleet;
        if (fleet.kind === "table") {
            if (!deps.dynamodb) throw new Error("ListServersPage: a DynamoDB client is required for table fleets");
            const page = await deps.dynamodb.send(
                new ddbSdk.ScanCommand({ TableName: fleet.tableName, ConsistentRead: true, Limit: config.pageSize, ExclusiveStartKey: start }),
            );
            const servers = (page.Items ?? []).map((item, i) => parseFleetItem(fleet.tableName, item, i + 1));
            return { servers, nextToken: page.LastEvaluatedKey ? encodeToken(page.LastEvaluatedKey) : null };
        }
        if (!deps.ec2) throw new Error("ListServersPage: an EC2 client is required for tag fleets");
        const page = await deps.ec2.send(
            new ec2Sdk.DescribeInstancesCommand({
                Filters: fleetFilters(fleet),
                MaxResults: Math.max(5, config.pageSize),
                NextToken: start,
            }),
        );
        const servers: FleetServer[] = [];
        for (const reservation of page.Reservations ?? []) {
            for (const instance of reservation.Instances ?? []) servers.push(serverFromInstance(fleet, config.ownerEmailTagKey, instance));
        }
        return { servers, nextToken: page.NextToken ? encodeToken(page.NextToken) : null };
    };
}

/**
 * Counts the fleet, stopping once `limit` servers are seen: the table with `Select: COUNT` Scans (1 MB per
 * call, thousands of items), tag fleets with the same DescribeInstances filter as the pages (1,000 per call).
 */
async function countServers(deps: ServersPageDeps, config: ServersPageConfig, limit: unknown): Promise<ServersPage & ServersCount> {
    if (!Number.isInteger(limit) || (limit as number) < 1) throw new Error(`limit ${JSON.stringify(limit)} must be a positive integer`);
    const max = limit as number;
    const fleet = config.fleet;
    let count = 0;
    if (fleet.kind === "table") {
        if (!deps.dynamodb) throw new Error("ListServersPage: a DynamoDB client is required for table fleets");
        let start: Record<string, any> | undefined;
        do {
            const page = await deps.dynamodb.send(new ddbSdk.ScanCommand({ TableName: fleet.tableName, Select: "COUNT", ExclusiveStartKey: start }));
            count += page.Count ?? 0;
            start = page.LastEvaluatedKey;
        } while (start && count < max);
    } else {
        if (!deps.ec2) throw new Error("ListServersPage: an EC2 client is required for tag fleets");
        let token: string | undefined;
        do {
            const page = await deps.ec2.send(
                new ec2Sdk.DescribeInstancesCommand({
                    Filters: fleetFilters(fleet),
                    MaxResults: 1000,
                    NextToken: token,
                }),
            );
            for (const r of page.Reservations ?? []) count += (r.Instances ?? []).length;
            token = page.NextToken;
        } while (token && count < max);
    }
    return { servers: [], nextToken: null, count: Math.min(count, max) };
}

function serverFromInstance(fleet: Extract<FleetTarget, { kind: "tag" }>, ownerEmailTagKey: string, instance: any): FleetServer {
    const serverId: string = instance.InstanceId;
    if (!MANAGED_NODE_ID_PATTERN.test(serverId ?? "")) throw new Error(`tag fleet: instance id ${JSON.stringify(serverId)} is not an EC2 instance id`);
    const tags = new Map<string, string>((instance.Tags ?? []).map((t: any) => [t.Key, t.Value]));
    const software = tags.get(fleet.softwareTagKey);
    if (!(SERVER_SOFTWARE as readonly (string | undefined)[]).includes(software)) {
        throw new Error(`tag fleet: instance ${serverId}: tag "${fleet.softwareTagKey}" must be one of ${SERVER_SOFTWARE.join(", ")}, got ${JSON.stringify(software)}`);
    }
    const ownerEmail = tags.get(ownerEmailTagKey);
    if (!ownerEmail || !EMAIL_PATTERN.test(ownerEmail)) {
        throw new Error(`tag fleet: instance ${serverId}: tag "${ownerEmailTagKey}" must hold the owner's e-mail address, got ${JSON.stringify(ownerEmail)}`);
    }
    const hostname = tags.get("Name") || instance.PrivateDnsName || instance.PublicDnsName || serverId;
    return { serverId, hostname, software: software as ServerSoftware, ownerEmail };
}
