/**
 * The rotation Lambda's logs in production wiring (issue 12 item 12): `rotationLambdaFactory` (the factory the
 * Lambda runs, reading its environment as the component sets it) runs in a fresh `node` process, and its
 * testSecret step proves the pending credential against the local SES-compatible endpoint, which refuses the
 * first logins with 535 (IAM propagation). Each retry must appear in the function's log (stdout = CloudWatch Logs).
 *
 * The rotation Lambda accepts only SMTP ports 587/465, so the test forwards 127.0.0.1:465 (plain TCP, TLS stays
 * end to end) to the endpoint's implicit-TLS port; the child trusts the endpoint's test CA via NODE_EXTRA_CA_CERTS.
 * SMTP_ENDPOINT=127.0.0.1 is not an SES host: the environment opts in with ALLOW_NON_SES_SMTP_ENDPOINT=true.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { rotationLambdaEnvironment } from "../components/auto-rotation";
import { validateRotatorArgs } from "../components/settings";
import { argsLabel } from "../components/validation";
import { resetAws, testEnv, childAwsEnv } from "./support/hooks";
import { leakScanner } from "./support/leak-scanner";
import { runNodeScript } from "./support/node-script";
import { RotationWorld, SES_REGION, USER } from "./support/rotation-driver";
import { SesEndpoint, startSesEndpoint } from "../sandbox/ses-endpoint";

const ROOT = path.join(__dirname, "..");
const SMTPS_PORT = 465;

/** Forwards 127.0.0.1:465 to `targetPort`; waits (polling, with a deadline) while another run holds the port. */
async function forwardSmtps(targetPort: number, deadlineMs = 60_000): Promise<net.Server> {
    const started = Date.now();
    for (;;) {
        const sockets = new Set<net.Socket>();
        const server = net.createServer((socket) => {
            const upstream = net.connect(targetPort, "127.0.0.1");
            for (const s of [socket, upstream]) {
                sockets.add(s);
                s.on("close", () => sockets.delete(s));
            }
            socket.pipe(upstream).pipe(socket);
            socket.on("error", () => upstream.destroy());
            upstream.on("error", () => socket.destroy());
        });
        const error = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
            server.once("error", resolve);
            server.listen(SMTPS_PORT, "127.0.0.1", () => resolve(undefined));
        });
        if (!error) {
            // close() then waits only for the server: open connections are cut.
            const close = server.close.bind(server);
            return Object.assign(server, { close: (cb?: (err?: Error) => void) => (sockets.forEach((s) => s.destroy()), close(cb)) });
        }
        if (error.code !== "EADDRINUSE" || Date.now() - started > deadlineMs) throw new Error(`cannot listen on 127.0.0.1:${SMTPS_PORT}: ${error.message}`);
        await new Promise((r) => setTimeout(r, 250));
    }
}

describe("rotation Lambda logs in production wiring (rotationLambdaFactory, fresh node)", function () {
    let ses: SesEndpoint;
    let forwarder: net.Server;
    const workDir = fs.mkdtempSync(path.join(os.tmpdir(), "rotation-logs-"));
    const caFile = path.join(workDir, "ses-ca.pem");

    before(async () => {
        ses = await startSesEndpoint({ motoUrl: testEnv().moto.url, region: SES_REGION });
        fs.writeFileSync(caFile, ses.ca);
        forwarder = await forwardSmtps(ses.implicitTlsPort);
    });
    after(async () => {
        await new Promise((r) => forwarder?.close(r));
        await ses?.stop();
        fs.rmSync(workDir, { recursive: true, force: true });
    });
    beforeEach(resetAws);

    it("a 535-then-accept testSecret logs each retry, then the accepted login, in the function's log", async () => {
        const world = await new RotationWorld(ses, { smtpPort: 465 }).setUp();
        const token = await world.beginRotation();
        await world.step("createSecret", token);
        const pending = await world.value({ versionId: token });
        leakScanner.addSecret("smtp-password", pending.password);

        // SES refuses the new key twice (IAM propagation), then accepts it.
        let refusals = 2;
        ses.refuseLogin = (username) => (username === pending.username && refusals-- > 0 ? "propagation" : undefined);

        const settings = validateRotatorArgs(argsLabel("SmtpCredentialRotator", "bu-a"), "bu-a", {
            sesRegion: SES_REGION,
            sesIdentities: ["example.com"],
            smtpEndpoint: "127.0.0.1",
            allowNonSesSmtpEndpoint: true,
            smtpPort: 465,
            fleet: { target: pulumi.output(world.config.fleet), serverRoleNames: [] },
        });
        const env = childAwsEnv({
            NODE_EXTRA_CA_CERTS: caFile,
            ...rotationLambdaEnvironment(settings, {
                iamUserName: USER,
                fleetTarget: world.config.fleet,
                postfixDocument: world.config.postfixDocument,
                iisDocument: world.config.iisDocument,
                notifyTopicArn: world.topicArn,
            }),
        });
        assert.strictEqual(env.ALLOW_NON_SES_SMTP_ENDPOINT, "true");
        const event = { Step: "testSecret", SecretId: world.secretArn, ClientRequestToken: token };
        const script = `
            require("ts-node/register/transpile-only");
            const { rotationLambdaFactory } = require(${JSON.stringify(path.join(ROOT, "components", "rotation-lambda"))});
            rotationLambdaFactory()(${JSON.stringify(event)}, { getRemainingTimeInMillis: () => 600000 })
                .then(() => console.log("HANDLER-RESOLVED"))
                .catch((e) => { console.error("HANDLER-REJECTED " + e.message); process.exitCode = 1; });`;
        const run = await runNodeScript(script, { cwd: ROOT, env });
        leakScanner.observe("rotation Lambda stdout", run.stdout);
        leakScanner.observe("rotation Lambda stderr", run.stderr);
        assert.strictEqual(run.code, 0, `${run.stderr}\n${run.stdout}`);
        assert.match(run.stdout, /HANDLER-RESOLVED/);

        const lines = run.stdout.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
        const retries = lines.filter((l) => l.msg === "SMTP AUTH not accepted yet, retrying (IAM propagation)");
        assert.deepStrictEqual(
            retries.map((l) => [l.attempt, l.responseCode, l.username, l.host, l.port]),
            [
                [1, 535, pending.username, "127.0.0.1", 465],
                [2, 535, pending.username, "127.0.0.1", 465],
            ],
            run.stdout,
        );
        assert.deepStrictEqual(
            lines.filter((l) => l.msg === "SMTP AUTH accepted").map((l) => l.attempt),
            [3],
        );
        const done = lines.find((l) => l.msg === "testSecret: SMTP AUTH accepted the pending credential");
        assert.deepStrictEqual(done?.outcome, { attempts: 3 });
        assert.deepStrictEqual(
            ses.authLog.filter((a) => a.username === pending.username).map((a) => a.ok),
            [false, false, true],
        );
        assert.ok(!run.stdout.includes(pending.password) && !run.stderr.includes(pending.password), "the password never reaches the log");
    });
});
