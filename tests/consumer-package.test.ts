/**
 * This repository as another stack uses it: `npm pack` (which runs `prepare`, the build), the tarball installed into
 * a scratch TypeScript consumer stack next to the pinned `@pulumi/pulumi` 3.248.0 and `@pulumi/aws` 7.48.0, and a
 * program that builds both components in both modes (tag and table fleets, four business units, SES region
 * eu-west-1 while the stack's region is eu-central-1) — see bench/consumer-stack.ts.
 *
 * The program runs under Pulumi's MOCK runtime (`pulumi.runtime.setMocks`), not the engine: closure serialization,
 * `CallbackFunction`'s archive assembly and the dynamic providers' serialization are the real code; deployment is
 * not. What the engine would do with the results is then done here by hand:
 *  - every Lambda archive is materialised from the asset list `CallbackFunction` built, zipped and measured, and its
 *    `__index.js` is loaded in a fresh `node` where only the AWS SDK v3 resolves (as in the nodejs22.x runtime);
 *  - every dynamic resource's `__provider` text (what Pulumi stores in state) is loaded the way the dynamic
 *    provider host loads it, in a fresh `node` whose working directory is the consumer project.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { builtinModules } from "module";
import { runNodeScript } from "./support/node-script";
import { buildConsumerStack, ConsumerManifest, CONSUMER_STACK_REGION, lambdaKind, materialiseArchive, PackResult, packRepository } from "../bench/consumer-stack";

const ROOT = path.join(__dirname, "..");
const KiB = 1024;
/** Zipped size limits (issue 11): every archive, and the rotation Lambda's. */
const MAX_ARCHIVE = 256 * KiB;
const MAX_ROTATION_ARCHIVE = 100 * KiB;

/** Every `require("<literal>")` in a text. */
const requires = (text: string) => [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
const isBuiltin = (spec: string) => spec.startsWith("node:") || builtinModules.includes(spec);

describe("the packed library in a consumer stack (Pulumi's mock runtime, not the engine)", function () {
    this.timeout(900000);
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "consumer-package-"));
    const consumerDir = path.join(workDir, "consumer");
    const archivesDir = path.join(workDir, "archives");
    let pack: PackResult;
    let manifest: ConsumerManifest;
    /** per Lambda: its archive folder and zipped size */
    const archives = new Map<string, { dir: string; zipped: number; files: string[] }>();

    before(function () {
        pack = packRepository(workDir);
        manifest = buildConsumerStack(consumerDir, path.join(workDir, pack.filename));
        for (const fn of manifest.lambdas) {
            const dir = path.join(archivesDir, fn.name);
            const a = materialiseArchive(consumerDir, fn, dir);
            archives.set(fn.name, { dir, zipped: a.zipBytes, files: a.files });
        }
    });

    after(() => fs.rmSync(workDir, { recursive: true, force: true }));

    it("npm pack ships the built components, runtime, documents and providers; no tests, bench, sources or maps", () => {
        const files = pack.files.map((f) => f.path);
        console.log(`      tarball ${pack.filename}: ${pack.entryCount} files, ${(pack.size / KiB).toFixed(1)} KiB (unpacked ${(pack.unpackedSize / KiB).toFixed(1)} KiB)`);
        for (const f of [
            "package.json",
            "bin/components/index.js",
            "bin/components/index.d.ts",
            "bin/components/rotator.js",
            "bin/components/manual/lambdas.js",
            "bin/runtime/index.js",
            "bin/runtime/auto/rotation-handler.js",
            "bin/documents/index.js",
            "bin/documents/postfix-smtp-credentials.sh",
            "bin/documents/iis-smtp-credentials.ps1",
            "bin/providers/rotate-now.js",
            "bin/providers/bootstrap-credential.js",
            "bin/providers/retirement-guard.js",
            "bin/sandbox/moto-shims/sitecustomize.py",
            "bin/demo/simulated-postfix/postfix",
        ]) {
            assert.ok(files.includes(f), `${f} is missing from the tarball`);
        }
        const stray = files.filter((f) => /^(bin\/)?(tests|bench)\//.test(f) || f.endsWith(".map") || (f.endsWith(".ts") && !f.endsWith(".d.ts")));
        assert.deepStrictEqual(stray, [], "tests, bench, TypeScript sources and source maps stay out");
        assert.ok(files.every((f) => /^(bin|documents)\//.test(f) || ["package.json", "README.md", "LICENSE"].includes(f)), files.join("\n"));
    });

    it("the consumer's TypeScript program type-checks against the installed package and builds both components in both modes", () => {
        // buildConsumerStack ran tsc (strict) on the program, then the program itself.
        assert.strictEqual(manifest.lambdas.length, 2 * 2 + 2 * 9, manifest.lambdas.map((l) => l.name).join());
        assert.deepStrictEqual(manifest.providers.map((p) => p.type.split(":").pop()).sort(), [...Array(4).fill("BootstrapCredential"), ...Array(4).fill("RetirementGuard"), ...Array(4).fill("RotateNow")]);
        assert.ok(manifest.resources > 100, `${manifest.resources} resources`);
    });

    it("each Lambda archive is small: ≤ 256 KiB zipped, the rotation Lambda ≤ 100 KiB (sizes printed)", () => {
        const seen = new Set<string>();
        for (const [name, a] of archives) {
            const kind = lambdaKind(name);
            if (!seen.has(kind)) console.log(`      ${kind.padEnd(36)} ${(a.zipped / KiB).toFixed(1).padStart(6)} KiB zipped, ${a.files.length} files`);
            seen.add(kind);
            assert.ok(a.zipped <= (kind === "rotation" ? MAX_ROTATION_ARCHIVE : MAX_ARCHIVE), `${name}: ${a.zipped} bytes zipped`);
        }
    });

    it("each archive holds __index.js and only the runtime files the handler reaches: no components, Pulumi, SDK, maps or types", () => {
        for (const [name, a] of archives) {
            const outside = a.files.filter(
                (f) =>
                    f !== "__index.js" &&
                    f !== "node_modules/ses-smtp-rotator/package.json" &&
                    !/^node_modules\/ses-smtp-rotator\/bin\/(runtime|documents)\/[\w/.-]+\.js$/.test(f) &&
                    !(name.endsWith("-rotation") && /^node_modules\/nodemailer\/(package\.json|dist\/cjs\/[\w/.-]+\.(js|json))$/.test(f)),
            );
            assert.deepStrictEqual(outside, [], name);
        }
        const rotation = archives.get("payments-rotation")!.files;
        assert.ok(rotation.includes("node_modules/ses-smtp-rotator/bin/runtime/auto/rotation-handler.js") && rotation.includes("node_modules/nodemailer/dist/cjs/smtp-connection/index.js"), rotation.join("\n"));
    });

    it("serialized code and shipped files require the AWS SDK by bare package name only, never its internal files", () => {
        for (const [name, a] of archives) {
            for (const file of a.files.filter((f) => f.endsWith(".js"))) {
                const sdk = requires(fs.readFileSync(path.join(a.dir, file), "utf8")).filter((s) => s.startsWith("@aws-sdk/"));
                assert.deepStrictEqual(sdk.filter((s) => !/^@aws-sdk\/[a-z0-9-]+$/.test(s)), [], `${name}/${file}`);
            }
        }
    });

    it("each __index.js loads in a fresh node where only the AWS SDK v3 resolves, and exports handler", async () => {
        // What the nodejs22.x runtime provides: the SDK v3 clients, found through NODE_PATH (as /var/runtime/node_modules).
        const sdkRuntime = path.join(workDir, "lambda-runtime", "node_modules");
        fs.mkdirSync(sdkRuntime, { recursive: true });
        fs.symlinkSync(path.join(ROOT, "node_modules", "@aws-sdk"), path.join(sdkRuntime, "@aws-sdk"), "dir");
        const script = `const m = require("./__index.js"); if (typeof m.handler !== "function") { console.error("no handler"); process.exit(2); } console.log("HANDLER " + typeof m.handler);`;
        for (const fn of manifest.lambdas) {
            const env = { PATH: process.env.PATH ?? "", NODE_PATH: sdkRuntime, AWS_REGION: CONSUMER_STACK_REGION, ...fn.environment };
            const out = await runNodeScript(script, { cwd: archives.get(fn.name)!.dir, env });
            assert.strictEqual(out.code, 0, `${fn.name}: ${out.stderr}`);
            assert.match(out.stdout, /HANDLER function/);
        }
    });

    it("each dynamic provider's stored code names only its stable entry point, and loads from the consumer project in a fresh node", async () => {
        // As the dynamic provider host: the stored text through require-from-string, `.handler()` gives the provider.
        // One fresh process per stored text runs `check` on the inputs of every resource that stored it.
        const loader = `
            const requireFromString = require(require.resolve("require-from-string", { paths: [require.resolve("@pulumi/pulumi")] }));
            const { file, inputs } = JSON.parse(require("fs").readFileSync(0, "utf8"));
            const provider = requireFromString(require("fs").readFileSync(file, "utf8")).handler();
            const methods = ["check", "diff", "create", "read", "update", "delete"].filter((m) => typeof provider[m] === "function");
            Promise.all(inputs.map((inputs) => provider.check({}, inputs).then((r) => r.failures ?? [])))
                .then((failures) => console.log("RESULT " + JSON.stringify({ methods, failures: failures.flat() })), (e) => { console.error(e.stack); process.exit(3); });`;
        const byText = new Map<string, typeof manifest.providers>();
        for (const p of manifest.providers) {
            const entry = `ses-smtp-rotator/providers/${p.type.split(":").pop()!.replace(/[A-Z]/g, (c, i) => (i ? "-" : "") + c.toLowerCase())}`;
            const modules = requires(p.text).filter((s) => !isBuiltin(s));
            assert.deepStrictEqual(modules, [entry], `${p.name}: ${p.text}`);
            assert.ok(!/\/bin\/|internal|node_modules/.test(p.text), `${p.name} names an internal path`);
            byText.set(p.text, [...(byText.get(p.text) ?? []), p]);
        }
        assert.strictEqual(byText.size, 3, "one stored text per provider type, the same for every rotator");
        for (const [text, resources] of byText) {
            const file = path.join(workDir, `${resources[0].type.split(":").pop()}.provider.js`);
            fs.writeFileSync(file, text);
            const run = await runNodeScript(loader, { cwd: consumerDir, env: { PATH: process.env.PATH ?? "" }, stdin: JSON.stringify({ file, inputs: resources.map((r) => r.inputs) }) });
            assert.strictEqual(run.code, 0, `${resources[0].type}: ${run.stderr}`);
            const result = JSON.parse(run.stdout.slice(run.stdout.indexOf("RESULT ") + 7));
            assert.deepStrictEqual(result, { methods: ["check", "diff", "create", "read", "update", "delete"], failures: [] }, resources[0].type);
        }
    });
});
