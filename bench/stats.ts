/** Small statistics helpers for the benchmark: medians over repeated runs and growth fits across sizes. */

/** Median of a non-empty list (mean of the two middle values for an even count). */
export function median(values: number[]): number {
    if (values.length === 0) throw new Error("median: values must not be empty");
    const s = [...values].sort((a, b) => a - b);
    const mid = Math.floor(s.length / 2);
    return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Runs `fn` `runs` times in sequence and returns every result (for medians and spread). */
export async function repeat<T>(runs: number, fn: (i: number) => Promise<T>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < runs; i++) out.push(await fn(i));
    return out;
}

/** Wall-clock milliseconds taken by `fn`, with its result. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
    const start = performance.now();
    const value = await fn();
    return { ms: performance.now() - start, value };
}

/**
 * Growth of y with n as a power law y ≈ c·n^k, fitted by least squares on log-log points (k = 1 is linear
 * growth, k = 0 constant). Points with y ≤ 0 are ignored; undefined when fewer than two remain.
 */
export function powerLawExponent(points: { n: number; y: number }[]): number | undefined {
    const p = points.filter((q) => q.y > 0 && q.n > 0).map((q) => ({ x: Math.log(q.n), y: Math.log(q.y) }));
    if (p.length < 2) return undefined;
    const mx = p.reduce((a, q) => a + q.x, 0) / p.length;
    const my = p.reduce((a, q) => a + q.y, 0) / p.length;
    const sxy = p.reduce((a, q) => a + (q.x - mx) * (q.y - my), 0);
    const sxx = p.reduce((a, q) => a + (q.x - mx) ** 2, 0);
    return sxx === 0 ? undefined : sxy / sxx;
}

/** Least-squares line y ≈ a + b·n (b = cost per extra server). Undefined with fewer than two distinct n. */
export function linearFit(points: { n: number; y: number }[]): { intercept: number; slope: number } | undefined {
    if (points.length < 2) return undefined;
    const mx = points.reduce((a, q) => a + q.n, 0) / points.length;
    const my = points.reduce((a, q) => a + q.y, 0) / points.length;
    const sxy = points.reduce((a, q) => a + (q.n - mx) * (q.y - my), 0);
    const sxx = points.reduce((a, q) => a + (q.n - mx) ** 2, 0);
    if (sxx === 0) return undefined;
    const slope = sxy / sxx;
    return { intercept: my - slope * mx, slope };
}

/** 12345678 → "11.8 MiB"; 4000 → "3.9 KiB". */
export function formatBytes(bytes: number): string {
    if (bytes >= 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
    if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
    return `${bytes} B`;
}

/** 1234.5 → "1.23 s"; 12.3 → "12.3 ms". */
export function formatMs(ms: number): string {
    if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
    return `${ms.toFixed(1)} ms`;
}
