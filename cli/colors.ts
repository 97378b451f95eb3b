/**
 * The CLI's colours: on a terminal only (FORCE_COLOR forces them, NO_COLOR turns them off). picocolors' own default
 * also colours whenever a `CI` variable is set, which would put escape codes into piped output and `--json` users'
 * logs; output to a pipe or file stays plain text here.
 */
import picocolors = require("picocolors");

export const colors = picocolors.createColors(!process.env.NO_COLOR && (Boolean(process.env.FORCE_COLOR) || Boolean(process.stdout.isTTY)));
