/**
 * The parameters of the SSM documents: their `allowedPattern`s and the SendCommand `Parameters` builder for a
 * credential reference. Pure and dependency-free (no fs, no SDK), so Lambda code can import it too.
 *
 * No secret is ever a parameter: four parameters are a *reference* (source, id, version, region), `Mode` says what to do, and the
 * server reads the value itself. Every pattern admits no shell or PowerShell metacharacter
 * (`; & | $ \` ' " ( ) < > \ * ?`), no whitespace and no newline, so the SSM Agent's textual `{{ Param }}`
 * substitution cannot break out of the single quotes the scripts put around each value.
 */

/** Names of the document parameters (identical in both documents). */
export type DocumentParameterName = "CredentialSource" | "CredentialId" | "CredentialVersion" | "Region" | "Mode";

/**
 * What the document does: `update` installs the referenced credential (the default); `check` changes nothing and
 * reports, per check, whether an update would succeed (`SES-ROTATOR-CHECK:` lines, then
 * `SES-ROTATOR-RESULT: check-passed|check-failed`; contract in runtime/server-report.ts).
 */
export type DocumentMode = "update" | "check";

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
    Mode: "^(update|check)$",
});

/** Default values of optional document parameters (a parameter without one is required). */
export const DOCUMENT_PARAMETER_DEFAULTS: Readonly<Partial<Record<DocumentParameterName, string>>> = Object.freeze({ Mode: "update" });

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
 * The SendCommand `Parameters` for a credential reference (and the document's `Mode`, default `update`). Validates each value against its allowedPattern and
 * the source-specific form (SecretsManager: secret ARN + version id; ParameterStore: name/ARN + version number;
 * an ARN's region must equal `region`); the error names the parameter.
 */
export function documentParameters(ref: CredentialReference, mode: DocumentMode = "update"): Record<DocumentParameterName, string[]> {
    if (!ref || typeof ref !== "object") throw new Error("documentParameters: a credential reference {source, id, version, region} is required");
    const source = String(ref.source);
    const id = String(ref.id ?? "");
    const version = String(ref.version ?? "");
    const region = String(ref.region ?? "");
    const pattern = (name: DocumentParameterName) => new RegExp(DOCUMENT_PARAMETER_PATTERNS[name]);
    check("Mode", String(mode), pattern("Mode"), "update or check");
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
    return { CredentialSource: [source], CredentialId: [id], CredentialVersion: [version], Region: [region], Mode: [mode] };
}
