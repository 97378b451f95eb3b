# Replaces the Amazon SES SMTP credential that the IIS 6 SMTP virtual server(s) use for their smart host.
#
# Run by the SSM Agent (aws:runPowerShellScript) as SYSTEM. The four parameter placeholders are substituted
# by the agent with values that already matched the document's allowedPattern; they sit inside single quotes
# and are validated again below. The password never is a parameter or output: it is read here by reference
# with AWS Tools for PowerShell, kept in variables, and written only into the metabase (RoutePassword, a
# SECURE metabase property).
#
# For every SMTP virtual server (IIS://localhost/SMTPSVC/<n>) with a smart host and outbound Basic
# authentication already configured: remember RouteUserName/RoutePassword in memory, set the new ones,
# SetInfo, restart the virtual server. The smart host itself is kept as it is. If anything fails, every
# virtual server already changed gets its previous values back and is restarted, and the script exits 1.
# Safe to run again.
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0
Set-PSDebug -Off

$CredentialSource = '{{ CredentialSource }}'
$CredentialId = '{{ CredentialId }}'
$CredentialVersion = '{{ CredentialVersion }}'
$CredentialRegion = '{{ Region }}'
$Prog = 'update-smtp-credentials'

function Write-Log([string]$Message) { Write-Output "${Prog}: $Message" }
function Stop-WithError([string]$Message) {
    [Console]::Error.WriteLine("${Prog}: ERROR: $Message")
    exit 1
}

# ---- parameters, validated again (same rules as the document's allowedPattern; \z: no trailing newline) ----
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
    Stop-WithError "prerequisite missing: $reader (install AWS Tools for PowerShell: AWS.Tools.SecretsManager and AWS.Tools.SimpleSystemsManagement, or AWSPowerShell)"
}
try {
    $smtpService = [ADSI]'IIS://localhost/SMTPSVC'
    $virtualServers = @($smtpService.psbase.Children | Where-Object { $_.SchemaClassName -eq 'IIsSmtpServer' })
} catch {
    Stop-WithError 'prerequisite missing: the IIS 6 SMTP metabase (IIS://localhost/SMTPSVC) is not reachable; install the SMTP Server feature and IIS 6 Metabase Compatibility'
}
$targets = @($virtualServers | Where-Object { [string]$_.SmartHost -ne '' -and [string]$_.RouteUserName -ne '' })
if ($targets.Count -eq 0) {
    Stop-WithError 'no SMTP virtual server has a smart host with outbound Basic authentication configured (SmartHost, RouteUserName)'
}

# ---- fetch the credential by reference ----
$credential = $null
try {
    if ($CredentialSource -ceq 'SecretsManager') {
        $text = (Get-SECSecretValue -SecretId $CredentialId -VersionId $CredentialVersion -Region $CredentialRegion).SecretString
    } else {
        $text = (Get-SSMParameter -Name "${CredentialId}:$CredentialVersion" -WithDecryption $true -Region $CredentialRegion).Value
    }
    $credential = $text | ConvertFrom-Json
} catch {
    Stop-WithError "could not read $CredentialSource $CredentialId version ${CredentialVersion}: $($_.Exception.GetType().Name)"
} finally {
    $text = $null
}
if ([string]$credential.username -cnotmatch '^AKIA[A-Z0-9]{12,124}\z') {
    Stop-WithError "the credential's username is not an IAM access key id (AKIA...)"
}
if ([string]$credential.password -cnotmatch '^[A-Za-z0-9+/=]{20,128}\z') {
    Stop-WithError "the credential's password is missing or not an SES SMTP password"
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

# ---- update every targeted virtual server; restore the ones already changed on failure ----
$previous = @{}
$changed = New-Object System.Collections.ArrayList
try {
    foreach ($vs in $targets) {
        $path = [string]$vs.psbase.Path
        $oldPassword = $null
        try { $oldPassword = [string]$vs.Get('RoutePassword') } catch { $oldPassword = $null }
        $previous[$path] = @{ RouteUserName = [string]$vs.Get('RouteUserName'); RoutePassword = $oldPassword }
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
            $vs.Put('RouteUserName', $previous[$path].RouteUserName)
            if ($null -ne $previous[$path].RoutePassword) { $vs.Put('RoutePassword', $previous[$path].RoutePassword) }
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
