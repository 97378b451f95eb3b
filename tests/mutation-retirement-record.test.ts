/**
 * The retirement record's encoding and checks (runtime/retirement-record.ts), edge by edge: what Stryker's
 * mutants showed the behaviour tests (tests/retirement*.test.ts, which go through IAM in moto) left open
 * (docs/mutation.md). Pure functions: no AWS call.
 */
import * as assert from "assert";
import { decodeRetirement, encodeRetirement, isoSeconds, parseRetirement, RetirementRecord, retirementTagKey } from "../runtime/retirement-record";

const OLD = "AKIAOLDOLDOLDOLD1";
const NEW = "AKIANEWNEWNEWNEW2";
const TAG = retirementTagKey(OLD);
const SW = "2026-11-29T12:00:00Z";
const base = `phase=observing new=${NEW} switched=${SW}`;
const error = (value: string, key = TAG) => {
    const parsed = parseRetirement(key, value);
    return "error" in parsed ? parsed.error : undefined;
};
const record = (value: string): RetirementRecord => {
    const parsed = parseRetirement(TAG, value);
    assert.ok("record" in parsed, JSON.stringify(parsed));
    assert.deepStrictEqual(decodeRetirement(TAG, value), parsed.record);
    return parsed.record;
};

describe("retirement record: encoding and checks, edge by edge (mutation testing)", () => {
    it("isoSeconds drops the milliseconds and refuses what is not a valid date", () => {
        assert.strictEqual(isoSeconds(new Date("2026-11-29T12:00:00.987Z")), "2026-11-29T12:00:00Z");
        assert.strictEqual(isoSeconds(new Date("2026-11-29T12:00:00Z")), "2026-11-29T12:00:00Z");
        assert.throws(() => isoSeconds(new Date("nope")), { message: "not a valid date: Invalid Date" });
        assert.throws(() => isoSeconds("2026-11-29T12:00:00Z" as any), { message: "not a valid date: 2026-11-29T12:00:00Z" });
    });

    it("the tag key is the prefix and the key id", () => {
        assert.strictEqual(TAG, `ses-rotator:retire:${OLD}`);
    });

    it("encodes every field in a fixed order, leaving out absent and empty ones", () => {
        const full: RetirementRecord = {
            accessKeyId: OLD,
            phase: "held",
            newAccessKeyId: NEW,
            switchedAt: SW,
            deactivateAfter: "2026-11-30T12:00:00Z",
            deleteAfter: "2026-12-07T12:00:00Z",
            evidence: { lastUsedDate: "2026-11-29T13:00:00Z", serviceName: "ses", region: "eu-west-1" },
            overrideAt: "2026-11-29T14:00:00Z",
            heldReason: "reactivated",
        };
        const text = encodeRetirement(full);
        assert.strictEqual(
            text,
            `phase=held new=${NEW} switched=${SW} deactivate=2026-11-30T12:00:00Z delete=2026-12-07T12:00:00Z ` +
                `used=2026-11-29T13:00:00Z usedBy=ses usedIn=eu-west-1 override=2026-11-29T14:00:00Z why=reactivated`,
        );
        assert.deepStrictEqual(record(text), full);
        assert.strictEqual(encodeRetirement({ accessKeyId: OLD, phase: "observing", newAccessKeyId: NEW, switchedAt: SW, deactivateAfter: "" }), base);
        assert.strictEqual(
            encodeRetirement({ accessKeyId: OLD, phase: "held", newAccessKeyId: NEW, switchedAt: SW, evidence: { lastUsedDate: "2026-11-29T13:00:00Z" } }),
            `phase=held new=${NEW} switched=${SW} used=2026-11-29T13:00:00Z`,
        );
    });

    it("IAM's free-text service name and region are made tag-safe (no space or =, at most 40 characters)", () => {
        const text = encodeRetirement({
            accessKeyId: OLD,
            phase: "held",
            newAccessKeyId: NEW,
            switchedAt: SW,
            evidence: { lastUsedDate: "2026-11-29T13:00:00Z", serviceName: "a b=c{d}ü_.:/+-@9", region: "r".repeat(45) },
        });
        assert.ok(text.endsWith(` usedBy=a_b_c_d_ü_.:/+-@9 usedIn=${"r".repeat(40)}`), text);
        const evidence = record(text).evidence!;
        assert.deepStrictEqual(evidence, { lastUsedDate: "2026-11-29T13:00:00Z", serviceName: "a_b_c_d_ü_.:/+-@9", region: "r".repeat(40) });
    });

    it("refuses to encode a value IAM would not take: over 256 characters, or a character outside the tag alphabet anywhere", () => {
        const fill = (n: number): RetirementRecord => ({ accessKeyId: OLD, phase: "observing", newAccessKeyId: NEW, switchedAt: SW + "x".repeat(n) });
        const at256 = 256 - encodeRetirement(fill(0)).length;
        assert.strictEqual(encodeRetirement(fill(at256)).length, 256);
        const long = encodeRetirement(fill(0)) + "x".repeat(at256 + 1);
        assert.throws(() => encodeRetirement(fill(at256 + 1)), { message: `retirement record for ${OLD} does not fit an IAM tag value: ${JSON.stringify(long)}` });
        for (const bad of ["{x", "x}x", "x}"]) {
            assert.throws(() => encodeRetirement({ accessKeyId: OLD, phase: "observing", newAccessKeyId: NEW, switchedAt: SW, heldReason: bad as any }), /does not fit an IAM tag value/, bad);
        }
        // letters of any script, spaces and digits are in the alphabet
        assert.strictEqual(encodeRetirement({ accessKeyId: OLD, phase: "observing", newAccessKeyId: NEW, switchedAt: "Größe 12" }), `phase=observing new=${NEW} switched=Größe 12`);
    });

    it("names what is wrong with the tag key, the phase and the new key", () => {
        assert.strictEqual(error(base, "ses-rotator:other:" + OLD), `tag ses-rotator:other:${OLD} is not a retirement record`);
        for (const key of ["AKIA" + "A".repeat(11), "AKIA" + "A".repeat(125), "akia" + "a".repeat(12), "AKIA_AAAAAAAAAAA", ""]) {
            assert.strictEqual(error(`phase=observing new=${NEW} switched=${SW}`, retirementTagKey(key)), `the tag names ${JSON.stringify(key)}, not an access key id`);
        }
        for (const key of ["AKIA" + "A".repeat(12), "AKIA" + "A".repeat(124)]) assert.ok("record" in parseRetirement(retirementTagKey(key), base), key);
        assert.strictEqual(error(`new=${NEW} switched=${SW}`), `unknown phase ""`);
        assert.strictEqual(error(`phase=retired new=${NEW} switched=${SW}`), `unknown phase "retired"`);
        for (const phase of ["observing", "held"]) assert.strictEqual(record(`phase=${phase} new=${NEW} switched=${SW}`).phase, phase);
        assert.strictEqual(error(`phase=observing switched=${SW}`), `new="" is not an access key id`);
        assert.strictEqual(error(`phase=observing new= switched=${SW}`), `new="" is not an access key id`);
        assert.strictEqual(error(`phase=observing new=akia123 switched=${SW}`), `new="akia123" is not an access key id`);
        assert.strictEqual(error(`phase=observing new=${OLD} switched=${SW}`), `new=${OLD} is the same key as the one to retire`);
    });

    it("names a missing or unreadable time and times out of order; equal times are in order", () => {
        assert.strictEqual(error(`phase=observing new=${NEW}`), `switched="" is not a time`);
        assert.strictEqual(error(`phase=observing new=${NEW} switched=soon`), `switched="soon" is not a time`);
        assert.strictEqual(error(`${base} deactivate=later`), `deactivate="later" is not a time`);
        assert.strictEqual(error(`${base} delete=later`), `delete="later" is not a time`);
        assert.strictEqual(error(`${base} override=later`), `override="later" is not a time`);
        assert.strictEqual(error(`${base} deactivate=2026-11-29T11:59:59Z`), `times out of order: deactivate=2026-11-29T11:59:59Z is before switched=${SW}`);
        assert.strictEqual(error(`${base} delete=2026-11-29T11:59:59Z`), `times out of order: delete=2026-11-29T11:59:59Z is before switched=${SW}`);
        assert.strictEqual(error(`${base} override=2026-11-29T11:59:59Z`), `times out of order: override=2026-11-29T11:59:59Z is before switched=${SW}`);
        assert.strictEqual(
            error(`${base} deactivate=2026-11-30T12:00:00Z delete=2026-11-30T11:59:59Z`),
            `times out of order: delete=2026-11-30T11:59:59Z is before deactivate=2026-11-30T12:00:00Z`,
        );
        assert.deepStrictEqual(record(`${base} deactivate=${SW} delete=${SW} override=${SW}`), {
            accessKeyId: OLD,
            phase: "observing",
            newAccessKeyId: NEW,
            switchedAt: SW,
            deactivateAfter: SW,
            deleteAfter: SW,
            overrideAt: SW,
        });
        // an empty time is no time; a delete time without a deactivate time is fine
        assert.deepStrictEqual(record(`${base} deactivate= delete=2026-12-01T00:00:00Z`), { accessKeyId: OLD, phase: "observing", newAccessKeyId: NEW, switchedAt: SW, deleteAfter: "2026-12-01T00:00:00Z" });
        assert.deepStrictEqual(record(`${base} deactivate=2026-12-01T00:00:00Z`).deleteAfter, undefined);
    });

    it("a deactivated record needs its delete time", () => {
        assert.strictEqual(error(`phase=deactivated new=${NEW} switched=${SW}`), "phase deactivated without a delete= time");
        assert.strictEqual(error(`phase=deactivated new=${NEW} switched=${SW} delete=`), "phase deactivated without a delete= time");
        assert.strictEqual(record(`phase=deactivated new=${NEW} switched=${SW} delete=2026-12-01T00:00:00Z`).phase, "deactivated");
    });

    it("reads the usage evidence and the hold reason, naming bad ones", () => {
        assert.strictEqual(error(`${base} used=yesterday`), `used="yesterday" is not a time`);
        assert.deepStrictEqual(record(`${base} used=2026-11-29T13:00:00Z`).evidence, { lastUsedDate: "2026-11-29T13:00:00Z" });
        assert.deepStrictEqual(record(`${base} used=2026-11-29T13:00:00Z usedIn=eu-west-1`).evidence, { lastUsedDate: "2026-11-29T13:00:00Z", region: "eu-west-1" });
        assert.deepStrictEqual(record(`${base} used=2026-11-29T13:00:00Z usedBy=ses`).evidence, { lastUsedDate: "2026-11-29T13:00:00Z", serviceName: "ses" });
        assert.strictEqual(record(`${base} usedBy=ses usedIn=eu-west-1`).evidence, undefined);
        assert.strictEqual(record(`${base} used=`).evidence, undefined);
        assert.strictEqual(error(`${base} why=forgot`), `unknown why="forgot"`);
        assert.strictEqual(error(`${base} why=`), `unknown why=""`);
        assert.strictEqual(record(`${base} why=used`).heldReason, "used");
        assert.strictEqual(record(`${base} why=reactivated`).heldReason, "reactivated");
        assert.ok(!("heldReason" in record(base)));
    });

    it("reads name=value pairs only: words without = and pairs without a name are ignored, the last of a repeated name wins", () => {
        assert.strictEqual(record(`${base} phasex`).phase, "observing");
        assert.strictEqual(record(`=held ${base}`).phase, "observing");
        assert.strictEqual(record(`phase=held ${base}`).phase, "observing");
        assert.strictEqual(record(`${base} usedBy=a=b used=2026-11-29T13:00:00Z`).evidence!.serviceName, "a=b");
        assert.strictEqual(decodeRetirement(TAG, "phase=observing"), undefined);
    });
});
