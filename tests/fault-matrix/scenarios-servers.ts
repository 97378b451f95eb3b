/**
 * Fault-matrix scenarios about what runs on a server (issue 12 items 5 and 6): the server's document refuses
 * (relay host not SES, TLS not enforced) or SSM skips it (the software tag does not match the platform). The
 * misconfigured server is a REAL Postfix instance whose fleet agent (sandbox/fleet-agent.ts, playing the SSM
 * Agent) runs the REAL document the handler's command names (issue 16 item 2): the rotation reads the script's
 * own marker lines and messages, and the server's files are checked byte-identical afterwards. The harness waits
 * for the agent's answer to each command. Without Postfix (not installed, or not root) the server answers with
 * the recorded text of those scripts instead (proven on real Postfix in tests/postfix-guard.test.ts); under
 * CI=true that is a failure. In every case the server keeps its working credential, the rotation fails safely
 * naming the server and the cause, and once the server is fixed (its agent stops; the harness answers for it)
 * the next attempt completes.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { CreateDocumentCommand } from "@aws-sdk/client-ssm";
import { iisDocumentContent, postfixDocumentContent } from "../../documents";
import { FleetAgent } from "../../sandbox/fleet-agent";
import { PostfixInstance, postfixInstalled, run, startPostfix } from "../../sandbox/postfix";
import { clientConfig, testEnv } from "../support/hooks";
import { leakScanner } from "../support/leak-scanner";
import { SES_REGION } from "../support/rotation-driver";
import type { InvocationResult } from "../../sandbox/aws-proxy";
import type { Scenario, ScenarioContext } from "./harness";

const REFUSED_RELAY: InvocationResult = {
    status: "Failed",
    responseCode: 1,
    stdout:
        "SES-ROTATOR-CHECK: tools ok postconf, postmap, postfix and aws found\n" +
        "SES-ROTATOR-CHECK: tls ok smtp_tls_security_level = encrypt\n" +
        "SES-ROTATOR-CHECK: fetch ok read SecretsManager (reference) : SES region eu-west-1\n" +
        "SES-ROTATOR-CHECK: relayhost fail relay host 'mailhub.corp.example' is not the SES SMTP endpoint of the credential's region eu-west-1\n",
    stderr: "update-smtp-credentials: ERROR: relayhost: relay host 'mailhub.corp.example' is not the SES SMTP endpoint of the credential's region eu-west-1; refusing to install the SES credential for another host\n",
};
const REFUSED_TLS: InvocationResult = {
    status: "Failed",
    responseCode: 1,
    stdout: "SES-ROTATOR-CHECK: tools ok postconf, postmap, postfix and aws found\nSES-ROTATOR-CHECK: tls fail TLS is not enforced for the relay host: smtp_tls_security_level is 'may'\n",
    stderr: "update-smtp-credentials: ERROR: tls: TLS is not enforced for the relay host: smtp_tls_security_level is 'may'; refusing to send the SES password over a connection that may be plain text\n",
};
/** What the SSM Agent reports for a step whose platform precondition does not match: Success, this output. */
const SKIPPED_STEP: InvocationResult = {
    status: "Success",
    responseCode: 0,
    stdout: `Step execution skipped due to unsatisfied preconditions: '"StringEquals": [platformType, Windows]'. Step name: updateSmtpCredentials\n`,
};

/** What the real server's answer must show (status and the script's or the agent's own words). */
interface Expected {
    status: InvocationResult["status"];
    output: RegExp;
}

/** Every file of a Postfix config dir with its bytes: what "nothing changed" compares. */
function snapshot(dir: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const f of fs.readdirSync(dir).sort()) {
        const p = path.join(dir, f);
        if (fs.statSync(p).isFile()) out[f] = fs.readFileSync(p).toString("base64");
    }
    return out;
}

/** True when real Postfix instances can run here; under CI=true a missing Postfix is a failure. */
function realPostfixHere(): boolean {
    if (postfixInstalled() && process.getuid?.() === 0) return true;
    if (process.env.CI === "true") throw new Error("the server scenarios need a real Postfix (installed, run as root); under CI=true this is a failure");
    return false;
}

/**
 * `pick` chooses the misconfigured server: a real Postfix with `settings` in its main.cf and a fleet agent that
 * runs the real documents for its instance id. Each command it gets is answered by the agent; the harness records
 * the server as not answering itself ("silent"): it keeps the credential it had, and must be named in the alert.
 * `recorded` is the fallback answer without Postfix.
 */
function misconfigured(pick: (c: ScenarioContext) => string, settings: Record<string, string>, expected: Expected, recorded: InvocationResult): Pick<Scenario, "setup" | "server" | "repair" | "verify" | "cleanup"> {
    let real: { postfix: PostfixInstance; agent?: FleetAgent; before: Record<string, string>; answers: InvocationResult[] } | undefined;
    return {
        setup: async (c) => {
            real = undefined;
            if (!realPostfixHere()) return;
            for (const [name, content] of [[c.world.config.postfixDocument, postfixDocumentContent()], [c.world.config.iisDocument, iisDocumentContent()]] as const) {
                await c.world.ssm.send(new CreateDocumentCommand({ Name: name, DocumentType: "Command", DocumentFormat: "JSON", Content: JSON.stringify(content) }));
            }
            const current = await c.world.value({ stage: "AWSCURRENT" });
            const postfix = await startPostfix({ name: "mx-matrix", relay: { host: c.h.endpoint.host, port: c.h.endpoint.port }, caPem: c.h.endpoint.ca });
            real = { postfix, before: {}, answers: [] };
            leakScanner.watchDirectory(postfix.root, ["sasl_passwd", "sasl_passwd.db"]);
            await postfix.installCredential(current.username, current.password);
            if (Object.keys(settings).length) await run("postconf", ["-c", postfix.configDir, "-e", ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
            real.before = snapshot(postfix.configDir);
            real.agent = new FleetAgent({ instanceId: pick(c), proxy: testEnv().proxy, clientConfig: clientConfig(), env: { SES_ROTATOR_POSTFIX_CONFIG_DIR: postfix.configDir } });
            real.agent.start();
        },
        server: async (c, instanceId, n) => {
            if (instanceId !== pick(c)) return "success";
            const sent = c.world.sentCommands().filter((s) => (s.command.InstanceIds ?? []).includes(instanceId));
            const commandId = sent[n].command.CommandId;
            if (real?.agent) real.answers.push(await real.agent.waitFor(commandId, 120_000));
            else testEnv().proxy.setInvocation(commandId, instanceId, recorded);
            return "silent";
        },
        // The operator fixes the server: it leaves the scenario's real part (its agent stops, the harness answers).
        repair: async () => {
            await real?.agent?.stop();
            if (real) real.agent = undefined;
        },
        verify: async () => {
            if (!real) return "answered with the scripts' recorded text (no Postfix here)";
            assert.ok(real.answers.length > 0, "the real server answered at least one command");
            for (const a of real.answers) {
                assert.strictEqual(a.status, expected.status, `the real server's answer: ${a.status} ${a.stdout ?? ""} ${a.stderr ?? ""}`);
                assert.match(`${a.stdout ?? ""}\n${a.stderr ?? ""}`, expected.output);
                assert.doesNotMatch(a.stdout ?? "", /^SES-ROTATOR-RESULT: updated$/m);
            }
            assert.deepStrictEqual(snapshot(real.postfix.configDir), real.before, "the real server's Postfix files are byte-identical");
            return `a real Postfix answered ${real.answers.length} command(s) through the fleet agent running the real document; its files unchanged`;
        },
        cleanup: async () => {
            await real?.agent?.stop();
            await real?.postfix.destroy();
            real = undefined;
        },
    };
}

export const SERVER_SCENARIOS: Scenario[] = [
    {
        name: "relay host is not SES",
        family: "what runs on the servers",
        fault: "one Postfix server relays through [mailhub.corp.example]:25; its document refuses to install the SES credential (exit 1, nothing changed)",
        expect: "failed",
        ...misconfigured(
            (c) => c.world.instances.postfix[0],
            { relayhost: "[mailhub.corp.example]:25" },
            { status: "Failed", output: /relayhost: relay host 'mailhub\.corp\.example' is not the SES SMTP endpoint of the credential's region eu-west-1/ },
            REFUSED_RELAY,
        ),
        alertMentions: () => ["relayhost", "mailhub.corp.example"],
    },
    {
        name: "TLS not enforced",
        family: "what runs on the servers",
        fault: "one Postfix server has smtp_tls_security_level = may; its document refuses to send the password in the clear (exit 1, nothing changed)",
        expect: "failed",
        ...misconfigured(
            (c) => c.world.instances.postfix[0],
            { relayhost: `[email-smtp.${SES_REGION}.amazonaws.com]:587`, smtp_tls_security_level: "may" },
            { status: "Failed", output: /tls: TLS is not enforced for the relay host: smtp_tls_security_level is 'may'/ },
            REFUSED_TLS,
        ),
        alertMentions: () => ["TLS is not enforced"],
    },
    {
        name: "wrong platform (software tag)",
        family: "what runs on the servers",
        fault: "a Linux node listed as IIS: SSM skips the IIS step and reports Success with no result marker",
        expect: "failed",
        ...misconfigured(
            (c) => c.world.instances.iis[0],
            {},
            { status: "Success", output: /Step execution skipped due to unsatisfied preconditions: '"StringEquals": \[platformType, Windows\]'/ },
            SKIPPED_STEP,
        ),
        alertMentions: () => ["software tag does not match the platform"],
    },
];
