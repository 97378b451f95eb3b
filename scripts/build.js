#!/usr/bin/env node
// `npm run build` (and so `prepare` / `npm pack`): a clean bin/ compiled from the product folders only
// (tsconfig.build.json: no tests, no bench), plus the non-TypeScript files the built code loads by `__dirname`
// (documents' scripts, moto shims, the demo's simulated Postfix tools), copied next to it.
"use strict";
const { spawnSync } = require("child_process");
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
fs.rmSync(path.join(root, "bin"), { recursive: true, force: true }); // nothing stale (e.g. compiled tests) may ship
// Two passes: the type declarations keep every TSDoc comment (what a consumer's editor shows); the JavaScript is
// emitted without comments, because the Lambda archives built from an installed package ship these files as they are
// (the rotation Lambda's archive must stay under 100 KiB zipped).
const tscBin = require.resolve("typescript/bin/tsc");
const config = path.join(root, "tsconfig.build.json");
for (const pass of [["--emitDeclarationOnly"], ["--declaration", "false", "--removeComments"]]) {
    const tsc = spawnSync(process.execPath, [tscBin, "-p", config, ...pass], { stdio: "inherit" });
    if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

const ASSETS = [
    ["documents", /\.(sh|ps1)$/],
    ["sandbox/moto-shims", /\.py$/],
    ["demo/simulated-postfix", /^[^.]/],
];
for (const [dir, pattern] of ASSETS) {
    const from = path.join(root, dir);
    const to = path.join(root, "bin", dir);
    fs.mkdirSync(to, { recursive: true });
    for (const name of fs.readdirSync(from).filter((n) => pattern.test(n) && fs.statSync(path.join(from, n)).isFile())) {
        fs.copyFileSync(path.join(from, name), path.join(to, name));
        fs.chmodSync(path.join(to, name), fs.statSync(path.join(from, name)).mode);
    }
}
