/**
 * The project's Lambdas as their components build them: the `callbackFactory` each CallbackFunction
 * serializes, the `codePathOptions` it passes, and environment variables that let the factory run at init.
 * Each entry is loaded lazily so a missing piece shows as an error row rather than stopping the bench.
 */
import type { LambdaUnderTest } from "./bundle";

/** Environment a rotation Lambda reads at init (values are placeholders of the right shape, not real resources). */
const ROTATION_ENV: Record<string, string> = {
    IAM_USER_NAME: "ses-smtp-bench",
    SES_REGION: "eu-west-1",
    FLEET_TARGET: JSON.stringify({ kind: "tag", tagKey: "MailFleet", tagValue: "bench", softwareTagKey: "SmtpSoftware" }),
    POSTFIX_DOCUMENT: "bench-postfix",
    IIS_DOCUMENT: "bench-iis",
};

/** Every Lambda the components create, or an error naming what could not be loaded. */
export function projectLambdas(): (LambdaUnderTest | { name: string; error: string })[] {
    const out: (LambdaUnderTest | { name: string; error: string })[] = [];
    const add = (name: string, load: () => LambdaUnderTest) => {
        try {
            out.push(load());
        } catch (e) {
            out.push({ name, error: `not loadable: ${(e as Error).message.split("\n")[0]}` });
        }
    };
    add("auto-rotation", () => {
        const m = require("../components/rotation-lambda");
        return { name: "auto-rotation", factory: m.rotationLambdaFactory, codePathOptions: m.rotationCodePathOptions(), env: ROTATION_ENV };
    });
    // For comparison only: the same rotation handler shipping just nodemailer's CommonJS build (the package
    // also carries an ESM copy and docs the Lambda never loads). Not what the component ships.
    add("auto-rotation, nodemailer dist/cjs only (alternative)", () => {
        const m = require("../components/rotation-lambda");
        const base = m.rotationCodePathOptions();
        return {
            name: "auto-rotation, nodemailer dist/cjs only (alternative)",
            informational: true,
            factory: m.rotationLambdaFactory,
            codePathOptions: {
                extraExcludePackages: [...base.extraExcludePackages, "nodemailer"],
                extraIncludePaths: ["node_modules/nodemailer/package.json", "node_modules/nodemailer/dist/cjs"],
            },
            env: ROTATION_ENV,
        };
    });
    return out;
}
