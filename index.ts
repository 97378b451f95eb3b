/**
 * The Pulumi program: one business unit per stack. Reads the stack config (see Pulumi.yaml for every key),
 * builds the unit's EmailServerFleet and SmtpCredentialRotator, and exports references only (no secrets).
 * Library users import the components from the package instead (components/index.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import { readStackConfig } from "./components/config";
import { EmailServerFleet } from "./components/fleet";
import { SmtpCredentialRotator } from "./components/rotator";

const config = new pulumi.Config();
const stack = readStackConfig((key) => config.get(key), config.name);

// After a rename (stack config renamedFrom = the old business unit) the components keep their resources: the
// aliases carry over to every child, whose logical names start with the component's name.
const renamed = (old: string) => (stack.renamedFrom ? { aliases: [{ name: old }] } : undefined);
const fleet = new EmailServerFleet(`${stack.businessUnit}-fleet`, stack.fleetArgs, renamed(`${stack.renamedFrom}-fleet`));
const rotator = new SmtpCredentialRotator(stack.businessUnit, { ...stack.rotatorArgs, fleet }, renamed(`${stack.renamedFrom}`));

export const businessUnit = stack.businessUnit;
export const mode = stack.rotator.mode;
export const sesRegion = stack.rotator.sesRegion;
export const smtpUserName = rotator.userName;
export const alertTopicArn = rotator.topicArn;
export const postfixDocumentName = rotator.postfixDocumentName;
export const iisDocumentName = rotator.iisDocumentName;
export const credentialStore = rotator.credentialStore;
export const secretArn = rotator.secretArn;
export const rotationFunctionName = rotator.rotationFunctionName;
export const fleetTarget = fleet.target;
export const fleetTableName = fleet.tableName;
export const serverReadPolicy = rotator.serverReadPolicy;
export const rotation = rotator.modeOutputs;
/** the first credential's access key id (references only: no secret is ever an output) */
export const firstAccessKeyId = rotator.firstAccessKeyId;
/** held old-key retirements: release one with `pulumi config set retirementOverrideKeyId <id>` + `pulumi up` */
export const retirementHeldKeyIds = rotator.retirementHeldKeyIds;
export const retirementHeldKeyId = rotator.retirementHeldKeyId;
export const retirementHeldEvidence = rotator.retirementHeldEvidence;
export const retirements = rotator.retirements;
/** what the last `rotateNow` change started */
export const rotateNowStarted = rotator.rotateNowStarted;
