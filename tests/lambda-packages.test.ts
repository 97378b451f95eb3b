/**
 * Which node_modules each Lambda's archive carries: `lambdaCodePathOptions({ entries })` traces the runtime
 * modules a factory captures with esbuild (components/lambda-code.ts). Built from this repository the retirement
 * Lambda and the manual-mode Lambdas reach no package but the AWS SDK, so their archive is the serialized
 * `__index.js` alone: checked here for every such factory, with the tracer's own contract on a fixture project.
 * The rotation Lambda's archive is covered by lambda-archive.test.ts; the installed-package case by
 * consumer-package.test.ts.
 */
import { settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { builtinModules } from "module";
import * as manualLambdas from "../components/manual/lambdas";
import { retirementLambdaFactory } from "../components/providers/retirement-lambda";
import * as fs from "fs";
import * as os from "os";
import { LAMBDA_RUNTIME_ENTRIES, lambdaCodePathOptions } from "../components/rotation-lambda";
import { packageOfPath, traceNodeModules } from "../components/lambda-code";

const ROOT = path.join(__dirname, "..");

/** Modules a serialized text requires that are neither Node built-ins nor the AWS SDK v3. */
function modulesBeyondRuntime(text: string): string[] {
    const specs = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    return [...new Set(specs.filter((s) => !builtinModules.includes(s.replace(/^node:/, "")) && !s.startsWith("@aws-sdk/")))].sort();
}

describe("Lambda archives: node_modules per Lambda", function () {
    this.timeout(180000);
    before(settled);

    for (const kind of ["retirement", "manual"] as const) {
        it(`${kind}: the trace adds no node_modules at all (the archive is __index.js alone)`, async () => {
            const options = lambdaCodePathOptions({ projectDir: ROOT, entries: LAMBDA_RUNTIME_ENTRIES[kind] });
            assert.deepStrictEqual(options.extraIncludePaths, []);
            options.extraExcludePackages.push("aws-sdk"); // as CallbackFunction does
            const codePaths = await pulumi.runtime.computeCodePaths(options);
            assert.deepStrictEqual([...codePaths.keys()], []);
        });
    }

    it("each factory file's runtime modules are in its entries list (a module missing there is missing from the installed package's archive)", () => {
        const factoryFiles = { rotation: "components/rotation-lambda.ts", retirement: "components/providers/retirement-lambda.ts", manual: "components/manual/lambdas.ts" } as const;
        for (const [kind, file] of Object.entries(factoryFiles) as [keyof typeof factoryFiles, string][]) {
            const text = fs.readFileSync(path.join(ROOT, file), "utf8");
            const required = [...text.matchAll(/^import \w+ = require\("((?:\.\.\/)+runtime\/[^"]+)"\)/gm)].map((m) => path.relative(ROOT, path.resolve(path.dirname(path.join(ROOT, file)), m[1])).split(path.sep).join("/"));
            assert.ok(required.length > 0, `${file}: no runtime module found`);
            assert.deepStrictEqual(required.filter((m) => !(LAMBDA_RUNTIME_ENTRIES[kind] as readonly string[]).includes(m)), [], `${kind}: LAMBDA_RUNTIME_ENTRIES.${kind} misses modules ${file} captures`);
        }
    });

    it("rejects a malformed entries list or an entry outside the package, naming it", () => {
        assert.throws(() => lambdaCodePathOptions({ projectDir: ROOT, entries: "runtime/notify" as any }), /lambdaCodePathOptions: entries must be a list of module paths, got "runtime\/notify"/);
        assert.throws(() => lambdaCodePathOptions({ projectDir: ROOT, entries: ["runtime/no-such-module"] }), /entry "runtime\/no-such-module" is not a module of this package/);
    });

    describe("traceNodeModules (esbuild's module graph) on a fixture project", () => {
        let project = "";
        const write = (rel: string, text: string) => {
            fs.mkdirSync(path.dirname(path.join(project, rel)), { recursive: true });
            fs.writeFileSync(path.join(project, rel), text);
        };
        before(() => {
            project = fs.mkdtempSync(path.join(os.tmpdir(), "trace-fixture-"));
            write("package.json", JSON.stringify({ name: "app", dependencies: { dual: "1.0.0", "@scope/lib": "1.0.0" } }));
            // a dual package: CommonJS build under lib/cjs (its own package.json says "commonjs"), ESM under lib/esm
            write("node_modules/dual/package.json", JSON.stringify({ name: "dual", exports: { ".": { import: "./lib/esm/index.js", require: "./lib/cjs/index.js" } } }));
            write("node_modules/dual/lib/cjs/package.json", JSON.stringify({ type: "commonjs" }));
            write("node_modules/dual/lib/cjs/index.js", 'module.exports = require("./helper");');
            write("node_modules/dual/lib/cjs/helper.js", 'module.exports = require("@scope/lib").x;');
            write("node_modules/dual/lib/cjs/unused.js", "module.exports = 1;");
            write("node_modules/dual/lib/esm/index.js", "export default 1;");
            write("node_modules/@scope/lib/package.json", JSON.stringify({ name: "@scope/lib", main: "main.js" }));
            write("node_modules/@scope/lib/main.js", 'exports.x = require("path").sep; exports.sdk = () => require("@aws-sdk/client-iam");');
            write("src/entry.js", 'exports.f = () => require("dual"); exports.local = require("./local");');
            write("src/local.js", "exports.y = 2;");
            write("src/broken.js", 'require("not-installed");');
        });
        after(() => fs.rmSync(project, { recursive: true, force: true }));

        it("lists the reached node_modules files and their package.json files; not project code, built-ins, the SDK, unused or ESM files", () => {
            assert.deepStrictEqual(traceNodeModules([path.join(project, "src/entry.js")], project), [
                "node_modules/@scope/lib/main.js",
                "node_modules/@scope/lib/package.json",
                "node_modules/dual/lib/cjs/helper.js",
                "node_modules/dual/lib/cjs/index.js",
                "node_modules/dual/lib/cjs/package.json",
                "node_modules/dual/package.json",
            ]);
        });

        it("an unresolvable module is an error naming the file and the module", () => {
            assert.throws(() => traceNodeModules([path.join(project, "src/broken.js")], project), /traceNodeModules: cannot trace .*broken\.js: .*broken\.js: Could not resolve "not-installed"/);
        });

        it("packageOfPath names the innermost package of a node_modules path", () => {
            assert.strictEqual(packageOfPath("node_modules/dual/lib/cjs/index.js"), "dual");
            assert.strictEqual(packageOfPath("node_modules/a/node_modules/@scope/lib/main.js"), "@scope/lib");
            assert.throws(() => packageOfPath("src/entry.js"), /is not below node_modules/);
        });
    });

    const factories: [string, () => unknown][] = [
        ["retirement", retirementLambdaFactory],
        ...Object.entries(manualLambdas)
            .filter(([name, f]) => name.endsWith("Factory") && typeof f === "function")
            .map(([name, f]) => [`manual ${name}`, f as () => unknown] as [string, () => unknown]),
    ];

    it("covers the retirement Lambda and all nine manual-mode factories", () => {
        assert.strictEqual(factories.length, 10, factories.map(([n]) => n).join());
    });

    for (const [name, factory] of factories) {
        it(`${name}: its serialized code requires only Node built-ins and @aws-sdk/*`, async () => {
            const serialized = await pulumi.runtime.serializeFunction(factory as any, { serialize: () => true, exportName: "handler", isFactoryFunction: true, allowSecrets: true });
            assert.deepStrictEqual(modulesBeyondRuntime(serialized.text), []);
        });
    }
});
