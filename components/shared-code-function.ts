/**
 * `SharedCodeFunction`: an `aws.lambda.Function` whose code is built exactly as `aws.lambda.CallbackFunction` builds
 * it (Pulumi closure serialization of a `callbackFactory` into `__index.js`, plus the `codePathOptions` files), but
 * ONCE per process for each factory and options: a program with twenty rotators serializes the rotation handler once,
 * not twenty times (closure serialization is most of a program's evaluation time under `pulumi preview`).
 *
 * Sharing is safe because the handlers carry no per-rotator value in their closure: each factory reads its
 * configuration from the Lambda's environment at cold start (tests/shared-code-function.test.ts checks that two
 * rotators get the same code and their own environment). The registered resource is the same
 * `aws:lambda/function:Function` with the same inputs CallbackFunction would send (`handler: "__index.handler"`).
 *
 * One difference: the AWS SDK is required by its bare package name in `__index.js` (lambda-code.ts `bareSdkRequires`).
 * See @pulumi/aws lambda/lambdaMixins.js (CallbackFunction) for the assembly this mirrors.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import lambdaCode = require("./lambda-code");

/** Arguments: those of `aws.lambda.FunctionArgs` without the code, plus the factory and its packaging. */
export interface SharedCodeFunctionArgs extends Omit<aws.lambda.FunctionArgs, "code" | "handler" | "role" | "runtime"> {
    /** the factory Pulumi closure-serializes; it runs once per cold start and returns the handler */
    callbackFactory: () => (event: any, context?: any) => unknown;
    /** what goes into the archive besides `__index.js` (components/rotation-lambda.ts `lambdaCodePathOptions`) */
    codePathOptions: pulumi.runtime.CodePathOptions;
    /** the function's execution role */
    role: aws.iam.Role;
    /** the Lambda runtime (the library uses nodejs22.x, which provides AWS SDK v3) */
    runtime: pulumi.Input<string>;
}

/** The archive entries (`__index.js` and the code paths) per factory, then per packaging options. */
const archives = new Map<Function, Map<string, Promise<Record<string, pulumi.asset.Asset | pulumi.asset.Archive>>>>();

/** `computeCodePaths` results per packaging options: the nine manual-mode Lambdas share theirs (it reads the whole node_modules tree). */
const codePathsByOptions = new Map<string, Promise<Map<string, pulumi.asset.Asset | pulumi.asset.Archive>>>();

function sharedCodePaths(key: string, options: pulumi.runtime.CodePathOptions): Promise<Map<string, pulumi.asset.Asset | pulumi.asset.Archive>> {
    let paths = codePathsByOptions.get(key);
    if (!paths) {
        paths = pulumi.runtime.computeCodePaths({ ...options, extraExcludePackages: [...(options.extraExcludePackages ?? []), "aws-sdk"] });
        codePathsByOptions.set(key, paths);
    }
    return paths;
}

/** The number of closure serializations this process has run (for tests and the benchmark). */
export let serializationCount = 0;

/** The archive entries of `factory` with `options`, built on first use and shared afterwards. */
export function sharedArchiveEntries(
    factory: () => unknown,
    options: pulumi.runtime.CodePathOptions,
): Promise<Record<string, pulumi.asset.Asset | pulumi.asset.Archive>> {
    const byOptions = archives.get(factory) ?? new Map();
    archives.set(factory, byOptions);
    const key = JSON.stringify(options);
    let entries = byOptions.get(key);
    if (!entries) {
        serializationCount++;
        entries = (async () => {
            // As CallbackFunction: serialize the factory, then add the code paths (it always excludes "aws-sdk").
            const closure = await pulumi.runtime.serializeFunction(factory, { serialize: () => true, exportName: "handler", isFactoryFunction: true, allowSecrets: true });
            if (closure.containsSecrets) throw new Error("SharedCodeFunction: the Lambda code captured a secret value; pass secrets through the environment or a store instead");
            const codePaths = await sharedCodePaths(key, options);
            const out: Record<string, pulumi.asset.Asset | pulumi.asset.Archive> = { "__index.js": new pulumi.asset.StringAsset(lambdaCode.bareSdkRequires(closure.text)) };
            for (const [p, asset] of codePaths) out[p] = asset;
            return out;
        })();
        byOptions.set(key, entries);
    }
    return entries;
}

/** A Lambda function built from a `callbackFactory` (see the file comment). */
export class SharedCodeFunction extends aws.lambda.Function {
    constructor(name: string, args: SharedCodeFunctionArgs, opts?: pulumi.CustomResourceOptions) {
        const { callbackFactory, codePathOptions, role, ...rest } = args;
        super(
            name,
            {
                ...rest,
                code: pulumi.output(new pulumi.asset.AssetArchive(sharedArchiveEntries(callbackFactory, codePathOptions) as any)),
                handler: "__index.handler",
                role: role.arn,
                timeout: rest.timeout ?? 180,
            },
            opts,
        );
    }
}
