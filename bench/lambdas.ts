/**
 * The project's Lambdas as their components build them: the `callbackFactory` each CallbackFunction
 * serializes and the `codePathOptions` it passes (`lambdaCodePathOptions({ entries })` with its runtime modules: the
 * rotation Lambda ships nodemailer's SMTP client, the retirement and manual-mode Lambdas reach only the AWS SDK), plus
 * environment variables that let the factory run at init. Each entry is loaded lazily so a missing piece shows as an error row, not a crash.
 */
import type { LambdaUnderTest } from "./bundle";

/**
 * Environment the factories read at init: placeholders of the right shape (the cold-init probe only loads the
 * handler; it calls nothing). One superset serves every function.
 */
const LAMBDA_ENV: Record<string, string> = {
    IAM_USER_NAME: "ses-smtp-bench",
    SES_REGION: "eu-west-1",
    FLEET_TARGET: JSON.stringify({ kind: "tag", tagKey: "MailFleet", tagValue: "bench", softwareTagKey: "SmtpSoftware" }),
    POSTFIX_DOCUMENT: "bench-postfix",
    IIS_DOCUMENT: "bench-iis",
    RETIRE_OBSERVATION_HOURS: "24",
    RETIRE_GRACE_DAYS: "7",
    SECRET_ARN: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:bench-smtp-AbCdEf",
    PARAMETER_NAME: "/ses-smtp/bench/credential",
    CONFIRMATION_TABLE: "bench-confirmations",
    CONFIRMATION_STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:bench-confirmation",
    STATE_MACHINE_ARN: "arn:aws:states:eu-west-1:123456789012:stateMachine:bench-rotation",
};

type Entry = LambdaUnderTest | { name: string; error: string };

/** Every Lambda the components create (auto mode: rotation + retirement; manual mode: nine), or an error naming what could not be loaded. */
export function projectLambdas(): Entry[] {
    const out: Entry[] = [];
    const add = (name: string, load: () => Omit<LambdaUnderTest, "name" | "env">) => {
        try {
            out.push({ name, env: LAMBDA_ENV, ...load() });
        } catch (e) {
            out.push({ name, error: `not loadable: ${(e as Error).message.split("\n")[0]}` });
        }
    };
    const codePathOptions = (kind: "rotation" | "retirement" | "manual") => {
        const rl = require("../components/rotation-lambda");
        return rl.lambdaCodePathOptions({ entries: rl.LAMBDA_RUNTIME_ENTRIES[kind] });
    };
    add("auto: rotation", () => ({ factory: require("../components/rotation-lambda").rotationLambdaFactory, codePathOptions: codePathOptions("rotation") }));
    add("auto: retirement", () => ({ factory: require("../components/providers/retirement-lambda").retirementLambdaFactory, codePathOptions: codePathOptions("retirement") }));
    const manual = [
        ["createCredential", "createCredentialFactory"],
        ["listServersPage", "listServersPageFactory"],
        ["startConfirmation", "startConfirmationFactory"],
        ["requestConfirmation", "requestConfirmationFactory"],
        ["remindOwner", "remindOwnerFactory"],
        ["reportOutcome", "reportOutcomeFactory"],
        ["retireOldKeys", "retireOldKeysFactory"],
        ["confirmationApi", "confirmationApiFactory"],
        ["starter", "starterFactory"],
    ];
    for (const [key, factory] of manual) {
        add(`manual: ${key}`, () => {
            const f = require("../components/manual/lambdas")[factory];
            if (typeof f !== "function") throw new Error(`components/manual/lambdas.ts exports no ${factory}`);
            return { factory: f, codePathOptions: codePathOptions("manual") };
        });
    }
    return out;
}
