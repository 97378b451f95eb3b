/**
 * Lambda code is closure-serialized once per process, not once per rotator (components/shared-code-function.ts),
 * and that is safe: two rotators get byte-identical archives, and each its own configuration through the Lambda
 * environment. Runs under Pulumi's mock runtime (tests/support/pulumi-mocks.ts), not the engine.
 */
import { ofType, recorded, RecordedResource, resetRecorded, settled } from "./support/pulumi-mocks";
import * as assert from "assert";
import { EmailServerFleet, SmtpCredentialRotator } from "../components";
import * as shared from "../components/shared-code-function";
import { bareSdkRequires } from "../components/lambda-code";
import * as manualLambdas from "../components/manual/lambdas";
import { retirementLambdaFactory } from "../components/providers/retirement-lambda";
import { LAMBDA_RUNTIME_ENTRIES, lambdaCodePathOptions, rotationLambdaFactory } from "../components/rotation-lambda";

/** The archive entries of a recorded Lambda: `__index.js` text and the other entries' names. */
async function archiveOf(fn: RecordedResource): Promise<{ text: string; entries: string[] }> {
    const assets: Record<string, any> = await fn.inputs.code.assets;
    return { text: await assets["__index.js"].text, entries: Object.keys(assets).sort() };
}

function build(unit: string, mode: "auto" | "manual"): void {
    const fleet = new EmailServerFleet(`${unit}-fleet`, { selector: mode === "auto" ? { tag: { key: "SmtpFleet", value: unit } } : { table: { create: true } } });
    new SmtpCredentialRotator(unit, { mode, sesRegion: "eu-west-1", sesIdentities: [`${unit}.example.com`], fleet });
}

describe("Lambda code serialized once per process (Pulumi's mock runtime)", function () {
    this.timeout(300000);
    beforeEach(resetRecorded);

    it("a second and third rotator of a mode add no closure serialization", async () => {
        build("shared-a", "auto");
        build("shared-m", "manual");
        await settled();
        const afterFirst = shared.serializationCount;
        assert.ok(afterFirst >= 1, "the first rotators serialized their code");
        build("shared-b", "auto");
        build("shared-c", "auto");
        build("shared-n", "manual");
        await settled();
        assert.strictEqual(shared.serializationCount, afterFirst, "no new serialization for rotators whose code was serialized already");
    });

    it("two rotators get the same code and their own configuration in the Lambda environment", async () => {
        build("alpha", "auto");
        build("beta", "auto");
        await settled();
        const fns = ofType("aws:lambda/function:Function", recorded());
        for (const kind of ["rotation", "retirement"]) {
            const a = fns.find((f) => f.name === `alpha-${kind}`)!;
            const b = fns.find((f) => f.name === `beta-${kind}`)!;
            const [codeA, codeB] = [await archiveOf(a), await archiveOf(b)];
            assert.strictEqual(codeA.text, codeB.text, `${kind}: the same serialized code`);
            assert.deepStrictEqual(codeA.entries, codeB.entries);
            assert.strictEqual(a.inputs.handler, "__index.handler");
            // Nothing of either unit is in the code: the environment carries it.
            assert.ok(!/alpha|beta/.test(codeA.text), `${kind}: no unit-specific value in the code`);
            const [envA, envB] = [a.inputs.environment.variables, b.inputs.environment.variables];
            assert.notStrictEqual(envA.IAM_USER_NAME, envB.IAM_USER_NAME);
            assert.match(envA.IAM_USER_NAME, /alpha/);
            assert.match(envB.IAM_USER_NAME, /beta/);
            assert.notStrictEqual(envA.NOTIFY_TOPIC_ARN, envB.NOTIFY_TOPIC_ARN);
        }
    });

    it("refuses code that captured a secret (it would be shared by every rotator and sit in the archive)", async () => {
        const { secret } = await import("@pulumi/pulumi");
        const captured = secret("s3cr3t-value");
        const factory = () => () => captured;
        await assert.rejects(shared.sharedArchiveEntries(factory, {}), /SharedCodeFunction: the Lambda code captured a secret value/);
    });

    describe("the archives require the AWS SDK by bare package name, never its internal files (issue 13.8)", () => {
        const factories: [string, () => unknown, readonly string[]][] = [
            ["rotation", rotationLambdaFactory, LAMBDA_RUNTIME_ENTRIES.rotation],
            ["retirement", retirementLambdaFactory, LAMBDA_RUNTIME_ENTRIES.retirement],
            ...Object.entries(manualLambdas)
                .filter(([name, f]) => name.endsWith("Factory") && typeof f === "function")
                .map(([name, f]) => [`manual ${name}`, f as () => unknown, LAMBDA_RUNTIME_ENTRIES.manual] as [string, () => unknown, readonly string[]]),
        ];
        for (const [name, factory, entries] of factories) {
            it(`${name}: every @aws-sdk require in __index.js is a bare package name`, async () => {
                const archive = await shared.sharedArchiveEntries(factory, lambdaCodePathOptions({ entries }));
                const text: string = await (archive["__index.js"] as any).text;
                const sdk = [...text.matchAll(/\brequire\("(@aws-sdk\/[^"]+)"\)/g)].map((m) => m[1]);
                assert.ok(sdk.length > 0, "the handler uses the SDK");
                assert.deepStrictEqual(sdk.filter((s) => !/^@aws-sdk\/[a-z0-9-]+$/.test(s)), []);
            });
        }

        it("rewrites only a specifier that is the package's entry point", () => {
            const text = 'a(require("@aws-sdk/client-iam/dist-cjs/index.js")); b(require("@aws-sdk/client-iam/package.json")); c(require("@aws-sdk/client-iam"));';
            assert.strictEqual(bareSdkRequires(text), 'a(require("@aws-sdk/client-iam")); b(require("@aws-sdk/client-iam/package.json")); c(require("@aws-sdk/client-iam"));');
        });
    });
});
