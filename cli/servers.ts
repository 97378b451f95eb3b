/**
 * `servers`: the fleet as the rotator sees it (its fleet table, or the tagged instances), with each server's
 * software, owner, and what SSM reports about its agent (ping status, platform).
 */
import { DescribeInstancesCommand } from "@aws-sdk/client-ec2";
import { DescribeInstanceInformationCommand, InstanceInformation } from "@aws-sdk/client-ssm";
import { listFleetServers } from "../runtime/fleet-table";
import type { FleetServer, FleetTarget } from "../runtime/fleet-target";
import type { CliClients } from "./clients";
import type { RotatorRef } from "./target";

export interface ServerView {
    serverId: string;
    hostname: string;
    /** what the fleet says it runs (the table's `software`, or the software tag); may be invalid for a tag fleet */
    software: string;
    ownerEmail?: string;
    /** SSM's PingStatus (Online, ConnectionLost, Inactive) or "not registered" when SSM does not know the node */
    pingStatus: string;
    /** SSM's PlatformType / PlatformName, when registered */
    platform?: string;
    lastPingAt?: string;
}

/** A one-line description of a fleet target (for headers and errors). */
export function describeTarget(t: FleetTarget | undefined): string {
    if (!t) return "unknown (pass --outputs with fleetTarget)";
    return t.kind === "table" ? `table ${t.tableName}` : `tag ${t.tagKey}=${t.tagValue} (software from tag ${t.softwareTagKey})`;
}

/** The fleet's servers as the rotator lists them (no SSM information yet). */
export async function fleetServers(c: Pick<CliClients, "dynamodb" | "ec2">, ref: RotatorRef): Promise<{ serverId: string; hostname: string; software: string; ownerEmail?: string }[]> {
    const t = ref.fleetTarget;
    if (!t) throw new Error(`the fleet of ${ref.businessUnit} is unknown: pass --outputs (its fleetTarget output)`);
    if (t.kind === "table") {
        const out: FleetServer[] = [];
        for await (const page of listFleetServers(c.dynamodb, t.tableName)) out.push(...page);
        return out;
    }
    const out: { serverId: string; hostname: string; software: string; ownerEmail?: string }[] = [];
    let token: string | undefined;
    do {
        const page = await c.ec2.send(
            new DescribeInstancesCommand({ Filters: [{ Name: `tag:${t.tagKey}`, Values: [t.tagValue] }, { Name: "instance-state-name", Values: ["running", "pending", "stopped"] }], NextToken: token }),
        );
        for (const r of page.Reservations ?? []) {
            for (const i of r.Instances ?? []) {
                const tag = (k: string) => i.Tags?.find((x) => x.Key === k)?.Value;
                out.push({ serverId: i.InstanceId!, hostname: tag("Name") ?? i.PrivateDnsName ?? "", software: tag(t.softwareTagKey) ?? "(no tag)", ownerEmail: tag("owner") ?? tag("Owner") });
            }
        }
        token = page.NextToken;
    } while (token);
    return out;
}

/** SSM's view of the given managed nodes (nodes SSM does not know are absent from the map). */
export async function ssmNodeInfo(c: Pick<CliClients, "ssm">, ids: string[]): Promise<Map<string, InstanceInformation>> {
    const map = new Map<string, InstanceInformation>();
    for (let i = 0; i < ids.length; i += 50) {
        let token: string | undefined;
        do {
            const page = await c.ssm.send(
                new DescribeInstanceInformationCommand({ Filters: [{ Key: "InstanceIds", Values: ids.slice(i, i + 50) }], NextToken: token, MaxResults: 50 }),
            );
            for (const info of page.InstanceInformationList ?? []) if (info.InstanceId) map.set(info.InstanceId, info);
            token = page.NextToken;
        } while (token);
    }
    return map;
}

export async function listServers(c: Pick<CliClients, "dynamodb" | "ec2" | "ssm">, ref: RotatorRef): Promise<ServerView[]> {
    const servers = await fleetServers(c, ref);
    const info = await ssmNodeInfo(c, servers.map((s) => s.serverId));
    return servers.map((s) => {
        const i = info.get(s.serverId);
        return {
            ...s,
            pingStatus: i?.PingStatus ?? "not registered",
            ...(i ? { platform: [i.PlatformType, i.PlatformName].filter(Boolean).join(" / ") || undefined, lastPingAt: i.LastPingDateTime?.toISOString() } : {}),
        };
    });
}
