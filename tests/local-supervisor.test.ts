import { expect } from "chai";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { backoffSeconds, Supervisor, SupervisorEvent, UnitSpec } from "../scripts/local/supervisor";

// The supervisor of `npm run local`, on units that are small shell scripts: what it does when a unit
// exits, fails, stays unhealthy or will not stop, and in which order it starts and stops them.
const dir = mkdtempSync(path.join(tmpdir(), "supervisor-"));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function unit(name: string, script: string, more: Partial<UnitSpec> = {}): UnitSpec {
    return {
        name,
        kind: "service",
        command: "sh",
        args: ["-c", script],
        env: { PATH: process.env.PATH },
        cwd: dir,
        ...more,
    };
}

async function until(what: string, condition: () => boolean, timeoutMs = 8000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
        if (Date.now() > deadline) expect.fail(`${what} did not happen in ${timeoutMs} ms`);
        await sleep(50);
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
        return false;
    }
}

describe("npm run local: the supervisor", () => {
    let supervisor: Supervisor | undefined;
    const events: SupervisorEvent[] = [];
    const make = (units: UnitSpec[]) => {
        events.length = 0;
        supervisor = new Supervisor(units, (u) => path.join(dir, `${u}.log`));
        supervisor.subscribe((e) => events.push(e));
        return supervisor;
    };
    const original = console.log;
    beforeEach(() => (console.log = () => {}));
    afterEach(async () => {
        await supervisor?.stopAll();
        supervisor = undefined;
        console.log = original;
    });

    it("backs off 1, 2, 4, 8, 16, then 30 s between restarts of a unit that keeps exiting", () => {
        expect([1, 2, 3, 4, 5, 6, 9].map(backoffSeconds)).to.deep.equal([1, 2, 4, 8, 16, 30, 30]);
    });

    it("restarts a service that exits, counts the restart and reports why it exited", async () => {
        const s = make([unit("crasher", "sleep 0.2; exit 3")]);
        s.start();
        await until("a restart", () => s.status("crasher")!.restarts === 1 && s.status("crasher")!.state === "running");
        expect(events.map((e) => e.text)).to.include.members([events.find((e) => e.text.startsWith("exited"))!.text]);
        expect(events.find((e) => e.text.startsWith("exited"))!.text).to.match(
            /^exited \(exit code 3\) after 0\.\d s; restarting in 1 s$/,
        );
        expect(s.status("crasher")!.lastExit).to.include({ code: 3, signal: null });
    });

    it("restarts a service killed with SIGKILL, with a new pid", async () => {
        const s = make([unit("victim", "exec sleep 60")]);
        s.start();
        await until("the start", () => s.status("victim")!.pid !== null);
        const first = s.status("victim")!.pid!;
        process.kill(first, "SIGKILL");
        await until("the restart", () => s.status("victim")!.restarts === 1 && s.status("victim")!.pid !== null);
        expect(s.status("victim")!.pid).to.not.equal(first);
        expect(s.status("victim")!.lastExit!.signal).to.equal("SIGKILL");
    });

    it("starts a unit only once what it depends on succeeded, or is healthy", async () => {
        const marker = path.join(dir, "migrated");
        const s = make([
            unit("migrate", `sleep 0.3; touch ${marker}`, { kind: "oneshot" }),
            unit("db", "exec sleep 60", {
                healthCheck: {
                    check: async () => ({ healthy: existsSync(marker) }),
                    intervalS: 1,
                    timeoutS: 1,
                    retries: 3,
                    startPeriodS: 10,
                },
            }),
            unit("app", `test -e ${marker} && exec sleep 60`, {
                dependsOn: [
                    { unit: "migrate", condition: "SUCCESS" },
                    { unit: "db", condition: "HEALTHY" },
                ],
            }),
        ]);
        s.start();
        expect(s.status("app")!.state).to.equal("waiting");
        await until("app runs", () => s.status("app")!.state === "running");
        expect(s.status("migrate")!.state).to.equal("succeeded");
        expect(s.status("db")!.health).to.equal("healthy");
        await sleep(300);
        expect(s.status("app")!.restarts).to.equal(0); // it found what it needed when it started
        expect(s.settled()).to.equal(true);
    });

    it("never starts what depends on a oneshot that failed, and says which failed", async () => {
        const s = make([
            unit("migrate", "exit 2", { kind: "oneshot" }),
            unit("app", "exec sleep 60", { dependsOn: [{ unit: "migrate", condition: "SUCCESS" }] }),
        ]);
        s.start();
        await until("the failure", () => s.failedUnit() !== undefined);
        expect(s.failedUnit()).to.include({ name: "migrate", state: "failed", detail: "exit code 2" });
        await sleep(200);
        expect(s.status("app")!.state).to.equal("waiting");
    });

    it("stops every container of a task when an essential one exits, and starts the whole task again, its oneshots too", async () => {
        const runs = path.join(dir, "task-runs");
        const started: string[] = [];
        const s = new Supervisor(
            [
                unit("prepare", `echo run >> ${runs}`, { kind: "oneshot", task: "t", essential: false }),
                unit("sidecar", "exec sleep 60", { task: "t", dependsOn: [{ unit: "prepare", condition: "SUCCESS" }] }),
                unit("main", "exec sleep 60", { task: "t", dependsOn: [{ unit: "sidecar", condition: "START" }] }),
                unit("other", "exec sleep 60"),
            ],
            (u) => path.join(dir, `${u}.log`),
            () => {},
            (task) => started.push(task),
        );
        supervisor = s;
        s.start();
        await until("the task runs", () => s.status("main")!.state === "running");
        const main = s.status("main")!.pid!;
        const other = s.status("other")!.pid!;
        process.kill(s.status("sidecar")!.pid!, "SIGKILL"); // an essential sidecar dies
        await until(
            "the task again",
            () => s.status("main")!.state === "running" && s.status("main")!.pid !== main,
            10_000,
        );
        expect(readFileSync(runs, "utf8").trim().split("\n")).to.deep.equal(["run", "run"]);
        expect(started).to.deep.equal(["t", "t"]);
        expect(s.status("other")!.pid).to.equal(other); // another task is not touched
        expect(s.status("sidecar")!.restarts).to.equal(1);
    });

    it("fails a container that cannot start, with the reason, and never starts what depends on it", async () => {
        const s = make([
            unit("dag-sync", "exec sleep 60", {
                task: "t",
                preStart: () => {
                    throw new Error("container dag-sync of task t cannot write its volume dags at /opt/airflow/dags");
                },
            }),
            unit("main", "exec sleep 60", { task: "t", dependsOn: [{ unit: "dag-sync", condition: "HEALTHY" }] }),
        ]);
        s.start();
        await until("the failure", () => s.failedUnit() !== undefined);
        expect(s.failedUnit()).to.include({
            name: "dag-sync",
            state: "failed",
            pid: null,
            detail: "cannot start: container dag-sync of task t cannot write its volume dags at /opt/airflow/dags",
        });
        await sleep(200);
        expect(s.status("main")!.state).to.equal("waiting");
    });

    it("skips a oneshot that has nothing to do, and counts it as a success", async () => {
        const s = make([
            unit("migrate", "exit 1", { kind: "oneshot", skipIf: async () => "already at head" }),
            unit("app", "exec sleep 60", { dependsOn: [{ unit: "migrate", condition: "SUCCESS" }] }),
        ]);
        s.start();
        await until("app runs", () => s.status("app")!.state === "running");
        expect(s.status("migrate")).to.include({ state: "skipped", detail: "already at head" });
    });

    it("restarts a service that stays unhealthy after its start period", async () => {
        const s = make([
            unit("hung", "exec sleep 60", {
                healthCheck: {
                    check: async () => ({ healthy: false, detail: "no heartbeat" }),
                    intervalS: 1,
                    timeoutS: 1,
                    retries: 2,
                    startPeriodS: 0.5,
                },
            }),
        ]);
        s.start();
        await until("the restart", () => s.status("hung")!.restarts === 1, 10_000);
        expect(events.map((e) => e.text)).to.include("unhealthy: no heartbeat");
    });

    it("gives a restarted service its start period again, instead of killing it as unhealthy at once", async () => {
        const s = make([
            unit("slow", "exec sleep 60", {
                healthCheck: {
                    // healthy only 2 s after each start, like an api-server importing Airflow
                    check: async (status) => ({ healthy: Date.now() - Date.parse(status.startedAt!) > 2000 }),
                    intervalS: 1,
                    timeoutS: 1,
                    retries: 2,
                    startPeriodS: 5,
                },
            }),
        ]);
        s.start();
        await until("healthy", () => s.status("slow")!.health === "healthy", 10_000);
        const startedAt = Date.now();
        process.kill(s.status("slow")!.pid!, "SIGKILL");
        await until(
            "healthy again",
            () => s.status("slow")!.restarts === 1 && s.status("slow")!.health === "healthy",
            10_000,
        );
        expect(Date.now() - startedAt).to.be.above(2000);
        expect(events.filter((e) => e.text.startsWith("unhealthy"))).to.deep.equal([]);
    });

    it("stops the application tier before the infrastructure, and kills what ignores its stop signal", async () => {
        const order = path.join(dir, "order");
        writeFileSync(order, "");
        const s = make([
            unit("db", `trap 'echo db >> ${order}; exit 0' TERM; while :; do sleep 0.1; done`, { stopTier: 2 }),
            unit("stubborn", `trap '' TERM; sleep 60 & wait; wait`, { stopTimeoutS: 1 }),
            unit("app", `trap 'echo app >> ${order}; exit 0' TERM; while :; do sleep 0.1; done`),
        ]);
        s.start();
        await until("all run", () => s.statuses().every((u) => u.pid !== null));
        await sleep(200);
        const pids = s.statuses().map((u) => u.pid!);
        const begun = Date.now();
        await s.stopAll();
        expect(Date.now() - begun).to.be.below(3000);
        expect(readFileSync(order, "utf8").trim().split("\n")).to.deep.equal(["app", "db"]);
        expect(events.map((e) => e.text)).to.include("still running 1 s after SIGTERM: killing it");
        await sleep(200);
        expect(pids.filter(alive)).to.deep.equal([]);
        expect(s.statuses().map((u) => u.state)).to.deep.equal(["stopped", "stopped", "stopped"]);
    });

    it("kills a stopping unit as soon as its log says it stopped cleanly, not after its stop timeout", async () => {
        // Like the api-server: uvicorn logs "Finished server process", then the interpreter lingers.
        const s = make([
            unit(
                "api",
                `echo 'Finished server process [0] (an earlier start)'; trap 'echo Finished server process; sleep 60' TERM; while :; do sleep 0.1; done`,
                {
                    stopTimeoutS: 5,
                    stoppedWhenLogged: /Finished server process/,
                },
            ),
        ]);
        s.start();
        await until("the start", () => s.status("api")!.pid !== null);
        await sleep(300); // its earlier line is in the log before the stop: it does not count
        const begun = Date.now();
        await s.stopAll();
        expect(Date.now() - begun).to.be.below(1500);
        expect(events.map((e) => e.text)).to.not.include("still running 5 s after SIGTERM: killing it");
    });

    it("checks a starting unit's health every startPollS until its first success", async () => {
        let checks = 0;
        const s = make([
            unit("web", "exec sleep 60", {
                healthCheck: {
                    check: async () => ({ healthy: ++checks >= 4 }),
                    intervalS: 30,
                    timeoutS: 1,
                    retries: 3,
                    startPeriodS: 30,
                    startPollS: 0.1,
                },
            }),
        ]);
        const begun = Date.now();
        s.start();
        await until("healthy", () => s.status("web")!.health === "healthy", 3000);
        // Four checks 0.1 s apart (not a second apart), then none until the interval.
        expect(Date.now() - begun).to.be.below(900);
        await sleep(300);
        expect(checks).to.equal(4);
    });
});

describe("npm run local: the control socket between the CLI and the supervisor", () => {
    it("answers status, streams events until the CLI has what it waits for, and reports a refusal as one line", async () => {
        const { serveControl, control, followEvents } = await import("../scripts/local/control");
        const socket = path.join(dir, "control.sock");
        const listeners: ((e: unknown) => void)[] = [];
        const server = serveControl(socket, {
            status: () => ({ components: [{ name: "worker", state: "running" }] }),
            events: (since, write) => {
                for (const seq of [1, 2, 3].filter((n) => n > since)) write({ seq, text: `event ${seq}` });
                listeners.push(write);
                return () => listeners.splice(listeners.indexOf(write), 1);
            },
            restart: async (unit) => {
                if (unit !== "worker") throw new Error(`no component ${unit}: worker`);
            },
            down: async () => {},
        });
        await new Promise((r) => server.once("listening", r));
        let stopFollowing = () => {};
        try {
            expect(await control(socket, "GET", "/status")).to.deep.equal({
                components: [{ name: "worker", state: "running" }],
            });
            const seen: number[] = [];
            const follow = followEvents<{ seq: number }>(socket, 1, (e) => {
                seen.push(e.seq);
                return e.seq === 4;
            });
            stopFollowing = follow.stop;
            await until("the backlog", () => seen.length === 2);
            listeners.forEach((l) => l({ seq: 4, text: "ready" }));
            await follow.done;
            expect(seen).to.deep.equal([2, 3, 4]);
            await control(socket, "POST", "/restart?unit=worker");
            try {
                await control(socket, "POST", "/restart?unit=nope");
                expect.fail("an unknown component was restarted");
            } catch (err) {
                expect((err as Error).message).to.equal("no component nope: worker");
            }
        } finally {
            stopFollowing();
            server.close();
        }
        try {
            await control(path.join(dir, "absent.sock"), "GET", "/status");
            expect.fail("a missing supervisor answered");
        } catch (err) {
            expect((err as Error).message).to.match(/^the supervisor does not answer on \S+absent\.sock \(ENOENT\)$/);
        }
    });
});
