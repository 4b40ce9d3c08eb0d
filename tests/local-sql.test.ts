import { expect } from "chai";
import { ChildProcess, execFileSync, spawn } from "child_process";
import { chmodSync, mkdtempSync, rmSync } from "fs";
import * as net from "net";
import { tmpdir } from "os";
import * as path from "path";
import { ensureSystemPackages } from "../scripts/local/main";
import { psqlRows, sqlClient } from "../scripts/local/sql";
import { initdbScript, PG_BIN } from "../scripts/local/units";

describe("the local runner's SQL client (scripts/local/sql.ts)", () => {
    describe("psqlRows: rows as psql -tA prints them", () => {
        const cases: [string, unknown[][], string][] = [
            ["no rows", [], ""],
            ["one column", [["8a3b"]], "8a3b"],
            [
                "columns joined by |, rows by newlines",
                [
                    ["SchedulerJob", "1733140000.25", "2"],
                    ["TriggererJob", "1733140001", "0"],
                ],
                "SchedulerJob|1733140000.25|2\nTriggererJob|1733140001|0",
            ],
            ["NULL as an empty field", [["DagProcessorJob", null, "3"]], "DagProcessorJob||3"],
            ["numbers and booleans as text", [[1, true]], "1|true"],
        ];
        for (const [name, rows, text] of cases) {
            it(name, () => expect(psqlRows({ rows })).to.equal(text));
        }
    });

    describe("against a real PostgreSQL, restarted under it", function () {
        this.timeout(180_000);
        const password = "local-sql-test";
        let dir: string;
        let port: number;
        let server: ChildProcess | undefined;
        const asRoot = process.getuid?.() === 0;
        const idOf = (flag: string) => Number(execFileSync("id", [flag, "postgres"], { encoding: "utf8" }).trim());

        const freePort = (): Promise<number> =>
            new Promise((resolve) => {
                const s = net.createServer().listen(0, "127.0.0.1", () => {
                    const p = (s.address() as net.AddressInfo).port;
                    s.close(() => resolve(p));
                });
            });
        const start = async (): Promise<void> => {
            const args = [
                "-D",
                dir,
                "-p",
                String(port),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ];
            // As root, as the postgres user (PostgreSQL refuses to run as root), as the supervisor runs it.
            const user = asRoot ? { uid: idOf("-u"), gid: idOf("-g") } : {};
            server = spawn(path.join(PG_BIN, "postgres"), args, { stdio: "ignore", ...user });
            for (let i = 0; i < 100; i++) {
                try {
                    execFileSync(path.join(PG_BIN, "pg_isready"), ["-h", "127.0.0.1", "-p", String(port)], {
                        stdio: "ignore",
                    });
                    return;
                } catch {
                    await new Promise((r) => setTimeout(r, 100));
                }
            }
            throw new Error("PostgreSQL did not start");
        };
        const stop = (): Promise<void> =>
            new Promise((resolve) => {
                if (!server || server.exitCode !== null) return resolve();
                server.once("exit", () => resolve());
                // PostgreSQL's fast shutdown: it ends every session.
                server.kill("SIGINT");
            });

        before(async () => {
            // The packages npm run local installs (as root, when missing): PostgreSQL 15 among them.
            if (asRoot) ensureSystemPackages();
            dir = mkdtempSync(path.join(tmpdir(), "local-sql-"));
            chmodSync(dir, 0o755);
            const data = path.join(dir, "data");
            execFileSync("bash", ["-c", initdbScript(data, asRoot)], {
                env: { PATH: process.env.PATH, PG_BIN, PG_PASSWORD: password, LANG: "C.UTF-8" },
                stdio: "ignore",
            });
            dir = data;
            port = await freePort();
            await start();
        });
        after(async () => {
            await stop();
            rmSync(path.dirname(dir), { recursive: true, force: true });
        });

        it("answers over one connection, reconnects after PostgreSQL restarts, and reports errors as one line", async () => {
            const db = sqlClient({ host: "127.0.0.1", port, user: "airflow", password, database: "postgres" });
            try {
                const backend = await db.query("SELECT pg_backend_pid()");
                expect(await db.query("SELECT pg_backend_pid()")).to.equal(backend); // the same connection
                expect(await db.query("SELECT 'a', NULL::text, 2 UNION ALL SELECT 'b', 'c', 3")).to.equal(
                    "a||2\nb|c|3",
                );
                // A failed statement rejects with the server's message and leaves the connection usable.
                let message = "";
                await db.query("SELECT * FROM no_such_table").catch((e: Error) => (message = e.message));
                expect(message).to.equal('relation "no_such_table" does not exist');
                expect(await db.query("SELECT pg_backend_pid()")).to.equal(backend);
                // PostgreSQL stops: the query fails with one line; once it is back, the next one reconnects.
                await stop();
                message = "";
                await db.query("SELECT 1").catch((e: Error) => (message = e.message));
                expect(message).to.match(/^[^\n]+$/);
                await start();
                const again = await db.query("SELECT pg_backend_pid()");
                expect(again).to.match(/^\d+$/);
                expect(again).to.not.equal(backend);
            } finally {
                await db.close();
            }
        });
    });
});
