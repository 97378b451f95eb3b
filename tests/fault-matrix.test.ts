/**
 * The fault matrix: every scenario of tests/fault-matrix/scenarios.ts runs the REAL rotation handler against
 * moto, with the fault injected only at the wire (production code unchanged), lets the rotation converge the way
 * Secrets Manager retries it, and checks the invariants (tests/fault-matrix/harness.ts):
 *  - every server always holds a credential that authenticates, and so does AWSCURRENT: measured by a real SMTP
 *    AUTH against the SES-compatible endpoint after every invocation and every fleet poll;
 *  - each fault has its intended effect: a crash fails its step and a retry converges (failsStep); a fault
 *    that fires without failing any step must be declared absorbed, with the reason;
 *  - at most 2 access keys at every checkpoint; no orphan key after convergence;
 *  - a failed rotation leaves AWSCURRENT on a working key and an alert naming the cause and the servers;
 *    once the cause is repaired, the next attempt completes it.
 * `WRITE_FAULT_MATRIX=1 npx mocha tests/fault-matrix.test.ts` rewrites docs/fault-matrix.md from the results.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { createSmtpCheck } from "../runtime/smtp-check";
import { FaultHarness } from "./fault-matrix/harness";
import { MANUAL_SCENARIOS, runManualScenario } from "./fault-matrix/manual";
import { SCENARIOS } from "./fault-matrix/scenarios";
import { resetAws, testEnv } from "./support/hooks";
import { SES_REGION } from "./support/rotation-driver";
import { SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";

interface Result {
    scenario: { name: string; family: string; fault: string };
    outcome: string;
    checkpoints: number;
}

const results: Result[] = [];
const TOTAL = SCENARIOS.length + MANUAL_SCENARIOS.length;

after(() => {
    if (process.env.WRITE_FAULT_MATRIX === "1") writeTable(results);
});

describe(`fault matrix (${SCENARIOS.length} scenarios, auto mode, faults injected at the wire)`, function () {
    this.timeout(300000);
    let endpoint: SesEndpoint;

    before(async () => {
        endpoint = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
    });
    after(async () => {
        await endpoint.stop();
    });

    it(`has at least 40 scenarios (${TOTAL} with manual mode) with unique names`, () => {
        assert.ok(TOTAL >= 40, `${TOTAL} scenarios`);
        const names = [...SCENARIOS, ...MANUAL_SCENARIOS].map((s) => s.name);
        assert.strictEqual(new Set(names).size, names.length);
    });

    for (const scenario of SCENARIOS) {
        it(`${scenario.family}: ${scenario.name}`, async () => {
            await resetAws();
            const h = await new FaultHarness(endpoint, scenario).setUp();
            try {
                const run = await h.run();
                let outcome: string;
                if (scenario.failsStep) {
                    assert.ok(run.stepErrors.some((e) => e.startsWith(`${scenario.failsStep}:`)), `the fault made ${scenario.failsStep} fail: ${run.stepErrors.join(" | ") || "no step failed"}`);
                }
                if (scenario.absorbed) assert.deepStrictEqual(run.stepErrors, [], "declared absorbed, yet a step failed");
                else if (h.firedFaults() > 0 && run.stepErrors.length === 0) assert.fail("the injected fault fired but no step failed: declare it absorbed (and why) or make it have its effect");
                if (run.rotated) {
                    assert.strictEqual(scenario.expect, "rotated", `rotated although "${scenario.expect}" was expected`);
                    const retries = run.stepErrors.length;
                    outcome = `rotated${retries ? ` after ${retries} failed invocation(s), ${run.rounds > 1 ? "in the re-attempted rotation" : "retried within the rotation"}` : ""}`;
                    if (scenario.absorbed) outcome += `; absorbed (no step failed): ${scenario.absorbed}`;
                } else {
                    assert.strictEqual(scenario.expect, "failed", `not rotated: ${run.stepErrors.join(" | ")}`);
                    const current = (await h.valueOf("AWSCURRENT"))!;
                    assert.strictEqual(current.username, h.world.firstKeyId, "a failed rotation leaves AWSCURRENT on the old key");
                    const alerts = h.failureAlerts();
                    assert.ok(alerts.length > 0, "a failed rotation leaves an alert");
                    const needed = [...(scenario.alertMentions?.(h.ctx) ?? []), ...h.failedServers];
                    for (const text of needed) assert.ok(alerts.some((a) => a.includes(text)), `an alert names ${text}: ${alerts.at(-1)?.slice(0, 600)}`);
                    assert.ok(await h.repairAndRetry(), `after repair the re-attempt completes: ${h.stepErrors.slice(-2).join(" | ")}`);
                    const named = [scenario.alertMentions ? "the cause" : "", h.failedServers.size ? "the failed servers" : ""].filter(Boolean).join(" and ") || "the failed step";
                    outcome = `failed safely (AWSCURRENT kept on the old key; alert names ${named}); completed once repaired`;
                }
                await h.converge();
                const current = (await h.valueOf("AWSCURRENT"))!;
                assert.notStrictEqual(current.username, h.world.firstKeyId, "AWSCURRENT moved to a new key");
                await createSmtpCheck({ host: endpoint.host, port: endpoint.port, tlsMode: "starttls", ca: endpoint.ca, budgetMs: 0 })(current);
                assert.deepStrictEqual(await h.orphanKeys(), [], "no orphan key after convergence");
                const shown = await scenario.verify?.(h.ctx, run);
                if (shown) outcome += `; ${shown}`;
                assert.deepStrictEqual(h.violations, [], "invariants held at every checkpoint");
                assert.ok(h.checkerLogins > 0, "the checker measured credentials by SMTP AUTH");
                assert.deepStrictEqual(h.unfiredFaults(), [], "every injected fault fired");
                if (scenario.server) assert.ok(h.unusualOutcomes > 0, "the server policy made a server misbehave");
                if (/SMTP 535/.test(scenario.name)) assert.ok(endpoint.authLog.some((e) => e.reason === "refused-by-test"), "the endpoint refused logins");
                results.push({ scenario, outcome, checkpoints: h.checkpointCount });
            } finally {
                h.tearDown();
                await scenario.cleanup?.(h.ctx);
            }
        });
    }
});

describe(`fault matrix (${MANUAL_SCENARIOS.length} scenarios, manual mode: emitted state machines in moto)`, function () {
    this.timeout(300000);
    for (const scenario of MANUAL_SCENARIOS) {
        it(scenario.name, async () => {
            await resetAws();
            const run = await runManualScenario(scenario);
            assert.deepStrictEqual(run.violations, [], "invariants held at every checkpoint");
            assert.deepStrictEqual(run.unfiredFaults, [], "every injected fault fired");
            assert.strictEqual(run.status, scenario.expect === "rotated" ? "SUCCEEDED" : "FAILED");
            const outcome =
                run.status === "SUCCEEDED"
                    ? `rotated (${scenario.recoveredBy ?? "Step Functions retried the task"}); old key deleted after the grace`
                    : "failed safely: old key Active, operators told which servers were not confirmed";
            results.push({ scenario, outcome, checkpoints: run.checkpoints });
        });
    }
});

/** docs/fault-matrix.md: the scenario table (name, fault, outcome). */
function writeTable(results: Result[]): void {
    const cell = (t: string) => t.replace(/\|/g, "\\|").replace(/\n/g, " ");
    const file = path.join(__dirname, "..", "docs", "fault-matrix.md");
    let rows = results.map((r) => `| ${cell(r.scenario.family)} | ${cell(r.scenario.name)} | ${cell(r.scenario.fault)} | ${cell(r.outcome)} | ${r.checkpoints} |`);
    // A partial run (mocha --grep) replaces its own rows and keeps the others from the last run.
    const partial = results.length < TOTAL && fs.existsSync(file);
    if (partial) {
        const fresh = new Map(results.map((r, i) => [cell(r.scenario.name), rows[i]]));
        const old = fs.readFileSync(file, "utf8").split("\n").filter((l) => /^\| \d+ \|/.test(l)).map((l) => l.replace(/^\| \d+ /, ""));
        const nameOf = (row: string) => row.split(" | ")[1];
        rows = [...old.map((row) => fresh.get(nameOf(row)) ?? row), ...rows.filter((row) => !old.some((o) => nameOf(o) === nameOf(row)))];
    }
    const lines = [
        "# Fault matrix",
        "",
        "Generated by `WRITE_FAULT_MATRIX=1 npx mocha tests/fault-matrix.test.ts` (the test also runs in `npm test`).",
        "Auto mode: every scenario runs the real rotation handler against moto; the fault is injected at the wire (the AWS proxy,",
        "the SSM result overlay, or the SES-compatible endpoint's refusal hook); the production code is unchanged.",
        "Secrets Manager's behaviour is modelled: a failed step is retried up to 2 times, then a later RotateSecret",
        "re-attempts the same pending version; a rotation expected to fail is then repaired (fault lifted) and re-attempted.",
        "",
        "Invariants checked in every scenario, at every checkpoint (after each invocation and each fleet poll):",
        "every server holds a credential that authenticates and so does AWSCURRENT, each measured by a real SMTP AUTH",
        "against the SES-compatible endpoint (which checks the password with a derivation sharing no code with runtime/);",
        "at most 2 access keys. After convergence (retirement run past observation and grace): no orphan key.",
        "A failed rotation keeps AWSCURRENT on the old key and leaves an alert naming the cause and the servers.",
        "Each fault has its intended effect: a crash (the Lambda dies right after the call took effect; nothing later in",
        "that invocation runs) fails its step and a retry converges; a fault that fires without failing any step is",
        "listed as absorbed, with the reason.",
        "",
        "Manual mode: the emitted CredentialRotation / ManualConfirmation state machines run in moto's Step Functions",
        "interpreter, Lambda tasks answered by the real handlers in-process; owners install the version named in their mail",
        "and confirm through the real confirmation API handler. Same invariants while the run is in flight and at its end.",
        "",
        partial ? `${rows.length} scenarios; ${results.length} of them re-run in the latest (partial, --grep) run, the others as of the last full run.` : `${results.length} scenarios passed.`,
        "",
        "| # | family | scenario | fault | outcome | checkpoints |",
        "|---|---|---|---|---|---|",
        ...rows.map((row, i) => `| ${i + 1} ${row}`),
        "",
    ];
    fs.writeFileSync(file, lines.join("\n"));
}
