/**
 * The SSM Command documents (schema 2.2) that make a mail server fetch and install a new SES SMTP credential,
 * and the SendCommand parameters that point them at one credential version.
 *
 * Pure: no AWS call, no Pulumi. The script text is read once from the files next to this module
 * (`postfix-smtp-credentials.sh`, `iis-smtp-credentials.ps1`). Components turn the document objects into
 * `aws.ssm.Document` content (JSON); the test fleet agent and the demo run the same text.
 *
 * Security model: no secret is ever a parameter. Four parameters are a *reference* (source, id, version,
 * region); the script reads the value itself. Every parameter has an `allowedPattern` that admits no shell or
 * PowerShell metacharacter (`; & | $ \` ' " ( ) < > \ * ?`, spaces, newlines), so the SSM Agent's textual
 * `{{ Param }}` substitution cannot break out of the single quotes the scripts put around each value. The
 * scripts validate the values again (SSM's regex engine may let `$` match before a final newline).
 */
import * as fs from "fs";
import * as path from "path";
import { DOCUMENT_PARAMETER_DEFAULTS, DOCUMENT_PARAMETER_PATTERNS, DocumentParameterName } from "./parameters";

export {
    CredentialReference,
    CredentialSource,
    DOCUMENT_PARAMETER_DEFAULTS,
    DOCUMENT_PARAMETER_PATTERNS,
    DocumentMode,
    DocumentParameterName,
    documentParameters,
} from "./parameters";

const DESCRIPTIONS: Record<DocumentParameterName, string> = {
    CredentialSource: "Where the SES SMTP credential is stored: SecretsManager or ParameterStore.",
    CredentialId: "The secret ARN (SecretsManager) or the SecureString parameter name or ARN (ParameterStore).",
    CredentialVersion: "The secret version id (SecretsManager) or the parameter version number (ParameterStore).",
    Region: "The AWS region of the secret or parameter.",
    Mode: "update (default): install the referenced credential. check: change nothing, report whether an update would succeed.",
};


/** A schema 2.2 Command document as a plain JSON-serialisable object. */
export interface CommandDocumentContent {
    schemaVersion: "2.2";
    description: string;
    parameters: Record<DocumentParameterName, { type: "String"; description: string; allowedPattern: string; default?: string }>;
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
        const fallback = DOCUMENT_PARAMETER_DEFAULTS[name];
        parameters[name] = { type: "String", description: DESCRIPTIONS[name], allowedPattern: DOCUMENT_PARAMETER_PATTERNS[name], ...(fallback !== undefined ? { default: fallback } : {}) };
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
