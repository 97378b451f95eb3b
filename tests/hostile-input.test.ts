/**
 * Hostile input: generated values that try to break out of the SSM document parameters, forged and replayed
 * confirmation links, and invalid stack configuration.
 *
 *  - Document parameters: every `allowedPattern` is compiled as the SSM service applies it (a Java regex that
 *    must match the WHOLE value) and must refuse every generated hostile value; the SendCommand parameter
 *    builder must refuse them naming the parameter. For the values a looser find()-style check would let
 *    through (a valid value plus one trailing line terminator, where `$` may match before it), the Postfix
 *    script (run for real with bash) and the IIS script's own checks (its `-cnotmatch '...\z'` regexes,
 *    evaluated in JavaScript: no PowerShell here) refuse them again.
 *  - Confirmation API (real handler, real emitted state machines in moto via tests/support/manual-rig.ts):
 *    forged, malformed, replayed, expired, already-used and wrong-server ids, GET/HEAD and other methods.
 *  - Stack config: a generated table of invalid values for every key; each error names the key.
 */
import * as assert from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PutItemCommand } from "@aws-sdk/client-dynamodb";
import { CredentialReference, DOCUMENT_PARAMETER_PATTERNS, DocumentParameterName, documentParameters, IIS_SCRIPT_FILE, postfixDocumentContent } from "../documents";
import { readStackConfig, STACK_CONFIG_KEYS } from "../components/config";
import { createConfirmationApiHandler } from "../runtime/manual/confirmation-api";
import { linkIdHash } from "../runtime/manual/confirmation-store";
import { substituteParameters } from "../sandbox/fleet-agent";
import { resetAws, testEnv } from "./support/hooks";
import { leakScanner } from "./support/leak-scanner";
import { ManualRig, serverList } from "./support/manual-rig";

// ---------------------------------------------------------------- generated hostile values

/** Characters a shell, PowerShell or cmd gives meaning to, whitespace and control characters. */
const METACHARACTERS = [";", "&", "|", "$", "`", "'", '"', "(", ")", "<", ">", "\\", "*", "?", "{", "}", "[", "]", "!", "#", "~", "%", "^", ",", " ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\0", "\x1b", "\x7f"];
/** Unicode that PowerShell treats as quotes/dashes, look-alikes of metacharacters, invisible and line-breaking characters. */
const UNICODE = ["\u2018", "\u2019", "\u201a", "\u201b", "\u201c", "\u201d", "\u201e", "\u2013", "\u2014", "\u2015", "\uff1b", "\uff04", "\uff5c", "\uff06", "\u00a0", "\u2028", "\u2029", "\u0085", "\u200b", "\ufeff", "\u202e", "\u{1f600}"];
/** Injection payloads (each contains at least one character outside every pattern's alphabet). */
const PAYLOADS = [
    "$(id)", "`id`", "; id", "&& id", "|| id", "| sh", "> /tmp/pwned", "< /etc/passwd", "${IFS}id", "$IFS", "' ; id ; '", '"; id; "',
    "\nid", "\r\nid", "$env:PATH", "@(id)", "& calc.exe", "`n", "; Remove-Item -Recurse C:\\", "--% id", "{{ssm:/secret}}", "{{ CredentialId }}",
    "%0a", "%27", "\\x27", "${jndi:ldap://x}", "<script>alert(1)</script>", "\u0000id",
];
/** One-character look-alike substitutions (Cyrillic, fullwidth, dashes) applied at every position. */
const LOOKALIKES: Record<string, string[]> = {
    a: ["\u0430"], e: ["\u0435"], o: ["\u043e"], c: ["\u0441"], p: ["\u0440"], s: ["\u0455"], x: ["\u0445"], i: ["\u0456"], r: ["\u0433"],
    "0": ["\uff10", "\u0660"], "1": ["\uff11", "\u0661"], "-": ["\u2010", "\u2011", "\u2212", "\u2013"], ":": ["\uff1a", "\u0589"], "/": ["\u2215", "\uff0f"], ".": ["\u2024", "\uff0e"],
};
const LINE_TERMINATORS = ["\n", "\r\n", "\r", "\u0085", "\u2028", "\u2029"];

/** Every hostile variant of a valid value: injections at start, middle and end, alone, look-alikes, overlong. */
function hostileVariants(valid: string): string[] {
    const out = new Set<string>([""]);
    for (const x of [...METACHARACTERS, ...UNICODE, ...PAYLOADS]) {
        const mid = Math.floor(valid.length / 2);
        out.add(x).add(x + valid).add(valid + x).add(valid.slice(0, mid) + x + valid.slice(mid));
    }
    for (let i = 0; i < valid.length; i++) for (const alike of LOOKALIKES[valid[i]] ?? []) out.add(valid.slice(0, i) + alike + valid.slice(i + 1));
    out.add(valid.repeat(Math.ceil(4100 / valid.length))).add("-" + valid).add("--endpoint-url=http://evil.example").add("-rf");
    return [...out];
}

const VALID: Record<DocumentParameterName, string[]> = {
    CredentialSource: ["SecretsManager", "ParameterStore"],
    CredentialId: [
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp-bu-a-AbCdEf",
        "/ses-smtp/bu-a/credential",
        "arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/ses-smtp/bu-a/credential",
    ],
    CredentialVersion: ["7d9f3c1e-2b4a-4c5d-9e8f-0a1b2c3d4e5f", "12"],
    Region: ["eu-west-1", "us-gov-west-1"],
    Mode: ["update", "check"],
};
/** Overlong values that stay inside the alphabet (only the length is wrong). */
const OVERLONG: Record<DocumentParameterName, string[]> = {
    CredentialSource: ["SecretsManagerSecretsManager"],
    CredentialId: [
        `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${"a".repeat(513)}`,
        `/${"a".repeat(1011)}`,
        `arn:aws${"-x".repeat(2000)}:secretsmanager:eu-west-1:123456789012:secret:s-AbCdEf`,
        `arn:aws:ssm:${"a".repeat(40)}:123456789012:parameter/p`,
    ],
    CredentialVersion: ["a".repeat(65), "1".repeat(11)],
    Region: ["eu-west-123", `eu-${"w".repeat(300)}-1`],
    Mode: ["updatecheck", "check".repeat(20)],
};
const PARAMETERS = Object.keys(DOCUMENT_PARAMETER_PATTERNS) as DocumentParameterName[];

function hostileValuesFor(name: DocumentParameterName): string[] {
    const values = new Set<string>(OVERLONG[name]);
    for (const v of VALID[name]) for (const h of hostileVariants(v)) values.add(h);
    return [...values];
}

/** The SSM service's check: Java regex, whole value (Matcher.matches()). */
const fullMatch = (pattern: string) => {
    const re = new RegExp(`^(?:${pattern})$`);
    return (value: string) => re.test(value);
};
/** A looser find()-style check where `$` also matches before one final line terminator (Java/.NET `$`). */
const lenientMatch = (pattern: string) => {
    const re = new RegExp(pattern);
    return (value: string) => re.test(value) || LINE_TERMINATORS.some((t) => value.endsWith(t) && re.test(value.slice(0, -t.length)));
};

const show = (v: string) => JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…(${v.length})` : v);

/** The IIS script's own checks, per parameter: `$Var -cnotmatch '<regex>\z'` (evaluated in JavaScript). */
function iisChecks(): Record<DocumentParameterName, RegExp[]> {
    const text = fs.readFileSync(path.join(__dirname, "..", "documents", IIS_SCRIPT_FILE), "utf8");
    const byVar: Record<string, DocumentParameterName> = { CredentialSource: "CredentialSource", CredentialId: "CredentialId", CredentialVersion: "CredentialVersion", CredentialRegion: "Region", Mode: "Mode" };
    const out = { CredentialSource: [], CredentialId: [], CredentialVersion: [], Region: [], Mode: [] } as Record<DocumentParameterName, RegExp[]>;
    for (const m of text.matchAll(/\$(Credential\w+|Mode) -cnotmatch '([^']+)'/g)) {
        assert.ok(m[2].endsWith("\\z"), `the IIS check of ${m[1]} must anchor with \\z (absolute end), got ${m[2]}`);
        out[byVar[m[1]]].push(new RegExp(`${m[2].slice(0, -2)}$`)); // .NET \z = JavaScript $ without the m flag
    }
    return out;
}

describe("hostile input: SSM document parameters", () => {
    const valid: CredentialReference = { source: "SecretsManager", id: VALID.CredentialId[0], version: VALID.CredentialVersion[0], region: "eu-west-1" };
    const referenceWith = (name: DocumentParameterName, value: string): CredentialReference =>
        name === "Mode" ? valid : name === "CredentialSource" ? { ...valid, source: value as any } : name === "CredentialId" ? { ...valid, id: value } : name === "CredentialVersion" ? { ...valid, version: value } : { ...valid, region: value };

    for (const name of PARAMETERS) {
        it(`${name}: the allowedPattern accepts the valid forms and refuses every generated hostile value`, () => {
            const accepts = fullMatch(DOCUMENT_PARAMETER_PATTERNS[name]);
            for (const v of VALID[name]) assert.ok(accepts(v), `${name} must accept ${v}`);
            const hostile = hostileValuesFor(name);
            assert.ok(hostile.length > 250, `${hostile.length} values generated`);
            const accepted = hostile.filter(accepts);
            assert.deepStrictEqual(accepted.map(show), [], `${name} accepted hostile values`);
        });

        it(`${name}: the SendCommand parameter builder refuses every hostile value, naming the parameter`, () => {
            for (const v of hostileValuesFor(name)) {
                assert.throws(() => documentParameters(referenceWith(name, v), name === "Mode" ? (v as any) : undefined), (e: Error) => e.message.startsWith(`SSM document parameter ${name}`), `${name} = ${show(v)}`);
            }
        });
    }

    it("what a find()-style check would let through (a trailing line terminator) both scripts refuse again", () => {
        const iis = iisChecks();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-doc-"));
        const good = { CredentialSource: "SecretsManager", CredentialId: VALID.CredentialId[0], CredentialVersion: VALID.CredentialVersion[0], Region: "eu-west-1", Mode: "update" };
        const script = postfixDocumentContent().mainSteps[0].inputs.runCommand.join("\n");
        let slipped = 0;
        try {
            for (const name of PARAMETERS) {
                assert.ok(iis[name].length > 0, `the IIS script checks ${name}`);
                const lenient = lenientMatch(DOCUMENT_PARAMETER_PATTERNS[name]);
                for (const v of hostileValuesFor(name)) {
                    for (const re of iis[name]) assert.ok(!re.test(v), `IIS check of ${name} lets ${show(v)} through`);
                    if (!lenient(v)) continue;
                    slipped++;
                    assert.ok(LINE_TERMINATORS.some((t) => v.endsWith(t)), `only a trailing line terminator may slip through a find()-style check: ${show(v)}`);
                    const r = spawnSync("bash", ["-c", substituteParameters(script, { ...good, [name]: v })], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", SES_ROTATOR_POSTFIX_CONFIG_DIR: dir } });
                    assert.notStrictEqual(r.status, 0, `${name} = ${show(v)} ran`);
                    assert.match(r.stderr, new RegExp(`parameter ${name}`), `${name} = ${show(v)}: ${r.stderr}`);
                    assert.deepStrictEqual(fs.readdirSync(dir), [], "nothing written");
                }
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
        assert.ok(slipped >= 8, `the lenient check was exercised (${slipped} values)`);
    });
});

describe("hostile input: confirmation API (real handler, emitted state machines in moto)", function () {
    let rig: ManualRig;
    let links: Record<string, string>;
    const servers = serverList(3, "hostile");
    const [a, b, c] = servers;
    const taskCalls = () => testEnv().proxy.calls.filter((x) => x.service === "states" && /^SendTask(Success|Failure)$/.test(x.operation)).length;
    const statuses = async () => Object.fromEntries(await Promise.all(servers.map(async (s) => [s.hostname, (await rig.store.getByConfirmationId(links[s.ownerEmail]))?.status])));

    before(async function () {
        this.timeout(120000);
        await resetAws();
        rig = await new ManualRig({ servers, confirmationTimeoutSeconds: 3600 }).setUp();
        await rig.startRotation({ requestId: "hostile" });
        links = {};
        for (const s of servers) links[s.ownerEmail] = await rig.linkFor(s.ownerEmail);
    });
    after(async () => {
        for (const line of rig?.logs ?? []) leakScanner.observe("log manual-rig", line);
        await rig?.tearDown();
    });

    it("forged and malformed ids get a 4xx page that reflects nothing, and change nothing", async () => {
        const before = await statuses();
        const calls = taskCalls();
        const forged = ["A".repeat(43), links[a.ownerEmail].slice(0, 42) + (links[a.ownerEmail].endsWith("A") ? "B" : "A"), links[a.ownerEmail] + "x", links[a.ownerEmail].slice(1), "", "../../etc/passwd", "<script>alert(1)</script>", "%2e%2e%2f", "' OR '1'='1", "link#" + links[a.ownerEmail], "server#x", "\u0430".repeat(43), "a".repeat(5000)];
        for (const id of forged) {
            for (const method of ["GET", "POST"]) {
                const r = await rig.api(method, id, "action=confirm");
                assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${method} ${show(id)} → ${r.statusCode}`);
                assert.ok(!r.body.includes("<script>alert"), "the id is never reflected unescaped");
            }
        }
        assert.deepStrictEqual(await statuses(), before);
        assert.strictEqual(taskCalls(), calls);
    });

    it("GET and HEAD (mail link scanners) never confirm; other methods and bad forms are refused", async () => {
        const id = links[a.ownerEmail];
        for (let i = 0; i < 5; i++) for (const m of ["GET", "HEAD", "get"]) assert.strictEqual((await rig.api(m, id)).statusCode, 200);
        for (const m of ["PUT", "DELETE", "PATCH", "OPTIONS"]) assert.strictEqual((await rig.api(m, id, "action=confirm")).statusCode, 405, m);
        for (const body of [undefined, "", "action=CONFIRM", "action=confirm%00", "confirm", "action=" + "x".repeat(100000), "action[]=confirm"]) {
            assert.strictEqual((await rig.api("POST", id, body)).statusCode, 400, show(String(body)));
        }
        assert.deepStrictEqual(Object.values(await statuses()), ["pending", "pending", "pending"]);
        assert.strictEqual(taskCalls(), 0);
    });

    it("a link stored for another server (wrong-server id) is refused", async () => {
        // A link item whose server item carries a different link id (e.g. a stale or planted pointer).
        const planted = "Z".repeat(43);
        const target = await rig.store.getByConfirmationId(links[b.ownerEmail]);
        await rig.dynamodb.send(new PutItemCommand({ TableName: rig.confirmationTable, Item: { pk: { S: `link#${linkIdHash(planted)}` }, executionName: { S: target!.executionName }, expiresAt: { N: String(target!.expiresAt) } } }));
        assert.strictEqual((await rig.api("POST", planted, "action=confirm")).statusCode, 404);
        assert.strictEqual((await rig.store.getByConfirmationId(links[b.ownerEmail]))!.status, "pending");
        assert.strictEqual(taskCalls(), 0);
    });

    it("an expired link gets 410 and changes nothing", async () => {
        const late = createConfirmationApiHandler({ store: rig.store, sfn: rig.sfn, log: leakScanner.log("confirmation-api"), now: () => new Date(Date.now() + 2 * 3600 * 1000) });
        const id = links[c.ownerEmail];
        const r = await late({ rawPath: `/confirm/${id}`, pathParameters: { id }, requestContext: { http: { method: "POST" } }, body: "action=confirm" });
        assert.strictEqual(r.statusCode, 410);
        assert.strictEqual((await rig.store.getByConfirmationId(id))!.status, "pending", "the wait is not ours to end: Step Functions times it out");
        assert.strictEqual(taskCalls(), 0);
    });

    it("a used id confirms only its own server, once; replays and the opposite answer get 409", async () => {
        const id = links[a.ownerEmail];
        const waitingToken = (await rig.store.getByConfirmationId(id))!.taskToken!;
        const callsWith = (token: string) => testEnv().proxy.calls.filter((x) => x.service === "states" && /^SendTask/.test(x.operation) && x.requestBody.includes(token)).length;
        assert.strictEqual((await rig.api("POST", id, "action=confirm")).statusCode, 200);
        assert.deepStrictEqual(await statuses(), { [a.hostname]: "confirmed", [b.hostname]: "pending", [c.hostname]: "pending" });
        for (const body of ["action=confirm", "action=reject"]) assert.strictEqual((await rig.api("POST", id, body)).statusCode, 409, body);
        assert.strictEqual((await rig.api("GET", id)).statusCode, 409, "the page says it is already confirmed");
        assert.strictEqual(callsWith(waitingToken), 1, "exactly one SendTaskSuccess for that server's waiting task");
        assert.strictEqual((await rig.store.getByConfirmationId(links[b.ownerEmail]))!.status, "pending");
    });
});

// ---------------------------------------------------------------- stack config

describe("hostile input: stack config (every key, generated invalid values, errors name the key)", () => {
    const base: Record<string, string> = { businessUnit: "payments", sesRegion: "eu-west-1", sesIdentities: '["example.com"]', fleetTagKey: "SmtpFleet", fleetTagValue: "payments" };
    /** A valid value per key (and what else the key needs to be read). */
    const validFor: Record<string, [string, Record<string, string | undefined>?]> = {
        businessUnit: ["payments"], mode: ["manual"], sesRegion: ["eu-west-1"], sesIdentities: ['["example.com"]'], sesConfigurationSet: ["transactional"],
        fleetTagKey: ["SmtpFleet"], fleetTagValue: ["payments"], fleetSoftwareTagKey: ["SmtpSoftware"],
        fleetTable: ["mail-servers", { fleetTagKey: undefined, fleetTagValue: undefined }], serverRoleNames: ['["mail-server"]'], notifyEmails: ['["ops@example.com"]'],
        rotateAfterDays: ["30"], scheduleExpression: ["rate(7 days)"], rotationWindow: ["4h"], rotateImmediately: ["false"],
        kmsKeyArn: ["arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"], smtpEndpoint: ["email-smtp.eu-west-1.amazonaws.com"], allowNonSesSmtpEndpoint: ["false"],
        smtpPort: ["465"], fleetDeadlineSeconds: ["300"], retirementObservationHours: ["24"], retirementGraceDays: ["3"], logRetentionDays: ["90"],
        retirementOverrideKeyId: ["AKIAIOSFODNN7EXAMPLE"], rotateNow: ["2026-11-29"],
        // Manual-mode keys are validated in auto mode too (a typo fails before the mode is switched).
        manualScheduleExpression: ["cron(0 0 L 1/3 ? *)"], manualScheduleTimeZone: ["Europe/Berlin"], manualScheduleEnabled: ["false"],
        manualReminderHours: ["12"], manualConfirmationTimeoutDays: ["7"], manualMaxConcurrency: ["5"], manualPageSize: ["50"],
        manualOwnerEmailTagKey: ["OwnerEmail"], manualSubscribeOwners: ["false"], manualParameterName: ["/ses-smtp/payments/credential"],
        protectCredential: ["true"], retainCredentialOnDelete: ["true"], renamedFrom: ["payments-old"],
    };
    /** AWS tags legitimately allow Unicode letters, digits, spaces and `_ . : / = + - @`: only the rest is hostile there. */
    const TAG_KEYS = new Set(["fleetTagKey", "fleetTagValue", "fleetSoftwareTagKey", "manualOwnerEmailTagKey"]);
    const TAG_SAFE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$/u;
    const INJECTIONS = [...METACHARACTERS.filter((m) => m !== " "), "$(id)", "`id`", "\u2019", "\uff1b", "\u202e"];
    /** IAM names legitimately contain `+=,.@-`: a comma is no injection there. */
    const LEGITIMATE_IN: Record<string, RegExp> = { serverRoleNames: /^[\w+=,.@-]*$/ };

    function cases(): [string, string, string][] {
        const out: [string, string, string][] = [];
        for (const [key, type] of Object.entries(STACK_CONFIG_KEYS)) {
            const [valid] = validFor[key];
            const raws = new Set<string>();
            if (type === "integer") ["ninety", "1e2", "0x1e", "30.5", "3 0", "30;id", "$(id)", "-1", "99999999999999999999", "NaN", "Infinity"].forEach((r) => raws.add(r));
            else if (type === "boolean") ["yes", "TRUE", "1", "true;id", "tru\u0435"].forEach((r) => raws.add(r));
            else if (type === "array") {
                ["not json", '{"a":1}', '"example.com"', "[1]", "[null]", '[""]'].forEach((r) => raws.add(r));
                const item = JSON.parse(valid)[0] as string;
                for (const x of INJECTIONS) if (!LEGITIMATE_IN[key]?.test(x)) raws.add(JSON.stringify([item + x]));
                raws.add(JSON.stringify([item.repeat(300)]));
            } else {
                for (const x of [...INJECTIONS, "\u0430"]) raws.add(valid + x).add(x + valid);
                raws.add(valid.repeat(Math.ceil(2100 / valid.length)));
            }
            for (const raw of raws) {
                if (TAG_KEYS.has(key) && TAG_SAFE.test(raw) && raw.length <= 128) continue; // a legitimate tag text
                out.push([key, raw, type === "array" && raw.startsWith("[") && /^\[("|\d|null)/.test(raw) ? `${key}[0]` : key]);
            }
        }
        return out;
    }

    it("covers every key with ≥ 5 invalid values", () => {
        const perKey = new Map<string, number>();
        for (const [key] of cases()) perKey.set(key, (perKey.get(key) ?? 0) + 1);
        for (const key of Object.keys(STACK_CONFIG_KEYS)) assert.ok((perKey.get(key) ?? 0) >= 5, `${key}: ${perKey.get(key) ?? 0} cases`);
        for (const [key, [valid, extra]] of Object.entries(validFor)) {
            const values: Record<string, string | undefined> = { ...base, ...(extra ?? {}), [key]: valid };
            assert.doesNotThrow(() => readStackConfig((k) => values[k]), `the valid ${key} value must be accepted`);
        }
    });

    it("every invalid value fails with an error that starts by naming its key", () => {
        const failures: string[] = [];
        for (const [key, raw, named] of cases()) {
            const values: Record<string, string | undefined> = { ...base, ...(validFor[key][1] ?? {}), [key]: raw };
            try {
                const settings = readStackConfig((k) => values[k]);
                // Surrounding whitespace may be trimmed away: then only the clean value may reach the validated settings.
                const neutralised = raw.trim() === validFor[key][0] && !JSON.stringify(settings.rotator).includes(JSON.stringify(raw).slice(1, -1));
                if (!neutralised) failures.push(`${key} = ${show(raw)} was accepted`);
            } catch (e) {
                const prefix = `stack config "ses-smtp-rotator:${named}"`;
                const alt = `stack config "ses-smtp-rotator:${key}"`;
                const msg = (e as Error).message;
                if (!msg.startsWith(prefix) && !msg.startsWith(alt)) failures.push(`${key} = ${show(raw)}: ${msg.slice(0, 160)}`);
            }
        }
        assert.deepStrictEqual(failures, []);
    });
});
