/**
 * The DynamoDB fleet list: one item per server `{ serverId (S, partition key), hostname (S), software (S), ownerEmail (S) }`.
 * Read with a paginated, consistent `Scan`; every item is validated (a bad item stops the read with an error
 * naming the table, the item and the attribute). Used by the auto-mode fan-out and by manual mode.
 * Runs inside Lambdas: SDK module via `import x = require()`, client injected.
 */
import ddbSdk = require("@aws-sdk/client-dynamodb");
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { FleetServer, MANAGED_NODE_ID_PATTERN, SERVER_SOFTWARE, ServerSoftware } from "./fleet-target";

const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Validates one raw table item; the error names the table, the item (by serverId or position) and the attribute. */
export function parseFleetItem(tableName: string, item: Record<string, AttributeValue>, position: number): FleetServer {
    const idAttr = item.serverId?.S;
    const which = idAttr ? `item serverId=${JSON.stringify(idAttr)}` : `item #${position}`;
    const text = (name: string): string => {
        const v = item[name];
        if (!v || typeof v.S !== "string") throw new Error(`fleet table ${tableName}: ${which}: attribute "${name}" must be a string (S)`);
        if (v.S.trim() === "") throw new Error(`fleet table ${tableName}: ${which}: attribute "${name}" is empty`);
        return v.S;
    };
    const serverId = text("serverId");
    if (!MANAGED_NODE_ID_PATTERN.test(serverId)) {
        throw new Error(`fleet table ${tableName}: ${which}: attribute "serverId" must be a managed node id (i-... or mi-...)`);
    }
    const hostname = text("hostname");
    const software = text("software");
    if (!(SERVER_SOFTWARE as readonly string[]).includes(software)) {
        throw new Error(`fleet table ${tableName}: ${which}: attribute "software" must be one of ${SERVER_SOFTWARE.join(", ")}, got ${JSON.stringify(software)}`);
    }
    const ownerEmail = text("ownerEmail");
    if (!EMAIL_PATTERN.test(ownerEmail)) throw new Error(`fleet table ${tableName}: ${which}: attribute "ownerEmail" is not an e-mail address`);
    return { serverId, hostname, software: software as ServerSoftware, ownerEmail };
}

/**
 * Yields the fleet table's servers one Scan page at a time (DynamoDB pages are ≤ 1 MB: thousands of items);
 * an empty table yields nothing. `pageSize` caps items per page (DynamoDB `Limit`; default: DynamoDB's 1 MB pages).
 * Consistent reads, so a server added just before a rotation is included.
 */
export async function* listFleetServers(dynamodb: DynamoDBClient, tableName: string, opts: { pageSize?: number } = {}): AsyncGenerator<FleetServer[]> {
    if (typeof tableName !== "string" || tableName.trim() === "") throw new Error("listFleetServers: tableName must be a non-empty string");
    if (opts.pageSize !== undefined && !(Number.isInteger(opts.pageSize) && opts.pageSize > 0)) throw new Error("listFleetServers: opts.pageSize must be a positive integer");
    let startKey: Record<string, AttributeValue> | undefined;
    let position = 0;
    do {
        const page = await dynamodb.send(new ddbSdk.ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: startKey, Limit: opts.pageSize }));
        const servers = (page.Items ?? []).map((item) => parseFleetItem(tableName, item, ++position));
        startKey = page.LastEvaluatedKey;
        if (servers.length > 0) yield servers;
    } while (startKey);
}
