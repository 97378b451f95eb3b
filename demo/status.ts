/**
 * The demo's closing `ses-smtp-rotator status`: the CLI's own status functions (cli/), run against the
 * fleet the demo just rotated, with the demo's clients (moto through the local front).
 */
import { CliClients, createClients } from "../cli/clients";
import { gatherStatus, RotatorStatus } from "../cli/status";
import type { RotatorRef } from "../cli/target";
import { demoClientConfig, Emulators } from "./emulators";
import type { ManualResources } from "./manual-provision";
import { DEMO_BUSINESS_UNIT, SharedResources } from "./provision";

export function demoCliClients(emulators: Emulators): CliClients {
    const { region, endpoint, credentials } = demoClientConfig(emulators);
    return createClients({ region, endpoint, credentials });
}

/** The rotator as its stack outputs would describe it. */
export function demoRotatorRef(shared: SharedResources, store: { secretArn: string } | { manual: ManualResources }): RotatorRef {
    const base = {
        businessUnit: DEMO_BUSINESS_UNIT,
        sesRegion: shared.settings.sesRegion,
        smtpUserName: shared.userName,
        documents: shared.documents,
        fleetTarget: { kind: "table" as const, tableName: shared.fleetTableName },
    };
    if ("secretArn" in store) return { ...base, mode: "auto", secretArn: store.secretArn };
    const m = store.manual;
    return { ...base, mode: "manual", parameterName: m.parameterName, stateMachineArn: m.rotationArn, confirmationStateMachineArn: m.confirmationArn, confirmationTableName: m.store.tableName };
}

export function demoStatus(emulators: Emulators, ref: RotatorRef): Promise<RotatorStatus> {
    return gatherStatus(demoCliClients(emulators), ref);
}
