/**
 * The auto-mode rotation Lambda's code: a `callbackFactory` that Pulumi closure-serializes into the
 * function archive (`aws.lambda.CallbackFunction`), plus the archive's packaging options.
 *
 * Serialization rules this file follows (see Pulumi "function serialization"):
 *  - local modules are imported with `import x = require(...)` at the top: Pulumi captures them BY VALUE
 *    (a `require("../runtime/...")` inside the function would be left as is and fail in Lambda, where only
 *    the serialized `__index.js` and node_modules exist);
 *  - AWS SDK clients are required inside the factory and are NOT packaged: the nodejs22.x runtime provides
 *    the AWS SDK for JavaScript v3;
 *  - no `@pulumi/*` import here (nothing of Pulumi may end up in the archive).
 * The factory runs once per cold start: it reads the environment and builds the SDK clients once.
 */
import fs = require("fs");
import path = require("path");
import packageClosure = require("./package-closure");
import rotationHandler = require("../runtime/auto/rotation-handler");
import smtpCheck = require("../runtime/smtp-check");

/** The Lambda entry point the factory returns (Secrets Manager rotation event, Lambda context). */
export type RotationLambdaEntry = (event: any, context?: any) => Promise<void>;

/**
 * Builds the rotation handler from the Lambda environment (see runtime/auto/config.ts for the variables).
 * SDK clients use the function's own region and credentials; IAM is global.
 */
export function rotationLambdaFactory(): RotationLambdaEntry {
    const { IAMClient } = require("@aws-sdk/client-iam");
    const { SecretsManagerClient } = require("@aws-sdk/client-secrets-manager");
    const { SSMClient } = require("@aws-sdk/client-ssm");
    const { SNSClient } = require("@aws-sdk/client-sns");
    const { DynamoDBClient } = require("@aws-sdk/client-dynamodb");
    const config = rotationHandler.rotationConfigFromEnv(process.env);
    const handler = rotationHandler.createRotationHandler(
        {
            iam: new IAMClient({}),
            secrets: new SecretsManagerClient({}),
            ssm: new SSMClient({}),
            sns: new SNSClient({}),
            dynamodb: config.fleet.kind === "table" ? new DynamoDBClient({}) : undefined,
            // No `log` here: the handler passes its per-invocation redacting logger to each check, so the
            // check's retry lines ("SMTP AUTH not accepted yet, retrying") reach the function's log.
            smtpCheck: smtpCheck.createSmtpCheck({
                host: config.smtpEndpoint,
                port: config.smtpPort,
                tlsMode: config.smtpPort === 465 ? "implicit" : "starttls",
            }),
        },
        config,
    );
    return async (event: any, context?: any) => {
        await handler(event, context);
    };
}

/**
 * The node_modules modules the Lambda code loads, shipped as their CommonJS runtime closure only (see
 * {@link packageRequireClosure}) instead of their packages' whole directories. runtime/smtp-check.ts loads
 * nodemailer's SMTP client alone: 13 files (~0.2 MB) of a 2.3 MB package (CommonJS and ESM builds, `.d.ts`,
 * maps, docs). The archive test fails if the serialized handlers require any other package.
 */
export const LAMBDA_RUNTIME_MODULES: readonly string[] = ["nodemailer/lib/smtp-connection"];

/** What {@link lambdaCodePathOptions} returns: Pulumi `CodePathOptions` (a fresh object per call). */
export interface LambdaCodePathOptions {
    extraExcludePackages: string[];
    extraIncludePaths: string[];
}

/** Options of {@link lambdaCodePathOptions}. */
export interface LambdaCodePathRequest {
    /** where node_modules is (default: the working directory, which is the project directory under `pulumi up`) */
    projectDir?: string;
    /**
     * the node_modules modules this Lambda's code loads, shipped as their runtime closures (default
     * {@link LAMBDA_RUNTIME_MODULES}, what the rotation Lambda needs); `[]` for a Lambda that loads only
     * the AWS SDK and the project's own (serialized) code
     */
    modules?: readonly string[];
}

/**
 * The `codePathOptions` of every `CallbackFunction` in this library (rotation, retirement, manual mode).
 *
 * Excluded: every `@aws-sdk/*` package installed (the nodejs22.x runtime provides SDK v3), every `@pulumi/*`
 * package (deployment-time only), and the packages of {@link LAMBDA_RUNTIME_MODULES}; the runtime files of
 * the requested `modules` are added back one by one as `extraIncludePaths`. Pulumi uses each include path,
 * as given, both to read the file (relative to the process's working directory) and as the file's name
 * inside the archive, so they are `node_modules/...` paths relative to `projectDir`.
 * A fresh object per call: the AWS provider appends to it.
 */
export function lambdaCodePathOptions(request: LambdaCodePathRequest = {}): LambdaCodePathOptions {
    const projectDir = request.projectDir ?? process.cwd();
    const modules = request.modules ?? LAMBDA_RUNTIME_MODULES;
    if (!Array.isArray(modules) || !modules.every((m) => typeof m === "string" && m !== "")) {
        throw new Error(`lambdaCodePathOptions: modules must be a list of module names, got ${JSON.stringify(modules)}`);
    }
    const scoped = (scope: string) => {
        const dir = path.join(projectDir, "node_modules", scope);
        return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith(".")).map((n) => `${scope}/${n}`) : [];
    };
    const files = new Set(modules.flatMap((m) => packageClosure.packageRequireClosure(m, projectDir)));
    const closurePackages = new Set([...LAMBDA_RUNTIME_MODULES, ...modules].map(packageClosure.packageNameOf));
    return {
        extraExcludePackages: [...scoped("@aws-sdk"), ...scoped("@pulumi"), ...closurePackages].sort(),
        extraIncludePaths: [...files].map((file) => path.relative(projectDir, file).split(path.sep).join("/")).sort(),
    };
}
