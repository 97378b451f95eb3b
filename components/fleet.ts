/**
 * `EmailServerFleet`: which mail servers a rotator updates. Thin component over `settings.ts`
 * (validation, target JSON); creates only the DynamoDB table when asked to.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { FleetTarget } from "../runtime/fleet-target";
import { EmailServerFleetArgs, FleetBinding } from "./args";
import { dynamoTableArn } from "./policies";
import { FleetSettings, fleetTargetFor, validateFleetArgs } from "./settings";
import { argsLabel } from "./validation";

export const EMAIL_SERVER_FLEET_TYPE = "ses-smtp-rotator:index:EmailServerFleet";

/**
 * A fleet of Postfix / IIS mail servers selected by tags or listed in a DynamoDB table.
 *
 * Pass it to `SmtpCredentialRotator` as `fleet`: the rotator targets `target` and attaches the
 * credential read policy to `serverRoleNames` (the fleet cannot build that policy alone: it needs the
 * rotator's secret or parameter ARN; the rotator exposes it as `serverReadPolicy`).
 */
export class EmailServerFleet extends pulumi.ComponentResource implements FleetBinding {
    /** What the rotation runtime targets (plain JSON, see runtime/fleet-target.ts). */
    readonly target: pulumi.Output<FleetTarget>;
    /** The fleet table's name (table selector only). */
    readonly tableName?: pulumi.Output<string>;
    /** The fleet table's ARN (table selector only). */
    readonly tableArn?: pulumi.Output<string>;
    /** The table this component created (selector `{ table: { create: true } }` only). */
    readonly table?: aws.dynamodb.Table;
    /** Roles that get the credential read policy from the rotator. */
    readonly serverRoleNames: pulumi.Input<string>[];

    constructor(name: string, args: EmailServerFleetArgs, opts?: pulumi.ComponentResourceOptions) {
        const settings: FleetSettings = validateFleetArgs(argsLabel("EmailServerFleet", name), args);
        super(EMAIL_SERVER_FLEET_TYPE, name, {}, opts);
        this.serverRoleNames = args.serverRoleNames ?? [];

        if (settings.kind === "tag") {
            this.target = pulumi.output(fleetTargetFor(settings));
        } else if (settings.create) {
            this.table = new aws.dynamodb.Table(
                `${name}-servers`,
                {
                    billingMode: "PAY_PER_REQUEST",
                    hashKey: "serverId",
                    attributes: [{ name: "serverId", type: "S" }],
                    pointInTimeRecovery: { enabled: true },
                    serverSideEncryption: { enabled: true },
                    tags: args.tags,
                },
                { parent: this },
            );
            this.tableName = this.table.name;
            this.tableArn = this.table.arn;
            this.target = this.table.name.apply((tableName) => fleetTargetFor(settings, tableName));
        } else {
            const tableName = settings.tableName;
            const partition = aws.getPartitionOutput({}, { parent: this }).partition;
            const accountId = aws.getCallerIdentityOutput({}, { parent: this }).accountId;
            const region = aws.getRegionOutput({}, { parent: this }).region;
            this.tableName = pulumi.output(tableName);
            this.tableArn = pulumi.all([partition, accountId, region]).apply(([p, a, r]) => dynamoTableArn({ partition: p, accountId: a, region: r }, tableName));
            this.target = pulumi.output(fleetTargetFor(settings));
        }

        this.registerOutputs({ target: this.target, tableName: this.tableName, tableArn: this.tableArn });
    }
}
