// How the CLI talks to the supervisor daemon: HTTP on a unix socket in .local/ (only this user can
// reach it; no port to collide with). Both ends are here, so the protocol lives in one place.
//
//   GET  /status              {supervisor, components, importErrors}
//   GET  /events?since=N      the supervisor's events after N, as NDJSON; `&follow=1` keeps streaming
//   POST /restart?unit=NAME   restarts one component, answers once it is started again
//   POST /down                stops everything; answers when it is stopped, then the daemon exits
import * as http from "http";
import { LocalError } from "./paths";

export interface ControlHandlers {
    status(): unknown;
    events(since: number, write: (line: unknown) => void): () => void;
    restart(unit: string): Promise<void>;
    down(): Promise<void>;
}

export function serveControl(socket: string, handlers: ControlHandlers): http.Server {
    const server = http.createServer((req, res) => {
        const url = new URL(req.url ?? "/", "http://local");
        const reply = (code: number, body: unknown) => {
            res.writeHead(code, { "Content-Type": "application/json" });
            res.end(JSON.stringify(body));
        };
        const fail = (err: unknown) => reply(400, { error: (err as Error).message });
        if (req.method === "GET" && url.pathname === "/status") return reply(200, handlers.status());
        if (req.method === "GET" && url.pathname === "/events") {
            res.writeHead(200, { "Content-Type": "application/x-ndjson" });
            const since = Number(url.searchParams.get("since") ?? 0);
            const follow = url.searchParams.get("follow") === "1";
            const unsubscribe = handlers.events(since, (line) => res.write(`${JSON.stringify(line)}\n`));
            if (!follow) {
                unsubscribe();
                return res.end();
            }
            req.on("close", unsubscribe);
            return;
        }
        if (req.method === "POST" && url.pathname === "/restart") {
            return void handlers.restart(url.searchParams.get("unit") ?? "").then(() => reply(200, { ok: true }), fail);
        }
        if (req.method === "POST" && url.pathname === "/down") {
            return void handlers.down().then(() => reply(200, { ok: true }), fail);
        }
        reply(404, { error: `no ${req.method} ${url.pathname}` });
    });
    server.listen(socket);
    return server;
}

/** One request to the daemon; rejects with a LocalError (one line) when it cannot be reached or refuses. */
export function control<T>(socket: string, method: "GET" | "POST", pathname: string, timeoutMs = 60_000): Promise<T> {
    return new Promise((resolve, reject) => {
        const req = http.request({ socketPath: socket, method, path: pathname, timeout: timeoutMs }, (res) => {
            let body = "";
            res.setEncoding("utf8");
            res.on("data", (chunk) => (body += chunk));
            res.on("end", () => {
                let parsed: { error?: string };
                try {
                    parsed = JSON.parse(body);
                } catch {
                    return reject(
                        new LocalError(`the supervisor answered ${method} ${pathname} with ${res.statusCode}`),
                    );
                }
                if (res.statusCode !== 200) return reject(new LocalError(parsed.error ?? `HTTP ${res.statusCode}`));
                resolve(parsed as T);
            });
        });
        req.on("timeout", () => req.destroy(new Error(`no answer in ${timeoutMs / 1000} s`)));
        req.on("error", (err: NodeJS.ErrnoException) =>
            reject(new LocalError(`the supervisor does not answer on ${socket} (${err.code ?? err.message})`)),
        );
        req.end();
    });
}

/** Streams the daemon's events to `onEvent` until it returns true, `stop()` is called, or the daemon goes away. */
export function followEvents<E>(
    socket: string,
    since: number,
    onEvent: (e: E) => boolean | void,
): { done: Promise<void>; stop: () => void } {
    let req: http.ClientRequest | undefined;
    const done = new Promise<void>((resolve, reject) => {
        req = http.request({ socketPath: socket, method: "GET", path: `/events?since=${since}&follow=1` }, (res) => {
            let buffer = "";
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
                buffer += chunk;
                let nl: number;
                while ((nl = buffer.indexOf("\n")) >= 0) {
                    const line = buffer.slice(0, nl);
                    buffer = buffer.slice(nl + 1);
                    if (line && onEvent(JSON.parse(line) as E) === true) {
                        req?.destroy();
                        return resolve();
                    }
                }
            });
            res.on("end", () => resolve());
            res.on("error", () => resolve());
            res.on("close", () => resolve());
        });
        req.on("error", (err: NodeJS.ErrnoException) => {
            if (err.code === "ECONNRESET" || err.message === "socket hang up" || req?.destroyed) return resolve();
            reject(new LocalError(`the supervisor does not answer on ${socket} (${err.code ?? err.message})`));
        });
        req.end();
    });
    return { done, stop: () => req?.destroy() };
}
