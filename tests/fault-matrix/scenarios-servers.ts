/**
 * Fault-matrix scenarios about what runs on a server (issue 12 items 5 and 6): the server's document refuses
 * (relay host not SES, TLS not enforced) or SSM skips it (the software tag does not match the platform). The
 * server answers as the real scripts do (their marker lines and messages, proven on real Postfix in
 * tests/postfix-guard.test.ts; SSM's skipped-step text as the SSM Agent writes it), set on the proxy's invocation
 * overlay. In every case the server keeps its working credential, the rotation fails safely naming the server
 * and the cause, and once the server is fixed the next attempt completes.
 */
import type { InvocationResult } from "../../sandbox/aws-proxy";
import { testEnv } from "../support/hooks";
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

/**
 * `pick` chooses the misconfigured server; it answers every command with `result` until repaired. The harness
 * records it as not answering ("silent"): it keeps the credential it had, and must be named in the alert.
 */
function misconfigured(pick: (c: ScenarioContext) => string, result: InvocationResult): Scenario["server"] {
    return (c, instanceId) => {
        if (instanceId !== pick(c)) return "success";
        const sent = c.world.sentCommands().filter((s) => (s.command.InstanceIds ?? []).includes(instanceId));
        testEnv().proxy.setInvocation(sent[sent.length - 1].command.CommandId, instanceId, result);
        return "silent";
    };
}

export const SERVER_SCENARIOS: Scenario[] = [
    {
        name: "relay host is not SES",
        family: "what runs on the servers",
        fault: "one Postfix server relays through [mailhub.corp.example]:25; its document refuses to install the SES credential (exit 1, nothing changed)",
        expect: "failed",
        server: misconfigured((c) => c.world.instances.postfix[0], REFUSED_RELAY),
        alertMentions: () => ["relayhost", "mailhub.corp.example"],
    },
    {
        name: "TLS not enforced",
        family: "what runs on the servers",
        fault: "one Postfix server has smtp_tls_security_level = may; its document refuses to send the password in the clear (exit 1, nothing changed)",
        expect: "failed",
        server: misconfigured((c) => c.world.instances.postfix[0], REFUSED_TLS),
        alertMentions: () => ["TLS is not enforced"],
    },
    {
        name: "wrong platform (software tag)",
        family: "what runs on the servers",
        fault: "a Linux node listed as IIS: SSM skips the IIS step and reports Success with no result marker",
        expect: "failed",
        server: misconfigured((c) => c.world.instances.iis[0], SKIPPED_STEP),
        alertMentions: () => ["software tag does not match the platform"],
    },
];
