/** Which servers a rotation updates. Plain JSON: output by EmailServerFleet, passed to the Lambdas as env. */

export type ServerSoftware = "postfix" | "iis";
export const SERVER_SOFTWARE: readonly ServerSoftware[] = ["postfix", "iis"];

export type FleetTarget =
    /** servers (EC2 i-... and hybrid mi-... nodes) tagged tagKey=tagValue; software from the tag softwareTagKey (postfix|iis) */
    | { kind: "tag"; tagKey: string; tagValue: string; softwareTagKey: string }
    /** servers listed in a DynamoDB table, one item per server (see FleetServer) */
    | { kind: "table"; tableName: string };

/** One item of the fleet table. */
export interface FleetServer {
    /** managed node id: i-... (EC2) or mi-... (hybrid/on-prem); the table's partition key */
    serverId: string;
    hostname: string;
    software: ServerSoftware;
    ownerEmail: string;
}

export const MANAGED_NODE_ID_PATTERN = /^(i|mi)-[0-9a-f]{8,17}$/;
