import { expect } from "chai";
import { mkdtempSync, readFileSync, writeFileSync } from "fs";
import * as net from "net";
import { tmpdir } from "os";
import * as path from "path";

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

    it("refuses a second start while one runs, naming its processes", async () => {
        writeFileSync(
            path.join(stateDir, "state.json"),
            JSON.stringify({ startedAt: "now", processes: [{ name: "scheduler", pid: process.pid, log: "x" }] }),
        );
        const errors: string[] = [];
        const original = console.error;
        console.error = (text: string) => errors.push(text);
        try {
            expect(await local.main(["up"])).to.equal(1);
        } finally {
            console.error = original;
        }
        expect(errors).to.deep.equal([
            `error: Airflow is already running locally (scheduler pid ${process.pid}). Use it, or stop it with npm run local -- down.`,
        ]);
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
            "error: unknown command start: use up (default), run <dag_id>, status, metrics, down or reset",
        ]);
    });
});

describe("npm run local: the mirrored stack", () => {
    it("runs each component with the command its ECS service runs, on loopback ports", () => {
        expect(local.localComponents(["default", "large"])).to.deep.equal([
            ["api-server", "api-server", ["api-server", "--port", "28080", "--host", "127.0.0.1"]],
            ["scheduler", "scheduler", ["scheduler"]],
            ["dag-processor", "dag-processor", ["dag-processor"]],
            ["triggerer", "triggerer", ["triggerer"]],
            ["worker", "worker", ["celery", "worker", "--queues", "default,large", "--concurrency", "8"]],
            ["flower", "flower", ["celery", "flower", "--port", "25555", "--hostname", "127.0.0.1"]],
        ]);
    });

    it("reads the stack file through the config parser, without the test harness's mocks", () => {
        const source = readFileSync(path.join(__dirname, "..", "scripts", "local", "main.ts"), "utf8");
        expect(source).not.to.match(/tools\/harness|setMocks/);
        expect(source).to.contain("parseConfig(");
    });
});
