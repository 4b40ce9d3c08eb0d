// `npm run local -- metrics`: the figures from the local api-server's answers, and the one line it
// prints when the local stack is not there.
import { expect } from "chai";
import { mkdtempSync, writeFileSync } from "fs";
import * as http from "http";
import { AddressInfo } from "net";
import { tmpdir } from "os";
import * as path from "path";
import { formatLocalMetrics, LocalMetricsInput, localMetrics, printLocalMetrics } from "../scripts/local/metrics";

const NOW = new Date("2026-12-02T01:00:00Z");
const answers = (over: Partial<LocalMetricsInput> = {}): LocalMetricsInput => ({
    health: { scheduler: { status: "healthy", latest_scheduler_heartbeat: "2026-12-02T00:59:55+00:00" } },
    queued: {
        total_entries: 2,
        task_instances: [
            { queue: "default", queued_when: "2026-12-02T00:58:00Z" },
            { queue: "large", queued_when: "2026-12-02T00:55:00Z" },
        ],
    },
    running: { total_entries: 1, task_instances: [{ queue: "default" }] },
    importErrors: { total_entries: 1, import_errors: [{ filename: "/dags/broken.py" }] },
    ...over,
});

describe("npm run local -- metrics: the figures", () => {
    const cases: [string, LocalMetricsInput, Partial<ReturnType<typeof localMetrics>>][] = [
        [
            "a healthy stack with queued, running and a broken DAG file",
            answers(),
            {
                heartbeatAgeSeconds: 5,
                queued: 2,
                running: 1,
                oldestQueuedSeconds: 300,
                importErrors: 1,
                perQueue: { default: { queued: 1, running: 1 }, large: { queued: 1, running: 0 } },
            },
        ],
        [
            "a scheduler that never beat, nothing queued",
            answers({
                health: { scheduler: { status: null, latest_scheduler_heartbeat: null } },
                queued: { total_entries: 0, task_instances: [] },
                running: { total_entries: 0, task_instances: [] },
                importErrors: { total_entries: 0, import_errors: [] },
            }),
            { heartbeatAgeSeconds: undefined, schedulerStatus: "unknown", queued: 0, oldestQueuedSeconds: undefined },
        ],
        [
            "more task instances than one page (the totals are the API's)",
            answers({ queued: { total_entries: 250, task_instances: [{ queue: null, queued_when: null }] } }),
            { queued: 250, oldestQueuedSeconds: undefined, perQueue: { default: { queued: 1, running: 1 } } },
        ],
    ];
    for (const [what, input, want] of cases) {
        it(`reads ${what}`, () => {
            expect(localMetrics(input, NOW)).to.deep.include(want);
        });
    }

    it("prints one line per figure, the broken files under the import errors", () => {
        expect(formatLocalMetrics(localMetrics(answers(), NOW)).split("\n")).to.deep.equal([
            "scheduler heartbeat   5 s ago (healthy)",
            "queued tasks          2",
            "running tasks         1",
            "oldest queued task    300 s",
            "  queue default         1 queued, 1 running",
            "  queue large           1 queued, 0 running",
            "DAG import errors     1",
            "  /dags/broken.py",
        ]);
    });
});

describe("npm run local -- metrics: against an api-server", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "local-metrics-"));
    const secretsFile = path.join(dir, "secrets.json");
    writeFileSync(secretsFile, JSON.stringify({ adminPassword: "pw" }));

    it("asks the REST API with the admin's token and prints the figures", async () => {
        const seen: string[] = [];
        const server = http.createServer((req, res) => {
            seen.push(`${req.method} ${req.url} ${req.headers.authorization ?? ""}`.trim());
            const a = answers();
            const body =
                req.url === "/auth/token"
                    ? { access_token: "t0k" }
                    : req.url === "/api/v2/monitor/health"
                      ? a.health
                      : req.url?.includes("state=queued")
                        ? a.queued
                        : req.url?.includes("state=running")
                          ? a.running
                          : a.importErrors;
            res.setHeader("Content-Type", "application/json");
            res.end(JSON.stringify(body));
        });
        await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
        const logs: string[] = [];
        const log = console.log;
        console.log = (s: string) => logs.push(s);
        try {
            const port = (server.address() as AddressInfo).port;
            await printLocalMetrics({ baseUrl: `http://127.0.0.1:${port}`, secretsFile, user: "admin" }, NOW);
        } finally {
            console.log = log;
            server.close();
        }
        expect(seen).to.include.members([
            "POST /auth/token",
            "GET /api/v2/monitor/health",
            "GET /api/v2/dags/~/dagRuns/~/taskInstances?state=queued&limit=100 Bearer t0k",
            "GET /api/v2/dags/~/dagRuns/~/taskInstances?state=running&limit=100 Bearer t0k",
            "GET /api/v2/importErrors?limit=100 Bearer t0k",
        ]);
        expect(logs.join("\n")).to.contain("scheduler heartbeat   5 s ago (healthy)");
    });

    it("says in one line that the local stack is not running when nothing answers", async () => {
        const err = await printLocalMetrics({ baseUrl: "http://127.0.0.1:1", secretsFile, user: "admin" }).catch(
            (e: Error) => e,
        );
        expect((err as Error).message).to.equal(
            "the local api-server does not answer at http://127.0.0.1:1: start it with npm run local",
        );
    });

    it("says the local stack never ran when there are no local secrets", async () => {
        const err = await printLocalMetrics({
            baseUrl: "http://127.0.0.1:1",
            secretsFile: path.join(dir, "none.json"),
            user: "admin",
        }).catch((e: Error) => e);
        expect((err as Error).message).to.match(/never run here/);
    });
});
