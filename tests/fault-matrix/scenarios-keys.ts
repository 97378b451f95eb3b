/**
 * Fault-matrix scenarios for issue 12 items 1-3 (auto mode): what other people do to the SMTP user's keys and
 * retirement records. Same harness and invariants as scenarios.ts (every server and AWSCURRENT always
 * authenticate, at most 2 keys, no orphan key after convergence); the production code is unchanged.
 */
import { CreateAccessKeyCommand, DeleteAccessKeyCommand, TagUserCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { listAccessKeys } from "../../runtime/access-keys";
import { secretCredentialReader } from "../../runtime/current-credential";
import { advanceRetirements, listRetirements, retirementTagKey } from "../../runtime/retirement";
import { scannedLogger } from "../support/leak-scanner";
import { testEnv } from "../support/hooks";
import { SES_REGION, USER } from "../support/rotation-driver";
import type { Scenario, ScenarioContext } from "./harness";

const DAY_MS = 24 * 3600_000;

/** The foreign key made in setup (one scenario runs at a time). */
let foreignKeyId = "";

async function statusOf(c: ScenarioContext, accessKeyId: string): Promise<string> {
    return (await listAccessKeys(c.world.iam, USER)).find((k) => k.accessKeyId === accessKeyId)?.status ?? "absent";
}

export const KEY_SCENARIOS: Scenario[] = [
    {
        name: "foreign key on the SMTP user",
        family: "other people's keys and records",
        fault: "someone else created a second access key on the SMTP user (no creation intent of ours, used by some other service); the rotation must not delete it",
        expect: "failed",
        setup: async (c) => {
            foreignKeyId = (await c.world.iam.send(new CreateAccessKeyCommand({ UserName: USER }))).AccessKey!.AccessKeyId!;
            testEnv().proxy.setKeyLastUsed(foreignKeyId, { lastUsedDate: new Date(Date.now() - DAY_MS), serviceName: "s3", region: SES_REGION });
        },
        alertMentions: () => [foreignKeyId, "not created by this rotator", "delete-access-key"],
        // What the alert says to do: the owner confirms nothing needs it, and deletes it.
        repair: async (c) => {
            if ((await statusOf(c, foreignKeyId)) !== "Active") throw new Error(`the foreign key ${foreignKeyId} was touched by the failed rotation`);
            await c.world.iam.send(new DeleteAccessKeyCommand({ UserName: USER, AccessKeyId: foreignKeyId }));
        },
    },
    {
        name: "hostile retirement record on the current key",
        family: "other people's keys and records",
        fault: "someone with iam:TagUser wrote a retirement record for the key AWSCURRENT holds (phase deactivated, grace over) before the rotation",
        expect: "rotated",
        setup: async (c) => {
            await c.world.iam.send(
                new TagUserCommand({
                    UserName: USER,
                    Tags: [{ Key: retirementTagKey(c.world.firstKeyId), Value: "phase=deactivated new=AKIAIOSFODNN7EXAMPLE switched=2026-11-01T00:00:00Z deactivate=2026-11-02T00:00:00Z delete=2026-11-03T00:00:00Z" }],
                }),
            );
        },
        verify: async (c) => {
            const refused = c.h.notices().find((n) => n.includes("retirement-refused") && n.includes(c.world.firstKeyId));
            if (!refused) throw new Error("no retirement-refused alert naming the current key");
            // The real switch replaced the forged record: the old key retires normally (deactivated, or already deleted).
            const current = (await c.h.valueOf("AWSCURRENT"))!.username;
            const record = (await listRetirements(c.world.iam, USER)).find((r) => r.accessKeyId === c.world.firstKeyId);
            const status = await statusOf(c, c.world.firstKeyId);
            if (status === "Active" || (status !== "absent" && record?.newAccessKeyId !== current)) {
                throw new Error(`the old key is ${status} with record ${JSON.stringify(record)}; expected it retiring in favour of ${current}`);
            }
        },
    },
    {
        name: "old key re-activated during its grace period",
        family: "other people's keys and records",
        fault: "after the rotation deactivated the old key, an operator re-activates it for a missed consumer; the grace period then ends",
        expect: "rotated",
        // Deactivated at the finish step (observation 0), kept for 30 days: still Inactive after the harness's convergence.
        config: { retirement: { observationHours: 0, graceDays: 30 } },
        verify: async (c) => {
            const old = c.world.firstKeyId;
            if ((await statusOf(c, old)) !== "Inactive") throw new Error(`expected the old key Inactive in its grace period, found ${await statusOf(c, old)}`);
            await c.world.iam.send(new UpdateAccessKeyCommand({ UserName: USER, AccessKeyId: old, Status: "Active" }));
            // The hourly retirement run, past the grace period.
            const deps = { iam: c.world.iam, sns: c.world.sns, log: scannedLogger("retirement"), store: secretCredentialReader(c.world.secrets, c.world.secretArn) };
            const report = await advanceRetirements(deps, { userName: USER, policy: { observationHours: 0, graceDays: 30 }, notifyTopicArn: c.world.topicArn, now: new Date(c.world.clock + 31 * DAY_MS) });
            if ((await statusOf(c, old)) !== "Active") throw new Error("the re-activated old key was deleted");
            if (!report.held.includes(old)) throw new Error(`not held: ${JSON.stringify(report.keys)}`);
            if ((await listRetirements(c.world.iam, USER)).find((r) => r.accessKeyId === old)?.heldReason !== "reactivated") throw new Error("the record does not say re-activated");
            if (!c.h.notices().some((n) => n.includes("retirement-held") && n.includes(old) && n.includes("re-activated"))) throw new Error("no alert for the re-activated key");
        },
    },
];
