/**
 * The IIS document's script, checked statically: there is no Windows and no PowerShell here, so these tests read
 * the script text. They cover reading by reference, never printing the secret, keeping the credential text away
 * from every cmdlet (PowerShell Module Logging, event 4103, records cmdlet parameter bindings and pipeline input),
 * restoring the previous user name AND password as a pair, the TLS and relay (smart host) checks and check mode.
 */
import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { IIS_SCRIPT_FILE } from "../documents";

const IIS_SCRIPT = fs.readFileSync(path.join(__dirname, "..", "documents", IIS_SCRIPT_FILE), "utf8");
const codeLines = (text: string) => text.split("\n").filter((l) => !/^\s*#/.test(l));

/**
 * Where the credential text could reach a cmdlet: any line using `$text` (the fetched JSON) or the password that
 * pipes (`|`), or passes it to anything but a .NET static method / ADSI method / comparison operator.
 */
export function secretThroughCmdlet(script: string): string[] {
    const problems: string[] = [];
    if (/ConvertFrom-Json/i.test(script)) problems.push("ConvertFrom-Json is a cmdlet: Module Logging records its input");
    const allowed = [
        /^\s*\$text = \[string\]\(Get-(SECSecretValue|SSMParameter) [^|]*\)\.(SecretString|Value)$/, // the fetch: only the reference is a cmdlet argument
        /^\s*\$match = \[System\.Text\.RegularExpressions\.Regex\]::Match\(\$text, [^|]*\)$/, // .NET, not a cmdlet
        /^\s*\$text = \$null$/,
        /^\s*if \(\$fetchProblem -eq '' -and \[string\]\$credential\.password -cnotmatch '[^']*'\) \{$/,
        /^\s*\$vs\.Put\('RoutePassword', \[string\]\$credential\.password\)$/, // ADSI method
    ];
    for (const line of codeLines(script)) {
        if (!/\$text\b|\$credential\.password/.test(line)) continue;
        if (/\|/.test(line.replace(/'[^']*'/g, "''"))) problems.push(`pipes secret material: ${line.trim()}`);
        else if (!allowed.some((a) => a.test(line))) problems.push(`secret material in an unexpected statement: ${line.trim()}`);
    }
    return problems;
}

/** What is wrong with the restore: it must put back the previous user name AND password, unconditionally, before SetInfo. */
export function restorePairProblems(script: string): string[] {
    const problems: string[] = [];
    const start = script.indexOf("foreach ($vs in $changed)");
    const end = script.indexOf('Stop-WithError "update failed', start);
    if (start < 0 || end < 0) return ["no restore block (foreach ($vs in $changed) ... Stop-WithError \"update failed ...\") found"];
    const block = codeLines(script.slice(start, end)).map((l) => l.trim());
    const user = block.indexOf("$vs.Put('RouteUserName', $previous[$path].RouteUserName)");
    const password = block.indexOf("$vs.Put('RoutePassword', $previous[$path].RoutePassword)");
    const setInfo = block.indexOf("$vs.SetInfo()");
    if (user < 0) problems.push("the restore does not unconditionally write back the previous RouteUserName");
    if (password < 0) problems.push("the restore does not unconditionally write back the previous RoutePassword");
    if (setInfo < 0 || setInfo < user || setInfo < password) problems.push("SetInfo must follow both restored values");
    if (block.some((l) => /^if \(.*Put\('Route(UserName|Password)'/.test(l))) problems.push("a restored value is written conditionally");
    // Both halves are remembered together, before any change; an unreadable password stops the script first.
    if (!/\$previous\[\$path\] = @\{ RouteUserName = \[string\]\$vs\.Get\('RouteUserName'\); RoutePassword = \$oldPassword \}/.test(script)) {
        problems.push("the previous user name and password are not remembered together");
    }
    if (!/if \(\$null -eq \$oldPassword\) \{\s*\$previous = \$null\s*Stop-WithError "cannot read the current RoutePassword/.test(script)) {
        problems.push("a virtual server whose password cannot be read is not refused before any change");
    }
    const remember = script.indexOf("$previous[$path] = @{");
    const firstChange = script.indexOf("$vs.Put('RouteUserName', [string]$credential.username)");
    if (remember < 0 || firstChange < 0 || remember > firstChange) problems.push("the previous values are not all remembered before the first change");
    return problems;
}

/**
 * What is wrong with the TLS refusal: every targeted virtual server must pass a `tls` check before the first
 * metabase write, and that check may pass only on AlwaysUseSsl = True or RouteAction's SMTP_SSL bit (0x4).
 */
export function tlsCheckProblems(script: string): string[] {
    const problems: string[] = [];
    const firstChange = script.indexOf("$vs.Put('RouteUserName', [string]$credential.username)");
    const start = script.indexOf("foreach ($vs in $targets) {\n    $routeAction = Get-RouteAction $vs");
    if (start < 0) return ["no tls check over every target (foreach ($vs in $targets) { $routeAction = Get-RouteAction $vs ...) found"];
    if (firstChange < 0 || start > firstChange) problems.push("the tls check does not come before the first change");
    const end = script.indexOf("\n}\n", start);
    const block = codeLines(script.slice(start, end)).map((l) => l.trim());
    const branches: { cond: string; ok?: boolean }[] = [];
    for (const line of block) {
        const cond = /^(?:\} elseif|if) \((.*)\) \{$/.exec(line) ?? (/^\} else \{$/.test(line) ? [line, "else"] : null);
        if (cond) branches.push({ cond: cond[1] });
        const check = /^Write-Check 'tls' \$(true|false) /.exec(line);
        if (check && branches.length > 0) branches[branches.length - 1].ok = check[1] === "true";
    }
    const passing = branches.filter((b) => b.ok === true).map((b) => b.cond);
    const accepted = ["Test-AlwaysUseSsl $vs", "($routeAction -band $SMTP_SSL) -ne 0"];
    for (const c of passing) if (!accepted.includes(c)) problems.push(`the tls check passes on an unexpected condition: ${c}`);
    for (const c of accepted) if (!passing.includes(c)) problems.push(`the tls check does not accept: ${c}`);
    if (!branches.some((b) => b.cond === "else" && b.ok === false)) problems.push("the tls check has no failing branch (else: Write-Check 'tls' $false)");
    if (!/^\$SMTP_SSL = 0x4$/m.test(script)) problems.push("SMTP_SSL is not RouteAction bit 0x4");
    if (!/^function Get-RouteAction\(\$VirtualServer\) \{\n    try \{ return \[int64\]\$VirtualServer\.Get\('RouteAction'\) \} catch \{ return \[int64\]0 \}\n\}$/m.test(script)) {
        problems.push("RouteAction is not read from the virtual server (unreadable counts as 0)");
    }
    if (!/^function Test-AlwaysUseSsl\(\$VirtualServer\) \{\n    try \{ return @\('True', '1', '-1'\) -contains \[string\]\$VirtualServer\.Get\('AlwaysUseSsl'\) \} catch \{ return \$false \}\n\}$/m.test(script)) {
        problems.push("AlwaysUseSsl is not read as a Boolean from the virtual server (unreadable counts as False)");
    }
    return problems;
}

describe("SSM documents: the IIS script (static checks only: no Windows/PowerShell here)", () => {
    const code = codeLines(IIS_SCRIPT);

    it("reads the credential by reference with AWS Tools for PowerShell", () => {
        assert.match(IIS_SCRIPT, /Get-SECSecretValue -SecretId \$CredentialId -VersionId \$CredentialVersion -Region \$CredentialRegion/);
        assert.match(IIS_SCRIPT, /Get-SSMParameter -Name "\$\{CredentialId\}:\$CredentialVersion" -WithDecryption \$true -Region \$CredentialRegion/);
        assert.match(IIS_SCRIPT, /\[ADSI\]'IIS:\/\/localhost\/SMTPSVC'/);
        assert.match(IIS_SCRIPT, /\.Put\('RoutePassword', \[string\]\$credential\.password\)/);
        assert.match(IIS_SCRIPT, /\$ErrorActionPreference = 'Stop'/);
    });

    it("never writes the password or the secret text to output, and never traces", () => {
        assert.ok(!/Start-Transcript|Set-PSDebug\s+-Trace|Write-(Host|Verbose|Debug|Information)/.test(IIS_SCRIPT));
        const secretUse = /\$credential\.password|\$text\b|RoutePassword/;
        const allowed = [
            /^\s*\$text = \[string\]\(Get-(SECSecretValue|SSMParameter) /,
            /^\s*\$match = \[System\.Text\.RegularExpressions\.Regex\]::Match\(\$text, /,
            /^\s*\$text = \$null$/,
            /^\s*if \(\$fetchProblem -eq '' -and \[string\]\$credential\.password -cnotmatch '[^']*'\) \{$/,
            /^\s*\$vs\.Put\('RoutePassword', /,
            /^\s*try \{ \$oldPassword = \[string\]\$vs\.Get\('RoutePassword'\) \}/,
            /^\s*Stop-WithError "cannot read the current RoutePassword of \$\{path\}: [^$]*"$/,
            /^\s*\$previous\[\$path\] = @\{ RouteUserName = \[string\]\$vs\.Get\('RouteUserName'\); RoutePassword = \$oldPassword \}$/,
        ];
        const offending = code.filter((l) => secretUse.test(l) && !allowed.some((a) => a.test(l)));
        assert.deepStrictEqual(offending, []);
    });

    it("the credential text never passes through a cmdlet that Module Logging (4103) records (no ConvertFrom-Json, no pipeline)", () => {
        assert.deepStrictEqual(secretThroughCmdlet(IIS_SCRIPT), []);
        // the checker catches the old form and a piped variant
        const old = IIS_SCRIPT.replace(/    foreach \(\$field in @\('username'[\s\S]*?\$match = \$null\n/, "    $credential = $text | ConvertFrom-Json\n");
        assert.notStrictEqual(old, IIS_SCRIPT, "mutation applied");
        assert.ok(secretThroughCmdlet(old).length >= 2, "ConvertFrom-Json and the pipe are both named");
        const piped = IIS_SCRIPT.replace("$match = [System.Text.RegularExpressions.Regex]::Match($text, ", "$match = $text | Select-String -Pattern (");
        assert.ok(secretThroughCmdlet(piped).some((p) => p.startsWith("pipes secret material")));
    });

    it("restores the previous user name AND password as a pair; the check fails when either half is dropped", () => {
        assert.deepStrictEqual(restorePairProblems(IIS_SCRIPT), []);
        const userLine = "            $vs.Put('RouteUserName', $previous[$path].RouteUserName)\n";
        const passwordLine = "            $vs.Put('RoutePassword', $previous[$path].RoutePassword)\n";
        assert.ok(IIS_SCRIPT.includes(userLine) && IIS_SCRIPT.includes(passwordLine), "both restore lines are in the script");
        assert.match(restorePairProblems(IIS_SCRIPT.replace(userLine, "")).join("\n"), /previous RouteUserName/);
        assert.match(restorePairProblems(IIS_SCRIPT.replace(passwordLine, "")).join("\n"), /previous RoutePassword/);
        const conditional = IIS_SCRIPT.replace(passwordLine, "            if ($null -ne $previous[$path].RoutePassword) { $vs.Put('RoutePassword', $previous[$path].RoutePassword) }\n");
        assert.match(restorePairProblems(conditional).join("\n"), /RoutePassword/);
        const noRefusal = IIS_SCRIPT.replace(/    if \(\$null -eq \$oldPassword\) \{[\s\S]*?\n    \}\n/, "");
        assert.match(restorePairProblems(noRefusal).join("\n"), /cannot be read is not refused/);
    });

    it("restores on failure and exits 1 with a clear message", () => {
        assert.match(IIS_SCRIPT, /\} catch \{[\s\S]*foreach \(\$vs in \$changed\)[\s\S]*Put\('RouteUserName', \$previous\[\$path\]\.RouteUserName\)[\s\S]*Stop-WithError "update failed, previous credentials restored/);
        assert.match(IIS_SCRIPT, /exit 1/);
    });

    it("refuses a smart host that is not SES of the credential's region (or the endpoint the credential names) before any change", () => {
        const check = IIS_SCRIPT.indexOf("Write-Check 'smarthost' $false");
        const firstChange = IIS_SCRIPT.indexOf("$vs.Put('RouteUserName', [string]$credential.username)");
        assert.ok(check > 0 && check < firstChange, "the smart host check comes before the first change");
        assert.match(IIS_SCRIPT, /\$allowed = @\("email-smtp\.\$\(\[string\]\$credential\.region\)\.\$sesDomain", "email-smtp-fips\./);
        assert.match(IIS_SCRIPT, /if \(\$allowed -contains \$smartHost\)/);
        // In update mode a failed check stops the script (Stop-WithError exits 1).
        assert.match(IIS_SCRIPT, /if \(\$Mode -cne 'check'\) \{ Stop-WithError "\$\{Name\}: \$Detail" \}/);
    });

    it("refuses unless TLS is enforced for the smart host (AlwaysUseSsl, or RouteAction SMTP_SSL 0x4) before any change; the check fails when the refusal is weakened", () => {
        assert.deepStrictEqual(tlsCheckProblems(IIS_SCRIPT), []);
        // In update mode a failed check stops the script (Stop-WithError exits 1) before anything changed.
        assert.match(IIS_SCRIPT, /if \(\$Mode -cne 'check'\) \{ Stop-WithError "\$\{Name\}: \$Detail" \}/);
        const block = /\n# ---- TLS must be enforced[^\n]*\nforeach \(\$vs in \$targets\) \{\n[\s\S]*?\n\}\n/;
        assert.match(IIS_SCRIPT, block);
        assert.match(tlsCheckProblems(IIS_SCRIPT.replace(block, "\n")).join("\n"), /no tls check/, "the check removed");
        const moved = IIS_SCRIPT.replace(block, "\n").replace("\n$previous = $null\nWrite-Log", `${IIS_SCRIPT.match(block)![0]}$previous = $null\nWrite-Log`);
        assert.notStrictEqual(moved.indexOf("Get-RouteAction $vs\n"), IIS_SCRIPT.indexOf("Get-RouteAction $vs\n"), "mutation applied");
        assert.match(tlsCheckProblems(moved).join("\n"), /before the first change/, "the check after a write");
        const failing = "        Write-Check 'tls' $false \"$([string]$vs.psbase.Path): TLS is not enforced";
        assert.ok(IIS_SCRIPT.includes(failing));
        assert.match(tlsCheckProblems(IIS_SCRIPT.replace(failing, failing.replace("$false", "$true"))).join("\n"), /no failing branch/, "the refusal turned into a pass");
        assert.match(tlsCheckProblems(IIS_SCRIPT.replace("$SMTP_SSL = 0x4", "$SMTP_SSL = 0x2")).join("\n"), /0x4/, "the smart-host bit taken for TLS");
        assert.match(tlsCheckProblems(IIS_SCRIPT.replace("} elseif (($routeAction -band $SMTP_SSL) -ne 0) {", "} elseif ($routeAction -ne 0) {")).join("\n"), /unexpected condition/, "any RouteAction accepted");
        assert.match(tlsCheckProblems(IIS_SCRIPT.replace("@('True', '1', '-1') -contains [string]$VirtualServer.Get('AlwaysUseSsl')", "[bool]$VirtualServer.Get('AlwaysUseSsl')")).join("\n"), /AlwaysUseSsl is not read/, "a [bool] cast ('False' is truthy)");
    });

    it("targets only virtual servers with outbound Basic authentication (RouteAction SMTP_AUTH_CLEARTEXT 0x100), not any with a user name", () => {
        assert.match(IIS_SCRIPT, /^\$SMTP_AUTH_CLEARTEXT = 0x100$/m);
        assert.match(IIS_SCRIPT, /^\$targets = @\(\$virtualServers \| Where-Object \{ \[string\]\$_\.SmartHost -ne '' -and \(\(Get-RouteAction \$_\) -band \$SMTP_AUTH_CLEARTEXT\) -ne 0 \}\)$/m);
    });

    it("check mode: reports each check with the marker contract and stops before any metabase write", () => {
        const checkEnd = IIS_SCRIPT.indexOf("if ($Mode -ceq 'check') {\n    $credential = $null\n    Complete-Check\n}");
        const firstWrite = IIS_SCRIPT.search(/\.Put\(|\.SetInfo\(\)|\.Invoke\('Stop'\)/);
        assert.ok(checkEnd > 0, "check mode ends with Complete-Check");
        assert.ok(firstWrite < 0 || IIS_SCRIPT.slice(0, checkEnd).search(/\$vs\.Put\(|\$vs\.SetInfo\(\)|Restart-VirtualServer \$vs/) < 0, "no write before check mode ends");
        for (const name of ["tools", "basic-auth", "tls", "fetch", "smarthost"]) assert.match(IIS_SCRIPT, new RegExp(`Write-Check '${name}' \\$(true|false)`), name);
        assert.match(IIS_SCRIPT, /Write-Output "SES-ROTATOR-CHECK: \$Name \$state \$Detail"/);
        assert.match(IIS_SCRIPT, /Write-Output 'SES-ROTATOR-RESULT: check-passed'/);
        assert.match(IIS_SCRIPT, /Write-Output 'SES-ROTATOR-RESULT: check-failed'/);
        assert.ok(IIS_SCRIPT.trimEnd().endsWith("Write-Output 'SES-ROTATOR-RESULT: updated'"), "update mode ends with the result marker");
    });
});
