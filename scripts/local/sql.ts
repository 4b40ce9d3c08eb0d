// SQL against the local PostgreSQL for the runner's own checks (the Airflow jobs' heartbeats, the
// database's migration revision), over one connection kept open (node-postgres). These checks poll
// every 0.25 s while the stack starts: with a psql process and a new server backend per query they
// ran 44 times a warm boot at about 70 ms of CPU each (3 CPU-seconds of a boot on two cores).
import { Client, QueryResult } from "pg";

/** A query's rows as psql -tA prints them: the columns joined by |, one row a line, NULL as "". */
export function psqlRows(result: Pick<QueryResult<unknown[]>, "rows">): string {
    return result.rows
        .map((row) => row.map((v) => (v === null || v === undefined ? "" : String(v))).join("|"))
        .join("\n");
}

export interface SqlConnection {
    host: string;
    port: number;
    user: string;
    password: string;
    database: string;
}

/** Gives up on a query (and its connection) after this long: a health check then fails, and the next one reconnects. */
export const QUERY_TIMEOUT_MS = 5_000;

/**
 * Runs queries over one connection, opened at the first query and again after any error (PostgreSQL
 * restarted by its supervisor, or stopped by `down`): resolves psqlRows of the result, rejects with
 * the server's or the driver's one-line message.
 */
export function sqlClient(connection: SqlConnection): {
    query: (sql: string) => Promise<string>;
    close: () => Promise<void>;
} {
    let client: Promise<Client> | undefined;
    const open = (): Promise<Client> => {
        const c = new Client({
            ...connection,
            query_timeout: QUERY_TIMEOUT_MS,
            connectionTimeoutMillis: QUERY_TIMEOUT_MS,
        });
        // A connection the server ends (fast shutdown) emits an error: it is dropped, never thrown.
        c.on("error", () => drop(c));
        return c.connect().then(
            () => c,
            (err: Error) => {
                drop(c);
                throw err;
            },
        );
    };
    const drop = (c: Client): void => {
        client = undefined;
        c.end().catch(() => undefined);
    };
    return {
        query: async (sql) => {
            client ??= open();
            const c = await client;
            try {
                return psqlRows(await c.query({ text: sql, rowMode: "array" }));
            } catch (err) {
                // A broken or timed-out connection is not reused; a failed statement leaves it usable.
                if (!(err as { code?: string }).code) drop(c);
                throw new Error((err as Error).message.split("\n")[0], { cause: err });
            }
        },
        close: async () => {
            const c = client;
            client = undefined;
            if (c) await c.then((x) => x.end()).catch(() => undefined);
        },
    };
}
