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

    it("reads checks however they are spaced and skips lines that only look like markers", () => {
        const report = parseServerReport(
            [
                "   SES-ROTATOR-CHECK: fetch ok   ", // indented marker, no detail
                "SES-ROTATOR-CHECK: postmap \t fail  postmap exited 1", // tab and spaces between the fields
                "SES-ROTATOR-CHEKK: relayhost ok misspelt marker", // same length as the marker, not the marker
                "SES-ROTATOR-CHECK: two words ok a check name has no space",
                "  SES-ROTATOR-RESULT: updated",
            ].join("\n"),
        );
        assert.deepEqual(report.checks, [
            { name: "fetch", ok: true, detail: "" },
            { name: "postmap", ok: false, detail: "postmap exited 1" },
        ]);
        assert.equal(report.result, "updated");
    });
});
