import { expect } from "chai";
import { execFileSync } from "child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { RDS_CA_CONTAINER, RDS_CA_VOLUME } from "../components/celery/tls";
import { localEntrypoint } from "../scripts/local/entrypoint";
import { renderStack } from "../scripts/local/stack";
import { containerDependsOn, prepareAirflowHome } from "../scripts/local/units";
import {
    checkMounts,
    ContainerDef,
    createTaskVolumes,
    imageVolumes,
    localMounts,
    mapPaths,
    parseUser,
    programImageVolumes,
    TaskDef,
} from "../scripts/local/tasks";

// The local stack runs the Celery layout's task definitions as Fargate runs them (scripts/local/tasks.ts).
const rendered = renderStack({ key: "test", airflowVersion: undefined, dagsFolder: "dags", extra: {} });
const task = (name: string) => rendered.tasks.find((t) => t.name === name)!;
const container = (t: TaskDef, name: string) => t.containers.find((c) => c.name === name)!;
const root = process.getuid?.() === 0;

/** The dag-processor's task as it was before the fix of issue 13: no prepare-dags, dag-sync on the bare volume. */
function withOldDagsVolumeDefect(t: TaskDef): TaskDef {
    const strip = (c: ContainerDef): ContainerDef => ({
        ...c,
        dependsOn: (c.dependsOn ?? []).filter((d) => d.containerName !== "prepare-dags"),
    });
    return { ...t, containers: t.containers.filter((c) => c.name !== "prepare-dags").map(strip) };
}

describe("npm run local: the task definitions, run as Fargate runs them", () => {
    it("starts every container with secrets only once the seed has stored them in moto, as ECS resolves them at start", () => {
        let checked = 0;
        for (const t of rendered.tasks) {
            for (const c of t.containers) {
                const waits = containerDependsOn(t, c).some((d) => d.unit === "seed" && d.condition === "SUCCESS");
                expect(waits, `${t.name}/${c.name}`).to.equal((c.secrets ?? []).length > 0);
                if (waits) checked++;
            }
        }
        // Flower, whose only other wait is Redis, among them.
        expect(containerDependsOn(task("flower"), container(task("flower"), "flower"))).to.deep.equal([
            { unit: "redis", condition: "HEALTHY" },
            { unit: "seed", condition: "SUCCESS" },
        ]);
        expect(checked).to.be.greaterThan(5);
    });

    it("renders every container of the program's task definitions, with their users, dependencies and health checks", () => {
        expect(rendered.tasks.map((t) => t.name)).to.deep.equal([
            "control",
            "api-server",
            "scheduler",
            "dag-processor",
            "triggerer",
            "worker",
            "flower",
        ]);
        expect(task("control").containers.map((c) => [c.name, c.essential, c.user])).to.deep.equal([
            ["migrate", false, "50000:0"],
            ["queue-metrics", true, "50000:0"],
        ]);
        const dp = task("dag-processor");
        expect(dp.volumes).to.deep.equal([{ name: "dags" }]);
        expect(dp.containers.map((c) => [c.name, c.essential, c.user])).to.deep.equal([
            ["wait-for-migrations", false, "50000:0"],
            ["prepare-dags", false, "0"],
            ["dag-sync", true, "50000:0"],
            ["dag-processor", true, "50000:0"],
        ]);
        expect(container(dp, "dag-processor").dependsOn).to.deep.equal([
            { containerName: "wait-for-migrations", condition: "SUCCESS" },
            { containerName: "prepare-dags", condition: "SUCCESS" },
            { containerName: "dag-sync", condition: "HEALTHY" },
        ]);
        expect(container(dp, "dag-sync").healthCheck).to.include({ interval: 15, retries: 4, startPeriod: 30 });
        // The worker runs the launcher the worker task definition runs, with the local queues.
        const worker = container(task("worker"), "worker");
        expect(localEntrypoint(worker.command!, worker.environment!).program).to.equal("python");
        expect(worker.command!.slice(3, 7)).to.deep.equal(["celery", "worker", "--queues", "default,large"]);
        expect(worker.stopTimeout).to.equal(120);
    });

    it("runs no rds-ca step locally (PostgreSQL on loopback has no TLS): no such container, volume or dependency", () => {
        for (const t of rendered.tasks) {
            expect(
                t.volumes.map((v) => v.name),
                t.name,
            ).to.not.include(RDS_CA_VOLUME);
            expect(
                t.containers.map((c) => c.name),
                t.name,
            ).to.not.include(RDS_CA_CONTAINER);
            for (const c of t.containers)
                expect(
                    (c.dependsOn ?? []).map((d) => d.containerName),
                    `${t.name}/${c.name}`,
                ).to.not.include(RDS_CA_CONTAINER);
        }
    });

    it("reads the user as uid:gid, the image's (50000:0) when none is named", () => {
        expect(parseUser("50000:0")).to.deep.equal({ uid: 50000, gid: 0 });
        expect(parseUser("0")).to.deep.equal({ uid: 0, gid: 0 });
        expect(parseUser(undefined)).to.deep.equal({ uid: 50000, gid: 0 });
        expect(() => parseUser("airflow")).to.throw('container user "airflow" is not uid or uid:gid');
    });

    it("models the image's VOLUME declarations from its Dockerfile (the program's image declares none)", () => {
        expect(imageVolumes('FROM x\nVOLUME ["/opt/airflow/dags", "/data"]\nVOLUME /a /b\n')).to.deep.equal([
            "/opt/airflow/dags",
            "/data",
            "/a",
            "/b",
        ]);
        expect(programImageVolumes(path.join(__dirname, ".."))).to.deep.equal([]);
    });

    it("gives each task new volumes owned by root with mode 0755, and maps the container paths onto them", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "tasks-"));
        const dirs = createTaskVolumes(dir, task("dag-processor"), []);
        const st = statSync(dirs.dags);
        expect((st.mode & 0o777).toString(8)).to.equal("755");
        if (root) expect([st.uid, st.gid]).to.deep.equal([0, 0]);
        const mounts = localMounts(container(task("dag-processor"), "dag-sync"), dirs);
        expect(mapPaths("/opt/airflow/dags", mounts)).to.equal(dirs.dags);
        expect(mapPaths("chown 50000:0 /opt/airflow/dags && chmod 0775 /opt/airflow/dags", mounts)).to.equal(
            `chown 50000:0 ${dirs.dags} && chmod 0775 ${dirs.dags}`,
        );
        // A checkout under /tmp/: the volume's directory starts with the container path /tmp/, and is
        // not mapped again (the fresh-clone CI run's prepare-dags chowned .../tmp/tmp/... and failed).
        const underTmp = [
            { containerPath: "/opt/airflow/dags", dir: "/tmp/ci/.local/tasks/dag-processor/volumes/dags" },
            { containerPath: "/tmp/", dir: "/tmp/ci/.local/tasks/dag-processor/containers/prepare-dags/tmp/" },
        ];
        for (const mounts of [underTmp, [...underTmp].reverse()]) {
            expect(mapPaths("chown 50000 /opt/airflow/dags && touch /tmp/ready", mounts)).to.equal(
                "chown 50000 /tmp/ci/.local/tasks/dag-processor/volumes/dags && touch /tmp/ci/.local/tasks/dag-processor/containers/prepare-dags/tmp/ready",
            );
        }
        expect(mapPaths("a.b /opt/airflow/dagsX", [{ containerPath: "a.b", dir: "[x]" }])).to.equal(
            "[x] /opt/airflow/dagsX",
        );
        // An image VOLUME at the path gives the volume the image's content owner instead.
        const declared = createTaskVolumes(dir, task("dag-processor"), ["/opt/airflow/dags"]);
        if (root) expect(statSync(declared.dags).uid).to.equal(50000);
    });

    it("refuses to start dag-sync on the old DAGs volume (no prepare-dags), naming the container and the path", function () {
        if (!root) this.skip();
        const dir = mkdtempSync(path.join(tmpdir(), "tasks-"));
        const defect = withOldDagsVolumeDefect(task("dag-processor"));
        const dirs = createTaskVolumes(dir, defect, programImageVolumes(path.join(__dirname, "..")));
        expect(() => checkMounts(defect.name, container(defect, "dag-sync"), dirs)).to.throw(
            "container dag-sync of task dag-processor runs as 50000:0 and cannot write its volume dags at /opt/airflow/dags: the directory is owned by 0:0 with mode 0755",
        );
    });

    it("starts dag-sync once the fixed task's prepare-dags (root) has given the volume to the airflow user", function () {
        if (!root) this.skip();
        const dir = mkdtempSync(path.join(tmpdir(), "tasks-"));
        const t = task("dag-processor");
        const dirs = createTaskVolumes(dir, t, []);
        const prepare = container(t, "prepare-dags");
        const { program, args } = localEntrypoint(prepare.command!, prepare.environment!);
        const mounts = localMounts(prepare, dirs);
        // The definition's own command, with its container path mapped, run as its user (root).
        execFileSync(
            program,
            args.map((a) => mapPaths(a, mounts)),
            { uid: parseUser(prepare.user).uid },
        );
        expect(() => checkMounts(t.name, container(t, "dag-sync"), dirs)).not.to.throw();
        expect(statSync(dirs.dags).uid).to.equal(50000);
    });
});

describe("npm run local: each start's Airflow home, as a new Fargate task's", () => {
    it("starts without the airflow.cfg a previous start wrote (another Airflow version's), keeping the logs", () => {
        // The upgrade drill's 3.3.1 read the airflow.cfg 3.0.6 had written and warned of options that
        // 3.3.1 renamed or moved ([webserver] grid_view_sorting_order, ...). On ECS every task starts
        // from the image, with no file a previous task wrote.
        const stateDir = mkdtempSync(path.join(tmpdir(), "home-"));
        const home = path.join(stateDir, "airflow");
        mkdirSync(path.join(home, "logs"), { recursive: true });
        writeFileSync(path.join(home, "airflow.cfg"), "[webserver]\ngrid_view_sorting_order = topological\n");
        writeFileSync(path.join(home, "logs", "kept.log"), "a task's log\n");
        prepareAirflowHome({ stateDir }, false);
        expect(existsSync(path.join(home, "airflow.cfg")), "airflow.cfg").to.equal(false);
        expect(readFileSync(path.join(home, "logs", "kept.log"), "utf8")).to.equal("a task's log\n");
        expect(statSync(path.join(stateDir, "home")).isDirectory()).to.equal(true);
    });
});
