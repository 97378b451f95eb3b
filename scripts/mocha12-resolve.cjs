// Loaded with `node --require` by scripts/mutation.mjs (through NODE_OPTIONS, so Stryker's worker processes get
// it too). @stryker-mutator/mocha-runner 9.6.1 requires mocha's CLI helpers as `mocha/lib/cli/run-helpers`,
// `.../options` and `.../collect-files`; mocha 12 ships them as `.cjs` files with the same exports. This lets
// those three paths resolve to the `.cjs` files; nothing else is touched (`npm test` does not load it).
const Module = require("node:module");
const path = require("node:path");

const original = Module._resolveFilename;
const helpers = /[\\/]mocha[\\/]lib[\\/]cli[\\/](run-helpers|options|collect-files)$/;
Module._resolveFilename = function (request, ...rest) {
    if (helpers.test(request) && path.isAbsolute(request)) request = `${request}.cjs`;
    return original.call(this, request, ...rest);
};
