/**
 * Confirmation link ids are never stored (issue 12 item 9): the confirmation table (moto DynamoDB) holds only
 * their SHA-256; the page finds the server by hashing the id from the URL. Whoever can read the table (or a
 * backup, or DynamoDB data events) cannot confirm a server. The emitted state machines run in moto's
 * Step Functions interpreter, the Lambda tasks are the real runtime handlers (ManualRig).
 */
import * as assert from "assert";
import { createHash } from "crypto";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { clientConfig, testEnv } from "./support/hooks";
import { ManualRig, serverList, until } from "./support/manual-rig";
import { useManualRigs } from "./support/suite-hooks";

describe("manual mode: confirmation links are stored only as SHA-256 hashes", function () {
    const track = useManualRigs();

    it("a scan of the table finds no link id (first mail or reminder); the page looks ids up by hash; a hash confirms nothing", async () => {
        const servers = serverList(2);
        const r = track(await new ManualRig({ servers, reminderSeconds: 1, confirmationTimeoutSeconds: 120, maxConcurrency: 2 }).setUp());
        await r.startRotation({ requestId: "link-hash" });
        const owner = servers[0].ownerEmail;
        // The first mail and at least one reminder, and the other owner's first mail.
        await until("a reminder", async () => (r.ownerMails().filter((m) => m.to === owner && m.confirmationId).length >= 2 ? true : undefined));
        await r.linkFor(servers[1].ownerEmail);
        const mails = r.ownerMails().filter((m) => m.confirmationId);
        const ids = [...new Set(mails.map((m) => m.confirmationId))];

        // Read straight from moto (not through the proxy): the table holds task tokens by design, and the leak
        // scanner allows them only on the paths the product uses (PutItem, UpdateItem, GetItem).
        const direct = new DynamoDBClient({ ...clientConfig(), endpoint: testEnv().moto.url });
        const items = (await direct.send(new ScanCommand({ TableName: r.confirmationTable, ConsistentRead: true }))).Items ?? [];
        const dump = JSON.stringify(items);
        for (const id of ids) assert.ok(!dump.includes(id), `the link id ${id.slice(0, 6)}... is stored in clear`);
        const sha = (id: string) => createHash("sha256").update(id).digest("hex");
        const linkKeys = items.map((i) => i.pk.S!).filter((pk) => pk.startsWith("link#"));
        for (const id of ids) assert.ok(linkKeys.includes(`link#${sha(id)}`), `no link item for the hash of a mailed id: ${linkKeys.join()}`);
        assert.ok(ids.length >= 3, `each mail carries its own link: ${ids.length} links in ${mails.length} mails`);

        // Every link mailed for the wait opens the page; the first one confirms, the later ones then say so.
        const toOwner = mails.filter((m) => m.to === owner).map((m) => m.confirmationId);
        for (const id of toOwner) assert.strictEqual((await r.api("GET", id)).statusCode, 200);
        // What a table reader has (the hash, the key) is no link.
        for (const forged of [sha(toOwner[0]), `link#${sha(toOwner[0])}`, Buffer.from(sha(toOwner[0]), "hex").toString("base64url").slice(0, 43)]) {
            assert.strictEqual((await r.api("POST", forged, "action=confirm")).statusCode, 404, forged);
        }
        assert.strictEqual((await r.store.getByConfirmationId(toOwner[0]))!.status, "pending");
        assert.strictEqual((await r.api("POST", toOwner[0], "action=confirm")).statusCode, 200);
        assert.strictEqual((await r.api("POST", toOwner[toOwner.length - 1], "action=confirm")).statusCode, 409);
        assert.strictEqual((await r.store.getByConfirmationId(toOwner[toOwner.length - 1]))!.status, "confirmed");
    });
});
