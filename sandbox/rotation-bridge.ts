/**
 * Secrets Manager rotation bridge: plays what Secrets Manager does when someone calls `RotateSecret` on a
 * secret with rotation configured (moto cannot invoke a rotation Lambda): it answers the call as AWS does
 * (`{ ARN, Name, VersionId }`, at once), then in the background makes the AWSPENDING version for the request's
 * token and calls the REAL rotation handler for the four steps, removing AWSPENDING after a successful
 * finishSecret. A failing step leaves AWSPENDING in place, as in AWS. An emulation, named as such wherever used;
 * it lets the operator CLI's `rotate` run the real call against the sandbox.
 */
import { GetSecretValueCommand, PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { randomUUID } from "crypto";
import type { RotationEvent } from "../runtime/auto/rotation-handler";
import type { AwsProxy } from "./aws-proxy";
import { removePendingLabel, STEPS } from "./secrets-manager-play";

export interface BridgedRotation {
    token: string;
    /** resolves when the rotation ended (never rejects) */
    done: Promise<{ ok: boolean; error?: string }>;
}

/**
 * Answers RotateSecret for `secretArn` through `proxy` by running `handler`. Returns a function that removes
 * the bridge, and the list of rotations it ran.
 */
export function bridgeRotateSecret(
    proxy: AwsProxy,
    secrets: SecretsManagerClient,
    secretArn: string,
    handler: (event: RotationEvent) => Promise<void>,
): { rotations: BridgedRotation[]; dispose: () => void } {
    const rotations: BridgedRotation[] = [];
    const dispose = proxy.addInterceptor(async (req) => {
        if (req.service !== "secretsmanager" || !/RotateSecret$/.test(req.operation)) return undefined;
        const input = JSON.parse(req.body || "{}") as { SecretId?: string; ClientRequestToken?: string };
        if (input.SecretId !== secretArn) return undefined;
        const token = input.ClientRequestToken ?? randomUUID();
        const current = await secrets.send(new GetSecretValueCommand({ SecretId: secretArn, VersionStage: "AWSCURRENT" }));
        await secrets.send(new PutSecretValueCommand({ SecretId: secretArn, ClientRequestToken: token, SecretString: current.SecretString!, VersionStages: ["AWSPENDING"] }));
        const done = (async () => {
            try {
                for (const step of STEPS) await handler({ Step: step, SecretId: secretArn, ClientRequestToken: token });
                await removePendingLabel(secrets, secretArn, token);
                return { ok: true };
            } catch (e) {
                return { ok: false, error: String((e as Error)?.message ?? e) };
            }
        })();
        rotations.push({ token, done });
        return { status: 200, headers: { "content-type": "application/x-amz-json-1.1" }, body: JSON.stringify({ ARN: secretArn, Name: current.Name, VersionId: token }) };
    });
    return { rotations, dispose };
}
