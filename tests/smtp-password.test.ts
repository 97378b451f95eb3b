import * as assert from "assert";
import { assertLongTermAccessKeyId, deriveSmtpPassword } from "../runtime/smtp-password";

describe("deriveSmtpPassword (SES SMTP password V4)", () => {
    const vectors: [string, string, string][] = [
        ["some+secret+key", "eu-central-1", "BMXhUYlu5Z3gSXVQORxlVa7XPaz91aGWdfHxvkOZdWZ2"],
        ["wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-2", "BMPPgbAHoFVbze1Ud0oA5uNdXRwUXUZ+qOwphGJbl/cS"],
        ["SECRET_KEY", "eu-west-1", "BIhFZ/Ylx0jPVY7JeKUnHT4rO9jfB1VuZu4qglc/3gj9"],
    ];
    for (const [key, region, expected] of vectors) {
        it(`reproduces the public vector for ${region}`, () => {
            assert.strictEqual(deriveSmtpPassword(key, region), expected);
        });
    }

    it("depends on the region", () => {
        assert.notStrictEqual(deriveSmtpPassword("k", "eu-west-1"), deriveSmtpPassword("k", "eu-west-2"));
    });

    it("rejects an empty secret access key, naming the argument", () => {
        assert.throws(() => deriveSmtpPassword("", "eu-west-1"), /secretAccessKey/);
    });

    for (const bad of ["", "eu-west", "EU-WEST-1", "eu_west_1", "eu-west-1 ", "eu-west-1;rm", "us-east-123"]) {
        it(`rejects the malformed region ${JSON.stringify(bad)}, naming the argument`, () => {
            assert.throws(() => deriveSmtpPassword("k", bad), /region/);
        });
    }

    for (const good of ["us-gov-west-1", "cn-north-1", "ap-southeast-7", "il-central-1"]) {
        it(`accepts the region ${good}`, () => {
            assert.match(deriveSmtpPassword("k", good), /^B/);
        });
    }

    it("refuses temporary (ASIA) keys and accepts long-term (AKIA) ones", () => {
        assert.throws(() => assertLongTermAccessKeyId("ASIAIOSFODNN7EXAMPLE"), /temporary/);
        assert.doesNotThrow(() => assertLongTermAccessKeyId("AKIAIOSFODNN7EXAMPLE"));
        assert.throws(() => assertLongTermAccessKeyId("nope"), /not a long-term/);
    });
});
