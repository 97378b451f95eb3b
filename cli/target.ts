/**
 * Which rotator the CLI talks to: read from the stack outputs `pulumi stack output --json` prints for
 * index.ts's exports (`--outputs -` or `--outputs file.json`), or found from its business unit (`--unit`)
 * through the `ses-rotator:business-unit` tag the components put on the SMTP user, the secret and the
 * SSM documents. Plain TypeScript over injected SDK clients: no @pulumi import.
 */
import { ListUsersCommand, ListUserTagsCommand } from "@aws-sdk/client-iam";
import { DescribeSecretCommand, ListSecretsCommand } from "@aws-sdk/client-secrets-manager";
import { ListDocumentsCommand } from "@aws-sdk/client-ssm";
import { GetFunctionConfigurationCommand } from "@aws-sdk/client-lambda";
import { parseFleetTarget } from "../runtime/auto/config";
import type { FleetTarget } from "../runtime/fleet-target";
import type { CliClients } from "./clients";

export const BUSINESS_UNIT_TAG = "ses-rotator:business-unit";

/** Everything the CLI needs to know about one rotator (references only, never a secret). */
export interface RotatorRef {
    businessUnit: string;
    mode: "auto" | "manual";
    /** region of the SES SMTP endpoint the credential is derived for */
    sesRegion: string;
    /** the SMTP IAM user */
    smtpUserName: string;
    documents: { postfix: string; iis: string };
    /** the fleet as the rotator sees it (undefined when it could not be found) */
    fleetTarget?: FleetTarget;
    /** auto mode: the secret's ARN */
    secretArn?: string;
    /** manual mode: the credential parameter's name */
    parameterName?: string;
    /** manual mode: the CredentialRotation state machine */
    stateMachineArn?: string;
    /** manual mode: the ManualConfirmation state machine */
    confirmationStateMachineArn?: string;
    /** manual mode: the confirmation table */
    confirmationTableName?: string;
    /** manual mode: the starter Lambda */
    starterFunctionName?: string;
}

function field(source: string, obj: Record<string, unknown>, name: string): string {
    const v = obj[name];
    if (typeof v !== "string" || v === "") throw new Error(`${source}: output "${name}" is missing or not a non-empty string`);
    return v;
}

function optional(obj: Record<string, unknown> | undefined, name: string): string | undefined {
    const v = obj?.[name];
    return typeof v === "string" && v !== "" ? v : undefined;
}

/**
 * Reads the JSON of `pulumi stack output --json` (index.ts's exports). `source` names where it came from in
 * errors (a file name, or "stdin").
 */
export function rotatorFromOutputs(text: string, source: string): RotatorRef {
    let parsed: unknown;
    try {
        parsed = JSON.parse(text);
    } catch (e) {
        throw new Error(`--outputs ${source}: not JSON (expected what \`pulumi stack output --json\` prints): ${(e as Error).message}`);
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error(`--outputs ${source}: expected a JSON object of stack outputs`);
    const o = parsed as Record<string, unknown>;
    const where = `--outputs ${source}`;
    const mode = field(where, o, "mode");
    if (mode !== "auto" && mode !== "manual") throw new Error(`${where}: output "mode" must be "auto" or "manual", got ${JSON.stringify(mode)}`);
    const rotation = (o.rotation && typeof o.rotation === "object" ? o.rotation : {}) as Record<string, unknown>;
    let fleetTarget: FleetTarget | undefined;
    if (o.fleetTarget !== undefined) {
        try {
            fleetTarget = parseFleetTarget(JSON.stringify(o.fleetTarget), "fleetTarget");
        } catch (e) {
            throw new Error(`${where}: output "fleetTarget": ${(e as Error).message}`);
        }
    }
    const ref: RotatorRef = {
        businessUnit: field(where, o, "businessUnit"),
        mode,
        sesRegion: field(where, o, "sesRegion"),
        smtpUserName: field(where, o, "smtpUserName"),
        documents: { postfix: field(where, o, "postfixDocumentName"), iis: field(where, o, "iisDocumentName") },
        fleetTarget,
    };
    if (mode === "auto") ref.secretArn = optional(o, "secretArn") ?? optional(rotation, "secretArn") ?? field(where, o, "secretArn");
    else {
        ref.parameterName = field(`${where} rotation`, rotation, "parameterName");
        ref.stateMachineArn = field(`${where} rotation`, rotation, "stateMachineArn");
        ref.confirmationStateMachineArn = optional(rotation, "confirmationStateMachineArn");
        ref.confirmationTableName = optional(rotation, "confirmationTableName");
        ref.starterFunctionName = optional(rotation, "starterFunctionName");
    }
    return ref;
}

/**
 * Finds a rotator by business unit: the SMTP user and the SSM documents carry the `ses-rotator:business-unit`
 * tag; auto mode's secret too (manual mode is recognised by the absence of a tagged secret and needs
 * `--outputs` for its state machines). The fleet comes from the rotation Lambda's FLEET_TARGET environment.
 */
export async function rotatorFromUnit(c: Pick<CliClients, "iam" | "secrets" | "ssm" | "lambda">, unit: string, sesRegion?: string): Promise<RotatorRef> {
    const users: string[] = [];
    let marker: string | undefined;
    do {
        const page = await c.iam.send(new ListUsersCommand({ Marker: marker }));
        for (const u of page.Users ?? []) {
            const tags = await c.iam.send(new ListUserTagsCommand({ UserName: u.UserName! }));
            if ((tags.Tags ?? []).some((t) => t.Key === BUSINESS_UNIT_TAG && t.Value === unit)) users.push(u.UserName!);
        }
        marker = page.IsTruncated ? page.Marker : undefined;
    } while (marker);
    if (users.length !== 1) throw new Error(`--unit ${unit}: ${users.length === 0 ? "no" : String(users.length)} IAM user${users.length === 1 ? "" : "s"} tagged ${BUSINESS_UNIT_TAG}=${unit}${users.length ? ` (${users.join(", ")})` : ""}; pass --outputs instead`);
    const docs = await c.ssm.send(new ListDocumentsCommand({ Filters: [{ Key: `tag:${BUSINESS_UNIT_TAG}`, Values: [unit] }, { Key: "Owner", Values: ["Self"] }] }));
    const names = (docs.DocumentIdentifiers ?? []).map((d) => d.Name!);
    const postfix = names.find((n) => /postfix/i.test(n));
    const iis = names.find((n) => /iis/i.test(n));
    if (!postfix || !iis) throw new Error(`--unit ${unit}: no SSM documents tagged ${BUSINESS_UNIT_TAG}=${unit}; pass --outputs instead`);
    const secrets = await c.secrets.send(new ListSecretsCommand({ Filters: [{ Key: "tag-key", Values: [BUSINESS_UNIT_TAG] }, { Key: "tag-value", Values: [unit] }] }));
    const secret = (secrets.SecretList ?? []).find((s) => (s.Tags ?? []).some((t) => t.Key === BUSINESS_UNIT_TAG && t.Value === unit));
    if (!secret) throw new Error(`--unit ${unit}: no secret tagged ${BUSINESS_UNIT_TAG}=${unit} (a manual-mode rotator needs --outputs)`);
    const ref: RotatorRef = { businessUnit: unit, mode: "auto", sesRegion: sesRegion ?? "", smtpUserName: users[0], documents: { postfix, iis }, secretArn: secret.ARN! };
    const described = await c.secrets.send(new DescribeSecretCommand({ SecretId: secret.ARN! }));
    if (described.RotationLambdaARN) {
        const fn = await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: described.RotationLambdaARN }));
        const env = fn.Environment?.Variables ?? {};
        if (env.FLEET_TARGET) ref.fleetTarget = parseFleetTarget(env.FLEET_TARGET);
        if (env.SES_REGION) ref.sesRegion = env.SES_REGION;
    }
    return ref;
}
