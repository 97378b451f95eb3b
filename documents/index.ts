/**
 * The SSM Command documents (schema 2.2) that make a mail server fetch and install a new SES SMTP credential,
 * and the SendCommand parameters that point them at one credential version.
 *
 * Pure: no AWS call, no Pulumi. The script text is read once from the files next to this module
 * (`postfix-smtp-credentials.sh`, `iis-smtp-credentials.ps1`). Components turn the document objects into
 * `aws.ssm.Document` content (JSON); the test fleet agent and the demo run the same text.
 *
 * Security model: no secret is ever a parameter. The four parameters are a *reference* (source, id, version,
 * region); the script reads the value itself. Every parameter has an `allowedPattern` that admits no shell or
 * PowerShell metacharacter (`; & | $ \` ' " ( ) < > \ * ?`, spaces, newlines), so the SSM Agent's textual
 * `{{ Param }}` substitution cannot break out of the single quotes the scripts put around each value. The
 * scripts validate the values again (SSM's regex engine may let `$` match before a final newline).
 */
import * as fs from "fs";
import * as path from "path";

/** Names of the document parameters (identical in both documents). */
export type DocumentParameterName = "CredentialSource" | "CredentialId" | "CredentialVersion" | "Region";

/** Where the credential is stored: Secrets Manager (auto mode) or Parameter Store SecureString (manual mode). */
export type CredentialSource = "SecretsManager" | "ParameterStore";

const PARTITION = "aws(-[a-z]{1,8}){0,3}";
const ACCOUNT = "[0-9]{12}";
const ARN_REGION = "[a-z0-9-]{1,32}";
/** secret ARN: arn:<partition>:secretsmanager:<region>:<account>:secret:<name>-<6 chars> */
const SECRET_ARN = `arn:${PARTITION}:secretsmanager:${ARN_REGION}:${ACCOUNT}:secret:[A-Za-z0-9/_+=.@-]{1,512}`;
/** parameter name (optionally as an ARN); never starts with "-" (it would read as a CLI option) */
const PARAMETER_REF = `(arn:${PARTITION}:ssm:${ARN_REGION}:${ACCOUNT}:parameter)?[A-Za-z0-9_./][A-Za-z0-9_./-]{0,1010}`;
/** Secrets Manager version id (a uuid from rotation, or any 32-64 character client request token) */
const SECRET_VERSION = "[A-Za-z0-9][A-Za-z0-9-]{31,63}";
/** Parameter Store version number */
const PARAMETER_VERSION = "[1-9][0-9]{0,9}";

/**
 * The `allowedPattern` of every document parameter. Anchored, bounded, JavaScript- and Java-compatible
 * (no lookaround); the character classes contain no whitespace, quote or shell/PowerShell metacharacter.
 */
export const DOCUMENT_PARAMETER_PATTERNS: Readonly<Record<DocumentParameterName, string>> = Object.freeze({
    CredentialSource: "^(SecretsManager|ParameterStore)$",
    CredentialId: `^(${SECRET_ARN}|${PARAMETER_REF})$`,
    CredentialVersion: `^(${SECRET_VERSION}|${PARAMETER_VERSION})$`,
    Region: "^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{1,16}-[0-9]{1,2}$",
});

const DESCRIPTIONS: Record<DocumentParameterName, string> = {
    CredentialSource: "Where the SES SMTP credential is stored: SecretsManager or ParameterStore.",
    CredentialId: "The secret ARN (SecretsManager) or the SecureString parameter name or ARN (ParameterStore).",
    CredentialVersion: "The secret version id (SecretsManager) or the parameter version number (ParameterStore).",
    Region: "The AWS region of the secret or parameter.",
};

/** A schema 2.2 Command document as a plain JSON-serialisable object. */
export interface CommandDocumentContent {
    schemaVersion: "2.2";
    description: string;
    parameters: Record<DocumentParameterName, { type: "String"; description: string; allowedPattern: string }>;
    mainSteps: Array<{
        action: "aws:runShellScript" | "aws:runPowerShellScript";
        name: string;
        precondition: { StringEquals: [string, string] };
        inputs: { runCommand: string[]; timeoutSeconds: string };
    }>;
}

/** File names of the scripts, next to this module in the source tree (`documents/`). */
export const POSTFIX_SCRIPT_FILE = "postfix-smtp-credentials.sh";
export const IIS_SCRIPT_FILE = "iis-smtp-credentials.ps1";

function readScript(file: string): string {
    // From source (ts-node): documents/<file>. Compiled: bin/documents/index.js -> <package>/documents/<file>.
    const candidates = [path.join(__dirname, file), path.join(__dirname, "..", "..", "documents", file)];
    for (const candidate of candidates) {
        if (fs.existsSync(candidate)) return fs.readFileSync(candidate, "utf8");
    }
    throw new Error(`SSM document script ${file} not found (looked in ${candidates.join(", ")})`);
}

const POSTFIX_SCRIPT = readScript(POSTFIX_SCRIPT_FILE);
const IIS_SCRIPT = readScript(IIS_SCRIPT_FILE);

/** The script as SSM `runCommand` lines (one array element per line, no trailing empty line). */
export function scriptLines(text: string): string[] {
    const lines = text.replace(/\r\n/g, "\n").split("\n");
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
}

function documentContent(
    description: string,
    action: "aws:runShellScript" | "aws:runPowerShellScript",
    platform: "Linux" | "Windows",
    script: string,
): CommandDocumentContent {
    const parameters = {} as CommandDocumentContent["parameters"];
    for (const name of Object.keys(DOCUMENT_PARAMETER_PATTERNS) as DocumentParameterName[]) {
        parameters[name] = { type: "String", description: DESCRIPTIONS[name], allowedPattern: DOCUMENT_PARAMETER_PATTERNS[name] };
    }
    return {
        schemaVersion: "2.2",
        description,
        parameters,
        mainSteps: [
            {
                action,
                name: "updateSmtpCredentials",
                precondition: { StringEquals: ["platformType", platform] },
                inputs: { runCommand: scriptLines(script), timeoutSeconds: "300" },
            },
        ],
    };
}

/** The Postfix document: fetches the credential by reference and installs it in sasl_passwd for the relay host. */
export function postfixDocumentContent(): CommandDocumentContent {
    return documentContent(
        "Install an Amazon SES SMTP credential (read by reference from Secrets Manager or Parameter Store) as Postfix's relay host credential.",
        "aws:runShellScript",
        "Linux",
        POSTFIX_SCRIPT,
    );
}

/** The IIS document: fetches the credential by reference and sets it as the SMTP virtual servers' smart-host login. */
export function iisDocumentContent(): CommandDocumentContent {
    return documentContent(
        "Install an Amazon SES SMTP credential (read by reference from Secrets Manager or Parameter Store) as the IIS SMTP virtual servers' smart host login.",
        "aws:runPowerShellScript",
        "Windows",
        IIS_SCRIPT,
    );
}

/** A reference to one version of the stored credential. */
export interface CredentialReference {
    source: CredentialSource;
    /** secret ARN (SecretsManager) or parameter name/ARN (ParameterStore) */
    id: string;
    /** secret version id (SecretsManager) or parameter version (ParameterStore) */
    version: string | number;
    /** region of the secret/parameter */
    region: string;
}

function check(name: DocumentParameterName, value: string, rule: RegExp, what: string): void {
    if (!rule.test(value)) {
        throw new Error(`SSM document parameter ${name}: ${JSON.stringify(value.slice(0, 80))} is not ${what}`);
    }
}

/**
 * The SendCommand `Parameters` for a credential reference. Validates each value against its allowedPattern and
 * the source-specific form (SecretsManager: secret ARN + version id; ParameterStore: name/ARN + version number;
 * an ARN's region must equal `region`); the error names the parameter.
 */
export function documentParameters(ref: CredentialReference): Record<DocumentParameterName, string[]> {
    if (!ref || typeof ref !== "object") throw new Error("documentParameters: a credential reference {source, id, version, region} is required");
    const source = String(ref.source);
    const id = String(ref.id ?? "");
    const version = String(ref.version ?? "");
    const region = String(ref.region ?? "");
    const pattern = (name: DocumentParameterName) => new RegExp(DOCUMENT_PARAMETER_PATTERNS[name]);
    check("CredentialSource", source, pattern("CredentialSource"), "SecretsManager or ParameterStore");
    check("Region", region, pattern("Region"), "an AWS region (e.g. eu-west-1)");
    check("CredentialId", id, pattern("CredentialId"), "a secret ARN or a parameter name/ARN");
    check("CredentialVersion", version, pattern("CredentialVersion"), "a secret version id or a parameter version number");
    if (source === "SecretsManager") {
        check("CredentialId", id, new RegExp(`^${SECRET_ARN}$`), "a Secrets Manager secret ARN (CredentialSource is SecretsManager)");
        check("CredentialVersion", version, new RegExp(`^${SECRET_VERSION}$`), "a secret version id (CredentialSource is SecretsManager)");
    } else {
        check("CredentialId", id, new RegExp(`^${PARAMETER_REF}$`), "a parameter name or ARN (CredentialSource is ParameterStore)");
        check("CredentialVersion", version, new RegExp(`^${PARAMETER_VERSION}$`), "a parameter version number (CredentialSource is ParameterStore)");
    }
    const arnRegion = /^arn:[^:]+:[^:]+:([^:]+):/.exec(id)?.[1];
    if (arnRegion !== undefined && arnRegion !== region) {
        throw new Error(`SSM document parameter Region: ${JSON.stringify(region)} differs from the region of CredentialId (${arnRegion})`);
    }
    return { CredentialSource: [source], CredentialId: [id], CredentialVersion: [version], Region: [region] };
}
