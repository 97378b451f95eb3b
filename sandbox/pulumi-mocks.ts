/**
 * Pulumi resource-graph tests without the Pulumi CLI or an AWS account: `pulumi.runtime.setMocks`.
 *
 * mocha runs every test file in one process, and `setMocks` must run before any component module creates
 * resources, so every Pulumi test file imports THIS module first (it calls `setMocks` exactly once) and
 * uses `recorded()` / `resetRecorded()` to see what its own test registered.
 *
 * Besides the mock provider answers, this wraps the mock monitor to record, per resource, the parent URN
 * (from the real RegisterResource request) and whether the resource later called `registerOutputs`.
 * This is Pulumi's mock monitor, not a deployment: nothing here talks to AWS.
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

/** What the mocked AWS provider reports about "the account" (change per test, restore after). */
export interface MockAwsEnvironment {
    partition: string;
    dnsSuffix: string;
    region: string;
    accountId: string;
}

export const DEFAULT_MOCK_AWS: Readonly<MockAwsEnvironment> = Object.freeze({
    partition: "aws",
    dnsSuffix: "amazonaws.com",
    region: "eu-west-1",
    accountId: "123456789012",
});

/** Mutable: tests may switch partition/region for one case and must call `resetMockAws()` afterwards. */
export const mockAws: MockAwsEnvironment = { ...DEFAULT_MOCK_AWS };

export function resetMockAws(): void {
    Object.assign(mockAws, DEFAULT_MOCK_AWS);
}

/** One resource registration as the engine would have received it. */
export interface RecordedResource {
    urn: string;
    type: string;
    /** the Pulumi logical name */
    name: string;
    /** true for provider resources (not components) */
    custom: boolean;
    /** parent URN as sent in the RegisterResource request ("" = the stack) */
    parent: string;
    /** the inputs the program sent, deserialized, secret wrappers removed (see `secretInputs`) */
    inputs: Record<string, any>;
    /** paths (a.b.c) of input values the program marked secret */
    secretInputs: string[];
    /** URNs this resource depends on, as sent in the RegisterResource request (explicit `dependsOn` and input dependencies) */
    dependencies: string[];
    /** the state the mock returned (inputs + synthesized physical names/ARNs) */
    state: Record<string, any>;
    /** registerOutputs was called for this URN (components must always do it) */
    outputsRegistered: boolean;
    /** the outputs given to registerOutputs */
    registeredOutputs?: Record<string, any>;
}

const records: RecordedResource[] = [];
const invokes: { token: string; inputs: any }[] = [];

/** Everything registered since the last `resetRecorded()`. */
export function recorded(): RecordedResource[] {
    return records.slice();
}

/** Data-source invokes (getPartition, getCallerIdentity, ...) since the last reset. */
export function recordedInvokes(): { token: string; inputs: any }[] {
    return invokes.slice();
}

export function resetRecorded(): void {
    records.length = 0;
    invokes.length = 0;
}

const isSecretWrapper = (v: any) => v !== null && typeof v === "object" && v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig;

/** Removes Pulumi's secret wrappers, collecting the paths that were secret. */
function unwrapSecrets(value: any, path: string, secretPaths: string[]): any {
    if (isSecretWrapper(value)) {
        secretPaths.push(path);
        return unwrapSecrets(value.value, path, secretPaths);
    }
    if (pulumi.asset.Asset.isInstance(value) || pulumi.asset.Archive.isInstance(value)) return value; // kept whole: its content is a promise
    if (Array.isArray(value)) return value.map((v, i) => unwrapSecrets(v, `${path}[${i}]`, secretPaths));
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v, path ? `${path}.${k}` : k, secretPaths)]));
    }
    return value;
}

function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 7);
}

/** The "physical name" the mock provider invents for an autonamed resource (like Pulumi autonaming does). */
function physicalName(args: pulumi.runtime.MockResourceArgs): string {
    if (typeof args.inputs.name === "string") return args.inputs.name;
    return `${args.name}-${shortHash(`${args.type}::${args.name}`)}`;
}

function arnFor(type: string, name: string): string | undefined {
    const { partition, region, accountId } = mockAws;
    const [pkg, mod, kind] = type.split(":");
    if (pkg !== "aws") return undefined;
    const svc = mod.split("/")[0];
    switch (svc) {
        case "iam":
            return `arn:${partition}:iam::${accountId}:${kind.toLowerCase().replace(/policy$/, "policy")}/${name}`;
        case "secretsmanager":
            return `arn:${partition}:secretsmanager:${region}:${accountId}:secret:${name}-AbCdEf`;
        case "lambda":
            return `arn:${partition}:lambda:${region}:${accountId}:function:${name}`;
        case "sns":
            return `arn:${partition}:sns:${region}:${accountId}:${name}`;
        case "cloudwatch":
            return `arn:${partition}:events:${region}:${accountId}:rule/${name}`;
        case "ssm":
            return `arn:${partition}:ssm:${region}:${accountId}:${kind === "Document" ? "document" : "parameter"}/${name}`;
        case "dynamodb":
            return `arn:${partition}:dynamodb:${region}:${accountId}:table/${name}`;
        case "sfn": // Step Functions ARNs name the service "states"
            return `arn:${partition}:states:${region}:${accountId}:${kind === "StateMachine" ? "stateMachine" : kind.toLowerCase()}:${name}`;
        default:
            return `arn:${partition}:${svc}:${region}:${accountId}:${kind.toLowerCase()}/${name}`;
    }
}

const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
        const name = physicalName(args);
        const state: Record<string, any> = { ...args.inputs, name };
        const arn = arnFor(args.type, name);
        if (arn && args.type !== "aws:lambda/permission:Permission") state.arn = arn;
        if (args.type === "aws:lambda/function:Function") state.invokeArn = `${arn}/invocations`;
        // What SSM answers CreateDocument with: the first version is both the latest and the default.
        if (args.type === "aws:ssm/document:Document") Object.assign(state, { latestVersion: "1", defaultVersion: "1", documentVersion: "1" });
        // The first credential's provider reports the access key it made (an id: never the secret key).
        if (args.type === "pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential") state.accessKeyId = `AKIA${shortHash(name).toUpperCase()}MOCKKEYID`.slice(0, 20);
        return { id: `${name}-id`, state };
    },
    call(args) {
        invokes.push({ token: args.token, inputs: args.inputs });
        const { partition, dnsSuffix, region, accountId } = mockAws;
        switch (args.token) {
            case "aws:index/getPartition:getPartition":
                return { id: partition, partition, dnsSuffix, reverseDnsPrefix: dnsSuffix.split(".").reverse().join(".") };
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { id: accountId, accountId, arn: `arn:${partition}:iam::${accountId}:user/tester`, userId: "AIDAEXAMPLE" };
            case "aws:index/getRegion:getRegion":
                return { id: region, name: region, region, description: region, endpoint: `ec2.${region}.${dnsSuffix}` };
            default:
                throw new Error(`pulumi-mocks: no mock for invoke ${args.token}`);
        }
    },
};

pulumi.runtime.setMocks(mocks, "ses-smtp-rotator", "test", false);

// Record parents and registerOutputs calls by wrapping the (mock) monitor's RPC methods.
const monitor = pulumi.runtime.getMonitor() as any;
const registerResource = monitor.registerResource.bind(monitor);
monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) =>
    registerResource(req, (err: any, resp: any) => {
        if (!err && resp) {
            const secretInputs: string[] = [];
            const inputs = unwrapSecrets(pulumi.runtime.deserializeProperties(req.getObject()), "", secretInputs);
            records.push({
                urn: resp.getUrn(),
                type: req.getType(),
                name: req.getName(),
                custom: req.getCustom(),
                parent: req.getParent(),
                inputs,
                secretInputs,
                dependencies: req.getDependenciesList(),
                state: unwrapSecrets(pulumi.runtime.deserializeProperties(resp.getObject()), "", []),
                outputsRegistered: false,
            });
        }
        callback(err, resp);
    });
const registerResourceOutputs = monitor.registerResourceOutputs.bind(monitor);
monitor.registerResourceOutputs = (req: any, callback: (err: any, resp: any) => void) => {
    const rec = records.find((r) => r.urn === req.getUrn());
    if (rec) {
        rec.outputsRegistered = true;
        rec.registeredOutputs = unwrapSecrets(pulumi.runtime.deserializeProperties(req.getOutputs()), "", []);
    }
    return registerResourceOutputs(req, callback);
};

/** Waits until every outstanding resource registration / invoke / output registration has finished. */
export async function settled(): Promise<void> {
    await (pulumi.runtime as any).waitForRPCs();
}

/** The resolved value of an Output (under mocks every value is known). */
export function valueOf<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((v) => resolve(v)));
}

/** Resources of one type token. */
export function ofType(type: string, from: RecordedResource[] = recorded()): RecordedResource[] {
    return from.filter((r) => r.type === type);
}

/** Counts registrations by type token, sorted by token (readable in assertion diffs). */
export function countByType(from: RecordedResource[] = recorded()): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of from) counts[r.type] = (counts[r.type] ?? 0) + 1;
    return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}

/** All resources whose parent chain leads to `rootUrn` (not including it). */
export function descendantsOf(rootUrn: string, from: RecordedResource[] = recorded()): RecordedResource[] {
    const byUrn = new Map(from.map((r) => [r.urn, r]));
    return from.filter((r) => {
        for (let p = r.parent; p; p = byUrn.get(p)?.parent ?? "") {
            if (p === rootUrn) return true;
        }
        return false;
    });
}
