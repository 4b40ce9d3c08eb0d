import { expect } from "chai";
import { existsSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { renderStack } from "../scripts/local/stack";
import { logSinceStart, startMarker } from "../scripts/local/supervisor";
import { cpuNice } from "../scripts/local/tasks";
import { LOCAL_DIFFERENCES, WORKER_READY_LINE, youngestHeartbeat } from "../scripts/local/units";

// What the local stack's health checks read, and the local settings every Airflow process starts with.
const dir = mkdtempSync(path.join(tmpdir(), "local-checks-"));

describe("npm run local: what the health checks read", () => {
    it("reads only the lines a unit's log got since its last start", () => {
        const log = path.join(dir, "worker.log");
        writeFileSync(
            log,
            [
                startMarker(0, new Date("2026-12-02T07:00:00Z")),
                `${WORKER_READY_LINE}\n`,
                "warm shutdown\n",
                startMarker(1, new Date("2026-12-02T07:01:00Z")),
                "starting again\n",
            ].join(""),
        );
        expect(logSinceStart(log)).to.equal("starting again\n");
        expect(logSinceStart(log)).not.to.contain(WORKER_READY_LINE);
    });

    it("takes the whole tail when the last start is further back than the tail, and nothing from a missing log", () => {
        const log = path.join(dir, "long.log");
        writeFileSync(log, `${startMarker(0)}${"x".repeat(100)}\n${WORKER_READY_LINE}\n`);
        expect(logSinceStart(log, 40)).to.contain(WORKER_READY_LINE);
        expect(logSinceStart(log, 40)).not.to.contain("started by the supervisor");
        expect(logSinceStart(path.join(dir, "none.log"))).to.equal("");
    });

    it("reads the freshest heartbeat of a job of the asked type that started with this start of the unit", () => {
        const rows = [
            "SchedulerJob|1000|3",
            "SchedulerJob|1100|1",
            "TriggererJob|1100|0",
            // A job of a previous start, still marked running (its process was killed).
            "DagProcessorJob|900|400",
        ].join("\n");
        expect(youngestHeartbeat(rows, "SchedulerJob", 995)).to.equal(1);
        expect(youngestHeartbeat(rows, "SchedulerJob", 1050)).to.equal(1);
        expect(youngestHeartbeat(rows, "TriggererJob", 1050)).to.equal(0);
        expect(youngestHeartbeat(rows, "DagProcessorJob", 995)).to.equal(undefined);
        expect(youngestHeartbeat("", "SchedulerJob", 0)).to.equal(undefined);
        // A job without a heartbeat yet counts as none.
        expect(youngestHeartbeat("SchedulerJob|1100|", "SchedulerJob", 1000)).to.equal(undefined);
    });
});

describe("npm run local: the local settings", () => {
    const rendered = renderStack({
        key: "test",
        airflowVersion: undefined,
        dagsFolder: "dags",
        extra: { ...LOCAL_DIFFERENCES },
    });

    it("starts every Airflow process with Python's start-up hook of the runner on its PYTHONPATH", () => {
        expect(existsSync(path.join(LOCAL_DIFFERENCES.PYTHONPATH, "sitecustomize.py"))).to.equal(true);
        for (const [component] of rendered.components) {
            const env = rendered.environments[component as keyof typeof rendered.environments]!;
            const value = env.environment.find((e) => e.name === "PYTHONPATH")?.value;
            expect(value, component).to.equal(LOCAL_DIFFERENCES.PYTHONPATH);
        }
    });
});

describe("npm run local: CPU weights from the task definitions", () => {
    it("weighs a task's processes in proportion to its CPU units, as nice values (1024 units: 0)", () => {
        const table: [number, number][] = [
            [1024, 0],
            [512, 3],
            [256, 6],
            [2048, -3],
            [4096, -6],
            [16, 19],
        ];
        for (const [units, nice] of table) expect(cpuNice(units), `${units} units`).to.equal(nice);
    });
});
