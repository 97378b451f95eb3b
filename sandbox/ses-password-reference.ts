/**
 * An independent derivation of the SES SMTP password (version 4), for the emulator's side only.
 *
 * The SES-compatible endpoint and the fault matrix's checkers decide whether a password is right with THIS
 * function, never with `runtime/smtp-password.ts`: the computation runs in a Python child process (`hmac` +
 * `hashlib`, the algorithm AWS documents for "Obtaining Amazon SES SMTP credentials"), so it shares no code with
 * the runtime. A change to the runtime's derivation (a different version byte, date, terminal string ...) makes
 * every login the runtime's passwords attempt fail with 535 instead of the emulator agreeing with itself.
 *
 * This module must not import anything from `runtime/` (tests/ses-password-reference.test.ts checks that).
 * The secret (and a candidate password) go to the child on stdin, never on its command line; the endpoint uses
 * {@link verifySmtpPassword}, whose child prints only "match" / "mismatch", so no password crosses a pipe the
 * suite's leak scanner reads (it tees every child's stdout/stderr).
 */
import { spawn } from "child_process";

const PYTHON = process.env.SES_REFERENCE_PYTHON ?? "python3";

/** The documented algorithm (docs.aws.amazon.com/ses/latest/dg/smtp-credentials.html), line for line. */
const SCRIPT = `
import sys, hmac, hashlib, base64
secret, region, candidate = (sys.stdin.read().split("\\n") + ["", ""])[:3]
def sign(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()
signature = sign(("AWS4" + secret).encode("utf-8"), "11111111")
for part in (region, "ses", "aws4_request", "SendRawEmail"):
    signature = sign(signature, part)
password = base64.b64encode(bytes([0x04]) + signature).decode("ascii")
if candidate:
    sys.stdout.write("match" if hmac.compare_digest(password, candidate) else "mismatch")
else:
    sys.stdout.write(password)
`;

const cache = new Map<string, Promise<string>>();

function runPython(secretAccessKey: string, region: string, candidate = ""): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn(PYTHON, ["-c", SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on("data", (c: Buffer) => out.push(c));
        child.stderr.on("data", (c: Buffer) => err.push(c));
        child.on("error", (e) => reject(new Error(`SES password reference: cannot run ${PYTHON} (${e.message}); install Python 3 or set SES_REFERENCE_PYTHON`)));
        child.on("close", (code) => {
            const text = Buffer.concat(out).toString("ascii").trim();
            if (code !== 0 || !(candidate ? /^(match|mismatch)$/ : /^[A-Za-z0-9+/]{44}$/).test(text)) {
                reject(new Error(`SES password reference: ${PYTHON} exited ${code}: ${Buffer.concat(err).toString("utf8").slice(0, 300)}`));
            } else {
                resolve(text);
            }
        });
        child.stdin.end(`${secretAccessKey}\n${region}\n${candidate}\n`);
    });
}

function usable(secretAccessKey: string, region: string, candidate = ""): boolean {
    return !!secretAccessKey && !`${secretAccessKey}${candidate}`.includes("\n") && /^[a-z0-9-]+$/.test(region);
}

/**
 * The SES SMTP password for `secretAccessKey` in `region`, computed by Python's hmac (for tests of this module
 * with published vectors: its output crosses a pipe, so never call it with a live key's secret).
 */
export function referenceSmtpPassword(secretAccessKey: string, region: string): Promise<string> {
    if (!usable(secretAccessKey, region)) return Promise.reject(new Error(`SES password reference: unusable secret or region ${JSON.stringify(region)}`));
    return runPython(secretAccessKey, region);
}

/** Is `candidate` the SES SMTP password of `secretAccessKey` in `region`? Decided in Python (cached). */
export async function verifySmtpPassword(secretAccessKey: string, region: string, candidate: string): Promise<boolean> {
    if (!candidate || !usable(secretAccessKey, region, candidate)) return false;
    const key = `${region}\n${secretAccessKey}\n${candidate}`;
    let p = cache.get(key);
    if (!p) {
        p = runPython(secretAccessKey, region, candidate);
        p.catch(() => cache.delete(key));
        cache.set(key, p);
    }
    return (await p) === "match";
}
