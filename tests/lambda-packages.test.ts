/**
 * Which node_modules each Lambda's archive carries. The retirement Lambda and the manual-mode Lambdas are built
 * with `lambdaCodePathOptions({ modules: [] })` (components/retirement-schedule.ts, components/manual/index.ts):
 * their archive is the serialized `__index.js` alone. That is only safe while their serialized code requires
 * nothing but Node built-ins and the AWS SDK (which the nodejs22.x runtime provides): checked here for every
 * such factory. The rotation Lambda's archive is covered by lambda-archive.test.ts.
 */
import { settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { builtinModules } from "module";
import * as manualLambdas from "../components/manual/lambdas";
import { retirementLambdaFactory } from "../components/providers/retirement-lambda";
import { LAMBDA_RUNTIME_MODULES, lambdaCodePathOptions } from "../components/rotation-lambda";

const ROOT = path.join(__dirname, "..");

/** Modules a serialized text requires that are neither Node built-ins nor the AWS SDK v3. */
function modulesBeyondRuntime(text: string): string[] {
    const specs = [...text.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
    return [...new Set(specs.filter((s) => !builtinModules.includes(s.replace(/^node:/, "")) && !s.startsWith("@aws-sdk/")))].sort();
}

describe("Lambda archives: node_modules per Lambda", function () {
    this.timeout(180000);
    before(settled);

    it("{ modules: [] } adds no node_modules at all (the archive is __index.js alone)", async () => {
        const options = lambdaCodePathOptions({ projectDir: ROOT, modules: [] });
        assert.deepStrictEqual(options.extraIncludePaths, []);
        for (const m of LAMBDA_RUNTIME_MODULES) assert.ok(options.extraExcludePackages.includes(m.split("/")[0]), options.extraExcludePackages.join());
        options.extraExcludePackages.push("aws-sdk"); // as CallbackFunction does
        const codePaths = await pulumi.runtime.computeCodePaths(options);
        assert.deepStrictEqual([...codePaths.keys()], []);
    });

    it("rejects a malformed modules list, naming it", () => {
        assert.throws(() => lambdaCodePathOptions({ projectDir: ROOT, modules: "nodemailer" as any }), /lambdaCodePathOptions: modules must be a list of module names, got "nodemailer"/);
        assert.throws(() => lambdaCodePathOptions({ projectDir: ROOT, modules: ["no-such-package"] }), /module "no-such-package" cannot be resolved/);
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
