import { expect } from "chai";
import { runProgram, runStack, STACKS } from "./harness/program";
import type { ProgramRun } from "./harness/program";

// Every metric an alarm or the dashboard reads names its resource by an output of another resource
// (a service's name, a replication group's id, a database identifier). An output the resource does
// not have reads as undefined: the alarm watches nothing, and under the real engine the preview sees an
// unknown value where the state has none, so it proposes to update the dashboard on every run (found by
// test:cli). This checks every dimension value, whatever metric and resource it names.

/** Dimension values of every alarm, every metric of a metric-math alarm, and every dashboard metric. */
function dimensionValues(run: ProgramRun): { where: string; name: string; value: unknown }[] {
    const found: { where: string; name: string; value: unknown }[] = [];
    for (const alarm of run.ofType("aws:cloudwatch/metricAlarm:MetricAlarm")) {
        const sets: Record<string, unknown>[] = [];
        if (alarm.inputs.dimensions) sets.push(alarm.inputs.dimensions as Record<string, unknown>);
        for (const query of (alarm.inputs.metricQueries as { metric?: { dimensions?: Record<string, unknown> } }[]) ??
            [])
            if (query.metric?.dimensions) sets.push(query.metric.dimensions);
        for (const set of sets)
            for (const [name, value] of Object.entries(set)) found.push({ where: `alarm ${alarm.name}`, name, value });
    }
    for (const board of run.ofType("aws:cloudwatch/dashboard:Dashboard")) {
        const body = JSON.parse(String(board.inputs.dashboardBody)) as {
            widgets: { properties?: { metrics?: unknown[][]; title?: string } }[];
        };
        for (const widget of body.widgets) {
            for (const metric of widget.properties?.metrics ?? []) {
                // [namespace, metric, dimension name, value, ..., {options}] or [{expression}]
                const plain = metric.filter((part) => typeof part !== "object" || part === null);
                if (typeof metric[0] === "object" && metric[0] !== null) continue;
                for (let i = 2; i + 1 < plain.length; i += 2)
                    found.push({
                        where: `dashboard ${board.name} widget "${widget.properties?.title ?? "?"}"`,
                        name: String(plain[i]),
                        value: plain[i + 1],
                    });
            }
        }
    }
    return found;
}

describe("metrics the alarms and the dashboard read", () => {
    const runs: [string, () => Promise<ProgramRun>][] = [
        ...STACKS.map((s): [string, () => Promise<ProgramRun>] => [s, () => runStack(s)]),
        ["dev with airflow:layout mwaa", () => runProgram("dev", { "airflow:layout": "mwaa" })],
        ["prod with airflow:layout celery", () => runProgram("prod", { "airflow:layout": "celery" })],
    ];
    for (const [label, run] of runs) {
        it(`${label}: name every resource by a value the resource has (no empty or undefined dimension)`, async () => {
            const values = dimensionValues(await run());
            expect(values.length, "dimension values found").to.be.greaterThan(0);
            const empty = values.filter(
                (v) => typeof v.value !== "string" || v.value === "" || /undefined/.test(v.value),
            );
            expect(empty.map((v) => `${v.where}: ${v.name}=${String(v.value)}`)).to.deep.equal([]);
        });
    }
});
