/**
 * One program evaluation under Pulumi's mock runtime, in a fresh process (setMocks is process-global).
 * Builds `BENCH_ROTATORS` business units the way index.ts builds one (readStackConfig → EmailServerFleet +
 * SmtpCredentialRotator), with the example stack's settings (Pulumi.prod.yaml) and a distinct business unit
 * per unit: odd units auto mode, even units manual mode, tag and table fleets alternating within each mode;
 * then waits until every resource registration has settled.
 * Prints one JSON line: {resources, moduleLoadMs, evalMs}.
 */
const start = performance.now();
// setMocks first (the mock runtime the tests share, sandbox/pulumi-mocks.ts), then the components.
import mocks = require("../sandbox/pulumi-mocks");
import config = require("../components/config");
import fleetModule = require("../components/fleet");
import rotatorModule = require("../components/rotator");

/** The example stack's settings as `pulumi.Config.get` returns them (lists as JSON text). */
function exampleStack(unit: string, i: number): Record<string, string> {
    // Half auto, half manual mode; within each, tag and table fleets alternate.
    const mode = i % 2 === 1 ? "auto" : "manual";
    const fleet: Record<string, string> = Math.ceil(i / 2) % 2 === 1 ? { fleetTagKey: "SmtpFleet", fleetTagValue: unit } : { fleetTable: "create" };
    return {
        businessUnit: unit,
        mode,
        sesRegion: "eu-west-1",
        sesIdentities: JSON.stringify([`${unit}.example.com`]),
        ...fleet,
        serverRoleNames: JSON.stringify([`${unit}-mail-server`]),
        notifyEmails: JSON.stringify([`${unit}-ops@example.com`]),
        rotateAfterDays: "90",
        rotationWindow: "4h",
        retirementObservationHours: "24",
        retirementGraceDays: "3",
    };
}

async function main(): Promise<void> {
    const count = Number(process.env.BENCH_ROTATORS);
    if (!Number.isInteger(count) || count < 1) throw new Error(`BENCH_ROTATORS must be a positive integer, got ${JSON.stringify(process.env.BENCH_ROTATORS)}`);
    const loaded = performance.now();
    for (let i = 1; i <= count; i++) {
        const values = exampleStack(`bu${String(i).padStart(2, "0")}`, i);
        const stack = config.readStackConfig((key) => values[key]);
        const fleet = new fleetModule.EmailServerFleet(`${stack.businessUnit}-fleet`, stack.fleetArgs);
        new rotatorModule.SmtpCredentialRotator(stack.businessUnit, { ...stack.rotatorArgs, fleet });
    }
    await mocks.settled();
    const done = performance.now();
    process.stdout.write(JSON.stringify({ resources: mocks.recorded().length, moduleLoadMs: loaded - start, evalMs: done - loaded }) + "\n");
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`program evaluation failed: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
