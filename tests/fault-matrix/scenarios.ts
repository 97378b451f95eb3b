/**
 * The fault matrix's scenario table (auto mode). Each scenario names one fault injected at the wire (proxy
 * fault rules, the SSM result overlay, the SES endpoint's refusal hook) or one pre-state, and the expected end:
 * "rotated" (possibly after Secrets Manager's retries) or "failed" (safely; then repaired and re-attempted).
 * The production code is unchanged by every scenario.
 */
import { PutSecretValueCommand } from "@aws-sdk/client-secrets-manager";
import { DeleteItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import { createAccessKeyForSmtp, deleteAccessKey, smtpCredentialForKey } from "../../runtime/access-keys";
import { createAccessKeyWithIntent } from "../../runtime/key-intent";
import { serializeCredential } from "../../runtime/credential";
import { createTaggedInstances, makeServers } from "../../sandbox/ec2-fleet";
import { FLEET, FLEET_TABLE, SES_REGION, USER } from "../support/rotation-driver";
import type { Scenario, ScenarioContext, Step } from "./harness";
import { SERVER_SCENARIOS } from "./scenarios-servers";
import { KEY_SCENARIOS } from "./scenarios-keys";

type Service = "iam" | "secretsmanager" | "ssm" | "sns" | "dynamodb";

/**
 * The first `operation` call of `step` (round 1, first attempt) takes effect, then the Lambda dies (./crash.ts:
 * nothing after the call runs, whatever the code would catch). The step must fail and a retry converge.
 */
function crash(step: Step, service: Service, operation: string, extra: Partial<Scenario> = {}): Scenario {
    return {
        ...extra,
        name: `crash after ${service}:${operation} in ${step}`,
        family: "crash after an AWS call, step retried",
        fault: `${service}:${operation} takes effect, then the Lambda dies (no later call of that invocation happens); Secrets Manager retries ${step}`,
        expect: "rotated",
        failsStep: step,
        beforeStep: async (c, s, attempt, round) => {
            if (s === step && attempt === 0 && round === 1) c.crash(service, operation);
        },
    };
}

/** An AWS error answered `times` times (transient) or always (times undefined). */
function failing(service: Service, operation: string, code: string, status: number, times: number | undefined, extra: Partial<Scenario> = {}): Scenario {
    const kind = status >= 500 ? "5xx" : "throttling";
    return {
        name: `${service}:${operation} ${code} ${times === undefined ? "for good" : `×${times}`}`,
        family: times === undefined ? "service error for good" : `${kind} on a service`,
        fault: `${service}:${operation} answers ${status} ${code} ${times === undefined ? "every time" : `${times} time(s)`}`,
        expect: times === undefined ? "failed" : "rotated",
        inject: async (c) => {
            c.proxy.addFault({ service, operation, kind: "error", status, code, ...(times === undefined ? {} : { times }) });
        },
        ...(times === undefined ? { alertMentions: () => [code] } : {}),
        ...extra,
    };
}

/** Per-server detail (ListCommandInvocations) is read for tag-targeted commands; a table fan-out that all succeeds needs none. */
const detailPolled = (operation: string): Partial<Scenario> => (operation === "ListCommandInvocations" ? { fleet: "tag" } : {});

const firstPostfix = (c: ScenarioContext) => c.world.instances.postfix[0];
const serverPolicy = (outcome: "fail" | "timeout" | "undeliverable" | "silent", which: "one" | "all" = "one", firstOnly = false): Scenario["server"] => (c, id, n) =>
    (which === "all" || id === firstPostfix(c)) && (!firstOnly || n === 0) ? outcome : "success";

export const SCENARIOS: Scenario[] = [
    // ---- a crash right after each AWS call of each step
    ...(
        [
            ["createSecret", "secretsmanager", "DescribeSecret"],
            ["createSecret", "secretsmanager", "GetSecretValue"],
            ["createSecret", "iam", "ListAccessKeys"],
            ["createSecret", "iam", "ListUserTags"],
            ["createSecret", "iam", "CreateAccessKey"],
            ["createSecret", "secretsmanager", "PutSecretValue"],
            ["createSecret", "sns", "Publish"],
            ["setSecret", "secretsmanager", "GetSecretValue"],
            ["setSecret", "ssm", "SendCommand"],
            ["setSecret", "ssm", "ListCommands"],
            ["setSecret", "ssm", "ListCommandInvocations"],
            ["testSecret", "secretsmanager", "DescribeSecret"],
            ["testSecret", "secretsmanager", "GetSecretValue"],
            ["finishSecret", "secretsmanager", "GetSecretValue"],
            ["finishSecret", "secretsmanager", "UpdateSecretVersionStage"],
            ["finishSecret", "iam", "ListUserTags"],
            ["finishSecret", "iam", "TagUser"],
            ["finishSecret", "sns", "Publish"],
        ] as [Step, Service, string][]
    ).map(([step, service, op]) => crash(step, service, op, detailPolled(op))),

    // ---- each step twice, and out of order where Secrets Manager may invoke so
    ...(
        [
            ["every step twice", ["createSecret", "createSecret", "setSecret", "setSecret", "testSecret", "testSecret", "finishSecret", "finishSecret", "end"]],
            ["createSecret replayed after setSecret", ["createSecret", "setSecret", "createSecret", "setSecret", "testSecret", "finishSecret", "end"]],
            ["setSecret replayed after testSecret", ["createSecret", "setSecret", "testSecret", "setSecret", "testSecret", "finishSecret", "end"]],
            ["finishSecret replayed after the rotation ended", ["createSecret", "setSecret", "testSecret", "finishSecret", "end", "finishSecret"]],
            ["createSecret replayed after the rotation ended", ["createSecret", "setSecret", "testSecret", "finishSecret", "end", "createSecret", "setSecret"]],
        ] as [string, (Step | "end")[]][]
    ).map(([name, sequence]): Scenario => ({ name, family: "steps repeated / out of order", fault: sequence.join(" → "), expect: "rotated", sequence })),

    // ---- throttling and 5xx on every service (transient: absorbed by retries)
    failing("iam", "CreateAccessKey", "Throttling", 400, 2),
    failing("iam", "ListAccessKeys", "ServiceFailure", 500, 2),
    failing("iam", "TagUser", "ServiceFailure", 500, 1),
    failing("secretsmanager", "PutSecretValue", "ThrottlingException", 400, 2),
    failing("secretsmanager", "GetSecretValue", "ThrottlingException", 400, 3),
    failing("secretsmanager", "UpdateSecretVersionStage", "InternalServiceError", 500, 2),
    failing("ssm", "SendCommand", "ThrottlingException", 400, 2),
    failing("ssm", "ListCommands", "InternalServerError", 500, 2, {
        absorbed: "a failed poll round is skipped and the next poll reads the same command status; polling is read-only and bounded by the fleet deadline",
    }),
    failing("ssm", "ListCommandInvocations", "ThrottlingException", 400, 2, detailPolled("ListCommandInvocations")),
    failing("sns", "Publish", "Throttling", 400, 1, {
        absorbed: "a notice is best-effort: the refused publish is logged and the rotation, whose state is in Secrets Manager, goes on (failing it would roll back nothing and only hide the result)",
    }),
    failing("dynamodb", "Scan", "ProvisionedThroughputExceededException", 400, 2, { name: "dynamodb:Scan ProvisionedThroughputExceeded ×2 (fleet table)" }),
    failing("dynamodb", "Scan", "InternalServerError", 500, 1, { name: "dynamodb:Scan InternalServerError ×1 (fleet table)" }),
    {
        name: "connection dropped on secretsmanager:PutSecretValue",
        family: "throttling on a service",
        fault: "the TCP connection is dropped before secretsmanager:PutSecretValue reaches the service (once)",
        expect: "rotated",
        inject: async (c) => void c.proxy.addFault({ service: "secretsmanager", operation: "PutSecretValue", kind: "drop", times: 1 }),
    },
    {
        name: "connection dropped on ssm:SendCommand",
        family: "throttling on a service",
        fault: "the TCP connection is dropped on ssm:SendCommand (once)",
        expect: "rotated",
        inject: async (c) => void c.proxy.addFault({ service: "ssm", operation: "SendCommand", kind: "drop", times: 1 }),
    },
    failing("iam", "CreateAccessKey", "ServiceFailure", 500, undefined),
    failing("ssm", "SendCommand", "InternalServerError", 500, undefined),

    // ---- SMTP AUTH 535 (IAM propagation, or SES refusing the key)
    {
        name: "SMTP 535 ×3 then accepted (IAM propagation)",
        family: "SMTP AUTH refused",
        fault: "the SES endpoint answers 535 to the new key's first 3 logins",
        expect: "rotated",
        absorbed: "setSecret's SMTP pre-check retries 535 within its budget (IAM propagation) before any server gets the key",
        beforeStep: async (c, step, attempt, round) => {
            if (step === "setSecret" && attempt === 0 && round === 1) c.h.refusals.set((await c.h.valueOf("AWSPENDING"))!.username, 3);
        },
    },
    {
        name: "SMTP 535 for good",
        family: "SMTP AUTH refused",
        fault: "the SES endpoint refuses every login with the new key (535)",
        expect: "failed",
        beforeStep: async (c, step, attempt, round) => {
            if (step === "setSecret" && attempt === 0 && round === 1) c.h.refusals.set((await c.h.valueOf("AWSPENDING"))!.username, Infinity);
        },
        alertMentions: () => ["535"],
    },

    // ---- SSM: failing, timing out, unreachable servers, results after the deadline
    { name: "one server fails for good", family: "SSM fleet outcomes", fault: "one Postfix server's script exits 1 every time", expect: "failed", server: serverPolicy("fail") },
    { name: "one server fails once", family: "SSM fleet outcomes", fault: "one Postfix server's script exits 1 on the first command only", expect: "rotated", server: serverPolicy("fail", "one", true) },
    { name: "one server times out", family: "SSM fleet outcomes", fault: "SSM reports TimedOut for one server every time", expect: "failed", server: serverPolicy("timeout") },
    { name: "one server unreachable", family: "SSM fleet outcomes", fault: "SSM reports Undeliverable for one server (agent offline)", expect: "failed", server: serverPolicy("undeliverable") },
    { name: "one server never answers", family: "SSM fleet outcomes", fault: "one server's invocation stays Pending past the fleet deadline", expect: "failed", server: serverPolicy("silent") },
    { name: "every server fails", family: "SSM fleet outcomes", fault: "every server's script exits 1", expect: "failed", server: serverPolicy("fail", "all") },
    {
        name: "results arrive after the deadline",
        family: "SSM fleet outcomes",
        fault: "one server installs the credential but its report arrives only after the handler's fleet deadline (first command)",
        expect: "rotated",
        failsStep: "setSecret",
        server: (c, id, n) => (id === firstPostfix(c) && n === 0 ? "late" : "success"),
        verify: async (c, run) => {
            const id = firstPostfix(c);
            const late = c.h.lateDelivered.find((l) => l.instanceId === id);
            if (!late) throw new Error("the late report was never delivered");
            if (late.at < late.dueAt) throw new Error(`the late report arrived at ${late.at}, before the deadline ${late.dueAt}`);
            const first = run.stepErrors.find((e) => e.startsWith("setSecret:"));
            if (!first || !first.includes(id) || !/TimedOut/.test(first)) throw new Error(`the first setSecret did not fail naming ${id} as TimedOut: ${first}`);
            if (run.rounds !== 1) throw new Error(`expected the retried setSecret to converge in the first rotation, took ${run.rounds}`);
            const after = Math.round((late.at - late.dueAt) / 1000);
            return `setSecret failed at the deadline naming the server (TimedOut) and kept AWSCURRENT; the report arrived ${after}s after the deadline, during the retried setSecret, which resent the command and completed`;
        },
    },

    // ---- keys and versions left by earlier runs
    {
        name: "user already holds 2 keys (orphan)",
        family: "state left by earlier runs",
        fault: "a second access key no stored version references (crash between CreateAccessKey and PutSecretValue)",
        expect: "rotated",
        setup: async (c) => void (await createAccessKeyWithIntent(c.world.iam, USER, SES_REGION, "earlier-rotation")),
    },
    {
        name: "stale AWSPENDING whose key is on a server",
        family: "state left by earlier runs",
        fault: "an earlier rotation stored key K in a version that lost AWSPENDING after setSecret reached one server",
        expect: "rotated",
        setup: async (c) => {
            const key = await createAccessKeyForSmtp(c.world.iam, USER, SES_REGION);
            const value = smtpCredentialForKey(key, { sesRegion: SES_REGION, smtpPort: 587 });
            await c.world.secrets.send(new PutSecretValueCommand({ SecretId: c.world.secretArn, SecretString: serializeCredential(value), VersionStages: ["AWSPENDING"] }));
            c.h.servers.get(firstPostfix(c))!.held = value;
        },
        verify: async (c) => {
            const current = await c.h.valueOf("AWSCURRENT");
            if (current!.username !== c.h.servers.get(firstPostfix(c))!.held.username) throw new Error("the stale pending key (already on a server) was not reused");
        },
    },
    {
        name: "pending version holds a deleted key",
        family: "state left by earlier runs",
        fault: "the pending version references an access key that was deleted meanwhile",
        expect: "failed",
        beforeStep: async (c, step, attempt, round) => {
            if (step === "setSecret" && attempt === 0 && round === 1) await deleteAccessKey(c.world.iam, USER, (await c.h.valueOf("AWSPENDING"))!.username);
        },
        alertMentions: () => ["deleted"],
        // the error says what to do: cancel the rotation (AWSPENDING dropped) and rotate again
        repair: async () => "new-rotation",
    },

    // ---- KMS and regions
    failing("secretsmanager", "GetSecretValue", "DecryptionFailure", 400, undefined, {
        name: "the secret's KMS key denies decrypt",
        family: "KMS / regions",
        fault: "secretsmanager:GetSecretValue answers DecryptionFailure (KMS denies kms:Decrypt) every time",
    }),
    failing("secretsmanager", "PutSecretValue", "AccessDeniedException", 400, undefined, {
        name: "the secret's KMS key denies encrypt",
        family: "KMS / regions",
        fault: "secretsmanager:PutSecretValue answers AccessDeniedException (KMS denies kms:GenerateDataKey) every time",
    }),
    {
        name: "SES region differs from the stack region",
        family: "KMS / regions",
        fault: "secret and SSM in us-east-1, SES (and the SMTP password) in eu-west-1",
        expect: "rotated",
        verify: async (c) => {
            const v = (await c.h.valueOf("AWSCURRENT"))!;
            if (v.region !== SES_REGION || v.endpoint !== `email-smtp.${SES_REGION}.amazonaws.com`) throw new Error(`stored value is for ${v.region} / ${v.endpoint}`);
        },
    },

    // ---- the fleet changes mid-rotation
    {
        name: "server added mid-rotation (still on the old key)",
        family: "fleet changes mid-rotation",
        fault: "a server with the old credential joins the fleet table after setSecret; it keeps sending mail with the old key",
        expect: "rotated",
        beforeStep: async (c, step, attempt, round) => {
            if (step !== "testSecret" || attempt !== 0 || round !== 1) return;
            const [server] = makeServers(1, { prefix: "mi", offset: 0xabc, software: "postfix" });
            await c.h.dynamodb.send(new PutItemCommand({ TableName: FLEET_TABLE, Item: { serverId: { S: server.serverId }, hostname: { S: server.hostname }, software: { S: "postfix" }, ownerEmail: { S: server.ownerEmail } } }));
            c.h.servers.set(server.serverId, { instanceId: server.serverId, software: "postfix", held: (await c.h.valueOf("AWSCURRENT"))! });
        },
        verify: async (c) => {
            const late = [...c.h.servers.values()].find((s) => s.held.username === c.world.firstKeyId);
            if (!late) throw new Error("expected the added server to still hold the old key");
            if (!c.h.notices().some((n) => n.includes("retirement-held") && n.includes(c.world.firstKeyId))) throw new Error("no retirement-held alert naming the old key");
        },
    },
    {
        name: "server added mid-rotation, tag-targeted fleet",
        family: "fleet changes mid-rotation",
        fault: "EC2 tag targeting: a new tagged instance with the old credential appears after setSecret",
        expect: "rotated",
        fleet: "tag",
        beforeStep: async (c, step, attempt, round) => {
            if (step !== "testSecret" || attempt !== 0 || round !== 1) return;
            const [id] = await createTaggedInstances(c.world.ec2, 1, { [FLEET.tagKey]: FLEET.tagValue, [FLEET.softwareTagKey]: "postfix" });
            c.h.servers.set(id, { instanceId: id, software: "postfix", held: (await c.h.valueOf("AWSCURRENT"))! });
        },
    },
    {
        name: "server removed mid-rotation",
        family: "fleet changes mid-rotation",
        fault: "a server is decommissioned (removed from the fleet table) right after the SSM command reached it; it never answers",
        expect: "rotated",
        server: (c, id, n) => {
            if (id !== firstPostfix(c) || n > 0) return "success";
            c.h.servers.get(id)!.removed = true;
            return "silent";
        },
        beforeStep: async (c, step, attempt) => {
            const id = firstPostfix(c);
            if (step !== "setSecret" || attempt === 0 || !c.h.servers.get(id)!.removed) return;
            await c.h.dynamodb.send(new DeleteItemCommand({ TableName: FLEET_TABLE, Key: { serverId: { S: id } } }));
        },
    },
    ...SERVER_SCENARIOS,
    ...KEY_SCENARIOS,
];
