/**
 * runtime/manual/confirmation-store.ts driven directly (mutation testing, docs/mutation.md): every status change
 * of the confirmation table as DynamoDB (moto, behind the wire proxy) stores it, item by item and attribute by
 * attribute, with the exact requests the store sends where the difference only shows on AWS (strongly
 * consistent reads, conditional writes). Errors DynamoDB gives and moto does not are injected by the proxy.
 * The whole-flow tests (manual-flow, manual-scenarios, manual-link-hash) run the same store under Step Functions;
 * these run in a few seconds, so Stryker can afford them per mutant.
 */
import * as assert from "assert";
import { createHash } from "crypto";
import { AttributeValue, CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
    CONFIRMATION_ID_PATTERN,
    ConfirmationStore,
    isConditionFailed,
    linkIdHash,
    newConfirmationId,
    ServerConfirmation,
} from "../runtime/manual/confirmation-store";
import { clientConfig, resetAws, testEnv } from "./support/hooks";

const TABLE = "confirmations";
const EXEC = "rot-1-srv-a";
const SERVER = { serverId: "i-0123456789abcdef0", hostname: "mail-a.example.com", software: "postfix" as const, ownerEmail: "owner-a@example.com" };
const CREDENTIAL = { parameterName: "/smtp/credential", parameterVersion: 7, accessKeyId: "AKIAEXAMPLEKEY000001" };
const START = { executionName: EXEC, rotation: "rot-1", server: SERVER, credential: CREDENTIAL, parentTaskToken: "parent-token-1" };
const NOW = 1_900_000_000;
const sha = (id: string) => createHash("sha256").update(id).digest("hex");

describe("confirmation store: items, conditional writes and exact requests (mutation testing, DynamoDB in moto)", () => {
    let ddb: DynamoDBClient;
    let store: ConfirmationStore;
    beforeEach(async () => {
        await resetAws();
        ddb = new DynamoDBClient(clientConfig());
        await ddb.send(
            new CreateTableCommand({ TableName: TABLE, BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }], KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }] }),
        );
        store = new ConfirmationStore(ddb, TABLE);
    });

    const proxy = () => testEnv().proxy;
    const raw = async (pk: string) => (await ddb.send(new GetItemCommand({ TableName: TABLE, Key: { pk: { S: pk } }, ConsistentRead: true }))).Item;
    /** the request bodies the store sent for one DynamoDB operation since `from` */
    const sent = (op: string, from = 0) =>
        proxy()
            .calls.slice(from)
            .filter((c) => c.service === "dynamodb" && c.operation === op)
            .map((c) => JSON.parse(c.requestBody));
    const mark = () => proxy().calls.length;
    const armed = async (expiresAt = NOW + 600, token = "wait-token-1") => {
        await store.recordStart(START);
        return store.arm(EXEC, token, expiresAt);
    };

    it("link ids: 43 base64url characters, fresh each time; the table key is the id's SHA-256 in hex", () => {
        const ids = new Set(Array.from({ length: 50 }, () => newConfirmationId()));
        assert.strictEqual(ids.size, 50);
        for (const id of ids) assert.match(id, /^[A-Za-z0-9_-]{43}$/);
        assert.strictEqual(linkIdHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert.strictEqual(linkIdHash("é"), sha("é"));
        for (const good of ["A".repeat(43), "z".repeat(43), "0".repeat(43), "_-" + "a".repeat(41)]) assert.ok(CONFIRMATION_ID_PATTERN.test(good), good);
        for (const bad of ["a".repeat(42), "a".repeat(44), "+" + "a".repeat(42), "a".repeat(42) + "/", "a".repeat(21) + "=" + "a".repeat(21), "x" + "a".repeat(43), "a".repeat(43) + "\n", ""]) {
            assert.ok(!CONFIRMATION_ID_PATTERN.test(bad), JSON.stringify(bad));
        }
    });

    it("isConditionFailed is true for DynamoDB's failed-condition error only", () => {
        assert.strictEqual(isConditionFailed({ name: "ConditionalCheckFailedException" }), true);
        for (const other of [{ name: "ConditionalCheckFailed" }, { name: "ValidationException" }, {}, undefined, null, "ConditionalCheckFailedException"]) {
            assert.strictEqual(isConditionFailed(other), false, JSON.stringify(other));
        }
    });

    it("the table name must be a non-empty string", () => {
        for (const bad of ["", undefined, 42]) assert.throws(() => new ConfirmationStore(ddb, bad as any), { message: "confirmation tableName must be a non-empty string" }, String(bad));
        assert.strictEqual(new ConfirmationStore(ddb, "t").tableName, "t");
    });

    it("recordStart stores every field of the server item (status starting), conditionally; get reads it back consistently", async () => {
        const m = mark();
        await store.recordStart(START);
        assert.deepStrictEqual(await raw(`server#${EXEC}`), {
            pk: { S: `server#${EXEC}` },
            rotation: { S: "rot-1" },
            serverId: { S: SERVER.serverId },
            hostname: { S: SERVER.hostname },
            software: { S: "postfix" },
            ownerEmail: { S: SERVER.ownerEmail },
            parameterName: { S: "/smtp/credential" },
            parameterVersion: { N: "7" },
            accessKeyId: { S: CREDENTIAL.accessKeyId },
            status: { S: "starting" },
            parentTaskToken: { S: "parent-token-1" },
        });
        assert.deepStrictEqual(sent("PutItem", m).map((r) => r.ConditionExpression), ["attribute_not_exists(pk)"]);
        const got = await store.get(EXEC);
        assert.deepStrictEqual(got, { executionName: EXEC, rotation: "rot-1", server: SERVER, credential: CREDENTIAL, status: "starting", parentTaskToken: "parent-token-1" });
        assert.deepStrictEqual(Object.keys(got!).sort(), ["credential", "executionName", "parentTaskToken", "rotation", "server", "status"]);
        const gets = sent("GetItem", m);
        assert.deepStrictEqual(gets[gets.length - 1], { TableName: TABLE, Key: { pk: { S: `server#${EXEC}` } }, ConsistentRead: true });
        assert.strictEqual(await store.get("no-such-execution"), undefined);
    });

    it("recordStart stores a non-empty hash set as given and leaves an empty one out", async () => {
        await store.recordStart({ ...START, linkHashes: ["h1", "h2"] });
        assert.deepStrictEqual((await raw(`server#${EXEC}`))!.linkHashes, { SS: ["h1", "h2"] });
        await store.recordStart({ ...START, executionName: "e2", linkHashes: [] });
        assert.strictEqual((await raw("server#e2"))!.linkHashes, undefined);
        assert.strictEqual((await store.get("e2"))!.linkHashes, undefined);
    });

    it("recordStart without a parent token stores none; a repeat without one changes nothing and sends no update", async () => {
        const { parentTaskToken: _, ...noParent } = START;
        await store.recordStart(noParent);
        assert.strictEqual((await raw(`server#${EXEC}`))!.parentTaskToken, undefined);
        const m = mark();
        await store.recordStart({ ...noParent, rotation: "other" });
        assert.strictEqual(sent("UpdateItem", m).length, 0);
        assert.deepStrictEqual(await store.get(EXEC), { executionName: EXEC, rotation: "rot-1", server: SERVER, credential: CREDENTIAL, status: "starting" });
    });

    it("a retry of recordStart with a new parent token replaces only that token (the wait and its status stay)", async () => {
        const id = await armed();
        await store.recordStart({ ...START, rotation: "other", parentTaskToken: "parent-token-2" });
        const got = await store.get(EXEC);
        assert.deepStrictEqual(got, {
            executionName: EXEC,
            rotation: "rot-1",
            server: SERVER,
            credential: CREDENTIAL,
            status: "pending",
            parentTaskToken: "parent-token-2",
            taskToken: "wait-token-1",
            linkHashes: [linkIdHash(id)],
            expiresAt: NOW + 600,
        });
    });

    it("recordStart passes on errors other than a failed condition, and the item is not written", async () => {
        proxy().addFault({ service: "dynamodb", operation: "PutItem", kind: "error", code: "ProvisionedThroughputExceededException", times: 1 });
        await assert.rejects(store.recordStart(START), { name: "ProvisionedThroughputExceededException" });
        assert.strictEqual(await raw(`server#${EXEC}`), undefined);
        await store.recordStart(START);
        proxy().addFault({ service: "dynamodb", operation: "UpdateItem", kind: "error", code: "InternalServerError", status: 500, times: 1 });
        await assert.rejects(store.recordStart({ ...START, parentTaskToken: "parent-token-2" }), { name: "InternalServerError" });
        assert.strictEqual((await store.get(EXEC))!.parentTaskToken, "parent-token-1");
    });

    it("arm: the waiting token, expiry and a link item hold only the id's hash; status starting → pending", async () => {
        await store.recordStart(START);
        const m = mark();
        const id = await store.arm(EXEC, "wait-token-1", NOW + 600);
        assert.match(id, CONFIRMATION_ID_PATTERN);
        const hash = sha(id);
        assert.deepStrictEqual(await raw(`link#${hash}`), { pk: { S: `link#${hash}` }, executionName: { S: EXEC }, expiresAt: { N: String(NOW + 600) } });
        const item = (await raw(`server#${EXEC}`))!;
        assert.deepStrictEqual(
            { status: item.status, taskToken: item.taskToken, expiresAt: item.expiresAt, linkHashes: item.linkHashes },
            { status: { S: "pending" }, taskToken: { S: "wait-token-1" }, expiresAt: { N: String(NOW + 600) }, linkHashes: { SS: [hash] } },
        );
        assert.ok(!JSON.stringify(proxy().calls.slice(m).map((c) => c.requestBody)).includes(id), "the link id itself went to DynamoDB");
        const [put] = sent("PutItem", m);
        assert.strictEqual(put.ConditionExpression, "attribute_not_exists(pk)");
        const [update] = sent("UpdateItem", m);
        assert.strictEqual(update.UpdateExpression, "SET taskToken = :t, expiresAt = :e, #s = :pending ADD linkHashes :h");
        assert.strictEqual(update.ConditionExpression, "#s IN (:starting, :pending)");
        assert.deepStrictEqual(update.ExpressionAttributeNames, { "#s": "status" });
        const found = await store.getByConfirmationId(id);
        assert.deepStrictEqual(found, {
            executionName: EXEC,
            rotation: "rot-1",
            server: SERVER,
            credential: CREDENTIAL,
            status: "pending",
            parentTaskToken: "parent-token-1",
            taskToken: "wait-token-1",
            linkHashes: [hash],
            expiresAt: NOW + 600,
        });
    });

    it("a re-arm (retry of the waiting task) adds a link and keeps the earlier one valid; a decided server cannot be armed", async () => {
        const first = await armed();
        const second = await store.arm(EXEC, "wait-token-2", NOW + 900);
        const got = (await store.get(EXEC))!;
        assert.deepStrictEqual([got.taskToken, got.expiresAt, got.status, [...got.linkHashes!].sort()], ["wait-token-2", NOW + 900, "pending", [sha(first), sha(second)].sort()]);
        assert.strictEqual((await store.getByConfirmationId(first))!.executionName, EXEC);
        assert.strictEqual((await store.getByConfirmationId(second))!.executionName, EXEC);
        assert.ok(await store.decide(second, "confirmed", NOW));
        await assert.rejects(store.arm(EXEC, "wait-token-3", NOW + 900), { name: "ConditionalCheckFailedException" });
        assert.strictEqual((await store.get(EXEC))!.taskToken, "wait-token-2");
    });

    it("arm without a server item fails naming the table and the execution, before writing anything", async () => {
        const m = mark();
        await assert.rejects(store.arm("ghost", "t", NOW), {
            message: `confirmation table ${TABLE}: no server item for execution ghost (was it started by CredentialRotation?)`,
        });
        assert.deepStrictEqual([sent("PutItem", m).length, sent("UpdateItem", m).length], [0, 0]);
    });

    it("getByConfirmationId: malformed ids send no request; unknown ids, links without a server name, and links the server does not list find nothing", async () => {
        const id = await armed();
        const m = mark();
        for (const bad of ["", "a".repeat(42), sha(id), `link#${sha(id)}`]) assert.strictEqual(await store.getByConfirmationId(bad), undefined, bad);
        assert.strictEqual(sent("GetItem", m).length, 0);
        assert.strictEqual(await store.getByConfirmationId(newConfirmationId()), undefined);
        const [lookup] = sent("GetItem", m);
        assert.deepStrictEqual(lookup.ConsistentRead, true);
        // a link item without an execution name
        const orphan = newConfirmationId();
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `link#${sha(orphan)}` }, expiresAt: { N: "1" } } }));
        assert.strictEqual(await store.getByConfirmationId(orphan), undefined);
        // a link item that points at this server, but the server item does not list its hash (forged / wrong server)
        const forged = newConfirmationId();
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `link#${sha(forged)}` }, executionName: { S: EXEC } } }));
        assert.strictEqual(await store.getByConfirmationId(forged), undefined);
        // a link item pointing at a server item that is gone (TTL)
        const gone = newConfirmationId();
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `link#${sha(gone)}` }, executionName: { S: "vanished" } } }));
        assert.strictEqual(await store.getByConfirmationId(gone), undefined);
        // every lookup read consistently: link item, then server item
        for (const r of sent("GetItem", m)) assert.strictEqual(r.ConsistentRead, true);
        assert.strictEqual((await store.getByConfirmationId(id))!.executionName, EXEC);
    });

    it("newLink: a pending server gets another valid link (only the hash set grows); a decided or starting one gets none", async () => {
        const first = await armed();
        const m = mark();
        const second = await store.newLink(EXEC, NOW + 700);
        assert.ok(second && second !== first);
        const [update] = sent("UpdateItem", m);
        assert.strictEqual(update.UpdateExpression, "ADD linkHashes :h");
        assert.strictEqual(update.ConditionExpression, "#s = :pending");
        assert.deepStrictEqual(await raw(`link#${sha(second!)}`), { pk: { S: `link#${sha(second!)}` }, executionName: { S: EXEC }, expiresAt: { N: String(NOW + 700) } });
        const got = (await store.get(EXEC))!;
        assert.deepStrictEqual([got.taskToken, got.expiresAt, got.status, [...got.linkHashes!].sort()], ["wait-token-1", NOW + 600, "pending", [sha(first), sha(second!)].sort()]);
        assert.ok(await store.decide(first, "rejected", NOW));
        assert.strictEqual(await store.newLink(EXEC, NOW + 700), undefined);
        await store.recordStart({ ...START, executionName: "starting-only" });
        assert.strictEqual(await store.newLink("starting-only", NOW + 700), undefined);
        assert.strictEqual((await store.get("starting-only"))!.linkHashes, undefined);
    });

    it("newLink passes on errors other than a failed condition", async () => {
        await armed();
        proxy().addFault({ service: "dynamodb", operation: "UpdateItem", kind: "error", code: "InternalServerError", status: 500, times: 1 });
        await assert.rejects(store.newLink(EXEC, NOW + 700), { name: "InternalServerError" });
    });

    it("decide: pending and not expired → the outcome with decidedAt, once; the returned item is the stored one", async () => {
        const id = await armed(NOW + 1);
        const m = mark();
        const decided = await store.decide(id, "confirmed", NOW);
        const expected: ServerConfirmation = {
            executionName: EXEC,
            rotation: "rot-1",
            server: SERVER,
            credential: CREDENTIAL,
            status: "confirmed",
            parentTaskToken: "parent-token-1",
            taskToken: "wait-token-1",
            linkHashes: [sha(id)],
            expiresAt: NOW + 1,
            decidedAt: new Date(NOW * 1000).toISOString(),
        };
        assert.deepStrictEqual(decided, expected);
        assert.deepStrictEqual(await store.get(EXEC), expected);
        assert.strictEqual((await raw(`server#${EXEC}`))!.decidedAt!.S, "2030-03-17T17:46:40.000Z");
        const [update] = sent("UpdateItem", m);
        assert.strictEqual(update.UpdateExpression, "SET #s = :outcome, decidedAt = :now");
        assert.strictEqual(update.ConditionExpression, "#s = :pending AND contains(linkHashes, :h) AND expiresAt > :nowSec");
        assert.strictEqual(update.ReturnValues, "ALL_NEW");
        // used: nothing changes, whatever the answer
        assert.strictEqual(await store.decide(id, "rejected", NOW), undefined);
        assert.strictEqual(await store.decide(id, "expired", NOW), undefined);
        assert.deepStrictEqual(await store.get(EXEC), expected);
    });

    it("decide: an expired wait (expiresAt ≤ now) cannot be confirmed or rejected, only marked expired", async () => {
        const id = await armed(NOW);
        assert.strictEqual(await store.decide(id, "confirmed", NOW), undefined);
        assert.strictEqual(await store.decide(id, "rejected", NOW + 5), undefined);
        assert.strictEqual((await store.get(EXEC))!.status, "pending");
        const m = mark();
        const expired = await store.decide(id, "expired", NOW + 5);
        assert.deepStrictEqual([expired!.status, expired!.decidedAt], ["expired", new Date((NOW + 5) * 1000).toISOString()]);
        const [update] = sent("UpdateItem", m);
        assert.strictEqual(update.ConditionExpression, "#s = :pending AND contains(linkHashes, :h)");
        assert.deepStrictEqual(Object.keys(update.ExpressionAttributeValues).sort(), [":h", ":now", ":outcome", ":pending"]);
    });

    it("decide: rejected is stored as such; unknown ids change nothing; errors other than a failed condition pass on", async () => {
        const id = await armed();
        assert.strictEqual(await store.decide(newConfirmationId(), "confirmed", NOW), undefined);
        assert.strictEqual(await store.decide("short", "confirmed", NOW), undefined);
        assert.strictEqual((await store.get(EXEC))!.status, "pending");
        proxy().addFault({ service: "dynamodb", operation: "UpdateItem", kind: "error", code: "InternalServerError", status: 500, times: 1 });
        await assert.rejects(store.decide(id, "confirmed", NOW), { name: "InternalServerError" });
        assert.strictEqual((await store.decide(id, "rejected", NOW))!.status, "rejected");
        assert.strictEqual((await store.get(EXEC))!.status, "rejected");
    });

    it("decide needs the id's own hash in the server's set at write time (a link removed meanwhile decides nothing)", async () => {
        const id = await armed();
        const other = await store.newLink(EXEC, NOW + 600);
        // The server item loses this id's hash between the lookup and the write (e.g. replaced by a retry's item).
        const h = sha(id);
        let removed = false;
        const off = proxy().addInterceptor(async (req) => {
            if (!removed && req.operation === "UpdateItem" && req.body.includes(h)) {
                removed = true;
                await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { ...((await raw(`server#${EXEC}`)) as Record<string, AttributeValue>), linkHashes: { SS: [sha(other!)] } } }));
            }
            return undefined;
        });
        try {
            assert.strictEqual(await store.decide(id, "confirmed", NOW), undefined);
        } finally {
            off();
        }
        assert.ok(removed);
        assert.strictEqual((await store.get(EXEC))!.status, "pending");
    });

    it("reopen undoes only the named outcome: status back to pending, decidedAt removed; otherwise nothing changes", async () => {
        const id = await armed();
        await store.decide(id, "confirmed", NOW);
        await store.reopen(id, "rejected");
        assert.strictEqual((await store.get(EXEC))!.status, "confirmed");
        const m = mark();
        await store.reopen(id, "confirmed");
        const got = (await store.get(EXEC))!;
        assert.deepStrictEqual([got.status, got.decidedAt, "decidedAt" in got], ["pending", undefined, false]);
        assert.strictEqual((await raw(`server#${EXEC}`))!.decidedAt, undefined);
        const [update] = sent("UpdateItem", m);
        assert.strictEqual(update.UpdateExpression, "SET #s = :pending REMOVE decidedAt");
        assert.strictEqual(update.ConditionExpression, "#s = :from AND contains(linkHashes, :h)");
        await store.decide(id, "rejected", NOW);
        await store.reopen(id, "rejected");
        assert.strictEqual((await store.get(EXEC))!.status, "pending");
        // unknown id: no write at all
        const n = mark();
        await store.reopen(newConfirmationId(), "confirmed");
        assert.strictEqual(sent("UpdateItem", n).length, 0);
    });

    it("reopen needs the id's own hash in the server's set, and passes on errors other than a failed condition", async () => {
        const id = await armed();
        await store.decide(id, "confirmed", NOW);
        // Link item of another id pointing at this server whose hash the server item also lists, but the write checks
        // the hash of the id given: drop this id's hash from the set after the lookup.
        const h = sha(id);
        const off = proxy().addInterceptor(async (req) => {
            if (req.operation === "UpdateItem" && req.body.includes(h)) {
                off();
                await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { ...((await raw(`server#${EXEC}`)) as Record<string, AttributeValue>), linkHashes: { SS: ["0".repeat(64)] } } }));
            }
            return undefined;
        });
        await store.reopen(id, "confirmed");
        off();
        assert.strictEqual((await store.get(EXEC))!.status, "confirmed");
        await store.recordStart({ ...START, executionName: "e2" });
        const again = await store.arm("e2", "wait-token-2", NOW + 600);
        await store.decide(again, "confirmed", NOW);
        proxy().addFault({ service: "dynamodb", operation: "UpdateItem", kind: "error", code: "InternalServerError", status: 500, times: 1 });
        await assert.rejects(store.reopen(again, "confirmed"), { name: "InternalServerError" });
        assert.strictEqual((await store.get("e2"))!.status, "confirmed");
    });

    it("expire: starting or pending → expired with decidedAt; a decided server keeps its outcome; other errors pass on", async () => {
        await store.recordStart(START);
        const m = mark();
        await store.expire(EXEC, NOW);
        assert.deepStrictEqual([(await store.get(EXEC))!.status, (await store.get(EXEC))!.decidedAt], ["expired", new Date(NOW * 1000).toISOString()]);
        const [update] = sent("UpdateItem", m);
        assert.strictEqual(update.UpdateExpression, "SET #s = :expired, decidedAt = :now");
        assert.strictEqual(update.ConditionExpression, "#s IN (:starting, :pending)");
        await store.expire(EXEC, NOW + 50);
        assert.strictEqual((await store.get(EXEC))!.decidedAt, new Date(NOW * 1000).toISOString());

        await store.recordStart({ ...START, executionName: "e2" });
        const id = await store.arm("e2", "t2", NOW + 600);
        await store.expire("e2", NOW + 1);
        assert.deepStrictEqual([(await store.get("e2"))!.status, (await store.get("e2"))!.decidedAt], ["expired", new Date((NOW + 1) * 1000).toISOString()]);
        assert.strictEqual(await store.decide(id, "confirmed", NOW), undefined);

        await store.recordStart({ ...START, executionName: "e3" });
        const id3 = await store.arm("e3", "t3", NOW + 600);
        await store.decide(id3, "rejected", NOW);
        await store.expire("e3", NOW + 2);
        assert.deepStrictEqual([(await store.get("e3"))!.status, (await store.get("e3"))!.decidedAt], ["rejected", new Date(NOW * 1000).toISOString()]);

        await store.expire("never-started", NOW);
        assert.strictEqual(await raw("server#never-started"), undefined);
        proxy().addFault({ service: "dynamodb", operation: "UpdateItem", kind: "error", code: "InternalServerError", status: 500, times: 1 });
        await store.recordStart({ ...START, executionName: "e4" });
        await assert.rejects(store.expire("e4", NOW), { name: "InternalServerError" });
        assert.strictEqual((await store.get("e4"))!.status, "starting");
    });

    it("items written by other tools: optional attributes missing or empty read as absent", async () => {
        await ddb.send(
            new PutItemCommand({
                TableName: TABLE,
                Item: {
                    pk: { S: "server#bare" },
                    rotation: { S: "r" },
                    serverId: { S: "i-1" },
                    hostname: { S: "h" },
                    software: { S: "iis" },
                    ownerEmail: { S: "o@example.com" },
                    parameterName: { S: "/p" },
                    parameterVersion: { N: "1" },
                    accessKeyId: { S: "AKIA1" },
                    status: { S: "pending" },
                    parentTaskToken: { S: "" },
                    taskToken: { S: "" },
                    decidedAt: { S: "" },
                },
            }),
        );
        assert.deepStrictEqual(await store.get("bare"), {
            executionName: "bare",
            rotation: "r",
            server: { serverId: "i-1", hostname: "h", software: "iis", ownerEmail: "o@example.com" },
            credential: { parameterName: "/p", parameterVersion: 1, accessKeyId: "AKIA1" },
            status: "pending",
        });
    });
});
