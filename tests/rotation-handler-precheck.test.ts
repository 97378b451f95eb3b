/**
 * setSecret proves the pending credential with a real SMTP AUTH BEFORE any server is told about it (a server
 * must never be switched to a credential SES refuses). If the pre-check were skipped, the fleet would get the
 * command and setSecret would succeed: these tests fail then.
 */
import * as assert from "assert";
import { RotationWorld } from "./support/rotation-driver";
import { useRotationWorld } from "./support/suite-hooks";
import { SesEndpoint } from "../sandbox/ses-endpoint";

describe("auto-mode setSecret: the SMTP pre-check comes before the fleet", () => {
    let endpoint: SesEndpoint;
    let world: RotationWorld;
    useRotationWorld((e, w) => {
        endpoint = e;
        world = w;
    });

    it("a pending key SES refuses fails setSecret with no SSM command sent", async () => {
        const token = await world.beginRotation();
        await world.step("createSecret", token);
        const pending = await world.value({ versionId: token });
        endpoint.refuseLogin = (username) => (username === pending.username ? "refused-by-test" : undefined);
        await assert.rejects(world.step("setSecret", token), /auth-rejected|535|refused/i);
        assert.deepStrictEqual(world.sentCommands(), [], "no server was told about a credential SES refuses");
        assert.ok(endpoint.authLog.some((e) => e.username === pending.username && e.reason === "refused-by-test"), "setSecret tried the pending key by SMTP AUTH");
    });

    it("an accepted pending key is logged in with before the first SendCommand", async () => {
        const token = await world.beginRotation();
        await world.step("createSecret", token);
        const pending = await world.value({ versionId: token });
        let commandsAtLogin: number | undefined;
        endpoint.refuseLogin = (username) => {
            if (username === pending.username && commandsAtLogin === undefined) commandsAtLogin = world.sentCommands().length;
            return undefined;
        };
        await world.step("setSecret", token);
        assert.strictEqual(commandsAtLogin, 0, "the pending key's first SMTP AUTH came before any SSM command");
        assert.ok(world.sentCommands().length > 0);
    });
});
