import { strict as assert } from "assert";
import { parseServerReport } from "../runtime/server-report";

describe("server report markers (runtime/server-report.ts)", () => {
    it("reads the result and the checks, ignoring other lines", () => {
        const report = parseServerReport(
            ["update-smtp-credentials: fetching", "SES-ROTATOR-CHECK: relayhost ok [email-smtp.eu-west-1.amazonaws.com]:587", "SES-ROTATOR-CHECK: tls fail smtp_tls_security_level is may", "SES-ROTATOR-RESULT: check-failed", ""].join("\n"),
        );
        assert.equal(report.result, "check-failed");
        assert.deepEqual(report.checks, [
            { name: "relayhost", ok: true, detail: "[email-smtp.eu-west-1.amazonaws.com]:587" },
            { name: "tls", ok: false, detail: "smtp_tls_security_level is may" },
        ]);
    });

    it("gives no result for a silent or skipped step, and ignores unknown results", () => {
        assert.equal(parseServerReport("").result, undefined);
        assert.equal(parseServerReport(undefined).result, undefined);
        assert.equal(parseServerReport("SES-ROTATOR-RESULT: maybe").result, undefined);
        assert.equal(parseServerReport("\r\nSES-ROTATOR-RESULT: updated\r\n").result, "updated");
    });
});
