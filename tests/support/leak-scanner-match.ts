/**
 * The leak scanner's matching (leak-scanner-core.ts): normalisation of encodings, 16-character windows of every
 * known secret, and one level of decoding (base64, base64url, hex) of every token run.
 */
/** a leak is any run of this many characters of a secret */
export const WINDOW = 16;
export const RUN = /[A-Za-z0-9+/_-]{16,}/g;
const BASE64_RUN = /^[A-Za-z0-9+/]{22,}$/;
const BASE64URL_RUN = /^[A-Za-z0-9_-]{22,}$/;
const HEX_RUN = /^(?:[0-9a-fA-F]{2}){16,}$/;

export interface Matcher<K = string> {
    byValue: Map<string, K>;
    /** every WINDOW-character substring of each secret -> that secret */
    windows: Map<string, string>;
}

const TOKEN_CHAR = /^[A-Za-z0-9+/=_-]$/;
const decodeIfToken = (all: string, hex: string): string => {
    const c = String.fromCharCode(parseInt(hex, 16));
    return TOKEN_CHAR.test(c) ? c : all;
};

/** Undo the encodings under which a secret's characters could hide (form/percent encoding, JSON escapes). */
export function normalise(text: string): string {
    return text
        .replace(/%([0-9a-fA-F]{2})/g, decodeIfToken)
        .replace(/\\+\//g, "/")
        .replace(/\\u00([0-9a-fA-F]{2})/g, decodeIfToken);
}

const printable = (s: string): boolean => /^[\x09\x0a\x0d\x20-\x7e]*$/.test(s);

/** What a token run may decode to: base64 / base64url text, hex as text and as base64 of its bytes. */
function decodings(run: string): string[] {
    const out: string[] = [];
    if (HEX_RUN.test(run)) {
        const bytes = Buffer.from(run, "hex");
        const text = bytes.toString("latin1");
        if (printable(text)) out.push(text);
        for (let skip = 0; skip < 3; skip++) out.push(bytes.subarray(skip).toString("base64"));
    }
    if (BASE64_RUN.test(run) || BASE64URL_RUN.test(run)) {
        const text = Buffer.from(run.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("latin1");
        if (printable(text)) out.push(text);
    }
    return out;
}

/** Every known secret a 16-character part of which occurs in `text` (token runs; encoded runs decoded once). */
export function secretsIn(text: string, m: Matcher, depth = 0): string[] {
    const hits = new Set<string>();
    for (const match of normalise(text).matchAll(RUN)) {
        const run = match[0];
        for (let i = 0; i + WINDOW <= run.length; i++) {
            const secret = m.windows.get(run.substring(i, i + WINDOW));
            if (secret) hits.add(secret);
        }
        if (depth === 0) for (const decoded of decodings(run)) secretsIn(decoded, m, 1).forEach((h) => hits.add(h));
    }
    return [...hits];
}

export function windowsOf(secrets: Iterable<string>): Map<string, string> {
    const windows = new Map<string, string>();
    for (const s of secrets) for (let i = 0; i + WINDOW <= s.length; i++) if (!windows.has(s.substring(i, i + WINDOW))) windows.set(s.substring(i, i + WINDOW), s);
    return windows;
}

