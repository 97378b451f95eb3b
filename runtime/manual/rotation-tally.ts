/**
 * The rotation's tally in the confirmation table: one item `rotation#<CredentialRotation execution name>`
 * holding CredentialRotation's single waiting token (AwaitConfirmations) and counters. The fleet is asked all
 * at once; the run waits once; whoever brings the tally to the end completes the wait:
 *  - `listed`: servers on the pages done so far (each page counted once: `lastPage` advances conditionally);
 *  - `listingDone`: the last page is done;
 *  - `decided` / `notConfirmed`: ManualConfirmation outcomes, each server counted once (its server item's
 *    `counted` flag is set in the same transaction);
 *  - `startFailures`: servers whose ManualConfirmation could not be started (count as not confirmed);
 *  - `notConfirmedSample`: up to SAMPLE_SIZE server ids that were not confirmed (for the operators' notice).
 * The wait is completed when the listing is done and every listed server is decided or failed to start. The
 * run succeeds only if every listed server confirmed. Completing twice is harmless (Step Functions refuses a
 * used token; that refusal is taken as "already done").
 */
import ddbSdk = require("@aws-sdk/client-dynamodb");
import sfnSdk = require("@aws-sdk/client-sfn");
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SFNClient } from "@aws-sdk/client-sfn";
import { isConditionFailed } from "./confirmation-store";

export const SAMPLE_SIZE = 20;
/** Rotation items outlive the longest run (the table's TTL attribute is expiresAt). */
const ROTATION_ITEM_LIFETIME_SECONDS = 400 * 24 * 3600;

/** What completes CredentialRotation's AwaitConfirmations (its output). */
export interface RotationTallyResult {
    total: number;
    confirmed: number;
    /** total − confirmed: servers not confirmed (timed out, rejected, not started) */
    notConfirmed: number;
    notConfirmedSample: string[];
}

const rotationKey = (rotation: string) => ({ pk: { S: `rotation#${rotation}` } });
/** the server item's key (as in confirmation-store.ts) */
const serverItemKey = (executionName: string) => ({ pk: { S: `server#${executionName}` } });
const num = (v: AttributeValue | undefined) => Number(v?.N ?? 0);

/** Errors Step Functions gives for a token that is no longer waiting. */
export function isClosedToken(e: unknown): boolean {
    const name = (e as { name?: string })?.name;
    return name === "TaskTimedOut" || name === "TaskDoesNotExist" || name === "InvalidToken";
}

export class RotationTally {
    constructor(
        private readonly dynamodb: DynamoDBClient,
        private readonly sfn: SFNClient,
        readonly tableName: string,
    ) {}

    /** Records (or, on a retry, replaces) the rotation's waiting token; keeps the counters. */
    async begin(rotation: string, parentTaskToken: string, nowSeconds: number): Promise<void> {
        await this.dynamodb.send(
            new ddbSdk.UpdateItemCommand({
                TableName: this.tableName,
                Key: rotationKey(rotation),
                UpdateExpression: "SET parentTaskToken = :t, lastPage = if_not_exists(lastPage, :zero), listed = if_not_exists(listed, :zero), expiresAt = if_not_exists(expiresAt, :exp)",
                ExpressionAttributeValues: { ":t": { S: parentTaskToken }, ":zero": { N: "0" }, ":exp": { N: String(nowSeconds + ROTATION_ITEM_LIFETIME_SECONDS) } },
            }),
        );
    }

    /** Counts page `page` once (pages run in order); false when it was counted already (a retry). */
    async pageDone(rotation: string, page: number, servers: number, startFailures: string[], last: boolean): Promise<boolean> {
        try {
            await this.dynamodb.send(
                new ddbSdk.UpdateItemCommand({
                    TableName: this.tableName,
                    Key: rotationKey(rotation),
                    UpdateExpression: `SET lastPage = :page, listed = listed + :n${last ? ", listingDone = :true" : ""} ADD startFailures :f`,
                    ConditionExpression: "lastPage = :prev",
                    ExpressionAttributeValues: {
                        ":page": { N: String(page) },
                        ":prev": { N: String(page - 1) },
                        ":n": { N: String(servers) },
                        ":f": { N: String(startFailures.length) },
                        ...(last ? { ":true": { BOOL: true } } : {}),
                    },
                }),
            );
        } catch (e) {
            if (!isConditionFailed(e)) throw e;
            for (const serverId of startFailures) await this.addToSample(rotation, serverId);
            return false;
        }
        for (const serverId of startFailures) await this.addToSample(rotation, serverId);
        return true;
    }

    /** Counts one server's outcome once; false when it was counted already. */
    async decided(rotation: string, executionName: string, serverId: string, confirmed: boolean): Promise<boolean> {
        try {
            await this.dynamodb.send(
                new ddbSdk.TransactWriteItemsCommand({
                    TransactItems: [
                        {
                            Update: {
                                TableName: this.tableName,
                                Key: serverItemKey(executionName),
                                UpdateExpression: "SET counted = :true",
                                ConditionExpression: "attribute_exists(pk) AND attribute_not_exists(counted)",
                                ExpressionAttributeValues: { ":true": { BOOL: true } },
                            },
                        },
                        {
                            Update: {
                                TableName: this.tableName,
                                Key: rotationKey(rotation),
                                UpdateExpression: "ADD decided :one, notConfirmed :nc",
                                ConditionExpression: "attribute_exists(pk)",
                                ExpressionAttributeValues: { ":one": { N: "1" }, ":nc": { N: confirmed ? "0" : "1" } },
                            },
                        },
                    ],
                }),
            );
        } catch (e) {
            if ((e as { name?: string }).name !== "TransactionCanceledException") throw e;
            const server = await this.dynamodb.send(new ddbSdk.GetItemCommand({ TableName: this.tableName, Key: serverItemKey(executionName), ConsistentRead: true }));
            if (server.Item?.counted?.BOOL) {
                // A retry: the sample entry may be what failed the first time (it is idempotent).
                if (!confirmed) await this.addToSample(rotation, serverId);
                return false;
            }
            throw new Error(`confirmation table ${this.tableName}: cannot count ${executionName} for rotation ${rotation} (no server or rotation item): ${(e as Error).message}`);
        }
        if (!confirmed) await this.addToSample(rotation, serverId);
        return true;
    }

    /** Keeps the first SAMPLE_SIZE unconfirmed server ids, each once (safe to repeat). */
    private async addToSample(rotation: string, serverId: string): Promise<void> {
        try {
            await this.dynamodb.send(
                new ddbSdk.UpdateItemCommand({
                    TableName: this.tableName,
                    Key: rotationKey(rotation),
                    UpdateExpression: "SET notConfirmedSample = list_append(if_not_exists(notConfirmedSample, :empty), :one)",
                    ConditionExpression: "attribute_not_exists(notConfirmedSample) OR (size(notConfirmedSample) < :max AND NOT contains(notConfirmedSample, :id))",
                    ExpressionAttributeValues: { ":empty": { L: [] }, ":one": { L: [{ S: serverId }] }, ":id": { S: serverId }, ":max": { N: String(SAMPLE_SIZE) } },
                }),
            );
        } catch (e) {
            if (!isConditionFailed(e)) throw e;
        }
    }

    /** The tally, and whether the run's wait is over. */
    async read(rotation: string): Promise<{ result: RotationTallyResult; complete: boolean; parentTaskToken?: string } | undefined> {
        const out = await this.dynamodb.send(new ddbSdk.GetItemCommand({ TableName: this.tableName, Key: rotationKey(rotation), ConsistentRead: true }));
        const item = out.Item;
        if (!item) return undefined;
        const listed = num(item.listed);
        const decided = num(item.decided);
        const startFailures = num(item.startFailures);
        const confirmed = Math.max(0, decided - num(item.notConfirmed));
        const complete = item.listingDone?.BOOL === true && decided + startFailures >= listed;
        return {
            result: { total: listed, confirmed, notConfirmed: Math.max(0, listed - confirmed), notConfirmedSample: (item.notConfirmedSample?.L ?? []).map((v) => v.S!).filter(Boolean) },
            complete,
            ...(item.parentTaskToken?.S ? { parentTaskToken: item.parentTaskToken.S } : {}),
        };
    }

    /** Completes the rotation's wait when the tally is complete; returns the result it sent (undefined if not yet). */
    async settle(rotation: string): Promise<RotationTallyResult | undefined> {
        const tally = await this.read(rotation);
        if (!tally?.complete || !tally.parentTaskToken) return undefined;
        try {
            await this.sfn.send(new sfnSdk.SendTaskSuccessCommand({ taskToken: tally.parentTaskToken, output: JSON.stringify(tally.result) }));
        } catch (e) {
            if (!isClosedToken(e)) throw e;
        }
        return tally.result;
    }

    /** A page failed for good: the rotation's wait fails (the run then ends failed, old key Active). */
    async abort(rotation: string, error: string, cause: string): Promise<boolean> {
        const tally = await this.read(rotation);
        if (!tally?.parentTaskToken) return false;
        try {
            await this.sfn.send(new sfnSdk.SendTaskFailureCommand({ taskToken: tally.parentTaskToken, error: error.slice(0, 256), cause: cause.slice(0, 32768) }));
        } catch (e) {
            if (!isClosedToken(e)) throw e;
            return false;
        }
        return true;
    }
}
