import { expect } from "chai";
import { spawnSync } from "child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "fs";
import * as net from "net";
import { tmpdir } from "os";
import * as path from "path";
import { oneLine } from "../scripts/local/paths";
import { workerCommand } from "../lib/worker-container";
import { ENTRYPOINT_CHECKS, localEntrypoint } from "../scripts/local/entrypoint";
import { localComponents, stackConfig } from "../scripts/local/stack";

// The runner reads LOCAL_STATE_DIR when it loads: point it at a folder of the test's own.
const stateDir = mkdtempSync(path.join(tmpdir(), "local-state-"));
process.env.LOCAL_STATE_DIR = stateDir;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const local = require("../scripts/local/main") as typeof import("../scripts/local/main");

describe("npm run local: bad states", () => {
    it("names a port in use, what it is for, and the process holding it", async () => {
        const server = net.createServer();
        const port = await new Promise<number>((resolve) =>
            server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)),
        );
        try {
            await local.checkPortsFree({ redis: port });
            expect.fail("a taken port was accepted");
        } catch (err) {
            expect(err).to.be.instanceOf(local.LocalError);
            expect((err as Error).message).to.match(
                new RegExp(
                    `^port ${port} \\(for Redis\\) is already in use by \\S+ \\(pid ${process.pid}\\); stop that process and run npm run local again$`,
                ),
            );
        } finally {
            server.close();
        }
    });

    it("says which packages are missing and that installing them needs root", () => {
        expect(local.missingPackagesMessage(["postgresql-15", "redis-server"])).to.equal(
            "postgresql-15 and redis-server are missing, and installing them needs root: run `sudo apt-get install postgresql-15 redis-server`, or npm run local as root",
        );
    });

    it("refuses a second start while one runs, naming its components and the ones that are down", async () => {
        const component = (name: string, state: string, pid: number | null, detail?: string) => ({
            name,
            kind: "service",
            state,
            pid,
            restarts: state === "backoff" ? 2 : 0,
            log: `${name}.log`,
            health: "none",
            detail,
        });
        writeFileSync(
            path.join(stateDir, "state.json"),
            JSON.stringify({
                supervisor: { pid: process.pid, startedAt: "now", ready: true, airflowVersion: "3.0.6" },
                components: [
                    component("scheduler", "running", process.pid),
                    component("worker", "backoff", null, "exited (killed by SIGKILL) after 3.0 s; restarting in 2 s"),
                ],
                importErrors: [],
            }),
        );
        const errors: string[] = [];
        const original = console.error;
        console.error = (text: string) => errors.push(text);
        const begun = Date.now();
        try {
            expect(await local.main(["up"])).to.equal(1);
        } finally {
            console.error = original;
            rmSync(path.join(stateDir, "state.json"));
        }
        expect(Date.now() - begun).to.be.below(2000);
        expect(errors).to.deep.equal([
            `error: Airflow is already running locally (supervisor pid ${process.pid}: scheduler running pid ${process.pid}, worker backoff (exited (killed by SIGKILL) after 3.0 s; restarting in 2 s)); not running now: worker, which the supervisor restarts (npm run local -- status). Use it, or stop it with npm run local -- down.`,
        ]);
    });

    it("reports every error as one line, a multi-line one included", async () => {
        expect(oneLine("Invalid configuration (2 errors):\n  - a is bad\n  - b is bad\n")).to.equal(
            "Invalid configuration (2 errors):; - a is bad; - b is bad",
        );
    });

    it("rejects an unknown command with the ones it knows", async () => {
        const errors: string[] = [];
        const original = console.error;
        console.error = (text: string) => errors.push(text);
        try {
            expect(await local.main(["start"])).to.equal(1);
        } finally {
            console.error = original;
        }
        expect(errors).to.deep.equal([
            "error: unknown command start: use up (default), status [--json], restart <component>, logs <component> [-f], run <dag_id> [--detach], follow <dag_id> <run_id> [--until-started], metrics, down or reset",
        ]);
    });
});

describe("npm run local: the mirrored stack", () => {
    it("runs each of the stack's services with the command its ECS service runs, on loopback ports", () => {
        const config = stackConfig();
        expect(config.celery.workerPools.map((p) => p.name)).to.deep.equal(["default", "large"]);
        expect(localComponents(config)).to.deep.equal([
            ["api-server", "api-server", ["api-server", "--port", "28080", "--host", "127.0.0.1"]],
            ["scheduler", "scheduler", ["scheduler"]],
            ["dag-processor", "dag-processor", ["dag-processor"]],
            ["triggerer", "triggerer", ["triggerer"]],
            // The worker task definition's command: the launcher around `airflow celery worker`.
            ["worker", "worker", workerCommand(["default", "large"], 8)],
            ["flower", "flower", ["python", "-m", "celery", "flower", "--port=25555", "--address=127.0.0.1"]],
        ]);
    });

    it("runs one worker for every pool's queue, and no service the stack does not have", () => {
        const config = stackConfig();
        const pools = [...config.celery.workerPools, { ...config.celery.workerPools[0], name: "gpu" }];
        const components = localComponents({ ...config, celery: { ...config.celery, workerPools: pools } });
        const queuesOf = (args: string[]) => args[args.indexOf("--queues") + 1];
        expect(components.filter(([, c]) => c === "worker").map(([, , args]) => queuesOf(args))).to.deep.equal([
            "default,large,gpu",
        ]);
        const airflow2 = localComponents({ ...config, airflowMajor: 2 });
        expect(airflow2.map(([name]) => name)).to.deep.equal([
            "webserver",
            "scheduler",
            "triggerer",
            "worker",
            "flower",
        ]);
    });

    it("runs the worker's launcher with the Python of the environment, and airflow for the other commands, as the image's entrypoint does", () => {
        const off = [{ name: "CONNECTION_CHECK_MAX_COUNT", value: "0" }];
        const worker = localComponents(stackConfig()).find(([, c]) => c === "worker")![2];
        const { program, args } = localEntrypoint(worker, off);
        expect(program).to.equal("python");
        expect(args[0]).to.equal("-c");
        expect(args[1]).to.equal(readFileSync(path.join(__dirname, "..", "sidecars", "celery_worker.py"), "utf8"));
        expect(args.slice(2, 4)).to.deep.equal(["celery", "worker"]);
        expect(localEntrypoint(["scheduler"], off)).to.deep.equal({ program: "airflow", args: ["scheduler"] });
        expect(localEntrypoint(["airflow", "scheduler"], off)).to.deep.equal({
            program: "airflow",
            args: ["scheduler"],
        });
        expect(localEntrypoint(["bash", "-c", "true"], off)).to.deep.equal({ program: "bash", args: ["-c", "true"] });
        expect(localEntrypoint(["db", "check-migrations"], off)).to.deep.equal({
            program: "airflow",
            args: ["db", "check-migrations"],
        });
    });

    it("runs the entrypoint's connection checks first unless CONNECTION_CHECK_MAX_COUNT is 0, the broker's only before scheduler and celery", () => {
        const checked = (command: string[], environment: { name: string; value: string }[] = []) =>
            localEntrypoint(command, environment);
        // The image's defaults: 20 tries, 3 s apart.
        expect(checked(["db", "check-migrations"])).to.deep.equal({
            program: "bash",
            args: ["-c", ENTRYPOINT_CHECKS, "entrypoint", "20", "3", "0", "airflow", "db", "check-migrations"],
        });
        expect(checked(["scheduler"]).args.slice(3)).to.deep.equal(["20", "3", "1", "airflow", "scheduler"]);
        expect(checked(["celery", "worker"]).args.slice(5, 7)).to.deep.equal(["1", "airflow"]);
        // `python ...` and `bash ...` too are run after the database check, as they are.
        const env = [
            { name: "CONNECTION_CHECK_MAX_COUNT", value: "5" },
            { name: "CONNECTION_CHECK_SLEEP_TIME", value: "1" },
        ];
        expect(checked(["python", "-c", "pass"], env).args.slice(3)).to.deep.equal([
            "5",
            "1",
            "0",
            "python",
            "-c",
            "pass",
        ]);
    });

    describe("the entrypoint's checks, run", () => {
        // A stand-in `airflow` on the PATH: `db check` fails until its counter file reaches FAILURES,
        // `config get-value` answers from the environment, anything else prints its arguments.
        let dir: string;
        before(() => {
            dir = mkdtempSync(path.join(tmpdir(), "entrypoint-"));
            writeFileSync(
                path.join(dir, "airflow"),
                [
                    "#!/bin/bash",
                    'if [[ $1 == db && $2 == check ]]; then n=$(( $(cat "$COUNTER" 2>/dev/null || echo 0) + 1 )); echo $n > "$COUNTER"; (( n > FAILURES )); exit; fi',
                    'if [[ $1 == config ]]; then [[ $4 == executor ]] && echo CeleryExecutor || echo "$BROKER"; exit 0; fi',
                    'echo "ran: $*"',
                ].join("\n"),
                { mode: 0o755 },
            );
        });
        const run = (command: string[], env: Record<string, string>) => {
            const e = localEntrypoint(command, [
                { name: "CONNECTION_CHECK_SLEEP_TIME", value: "0" },
                ...Object.entries(env).map(([name, value]) => ({ name, value })),
            ]);
            return spawnSync(e.program, e.args, {
                env: { PATH: `${dir}:/usr/bin:/bin`, COUNTER: path.join(dir, `n-${Math.random()}`), ...env },
                encoding: "utf8",
            });
        };

        it("retries the database check, then runs the command", () => {
            const r = run(["dag-processor"], { CONNECTION_CHECK_MAX_COUNT: "3", FAILURES: "2" });
            expect(r.status).to.equal(0);
            expect(r.stdout).to.equal("ran: dag-processor\n");
            expect(r.stderr).to.include("entrypoint: airflow db check failed (2 of 3)");
        });

        it("stops with one line when the database never answers, without running the command", () => {
            const r = run(["dag-processor"], { CONNECTION_CHECK_MAX_COUNT: "2", FAILURES: "9" });
            expect(r.status).to.equal(1);
            expect(r.stdout).to.equal("");
            expect(r.stderr.trim().split("\n").pop()).to.equal(
                "error: airflow db check failed 2 times: the entrypoint does not run airflow",
            );
        });

        it("waits for the Celery broker's port before the scheduler", async () => {
            const server = net.createServer((socket) => socket.end());
            await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
            const port = (server.address() as net.AddressInfo).port;
            try {
                const open = run(["scheduler"], {
                    CONNECTION_CHECK_MAX_COUNT: "2",
                    FAILURES: "0",
                    BROKER: `rediss://:secret@127.0.0.1:${port}/0?ssl_cert_reqs=required`,
                });
                expect(open.status, open.stderr).to.equal(0);
                expect(open.stdout).to.equal("ran: scheduler\n");
            } finally {
                server.close();
            }
            const closed = run(["scheduler"], {
                CONNECTION_CHECK_MAX_COUNT: "2",
                FAILURES: "0",
                BROKER: `redis://:secret@127.0.0.1:${port}/0`,
            });
            expect(closed.status).to.equal(1);
            expect(closed.stderr).to.include(`error: the broker at 127.0.0.1:${port} failed 2 times`);
        });
    });

    it("reads the stack file through the config parser, without the test harness's mocks", () => {
        for (const file of ["stack.ts", "units.ts", "main.ts", "daemon.ts"]) {
            const source = readFileSync(path.join(__dirname, "..", "scripts", "local", file), "utf8");
            expect(source, file).not.to.match(/tools\/harness|setMocks/);
        }
        const source = readFileSync(path.join(__dirname, "..", "scripts", "local", "stack.ts"), "utf8");
        expect(source).to.contain("parseConfig(");
        expect(source).to.contain("airflowServices(");
    });
});
