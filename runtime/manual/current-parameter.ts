/**
 * Manual mode's {@link CurrentCredentialReader}: the latest version of the SecureString credential parameter
 * names the key in use (see ../current-credential.ts). Its own module so auto-mode code does not reach SSM.
 */
import ssmSdk = require("@aws-sdk/client-ssm");
import type { SSMClient } from "@aws-sdk/client-ssm";
import { parseCredential } from "../credential";
import type { CurrentCredentialReader } from "../current-credential";

/** Manual mode: the latest version of the SecureString parameter (decrypted to read the key id it names). */
export function parameterCredentialReader(ssm: SSMClient, parameterName: string): CurrentCredentialReader {
    if (typeof parameterName !== "string" || !parameterName.startsWith("/")) {
        throw new Error(`parameterCredentialReader: parameterName ${JSON.stringify(parameterName)} must be the credential parameter's name (starting with /)`);
    }
    return {
        description: `parameter ${parameterName} (latest version)`,
        async currentKeyId() {
            try {
                const out = await ssm.send(new ssmSdk.GetParameterCommand({ Name: parameterName, WithDecryption: true }));
                return parseCredential(out.Parameter?.Value)?.username;
            } catch (e) {
                if ((e as { name?: string }).name === "ParameterNotFound") return undefined;
                throw e;
            }
        },
    };
}
