/**
 * The resource options (ignoreChanges, protect, retainOnDelete) of every registration the Pulumi mock monitor
 * receives, by URN: what the real engine would act on. Import after `./pulumi-mocks` (which installs the mocks);
 * the monitor is wrapped once per process.
 */
import * as pulumi from "@pulumi/pulumi";
import * as assert from "assert";
import type { RecordedResource } from "./pulumi-mocks";

export interface RegistrationOptions {
    ignoreChanges: string[];
    protect: boolean;
    retainOnDelete: boolean;
    /** alias specs / URNs as sent (protobuf `toObject()` form) */
    aliases: unknown[];
}

const optionsByUrn = new Map<string, RegistrationOptions>();
const monitor = pulumi.runtime.getMonitor() as any;
const registerResource = monitor.registerResource.bind(monitor);
monitor.registerResource = (req: any, callback: (err: any, resp: any) => void) =>
    registerResource(req, (err: any, resp: any) => {
        if (!err && resp) {
            optionsByUrn.set(resp.getUrn(), {
                ignoreChanges: req.getIgnorechangesList(),
                protect: req.getProtect() === true,
                retainOnDelete: req.getRetainondelete() === true,
                aliases: [...req.getAliasesList().map((a: any) => a.toObject()), ...req.getAliasurnsList()],
            });
        }
        callback(err, resp);
    });

/** The options the resource was registered with. */
export function optionsOf(r: RecordedResource): RegistrationOptions {
    const o = optionsByUrn.get(r.urn);
    assert.ok(o, `${r.name}: registration options recorded`);
    return o;
}
