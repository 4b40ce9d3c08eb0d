// The Airflow REST API of the local stack, as `run` and the supervisor use it: a token from the admin
// login, renewed when it expires, and patience while the api-server restarts (connection refused,
// 502/503) so that a run being followed survives it. Errors are LocalErrors: one line each.
import { LocalError, PORTS } from "./paths";

export class HttpError extends LocalError {
    constructor(
        message: string,
        readonly status: number,
    ) {
        super(message);
    }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Why a request did not reach the api-server, in a few words (fetch's own error is "fetch failed"). */
export function networkReason(err: unknown): string {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    return cause?.code ?? cause?.message ?? (err as Error).message;
}

export class AirflowApi {
    private token?: string;
    private outage?: number;

    constructor(
        private readonly username: string,
        private readonly password: string,
        /** Told once when the api-server stops answering and once when it is back. */
        private readonly notify: (text: string) => void = () => {},
        /** How long to wait for the api-server to come back before giving up. */
        private readonly patienceS = 180,
        /** While waiting: a reason to stop at once (e.g. the stack was stopped), or undefined. */
        private readonly giveUp: () => string | undefined = () => undefined,
        readonly baseUrl = `http://127.0.0.1:${PORTS.apiServer}`,
    ) {}

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the REST API's JSON, read field by field
    async call(pathname: string, init: RequestInit = {}): Promise<any> {
        const deadline = Date.now() + this.patienceS * 1000;
        for (;;) {
            let response: Response;
            try {
                if (!this.token && !pathname.startsWith("/auth/")) this.token = await this.login();
                response = await fetch(`${this.baseUrl}${pathname}`, {
                    ...init,
                    signal: AbortSignal.timeout(30_000),
                    headers: {
                        "Content-Type": "application/json",
                        ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}),
                        ...(init.headers ?? {}),
                    },
                });
            } catch (err) {
                if (err instanceof HttpError && err.status < 500) throw err;
                const reason = err instanceof HttpError ? err.message : networkReason(err);
                const stop = this.giveUp();
                if (stop) throw new LocalError(`${stop} (the api-server: ${reason})`);
                if (Date.now() > deadline)
                    throw new LocalError(
                        `the api-server has not answered for ${this.patienceS} s (${reason}); see npm run local -- status`,
                    );
                if (this.outage === undefined) {
                    this.outage = Date.now();
                    this.notify(`the api-server does not answer (${reason}); waiting for it`);
                }
                await sleep(1000);
                continue;
            }
            if (response.status === 401 && this.token && !pathname.startsWith("/auth/")) {
                this.token = undefined; // expired, or signed by a key of an earlier start
                continue;
            }
            if ((response.status === 502 || response.status === 503) && Date.now() < deadline) {
                await sleep(1000);
                continue;
            }
            if (this.outage !== undefined) {
                this.notify(`the api-server answers again after ${((Date.now() - this.outage) / 1000).toFixed(1)} s`);
                this.outage = undefined;
            }
            const body = await response.text();
            if (!response.ok) {
                const detail = body.slice(0, 300).replace(/\s+/g, " ");
                throw new HttpError(
                    `${init.method ?? "GET"} ${pathname}: HTTP ${response.status} ${detail}`,
                    response.status,
                );
            }
            return body ? JSON.parse(body) : undefined;
        }
    }

    private async login(): Promise<string> {
        const response = await fetch(`${this.baseUrl}/auth/token`, {
            method: "POST",
            signal: AbortSignal.timeout(30_000),
            headers: { "Content-Type": "application/json" },
            body: JSON.stringify({ username: this.username, password: this.password }),
        });
        if (!response.ok) throw new HttpError(`POST /auth/token: HTTP ${response.status}`, response.status);
        return ((await response.json()) as { access_token: string }).access_token;
    }
}

export interface ImportError {
    file: string;
    error: string;
}

/** The DAG processor's import errors, each with its file and the last line of its error. */
export async function importErrors(api: AirflowApi): Promise<ImportError[]> {
    const r = await api.call("/api/v2/importErrors?limit=100");
    return (r.import_errors as { filename: string; stack_trace: string }[])
        .map((e) => ({
            file: e.filename,
            error: e.stack_trace.trim().split("\n").filter(Boolean).slice(-1)[0] ?? "",
        }))
        .sort((a, b) => (a.file < b.file ? -1 : 1));
}
