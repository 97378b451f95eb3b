/**
 * Stable entry point `ses-smtp-rotator/providers/retirement-guard`: the dynamic provider behind `RetirementGuard`
 * (type `pulumi-nodejs:dynamic/ses-rotator:RetirementGuard`). This module's export IS the provider object, so when the
 * library is installed under node_modules, Pulumi stores `require("ses-smtp-rotator/providers/retirement-guard")` as the
 * resource's `__provider` instead of the provider's code, and `refresh` / `destroy` of an existing stack load
 * the provider of the version installed then. Compatibility rule: README "Upgrades and Pulumi state".
 */
import impl = require("../components/providers/retirement-guard");
export = impl.retirementGuardProvider;
