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
import lambdaCode = require("./lambda-code");
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
 * The runtime modules each Lambda's factory captures (paths below the package root, no extension). The archive
 * ships the node_modules files they reach ({@link lambdaCodePathOptions}); the archive tests fail if a serialized
 * handler requires anything the archive lacks.
 */
export const LAMBDA_RUNTIME_ENTRIES = {
    /** rotationLambdaFactory (above) */
    rotation: ["runtime/auto/rotation-handler", "runtime/smtp-check"],
    /** retirementLambdaFactory (providers/retirement-lambda.ts) */
    retirement: ["runtime/retirement", "runtime/notify", "runtime/current-credential"],
    /** the nine manual-mode factories (manual/lambdas.ts) */
    manual: [
        "runtime/manual/confirmation-api",
        "runtime/manual/confirmation-fanout",
        "runtime/manual/confirmation-store",
        "runtime/manual/confirmation-tasks",
        "runtime/manual/credential-task",
        "runtime/manual/lambda-env",
        "runtime/manual/retire-task",
        "runtime/manual/rotation-tally",
        "runtime/manual/servers-page",
        "runtime/manual/starter",
    ],
} as const satisfies Record<string, readonly string[]>;

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
     * the runtime modules the Lambda's factory captures, as paths below this package's root (default
     * {@link LAMBDA_RUNTIME_ENTRIES}.rotation)
     */
    entries?: readonly string[];
}

/** Cache of code path options: the same Lambda code is traced (and node_modules listed) once per process, however many rotators a program builds. */
const traces = new Map<string, LambdaCodePathOptions>();

/**
 * The `codePathOptions` of every Lambda in this library (SharedCodeFunction) (rotation, retirement, manual mode).
 *
 * Excluded: every dependency of the project's package.json (this library itself when it is installed, Pulumi,
 * the AWS SDK ...: `computeCodePaths` would add each whole), every `@aws-sdk/*` and `@pulumi/*` package installed
 * (the nodejs22.x runtime provides SDK v3; Pulumi is deployment-time only). Included, one file at a time: the
 * node_modules files the `entries` reach (lambda-code.ts), whether they are this library's own runtime files
 * (installed as a dependency) or the packages they load (nodemailer's SMTP client). Pulumi uses each include
 * path, as given, both to read the file (relative to the process's working directory) and as the file's name
 * inside the archive, so they are `node_modules/...` paths relative to `projectDir`.
 * A fresh object per call: the AWS provider appends to it.
 */
export function lambdaCodePathOptions(request: LambdaCodePathRequest = {}): LambdaCodePathOptions {
    const projectDir = path.resolve(request.projectDir ?? process.cwd());
    const entries = request.entries ?? LAMBDA_RUNTIME_ENTRIES.rotation;
    if (!Array.isArray(entries) || !entries.every((m) => typeof m === "string" && m !== "")) {
        throw new Error(`lambdaCodePathOptions: entries must be a list of module paths, got ${JSON.stringify(entries)}`);
    }
    const key = JSON.stringify([projectDir, entries]);
    if (!traces.has(key)) {
        const files = lambdaCode.traceNodeModules(
            entries.map((entry) => {
                try {
                    return require.resolve(path.join(__dirname, "..", entry));
                } catch {
                    throw new Error(`lambdaCodePathOptions: entry "${entry}" is not a module of this package (${path.join(__dirname, "..")})`);
                }
            }),
            projectDir,
        );
        const scoped = (scope: string) => {
            const dir = path.join(projectDir, "node_modules", scope);
            return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => !n.startsWith(".")).map((n) => `${scope}/${n}`) : [];
        };
        const shipped = files.map(lambdaCode.packageOfPath);
        traces.set(key, {
            extraExcludePackages: [...new Set([...scoped("@aws-sdk"), ...scoped("@pulumi"), ...lambdaCode.projectDependencies(projectDir), ...shipped])].sort(),
            extraIncludePaths: files,
        });
    }
    const cached = traces.get(key)!;
    return { extraExcludePackages: [...cached.extraExcludePackages], extraIncludePaths: [...cached.extraIncludePaths] };
}
