/**
 * The files a package really needs at run time under CommonJS `require()`: its resolved entry point and every
 * file reachable from it through `require("./...")` / `require("<pkg>/...")`, plus the `package.json` files
 * that decide how Node loads them. Used to ship a package's runtime closure in a Lambda archive instead of its
 * whole directory (ESM build, type declarations, source maps, docs).
 *
 * Deployment-time code (never serialized into a Lambda): it may use anything of Node.
 */
import fs = require("fs");
import path = require("path");
import { builtinModules, createRequire } from "module";

/** Every `require("<literal>")` in a CommonJS text. */
const LITERAL_REQUIRE = /\brequire\(\s*(["'])([^"'\n]+)\1\s*\)/g;
/** A `require(` whose argument is not a string literal: its target cannot be known without running the code. */
const DYNAMIC_REQUIRE = /\brequire\(\s*(?!["'])[^)\s]/;

function isBuiltin(spec: string): boolean {
    return spec.startsWith("node:") || builtinModules.includes(spec) || builtinModules.includes(spec.split("/")[0]);
}

/** The package a module specifier names: `"a/b"` → `"a"`, `"@s/a/b"` → `"@s/a"`. */
export function packageNameOf(spec: string): string {
    const parts = spec.split("/");
    return spec.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** The folder of the package.json named `packageName` at or above `file`. */
function packageRootOf(file: string, packageName: string): string {
    for (let dir = path.dirname(file); dir !== path.dirname(dir); dir = path.dirname(dir)) {
        const manifest = path.join(dir, "package.json");
        if (fs.existsSync(manifest) && JSON.parse(fs.readFileSync(manifest, "utf8")).name === packageName) return dir;
    }
    throw new Error(`packageRequireClosure: no package.json named "${packageName}" above ${file}`);
}

/**
 * Lists the files of a module's CommonJS runtime closure inside its package, as absolute paths, sorted.
 * `moduleName` is a package (`"nodemailer"`) or one of its exported subpaths (`"nodemailer/lib/smtp-connection"`).
 *
 * - The entry is `require.resolve(moduleName)` from `projectDir` (this honours the package's `exports`
 *   `require` condition, so a dual package yields its CommonJS build).
 * - Each reached file is scanned for literal `require()` calls: relative ones and the package's own name are
 *   followed; Node built-ins are skipped. A `require()` of another package, or one whose argument is not a
 *   string literal, is an error naming the file: this closure would be incomplete, so the caller must ship
 *   the whole package instead.
 * - Every `package.json` from a reached file's folder up to the package root is included: the root one lets
 *   `require(moduleName)` resolve through `exports` inside the archive, nested ones carry the `"type"` that
 *   decides whether `.js` files load as CommonJS.
 */
export function packageRequireClosure(moduleName: string, projectDir: string): string[] {
    const packageName = packageNameOf(moduleName);
    const projectRequire = createRequire(path.join(path.resolve(projectDir), "package.json"));
    let entry: string;
    try {
        entry = projectRequire.resolve(moduleName);
    } catch (e) {
        throw new Error(`packageRequireClosure: module "${moduleName}" cannot be resolved from ${projectDir}: ${(e as Error).message.split("\n")[0]}`);
    }
    const packageRoot = packageRootOf(entry, packageName);
    const inside = (file: string) => file.startsWith(packageRoot + path.sep);

    const files = new Set<string>();
    const pending = [entry];
    while (pending.length > 0) {
        const file = pending.pop()!;
        if (files.has(file)) continue;
        if (!inside(file)) throw new Error(`packageRequireClosure: ${file} is outside package "${packageName}" (${packageRoot})`);
        files.add(file);
        for (let dir = path.dirname(file); dir.startsWith(packageRoot); dir = path.dirname(dir)) {
            const manifest = path.join(dir, "package.json");
            if (fs.existsSync(manifest)) files.add(manifest);
            if (dir === packageRoot) break;
        }
        if (!/\.(c?js)$/.test(file)) continue; // JSON and other data files require nothing
        const text = fs.readFileSync(file, "utf8");
        if (DYNAMIC_REQUIRE.test(text)) throw new Error(`packageRequireClosure: ${file} calls require() with a computed argument; ship package "${packageName}" whole`);
        const fileRequire = createRequire(file);
        for (const m of text.matchAll(LITERAL_REQUIRE)) {
            const spec = m[2];
            if (isBuiltin(spec)) continue;
            if (!spec.startsWith(".") && packageNameOf(spec) !== packageName) {
                throw new Error(`packageRequireClosure: ${file} requires package "${spec}"; ship package "${packageName}" whole`);
            }
            try {
                pending.push(fileRequire.resolve(spec));
            } catch (e) {
                throw new Error(`packageRequireClosure: ${file} requires "${spec}", which cannot be resolved: ${(e as Error).message.split("\n")[0]}`);
            }
        }
    }
    return [...files].sort();
}
