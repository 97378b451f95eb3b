/**
 * A scratch consumer stack for tests/consumer-package.test.ts and bench/bundle.ts (bench code: tests may import it, it imports nothing of tests/): this repository packed with
 * `npm pack` (which runs `prepare`, the build), the tarball installed next to the pinned Pulumi packages, and a
 * TypeScript program that builds both components the way another stack would, under Pulumi's MOCK runtime
 * (`pulumi.runtime.setMocks`: the real closure serialization and code-path selection run, the engine and AWS do
 * not). The program writes what the engine would have received: each Lambda's archive (as the asset list
 * `aws.lambda.CallbackFunction` builds) and each dynamic resource's `__provider` text.
 */
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");

/** What `npm pack --json` reports about the tarball. */
export interface PackResult {
    filename: string;
    size: number;
    unpackedSize: number;
    entryCount: number;
    files: { path: string; size: number }[];
}

/** One Lambda of the consumer program, as the (mock) engine received it. */
export interface ConsumerLambda {
    /** Pulumi logical name */
    name: string;
    /** the function's environment variables */
    environment: Record<string, string>;
    /** archive entries: `__index.js` text, the rest as files relative to the consumer directory */
    indexText: string;
    files: string[];
}

/** One dynamic resource of the consumer program. */
export interface ConsumerProvider {
    type: string;
    name: string;
    /** the `__provider` text Pulumi stores in state */
    text: string;
    /** the other inputs (what `check` receives) */
    inputs: Record<string, unknown>;
}

/** What the consumer program wrote. */
export interface ConsumerManifest {
    resources: number;
    lambdas: ConsumerLambda[];
    providers: ConsumerProvider[];
}

/** The stack's region (aws:region) and the SES region the credentials are for: different on purpose. */
export const CONSUMER_STACK_REGION = "eu-central-1";
export const CONSUMER_SES_REGION = "eu-west-1";

/** The consumer's program: four business units, both modes, tag and table fleets. */
const PROGRAM = `
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";

// Pulumi's mock runtime (not the engine): records what the engine would receive.
const lambdas: any[] = [];
const dynamic: any[] = [];
let resources = 0;
const unwrap = (v: any): any =>
    v !== null && typeof v === "object" && v[pulumi.runtime.specialSigKey] === pulumi.runtime.specialSecretSig ? unwrap(v.value) : v;
const REGION = "${CONSUMER_STACK_REGION}";
function arnFor(svc: string, kind: string, name: string): string {
    switch (svc) {
        case "iam": return "arn:aws:iam::123456789012:" + kind.toLowerCase() + "/" + name;
        case "sns": return "arn:aws:sns:" + REGION + ":123456789012:" + name;
        case "secretsmanager": return "arn:aws:secretsmanager:" + REGION + ":123456789012:secret:" + name + "-AbCdEf";
        case "sfn": return "arn:aws:states:" + REGION + ":123456789012:stateMachine:" + name;
        case "lambda": return "arn:aws:lambda:" + REGION + ":123456789012:function:" + name;
        case "cloudwatch": return "arn:aws:events:" + REGION + ":123456789012:rule/" + name;
        case "ssm": return "arn:aws:ssm:" + REGION + ":123456789012:" + (kind === "Document" ? "document/" : "parameter/") + name;
        default: return "arn:aws:" + svc + ":" + REGION + ":123456789012:" + kind.toLowerCase() + "/" + name;
    }
}
pulumi.runtime.setMocks(
    {
        newResource(args) {
            resources++;
            const name = typeof args.inputs.name === "string" ? args.inputs.name : args.name + "-x1";
            const [pkg, mod] = args.type.split(":");
            const svc = (mod ?? "").split("/")[0];
            const state: any = { ...args.inputs, name };
            if (pkg === "aws") state.arn = arnFor(svc, args.type.split(":")[2] ?? "", name);
            if (args.type === "aws:lambda/function:Function") lambdas.push(args);
            if (args.type.startsWith("pulumi-nodejs:dynamic/")) dynamic.push(args);
            if (args.type === "pulumi-nodejs:dynamic/ses-rotator:BootstrapCredential") state.accessKeyId = "AKIAEXAMPLEMOCK00001";
            return { id: name + "-id", state };
        },
        call(args) {
            switch (args.token) {
                case "aws:index/getPartition:getPartition":
                    return { id: "aws", partition: "aws", dnsSuffix: "amazonaws.com", reverseDnsPrefix: "com.amazonaws" };
                case "aws:index/getCallerIdentity:getCallerIdentity":
                    return { id: "123456789012", accountId: "123456789012", arn: "arn:aws:iam::123456789012:user/consumer", userId: "AIDAEXAMPLE" };
                case "aws:index/getRegion:getRegion":
                    return { id: REGION, name: REGION, region: REGION, description: REGION, endpoint: "ec2." + REGION + ".amazonaws.com" };
                default:
                    return {};
            }
        },
    },
    "consumer",
    "dev",
    false,
);

// What a consumer writes: the library's documented entry point.
import { EmailServerFleet, SmtpCredentialRotator } from "ses-smtp-rotator";

const units: [string, "auto" | "manual", "tag" | "table"][] = [
    ["payments", "auto", "tag"],
    ["billing", "auto", "table"],
    ["support", "manual", "tag"],
    ["sales", "manual", "table"],
];
for (const [unit, mode, fleetKind] of units) {
    const fleet = new EmailServerFleet(unit + "-fleet", {
        selector: fleetKind === "tag" ? { tag: { key: "SmtpFleet", value: unit } } : { table: { create: true } },
    });
    new SmtpCredentialRotator(unit, { mode, sesRegion: "${CONSUMER_SES_REGION}", sesIdentities: [unit + ".example.com"], notifyEmails: ["ops@example.com"], fleet });
}

async function main(): Promise<void> {
    await (pulumi.runtime as any).waitForRPCs();
    const out: any = { resources, lambdas: [], providers: [] };
    for (const fn of lambdas) {
        const assets = await unwrap(fn.inputs.code).assets;
        const files: string[] = [];
        let indexText = "";
        for (const [entry, asset] of Object.entries<any>(assets)) {
            if (entry === "__index.js") indexText = await asset.text;
            else files.push(await asset.path);
        }
        out.lambdas.push({ name: fn.name, environment: unwrap(fn.inputs.environment)?.variables ?? {}, indexText, files });
    }
    for (const r of dynamic) {
        const { __provider, ...inputs } = r.inputs;
        out.providers.push({ type: r.type, name: r.name, text: unwrap(__provider), inputs });
    }
    fs.writeFileSync(process.env.CONSUMER_MANIFEST!, JSON.stringify(out));
}
main().catch((e) => {
    console.error(e);
    process.exit(1);
});
`;

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
    try {
        return execFileSync(command, args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 * 1024 * 1024 });
    } catch (e) {
        const err = e as { stdout?: string; stderr?: string; message: string };
        throw new Error(`${command} ${args.join(" ")} (in ${cwd}) failed: ${err.message}\n${err.stdout ?? ""}\n${err.stderr ?? ""}`);
    }
}

/** `npm pack` of this repository into `dir` (runs `prepare`: the build). */
export function packRepository(dir: string): PackResult {
    const out = run("npm", ["pack", "--json", "--pack-destination", dir], ROOT);
    const json = JSON.parse(out.slice(out.indexOf("[")));
    return json[0] as PackResult;
}

/**
 * Installs the tarball into a new consumer stack in `dir` (npm from its cache first: `--prefer-offline`),
 * type-checks the consumer's TypeScript program against the installed package with this repo's `tsc`, and
 * runs it under Pulumi's mock runtime. Returns what it recorded.
 */
export function buildConsumerStack(dir: string, tarball: string): ConsumerManifest {
    fs.mkdirSync(dir, { recursive: true });
    const pkg = {
        name: "consumer-stack",
        version: "1.0.0",
        private: true,
        main: "index.js",
        dependencies: { "@pulumi/pulumi": "3.248.0", "@pulumi/aws": "7.48.0", "ses-smtp-rotator": `file:${tarball}` },
    };
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify(pkg, null, 2));
    fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: consumer\nruntime: nodejs\n");
    fs.writeFileSync(
        path.join(dir, "tsconfig.json"),
        JSON.stringify({ compilerOptions: { strict: true, target: "ES2022", module: "commonjs", moduleResolution: "node", esModuleInterop: true, skipLibCheck: true, types: [] }, files: ["index.ts"] }),
    );
    fs.writeFileSync(path.join(dir, "index.ts"), PROGRAM);
    run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error"], dir);
    run(process.execPath, [path.join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], dir);
    const manifest = path.join(dir, "manifest.json");
    const env = { ...process.env, CONSUMER_MANIFEST: manifest, PULUMI_CONFIG: JSON.stringify({ "aws:region": CONSUMER_STACK_REGION }), NODE_OPTIONS: "" };
    run(process.execPath, ["index.js"], dir, env);
    return JSON.parse(fs.readFileSync(manifest, "utf8")) as ConsumerManifest;
}

/**
 * Writes one Lambda's archive as `CallbackFunction` ships it (`__index.js` + each file under its path relative to
 * the consumer project) into `dir`, zips it next to it with Info-ZIP (`zip -6 -X`, as bench/bundle.ts), and
 * returns the zipped size and the archive's file list.
 */
export function materialiseArchive(consumerDir: string, fn: ConsumerLambda, dir: string): { zipBytes: number; files: string[] } {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, "__index.js"), fn.indexText);
    for (const file of fn.files) {
        fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
        fs.copyFileSync(path.join(consumerDir, file), path.join(dir, file));
    }
    const zip = `${dir}.zip`;
    fs.rmSync(zip, { force: true });
    run("zip", ["-q", "-r", "-X", "-6", zip, "."], dir);
    return { zipBytes: fs.statSync(zip).size, files: ["__index.js", ...fn.files] };
}

/** The Lambda's kind without its business unit: `payments-rotation` → `rotation`, `sales-manual-starter` → `manual-starter`. */
export function lambdaKind(name: string): string {
    return name.replace(/^(payments|billing|support|sales)-/, "");
}

/** One Lambda kind's archive in the consumer case (bench/run.ts prints it beside the repository case). */
export interface ConsumerArchiveSize {
    kind: string;
    zipBytes: number;
    files: number;
}

/** Packs, installs and evaluates the consumer stack in `workDir`; the zipped size of each Lambda kind's archive. */
export function measureConsumerArchives(workDir: string): { tarball: PackResult; archives: ConsumerArchiveSize[] } {
    const tarball = packRepository(workDir);
    const consumerDir = path.join(workDir, "consumer");
    const manifest = buildConsumerStack(consumerDir, path.join(workDir, tarball.filename));
    const sizes = new Map<string, ConsumerArchiveSize>();
    for (const fn of manifest.lambdas) {
        const kind = lambdaKind(fn.name);
        if (sizes.has(kind)) continue;
        const a = materialiseArchive(consumerDir, fn, path.join(workDir, "archives", fn.name));
        sizes.set(kind, { kind, zipBytes: a.zipBytes, files: a.files.length });
    }
    return { tarball, archives: [...sizes.values()].sort((a, b) => a.kind.localeCompare(b.kind)) };
}
