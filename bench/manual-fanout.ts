/**
 * Manual-mode fan-out at scale: what the chained ConfirmationPage executions do, one page after another, with
 * the real runtime handlers called in-process in the order and with the concurrency the emitted state machine
 * uses (nothing waits for an owner: this is the time until every owner's confirmation is started):
 * ListServersPage (DynamoDB Scan page) → for each server, StartConfirmation (records the server in the
 * confirmation table, StartExecution of ManualConfirmation), at most Map MaxConcurrency at a time.
 * Against moto through the proxy; the ManualConfirmation state machine is created in moto from the emitted
 * definition, with moto's execution switched off for this part so StartExecution only records the child
 * (nothing in moto could answer its Lambda tasks; the children's own run is covered by the manual-mode tests).
 * Each child's first task, RequestConfirmation (arm the link in the confirmation table, Publish the owner's mail to
 * the owners' SNS topic), is run by the real handler as soon as its StartExecution returns, without holding up the
 * Map's start calls (on AWS it runs in the child execution): the time until the last of those returns is the time
 * until the last owner is mailed. Owner SNS subscriptions are left out here (`subscribeOwners: false`: moto matches
 * every Publish against every subscription's filter policy, a cost AWS does not have); the end-to-end runs in
 * moto (bench/manual-history.ts) include them.
 * The rotation's tally (PageDone, ReportOutcome) is not exercised here (no rotation execution runs).
 */
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { DEFAULT_MAX_CONCURRENCY, manualConfirmationDefinition } from "../components/manual/definitions";
import { ConfirmationStore } from "../runtime/manual/confirmation-store";
import { confirmationExecutionName, createConfirmationTaskHandlers } from "../runtime/manual/confirmation-tasks";
import { createServersPageHandler } from "../runtime/manual/servers-page";
import type { CredentialRef } from "../runtime/manual/types";
import { createFleetTable, makeServers } from "../sandbox/ec2-fleet";
import { BenchAws, CallTimer } from "./aws-env";

/** Servers per ListServersPage call in the bench (the handler accepts 1-1000). */
export const BENCH_MANUAL_PAGE_SIZE = 100;

export interface ManualFanoutResult {
    n: number;
    /** exactly what ran */
    what: string;
    pagesRead: number;
    childExecutionsStarted: number;
    /** Map MaxConcurrency used (children in flight at once) */
    maxConcurrency: number;
    /** wall time to read every page and start every child, ms */
    ms: number;
    /** start → the last owner's mail published (every child's RequestConfirmation done), ms */
    lastOwnerMailedMs: number;
    ownersMailed: number;
    /** time with at least one SDK call in flight, ms */
    awsWaitMs: number;
    calls: Record<string, number>;
}

async function setMotoExecution(motoUrl: string, execute: boolean): Promise<void> {
    const res = await fetch(`${motoUrl}/moto-api/config`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ stepfunctions: { execute_state_machine: execute } }),
    });
    if (!res.ok) throw new Error(`moto config failed: ${res.status}`);
}

/** Runs `fn` over `items`, at most `limit` at once (the Map state's MaxConcurrency). */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
    let next = 0;
    const worker = async () => {
        while (next < items.length) await fn(items[next++]);
    };
    await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export async function measureManualFanout(aws: BenchAws, opts: { sizes: number[]; log: (s: string) => void }): Promise<ManualFanoutResult[]> {
    const out: ManualFanoutResult[] = [];
    const maxConcurrency = DEFAULT_MAX_CONCURRENCY;
    for (const n of opts.sizes) {
        await aws.reset();
        await setMotoExecution(aws.moto.url, false);
        try {
            const cfg = aws.clientConfig();
            const timer = new CallTimer();
            const dynamodb = timer.instrument(new DynamoDBClient(cfg), "dynamodb");
            const sfn = timer.instrument(new SFNClient(cfg), "sfn");
            const fleetTable = `bench-manual-fleet-${n}`;
            const confirmationTable = `bench-confirmations-${n}`;
            await createFleetTable(new DynamoDBClient(cfg), fleetTable, makeServers(n));
            await new DynamoDBClient(cfg).send(
                new CreateTableCommand({
                    TableName: confirmationTable,
                    AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }],
                    KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }],
                    BillingMode: "PAY_PER_REQUEST",
                }),
            );
            const lambdaArn = (fn: string) => `arn:aws:lambda:${aws.region}:123456789012:function:${fn}`;
            const machine = await new SFNClient(cfg).send(
                new CreateStateMachineCommand({
                    name: `bench-manual-confirmation-${n}`,
                    roleArn: "arn:aws:iam::123456789012:role/bench-manual-confirmation",
                    definition: JSON.stringify(
                        manualConfirmationDefinition({ requestConfirmationArn: lambdaArn("request"), remindOwnerArn: lambdaArn("remind"), reportOutcomeArn: lambdaArn("report") }),
                    ),
                }),
            );
            const listPage = createServersPageHandler({ dynamodb }, { fleet: { kind: "table", tableName: fleetTable }, pageSize: BENCH_MANUAL_PAGE_SIZE, ownerEmailTagKey: "OwnerEmail" });
            const sns = timer.instrument(new SNSClient(cfg), "sns");
            const ownerTopicArn = (await new SNSClient(cfg).send(new CreateTopicCommand({ Name: `bench-owner-mail-${n}` }))).TopicArn!;
            const tasks = createConfirmationTaskHandlers(
                { store: new ConfirmationStore(dynamodb, confirmationTable), sfn, sns, log: () => undefined },
                { confirmationStateMachineArn: machine.stateMachineArn!, ownerTopicArn, confirmationBaseUrl: "https://confirm.example.com/", confirmationTimeoutSeconds: 3600, subscribeOwners: false },
            );
            const rotation = "password-rotation-29-11-26";
            const credential: CredentialRef = { parameterName: "/ses-smtp/bench/credential", parameterVersion: 2, accessKeyId: "AKIAIOSFODNN7EXAMPLE" };
            const firstCall = aws.proxy.calls.length;
            let pagesRead = 0;
            let started = 0;
            const t0 = performance.now();
            let nextToken: string | null = null;
            const mails: Promise<void>[] = [];
            let ownersMailed = 0;
            let lastMailAt = t0;
            let mailError: Error | undefined;
            do {
                const page = await listPage({ nextToken });
                pagesRead++;
                await eachLimited(page.servers, maxConcurrency, async (server) => {
                    await tasks.startConfirmation({ rotation, server, credential });
                    started++;
                    // The child's first task (its own execution on AWS: the Map does not wait for it).
                    const executionName = confirmationExecutionName(server.serverId, rotation);
                    mails.push(
                        tasks.requestConfirmation({ taskToken: `bench-token-${executionName}`, executionName }).then(
                            () => {
                                ownersMailed++;
                                lastMailAt = performance.now();
                            },
                            (e) => {
                                mailError ??= e as Error;
                            },
                        ),
                    );
                });
                nextToken = page.nextToken;
            } while (nextToken);
            const ms = performance.now() - t0;
            await Promise.all(mails);
            if (mailError) throw new Error(`manual fan-out N=${n}: RequestConfirmation failed: ${mailError.message}`);
            const lastOwnerMailedMs = lastMailAt - t0;
            const calls: Record<string, number> = {};
            for (const c of aws.proxy.calls.slice(firstCall)) calls[`${c.service}:${c.operation}`] = (calls[`${c.service}:${c.operation}`] ?? 0) + 1;
            if (started !== n) throw new Error(`manual fan-out N=${n}: started ${started} children, expected ${n}`);
            if (ownersMailed !== n || (calls["sns:Publish"] ?? 0) !== n) throw new Error(`manual fan-out N=${n}: ${ownersMailed} owners mailed, the proxy saw ${calls["sns:Publish"] ?? 0} Publish calls, expected ${n}`);
            if ((calls["states:StartExecution"] ?? 0) !== n) throw new Error(`manual fan-out N=${n}: the proxy saw ${calls["states:StartExecution"] ?? 0} StartExecution calls, expected ${n}`);
            const r: ManualFanoutResult = {
                n,
                what: `ListServersPage (page size ${BENCH_MANUAL_PAGE_SIZE}) + StartConfirmation per server, in-process, MaxConcurrency ${maxConcurrency} start calls; each child's RequestConfirmation (arm link, SNS Publish) as it starts`,
                pagesRead,
                childExecutionsStarted: started,
                maxConcurrency,
                ms,
                lastOwnerMailedMs,
                ownersMailed,
                awsWaitMs: timer.totalMs(),
                calls,
            };
            opts.log(`manual: N=${n}: ${pagesRead} pages, ${started} children started in ${(ms / 1000).toFixed(1)} s, last of ${ownersMailed} owners mailed after ${(lastOwnerMailedMs / 1000).toFixed(1)} s`);
            out.push(r);
        } finally {
            await setMotoExecution(aws.moto.url, true);
        }
    }
    return out;
}
