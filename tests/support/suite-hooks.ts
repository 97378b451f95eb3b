/**
 * The mocha hooks that suites of rotation-handler runs and of manual-mode rigs share: one place for fresh AWS
 * state, the SES-compatible endpoint's lifetime and a rig's story and tear-down.
 */
import { resetAws, testEnv } from "./hooks";
import { ManualRig } from "./manual-rig";
import { RotationWorld, SES_REGION } from "./rotation-driver";
import { SesEndpoint, startSesEndpoint } from "../../sandbox/ses-endpoint";

/**
 * One SES-compatible endpoint for the suite; before each test fresh AWS state, an empty auth log, no login veto
 * and a new {@link RotationWorld} on that endpoint, handed to `use`.
 */
export function useRotationWorld(use: (endpoint: SesEndpoint, world: RotationWorld) => void): void {
    let endpoint: SesEndpoint;
    before(async () => {
        endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
    });
    after(() => endpoint.stop());
    beforeEach(async () => {
        await resetAws();
        endpoint.authLog.length = 0;
        endpoint.refuseLogin = undefined;
        use(endpoint, await new RotationWorld(endpoint).setUp());
    });
}

/**
 * Fresh AWS state before each test; after it, the rig the test made (handed to the returned `track`) prints its
 * story if the test failed and is torn down.
 */
export function useManualRigs(): (rig: ManualRig) => ManualRig {
    let rig: ManualRig | undefined;
    beforeEach(async () => {
        rig = undefined;
        await resetAws();
    });
    afterEach(async function () {
        if (this.currentTest?.state === "failed" && rig) console.log(await rig.explain());
        await rig?.tearDown();
    });
    return (r) => (rig = r);
}
