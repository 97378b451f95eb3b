import * as assert from "assert";
import { CreateTopicCommand, SNSClient } from "@aws-sdk/client-sns";
import { MAX_LISTED_SERVERS, publishNotice, renderNotice, serverReport } from "../runtime/notify";
import { clientConfig, resetAws, testEnv } from "./support/hooks";
import { scannedLogger } from "./support/leak-scanner";

const fleet = (n: number, failing: number[]) =>
    Array.from({ length: n }, (_, i) => ({
        serverId: `i-${i.toString(16).padStart(17, "0")}`,
        software: "postfix",
        status: failing.includes(i) ? "Failed" : "Success",
        detail: failing.includes(i) ? "exit 1: postfix reload failed" : undefined,
    }));

describe("notices: per-server status stays inside SNS's message limit", () => {
    beforeEach(resetAws);

    it("lists every server of a small fleet", () => {
        const r = serverReport(fleet(24, [3]));
        assert.strictEqual(r.servers.length, 24);
        assert.deepStrictEqual(r.byStatus, { Success: 23, Failed: 1 });
        assert.strictEqual(r.unlisted, undefined);
    });

    it("lists only the servers that did not succeed in a large fleet, with counts", () => {
        const r = serverReport(fleet(10_000, [5, 9_999]));
        assert.deepStrictEqual(r.servers.map((s) => s.serverId), ["i-00000000000000005", "i-0000000000000270f"]);
        assert.deepStrictEqual(r.byStatus, { Success: 9_998, Failed: 2 });
        assert.strictEqual(r.unlisted, 9_998);
        assert.strictEqual(r.total, 10_000);
    });

    it("caps the listed failures too", () => {
        const all = Array.from({ length: 5_000 }, (_, i) => i);
        assert.strictEqual(serverReport(fleet(5_000, all)).servers.length, MAX_LISTED_SERVERS);
    });

    it("a failure notice for 10,000 servers is accepted by SNS (moto enforces the 256 KiB limit)", async () => {
        const sns = new SNSClient(clientConfig());
        const topic = (await sns.send(new CreateTopicCommand({ Name: "alerts" }))).TopicArn!;
        const servers = fleet(10_000, Array.from({ length: 50 }, (_, i) => i * 200));
        const notice = { kind: "rotation-failed" as const, summary: "rotation FAILED (setSecret)", details: { step: "setSecret", ...serverReport(servers) } };
        assert.ok(Buffer.byteLength(renderNotice(notice)) < 256 * 1024);
        const published = await publishNotice(sns, topic, notice, { log: scannedLogger("notify") });
        assert.strictEqual(published, true);
        const call = testEnv().proxy.calls.find((c) => c.operation === "Publish");
        assert.strictEqual(call?.status, 200);
    });

    it("without the bound the same notice would be refused (the limit is real in the emulator)", async () => {
        const sns = new SNSClient(clientConfig());
        const topic = (await sns.send(new CreateTopicCommand({ Name: "alerts" }))).TopicArn!;
        const notice = { kind: "rotation-failed" as const, summary: "unbounded", details: { servers: fleet(10_000, [1]) } };
        const published = await publishNotice(sns, topic, notice, { log: scannedLogger("notify") });
        assert.strictEqual(published, false);
    });
});
