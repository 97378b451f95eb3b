/**
 * A thin HTTP adapter that puts the REAL confirmation API Lambda handler (runtime/manual/confirmation-api.ts)
 * on localhost, as API Gateway (HTTP API, payload format 2.0) would: each request becomes a proxy event
 * (`rawPath`, `pathParameters.id`, `requestContext.http.method`, headers, body) and the handler's
 * `{statusCode, headers, body}` becomes the response. Only `/confirm/{id}` is routed, as in the API.
 */
import * as http from "http";
import { AddressInfo } from "net";
import type { HttpApiEvent, HttpApiResult } from "../runtime/manual/confirmation-api";

/** The largest request body accepted (the confirmation form sends `action=confirm`). */
const MAX_BODY_BYTES = 16 * 1024;

/** One request the adapter served (for progress and tests). */
export interface ServedRequest {
    method: string;
    path: string;
    statusCode: number;
}

export interface ConfirmationServer {
    /** e.g. http://127.0.0.1:41234 (no trailing slash) */
    baseUrl: string;
    served: ServedRequest[];
    close(): Promise<void>;
}

/** Builds the API Gateway v2 proxy event for a request. */
export function proxyEvent(method: string, url: string, headers: http.IncomingHttpHeaders, body: string): HttpApiEvent {
    const rawPath = url.split("?")[0];
    const id = /^\/confirm\/([^/]+)$/.exec(rawPath)?.[1];
    const flatHeaders: Record<string, string> = {};
    for (const [k, v] of Object.entries(headers)) if (v !== undefined) flatHeaders[k] = Array.isArray(v) ? v.join(",") : v;
    return {
        rawPath,
        pathParameters: id !== undefined ? { id: decodeURIComponent(id) } : {},
        requestContext: { http: { method } },
        headers: flatHeaders,
        ...(body ? { body } : {}),
        isBase64Encoded: false,
    };
}

/** Serves `handler` on 127.0.0.1:`port` (0 = a free port). */
export async function startConfirmationServer(handler: (event: HttpApiEvent) => Promise<HttpApiResult>, port: number): Promise<ConfirmationServer> {
    const served: ServedRequest[] = [];
    const server = http.createServer((req, res) => {
        const method = (req.method ?? "GET").toUpperCase();
        const path = req.url ?? "/";
        const send = (statusCode: number, headers: Record<string, string>, body: string) => {
            served.push({ method, path: path.split("?")[0], statusCode });
            res.writeHead(statusCode, headers);
            res.end(method === "HEAD" ? undefined : body);
        };
        if (!/^\/confirm\/[^/?]+(\?.*)?$/.test(path)) return send(404, { "content-type": "text/plain; charset=utf-8" }, "Not found: links look like /confirm/<id>\n");
        const chunks: Buffer[] = [];
        let size = 0;
        req.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) req.destroy();
            else chunks.push(c);
        });
        req.on("end", () => {
            handler(proxyEvent(method, path, req.headers, Buffer.concat(chunks).toString("utf8")))
                .then((r) => send(r.statusCode, r.headers, r.body))
                .catch((e) => send(502, { "content-type": "text/plain; charset=utf-8" }, `The confirmation handler failed: ${String((e as Error)?.message ?? e)}\n`));
        });
    });
    await new Promise<void>((resolve, reject) => {
        server.once("error", (e: NodeJS.ErrnoException) => reject(e.code === "EADDRINUSE" ? new Error(`--port ${port} is in use; choose another port or leave --port out`) : e));
        server.listen(port, "127.0.0.1", () => resolve());
    });
    return {
        baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        served,
        close: async () => {
            server.closeAllConnections();
            await new Promise<void>((r) => server.close(() => r()));
        },
    };
}
