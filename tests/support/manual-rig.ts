/**
 * The manual-mode rig lives in sandbox/manual-rig.ts (product-side: the benchmark uses it too, and product code
 * never imports from tests/). Here it is bound to the mocha root hooks' moto + proxy, and every line its handlers
 * log goes through the suite-wide leak scanner.
 */
import { ManualRig as SandboxManualRig, type RigOptions } from "../../sandbox/manual-rig";
import { testEnv } from "./hooks";
import { scannedLogger } from "./leak-scanner";

export { ACCOUNT, REGION, serverList, until } from "../../sandbox/manual-rig";
export type { RigHooks, RigOptions, RigWorld } from "../../sandbox/manual-rig";

/** {@link SandboxManualRig} on the test harness's world, observed by the leak scanner. */
export class ManualRig extends SandboxManualRig {
    constructor(opts: RigOptions) {
        super(opts, testEnv(), { observeLog: scannedLogger("manual-rig") });
    }
}
