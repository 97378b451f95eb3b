#!/bin/bash
# Replaces the Amazon SES SMTP credential Postfix uses for its relay host, from a credential reference; or, with
# Mode=check, changes nothing and reports whether such an update would succeed.
#
# Run by the SSM Agent (aws:runShellScript) as root. The parameter placeholders are substituted by the agent
# with values that already matched the document's allowedPattern; they sit inside single quotes and are
# validated again below. The password never is a parameter, an argument of any process (visible in `ps`), or
# output: it is fetched here with the aws CLI, kept in shell variables, and written with the printf builtin to
# a mode 0600 file.
#
# Steps: check prerequisites -> fetch the credential by reference -> refuse unless relayhost is the SES SMTP
# endpoint of the credential's region (or the endpoint the credential names: the rotator's smtpEndpoint, e.g. a
# VPC endpoint) and TLS is enforced -> write sasl_passwd atomically (temp file in the same directory, postmap'd,
# renamed) keeping the relay host key exactly as `postconf -h relayhost` says -> postfix reload -> verify ->
# print `SES-ROTATOR-RESULT: updated`. On any failure after the first change, the previous sasl_passwd and its
# map are put back and the script exits non-zero. No copy of the old file is kept on disk at any time (the
# previous content is held in memory only). Safe to run again.
#
# Every check prints `SES-ROTATOR-CHECK: <name> ok|fail <detail>` (contract: runtime/server-report.ts). Mode=check
# also tries the password map's directory and postmap on a temp file of its own (never the real map), then
# prints `SES-ROTATOR-RESULT: check-passed` (exit 0) or `check-failed` (exit 1); it writes nothing else.
#
# SES_ROTATOR_POSTFIX_CONFIG_DIR (not set by the SSM Agent) selects another Postfix instance's
# configuration directory (postconf -c / postfix -c); default /etc/postfix.
set +x
if [ -z "${BASH_VERSION:-}" ]; then echo "update-smtp-credentials: ERROR: this script needs bash" >&2; exit 1; fi
set -euo pipefail
umask 077

CREDENTIAL_SOURCE='{{ CredentialSource }}'
CREDENTIAL_ID='{{ CredentialId }}'
CREDENTIAL_VERSION='{{ CredentialVersion }}'
CREDENTIAL_REGION='{{ Region }}'
MODE='{{ Mode }}'
CONFIG_DIR="${SES_ROTATOR_POSTFIX_CONFIG_DIR:-/etc/postfix}"

PROG="update-smtp-credentials"
RESULT_MARKER="SES-ROTATOR-RESULT:"
CHECK_MARKER="SES-ROTATOR-CHECK:"
log() { printf '%s: %s\n' "$PROG" "$*"; }
fail() { printf '%s: ERROR: %s\n' "$PROG" "$*" >&2; exit 1; }

# ---- parameters, validated again (defence in depth: the same rules as the document's allowedPattern) ----
case "$MODE" in
    update | check) ;;
    *) fail "parameter Mode must be update or check" ;;
esac
case "$CREDENTIAL_SOURCE" in
    SecretsManager | ParameterStore) ;;
    *) fail "parameter CredentialSource must be SecretsManager or ParameterStore" ;;
esac
if ! [[ "$CREDENTIAL_REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{1,16}-[0-9]{1,2}$ ]]; then
    fail "parameter Region is not an AWS region"
fi
if ! [[ "$CREDENTIAL_VERSION" =~ ^([A-Za-z0-9][A-Za-z0-9-]{31,63}|[1-9][0-9]{0,9})$ ]]; then
    fail "parameter CredentialVersion must be a secret version id or a parameter version number"
fi
if [ "$CREDENTIAL_SOURCE" = SecretsManager ]; then
    [[ "$CREDENTIAL_ID" =~ ^arn:aws(-[a-z]{1,8}){0,3}:secretsmanager:[a-z0-9-]{1,32}:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}$ ]] \
        || fail "parameter CredentialId must be a Secrets Manager secret ARN when CredentialSource is SecretsManager"
    [[ "$CREDENTIAL_VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9-]{31,63}$ ]] \
        || fail "parameter CredentialVersion must be a secret version id when CredentialSource is SecretsManager"
else
    [[ "$CREDENTIAL_ID" =~ ^(arn:aws(-[a-z]{1,8}){0,3}:ssm:[a-z0-9-]{1,32}:[0-9]{12}:parameter)?[A-Za-z0-9_./][A-Za-z0-9_./-]{0,1010}$ ]] \
        || fail "parameter CredentialId must be a parameter name or ARN when CredentialSource is ParameterStore"
    [[ "$CREDENTIAL_VERSION" =~ ^[1-9][0-9]{0,9}$ ]] \
        || fail "parameter CredentialVersion must be a parameter version number when CredentialSource is ParameterStore"
fi
if ! [[ "$CONFIG_DIR" =~ ^/[A-Za-z0-9_./-]{0,255}$ ]] || [ ! -d "$CONFIG_DIR" ]; then
    fail "Postfix configuration directory '$CONFIG_DIR' does not exist or is not a plain absolute path"
fi

# check NAME ok|fail DETAIL: one marker line per check. In update mode a failed check stops the script before
# anything changed; in check mode every check is reported and finish_check prints the result.
CHECK_FAILED=no
check() {
    printf '%s %s %s %s\n' "$CHECK_MARKER" "$1" "$2" "$3"
    if [ "$2" = fail ]; then
        CHECK_FAILED=yes
        [ "$MODE" = check ] || fail "$1: $3"
    fi
}
finish_check() {
    if [ "$CHECK_FAILED" = yes ]; then printf '%s check-failed\n' "$RESULT_MARKER"; exit 1; fi
    printf '%s check-passed\n' "$RESULT_MARKER"
    exit 0
}

# ---- prerequisites ----
for tool in postconf postmap postfix aws; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        check tools fail "prerequisite missing: '$tool' is not installed or not on PATH"
        finish_check
    fi
done
check tools ok "postconf, postmap, postfix and aws found"
settings() { # the main.cf values this script needs, one postconf call each
    RELAYHOST="$(postconf -c "$CONFIG_DIR" -h relayhost)" \
        && MAPS="$(postconf -c "$CONFIG_DIR" -h smtp_sasl_password_maps)" \
        && SASL_ENABLED="$(postconf -c "$CONFIG_DIR" -h smtp_sasl_auth_enable)" \
        && TLS_LEVEL="$(postconf -c "$CONFIG_DIR" -h smtp_tls_security_level)" \
        && TLS_WRAPPER="$(postconf -c "$CONFIG_DIR" -h smtp_tls_wrappermode)" \
        && TLS_ENFORCE_LEGACY="$(postconf -c "$CONFIG_DIR" -h smtp_enforce_tls)"
}
if ! settings; then
    check config fail "postconf cannot read $CONFIG_DIR/main.cf"
    finish_check
fi

# relayhost: [host]:port, host:port, [host] or host (port 25 when absent; a service name maps to its port)
RELAY_NAME=""
RELAY_PORT=""
if [[ "$RELAYHOST" =~ ^\[([A-Za-z0-9.:-]{1,253})\](:([A-Za-z0-9]{1,16}))?$ ]] || [[ "$RELAYHOST" =~ ^([A-Za-z0-9.-]{1,253})(:([A-Za-z0-9]{1,16}))?$ ]]; then
    RELAY_NAME="${BASH_REMATCH[1],,}"
    RELAY_PORT="${BASH_REMATCH[3]:-25}"
    case "$RELAY_PORT" in smtp) RELAY_PORT=25 ;; submission) RELAY_PORT=587 ;; smtps | submissions) RELAY_PORT=465 ;; esac
fi

# TLS is enforced when the security level makes TLS mandatory (or, with the level unset, the legacy
# smtp_enforce_tls = yes), or for implicit TLS on port 465 (smtp_tls_wrappermode = yes).
TLS_EFFECTIVE="$TLS_LEVEL"
if [ -z "$TLS_EFFECTIVE" ] && [ "$TLS_ENFORCE_LEGACY" = yes ]; then TLS_EFFECTIVE=encrypt; fi
case "$TLS_EFFECTIVE" in
    encrypt | verify | secure | fingerprint | dane-only) check tls ok "smtp_tls_security_level = $TLS_EFFECTIVE" ;;
    *)
        if [ "$TLS_WRAPPER" = yes ] && [ "$RELAY_PORT" = 465 ]; then
            check tls ok "smtp_tls_wrappermode = yes (implicit TLS on port 465)"
        else
            check tls fail "TLS is not enforced for the relay host: smtp_tls_security_level is '${TLS_LEVEL}' (needs encrypt, verify or secure; or smtp_tls_wrappermode = yes with port 465); refusing to send the SES password over a connection that may be plain text"
        fi
        ;;
esac

# ---- fetch the credential by reference (the value goes from the aws CLI's stdout into a variable) ----
FETCH_PROBLEM=""
if [ "$CREDENTIAL_SOURCE" = SecretsManager ]; then
    VALUE="$(aws --region "$CREDENTIAL_REGION" secretsmanager get-secret-value --secret-id="$CREDENTIAL_ID" \
        --version-id="$CREDENTIAL_VERSION" --query SecretString --output text)" \
        || FETCH_PROBLEM="could not read secret $CREDENTIAL_ID version $CREDENTIAL_VERSION (see the aws CLI error above)"
else
    VALUE="$(aws --region "$CREDENTIAL_REGION" ssm get-parameter --name="$CREDENTIAL_ID:$CREDENTIAL_VERSION" \
        --with-decryption --query Parameter.Value --output text)" \
        || FETCH_PROBLEM="could not read parameter $CREDENTIAL_ID version $CREDENTIAL_VERSION (see the aws CLI error above)"
fi
json_field() { # json_field NAME: a string field of the flat JSON credential (bash only: no process sees it)
    local re="\"$1\"[[:space:]]*:[[:space:]]*\"([^\"]*)\""
    if [[ "$VALUE" =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]//\\\//\/}"; fi
}
SMTP_USERNAME="$(json_field username)"
SMTP_PASSWORD="$(json_field password)"
SMTP_ENDPOINT="$(json_field endpoint)"
SMTP_REGION="$(json_field region)"
unset VALUE
if [ -z "$FETCH_PROBLEM" ]; then
    [[ "$SMTP_USERNAME" =~ ^AKIA[A-Z0-9]{12,124}$ ]] || FETCH_PROBLEM="the credential's username is not an IAM access key id (AKIA...)"
fi
if [ -z "$FETCH_PROBLEM" ]; then
    [[ "$SMTP_PASSWORD" =~ ^[A-Za-z0-9+/=]{20,128}$ ]] || FETCH_PROBLEM="the credential's password is missing or not an SES SMTP password"
fi
if [ -z "$FETCH_PROBLEM" ] && ! [[ "$SMTP_REGION" =~ ^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{1,16}-[0-9]{1,2}$ ]]; then
    FETCH_PROBLEM="the credential's region is not an AWS region"
fi

# ---- the relay host must be SES: the SMTP endpoint of the credential's region (FIPS too), or the endpoint the
# credential itself names (the rotator's smtpEndpoint, where it proved the password; e.g. a VPC endpoint) ----
if [ -n "$FETCH_PROBLEM" ]; then
    check fetch fail "$FETCH_PROBLEM"
    check relayhost fail "not compared: the credential (and so its SES region) could not be read"
else
    check fetch ok "read $CREDENTIAL_SOURCE $CREDENTIAL_ID version $CREDENTIAL_VERSION: user $SMTP_USERNAME, SES region $SMTP_REGION"
    case "$SMTP_REGION" in cn-*) SES_DOMAIN=amazonaws.com.cn ;; *) SES_DOMAIN=amazonaws.com ;; esac
    ALLOWED_RELAYS="email-smtp.$SMTP_REGION.$SES_DOMAIN email-smtp-fips.$SMTP_REGION.$SES_DOMAIN"
    if [[ "$SMTP_ENDPOINT" =~ ^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$ ]]; then ALLOWED_RELAYS+=" ${SMTP_ENDPOINT,,}"; fi
    if [ -z "$RELAYHOST" ]; then
        check relayhost fail "relayhost is not set in $CONFIG_DIR/main.cf: configure the SES relay host first"
    elif [ -z "$RELAY_NAME" ]; then
        check relayhost fail "relayhost '$RELAYHOST' is not a single host[:port] entry"
    elif [[ " $ALLOWED_RELAYS " == *" $RELAY_NAME "* ]]; then
        check relayhost ok "relay host $RELAY_NAME port $RELAY_PORT is the SES SMTP endpoint of the credential"
    else
        check relayhost fail "relay host '$RELAY_NAME' is not the SES SMTP endpoint of the credential's region $SMTP_REGION (allowed: ${ALLOWED_RELAYS// /, }); refusing to install the SES credential for another host"
    fi
fi

# ---- the password map ----
MAP_PROBLEM=""
MAP_TYPE=""
MAP_FILE=""
MAP_SUFFIX=.db
MAP_DIR=""
if [[ "$MAPS" =~ ^(hash|btree|lmdb):(/[A-Za-z0-9_./-]+)$ ]]; then
    MAP_TYPE="${BASH_REMATCH[1]}"
    MAP_FILE="${BASH_REMATCH[2]}"
    if [ "$MAP_TYPE" = lmdb ]; then MAP_SUFFIX=.lmdb; fi
    MAP_DIR="$(dirname "$MAP_FILE")"
    if [ ! -d "$MAP_DIR" ]; then
        MAP_PROBLEM="the directory of smtp_sasl_password_maps ($MAP_DIR) does not exist"
    elif [ -L "$MAP_FILE" ]; then
        MAP_PROBLEM="$MAP_FILE is a symbolic link; refusing to replace it"
    fi
else
    MAP_PROBLEM="smtp_sasl_password_maps must be one hash:, btree: or lmdb: file with an absolute path (it is '$MAPS')"
fi
if [ -n "$MAP_PROBLEM" ]; then check map fail "$MAP_PROBLEM"; else check map ok "$MAP_TYPE:$MAP_FILE"; fi
if [ "$SASL_ENABLED" = yes ]; then
    check sasl ok "smtp_sasl_auth_enable = yes"
elif [ "$MODE" = check ]; then
    check sasl fail "smtp_sasl_auth_enable is not 'yes' in $CONFIG_DIR/main.cf: Postfix will not use the credential"
else
    log "warning: smtp_sasl_auth_enable is not 'yes' in $CONFIG_DIR/main.cf; Postfix will not use the credential"
fi

# ---- check mode: try the map's directory and postmap on a temp file of our own, then report; nothing else ----
if [ "$MODE" = check ]; then
    SMTP_PASSWORD=""
    CHECK_TMP=""
    trap 'if [ -n "$CHECK_TMP" ]; then rm -f -- "$CHECK_TMP" "$CHECK_TMP$MAP_SUFFIX"; fi' EXIT
    if [ -n "$MAP_PROBLEM" ]; then
        check map-writable fail "not tried: $MAP_PROBLEM"
        check postmap fail "not tried: $MAP_PROBLEM"
    elif ! CHECK_TMP="$(mktemp "$MAP_DIR/.sasl_passwd.check.XXXXXX" 2>/dev/null)"; then
        CHECK_TMP=""
        check map-writable fail "cannot create a file in $MAP_DIR"
        check postmap fail "not tried: $MAP_DIR is not writable"
    else
        check map-writable ok "$MAP_DIR"
        # A dummy entry, never a credential: a check copies no secret to disk.
        if printf 'ses-rotator-check ses-rotator-check\n' >"$CHECK_TMP" && postmap -c "$CONFIG_DIR" "$MAP_TYPE:$CHECK_TMP" 2>/dev/null \
            && [ "$(postmap -c "$CONFIG_DIR" -q ses-rotator-check "$MAP_TYPE:$CHECK_TMP" 2>/dev/null)" = ses-rotator-check ]; then
            check postmap ok "postmap $MAP_TYPE builds and reads a map in $MAP_DIR"
        else
            check postmap fail "postmap $MAP_TYPE could not build or read a map in $MAP_DIR"
        fi
        rm -f -- "$CHECK_TMP" "$CHECK_TMP$MAP_SUFFIX"
        CHECK_TMP=""
    fi
    finish_check
fi

# One update at a time per map; then remove stale temp files of an interrupted earlier run (they may hold a
# credential).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$MAP_DIR/.sasl_passwd.lock"
    flock -w 60 9 || fail "another credential update holds $MAP_DIR/.sasl_passwd.lock"
fi
rm -f -- "$MAP_DIR"/.sasl_passwd.rotate.* "$MAP_DIR"/.sasl_passwd.check.*

# ---- remember the current file in memory, then replace it atomically ----
HAD_PREVIOUS=no
PREVIOUS=""
if [ -e "$MAP_FILE" ]; then
    HAD_PREVIOUS=yes
    PREVIOUS="$(cat -- "$MAP_FILE"; printf x)" || fail "cannot read $MAP_FILE"
    PREVIOUS="${PREVIOUS%x}"
fi
TMP_FILE=""
CHANGED=no
DONE=no

# install_map CONTENT: writes CONTENT to a temp file next to the map, builds its map, renames both into place
# (map first: it is what Postfix reads). Every step is checked explicitly: `set -e` does not apply inside a
# function called from `||`.
install_map() {
    TMP_FILE="$(mktemp "$MAP_DIR/.sasl_passwd.rotate.XXXXXX")" || return 1
    if printf '%s' "$1" >"$TMP_FILE" && chmod 0600 "$TMP_FILE" && postmap -c "$CONFIG_DIR" "$MAP_TYPE:$TMP_FILE" \
        && chmod 0600 "$TMP_FILE$MAP_SUFFIX"; then
        CHANGED=yes
        if mv -f -- "$TMP_FILE$MAP_SUFFIX" "$MAP_FILE$MAP_SUFFIX" && mv -f -- "$TMP_FILE" "$MAP_FILE"; then
            TMP_FILE=""
            return 0
        fi
    fi
    rm -f -- "$TMP_FILE" "$TMP_FILE$MAP_SUFFIX"
    TMP_FILE=""
    return 1
}

cleanup() {
    local status=$?
    set +e
    if [ -n "$TMP_FILE" ]; then rm -f -- "$TMP_FILE" "$TMP_FILE$MAP_SUFFIX"; fi
    if [ "$DONE" != yes ] && [ "$CHANGED" = yes ]; then
        printf '%s: restoring the previous credential file %s\n' "$PROG" "$MAP_FILE" >&2
        if [ "$HAD_PREVIOUS" = yes ]; then
            (install_map "$PREVIOUS") || printf '%s: ERROR: could not restore %s\n' "$PROG" "$MAP_FILE" >&2
        else
            rm -f -- "$MAP_FILE" "$MAP_FILE$MAP_SUFFIX"
        fi
        if postfix -c "$CONFIG_DIR" status >/dev/null 2>&1; then postfix -c "$CONFIG_DIR" reload >/dev/null 2>&1; fi
    fi
    PREVIOUS=""
    SMTP_PASSWORD=""
    if [ "$DONE" != yes ] && [ "$status" -eq 0 ]; then status=1; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# Keep every other line (other relay hosts) as it is; replace the line whose key is exactly $RELAYHOST.
# (Split in the shell itself: a here-string could spill the old file into a temp file.)
NEW_CONTENT=""
REST="$PREVIOUS"
while [ -n "$REST" ]; do
    line="${REST%%$'\n'*}"
    if [ "$line" = "$REST" ]; then REST=""; else REST="${REST#*$'\n'}"; fi
    key="${line%%[[:space:]]*}"
    if [ "$key" != "$RELAYHOST" ]; then NEW_CONTENT+="$line"$'\n'; fi
done
NEW_CONTENT+="$RELAYHOST $SMTP_USERNAME:$SMTP_PASSWORD"$'\n'

install_map "$NEW_CONTENT" || fail "could not write $MAP_FILE (postmap $MAP_TYPE failed)"
NEW_CONTENT=""

# ---- reload and verify ----
if postfix -c "$CONFIG_DIR" status >/dev/null 2>&1; then
    postfix -c "$CONFIG_DIR" reload >/dev/null 2>&1 || fail "postfix reload failed"
    RELOADED=yes
else
    RELOADED="no (Postfix is not running; it reads the new map when it starts)"
fi
LOOKUP="$(postmap -c "$CONFIG_DIR" -q "$RELAYHOST" "$MAP_TYPE:$MAP_FILE")" || fail "postmap -q cannot find $RELAYHOST in $MAP_FILE after the update"
[ "$LOOKUP" = "$SMTP_USERNAME:$SMTP_PASSWORD" ] || fail "the map does not hold the new credential for $RELAYHOST after the update"
LOOKUP=""
DONE=yes
log "updated $MAP_FILE for relay host $RELAYHOST: user $SMTP_USERNAME from $CREDENTIAL_SOURCE $CREDENTIAL_ID version $CREDENTIAL_VERSION; reloaded: $RELOADED"
printf '%s updated\n' "$RESULT_MARKER"
