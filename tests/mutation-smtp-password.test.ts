/**
 * Boundaries of runtime/smtp-password.ts that its behaviour tests left open and Stryker's mutants showed
 * (docs/mutation.md): the input checks' exact edges (regex anchors and quantifiers) and non-string input.
 */
import * as assert from "assert";
import { assertLongTermAccessKeyId, deriveSmtpPassword, isAwsRegion } from "../runtime/smtp-password";

describe("smtp-password: input edges (mutation testing)", () => {
    it("a non-string secret access key is refused, naming the argument", () => {
        for (const bad of [undefined, null, 5, {}]) {
            assert.throws(() => deriveSmtpPassword(bad as any, "eu-west-1"), /secretAccessKey must be a non-empty string/);
        }
    });

    it("the region error names the region it got", () => {
        assert.throws(() => deriveSmtpPassword("k", "eu-west"), /region "eu-west" is not a well-formed AWS region/);
    });

    it("isAwsRegion is false for non-strings and for text around a region", () => {
        for (const bad of [5, undefined, null, ["eu-west-1"], "xeu-west-1", "1eu-west-1", " eu-west-1", "e-west-1", "eux-west-1", "eu-west-", "eu-west-123", "eu--1", "eu-1-1", "us-gov-west-1x"]) {
            assert.strictEqual(isAwsRegion(bad), false, JSON.stringify(bad));
        }
    });

    it("isAwsRegion accepts one- and two-digit suffixes and the gov/iso partitions", () => {
        for (const good of ["eu-west-1", "eu-west-12", "us-gov-east-1", "us-iso-east-1", "us-isob-east-1", "eu-isoe-west-1"]) {
            assert.strictEqual(isAwsRegion(good), true, good);
        }
    });

    it("access key ids: AKIA followed by 12 to 124 upper-case letters or digits, nothing before or after", () => {
        const body = (n: number) => "A1".repeat(70).slice(0, n);
        for (const good of ["AKIA" + body(12), "AKIA" + body(124), "AKIAASIA00000000AB"]) {
            assert.doesNotThrow(() => assertLongTermAccessKeyId(good), good);
        }
        for (const bad of ["AKIA" + body(11), "AKIA" + body(125), "xAKIA" + body(16), "AKIA" + body(16) + "!", "AKIA" + body(15) + "a"]) {
            assert.throws(() => assertLongTermAccessKeyId(bad), /is not a long-term IAM access key id \(AKIA\.\.\.\)/, bad);
        }
    });

    it("only a key id starting with ASIA is called temporary, and the message names it", () => {
        assert.throws(() => assertLongTermAccessKeyId("ASIAIOSFODNN7EXAMPLE"), /access key ASIAIOSFODNN7EXAMPLE is a temporary \(ASIA\.\.\.\) key/);
        assert.throws(() => assertLongTermAccessKeyId("xASIAIOSFODNN7EXAMPLE"), /not a long-term/);
    });
});
