// The Celery layout's metrics, wired end to end in the whole program: every Airflow task sends StatsD
// to a metrics sidecar in its own task, the sidecar may write the one metrics log group, the task still
// fits its Fargate size, and every dimension an alarm or the dashboard reads names a resource (or a
// value a publisher of this stack really sends) that exists in the same run.
import { expect } from "chai";
import { AGENT_IMAGE, STATSD_ENDPOINT } from "../components/observability/agent";
import { STATSD_PREFIX } from "../components/observability/metrics";
import { CapturedResource } from "./harness/mocks";
import { runProgram, runStack, ProgramRun } from "./harness/program";

const T = {
    task: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    cluster: "aws:ecs/cluster:Cluster",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    lb: "aws:lb/loadBalancer:LoadBalancer",
    tg: "aws:lb/targetGroup:TargetGroup",
    db: "aws:rds/instance:Instance",
    queue: "aws:sqs/queue:Queue",
    mwaa: "aws:mwaa/environment:Environment",
};

interface Container {
    name: string;
    image: string;
    essential?: boolean;
    cpu?: number;
    memory?: number;
    memoryReservation?: number;
    environment?: { name: string; value: string }[];
}

const envOf = (c: Container) => Object.fromEntries((c.environment ?? []).map((e) => [e.name, e.value]));
const containersOf = (task: CapturedResource) => JSON.parse(task.inputs.containerDefinitions) as Container[];
/** Airflow's own containers: those the program renders Airflow's environment into. */
const isAirflow = (c: Container) => "AIRFLOW__CORE__EXECUTOR" in envOf(c);

/**
 * What is wrong with one task definition's metrics: no sidecar, an Airflow container without StatsD
 * to the sidecar, or a sidecar that takes more than its share of the task (whether the containers fit
 * the task at all is tests/fargate-semantics.test.ts's check, for every task definition).
 */
export function taskMetricsProblems(
    task: { name: string; cpu: number; memory: number; containers: Container[] },
    metricsLogGroup: string,
): string[] {
    const problems: string[] = [];
    const agent = task.containers.find((c) => c.image === AGENT_IMAGE);
    if (!agent) problems.push(`${task.name}: no metrics sidecar`);
    else {
        if (agent.essential !== false) problems.push(`${task.name}: the metrics sidecar is essential`);
        const config = JSON.parse(envOf(agent).AOT_CONFIG_CONTENT ?? "{}");
        const group = config.exporters?.awsemf?.log_group_name;
        if (group !== metricsLogGroup)
            problems.push(`${task.name}: the sidecar writes ${group}, not ${metricsLogGroup}`);
    }
    const airflow = task.containers.filter(isAirflow);
    if (airflow.length === 0) problems.push(`${task.name}: no Airflow container`);
    for (const c of airflow) {
        const e = envOf(c);
        const want = {
            AIRFLOW__METRICS__STATSD_ON: "True",
            AIRFLOW__METRICS__STATSD_HOST: STATSD_ENDPOINT.host,
            AIRFLOW__METRICS__STATSD_PORT: String(STATSD_ENDPOINT.port),
            AIRFLOW__METRICS__STATSD_PREFIX: STATSD_PREFIX,
        };
        for (const [k, v] of Object.entries(want))
            if (e[k] !== v) problems.push(`${task.name}/${c.name}: ${k}=${e[k] ?? "(unset)"}, want ${v}`);
    }
    // The sidecar's share: at most a quarter of the task, so that even the smallest Fargate task
    // (256 CPU units, 512 MiB) leaves Airflow three quarters.
    if (agent && ((agent.cpu ?? 0) * 4 > task.cpu || (agent.memoryReservation ?? agent.memory ?? 0) * 4 > task.memory))
        problems.push(`${task.name}: the sidecar takes more than a quarter of ${task.cpu}/${task.memory}`);
    return problems;
}

/** The statements of a task definition's task role (its inline policy). */
function taskRoleStatements(run: ProgramRun, task: CapturedResource): any[] {
    const role = run.ofType(T.role).find((r) => r.state.arn === task.inputs.taskRoleArn);
    if (!role) return [];
    return run
        .ofType(T.rolePolicy)
        .filter((p) => p.inputs.role === role.id)
        .flatMap((p) => JSON.parse(p.inputs.policy).Statement);
}

/** A metric some alarm or dashboard widget reads, with where. */
interface Read {
    where: string;
    namespace: string;
    name: string;
    dimensions: Record<string, unknown>;
}

function reads(run: ProgramRun): Read[] {
    const found: Read[] = [];
    for (const alarm of run.ofType(T.alarm)) {
        const i = alarm.inputs;
        if (i.metricName)
            found.push({
                where: `alarm ${alarm.name}`,
                namespace: i.namespace,
                name: i.metricName,
                dimensions: i.dimensions ?? {},
            });
        for (const q of (i.metricQueries ?? []) as any[])
            if (q.metric)
                found.push({
                    where: `alarm ${alarm.name} query ${q.id}`,
                    namespace: q.metric.namespace,
                    name: q.metric.metricName,
                    dimensions: q.metric.dimensions ?? {},
                });
    }
    for (const board of run.ofType(T.dashboard)) {
        const body = JSON.parse(String(board.inputs.dashboardBody));
        for (const widget of body.widgets as any[])
            for (const m of (widget.properties?.metrics ?? []) as unknown[][]) {
                if (typeof m[0] !== "string") continue; // an expression
                const plain = m.filter((p) => typeof p !== "object");
                const dims: Record<string, unknown> = {};
                for (let k = 2; k + 1 < plain.length; k += 2) dims[String(plain[k])] = plain[k + 1];
                found.push({
                    where: `dashboard widget "${widget.properties.title}"`,
                    namespace: String(m[0]),
                    name: String(m[1]),
                    dimensions: dims,
                });
            }
    }
    return found;
}

/**
 * Every dimension value that names something of the stack, checked against what the run created:
 * the load balancer and target group (ARN suffixes), the database, the cluster, the services, the SQS
 * queues, MWAA, and the values the stack's own publishers send (the metrics sidecars' Environment,
 * the queue-metrics sidecar's Environment and Queue).
 */
export function unknownDimensions(run: ProgramRun): string[] {
    const values = (type: string, key: string) => new Set(run.ofType(type).map((r) => r.state[key] as string));
    const control = run.ofType(T.task).find((t) => containersOf(t).some((c) => c.name === "queue-metrics"));
    const publisher = control ? envOf(containersOf(control).find((c) => c.name === "queue-metrics")!) : {};
    const agentEnvironments = new Set(
        run.ofType(T.task).flatMap((t) =>
            containersOf(t)
                .filter((c) => c.image === AGENT_IMAGE)
                .flatMap((c) =>
                    (JSON.parse(envOf(c).AOT_CONFIG_CONTENT).processors.metricstransform.transforms as any[]).flatMap(
                        (tr) =>
                            tr.operations
                                .filter((o: any) => o.new_label === "Environment")
                                .map((o: any) => o.new_value),
                    ),
                ),
        ),
    );
    const mwaaNames = values(T.mwaa, "name");
    const services = values(T.service, "name");
    const known: Record<string, (value: string, r: Read) => boolean> = {
        LoadBalancer: (v) => values(T.lb, "arnSuffix").has(v),
        TargetGroup: (v) => values(T.tg, "arnSuffix").has(v),
        DBInstanceIdentifier: (v) => values(T.db, "identifier").has(v),
        ClusterName: (v) => values(T.cluster, "name").has(v),
        ServiceName: (v) => services.has(v),
        // The deployment events' Service: the service's ARN in its cluster (service/<cluster>/<name>).
        Service: (v) =>
            run
                .ofType(T.cluster)
                .some((c) => [...services].some((s) => v === `${c.state.arn.replace(":cluster/", ":service/")}/${s}`)),
        QueueName: (v) => values(T.queue, "name").has(v),
        EnvironmentArn: (v) => values(T.mwaa, "arn").has(v),
        Queue: (v) => (publisher.QUEUE_METRICS_QUEUES ?? "").split(",").includes(v),
        Environment: (v, r) =>
            r.namespace === "Airflow/Celery"
                ? v === publisher.QUEUE_METRICS_ENVIRONMENT
                : r.namespace === "AmazonMWAA"
                  ? agentEnvironments.has(v) || mwaaNames.has(v)
                  : true,
    };
    const problems: string[] = [];
    // The stack's own metrics: what the queue-metrics sidecar is told to publish, in its namespace.
    const published = [publisher.QUEUE_METRICS_NAME, publisher.QUEUE_METRICS_AGE_NAME].filter(Boolean);
    for (const r of reads(run))
        if (
            r.namespace === "Airflow/Celery" &&
            (r.namespace !== publisher.QUEUE_METRICS_NAMESPACE || !published.includes(r.name))
        )
            problems.push(`${r.where}: ${r.namespace} ${r.name} is not what the queue-metrics sidecar publishes`);
    for (const r of reads(run))
        for (const [dim, value] of Object.entries(r.dimensions)) {
            const check = known[dim];
            if (check && !(typeof value === "string" && check(value, r)))
                problems.push(
                    `${r.where}: ${r.namespace} ${r.name} ${dim}=${String(value)} names nothing of the stack`,
                );
        }
    return problems;
}

const CELERY_RUNS: [string, () => Promise<ProgramRun>][] = [
    ["dev", () => runStack("dev")],
    ["staging", () => runStack("staging")],
    ["prod with airflow:layout celery", () => runProgram("prod", { "airflow:layout": "celery" })],
    ["dev with the sqs broker", () => runProgram("dev", { "airflow:broker": "sqs", "airflow:flower": false })],
    ["staging on Airflow 2", () => runProgram("staging", { "airflow:airflowVersion": "2.11.0" })],
];

describe("observability wiring: checks of the checks", () => {
    const agent: Container = {
        name: "metrics-agent",
        image: AGENT_IMAGE,
        essential: false,
        cpu: 64,
        memoryReservation: 96,
        environment: [
            {
                name: "AOT_CONFIG_CONTENT",
                value: JSON.stringify({ exporters: { awsemf: { log_group_name: "/airflow/dev/metrics" } } }),
            },
        ],
    };
    const airflow: Container = {
        name: "scheduler",
        image: "airflow",
        environment: Object.entries({
            AIRFLOW__CORE__EXECUTOR: "CeleryExecutor",
            AIRFLOW__METRICS__STATSD_ON: "True",
            AIRFLOW__METRICS__STATSD_HOST: "127.0.0.1",
            AIRFLOW__METRICS__STATSD_PORT: "8125",
            AIRFLOW__METRICS__STATSD_PREFIX: "airflow",
        }).map(([name, value]) => ({ name, value })),
    };
    const noStatsd: Container = {
        ...airflow,
        environment: airflow.environment!.filter((e) => e.name !== "AIRFLOW__METRICS__STATSD_HOST"),
    };
    const cases: [string, { cpu: number; memory: number; containers: Container[] }, number][] = [
        ["a task with the sidecar and StatsD on", { cpu: 256, memory: 512, containers: [airflow, agent] }, 0],
        ["a task without the sidecar", { cpu: 256, memory: 512, containers: [airflow] }, 1],
        ["an Airflow container without the StatsD host", { cpu: 256, memory: 512, containers: [noStatsd, agent] }, 1],
        [
            "an essential sidecar (its exit would stop Airflow)",
            { cpu: 256, memory: 512, containers: [airflow, { ...agent, essential: true }] },
            1,
        ],
        [
            "a sidecar larger than a quarter of the task",
            { cpu: 256, memory: 512, containers: [airflow, { ...agent, cpu: 128 }] },
            1,
        ],
    ];
    for (const [what, task, count] of cases) {
        it(`reports ${count} problem(s) for ${what}`, () => {
            expect(taskMetricsProblems({ name: "t", ...task }, "/airflow/dev/metrics")).to.have.length(count);
        });
    }
});

describe("observability wiring: every Airflow task of every Celery stack", () => {
    for (const [label, run] of CELERY_RUNS) {
        it(`${label}: runs the metrics sidecar beside Airflow, with StatsD to it, within its share of the task`, async () => {
            const r = await run();
            const groups = r.ofType(T.logGroup).filter((g) => g.name.endsWith("-metrics"));
            expect(groups.map((g) => g.inputs.name)).to.have.length(1);
            expect(groups[0].inputs.name).to.match(/^\/airflow\/[a-z0-9-]+\/metrics$/);
            const tasks = r.ofType(T.task).filter((t) => containersOf(t).some(isAirflow));
            expect(tasks.length, "Airflow task definitions").to.be.greaterThan(5);
            const problems = tasks.flatMap((t) =>
                taskMetricsProblems(
                    {
                        name: t.name,
                        cpu: Number(t.inputs.cpu),
                        memory: Number(t.inputs.memory),
                        containers: containersOf(t),
                    },
                    groups[0].inputs.name,
                ),
            );
            expect(problems).to.deep.equal([]);
        });

        it(`${label}: lets every task role write the metrics log group's streams, and nothing more`, async () => {
            const r = await run();
            const group = r.ofType(T.logGroup).find((g) => g.name.endsWith("-metrics"))!;
            const problems: string[] = [];
            for (const task of r.ofType(T.task).filter((t) => containersOf(t).some((c) => c.image === AGENT_IMAGE))) {
                const st = taskRoleStatements(r, task).filter((s) => /Metrics/.test(s.Sid ?? ""));
                const put = st.find((s) => s.Sid === "PublishAirflowMetrics");
                const describe = st.find((s) => s.Sid === "DescribeMetricsStreams");
                if (!put || JSON.stringify(put.Resource) !== JSON.stringify([`${group.state.arn}:log-stream:*`]))
                    problems.push(`${task.name}: PublishAirflowMetrics ${JSON.stringify(put?.Resource)}`);
                if (!describe || JSON.stringify(describe.Resource) !== JSON.stringify([group.state.arn]))
                    problems.push(`${task.name}: DescribeMetricsStreams ${JSON.stringify(describe?.Resource)}`);
                const actions = st.flatMap((s) => [s.Action].flat());
                if (actions.some((a: string) => a.includes("*")))
                    problems.push(`${task.name}: wildcard action ${actions}`);
            }
            expect(problems).to.deep.equal([]);
        });
    }
});

describe("observability wiring: every dimension names something of the stack", () => {
    const runs: [string, () => Promise<ProgramRun>][] = [
        ...CELERY_RUNS,
        ["prod", () => runStack("prod")],
        ["dev with airflow:layout mwaa", () => runProgram("dev", { "airflow:layout": "mwaa" })],
    ];
    for (const [label, run] of runs) {
        it(`${label}: reads only metrics of resources and publishers the run created`, async () => {
            const r = await run();
            expect(unknownDimensions(r)).to.deep.equal([]);
        });
    }

    for (const [label, run] of CELERY_RUNS.slice(0, 3)) {
        it(`${label}: has the load balancer's 5xx and the api-server's unhealthy-target alarms on its own load balancer`, async () => {
            const r = await run();
            const alarms = r.ofType(T.alarm).map((a) => a.name.replace(/^airflow-[a-z]+-/, ""));
            expect(alarms).to.include.members(["load-balancer-5xx", "api-server-unhealthy", "oldest-queued-task"]);
            const board = r.ofType(T.dashboard)[0].inputs.dashboardBody as string;
            expect(board).to.include(r.ofType(T.lb)[0].state.arnSuffix);
            expect(board).to.not.include("No load balancer");
        });
    }

    it("catches a dimension that names nothing (a load balancer ARN suffix of another stack)", async () => {
        const r = await runStack("dev");
        const alarm = r.ofType(T.alarm).find((a) => a.name.endsWith("-api-server-unhealthy"))!;
        const tampered = new ProgramRun(
            r.stack,
            r.config,
            r.resources.map((x) =>
                x === alarm
                    ? {
                          ...x,
                          inputs: { ...x.inputs, dimensions: { ...x.inputs.dimensions, LoadBalancer: "app/other/1" } },
                      }
                    : x,
            ),
            r.outputs,
        );
        expect(unknownDimensions(tampered)).to.have.length(1);
    });
});
