# Replaces the Amazon SES SMTP credential that the IIS 6 SMTP virtual server(s) use for their smart host; or,
# with Mode=check, changes nothing and reports whether such an update would succeed.
#
# Run by the SSM Agent (aws:runPowerShellScript) as SYSTEM. The parameter placeholders are substituted by the
# agent with values that already matched the document's allowedPattern; they sit inside single quotes and are
# validated again below. The password never is a parameter or output: it is read here by reference with AWS
# Tools for PowerShell, kept in variables, and written only into the metabase (RoutePassword, a SECURE metabase
# property). The secret text never passes through a cmdlet (no pipeline, no cmdlet argument): PowerShell Module
# Logging (event 4103) records cmdlet parameter bindings and pipeline input, so the JSON is read with .NET
# regular expressions and plain property access only.
#
# For every SMTP virtual server (IIS://localhost/SMTPSVC/<n>) with a smart host and outbound Basic
# authentication already configured (RouteAction bit SMTP_AUTH_CLEARTEXT): refuse unless TLS is enforced for the
# smart host (AlwaysUseSsl, or RouteAction bit SMTP_SSL) and the smart host is the SES SMTP endpoint of the
# credential's region (or the endpoint the credential names: the rotator's smtpEndpoint, e.g. a VPC endpoint); remember
# RouteUserName AND RoutePassword in memory (a virtual server whose password cannot be read is refused before
# any change: it could not be restored), set the new ones, SetInfo, restart the virtual server. The smart host
# itself is kept as it is. If anything fails, every virtual server already changed gets its previous user name
# and password back (always the pair, never one without the other) and is restarted, and the script exits 1.
# Safe to run again.
#
# Every check prints `SES-ROTATOR-CHECK: <name> ok|fail <detail>`; an update ends with
# `SES-ROTATOR-RESULT: updated`, a check with `SES-ROTATOR-RESULT: check-passed|check-failed` (contract:
# runtime/server-report.ts).
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Set-PSDebug -Off

$CredentialSource = '{{ CredentialSource }}'
$CredentialId = '{{ CredentialId }}'
$CredentialVersion = '{{ CredentialVersion }}'
$CredentialRegion = '{{ Region }}'
$Mode = '{{ Mode }}'
$Prog = 'update-smtp-credentials'

function Write-Log([string]$Message) { Write-Output "${Prog}: $Message" }
function Stop-WithError([string]$Message) {
    [Console]::Error.WriteLine("${Prog}: ERROR: $Message")
    exit 1
}
# One marker line per check. In update mode a failed check stops the script before anything changed; in check
# mode every check is reported and Complete-Check prints the result.
$script:CheckFailed = $false
function Write-Check([string]$Name, [bool]$Ok, [string]$Detail) {
    $state = if ($Ok) { 'ok' } else { 'fail' }
    Write-Output "SES-ROTATOR-CHECK: $Name $state $Detail"
    if (-not $Ok) {
        $script:CheckFailed = $true
        if ($Mode -cne 'check') { Stop-WithError "${Name}: $Detail" }
    }
}
function Complete-Check {
    if ($script:CheckFailed) {
        Write-Output 'SES-ROTATOR-RESULT: check-failed'
        exit 1
    }
    Write-Output 'SES-ROTATOR-RESULT: check-passed'
    exit 0
}

# ---- parameters, validated again (same rules as the document's allowedPattern; \z: no trailing newline) ----
if ($Mode -cnotmatch '^(update|check)\z') {
    Stop-WithError 'parameter Mode must be update or check'
}
if ($CredentialSource -cnotmatch '^(SecretsManager|ParameterStore)\z') {
    Stop-WithError 'parameter CredentialSource must be SecretsManager or ParameterStore'
}
if ($CredentialRegion -cnotmatch '^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{1,16}-[0-9]{1,2}\z') {
    Stop-WithError 'parameter Region is not an AWS region'
}
if ($CredentialSource -ceq 'SecretsManager') {
    if ($CredentialId -cnotmatch '^arn:aws(-[a-z]{1,8}){0,3}:secretsmanager:[a-z0-9-]{1,32}:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}\z') {
        Stop-WithError 'parameter CredentialId must be a Secrets Manager secret ARN when CredentialSource is SecretsManager'
    }
    if ($CredentialVersion -cnotmatch '^[A-Za-z0-9][A-Za-z0-9-]{31,63}\z') {
        Stop-WithError 'parameter CredentialVersion must be a secret version id when CredentialSource is SecretsManager'
    }
} else {
    if ($CredentialId -cnotmatch '^(arn:aws(-[a-z]{1,8}){0,3}:ssm:[a-z0-9-]{1,32}:[0-9]{12}:parameter)?[A-Za-z0-9_./][A-Za-z0-9_./-]{0,1010}\z') {
        Stop-WithError 'parameter CredentialId must be a parameter name or ARN when CredentialSource is ParameterStore'
    }
    if ($CredentialVersion -cnotmatch '^[1-9][0-9]{0,9}\z') {
        Stop-WithError 'parameter CredentialVersion must be a parameter version number when CredentialSource is ParameterStore'
    }
}

# ---- prerequisites: AWS Tools for PowerShell and the IIS 6 SMTP metabase ----
foreach ($module in @('AWS.Tools.SecretsManager', 'AWS.Tools.SimpleSystemsManagement')) {
    Import-Module $module -ErrorAction SilentlyContinue
}
if (-not (Get-Command Get-SECSecretValue -ErrorAction SilentlyContinue)) {
    Import-Module AWSPowerShell -ErrorAction SilentlyContinue
}
$reader = if ($CredentialSource -ceq 'SecretsManager') { 'Get-SECSecretValue' } else { 'Get-SSMParameter' }
if (-not (Get-Command $reader -ErrorAction SilentlyContinue)) {
    Write-Check 'tools' $false "prerequisite missing: $reader (install AWS Tools for PowerShell: AWS.Tools.SecretsManager and AWS.Tools.SimpleSystemsManagement, or AWSPowerShell)"
    Complete-Check
}
Write-Check 'tools' $true "$reader found"
$virtualServers = @()
try {
    $smtpService = [ADSI]'IIS://localhost/SMTPSVC'
    $virtualServers = @($smtpService.psbase.Children | Where-Object { $_.SchemaClassName -eq 'IIsSmtpServer' })
} catch {
    Write-Check 'metabase' $false 'prerequisite missing: the IIS 6 SMTP metabase (IIS://localhost/SMTPSVC) is not reachable; install the SMTP Server feature and IIS 6 Metabase Compatibility'
    Complete-Check
}
# RouteAction (DWORD, IIS 6 metabase) is a bit mask: SMTP_SMARTHOST 0x2, SMTP_SSL 0x4 (TLS for the smart host),
# SMTP_AUTH_CLEARTEXT 0x100 (outbound Basic authentication). AlwaysUseSsl (Boolean) is Outbound Security's
# "TLS encryption" box: every outgoing transmission uses TLS. A property that cannot be read counts as unset.
$SMTP_SSL = 0x4
$SMTP_AUTH_CLEARTEXT = 0x100
function Get-RouteAction($VirtualServer) {
    try { return [int64]$VirtualServer.Get('RouteAction') } catch { return [int64]0 }
}
function Test-AlwaysUseSsl($VirtualServer) {
    try { return @('True', '1', '-1') -contains [string]$VirtualServer.Get('AlwaysUseSsl') } catch { return $false }
}
$targets = @($virtualServers | Where-Object { [string]$_.SmartHost -ne '' -and ((Get-RouteAction $_) -band $SMTP_AUTH_CLEARTEXT) -ne 0 })
if ($targets.Count -eq 0) {
    Write-Check 'basic-auth' $false 'no SMTP virtual server has a smart host with outbound Basic authentication configured (SmartHost, RouteAction bit 0x100: Outbound Security, Basic authentication)'
    Complete-Check
}
Write-Check 'basic-auth' $true "$($targets.Count) SMTP virtual server(s) with a smart host and outbound Basic authentication"

# ---- TLS must be enforced for the smart host: Basic authentication sends the password in the clear otherwise ----
foreach ($vs in $targets) {
    $routeAction = Get-RouteAction $vs
    if (Test-AlwaysUseSsl $vs) {
        Write-Check 'tls' $true "$([string]$vs.psbase.Path): AlwaysUseSsl = True (Outbound Security: TLS encryption)"
    } elseif (($routeAction -band $SMTP_SSL) -ne 0) {
        Write-Check 'tls' $true "$([string]$vs.psbase.Path): RouteAction $routeAction has SMTP_SSL (0x4)"
    } else {
        Write-Check 'tls' $false "$([string]$vs.psbase.Path): TLS is not enforced for the smart host: AlwaysUseSsl is not True and RouteAction $routeAction lacks SMTP_SSL (0x4) (Outbound Security: tick TLS encryption); refusing to send the SES password over a connection that may be plain text"
    }
}

# ---- fetch the credential by reference; read its fields with .NET only (no cmdlet sees the text) ----
$credential = @{ username = ''; password = ''; endpoint = ''; region = '' }
$fetchProblem = ''
try {
    if ($CredentialSource -ceq 'SecretsManager') {
        $text = [string](Get-SECSecretValue -SecretId $CredentialId -VersionId $CredentialVersion -Region $CredentialRegion).SecretString
    } else {
        $text = [string](Get-SSMParameter -Name "${CredentialId}:$CredentialVersion" -WithDecryption $true -Region $CredentialRegion).Value
    }
    foreach ($field in @('username', 'password', 'endpoint', 'region')) {
        $match = [System.Text.RegularExpressions.Regex]::Match($text, '"' + $field + '"\s*:\s*"([^"]*)"')
        if ($match.Success) { $credential[$field] = $match.Groups[1].Value.Replace('\/', '/') }
    }
    $match = $null
} catch {
    $fetchProblem = "could not read $CredentialSource $CredentialId version ${CredentialVersion}: $($_.Exception.GetType().Name)"
} finally {
    $text = $null
}
if ($fetchProblem -eq '' -and [string]$credential.username -cnotmatch '^AKIA[A-Z0-9]{12,124}\z') {
    $fetchProblem = "the credential's username is not an IAM access key id (AKIA...)"
}
if ($fetchProblem -eq '' -and [string]$credential.password -cnotmatch '^[A-Za-z0-9+/=]{20,128}\z') {
    $fetchProblem = "the credential's password is missing or not an SES SMTP password"
}
if ($fetchProblem -eq '' -and [string]$credential.region -cnotmatch '^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]{1,16}-[0-9]{1,2}\z') {
    $fetchProblem = "the credential's region is not an AWS region"
}

# ---- every smart host must be SES: the SMTP endpoint of the credential's region (FIPS too), or the endpoint the
# credential itself names (the rotator's smtpEndpoint, where it proved the password; e.g. a VPC endpoint) ----
if ($fetchProblem -ne '') {
    Write-Check 'fetch' $false $fetchProblem
    Write-Check 'smarthost' $false 'not compared: the credential (and so its SES region) could not be read'
} else {
    Write-Check 'fetch' $true "read $CredentialSource $CredentialId version ${CredentialVersion}: user $([string]$credential.username), SES region $([string]$credential.region)"
    $sesDomain = if ([string]$credential.region -clike 'cn-*') { 'amazonaws.com.cn' } else { 'amazonaws.com' }
    $allowed = @("email-smtp.$([string]$credential.region).$sesDomain", "email-smtp-fips.$([string]$credential.region).$sesDomain")
    if ([string]$credential.endpoint -cmatch '^[A-Za-z0-9][A-Za-z0-9.-]{0,252}\z') { $allowed += ([string]$credential.endpoint).ToLowerInvariant() }
    foreach ($vs in $targets) {
        $smartHost = ([string]$vs.SmartHost).Trim().TrimStart('[').TrimEnd(']').ToLowerInvariant()
        if ($allowed -contains $smartHost) {
            Write-Check 'smarthost' $true "$([string]$vs.psbase.Path): smart host $smartHost is the SES SMTP endpoint of the credential"
        } else {
            Write-Check 'smarthost' $false "$([string]$vs.psbase.Path): smart host '$smartHost' is not the SES SMTP endpoint of the credential's region $([string]$credential.region) (allowed: $($allowed -join ', ')); refusing to install the SES credential for another host"
        }
    }
}
if ($Mode -ceq 'check') {
    $credential = $null
    Complete-Check
}

function Restart-VirtualServer($VirtualServer) {
    # ServerState: 2 = started, 4 = stopped. Wait for each transition with a deadline.
    [void]$VirtualServer.Invoke('Stop')
    $deadline = (Get-Date).AddSeconds(60)
    while ([int]$VirtualServer.Get('ServerState') -ne 4 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 500; $VirtualServer.RefreshCache() }
    [void]$VirtualServer.Invoke('Start')
    $deadline = (Get-Date).AddSeconds(60)
    while ([int]$VirtualServer.Get('ServerState') -ne 2 -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 500; $VirtualServer.RefreshCache() }
    if ([int]$VirtualServer.Get('ServerState') -ne 2) { throw "virtual server $($VirtualServer.psbase.Path) did not start again" }
}

# ---- remember every targeted virtual server's user name AND password (in memory) before changing any ----
$previous = @{}
foreach ($vs in $targets) {
    $path = [string]$vs.psbase.Path
    $oldPassword = $null
    try { $oldPassword = [string]$vs.Get('RoutePassword') } catch { $oldPassword = $null }
    if ($null -eq $oldPassword) {
        $previous = $null
        Stop-WithError "cannot read the current RoutePassword of ${path}: refusing to change a login that could not be restored"
    }
    $previous[$path] = @{ RouteUserName = [string]$vs.Get('RouteUserName'); RoutePassword = $oldPassword }
}
$oldPassword = $null

# ---- update every targeted virtual server; restore the ones already changed on failure ----
$changed = New-Object System.Collections.ArrayList
try {
    foreach ($vs in $targets) {
        $path = [string]$vs.psbase.Path
        [void]$changed.Add($vs)
        $vs.Put('RouteUserName', [string]$credential.username)
        $vs.Put('RoutePassword', [string]$credential.password)
        $vs.SetInfo()
        Restart-VirtualServer $vs
        Write-Log "updated $path (smart host $([string]$vs.SmartHost)): user $([string]$credential.username)"
    }
} catch {
    $reason = $_.Exception.Message
    foreach ($vs in $changed) {
        $path = [string]$vs.psbase.Path
        try {
            # Always the pair: a user name without its password (or the reverse) is a login that cannot work.
            $vs.Put('RouteUserName', $previous[$path].RouteUserName)
            $vs.Put('RoutePassword', $previous[$path].RoutePassword)
            $vs.SetInfo()
            Restart-VirtualServer $vs
            [Console]::Error.WriteLine("${Prog}: restored the previous credential of $path")
        } catch {
            [Console]::Error.WriteLine("${Prog}: ERROR: could not restore the previous credential of $path")
        }
    }
    $previous = $null
    $credential = $null
    Stop-WithError "update failed, previous credentials restored: $reason"
}
$previous = $null
Write-Log "updated $($targets.Count) SMTP virtual server(s) from $CredentialSource $CredentialId version $CredentialVersion"
$credential = $null
Write-Output 'SES-ROTATOR-RESULT: updated'
