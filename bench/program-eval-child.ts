/**
 * One program evaluation under Pulumi's mock runtime, in a fresh process (setMocks is process-global).
 * Builds `BENCH_ROTATORS` business units the way index.ts builds one (readStackConfig → EmailServerFleet +
 * SmtpCredentialRotator), with the example stack's settings (Pulumi.prod.yaml) and a distinct business unit
 * per unit: odd units auto mode, even units manual mode, tag and table fleets alternating within each mode;
 * then waits until every resource registration has settled.
 * `BENCH_RECORD=file` writes, after the measurement, every registration the run made (type, name, parent,
 * inputs). `BENCH_REPLAY=file` instead registers exactly those resources again (same types, names, parents and
 * inputs, components included) under the same mocks, AWS resources with @pulumi/aws's own classes, the others as
 * plain `CustomResource`/`ComponentResource`s: what Pulumi and @pulumi/aws cost for that graph, with no code of
 * this library in the way (the floor).
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
import pulumi = require("@pulumi/pulumi");
import aws = require("@pulumi/aws");
import fs = require("fs");

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

/** What BENCH_RECORD writes per registration: enough to register the same resource again. */
interface Registration {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    parent: string;
    inputs: Record<string, unknown>;
}

class ReplayedCustom extends pulumi.CustomResource {
    constructor(type: string, name: string, inputs: pulumi.Inputs, opts: pulumi.CustomResourceOptions) {
        super(type, name, inputs, opts);
    }
}

class ReplayedProvider extends pulumi.ProviderResource {
    constructor(pkg: string, name: string, inputs: pulumi.Inputs, opts: pulumi.ResourceOptions) {
        super(pkg, name, inputs, opts);
    }
}

class ReplayedComponent extends pulumi.ComponentResource {
    constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        this.registerOutputs({});
    }
}

/** An `aws:<module>/<x>:<Kind>` registration made with @pulumi/aws's own class (`aws.<module>.<Kind>`), as a program would. */
function awsResource(r: Registration, opts: pulumi.CustomResourceOptions): pulumi.CustomResource | undefined {
    const m = /^aws:([^/:]+)\/[^:]+:(\w+)$/.exec(r.type);
    const kind = m ? (aws as any)[m[1]]?.[m[2]] : undefined;
    return typeof kind === "function" ? new kind(r.name, r.inputs, opts) : undefined;
}

/** Registers `registrations` again, in their order (a parent registers before its children), as plain resources. */
function replay(registrations: Registration[]): void {
    const byUrn = new Map<string, pulumi.Resource>();
    for (const r of registrations) {
        const opts = { parent: byUrn.get(r.parent) };
        const provider = /^pulumi:providers:(.+)$/.exec(r.type);
        if (provider) byUrn.set(r.urn, new ReplayedProvider(provider[1], r.name, r.inputs as pulumi.Inputs, opts));
        else if (r.custom) byUrn.set(r.urn, awsResource(r, opts) ?? new ReplayedCustom(r.type, r.name, r.inputs as pulumi.Inputs, opts));
        else byUrn.set(r.urn, new ReplayedComponent(r.type, r.name, opts));
    }
}

async function main(): Promise<void> {
    const replayFile = process.env.BENCH_REPLAY;
    const count = Number(process.env.BENCH_ROTATORS);
    if (replayFile === undefined && !(Number.isInteger(count) && count > 0)) throw new Error(`BENCH_ROTATORS must be a positive integer, got ${JSON.stringify(process.env.BENCH_ROTATORS)}`);
    const registrations: Registration[] | undefined = replayFile === undefined ? undefined : JSON.parse(fs.readFileSync(replayFile, "utf8"));
    const loaded = performance.now();
    const cpuAtLoad = process.cpuUsage();
    if (registrations) replay(registrations);
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
    if (process.env.BENCH_RECORD) {
        const record: Registration[] = mocks.recorded().map(({ urn, type, name, custom, parent, inputs }) => ({ urn, type, name, custom, parent, inputs }));
        fs.writeFileSync(process.env.BENCH_RECORD, JSON.stringify(record));
    }
    process.stdout.write(JSON.stringify({ resources: mocks.recorded().length, moduleLoadMs: loaded - start, evalMs: done - loaded, evalCpuMs: (cpu.user + cpu.system) / 1000 }) + "\n");
}

main().then(
    () => process.exit(0),
    (e) => {
        process.stderr.write(`program evaluation failed: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
    },
);
