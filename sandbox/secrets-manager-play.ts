/**
 * Plays Secrets Manager's side of an auto-mode rotation (moto cannot invoke a rotation Lambda: its RotateSecret
 * either needs Docker-run Lambdas or, without one, moves AWSCURRENT itself). The demo, the benchmark and the
 * tests run the real handler through these calls. An emulation of what AWS does, named as such wherever used.
 */
import { randomUUID } from "crypto";
import {
    DescribeSecretCommand,
    GetSecretValueCommand,
    PutSecretValueCommand,
    SecretsManagerClient,
    UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import type { RotationEvent } from "../runtime/auto/rotation-handler";

/** The four rotation steps, in the order Secrets Manager invokes them. */
export const STEPS = ["createSecret", "setSecret", "testSecret", "finishSecret"] as const;

/**
 * Secrets Manager's RotateSecret, as moto does it with RotateImmediately=false: a version for a new token,
 * labelled AWSPENDING, holding a copy of the current value. Returns the token.
 */
export async function createPendingVersion(secrets: SecretsManagerClient, secretId: string): Promise<string> {
    const token = randomUUID();
    const current = await secrets.send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: "AWSCURRENT" }));
    await secrets.send(new PutSecretValueCommand({ SecretId: secretId, ClientRequestToken: token, SecretString: current.SecretString!, VersionStages: ["AWSPENDING"] }));
    return token;
}

/** What Secrets Manager does after a successful finishSecret: the AWSPENDING label leaves the token's version. */
export async function removePendingLabel(secrets: SecretsManagerClient, secretId: string, token: string): Promise<void> {
    await secrets.send(new UpdateSecretVersionStageCommand({ SecretId: secretId, VersionStage: "AWSPENDING", RemoveFromVersionId: token }));
}

/**
 * One whole rotation as Secrets Manager runs it: the pending version (createPendingVersion), the four steps
 * through `handler` (`afterStep` is called after each), then the AWSPENDING label removed. Returns the token;
 * a failing step's error propagates and AWSPENDING stays, as in AWS.
 */
export async function playRotation(
    secrets: SecretsManagerClient,
    secretId: string,
    handler: (event: RotationEvent) => Promise<void>,
    afterStep: (step: (typeof STEPS)[number]) => void | Promise<void> = () => undefined,
): Promise<string> {
    const token = await createPendingVersion(secrets, secretId);
    for (const step of STEPS) {
        await handler({ Step: step, SecretId: secretId, ClientRequestToken: token });
        await afterStep(step);
    }
    await removePendingLabel(secrets, secretId, token);
    return token;
}

/**
 * Secrets Manager's configuration test, run when rotation is configured (or its schedule changes) with
 * RotateImmediately=false: "the test creates an AWSPENDING version of the secret and then removes it", invoking
 * only testSecret on it. Whether that version holds no value or a copy of the current one is not documented:
 * moto's version is always a copy; `beforeTest(token)` is where a caller emulates the value-less variant (the
 * tests fault GetSecretValue of that version at the proxy). The pending label goes whether the test passed or
 * not; a failing testSecret's error propagates. Returns the token.
 */
export async function playConfigurationTest(
    secrets: SecretsManagerClient,
    secretId: string,
    handler: (event: RotationEvent) => Promise<void>,
    beforeTest: (token: string) => void | Promise<void> = () => undefined,
): Promise<string> {
    const token = await createPendingVersion(secrets, secretId);
    await beforeTest(token);
    try {
        await handler({ Step: "testSecret", SecretId: secretId, ClientRequestToken: token });
    } finally {
        const stages = (await secrets.send(new DescribeSecretCommand({ SecretId: secretId }))).VersionIdsToStages ?? {};
        if (stages[token]?.includes("AWSPENDING")) await removePendingLabel(secrets, secretId, token);
    }
    return token;
}
