/**
 * Manual mode's resources in moto, from the components' builders: the SecureString parameter holding the
 * first credential (version 1), the owner-mail topic, the confirmation table, and the CredentialRotation and
 * ManualConfirmation state machines from the EMITTED definitions (components/manual/definitions.ts).
 * moto's interpreter runs them; its Lambda task states are answered in-process by the REAL runtime handlers
 * through the Step Functions bridge (sandbox/sfn-bridge.ts), as in the manual-mode tests.
 */
import { PutParameterCommand } from "@aws-sdk/client-ssm";
import { CreateStateMachineCommand, SFNClient } from "@aws-sdk/client-sfn";
import { CreateTopicCommand } from "@aws-sdk/client-sns";
import { confirmationPageDefinition, credentialRotationDefinition, manualConfirmationDefinition } from "../components/manual/definitions";
import { serverReadPolicy } from "../components/policies";
import { serializeCredential } from "../runtime/credential";
import { createConfirmationApiHandler, HttpApiEvent, HttpApiResult } from "../runtime/manual/confirmation-api";
import { createFanOutHandler } from "../runtime/manual/confirmation-fanout";
import { RotationTally } from "../runtime/manual/rotation-tally";
import { ConfirmationStore } from "../runtime/manual/confirmation-store";
import { createConfirmationTaskHandlers } from "../runtime/manual/confirmation-tasks";
import { createCredentialHandler } from "../runtime/manual/credential-task";
import { createRetireHandler } from "../runtime/manual/retire-task";
import { createServersPageHandler } from "../runtime/manual/servers-page";
import { createStarterHandler, StarterEvent } from "../runtime/manual/starter";
import { SfnBridge } from "../sandbox/sfn-bridge";
import type { Cleanup } from "./cleanup";
import { demoClientConfig, Emulators } from "./emulators";
import { createKeyedTable, createRoleWithPolicy, DemoClients, SharedResources } from "./provision";

/** Demo timings (production defaults in brackets). */
export const MANUAL_DEMO_TIMING = {
    /** old key: stays Active this long after every confirmation before IAM's last-use report decides [24 hours] */
    observationSeconds: 2,
    /** old key: deactivated, then deleted after this [3 days] */
    graceSeconds: 5,
    /** owner reminders [1 day] */
    reminderSeconds: 3600,
    /** how long a link stays valid [14 days] */
    confirmationTimeoutSeconds: 3600,
};

export interface ManualResources {
    sfn: SFNClient;
    parameterName: string;
    ownerTopicArn: string;
    rotationArn: string;
    confirmationArn: string;
    store: ConfirmationStore;
    bridge: SfnBridge;
    /** the confirmation API's Lambda handler (served on localhost by confirm-http.ts) */
    api: (event: HttpApiEvent) => Promise<HttpApiResult>;
    /** the starter Lambda (what EventBridge Scheduler or an operator invokes) */
    start: (event?: StarterEvent) => Promise<{ executionArn: string; name: string }>;
    /** what the Lambdas logged (CloudWatch Logs in AWS) */
    lambdaLog: { msg: string; fields?: object }[];
}

const NAMES = {
    parameter: "/ses-smtp/demo/credential",
    ownerTopic: "ses-smtp-demo-owner-mail",
    confirmationTable: "ses-smtp-demo-confirmations",
    stateMachineRole: "ses-smtp-demo-state-machines",
    serverRole: "ses-smtp-demo-mail-servers",
};

/** Creates the resources and wires the bridge; `confirmationBaseUrl` is where the links point (the local adapter). */
export async function provisionManual(c: DemoClients, emulators: Emulators, shared: SharedResources, cleanup: Cleanup, confirmationBaseUrl: string): Promise<ManualResources> {
    const { ctx } = shared;
    const sfn = new SFNClient(demoClientConfig(emulators));
    const lambdaLog: ManualResources["lambdaLog"] = [];
    const log = (msg: string, fields?: object) => void lambdaLog.push({ msg, fields });
    const fn = (name: string) => `arn:${ctx.partition}:lambda:${ctx.region}:${ctx.accountId}:function:ses-smtp-demo-${name}`;

    await c.ssm.send(new PutParameterCommand({ Name: NAMES.parameter, Type: "SecureString", Value: serializeCredential(shared.initialCredential), Description: "Amazon SES SMTP credential (manual rotation)" }));
    const parameterArn = `arn:${ctx.partition}:ssm:${ctx.region}:${ctx.accountId}:parameter${NAMES.parameter}`;
    shared.policies[NAMES.serverRole] = serverReadPolicy(ctx, { kind: "parameter", parameterArn });
    await createRoleWithPolicy(c.iam, NAMES.serverRole, "ec2.amazonaws.com", shared.policies[NAMES.serverRole]);
    const ownerTopicArn = (await c.sns.send(new CreateTopicCommand({ Name: NAMES.ownerTopic }))).TopicArn!;
    await createKeyedTable(c.dynamodb, NAMES.confirmationTable, "pk");

    const roleArn = `arn:${ctx.partition}:iam::${ctx.accountId}:role/${NAMES.stateMachineRole}`;
    const child = manualConfirmationDefinition({
        requestConfirmationArn: fn("requestConfirmation"),
        remindOwnerArn: fn("remindOwner"),
        reportOutcomeArn: fn("reportOutcome"),
        reminderSeconds: MANUAL_DEMO_TIMING.reminderSeconds,
        confirmationTimeoutSeconds: MANUAL_DEMO_TIMING.confirmationTimeoutSeconds,
        partition: ctx.partition,
    });
    const confirmationArn = (await sfn.send(new CreateStateMachineCommand({ name: "ses-smtp-demo-ManualConfirmation", definition: JSON.stringify(child), roleArn }))).stateMachineArn!;
    const page = confirmationPageDefinition({ listServersPageArn: fn("listServersPage"), startConfirmationArn: fn("startConfirmation"), maxConcurrency: 10, partition: ctx.partition });
    const pageArn = (await sfn.send(new CreateStateMachineCommand({ name: "ses-smtp-demo-ConfirmationPage", definition: JSON.stringify(page), roleArn }))).stateMachineArn!;
    const parent = credentialRotationDefinition({
        createCredentialArn: fn("createCredential"),
        listServersPageArn: fn("listServersPage"),
        startConfirmationArn: fn("startConfirmation"),
        retireOldKeysArn: fn("retireOldKeys"),
        confirmationPageStateMachineArn: pageArn,
        notifyTopicArn: shared.topicArn,
        observationSeconds: MANUAL_DEMO_TIMING.observationSeconds,
        graceSeconds: MANUAL_DEMO_TIMING.graceSeconds,
        confirmationTimeoutSeconds: MANUAL_DEMO_TIMING.confirmationTimeoutSeconds,
        partition: ctx.partition,
    });
    const rotationArn = (await sfn.send(new CreateStateMachineCommand({ name: "ses-smtp-demo-CredentialRotation", definition: JSON.stringify(parent), roleArn }))).stateMachineArn!;

    const store = new ConfirmationStore(c.dynamodb, NAMES.confirmationTable);
    const tally = new RotationTally(c.dynamodb, sfn, NAMES.confirmationTable);
    const tasks = createConfirmationTaskHandlers(
        { store, tally, sfn, sns: c.sns, log },
        { confirmationStateMachineArn: confirmationArn, ownerTopicArn, confirmationBaseUrl, confirmationTimeoutSeconds: MANUAL_DEMO_TIMING.confirmationTimeoutSeconds },
    );
    const bridge = new SfnBridge(emulators.proxy);
    cleanup.add("Step Functions bridge", async () => bridge.dispose());
    bridge
        .register(
            fn("createCredential"),
            createCredentialHandler(
                { iam: c.iam, ssm: c.ssm, log },
                { iamUserName: shared.userName, sesRegion: shared.settings.sesRegion, smtpEndpoint: shared.smtpEndpoint, smtpPort: shared.settings.smtpPort, parameterName: NAMES.parameter },
            ) as (p: any) => Promise<unknown>,
        )
        .register(fn("listServersPage"), createServersPageHandler({ dynamodb: c.dynamodb }, { fleet: { kind: "table", tableName: shared.fleetTableName }, pageSize: 100, ownerEmailTagKey: "OwnerEmail" }) as (p: any) => Promise<unknown>)
        .register(fn("startConfirmation"), createFanOutHandler({ sfn, tally, startConfirmation: tasks.startConfirmation, log }))
        .register(fn("requestConfirmation"), tasks.requestConfirmation as (p: any) => Promise<unknown>)
        .register(fn("remindOwner"), tasks.remindOwner as (p: any) => Promise<unknown>)
        .register(fn("reportOutcome"), tasks.reportOutcome as (p: any) => Promise<unknown>)
        .register(fn("retireOldKeys"), createRetireHandler({ iam: c.iam, ssm: c.ssm, log }, { iamUserName: shared.userName, parameterName: NAMES.parameter }) as (p: any) => Promise<unknown>);

    return {
        sfn,
        parameterName: NAMES.parameter,
        ownerTopicArn,
        rotationArn,
        confirmationArn,
        store,
        bridge,
        api: createConfirmationApiHandler({ store, sfn, log }),
        start: createStarterHandler({ sfn, log }, { stateMachineArn: rotationArn, timeZone: "UTC" }),
        lambdaLog,
    };
}
