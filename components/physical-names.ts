/**
 * AWS name limits for the resources the components create. Pulumi auto-names a resource `<logical name>-<7 hex>`
 * (8 characters more than the logical name), and every logical name here starts with the component's name
 * (the business unit in the program, up to 40 characters), so long names would pass `pulumi preview` and fail
 * at `pulumi up` (IAM role and Lambda function names: 64; EventBridge rules: 64; SSM documents must not start
 * with aws, amazon or amzn).
 *
 * {@link physicalNameTransformation} (registered by SmtpCredentialRotator for all its children) leaves every
 * auto-name that fits alone (so existing stacks see no change) and gives the others an explicit name: the
 * logical name cut to fit, plus a hash of project, stack, type and logical name (unique per stack and resource),
 * with `deleteBeforeReplace` (an explicit name cannot exist twice during a replacement).
 */
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "crypto";

/** What Pulumi's auto-naming appends: `-` and 7 random hex characters. */
export const AUTONAME_SUFFIX_LENGTH = 8;

/** Name rules of a resource type's `name` property. */
export interface NameLimit {
    /** maximum length AWS accepts */
    max: number;
    /** prefixes AWS reserves (compared case-insensitively) */
    reservedPrefixes?: readonly string[];
}

/** AWS's limits for the `name` of each type the components create with an auto-name. */
export const AWS_NAME_LIMITS: Readonly<Record<string, NameLimit>> = Object.freeze({
    "aws:iam/role:Role": { max: 64 },
    "aws:iam/user:User": { max: 64 },
    "aws:iam/rolePolicy:RolePolicy": { max: 128 },
    "aws:iam/userPolicy:UserPolicy": { max: 128 },
    "aws:lambda/function:Function": { max: 64 },
    "aws:cloudwatch/eventRule:EventRule": { max: 64 },
    "aws:cloudwatch/logGroup:LogGroup": { max: 512 },
    "aws:sfn/stateMachine:StateMachine": { max: 80 },
    "aws:scheduler/schedule:Schedule": { max: 64 },
    "aws:ssm/document:Document": { max: 128, reservedPrefixes: ["aws", "amazon", "amzn"] },
    "aws:sns/topic:Topic": { max: 256 },
    "aws:secretsmanager/secret:Secret": { max: 512 },
    "aws:dynamodb/table:Table": { max: 255 },
    "aws:apigatewayv2/api:Api": { max: 128 },
});

/** Does `name` break `limit` (too long, or a reserved prefix)? */
export function breaksNameLimit(name: string, limit: NameLimit): boolean {
    return name.length > limit.max || (limit.reservedPrefixes ?? []).some((p) => name.toLowerCase().startsWith(p));
}

/**
 * The explicit physical name for a resource whose auto-name would break its type's limit, or undefined when the
 * auto-name fits (or the type has no limit listed). `scope` makes the name unique per stack (project/stack).
 */
export function fitPhysicalName(type: string, logicalName: string, scope: string): string | undefined {
    const limit = AWS_NAME_LIMITS[type];
    if (!limit) return undefined;
    const autoName = `${logicalName}-xxxxxxx`;
    if (!breaksNameLimit(autoName, limit)) return undefined;
    const base = (limit.reservedPrefixes ?? []).some((p) => logicalName.toLowerCase().startsWith(p)) ? `ses-${logicalName}` : logicalName;
    const hash = createHash("sha256").update(`${scope}/${type}/${logicalName}`).digest("hex").slice(0, 7);
    return `${base.slice(0, limit.max - AUTONAME_SUFFIX_LENGTH).replace(/[-_.]+$/, "")}-${hash}`;
}

/** A Pulumi transformation that applies {@link fitPhysicalName} to every resource without an explicit name. */
export const physicalNameTransformation: pulumi.ResourceTransformation = (args) => {
    if (args.props.name !== undefined || args.props.namePrefix !== undefined) return undefined;
    const name = fitPhysicalName(args.type, args.name, `${pulumi.getProject()}/${pulumi.getStack()}`);
    if (name === undefined) return undefined;
    return { props: { ...args.props, name }, opts: pulumi.mergeOptions(args.opts, { deleteBeforeReplace: true }) };
};
