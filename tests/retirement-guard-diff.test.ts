/**
 * RetirementGuard's diff (issue 13 item 9): a preview shows an update only when `pulumi up` would change
 * something. A retirement the last run could not advance (its replacement key is not Active, so the old key
 * stays as it is) must not show a change on every preview. Against moto through the wire proxy, called through
 * the dynamic-provider host's data path (tests/support/dynamic-provider-host.ts).
 */
import * as assert from "assert";
import { CreateAccessKeyCommand, CreateUserCommand, IAMClient, ListAccessKeysCommand, UpdateAccessKeyCommand } from "@aws-sdk/client-iam";
import { CreateSecretCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { clientConfig, resetAws } from "./support/hooks";
import { smtpCredentialForKey } from "../runtime/access-keys";
import { serializeCredential } from "../runtime/credential";
import { hosted } from "./support/dynamic-provider-host";
import { scheduleRetirement } from "../runtime/retirement";
import { scannedLogger } from "./support/leak-scanner";
import { retirementGuardProvider, RetirementGuardInputs } from "../components/providers/retirement-guard";

const provider = hosted(retirementGuardProvider);
const region = "us-east-1";
const userName = "smtp-rotator-diff";
const iam = () => new IAMClient(clientConfig(region));

async function key(): Promise<string> {
    return (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!.AccessKeyId!;
}

describe("providers: RetirementGuard diff shows only what up would change", () => {
    beforeEach(resetAws);

    it("a retirement stuck on an unusable replacement key: no change on repeated previews", async () => {
        await iam().send(new CreateUserCommand({ UserName: userName }));
        const oldKey = await key();
        const made = (await iam().send(new CreateAccessKeyCommand({ UserName: userName }))).AccessKey!;
        const replacement = made.AccessKeyId!;
        // AWSCURRENT names the replacement (the retirement re-reads it before acting)
        const value = serializeCredential(smtpCredentialForKey({ accessKeyId: replacement, secretAccessKey: made.SecretAccessKey! }, { sesRegion: region }));
        const secretArn = (await new SecretsManagerClient(clientConfig(region)).send(new CreateSecretCommand({ Name: "smtp-bu-diff", SecretString: value }))).ARN!;
        await iam().send(new UpdateAccessKeyCommand({ UserName: userName, AccessKeyId: replacement, Status: "Inactive" }));
        await scheduleRetirement(
            { iam: iam(), log: scannedLogger("retirement") },
            { userName, oldAccessKeyId: oldKey, newAccessKeyId: replacement, switchedAt: new Date(Date.now() - 3600_000), observationHours: 0 },
        );
        const inputs: RetirementGuardInputs = { iamUserName: userName, region, secretArn, observationHours: 0, graceDays: 7 };
        const created = await provider.create(inputs);
        const summary = created.outs!.retirements.find((r) => r.accessKeyId === oldKey)!;
        assert.match(String(summary.note), /not retiring: the replacement key/);
        const keys = (await iam().send(new ListAccessKeysCommand({ UserName: userName }))).AccessKeyMetadata!;
        assert.strictEqual(keys.find((k) => k.AccessKeyId === oldKey)!.Status, "Active", "up left the old key as it was");
        for (let i = 0; i < 3; i++) assert.strictEqual((await provider.diff(created.id, created.outs!, inputs)).changes, false, `preview ${i + 1}`);

        // Something that up would act on still shows: an input change.
        assert.strictEqual((await provider.diff(created.id, created.outs!, { ...inputs, graceDays: 3 })).changes, true);
    });
});
