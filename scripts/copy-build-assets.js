#!/usr/bin/env node
// Part of `npm run build` (and so of `prepare` / `npm pack`): copies the non-TypeScript files the built code
// loads by `__dirname` next to it under bin/ (documents' scripts, moto shims, the demo's simulated Postfix tools).
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
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
