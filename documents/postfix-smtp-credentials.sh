#!/bin/bash
# Replaces the Amazon SES SMTP credential Postfix uses for its relay host, from a credential reference.
#
# Run by the SSM Agent (aws:runShellScript) as root. The four parameter placeholders are substituted by
# the agent with values that already matched the document's allowedPattern; they sit inside single quotes
# and are validated again below. The password never is a parameter, an argument of any process (visible
# in `ps`), or output: it is fetched here with the aws CLI, kept in shell variables, and written with the
# printf builtin to a mode 0600 file.
#
# Steps: check prerequisites -> fetch the credential by reference -> write sasl_passwd atomically (temp
# file in the same directory, postmap'd, renamed) keeping the relay host key exactly as `postconf -h
# relayhost` says -> postfix reload -> verify. On any failure after the first change, the previous
# sasl_passwd and its map are put back and the script exits non-zero. No copy of the old file is kept on
# disk at any time (the previous content is held in memory only). Safe to run again.
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
CONFIG_DIR="${SES_ROTATOR_POSTFIX_CONFIG_DIR:-/etc/postfix}"

PROG="update-smtp-credentials"
log() { printf '%s: %s\n' "$PROG" "$*"; }
fail() { printf '%s: ERROR: %s\n' "$PROG" "$*" >&2; exit 1; }

# ---- parameters, validated again (defence in depth: the same rules as the document's allowedPattern) ----
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

# ---- prerequisites ----
for tool in postconf postmap postfix aws; do
    command -v "$tool" >/dev/null 2>&1 || fail "prerequisite missing: '$tool' is not installed or not on PATH"
done
RELAYHOST="$(postconf -c "$CONFIG_DIR" -h relayhost)" || fail "postconf cannot read $CONFIG_DIR/main.cf"
[ -n "$RELAYHOST" ] || fail "relayhost is not set in $CONFIG_DIR/main.cf: configure the SES relay host first"
[[ "$RELAYHOST" =~ ^[][A-Za-z0-9.:-]+$ ]] || fail "relayhost '$RELAYHOST' is not a single host[:port] entry"
MAPS="$(postconf -c "$CONFIG_DIR" -h smtp_sasl_password_maps)"
if ! [[ "$MAPS" =~ ^(hash|btree|lmdb):(/[A-Za-z0-9_./-]+)$ ]]; then
    fail "smtp_sasl_password_maps must be one hash:, btree: or lmdb: file with an absolute path (it is '$MAPS')"
fi
MAP_TYPE="${BASH_REMATCH[1]}"
MAP_FILE="${BASH_REMATCH[2]}"
case "$MAP_TYPE" in lmdb) MAP_SUFFIX=.lmdb ;; *) MAP_SUFFIX=.db ;; esac
MAP_DIR="$(dirname "$MAP_FILE")"
[ -d "$MAP_DIR" ] || fail "the directory of smtp_sasl_password_maps ($MAP_DIR) does not exist"
[ ! -L "$MAP_FILE" ] || fail "$MAP_FILE is a symbolic link; refusing to replace it"
if [ "$(postconf -c "$CONFIG_DIR" -h smtp_sasl_auth_enable)" != yes ]; then
    log "warning: smtp_sasl_auth_enable is not 'yes' in $CONFIG_DIR/main.cf; Postfix will not use the credential"
fi

# ---- fetch the credential by reference (the value goes from the aws CLI's stdout into a variable) ----
if [ "$CREDENTIAL_SOURCE" = SecretsManager ]; then
    VALUE="$(aws --region "$CREDENTIAL_REGION" secretsmanager get-secret-value --secret-id="$CREDENTIAL_ID" \
        --version-id="$CREDENTIAL_VERSION" --query SecretString --output text)" \
        || fail "could not read secret $CREDENTIAL_ID version $CREDENTIAL_VERSION (see the aws CLI error above)"
else
    VALUE="$(aws --region "$CREDENTIAL_REGION" ssm get-parameter --name="$CREDENTIAL_ID:$CREDENTIAL_VERSION" \
        --with-decryption --query Parameter.Value --output text)" \
        || fail "could not read parameter $CREDENTIAL_ID version $CREDENTIAL_VERSION (see the aws CLI error above)"
fi
json_field() { # json_field NAME: a string field of the flat JSON credential (bash only: no process sees it)
    local re="\"$1\"[[:space:]]*:[[:space:]]*\"([^\"]*)\""
    if [[ "$VALUE" =~ $re ]]; then printf '%s' "${BASH_REMATCH[1]//\\\//\/}"; fi
}
SMTP_USERNAME="$(json_field username)"
SMTP_PASSWORD="$(json_field password)"
unset VALUE
[[ "$SMTP_USERNAME" =~ ^AKIA[A-Z0-9]{12,124}$ ]] || fail "the credential's username is not an IAM access key id (AKIA...)"
[[ "$SMTP_PASSWORD" =~ ^[A-Za-z0-9+/=]{20,128}$ ]] || fail "the credential's password is missing or not an SES SMTP password"

# One update at a time per map; then remove stale temp files of an interrupted earlier run (they may hold a
# credential).
if command -v flock >/dev/null 2>&1; then
    exec 9>"$MAP_DIR/.sasl_passwd.lock"
    flock -w 60 9 || fail "another credential update holds $MAP_DIR/.sasl_passwd.lock"
fi
rm -f -- "$MAP_DIR"/.sasl_passwd.rotate.*

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
