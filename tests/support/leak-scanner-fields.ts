/**
 * The leak scanner's exemptions by resource and FIELD, not by API call: in the few AWS calls where a secret
 * legitimately travels, only the one field that must carry it is exempt, and only for the right resource type:
 *  - the SMTP password: the secret's value (`SecretString` of CreateSecret / PutSecretValue requests and
 *    GetSecretValue responses) and the credential parameter's value (`Value` of a **SecureString** parameter in
 *    PutParameter requests and GetParameter(s) / GetParameterHistory responses); a plaintext `String` parameter,
 *    a secret's Description or Tags, any other parameter field is a leak;
 *  - a task token: the `taskToken` field of SendTask* requests, and in DynamoDB only the confirmation table's
 *    token attributes (`taskToken`, `parentTaskToken`: PutItem/GetItem/UpdateItem items, and the
 *    ExpressionAttributeValues an UpdateExpression assigns to those attributes).
 * Everything else in the same body (names, descriptions, other attributes) is scanned for every kind.
 */
import type { SecretKind } from "./leak-scanner-core";

/** The confirmation table's attributes that must hold a task token (runtime/manual/confirmation-store.ts). */
export const TOKEN_ATTRIBUTES: readonly string[] = ["taskToken", "parentTaskToken"];

export interface AllowedField {
    kind: SecretKind;
    /** e.g. "SecretString", "Parameter.Value (SecureString)", "Item.taskToken" */
    field: string;
    text: string;
}

export interface FieldSplit {
    allowed: AllowedField[];
    /** the body with the allowed fields replaced by a placeholder (scanned for every kind) */
    rest: string;
}

const PLACEHOLDER = "(observed separately)";

type Rule = (json: any, take: (obj: any, key: string, kind: SecretKind, field: string) => void) => void;

const secretString: Rule = (j, take) => take(j, "SecretString", "smtp-password", "SecretString");
const secureValue = (p: any, take: Parameters<Rule>[1], field: string): void => {
    if (p && p.Type === "SecureString") take(p, "Value", "smtp-password", `${field} (SecureString)`);
};
const tokenAttributes = (item: any, take: Parameters<Rule>[1], field: string): void => {
    for (const a of TOKEN_ATTRIBUTES) if (item && item[a]) take(item[a], "S", "task-token", `${field}.${a}`);
};

const RULES: Record<string, Rule> = {
    "secretsmanager:CreateSecret request": secretString,
    "secretsmanager:PutSecretValue request": secretString,
    "secretsmanager:GetSecretValue response": secretString,
    "ssm:PutParameter request": (j, take) => secureValue(j, take, "Value"),
    "ssm:GetParameter response": (j, take) => secureValue(j.Parameter, take, "Parameter.Value"),
    "ssm:GetParameters response": (j, take) => (j.Parameters ?? []).forEach((p: any) => secureValue(p, take, "Parameters[].Value")),
    "ssm:GetParameterHistory response": (j, take) => (j.Parameters ?? []).forEach((p: any) => secureValue(p, take, "Parameters[].Value")),
    "states:SendTaskSuccess request": (j, take) => take(j, "taskToken", "task-token", "taskToken"),
    "states:SendTaskFailure request": (j, take) => take(j, "taskToken", "task-token", "taskToken"),
    "states:SendTaskHeartbeat request": (j, take) => take(j, "taskToken", "task-token", "taskToken"),
    "dynamodb:PutItem request": (j, take) => tokenAttributes(j.Item, take, "Item"),
    "dynamodb:GetItem response": (j, take) => tokenAttributes(j.Item, take, "Item"),
    "dynamodb:UpdateItem response": (j, take) => tokenAttributes(j.Attributes, take, "Attributes"),
    "dynamodb:UpdateItem request": (j, take) => {
        // SET taskToken = :t  ->  ExpressionAttributeValues[":t"].S
        const set = /\bSET\b([\s\S]*?)(?=\b(?:REMOVE|ADD|DELETE)\b|$)/i.exec(String(j.UpdateExpression ?? ""))?.[1] ?? "";
        for (const m of set.matchAll(/(#?\w+)\s*=\s*(:\w+)/g)) {
            const name = m[1].startsWith("#") ? j.ExpressionAttributeNames?.[m[1]] : m[1];
            if (TOKEN_ATTRIBUTES.includes(name)) take(j.ExpressionAttributeValues?.[m[2]], "S", "task-token", `ExpressionAttributeValues[${m[2]}] (SET ${name})`);
        }
    },
    // moto's own Scan pages (the scanner's sweep)
    "moto dynamodb items": (j, take) => (j.Items ?? []).forEach((item: any) => tokenAttributes(item, take, "Items[]")),
};

/**
 * Splits `text` seen at `place` ("service:Operation request|response", or "moto dynamodb items") into the
 * fields where a secret may be and the rest. Undefined when the place has no field rule (scan it as a whole);
 * a body that is not JSON at a place with a rule exempts nothing.
 */
export function splitAllowedFields(place: string, text: string): FieldSplit | undefined {
    const rule = RULES[place];
    if (!rule) return undefined;
    let json: any;
    try {
        json = JSON.parse(text);
    } catch {
        return { allowed: [], rest: text };
    }
    const allowed: AllowedField[] = [];
    rule(json, (obj, key, kind, field) => {
        if (obj && typeof obj[key] === "string") {
            allowed.push({ kind, field, text: obj[key] });
            obj[key] = PLACEHOLDER;
        }
    });
    return { allowed, rest: JSON.stringify(json) };
}
