/**
 * RetireOldKeys task (manual mode), run by CredentialRotation after every server confirmed:
 *  - `deactivate`: the previous keys become Inactive (the grace period starts; an operator can re-activate one);
 *  - `delete` (after the grace Wait): deletes the previous keys that are still Inactive. A key somebody
 *    re-activated during the grace period is kept and reported as `kept-active`, never deleted.
 * The new key (`keepAccessKeyId`) is never touched. Idempotent: a key already gone counts as done.
 */
import type { IAMClient } from "@aws-sdk/client-iam";
import { deactivateAccessKey, deleteAccessKey, listAccessKeys } from "../access-keys";
import { jsonLineLogger, Logger } from "../notify";

export interface RetireDeps {
    iam: IAMClient;
    log?: Logger;
}

export interface RetireEvent {
    action: "deactivate" | "delete";
    accessKeyIds: string[];
    keepAccessKeyId: string;
}

export type RetireKeyResult = "deactivated" | "deleted" | "absent" | "kept-active";

export interface RetireResult {
    action: "deactivate" | "delete";
    keys: { accessKeyId: string; result: RetireKeyResult }[];
}

/** The RetireOldKeys Lambda handler. */
export function createRetireHandler(deps: RetireDeps, config: { iamUserName: string }): (event: RetireEvent) => Promise<RetireResult> {
    if (typeof config?.iamUserName !== "string" || config.iamUserName === "") throw new Error("iamUserName must be a non-empty IAM user name");
    const log = deps.log ?? jsonLineLogger;
    return async (event) => {
        if (event?.action !== "deactivate" && event?.action !== "delete") throw new Error(`action ${JSON.stringify(event?.action)} must be "deactivate" or "delete"`);
        if (!Array.isArray(event.accessKeyIds) || event.accessKeyIds.some((k) => typeof k !== "string")) throw new Error("accessKeyIds must be a list of access key ids");
        if (typeof event.keepAccessKeyId !== "string" || event.keepAccessKeyId === "") throw new Error("keepAccessKeyId must be the new access key id");
        const targets = event.accessKeyIds.filter((k) => k !== event.keepAccessKeyId);
        const current = new Map((await listAccessKeys(deps.iam, config.iamUserName)).map((k) => [k.accessKeyId, k.status]));
        const keys: RetireResult["keys"] = [];
        for (const accessKeyId of targets) {
            let result: RetireKeyResult;
            if (!current.has(accessKeyId)) result = "absent";
            else if (event.action === "deactivate") result = await deactivateAccessKey(deps.iam, config.iamUserName, accessKeyId);
            else if (current.get(accessKeyId) === "Active") result = "kept-active";
            else result = await deleteAccessKey(deps.iam, config.iamUserName, accessKeyId);
            keys.push({ accessKeyId, result });
        }
        log(`old keys: ${event.action}`, { userName: config.iamUserName, keys });
        return { action: event.action, keys };
    };
}
