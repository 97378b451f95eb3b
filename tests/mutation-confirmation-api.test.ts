/**
 * runtime/manual/confirmation-api.ts driven directly (mutation testing, docs/mutation.md): the real handler with
 * the real store on moto DynamoDB, and real task tokens: each server waits in a one-state Step Functions
 * execution in moto (`lambda:invoke.waitForTaskToken`; the test bridge answers the Invoke and keeps the token),
 * so SendTaskSuccess/SendTaskFailure really end that execution. Exact status codes, headers, pages, log lines
 * and table state; errors Step Functions gives and moto does not (TaskTimedOut, throttling) are injected by
 * the wire proxy, races (a second answer, expiry, TTL deletion between the handler's read and its write) by a
 * proxy interceptor that acts just before the conditional write reaches moto.
 * The whole-flow tests (manual-scenarios, hostile-input, manual-link-hash) run this handler under the emitted
 * state machines; these run in seconds, so Stryker can afford them per mutant.
 */
import * as assert from "assert";
import { createHash } from "crypto";
import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { CreateStateMachineCommand, DescribeExecutionCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { createConfirmationApiHandler, HttpApiEvent, HttpApiResult } from "../runtime/manual/confirmation-api";
import { ConfirmationStore, newConfirmationId } from "../runtime/manual/confirmation-store";
import { SfnBridge } from "../sandbox/sfn-bridge";
import { ACCOUNT, until } from "../sandbox/manual-rig";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { scannedLogger } from "./support/leak-scanner";

const TABLE = "confirmations";
const NOW = 1_900_000_000;
const SERVER = { serverId: "i-0123456789abcdef0", hostname: "mail-a.example.com", software: "postfix" as const, ownerEmail: "owner-a@example.com" };
const CREDENTIAL = { parameterName: "/smtp/credential", parameterVersion: 7, accessKeyId: "AKIAEXAMPLEKEY000001" };
const TH = '<th style="text-align:left;padding-right:1em">';
const HEADERS = {
    "content-type": "text/html; charset=utf-8",
    "cache-control": "no-store",
    "referrer-policy": "no-referrer",
    "x-content-type-options": "nosniff",
    "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
};
const TABLE_A =
    `<table><tr>${TH}Server</th><td>mail-a.example.com (i-0123456789abcdef0)</td></tr><tr>${TH}Software</th><td>Postfix</td></tr>` +
    `<tr>${TH}New SMTP user name</th><td>AKIAEXAMPLEKEY000001</td></tr><tr>${TH}Credential</th><td>/smtp/credential version 7</td></tr>` +
    `<tr>${TH}Rotation</th><td>rot-1</td></tr></table>`;
/** The whole document the handler answers with, written out (title escaped by the caller). */
const doc = (title: string, inner: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${title}</title></head>` +
    `<body style="font-family:sans-serif;max-width:40em;margin:2em auto"><h1>${title}</h1>${inner}</body></html>`;
const NOT_FOUND = doc("Unknown link", "<p>This confirmation link is not valid. Use the latest link from your e-mail.</p>");
const EXPIRED_A = doc("Link expired", `<p>This confirmation link has expired. Nothing was changed. The administrators were told that this server was not confirmed.</p>${TABLE_A}`);
const FORMS =
    `<form method="post"><input type="hidden" name="action" value="confirm"><button type="submit">Confirm: this server uses the new credential and sends mail</button></form>` +
    `<form method="post" style="margin-top:1em"><input type="hidden" name="action" value="reject"><button type="submit">I could not update this server</button></form>`;
const CONFIRM_PAGE_A = doc("Confirm the new SMTP credential on mail-a.example.com", `${TABLE_A}<p>Only confirm after a test mail went out through the new credential.</p>${FORMS}`);
const DEFINITION = {
    StartAt: "Wait",
    States: {
        Wait: {
            Type: "Task",
            Resource: "arn:aws:states:::lambda:invoke.waitForTaskToken",
            Parameters: { FunctionName: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:hold`, Payload: { "token.$": "$$.Task.Token", "name.$": "$$.Execution.Name" } },
            End: true,
        },
    },
};
const sha = (id: string) => createHash("sha256").update(id).digest("hex");

describe("confirmation API: pages, task-token calls and races (mutation testing, DynamoDB and Step Functions in moto)", () => {
    let ddb: DynamoDBClient;
    let sfn: SFNClient;
    let store: ConfirmationStore;
    let bridge: SfnBridge;
    let machineArn: string;
    let logs: [string, object | undefined][];
    let nowMs: number;
    let handler: (e: HttpApiEvent) => Promise<HttpApiResult>;
    const tokens = new Map<string, string>();

    beforeEach(async () => {
        await resetAws();
        ddb = new DynamoDBClient(clientConfig());
        sfn = new SFNClient(clientConfig());
        await ddb.send(
            new CreateTableCommand({ TableName: TABLE, BillingMode: "PAY_PER_REQUEST", AttributeDefinitions: [{ AttributeName: "pk", AttributeType: "S" }], KeySchema: [{ AttributeName: "pk", KeyType: "HASH" }] }),
        );
        tokens.clear();
        bridge = new SfnBridge(testEnv().proxy).register("hold", async (p: { token: string; name: string }) => {
            tokens.set(p.name, p.token);
            return {};
        });
        machineArn = (await sfn.send(new CreateStateMachineCommand({ name: "Hold", definition: JSON.stringify(DEFINITION), roleArn: `arn:aws:iam::${ACCOUNT}:role/hold` }))).stateMachineArn!;
        store = new ConfirmationStore(ddb, TABLE);
        logs = [];
        nowMs = NOW * 1000;
        handler = createConfirmationApiHandler({ store, sfn, log: (m, f) => logs.push([m, f]), now: () => new Date(nowMs) });
    });
    afterEach(() => bridge.dispose());

    const proxy = () => testEnv().proxy;
    const calls = (op: string) => proxy().calls.filter((c) => c.service === "states" && c.operation === op);

    /** A server waiting in a real execution: started, its token stored, armed; returns the link id and the execution. */
    async function waiting(o: { name?: string; expiresAt?: number; server?: typeof SERVER } = {}): Promise<{ id: string; executionArn: string; name: string }> {
        const name = o.name ?? "rot-1-srv-a";
        const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, name, input: "{}" }));
        const token = await until("the task token", async () => tokens.get(name));
        await store.recordStart({ executionName: name, rotation: "rot-1", server: o.server ?? SERVER, credential: CREDENTIAL });
        const id = await store.arm(name, token, o.expiresAt ?? NOW + 600);
        return { id, executionArn: executionArn!, name };
    }
    const ended = (executionArn: string) =>
        until("the execution's end", async () => {
            const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
            return d.status === "RUNNING" ? undefined : d;
        });
    const running = async (executionArn: string) => (await sfn.send(new DescribeExecutionCommand({ executionArn }))).status;
    const get = (id: string, extra: Partial<HttpApiEvent> = {}) => handler({ pathParameters: { id }, requestContext: { http: { method: "GET" } }, ...extra });
    const post = (id: string, body?: string, extra: Partial<HttpApiEvent> = {}) => handler({ pathParameters: { id }, requestContext: { http: { method: "POST" } }, body, ...extra });
    const statusOf = async (name: string) => (await store.get(name))!.status;

    it("GET shows the server and both buttons, with the security headers, and changes nothing (also HEAD, lower case, no method, id from the path)", async () => {
        const { id, executionArn, name } = await waiting();
        const page = await get(id);
        assert.deepStrictEqual(page, { statusCode: 200, headers: HEADERS, body: CONFIRM_PAGE_A });
        for (const event of [
            { pathParameters: { id }, requestContext: { http: { method: "HEAD" } } },
            { pathParameters: { id }, requestContext: { http: { method: "get" } } },
            { pathParameters: { id } },
            { rawPath: `/confirm/${id}` },
            { rawPath: `/prod/confirm/${id}?utm=mail` },
            { rawPath: `/confirm/${id}/` },
            { rawPath: "/confirm/short", pathParameters: { id } },
        ] as HttpApiEvent[]) {
            assert.deepStrictEqual(await handler(event), page, JSON.stringify(event));
        }
        assert.strictEqual(await statusOf(name), "pending");
        assert.strictEqual(calls("SendTaskSuccess").length + calls("SendTaskFailure").length, 0);
        assert.strictEqual(await running(executionArn), "RUNNING");
        (page.headers as Record<string, string>)["x-test"] = "changed";
        assert.deepStrictEqual((await get(id)).headers, HEADERS);
    });

    it("IIS servers and hostile names: the page names the software and escapes every field", async () => {
        const { id } = await waiting({ server: { ...SERVER, software: "iis" as any, hostname: `<b>&"it's"</b>` } });
        const page = await get(id);
        const host = "&lt;b&gt;&amp;&quot;it&#39;s&quot;&lt;/b&gt;";
        assert.strictEqual(page.statusCode, 200);
        assert.ok(page.body.includes(`<title>Confirm the new SMTP credential on ${host}</title>`), page.body);
        assert.ok(page.body.includes(`<h1>Confirm the new SMTP credential on ${host}</h1>`), page.body);
        assert.ok(page.body.includes(`<td>${host} (i-0123456789abcdef0)</td></tr><tr>${TH}Software</th><td>IIS SMTP</td>`), page.body);
        assert.ok(!page.body.includes("<b>"), page.body);
    });

    it("malformed, forged and unknown ids get the same 404 page and read nothing for malformed ones", async () => {
        const { id } = await waiting();
        const before = proxy().calls.length;
        for (const event of [
            {},
            { pathParameters: {} },
            { pathParameters: { id: "short" } },
            { pathParameters: { id: id + "x" } },
            { pathParameters: { id: sha(id) } },
            { rawPath: `/confirm/${id.slice(1)}` },
            { rawPath: `/other/${id}` },
            { rawPath: `/confirm${id}` },
            undefined,
        ] as HttpApiEvent[]) {
            assert.deepStrictEqual(await handler(event), { statusCode: 404, headers: HEADERS, body: NOT_FOUND }, JSON.stringify(event));
        }
        assert.strictEqual(proxy().calls.length, before, "a malformed id reached DynamoDB");
        for (const method of ["GET", "POST"]) {
            assert.deepStrictEqual(await handler({ pathParameters: { id: newConfirmationId() }, requestContext: { http: { method } }, body: "action=confirm" }), {
                statusCode: 404,
                headers: HEADERS,
                body: NOT_FOUND,
            });
        }
    });

    it("an expired wait (expiresAt ≤ now, in whole seconds) gets 410 for GET and POST and changes nothing", async () => {
        const { id, executionArn, name } = await waiting({ expiresAt: NOW + 1 });
        nowMs = NOW * 1000 + 999;
        assert.strictEqual((await get(id)).statusCode, 200);
        nowMs = (NOW + 1) * 1000;
        assert.deepStrictEqual(await get(id), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
        for (const action of ["confirm", "reject"]) assert.deepStrictEqual(await post(id, `action=${action}`), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
        assert.strictEqual(await statusOf(name), "pending");
        assert.strictEqual(calls("SendTaskSuccess").length + calls("SendTaskFailure").length, 0);
        assert.strictEqual(await running(executionArn), "RUNNING");
        assert.deepStrictEqual(logs, []);
    });

    it("without an injected clock the handler uses the real time", async () => {
        const { id } = await waiting({ expiresAt: Math.floor(Date.now() / 1000) + 3600 });
        const realTime = createConfirmationApiHandler({ store, sfn, log: scannedLogger("confirmation-api") });
        assert.strictEqual((await realTime({ pathParameters: { id } })).statusCode, 200);
        const late = await waiting({ name: "late", expiresAt: Math.floor(Date.now() / 1000) - 1 });
        assert.strictEqual((await realTime({ pathParameters: { id: late.id } })).statusCode, 410);
    });

    it("POST confirm completes the waiting task with the server and time; the page says so; a replay gets 409", async () => {
        const { id, executionArn, name } = await waiting();
        const res = await post(id, "action=confirm");
        assert.deepStrictEqual(res, { statusCode: 200, headers: HEADERS, body: doc("Confirmed, thank you", `<p>The server is recorded as using the new credential.</p>${TABLE_A}`) });
        const d = await ended(executionArn);
        assert.strictEqual(d.status, "SUCCEEDED");
        const confirmedAt = new Date(NOW * 1000).toISOString();
        assert.deepStrictEqual(JSON.parse(d.output!), { serverId: SERVER.serverId, confirmedAt });
        assert.deepStrictEqual(logs, [["server decided", { executionName: name, serverId: SERVER.serverId, outcome: "confirmed" }]]);
        assert.strictEqual(await statusOf(name), "confirmed");
        assert.strictEqual(calls("SendTaskFailure").length, 0);
        const again = doc("Already confirmed", `<p>This server was already confirmed at ${confirmedAt}. Nothing was changed.</p>${TABLE_A}`);
        for (const action of ["confirm", "reject"]) assert.deepStrictEqual(await post(id, `action=${action}`), { statusCode: 409, headers: HEADERS, body: again });
        assert.deepStrictEqual(await get(id), { statusCode: 409, headers: HEADERS, body: again });
        nowMs = (NOW + 601) * 1000;
        assert.deepStrictEqual(await get(id), { statusCode: 409, headers: HEADERS, body: again }, "a confirmed server stays confirmed after its wait's expiry");
        assert.strictEqual(calls("SendTaskSuccess").length, 1);
    });

    it("POST reject fails the waiting task with ServerUpdateRejected naming the host; a replay gets 409", async () => {
        const { id, executionArn, name } = await waiting();
        const res = await post(id, "action=reject");
        assert.deepStrictEqual(res, {
            statusCode: 200,
            headers: HEADERS,
            body: doc("Recorded", `<p>The administrators were told that this server could not be updated. The old credential stays active.</p>${TABLE_A}`),
        });
        const d = await ended(executionArn);
        assert.deepStrictEqual([d.status, d.error], ["FAILED", "ServerUpdateRejected"]);
        // moto's DescribeExecution leaves out the cause: read it from the request the handler sent
        const [sent] = calls("SendTaskFailure").map((c) => JSON.parse(c.requestBody));
        assert.deepStrictEqual([sent.error, sent.cause], ["ServerUpdateRejected", "the owner reported that mail-a.example.com could not be updated"]);
        assert.deepStrictEqual(logs, [["server decided", { executionName: name, serverId: SERVER.serverId, outcome: "rejected" }]]);
        assert.strictEqual(await statusOf(name), "rejected");
        assert.strictEqual(calls("SendTaskSuccess").length, 0);
        const again = doc("Already answered", `<p>This server was already reported as not updated. Nothing was changed.</p>${TABLE_A}`);
        for (const action of ["confirm", "reject"]) assert.deepStrictEqual(await post(id, `action=${action}`), { statusCode: 409, headers: HEADERS, body: again });
        assert.strictEqual(calls("SendTaskFailure").length, 1);
    });

    it("a base64 form body (API Gateway's isBase64Encoded) is decoded; base64 text without the flag is not a form", async () => {
        const { id, executionArn } = await waiting();
        const b64 = Buffer.from("action=confirm").toString("base64");
        assert.strictEqual((await post(id, b64)).statusCode, 400);
        assert.strictEqual((await post(id, "action=confirm", { isBase64Encoded: true })).statusCode, 400);
        assert.strictEqual((await post(id, b64, { isBase64Encoded: true })).statusCode, 200);
        assert.strictEqual((await ended(executionArn)).status, "SUCCEEDED");
    });

    it("other methods get 405, forms without a known action 400; neither changes anything", async () => {
        const { id, executionArn, name } = await waiting();
        for (const method of ["PUT", "DELETE", "PATCH"]) {
            assert.deepStrictEqual(await handler({ pathParameters: { id }, requestContext: { http: { method } }, body: "action=confirm" }), {
                statusCode: 405,
                headers: HEADERS,
                body: doc("Method not allowed", "<p>Use the buttons on the confirmation page.</p>"),
            });
        }
        const bad = { statusCode: 400, headers: HEADERS, body: doc("Bad request", '<p>The form must send action "confirm" or "reject".</p>') };
        for (const body of [undefined, "", "action=", "action=Confirm", "confirm", "action=confirmed", "reject=action"]) {
            assert.deepStrictEqual(await post(id, body), bad, String(body));
            assert.deepStrictEqual(await post(id, body, { isBase64Encoded: true }), bad, `base64 ${body}`);
        }
        assert.strictEqual(await statusOf(name), "pending");
        assert.strictEqual(calls("SendTaskSuccess").length + calls("SendTaskFailure").length, 0);
        assert.strictEqual(await running(executionArn), "RUNNING");
        assert.deepStrictEqual(logs, []);
    });

    for (const reason of ["TaskTimedOut", "TaskDoesNotExist", "InvalidToken"]) {
        it(`a decision after the wait ended (${reason}) is recorded as expired and answered with 410`, async () => {
            const { id, name } = await waiting();
            proxy().addFault({ service: "states", operation: "SendTaskSuccess", kind: "error", code: reason, times: 1 });
            nowMs = (NOW + 30) * 1000;
            assert.deepStrictEqual(await post(id, "action=confirm"), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
            const item = (await store.get(name))!;
            assert.deepStrictEqual([item.status, item.decidedAt], ["expired", new Date((NOW + 30) * 1000).toISOString()]);
            assert.deepStrictEqual(logs, [["confirmation arrived after the wait ended", { executionName: name, reason }]]);
            assert.deepStrictEqual(await get(id), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
        });
    }

    it("a rejection after the wait ended is recorded as expired too", async () => {
        const { id, name } = await waiting();
        proxy().addFault({ service: "states", operation: "SendTaskFailure", kind: "error", code: "TaskTimedOut", times: 1 });
        assert.deepStrictEqual(await post(id, "action=reject"), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
        assert.strictEqual(await statusOf(name), "expired");
    });

    for (const action of ["confirm", "reject"]) {
        it(`a transient failure to ${action} reopens the server (503, nothing recorded); pressing again works`, async () => {
            const { id, executionArn, name } = await waiting();
            const op = action === "confirm" ? "SendTaskSuccess" : "SendTaskFailure";
            proxy().addFault({ service: "states", operation: op, kind: "error", code: "ThrottlingException", message: "Rate exceeded", times: 1 });
            assert.deepStrictEqual(await post(id, `action=${action}`), {
                statusCode: 503,
                headers: HEADERS,
                body: doc("Please try again", "<p>The confirmation could not be recorded just now. Nothing was changed; please press the button again in a minute.</p>"),
            });
            const item = (await store.get(name))!;
            assert.deepStrictEqual([item.status, "decidedAt" in item], ["pending", false]);
            assert.deepStrictEqual(logs, [["completing the confirmation failed; the link stays usable", { executionName: name, error: "Rate exceeded" }]]);
            assert.strictEqual(await running(executionArn), "RUNNING");
            assert.strictEqual((await post(id, `action=${action}`)).statusCode, 200);
            assert.strictEqual((await ended(executionArn)).status, action === "confirm" ? "SUCCEEDED" : "FAILED");
            assert.strictEqual(await statusOf(name), action === "confirm" ? "confirmed" : "rejected");
        });
    }

    /** Runs `act` once, just before the handler's conditional write (the decide UpdateItem) reaches moto. */
    function beforeDecideWrite(act: () => Promise<void>): () => boolean {
        let done = false;
        const off = proxy().addInterceptor(async (req) => {
            if (!done && req.service === "dynamodb" && req.operation === "UpdateItem" && req.body.includes(":outcome")) {
                done = true;
                off();
                await act();
            }
            return undefined;
        });
        return () => done;
    }

    it("races: another answer between the read and the write → 409 for that answer; nothing sent to Step Functions", async () => {
        const { id, name } = await waiting();
        const other = (await store.newLink(name, NOW + 600))!;
        const raced = beforeDecideWrite(async () => {
            await store.decide(other, "rejected", NOW);
        });
        assert.deepStrictEqual(await post(id, "action=confirm"), {
            statusCode: 409,
            headers: HEADERS,
            body: doc("Already answered", `<p>This server was already reported as not updated. Nothing was changed.</p>${TABLE_A}`),
        });
        assert.ok(raced());
        assert.strictEqual(calls("SendTaskSuccess").length, 0);
        assert.strictEqual(await statusOf(name), "rejected");
    });

    it("races: the wait expires between the read and the write → 410, the item stays pending (the wait's end marks it)", async () => {
        const { id, name } = await waiting({ expiresAt: NOW + 10 });
        // the clock is read for the page check before the write and again for the write's condition
        let reads = 0;
        handler = createConfirmationApiHandler({ store, sfn, log: (m, f) => logs.push([m, f]), now: () => new Date(reads++ === 0 ? NOW * 1000 : (NOW + 10) * 1000) });
        assert.deepStrictEqual(await post(id, "action=confirm"), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
        assert.strictEqual(reads, 2);
        assert.strictEqual(await statusOf(name), "pending");
        assert.strictEqual(calls("SendTaskSuccess").length, 0);
        assert.deepStrictEqual(logs, []);
    });

    it("races: the server item vanishes (TTL) between the read and the write → 404", async () => {
        const { id, name } = await waiting();
        const raced = beforeDecideWrite(async () => {
            await ddb.send(new DeleteItemCommand({ TableName: TABLE, Key: { pk: { S: `server#${name}` } } }));
        });
        assert.deepStrictEqual(await post(id, "action=confirm"), { statusCode: 404, headers: HEADERS, body: NOT_FOUND });
        assert.ok(raced());
        assert.strictEqual(calls("SendTaskSuccess").length, 0);
    });

    it("a confirmed item without a decision time, and a server still starting, get the matching page", async () => {
        const id = newConfirmationId();
        const base = {
            rotation: { S: "rot-1" },
            serverId: { S: SERVER.serverId },
            hostname: { S: SERVER.hostname },
            software: { S: "postfix" },
            ownerEmail: { S: SERVER.ownerEmail },
            parameterName: { S: CREDENTIAL.parameterName },
            parameterVersion: { N: "7" },
            accessKeyId: { S: CREDENTIAL.accessKeyId },
            linkHashes: { SS: [sha(id)] },
        };
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: `link#${sha(id)}` }, executionName: { S: "x" } } }));
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: "server#x" }, ...base, status: { S: "confirmed" } } }));
        assert.deepStrictEqual(await get(id), { statusCode: 409, headers: HEADERS, body: doc("Already confirmed", `<p>This server was already confirmed. Nothing was changed.</p>${TABLE_A}`) });
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: "server#x" }, ...base, status: { S: "starting" } } }));
        assert.deepStrictEqual(await post(id, "action=confirm"), { statusCode: 410, headers: HEADERS, body: EXPIRED_A });
        assert.strictEqual(await statusOf("x"), "starting");
        await ddb.send(new PutItemCommand({ TableName: TABLE, Item: { pk: { S: "server#x" }, ...base, status: { S: "pending" } } }));
        assert.strictEqual((await get(id)).statusCode, 200, "a pending item without expiresAt has not expired");
    });

    it("without an injected logger the handler logs JSON lines and still answers", async () => {
        const { id, executionArn } = await waiting();
        const lines: string[] = [];
        const original = console.log;
        console.log = (line: string) => lines.push(line);
        try {
            const plain = createConfirmationApiHandler({ store, sfn, now: () => new Date(nowMs) });
            assert.strictEqual((await plain({ pathParameters: { id }, requestContext: { http: { method: "POST" } }, body: "action=confirm" })).statusCode, 200);
        } finally {
            console.log = original;
        }
        assert.strictEqual(lines.length, 1);
        assert.strictEqual(JSON.parse(lines[0]).msg, "server decided");
        assert.strictEqual((await ended(executionArn)).status, "SUCCEEDED");
    });
});
