/**
 * The fleet fan-out's test world (tests/fleet.test.ts, tests/mutation-fleet.test.ts): moto behind the wire proxy,
 * SDK clients, a fake clock that moves only when `updateFleet` sleeps, and the servers played through the proxy's
 * agent mode (`setInvocation`): an emulation of what the servers answer, not servers.
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import type { FleetDeps, FleetUpdateRequest } from "../../runtime/fleet";
import type { InvocationResult } from "../../sandbox/aws-proxy";
import { clientConfig, resetAws, testEnv } from "./hooks";
import { scannedLogger } from "./leak-scanner";

export const FLEET_START = new Date("2026-11-29T19:00:00Z");
export const FLEET_SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp-AbCdEf";
export const FLEET_VERSION = "0f3c9a7e-5b1d-4c2a-9e8f-1a2b3c4d5e6f";

export interface FleetWorld {
    ssm: SSMClient;
    dynamodb: DynamoDBClient;
    ec2: EC2Client;
    /** fake clock (ms): moves only when updateFleet sleeps */
    clock: number;
    /** every wait updateFleet asked for */
    sleeps: number[];
    /** runs after each wait (after the clock moved) */
    onSleep: () => void | Promise<void>;
    deps(): FleetDeps & { dynamodb: DynamoDBClient };
    request(target: FleetUpdateRequest["target"], over?: Partial<FleetUpdateRequest>): FleetUpdateRequest;
    ssmCalls(): ReturnType<typeof testEnv>["proxy"]["calls"];
    /** the SendCommand calls made so far: request and the Command answered */
    sent(): { request: any; command: any }[];
    /** plays the servers: on each sleep, every instance of every sent command answers as `answer` says (undefined = silent) */
    serversAnswer(answer: (instanceId: string, round: number) => InvocationResult | undefined): void;
}

/** A fleet logger whose lines a test asserts on; every line also reaches the leak scanner. */
export function recordedLog(): { lines: [string, any][]; log: (msg: string, fields?: object) => void } {
    const lines: [string, any][] = [];
    const scanned = scannedLogger("fleet");
    return {
        lines,
        log: (msg, fields) => {
            lines.push([msg, fields]);
            scanned(msg, fields);
        },
    };
}

/** Registers a beforeEach that resets moto and the world; returns the world (fields change per test). */
export function useFleetWorld(): FleetWorld {
    const world: FleetWorld = {
        ssm: undefined as unknown as SSMClient,
        dynamodb: undefined as unknown as DynamoDBClient,
        ec2: undefined as unknown as EC2Client,
        clock: 0,
        sleeps: [],
        onSleep: () => undefined,
        deps: () => ({
            ssm: world.ssm,
            dynamodb: world.dynamodb,
            now: () => new Date(world.clock),
            sleep: async (ms: number) => {
                world.sleeps.push(ms);
                world.clock += ms;
                await world.onSleep();
            },
        }),
        request: (target, over = {}) => ({
            target,
            documents: { postfix: "ses-postfix-doc", iis: "ses-iis-doc" },
            credential: { source: "SecretsManager", id: FLEET_SECRET_ARN, version: FLEET_VERSION, region: "eu-west-1" },
            deadline: new Date(FLEET_START.getTime() + 600_000),
            pollIntervalMs: 5_000,
            ...over,
        }),
        ssmCalls: () => testEnv().proxy.calls.filter((c) => c.service === "ssm"),
        sent: () =>
            world
                .ssmCalls()
                .filter((c) => c.operation === "SendCommand")
                .map((c) => ({ request: JSON.parse(c.requestBody), command: JSON.parse(c.responseBody).Command })),
        serversAnswer: (answer) => {
            let round = 0;
            testEnv().proxy.agentMode = true;
            world.onSleep = () => {
                round++;
                for (const { command } of world.sent()) {
                    for (const id of command.InstanceIds as string[]) {
                        const r = answer(id, round);
                        if (r) testEnv().proxy.setInvocation(command.CommandId, id, r);
                    }
                }
            };
        },
    };
    beforeEach(async () => {
        await resetAws();
        world.ssm = new SSMClient(clientConfig());
        world.dynamodb = new DynamoDBClient(clientConfig());
        world.ec2 = new EC2Client(clientConfig());
        world.clock = FLEET_START.getTime();
        world.sleeps = [];
        world.onSleep = () => undefined;
    });
    return world;
}
