/**
 * Commands pin the SSM document version the deployment created (issue 12 item 8): a later ssm:UpdateDocument by
 * someone else does not change what runs as root on the servers. moto keeps document versions and records the
 * command's DocumentVersion; the fleet agent (playing the SSM Agent) runs the version the command names.
 */
import * as assert from "assert";
import { CreateDocumentCommand, SSMClient, UpdateDocumentCommand, UpdateDocumentDefaultVersionCommand } from "@aws-sdk/client-ssm";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { rotationConfigFromEnv } from "../runtime/auto/config";
import { updateFleet } from "../runtime/fleet";
import { createFleetTable } from "../sandbox/ec2-fleet";
import { FleetAgent } from "../sandbox/fleet-agent";
import { clientConfig, resetAws, testEnv } from "./support/hooks";

const BASE_ENV = {
    IAM_USER_NAME: "ses-smtp",
    SES_REGION: "eu-west-1",
    FLEET_TARGET: JSON.stringify({ kind: "table", tableName: "t" }),
    POSTFIX_DOCUMENT: "pf",
    IIS_DOCUMENT: "iis",
};

/** A one-step Linux document whose script prints `line` and the result marker. */
const doc = (line: string) => ({
    schemaVersion: "2.2",
    description: "test",
    parameters: { Mode: { type: "String", default: "update", allowedPattern: "^(update|check)$" }, CredentialSource: { type: "String" }, CredentialId: { type: "String" }, CredentialVersion: { type: "String" }, Region: { type: "String" } },
    mainSteps: [{ action: "aws:runShellScript", name: "run", precondition: { StringEquals: ["platformType", "Linux"] }, inputs: { runCommand: [`echo '${line}'`, "echo 'SES-ROTATOR-RESULT: updated'"] } }],
});

describe("SSM document version pinning", () => {
    it("the rotation Lambda reads POSTFIX_DOCUMENT_VERSION / IIS_DOCUMENT_VERSION, naming a bad one", () => {
        assert.deepStrictEqual(rotationConfigFromEnv({ ...BASE_ENV, POSTFIX_DOCUMENT_VERSION: "3", IIS_DOCUMENT_VERSION: "1" }).documentVersions, { postfix: "3", iis: "1" });
        assert.strictEqual(rotationConfigFromEnv(BASE_ENV).documentVersions, undefined);
        assert.throws(() => rotationConfigFromEnv({ ...BASE_ENV, IIS_DOCUMENT_VERSION: "$LATEST" }), /environment variable IIS_DOCUMENT_VERSION must be an SSM document version number/);
    });

    it("a command pins the deployed version: an UpdateDocument made later does not run on the servers", async function () {
        this.timeout(120000);
        await resetAws();
        const ssm = new SSMClient(clientConfig());
        const dynamodb = new DynamoDBClient(clientConfig());
        await ssm.send(new CreateDocumentCommand({ Name: "pf-pinned", DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(doc("deployed version")) }));
        await ssm.send(new UpdateDocumentCommand({ Name: "pf-pinned", DocumentVersion: "$LATEST", DocumentFormat: "JSON", Content: JSON.stringify(doc("tampered version")) }));
        // ... and makes it the default: an unpinned command would now run the tampered text as root.
        await ssm.send(new UpdateDocumentDefaultVersionCommand({ Name: "pf-pinned", DocumentVersion: "2" }));
        const serverId = "mi-0d0c00000000000a1";
        await createFleetTable(dynamodb, "pinned-fleet", [{ serverId, hostname: "a.example", software: "postfix", ownerEmail: "o@example.com" }]);
        const agent = new FleetAgent({ instanceId: serverId, proxy: testEnv().proxy, clientConfig: clientConfig() });
        agent.start();
        try {
            const result = await updateFleet(
                { ssm, dynamodb, sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 200))) },
                {
                    target: { kind: "table", tableName: "pinned-fleet" },
                    documents: { postfix: "pf-pinned", iis: "iis-unused" },
                    documentVersions: { postfix: "1" },
                    credential: { source: "SecretsManager", id: "arn:aws:secretsmanager:us-east-1:123456789012:secret:s-AbCdEf", version: "0f3c9a7e-5b1d-4c2a-9e8f-1a2b3c4d5e6f", region: "us-east-1" },
                    deadline: new Date(Date.now() + 60_000),
                    pollIntervalMs: 200,
                },
            );
            assert.strictEqual(result.ok, true, JSON.stringify(result.failed));
            const send = JSON.parse(testEnv().proxy.calls.find((c) => c.operation === "SendCommand")!.requestBody);
            assert.strictEqual(send.DocumentVersion, "1");
            assert.match(agent.handled[0].result.stdout!, /deployed version/);
            assert.doesNotMatch(agent.handled[0].result.stdout!, /tampered/);
        } finally {
            await agent.stop();
        }
    });
});
