/**
 * The emulator's SES SMTP password derivation (sandbox/ses-password-reference.ts) is independent of the
 * runtime's: it reproduces AWS's public vectors on its own, agrees with runtime/smtp-password.ts on random keys,
 * imports nothing from runtime/, and the SES-compatible endpoint refuses a password from a runtime derivation
 * with a mutated version byte (the runtime file's own source, mutated and compiled here).
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import * as ts from "typescript";
import { IAMClient } from "@aws-sdk/client-iam";
import { deriveSmtpPassword } from "../runtime/smtp-password";
import { referenceSmtpPassword } from "../sandbox/ses-password-reference";
import { createUserWithKey, SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";
import { smtpLogin } from "../sandbox/smtp-login";
import { clientConfig, resetAws, testEnv } from "./support/hooks";

const RUNTIME_SOURCE = path.join(__dirname, "..", "runtime", "smtp-password.ts");

/** runtime/smtp-password.ts with `mutate` applied to its source, compiled and loaded in isolation. */
function mutatedRuntime(mutate: (src: string) => string): { deriveSmtpPassword: (secret: string, region: string) => string } {
    const original = fs.readFileSync(RUNTIME_SOURCE, "utf8");
    const source = mutate(original);
    assert.notStrictEqual(source, original, "the mutation changed the source");
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
    const mod = { exports: {} as any };
    new Function("require", "module", "exports", js)(require, mod, mod.exports);
    return mod.exports;
}

/** One AUTH attempt: 235 on success, else the SMTP reply code of the failure. */
const login = async (...args: Parameters<typeof smtpLogin>): Promise<number> => (await smtpLogin(...args)).code;

describe("SES SMTP password: the emulator's independent derivation (Python hmac in a child process)", () => {
    const vectors: [string, string, string][] = [
        ["some+secret+key", "eu-central-1", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"],
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-2", "BMPPgbAHoFVbze1Ud0oA5uNdXRwUXUZ+qOwphGJbl/cS"],
        ["SECRET_KEY", "eu-west-1", "BIhFZ/Ylx0jPVY7JeKUnHT4rO9jfB1VuZu4qglc/3gj9"],
    ];
    for (const [key, region, expected] of vectors) {
        it(`reproduces the public vector for ${region} on its own`, async () => {
            assert.strictEqual(await referenceSmtpPassword(key, region), expected);
        });
    }

    it("agrees with runtime/smtp-password.ts on random secrets in several regions", async () => {
        for (const region of ["eu-west-1", "us-gov-west-1", "ap-southeast-7"]) {
            const secret = randomBytes(30).toString("base64");
            assert.strictEqual(await referenceSmtpPassword(secret, region), deriveSmtpPassword(secret, region), region);
        }
    });

    it("shares no code with runtime/: its only import is child_process", () => {
        const src = fs.readFileSync(path.join(__dirname, "..", "sandbox", "ses-password-reference.ts"), "utf8");
        const imports = [...src.matchAll(/(?:from|require\()\s*["']([^"']+)["']/g)].map((m) => m[1]);
        assert.deepStrictEqual(imports, ["child_process"]);
        assert.doesNotMatch(src, /createHmac/);
    });

    describe("the SES-compatible endpoint decides with it", function () {
        this.timeout(30000);
        let ep: SesEndpoint;
        let key: { id: string; secret: string };
        before(async () => {
            ep = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: "eu-west-1" });
        });
        after(async () => ep.stop());
        beforeEach(async () => {
            await resetAws();
            key = await createUserWithKey(new IAMClient(clientConfig()), "reference");
        });

        it("accepts the runtime's password and refuses one from a runtime with a mutated version byte (535)", async () => {
            assert.strictEqual(await login(ep, key.id, deriveSmtpPassword(key.secret, "eu-west-1")), 235);
            const broken = mutatedRuntime((src) => src.replace("const VERSION = 0x04;", "const VERSION = 0x05;"));
            assert.strictEqual(await login(ep, key.id, broken.deriveSmtpPassword(key.secret, "eu-west-1")), 535);
            assert.deepStrictEqual(ep.authLog.map((e) => e.reason ?? "ok"), ["ok", "wrong-password"]);
        });

        it("refuses a runtime whose signing date or terminal string was changed", async () => {
            for (const mutate of [(s: string) => s.replace('const DATE = "11111111";', 'const DATE = "11111112";'), (s: string) => s.replace('const MESSAGE = "SendRawEmail";', 'const MESSAGE = "SendEmail";')]) {
                assert.strictEqual(await login(ep, key.id, mutatedRuntime(mutate).deriveSmtpPassword(key.secret, "eu-west-1")), 535);
            }
        });
    });
});
