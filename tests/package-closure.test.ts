/**
 * `packageRequireClosure`: the CommonJS runtime files of a package, walked from its resolved entry. Fixture
 * packages are written to a temporary project (a dual ESM/CommonJS package like nodemailer, and packages that
 * break the walk's assumptions); the real nodemailer is checked by loading only its closure in a fresh node.
 */
import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { packageRequireClosure } from "../components/package-closure";

const ROOT = path.join(__dirname, "..");

/** Writes `files` (path relative to `dir` → content; objects are written as JSON). */
function write(dir: string, files: Record<string, string | object>): void {
    for (const [rel, content] of Object.entries(files)) {
        const file = path.join(dir, rel);
        fs.mkdirSync(path.dirname(file), { recursive: true });
        fs.writeFileSync(file, typeof content === "string" ? content : JSON.stringify(content));
    }
}

describe("packageRequireClosure", () => {
    let project = "";
    const rel = (files: string[]) => files.map((f) => path.relative(project, f).split(path.sep).join("/"));

    beforeEach(() => {
        project = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "closure-")));
        write(project, { "package.json": { name: "app", dependencies: { dual: "1.0.0" } } });
        // A dual package: "type": "module" at the root, the CommonJS build marked by its own package.json.
        write(path.join(project, "node_modules", "dual"), {
            "package.json": { name: "dual", type: "module", main: "./dist/cjs/main.js", exports: { ".": { import: "./dist/esm/main.js", require: "./dist/cjs/main.js" }, "./lib/*": { require: "./dist/cjs/*.js" }, "./package.json": "./package.json" } },
            "dist/cjs/solo.js": `module.exports = require("./data.json");\n`,
            "dist/cjs/package.json": { type: "commonjs" },
            "dist/cjs/main.js": `"use strict";\nconst net = require("node:net");\nconst fs = require('fs');\nconst a = require("./a/index.js");\nconst data = require("./data.json");\nmodule.exports = { a, data, self: () => require("dual/package.json") };\n`,
            "dist/cjs/a/index.js": `const b = require("../b");\nmodule.exports = b + 1; // cycle back: require("../main.js") is fine\n`,
            "dist/cjs/b.js": `module.exports = 41;\nrequire("./a/index.js");\n`,
            "dist/cjs/data.json": `{"x": 1}`,
            "dist/cjs/unused.js": `module.exports = "never required";`,
            "dist/cjs/main.d.ts": `export {};`,
            "dist/esm/package.json": { type: "module" },
            "dist/esm/main.js": `export default 1;`,
            "README.md": "docs",
        });
    });
    afterEach(() => fs.rmSync(project, { recursive: true, force: true }));

    it("follows relative and self requires from the CommonJS entry (exports 'require'), with the package.json files that type them", () => {
        // a/index.js's comment names ../main.js: a text scan follows it too (harmless: it exists and is needed).
        assert.deepStrictEqual(rel(packageRequireClosure("dual", project)), [
            "node_modules/dual/dist/cjs/a/index.js",
            "node_modules/dual/dist/cjs/b.js",
            "node_modules/dual/dist/cjs/data.json",
            "node_modules/dual/dist/cjs/main.js",
            "node_modules/dual/dist/cjs/package.json",
            "node_modules/dual/package.json",
        ]);
    });

    it("walks from an exported subpath: only what that module reaches", () => {
        assert.deepStrictEqual(rel(packageRequireClosure("dual/lib/solo", project)), [
            "node_modules/dual/dist/cjs/data.json",
            "node_modules/dual/dist/cjs/package.json",
            "node_modules/dual/dist/cjs/solo.js",
            "node_modules/dual/package.json",
        ]);
    });

    it("the closure alone loads in a fresh node process (nothing else of the package present)", () => {
        const slim = path.join(project, "slim");
        for (const file of packageRequireClosure("dual", project)) {
            const target = path.join(slim, path.relative(project, file));
            fs.mkdirSync(path.dirname(target), { recursive: true });
            fs.copyFileSync(file, target);
        }
        const out = execFileSync(process.execPath, ["-e", `const m = require("dual"); console.log(JSON.stringify([m.a, m.data.x, m.self().name]))`], { cwd: slim, encoding: "utf8" });
        assert.strictEqual(out.trim(), JSON.stringify([42, 1, "dual"]));
    });

    it("refuses a package that requires another package, naming the file and the package", () => {
        write(path.join(project, "node_modules", "other"), { "package.json": { name: "other", main: "index.js" }, "index.js": "module.exports = 1;" });
        write(path.join(project, "node_modules", "leaning"), { "package.json": { name: "leaning", main: "index.js" }, "index.js": `module.exports = require("other");` });
        assert.throws(() => packageRequireClosure("leaning", project), /node_modules\/leaning\/index\.js requires package "other"; ship package "leaning" whole/);
    });

    it("refuses a computed require() argument (its target cannot be known statically)", () => {
        write(path.join(project, "node_modules", "plugin"), { "package.json": { name: "plugin", main: "index.js" }, "index.js": `const name = "./x";\nmodule.exports = require(name);` });
        assert.throws(() => packageRequireClosure("plugin", project), /node_modules\/plugin\/index\.js calls require\(\) with a computed argument/);
    });

    it("fails, naming the file, when a required file is missing", () => {
        write(path.join(project, "node_modules", "broken"), { "package.json": { name: "broken", main: "index.js" }, "index.js": `require("./gone.js");` });
        assert.throws(() => packageRequireClosure("broken", project), /node_modules\/broken\/index\.js requires "\.\/gone\.js", which cannot be resolved/);
    });

    it("names a package that is not installed", () => {
        assert.throws(() => packageRequireClosure("not-installed", project), /module "not-installed" cannot be resolved from /);
    });

    it("nodemailer's SMTP client (what the rotation Lambda ships): its CommonJS files only, not the rest of nodemailer", () => {
        const files = packageRequireClosure("nodemailer/lib/smtp-connection", ROOT).map((f) => path.relative(path.join(ROOT, "node_modules", "nodemailer"), f).split(path.sep).join("/"));
        assert.ok(files.includes("package.json") && files.includes("dist/cjs/package.json") && files.includes("dist/cjs/smtp-connection/index.js"), files.join());
        assert.ok(files.every((f) => f === "package.json" || f.startsWith("dist/cjs/")), files.join());
        assert.ok(!files.includes("dist/cjs/nodemailer.js") && !files.some((f) => f.startsWith("dist/cjs/mail-composer/")), files.join());
        const whole = packageRequireClosure("nodemailer", ROOT);
        assert.ok(whole.length > files.length && whole.includes(path.join(ROOT, "node_modules/nodemailer/dist/cjs/smtp-transport/index.js")));
    });
});
