/**
 * Mocha root hooks for mutation testing only (`npm run mutation`, Stryker's mocha runner): Stryker runs mocha
 * many times in one long-lived worker process (once per mutant), and mocha runs root hooks on every run. These
 * start moto_server and the wire proxy on the first run and keep them for the next ones; Stryker ends the worker
 * with its process tree, moto included. The leak scanner's hooks are left out: they sweep moto after every test,
 * which costs time per mutant and tests nothing about the mutated file (`npm test` keeps them).
 */
import { startTestEnv, testEnvStarted } from "./hooks";

export const mochaHooks = {
    async beforeAll(this: Mocha.Context) {
        this.timeout(60000);
        if (!testEnvStarted()) await startTestEnv();
    },
};
