/**
 * The SSM Command documents: schema 2.2 shape, parameter patterns against hostile values, the SendCommand
 * parameters builder, moto accepting the documents, and the scripts themselves (bash -n, the Postfix
 * script's own checks run for real, static secret-hygiene checks). The IIS script cannot run here (no
 * Windows, no PowerShell): it is checked statically only.
 */
import * as assert from "assert";
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CreateDocumentCommand, DescribeDocumentCommand, GetDocumentCommand, SSMClient } from "@aws-sdk/client-ssm";
import {
    CommandDocumentContent,
    DOCUMENT_PARAMETER_PATTERNS,
    DocumentParameterName,
    IIS_SCRIPT_FILE,
    POSTFIX_SCRIPT_FILE,
    documentParameters,
    iisDocumentContent,
    postfixDocumentContent,
} from "../documents";
import { substituteParameters } from "../sandbox/fleet-agent";
import { clientConfig, resetAws } from "./support/hooks";

const DOCS_DIR = path.join(__dirname, "..", "documents");
const POSTFIX_SCRIPT = fs.readFileSync(path.join(DOCS_DIR, POSTFIX_SCRIPT_FILE), "utf8");
const IIS_SCRIPT = fs.readFileSync(path.join(DOCS_DIR, IIS_SCRIPT_FILE), "utf8");
const NAMES = Object.keys(DOCUMENT_PARAMETER_PATTERNS) as DocumentParameterName[];

const SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:ses-smtp/bu-a-AbCdEf";
const VERSION_UUID = "3f1c2b6e-9a4d-4e1b-8c7f-0d2a5b6c7e8f";

/** Values each pattern must accept. */
const VALID: Record<DocumentParameterName, string[]> = {
    CredentialSource: ["SecretsManager", "ParameterStore"],
    CredentialId: [
        SECRET_ARN,
        "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:smtp-AbCdEf",
        "arn:aws-us-gov:secretsmanager:us-gov-west-1:123456789012:secret:a/b_c+d=e.f@g-AbCdEf",
        "/ses-rotator/bu-a/credential",
        "ses-rotator.credential",
        "arn:aws:ssm:eu-west-1:123456789012:parameter/ses-rotator/bu-a/credential",
    ],
    CredentialVersion: [VERSION_UUID, "1", "42", "4294967295", "a".repeat(32), "A".repeat(64)],
    Region: ["eu-west-1", "us-east-2", "ap-southeast-7", "us-gov-west-1", "cn-north-1", "us-isob-east-1"],
    Mode: ["update", "check"],
};

/** Values every pattern must refuse: shell and PowerShell metacharacters, newlines, quotes, overlong. */
const HOSTILE = [
    "; rm -rf /",
    "eu-west-1; rm -rf /",
    "$(id)",
    "${IFS}",
    "`id`",
    "eu-west-1\n",
    "eu-west-1\nid",
    "eu-west-1\r",
    "x'y",
    'x"y',
    "a & b",
    "a | b",
    "a;b",
    "a&b",
    "a|b",
    "a b",
    "$env:TEMP",
    "{{ ssm:other }}",
    "a\\b",
    "a>b",
    "a<b",
    "(a)",
    "*",
    "",
];

describe("SSM documents: schema 2.2 Command documents", () => {
    const docs: Array<[string, CommandDocumentContent, string, string]> = [
        ["postfix", postfixDocumentContent(), "aws:runShellScript", "Linux"],
        ["iis", iisDocumentContent(), "aws:runPowerShellScript", "Windows"],
    ];

    for (const [label, doc, action, platform] of docs) {
        it(`${label}: schema 2.2, one ${action} step for ${platform}, JSON round trip`, () => {
            assert.strictEqual(doc.schemaVersion, "2.2");
            assert.ok(doc.description.length > 0);
            assert.deepStrictEqual(JSON.parse(JSON.stringify(doc)), doc);
            assert.strictEqual(doc.mainSteps.length, 1);
            const step = doc.mainSteps[0];
            assert.strictEqual(step.action, action);
            assert.match(step.name, /^[A-Za-z0-9_.-]{1,64}$/);
            assert.deepStrictEqual(step.precondition, { StringEquals: ["platformType", platform] });
            assert.ok(Array.isArray(step.inputs.runCommand) && step.inputs.runCommand.length > 20);
            for (const line of step.inputs.runCommand) assert.ok(typeof line === "string" && !line.includes("\n"), "one line per element");
            assert.match(step.inputs.timeoutSeconds, /^[0-9]+$/);
        });

        it(`${label}: every parameter is a String with an allowedPattern, and the script uses exactly these parameters`, () => {
            assert.deepStrictEqual(Object.keys(doc.parameters).sort(), [...NAMES].sort());
            for (const name of NAMES) {
                assert.strictEqual(doc.parameters[name].type, "String");
                assert.strictEqual(doc.parameters[name].allowedPattern, DOCUMENT_PARAMETER_PATTERNS[name]);
                if (name === "Mode") assert.strictEqual(doc.parameters[name].default, "update", "Mode defaults to update");
                else assert.ok(!("default" in doc.parameters[name]), `${name} has no default`);
            }
            const text = doc.mainSteps[0].inputs.runCommand.join("\n");
            const used = new Set([...text.matchAll(/\{\{\s*([A-Za-z0-9_]+)\s*\}\}/g)].map((m) => m[1]));
            assert.deepStrictEqual([...used].sort(), [...NAMES].sort());
            // each placeholder appears once, inside single quotes, as a plain assignment
            for (const name of NAMES) {
                const uses = text.match(new RegExp(`\\{\\{\\s*${name}\\s*\\}\\}`, "g")) ?? [];
                assert.strictEqual(uses.length, 1, `${name} substituted once`);
                assert.match(text, new RegExp(`^\\$?[A-Za-z_]+ ?= ?'\\{\\{ ${name} \\}\\}'$`, "m"));
            }
        });
    }

    it("the documents' step text is exactly the script files", () => {
        assert.strictEqual(postfixDocumentContent().mainSteps[0].inputs.runCommand.join("\n"), POSTFIX_SCRIPT.trimEnd());
        assert.strictEqual(iisDocumentContent().mainSteps[0].inputs.runCommand.join("\n"), IIS_SCRIPT.trimEnd());
    });

    describe("parameter patterns", () => {
        for (const name of NAMES) {
            it(`${name}: accepts well-formed values and refuses hostile ones`, () => {
                const re = new RegExp(DOCUMENT_PARAMETER_PATTERNS[name]);
                for (const v of VALID[name]) assert.ok(re.test(v), `${name} should accept ${JSON.stringify(v)}`);
                for (const v of HOSTILE) assert.ok(!re.test(v), `${name} should refuse ${JSON.stringify(v)}`);
                for (const v of VALID[name]) {
                    for (const bad of [`${v};id`, `${v}$(id)`, `${v}\n`, `${v}'`, `${v} &calc`, `${v}|x`, `\`${v}\``]) {
                        assert.ok(!re.test(bad), `${name} should refuse ${JSON.stringify(bad)}`);
                    }
                }
            });
        }

        it("bounds lengths: overlong ids, versions and regions are refused", () => {
            const p = (n: DocumentParameterName) => new RegExp(DOCUMENT_PARAMETER_PATTERNS[n]);
            assert.ok(!p("CredentialId").test("/" + "a".repeat(2048)));
            assert.ok(!p("CredentialId").test(`${SECRET_ARN}${"a".repeat(600)}`));
            assert.ok(!p("CredentialVersion").test("a".repeat(65)));
            assert.ok(!p("CredentialVersion").test("12345678901"));
            assert.ok(!p("CredentialVersion").test("0"));
            assert.ok(!p("Region").test("eu-west-123"));
            assert.ok(!p("CredentialId").test("-rf"), "a leading dash would read as a CLI option");
        });
    });

    describe("documentParameters (SendCommand Parameters for a credential reference)", () => {
        it("builds the reference parameters and Mode (default update) for a secret version and for a parameter version", () => {
            assert.deepStrictEqual(documentParameters({ source: "SecretsManager", id: SECRET_ARN, version: VERSION_UUID, region: "eu-west-1" }), {
                CredentialSource: ["SecretsManager"],
                CredentialId: [SECRET_ARN],
                CredentialVersion: [VERSION_UUID],
                Region: ["eu-west-1"],
                Mode: ["update"],
            });
            assert.deepStrictEqual(documentParameters({ source: "ParameterStore", id: "/ses/bu-a/credential", version: 7, region: "us-east-1" }, "check"), {
                CredentialSource: ["ParameterStore"],
                CredentialId: ["/ses/bu-a/credential"],
                CredentialVersion: ["7"],
                Region: ["us-east-1"],
                Mode: ["check"],
            });
        });

        const bad: Array<[string, any, RegExp]> = [
            ["source", { source: "S3", id: SECRET_ARN, version: VERSION_UUID, region: "eu-west-1" }, /parameter CredentialSource/],
            ["hostile id", { source: "SecretsManager", id: "$(id)", version: VERSION_UUID, region: "eu-west-1" }, /parameter CredentialId/],
            ["newline in version", { source: "SecretsManager", id: SECRET_ARN, version: `${VERSION_UUID}\n`, region: "eu-west-1" }, /parameter CredentialVersion/],
            ["region", { source: "SecretsManager", id: SECRET_ARN, version: VERSION_UUID, region: "eu-west-x" }, /parameter Region/],
            ["parameter name with SecretsManager", { source: "SecretsManager", id: "/ses/cred", version: VERSION_UUID, region: "eu-west-1" }, /parameter CredentialId.*SecretsManager/],
            ["uuid with ParameterStore", { source: "ParameterStore", id: "/ses/cred", version: VERSION_UUID, region: "eu-west-1" }, /parameter CredentialVersion.*ParameterStore/],
            ["secret ARN with ParameterStore", { source: "ParameterStore", id: SECRET_ARN, version: 3, region: "eu-west-1" }, /parameter CredentialId.*ParameterStore/],
            ["ARN in another region", { source: "SecretsManager", id: SECRET_ARN, version: VERSION_UUID, region: "us-east-1" }, /parameter Region.*eu-west-1/],
        ];
        for (const [what, ref, error] of bad) {
            it(`refuses ${what}, naming the parameter`, () => {
                assert.throws(() => documentParameters(ref), error);
            });
        }
        it("refuses a mode other than update or check, naming the parameter", () => {
            assert.throws(() => documentParameters({ source: "SecretsManager", id: SECRET_ARN, version: VERSION_UUID, region: "eu-west-1" }, "repair" as any), /parameter Mode/);
        });
    });

    describe("in moto's SSM", () => {
        beforeEach(resetAws);

        it("both documents are accepted as Command documents and read back with their parameters", async () => {
            const ssm = new SSMClient(clientConfig());
            for (const [name, doc] of [["postfix-doc", postfixDocumentContent()], ["iis-doc", iisDocumentContent()]] as const) {
                await ssm.send(new CreateDocumentCommand({ Name: name, Content: JSON.stringify(doc), DocumentType: "Command", DocumentFormat: "JSON" }));
                const got = await ssm.send(new GetDocumentCommand({ Name: name }));
                assert.deepStrictEqual(JSON.parse(got.Content!), doc);
                const described = await ssm.send(new DescribeDocumentCommand({ Name: name }));
                assert.strictEqual(described.Document!.SchemaVersion, "2.2");
                assert.deepStrictEqual(described.Document!.Parameters!.map((p) => p.Name).sort(), [...NAMES].sort());
            }
        });
    });
});

describe("SSM documents: the Postfix script", () => {
    it("passes bash -n", () => {
        execFileSync("bash", ["-n", path.join(DOCS_DIR, POSTFIX_SCRIPT_FILE)]);
    });

    it("is clean under shellcheck when shellcheck is installed (bash -n above always runs)", function () {
        if (spawnSync("shellcheck", ["--version"]).status !== 0) {
            // shellcheck is a developer tool, not a dependency; bash -n and the behaviour tests still run.
            // Under CI=true (scripts/install-system-packages.sh installs it) a missing shellcheck is a failure.
            if (process.env.CI === "true") throw new Error("shellcheck is missing; under CI=true this is a failure, not a skip (install Debian's shellcheck)");
            this.skip();
        }
        const r = spawnSync("shellcheck", ["-s", "bash", path.join(DOCS_DIR, POSTFIX_SCRIPT_FILE)], { encoding: "utf8" });
        assert.strictEqual(r.status, 0, r.stdout);
    });

    /** Runs the document's step the way the fleet agent does, in an environment with no Postfix. */
    function runStep(params: Record<string, string>, env: Record<string, string>): { status: number | null; stdout: string; stderr: string } {
        const script = substituteParameters(postfixDocumentContent().mainSteps[0].inputs.runCommand.join("\n"), params);
        const r = spawnSync("bash", ["-c", script], { encoding: "utf8", env: { PATH: "/usr/bin:/bin", ...env } });
        return { status: r.status, stdout: r.stdout, stderr: r.stderr };
    }

    const good = { CredentialSource: "SecretsManager", CredentialId: SECRET_ARN, CredentialVersion: VERSION_UUID, Region: "eu-west-1", Mode: "update" };

    it("validates its parameters again: a trailing newline (which a find()-style regex check could let through) is refused", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "doc-test-"));
        try {
            const r = runStep({ ...good, Region: "eu-west-1\n" }, { SES_ROTATOR_POSTFIX_CONFIG_DIR: dir });
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /parameter Region is not an AWS region/);
            const r2 = runStep({ ...good, CredentialSource: "ParameterStore" }, { SES_ROTATOR_POSTFIX_CONFIG_DIR: dir });
            assert.notStrictEqual(r2.status, 0);
            assert.match(r2.stderr, /parameter CredentialId must be a parameter name or ARN/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("exits non-zero naming the missing prerequisite (no postconf on PATH), changing nothing", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "doc-test-"));
        try {
            const emptyBin = path.join(dir, "bin");
            fs.mkdirSync(emptyBin);
            const r = spawnSync("/bin/bash", ["-c", substituteParameters(postfixDocumentContent().mainSteps[0].inputs.runCommand.join("\n"), good)], {
                encoding: "utf8",
                env: { PATH: emptyBin, SES_ROTATOR_POSTFIX_CONFIG_DIR: dir },
            });
            assert.notStrictEqual(r.status, 0);
            assert.match(r.stderr, /prerequisite missing: 'postconf'/);
            assert.deepStrictEqual(fs.readdirSync(dir), ["bin"]);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it("refuses a configuration directory that does not exist", () => {
        const r = runStep(good, { SES_ROTATOR_POSTFIX_CONFIG_DIR: "/nonexistent/postfix" });
        assert.notStrictEqual(r.status, 0);
        assert.match(r.stderr, /Postfix configuration directory '\/nonexistent\/postfix' does not exist/);
    });

    it("static secret hygiene: no tracing, password only in shell builtins, never printed", () => {
        const code = POSTFIX_SCRIPT.split("\n").filter((l) => !/^\s*#/.test(l));
        assert.ok(!code.some((l) => /set\s+-[a-z]*x/.test(l)), "no set -x");
        assert.ok(code.some((l) => /^set \+x$/.test(l)), "explicit set +x");
        assert.ok(code.some((l) => /^umask 077$/.test(l)), "umask 077");
        // Every line that touches a variable holding secret material must be one of the allowed forms:
        // regex check, builtin assignment/append, the in-memory comparison, or clearing it.
        const secretVars = /\$\{?(SMTP_PASSWORD|VALUE|PREVIOUS|NEW_CONTENT|LOOKUP|REST|line)\b/;
        const allowed = [
            /^\s*\[\[ "\$(SMTP_USERNAME|SMTP_PASSWORD)" =~ .*\]\] \|\| fail "[^$]*"$/, // validation, message without the value
            /^\s*\[\[ "\$(SMTP_USERNAME|SMTP_PASSWORD)" =~ .*\]\] \|\| FETCH_PROBLEM="[^$]*"$/, // the same, reported as the fetch check
            /^\s*(PREVIOUS|REST|NEW_CONTENT|line|key)(\+)?="\$\{?[A-Z_a-z]+/, // builtin assignments
            /^\s*NEW_CONTENT\+="\$RELAYHOST \$SMTP_USERNAME:\$SMTP_PASSWORD"\$'\\n'$/,
            /^\s*if \[\[ "\$VALUE" =~ \$re \]\]; then printf '%s' "\$\{BASH_REMATCH\[1\]/, // json_field: printf builtin into $(...)
            /^\s*if \[ "\$line" = "\$REST" \]; then REST=""; else REST="\$\{REST#\*\$'\\n'\}"; fi$/,
            /^\s*if \[ "\$key" != "\$RELAYHOST" \]; then NEW_CONTENT\+="\$line"\$'\\n'; fi$/,
            /^\s*while \[ -n "\$REST" \]; do$/,
            /^\s*\[ "\$LOOKUP" = "\$SMTP_USERNAME:\$SMTP_PASSWORD" \] \|\| fail "[^$]*\$RELAYHOST[^$]*"$/,
            /^\s*\(install_map "\$PREVIOUS"\) \|\| printf '[^']*' "\$PROG" "\$MAP_FILE" >&2$/,
            /^\s*install_map "\$NEW_CONTENT" \|\| fail/,
            /^\s*if printf '%s' "\$1" >"\$TMP_FILE"/, // install_map: printf builtin into the 0600 temp file
        ];
        const offending = code.filter((l) => secretVars.test(l) && !allowed.some((a) => a.test(l)));
        assert.deepStrictEqual(offending, []);
        // the credential is fetched by reference with the aws CLI, never passed in
        assert.match(POSTFIX_SCRIPT, /secretsmanager get-secret-value --secret-id="\$CREDENTIAL_ID"\s*\\\s*--version-id="\$CREDENTIAL_VERSION"/);
        assert.match(POSTFIX_SCRIPT, /ssm get-parameter --name="\$CREDENTIAL_ID:\$CREDENTIAL_VERSION"\s*\\\s*--with-decryption/);
        assert.ok(!/\becho\b[^\n]*(PASSWORD|VALUE|PREVIOUS)/.test(POSTFIX_SCRIPT));
    });
});

describe("SSM documents: the scripts' own checks match the document patterns", () => {
    // The same rules live in three places (document allowedPattern, bash, PowerShell): prove they agree.
    const bashRules = [...POSTFIX_SCRIPT.matchAll(/\$CREDENTIAL_(ID|VERSION|REGION)" =~ (\^\S+\$) \]\]/g)].map((m) => ({ param: m[1], re: new RegExp(m[2]) }));
    const psRules = [...IIS_SCRIPT.matchAll(/\$Credential(Id|Version|Region|Source) -cnotmatch '(\^[^']+)\\z'/g)].map((m) => ({ param: m[1].toUpperCase(), re: new RegExp(m[2] + "$") }));
    const docParam: Record<string, DocumentParameterName> = { ID: "CredentialId", VERSION: "CredentialVersion", REGION: "Region", SOURCE: "CredentialSource" };

    it("found the rules in both scripts", () => {
        assert.ok(bashRules.length >= 5, `bash rules: ${bashRules.length}`);
        assert.ok(psRules.length >= 6, `PowerShell rules: ${psRules.length}`);
    });

    it("no value refused by the document pattern is accepted by a script rule; valid values pass at least one", () => {
        for (const rule of [...bashRules, ...psRules]) {
            const name = docParam[rule.param];
            const docRe = new RegExp(DOCUMENT_PARAMETER_PATTERNS[name]);
            for (const v of HOSTILE) assert.ok(!rule.re.test(v) || docRe.test(v), `${name}: script accepts ${JSON.stringify(v)}`);
        }
        for (const name of ["CredentialId", "CredentialVersion", "Region"] as DocumentParameterName[]) {
            const key = Object.keys(docParam).find((k) => docParam[k] === name)!;
            for (const v of VALID[name]) {
                assert.ok(bashRules.filter((r) => r.param === key).some((r) => r.re.test(v)), `bash accepts ${name} ${v}`);
                assert.ok(psRules.filter((r) => r.param === key).some((r) => r.re.test(v)), `PowerShell accepts ${name} ${v}`);
            }
        }
    });
});
