/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1 / localhost, made with the
 * `openssl` CLI for the test SMTP endpoint (smtp-server's bundled certificate is expired).
 * Generated once per process into a temporary directory that is removed right after; only PEM text stays in memory.
 */
import { execFileSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import { join } from "path";

/** PEM material for a TLS server and the CA clients must trust to verify it. */
export interface TestTls {
    /** CA certificate (PEM): pass as `ca` to clients */
    ca: string;
    /** server certificate (PEM), signed by `ca`, SAN IP:127.0.0.1, DNS:localhost */
    cert: string;
    /** server private key (PEM) */
    key: string;
}

let cached: TestTls | undefined;

function openssl(args: string[], cwd: string): void {
    try {
        execFileSync("openssl", args, { cwd, stdio: ["ignore", "ignore", "pipe"] });
    } catch (e: any) {
        throw new Error(`openssl ${args[0]} failed: ${e.stderr?.toString() ?? e.message}`);
    }
}

/** Returns the test CA and a server certificate for 127.0.0.1/localhost (generated on first use, valid 2 days). */
export function testTls(): TestTls {
    if (cached) return cached;
    const dir = mkdtempSync(join(tmpdir(), "ses-endpoint-tls-"));
    try {
        openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ses-smtp-rotator test CA", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"], dir);
        openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"], dir);
        writeFileSync(
            join(dir, "server.ext"),
            "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n",
        );
        openssl(["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "server.pem", "-days", "2", "-extfile", "server.ext"], dir);
        cached = {
            ca: readFileSync(join(dir, "ca.pem"), "utf8"),
            cert: readFileSync(join(dir, "server.pem"), "utf8"),
            key: readFileSync(join(dir, "server.key"), "utf8"),
        };
        return cached;
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
