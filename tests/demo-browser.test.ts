/**
 * The manual-mode demo's confirmation page in a real browser: headless Debian Chromium driven by
 * playwright-core (`executablePath`), a fresh profile per test. The demo runs as a child process and prints
 * each server's link; the browser opens it, a person's click confirms, the rotation completes. Merely
 * loading the page (what a mail link scanner does) confirms nothing.
 * Screenshots go to tests/artifacts/ (git-ignored). Under CI=true a missing Chromium fails the suite.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { chromium, BrowserContext } from "playwright-core";
import { collect, spawnDemo, until } from "./support/demo-process";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = path.join(__dirname, "artifacts");
const CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];
const LINK = /(mail-\d+): server updated; confirm at (http:\/\/127\.0\.0\.1:\d+\/confirm\/[A-Za-z0-9_-]{43})/;

describe("demo manual mode in headless Chromium", function () {
    this.timeout(400000);
    let context: BrowserContext | undefined;
    let profile = "";
    const children: ReturnType<typeof spawnDemo>[] = [];

    /** Starts the one-server manual demo and waits until it prints mail-1's confirmation link. */
    async function startDemoUntilLink(): Promise<{ child: ReturnType<typeof spawnDemo>; run: ReturnType<typeof collect>; link: string }> {
        const child = spawnDemo(["--mode", "manual", "--servers", "1", "--no-postfix"]);
        children.push(child);
        const run = collect(child);
        await until("the demo to print mail-1's link", () => LINK.test(run.output()), 180000);
        return { child, run, link: LINK.exec(run.output())![2] };
    }

    before(async function () {
        // Chromium may still be being installed by apt: give it a minute to appear.
        const found = await until("Chromium at /usr/bin/chromium", () => fs.existsSync(CHROMIUM), 60000).then(
            () => true,
            () => false,
        );
        if (!found) {
            if (process.env.CI === "true") throw new Error(`${CHROMIUM} is missing; under CI=true this is a failure, not a skip (install Debian's chromium)`);
            this.skip();
        }
        fs.mkdirSync(ARTIFACTS, { recursive: true });
    });

    beforeEach(async () => {
        profile = fs.mkdtempSync(path.join(os.tmpdir(), "demo-chromium-profile-"));
        context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
    });

    afterEach(async () => {
        await context?.close();
        context = undefined;
        fs.rmSync(profile, { recursive: true, force: true });
        for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
    });

    it("opening the link and clicking Confirm completes the rotation", async () => {
        const { run, link } = await startDemoUntilLink();

        const page = await context!.newPage();
        const response = await page.goto(link);
        assert.strictEqual(response?.status(), 200);
        await page.getByRole("heading", { name: "Confirm the new SMTP credential on mail-1.demo.internal" }).waitFor();
        await page.screenshot({ path: path.join(ARTIFACTS, "demo-confirmation-page.png"), fullPage: true });
        await page.getByRole("button", { name: /^Confirm: this server uses the new credential/ }).click();
        await page.getByRole("heading", { name: "Confirmed, thank you" }).waitFor();
        await page.screenshot({ path: path.join(ARTIFACTS, "demo-confirmed-page.png"), fullPage: true });

        const ended = await run;
        assert.strictEqual(ended.code, 0, ended.stdout + ended.stderr);
        assert.match(ended.stdout, /server mail-1 \(simulated\): confirmed/);
        assert.match(ended.stdout, /Rotation complete in [\d.]+ s \(manual mode\)\./);
        const keys = /IAM keys now: (AKIA\w+) Active \(new\); (AKIA\w+) deleted/.exec(ended.stdout);
        assert.ok(keys, `new key Active and old key deleted:\n${ended.stdout}`);
    });

    it("loading the page (as a mail link scanner does) confirms nothing", async () => {
        const { child, run, link } = await startDemoUntilLink();

        // A scanner fetches the link, maybe several times, and follows nothing else (no form submission).
        const page = await context!.newPage();
        for (let i = 0; i < 3; i++) {
            const response = await page.goto(link);
            assert.strictEqual(response?.status(), 200, "the link is still pending: not used up by a GET");
            await page.getByRole("button", { name: /^Confirm: this server uses the new credential/ }).waitFor();
        }
        const head = await fetch(link, { method: "HEAD" });
        assert.strictEqual(head.status, 200);
        await page.screenshot({ path: path.join(ARTIFACTS, "demo-page-after-scanner.png"), fullPage: true });
        // Still waiting for a person: after the loads, the page still offers Confirm (a used link answers 409).
        const again = await page.goto(link);
        assert.strictEqual(again?.status(), 200);
        assert.doesNotMatch(run.output(), /: confirmed/, "the demo saw no confirmation");
        assert.doesNotMatch(run.output(), /step deactivateOldKey/, "the old key was not touched");

        child.kill("SIGINT");
        const ended = await run;
        assert.strictEqual(ended.code, 130);
        assert.doesNotMatch(ended.stdout, /Rotation complete/);
    });
});
