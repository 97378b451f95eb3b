/**
 * What a Lambda archive ships besides the serialized `__index.js`: the node_modules files its code reaches, traced
 * by esbuild (a bundler used here only for its module graph, `metafile.inputs`; nothing is bundled), instead of
 * the whole packages Pulumi's `computeCodePaths` would add.
 *
 * Why a trace is needed at all: Pulumi's closure serialization copies local modules INTO `__index.js` by value,
 * but a module that lives under `node_modules` is captured as `require("<pkg>/<exported path>")`. So
 *  - built from this repository, the handler's runtime modules are inside `__index.js`; only the packages they
 *    load (nodemailer's SMTP client) must ship;
 *  - built while this library is an installed dependency (`node_modules/ses-smtp-rotator`), the handler requires
 *    the library's runtime files by their `ses-smtp-rotator/internal/...` export: those files, the library's
 *    package.json (its `exports` map resolves the require) and what they load must ship.
 * One trace from the handler's runtime modules covers both: every reached file under `node_modules/` (plus the
 * package.json files that decide how Node resolves and loads it) goes into the archive, one file at a time.
 *
 * Deployment-time code (never serialized into a Lambda): it may use anything of Node.
 */
import fs = require("fs");
import path = require("path");
import { createRequire } from "module";

/** Packages the Lambda runtime (nodejs22.x) provides or that are deployment-time only: never traced or shipped. */
export const RUNTIME_PROVIDED = ["@aws-sdk/*", "@pulumi/*", "aws-sdk"];

/**
 * The files below `<projectDir>/node_modules` that the modules `entries` (absolute paths of `.ts` or `.js` files)
 * reach through `require`/`import`, as `node_modules/...` paths relative to `projectDir`, sorted. Includes every
 * `package.json` from a reached file's folder up to its package's root. The AWS SDK, `@pulumi/*` and Node
 * built-ins are not followed. An entry or a module that cannot be resolved is an error naming it.
 */
export function traceNodeModules(entries: readonly string[], projectDir: string): string[] {
    if (entries.length === 0) return [];
    const esbuild: typeof import("esbuild") = require("esbuild");
    const root = path.resolve(projectDir);
    let inputs: string[];
    try {
        const result = esbuild.buildSync({
            entryPoints: [...entries],
            bundle: true,
            write: false,
            metafile: true,
            platform: "node",
            format: "cjs",
            // CommonJS resolution as in Node's require(): the "require"/"node" export conditions, `main` field
            mainFields: ["main"],
            external: RUNTIME_PROVIDED,
            absWorkingDir: root,
            outdir: path.join(root, ".lambda-trace"),
            logLevel: "silent",
        });
        inputs = Object.keys(result.metafile!.inputs);
    } catch (e) {
        const errors = (e as { errors?: { text: string; location?: { file: string } | null }[] }).errors;
        const detail = errors?.length ? errors.map((x) => `${x.location?.file ?? "?"}: ${x.text}`).join("; ") : (e as Error).message;
        throw new Error(`traceNodeModules: cannot trace ${entries.join(", ")}: ${detail}`);
    }
    const files = new Set<string>();
    for (const input of inputs) {
        const file = path.resolve(root, input);
        const rel = path.relative(root, file).split(path.sep);
        const at = rel.indexOf("node_modules");
        if (at < 0) continue; // project code: serialized into __index.js by value
        files.add(rel.join("/"));
        const packageDepth = at + (rel[at + 1]?.startsWith("@") ? 3 : 2); // node_modules/<pkg> or node_modules/@s/<pkg>
        for (let depth = rel.length - 1; depth >= packageDepth; depth--) {
            const manifest = [...rel.slice(0, depth), "package.json"];
            if (fs.existsSync(path.join(root, ...manifest))) files.add(manifest.join("/"));
        }
    }
    return [...files].sort();
}

/** The package a `.../node_modules/<pkg>/...` path belongs to (the innermost node_modules): `"nodemailer"`, `"@s/a"`. */
export function packageOfPath(file: string): string {
    const parts = file.split("/");
    const at = parts.lastIndexOf("node_modules");
    if (at < 0) throw new Error(`packageOfPath: ${file} is not below node_modules`);
    return parts.slice(at + 1, at + (parts[at + 1]?.startsWith("@") ? 3 : 2)).join("/");
}

/**
 * The names of the packages the project's `package.json` lists as `dependencies`: Pulumi's `computeCodePaths`
 * would add each (and its dependencies) whole to every archive, so the Lambdas of this library exclude them all
 * and ship the traced files instead.
 */
export function projectDependencies(projectDir: string): string[] {
    const manifest = path.join(projectDir, "package.json");
    if (!fs.existsSync(manifest)) return [];
    return Object.keys(JSON.parse(fs.readFileSync(manifest, "utf8")).dependencies ?? {});
}

/**
 * Serialized code with the AWS SDK required by its bare package name. Pulumi captures a module that a serialized
 * function uses from node_modules as `require("<file path>")` when the package has no `exports` map, so a runtime
 * module's top-level `import x = require("@aws-sdk/client-iam")` becomes `require("@aws-sdk/client-iam/dist-cjs/index.js")`:
 * a path into the SDK's internal layout, resolved in Lambda against the runtime's own SDK version. Each such
 * specifier that is exactly the package's entry point (it resolves to the same file as the bare name, here) is
 * rewritten to the bare name; any other is left as it is (and the archive tests fail on it).
 */
export function bareSdkRequires(text: string, projectDir: string = process.cwd()): string {
    const fromProject = createRequire(path.join(path.resolve(projectDir), "package.json"));
    const resolve = (spec: string): string | undefined => {
        for (const r of [fromProject, require]) {
            try {
                return r.resolve(spec);
            } catch {
                /* try the next */
            }
        }
        return undefined;
    };
    return text.replace(/\brequire\("(@aws-sdk\/[a-z0-9-]+)\/([^"]+)"\)/g, (whole, pkg: string, sub: string) => {
        const entry = resolve(pkg);
        return entry !== undefined && entry === resolve(`${pkg}/${sub}`) ? `require(${JSON.stringify(pkg)})` : whole;
    });
}
