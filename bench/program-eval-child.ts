/**
 * One program evaluation under Pulumi's mock runtime, in a fresh process (setMocks is process-global).
 * Builds `BENCH_ROTATORS` business units the way index.ts builds one (readStackConfig → EmailServerFleet +
 * SmtpCredentialRotator), with the example stack's settings (Pulumi.prod.yaml) and a distinct business unit
 * per unit: odd units auto mode, even units manual mode, tag and table fleets alternating within each mode;
 * then waits until every resource registration has settled.
 * `BENCH_FLOOR=N` instead registers N plain AWS resources (roles, log groups, topics, role policies) under the
 * same mocks: what Pulumi's SDK itself costs per resource, with no code of this library in the way.
 * `BENCH_FROM=bin` loads the compiled package (bin/, as `npm ci` builds it) instead of the TypeScript sources;
 * the runner then starts this file as plain JavaScript, without ts-node.
 * Prints one JSON line: {resources, moduleLoadMs, evalMs, evalCpuMs}.
 */
const start = performance.now();
import path = require("path");

const root = process.env.BENCH_ROOT ?? path.resolve(__dirname, "..");
const from = process.env.BENCH_FROM === "bin" ? path.join(root, "bin") : root;
// setMocks first (the mock runtime the tests share, sandbox/pulumi-mocks.ts), then the components.
const mocks: typeof import("../sandbox/pulumi-mocks") = require(path.join(from, "sandbox", "pulumi-mocks"));
const config: typeof import("../components/config") = require(path.join(from, "components", "config"));
const fleetModule: typeof import("../components/fleet") = require(path.join(from, "components", "fleet"));
const rotatorModule: typeof import("../components/rotator") = require(path.join(from, "components", "rotator"));
import aws = require("@pulumi/aws");

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

/** N plain resources, four kinds in turn: Pulumi's own cost per registration. */
function plainResources(n: number): void {
    for (let i = 0; i < n; i++) {
        if (i % 4 === 0) new aws.iam.Role(`role-${i}`, { assumeRolePolicy: "{}" });
        else if (i % 4 === 1) new aws.cloudwatch.LogGroup(`log-${i}`, { retentionInDays: 30 });
        else if (i % 4 === 2) new aws.sns.Topic(`topic-${i}`, {});
        else new aws.iam.RolePolicy(`policy-${i}`, { role: "role", policy: "{}" });
    }
}

async function main(): Promise<void> {
    const floor = process.env.BENCH_FLOOR === undefined ? undefined : Number(process.env.BENCH_FLOOR);
    const count = Number(process.env.BENCH_ROTATORS);
    if (floor !== undefined && !(Number.isInteger(floor) && floor > 0)) throw new Error(`BENCH_FLOOR must be a positive integer, got ${JSON.stringify(process.env.BENCH_FLOOR)}`);
    if (floor === undefined && !(Number.isInteger(count) && count > 0)) throw new Error(`BENCH_ROTATORS must be a positive integer, got ${JSON.stringify(process.env.BENCH_ROTATORS)}`);
    const loaded = performance.now();
    const cpuAtLoad = process.cpuUsage();
    if (floor !== undefined) plainResources(floor);
    else
        for (let i = 1; i <= count; i++) {
            const values = exampleStack(`bu${String(i).padStart(2, "0")}`, i);
            const stack = config.readStackConfig((key) => values[key]);
            const fleet = new fleetModule.EmailServerFleet(`${stack.businessUnit}-fleet`, stack.fleetArgs);
            new rotatorModule.SmtpCredentialRotator(stack.businessUnit, { ...stack.rotatorArgs, fleet });
        }
    await mocks.settled();
    const done = performance.now();
    const cpu = process.cpuUsage(cpuAtLoad);
    process.stdout.write(JSON.stringify({ resources: mocks.recorded().length, moduleLoadMs: loaded - start, evalMs: done - loaded, evalCpuMs: (cpu.user + cpu.system) / 1000 }) + "\n");
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`program evaluation failed: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
