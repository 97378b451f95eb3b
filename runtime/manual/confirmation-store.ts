/**
 * The confirmation table (DynamoDB, created by the manual-mode component): what a server's confirmation
 * needs, kept server-side so that no task token ever goes into an e-mail.
 *
 * Two item kinds, both read with strongly consistent GetItem:
 *  - `pk = "server#<ManualConfirmation execution name>"`: the server, the credential reference, the parent's
 *    task token (to report the outcome to CredentialRotation), the waiting task's token, the SHA-256 of every
 *    link id mailed for this wait (`linkHashes`), the status (`starting` → `pending` → `confirmed` |
 *    `rejected` | `expired`) and `expiresAt`;
 *  - `pk = "link#<SHA-256 of the link id>"`: points from an opaque, random link to the server item.
 * Link ids themselves are never stored: whoever reads the table, a backup or DynamoDB data events learns only
 * their hashes, which confirm nothing. Each mail (first request, retry, reminder) carries a fresh id; every id
 * mailed for a wait stays valid until the server is decided. Every status change is a conditional write, so
 * replays and races change nothing.
 */
import ddbSdk = require("@aws-sdk/client-dynamodb");
import type { AttributeValue, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { createHash, randomBytes } from "crypto";
import type { FleetServer, ServerSoftware } from "../fleet-target";
import type { CredentialRef } from "./types";

export type ConfirmationStatus = "starting" | "pending" | "confirmed" | "rejected" | "expired";

export interface ServerConfirmation {
    /** the ManualConfirmation execution name */
    executionName: string;
    rotation: string;
    server: FleetServer;
    credential: CredentialRef;
    status: ConfirmationStatus;
    /** CredentialRotation's Map-iteration token (the outcome is reported there) */
    parentTaskToken?: string;
    /** ManualConfirmation's waiting task token (the confirmation completes it) */
    taskToken?: string;
    /** SHA-256 (hex) of each link id mailed for this wait ({@link linkIdHash}); the ids are never stored */
    linkHashes?: string[];
    /** epoch seconds; also the table's TTL attribute (items vanish some time after) */
    expiresAt?: number;
    decidedAt?: string;
}

/** Opaque link ids: 32 random bytes, base64url (43 characters). */
export const CONFIRMATION_ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

export function newConfirmationId(): string {
    return randomBytes(32).toString("base64url");
}

const serverKey = (executionName: string) => ({ pk: { S: `server#${executionName}` } });
/** What the table stores for a link id: its SHA-256, hex. */
export function linkIdHash(confirmationId: string): string {
    return createHash("sha256").update(confirmationId, "utf8").digest("hex");
}

const linkKey = (hash: string) => ({ pk: { S: `link#${hash}` } });

/** True for DynamoDB's failed-condition error. */
export function isConditionFailed(e: unknown): boolean {
    return (e as { name?: string })?.name === "ConditionalCheckFailedException";
}

function toItem(c: ServerConfirmation): Record<string, AttributeValue> {
    const item: Record<string, AttributeValue> = {
        ...serverKey(c.executionName),
        rotation: { S: c.rotation },
        serverId: { S: c.server.serverId },
        hostname: { S: c.server.hostname },
        software: { S: c.server.software },
        ownerEmail: { S: c.server.ownerEmail },
        parameterName: { S: c.credential.parameterName },
        parameterVersion: { N: String(c.credential.parameterVersion) },
        accessKeyId: { S: c.credential.accessKeyId },
        status: { S: c.status },
    };
    if (c.parentTaskToken) item.parentTaskToken = { S: c.parentTaskToken };
    if (c.taskToken) item.taskToken = { S: c.taskToken };
    if (c.linkHashes?.length) item.linkHashes = { SS: c.linkHashes };
    if (c.expiresAt !== undefined) item.expiresAt = { N: String(c.expiresAt) };
    if (c.decidedAt) item.decidedAt = { S: c.decidedAt };
    return item;
}

function fromItem(item: Record<string, AttributeValue>): ServerConfirmation {
    const s = (k: string) => item[k]?.S;
    return {
        executionName: s("pk")!.slice("server#".length),
        rotation: s("rotation")!,
        server: { serverId: s("serverId")!, hostname: s("hostname")!, software: s("software") as ServerSoftware, ownerEmail: s("ownerEmail")! },
        credential: { parameterName: s("parameterName")!, parameterVersion: Number(item.parameterVersion?.N), accessKeyId: s("accessKeyId")! },
        status: s("status") as ConfirmationStatus,
        ...(s("parentTaskToken") ? { parentTaskToken: s("parentTaskToken") } : {}),
        ...(s("taskToken") ? { taskToken: s("taskToken") } : {}),
        ...(item.linkHashes?.SS?.length ? { linkHashes: item.linkHashes.SS } : {}),
        ...(item.expiresAt?.N ? { expiresAt: Number(item.expiresAt.N) } : {}),
        ...(s("decidedAt") ? { decidedAt: s("decidedAt") } : {}),
    };
}

/** Access to the confirmation table. */
export class ConfirmationStore {
    constructor(
        private readonly dynamodb: DynamoDBClient,
        readonly tableName: string,
    ) {
        if (typeof tableName !== "string" || tableName === "") throw new Error("confirmation tableName must be a non-empty string");
    }

    async get(executionName: string): Promise<ServerConfirmation | undefined> {
        const out = await this.dynamodb.send(new ddbSdk.GetItemCommand({ TableName: this.tableName, Key: serverKey(executionName), ConsistentRead: true }));
        return out.Item ? fromItem(out.Item) : undefined;
    }

    /** The server item a link id points to, looked up by the id's hash (undefined for unknown ids). */
    async getByConfirmationId(confirmationId: string): Promise<ServerConfirmation | undefined> {
        if (!CONFIRMATION_ID_PATTERN.test(confirmationId)) return undefined;
        const hash = linkIdHash(confirmationId);
        const out = await this.dynamodb.send(new ddbSdk.GetItemCommand({ TableName: this.tableName, Key: linkKey(hash), ConsistentRead: true }));
        const executionName = out.Item?.executionName?.S;
        if (!executionName) return undefined;
        const found = await this.get(executionName);
        return found?.linkHashes?.includes(hash) ? found : undefined;
    }

    /** Stores a fresh link id's hash (link item, then the server item's set under `condition`); returns the id. */
    private async addLink(executionName: string, expiresAt: number, update: { set: string; condition: string; values: Record<string, AttributeValue> }): Promise<string> {
        const confirmationId = newConfirmationId();
        const hash = linkIdHash(confirmationId);
        await this.dynamodb.send(
            new ddbSdk.PutItemCommand({
                TableName: this.tableName,
                Item: { ...linkKey(hash), executionName: { S: executionName }, expiresAt: { N: String(expiresAt) } },
                ConditionExpression: "attribute_not_exists(pk)",
            }),
        );
        await this.dynamodb.send(
            new ddbSdk.UpdateItemCommand({
                TableName: this.tableName,
                Key: serverKey(executionName),
                UpdateExpression: `${update.set ? `${update.set} ` : ""}ADD linkHashes :h`,
                ConditionExpression: update.condition,
                ExpressionAttributeNames: { "#s": "status" },
                ExpressionAttributeValues: { ...update.values, ":h": { SS: [hash] } },
            }),
        );
        return confirmationId;
    }

    /**
     * Records the server before its ManualConfirmation execution starts (status `starting`), or, on a retry of
     * the parent's task, replaces only the parent token (a retry gets a new token).
     */
    async recordStart(c: Omit<ServerConfirmation, "status" | "taskToken" | "confirmationId" | "expiresAt" | "decidedAt">): Promise<void> {
        try {
            await this.dynamodb.send(
                new ddbSdk.PutItemCommand({ TableName: this.tableName, Item: toItem({ ...c, status: "starting" }), ConditionExpression: "attribute_not_exists(pk)" }),
            );
        } catch (e) {
            if (!isConditionFailed(e)) throw e;
            if (!c.parentTaskToken) return; // recorded already (the rotation's tally carries the wait)
            await this.dynamodb.send(
                new ddbSdk.UpdateItemCommand({
                    TableName: this.tableName,
                    Key: serverKey(c.executionName),
                    UpdateExpression: "SET parentTaskToken = :t",
                    ExpressionAttributeValues: { ":t": { S: c.parentTaskToken! } },
                }),
            );
        }
    }

    /**
     * Makes the server wait for its owner: stores the waiting task's token and the hash of a fresh link id
     * (links mailed by earlier tries of the waiting task stay valid). Returns the link id, which only the mail
     * carries. Only a server that is still undecided can be (re)armed.
     */
    async arm(executionName: string, taskToken: string, expiresAt: number): Promise<string> {
        const existing = await this.get(executionName);
        if (!existing) throw new Error(`confirmation table ${this.tableName}: no server item for execution ${executionName} (was it started by CredentialRotation?)`);
        return this.addLink(executionName, expiresAt, {
            set: "SET taskToken = :t, expiresAt = :e, #s = :pending",
            condition: "#s IN (:starting, :pending)",
            values: { ":t": { S: taskToken }, ":e": { N: String(expiresAt) }, ":pending": { S: "pending" }, ":starting": { S: "starting" } },
        });
    }

    /**
     * A fresh link id for a reminder to a server that is still `pending` (the links mailed before stay valid).
     * Returns undefined when the server was decided meanwhile (nothing stored then but an orphan link item).
     */
    async newLink(executionName: string, expiresAt: number): Promise<string | undefined> {
        try {
            return await this.addLink(executionName, expiresAt, { set: "", condition: "#s = :pending", values: { ":pending": { S: "pending" } } });
        } catch (e) {
            if (isConditionFailed(e)) return undefined;
            throw e;
        }
    }

    /**
     * The single-use step: `pending` and not expired → `outcome`. Returns the updated item, or undefined when the
     * condition failed (already decided, expired, or unknown): nothing changed then.
     */
    async decide(confirmationId: string, outcome: "confirmed" | "rejected" | "expired", nowSeconds: number): Promise<ServerConfirmation | undefined> {
        const found = await this.getByConfirmationId(confirmationId);
        if (!found) return undefined;
        try {
            const out = await this.dynamodb.send(
                new ddbSdk.UpdateItemCommand({
                    TableName: this.tableName,
                    Key: serverKey(found.executionName),
                    UpdateExpression: "SET #s = :outcome, decidedAt = :now",
                    ConditionExpression: outcome === "expired" ? "#s = :pending AND contains(linkHashes, :h)" : "#s = :pending AND contains(linkHashes, :h) AND expiresAt > :nowSec",
                    ExpressionAttributeNames: { "#s": "status" },
                    ExpressionAttributeValues: {
                        ":outcome": { S: outcome },
                        ":now": { S: new Date(nowSeconds * 1000).toISOString() },
                        ":pending": { S: "pending" },
                        ":h": { S: linkIdHash(confirmationId) },
                        ...(outcome === "expired" ? {} : { ":nowSec": { N: String(nowSeconds) } }),
                    },
                    ReturnValues: "ALL_NEW",
                }),
            );
            return fromItem(out.Attributes!);
        } catch (e) {
            if (isConditionFailed(e)) return undefined;
            throw e;
        }
    }

    /** Undo of `decide` when completing the task failed transiently (so the person can try again). */
    async reopen(confirmationId: string, from: "confirmed" | "rejected"): Promise<void> {
        const found = await this.getByConfirmationId(confirmationId);
        if (!found) return;
        try {
            await this.dynamodb.send(
                new ddbSdk.UpdateItemCommand({
                    TableName: this.tableName,
                    Key: serverKey(found.executionName),
                    UpdateExpression: "SET #s = :pending REMOVE decidedAt",
                    ConditionExpression: "#s = :from AND contains(linkHashes, :h)",
                    ExpressionAttributeNames: { "#s": "status" },
                    ExpressionAttributeValues: { ":pending": { S: "pending" }, ":from": { S: from }, ":h": { S: linkIdHash(confirmationId) } },
                }),
            );
        } catch (e) {
            if (!isConditionFailed(e)) throw e;
        }
    }

    /** Marks an undecided server expired (its wait ended without a decision). */
    async expire(executionName: string, nowSeconds: number): Promise<void> {
        try {
            await this.dynamodb.send(
                new ddbSdk.UpdateItemCommand({
                    TableName: this.tableName,
                    Key: serverKey(executionName),
                    UpdateExpression: "SET #s = :expired, decidedAt = :now",
                    ConditionExpression: "#s IN (:starting, :pending)",
                    ExpressionAttributeNames: { "#s": "status" },
                    ExpressionAttributeValues: {
                        ":expired": { S: "expired" },
                        ":now": { S: new Date(nowSeconds * 1000).toISOString() },
                        ":starting": { S: "starting" },
                        ":pending": { S: "pending" },
                    },
                }),
            );
        } catch (e) {
            if (!isConditionFailed(e)) throw e;
        }
    }
}
