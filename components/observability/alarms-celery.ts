// The Celery layout's alarms on the metadata database, the load balancer, ECS deployments and workers stopped mid-run.
import * as pulumi from "@pulumi/pulumi";
import { AlarmQuery, AlarmSpec, AlarmThresholds, use } from "./alarms";
import { EVENT_METRICS } from "./metrics";
import { Observed } from "./spec";

/** Celery: the metadata database. */
export function celeryDatabaseAlarms<V>(
    o: Observed<V>,
    t: AlarmThresholds,
    c: NonNullable<Observed<V>["celery"]>,
): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;

    const db = (name: string, stat: string) => ({
        namespace: "AWS/RDS",
        name,
        dimensions: { DBInstanceIdentifier: c.databaseInstanceId },
        stat,
        period: 300,
    });
    specs.push(
        {
            key: "database-cpu",
            description: `The metadata database of Airflow ${env} has averaged over ${t.dbCpuPercent}% CPU for 15 minutes.`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.dbCpuPercent,
            evaluationPeriods: 3,
            datapointsToAlarm: 3,
            // RDS publishes every minute while the instance exists; a gap keeps the last state.
            treatMissingData: "missing",
            metric: db("CPUUtilization", "Average"),
            uses: [use("AWS/RDS", "CPUUtilization")],
        },
        {
            key: "database-storage",
            description: `The metadata database of Airflow ${env} has less than ${t.dbFreeStorageGb} GB of free storage.`,
            comparisonOperator: "LessThanThreshold",
            threshold: t.dbFreeStorageGb * 1024 ** 3,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: "missing",
            metric: db("FreeStorageSpace", "Minimum"),
            uses: [use("AWS/RDS", "FreeStorageSpace")],
        },
        {
            key: "database-connections",
            description: `The metadata database of Airflow ${env} has had more than ${t.dbConnections} connections for 10 minutes.`,
            comparisonOperator: "GreaterThanThreshold",
            threshold: t.dbConnections,
            evaluationPeriods: 2,
            datapointsToAlarm: 2,
            treatMissingData: "missing",
            metric: db("DatabaseConnections", "Maximum"),
            uses: [use("AWS/RDS", "DatabaseConnections")],
        },
    );

    return specs;
}

/** Celery: the load balancer, the api-server targets, deployments rolled back. */
export function celeryServiceAlarms<V>(
    o: Observed<V>,
    t: AlarmThresholds,
    c: NonNullable<Observed<V>["celery"]>,
): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const env = o.environmentName;
    if (c.loadBalancer) {
        const lb = c.loadBalancer;
        const alb = (name: string, stat: string, period: number, tg = false) => ({
            namespace: "AWS/ApplicationELB",
            name,
            dimensions: (tg
                ? { TargetGroup: lb.apiTargetGroupArnSuffix, LoadBalancer: lb.arnSuffix }
                : { LoadBalancer: lb.arnSuffix }) as Record<string, V>,
            stat,
            period,
        });
        specs.push(
            {
                key: "load-balancer-5xx",
                description: `The load balancer of Airflow ${env} answered more than ${t.lb5xxPer5Minutes} 5xx responses (its own and the api-server's) in 5 minutes.`,
                comparisonOperator: "GreaterThanThreshold",
                threshold: t.lb5xxPer5Minutes,
                evaluationPeriods: 1,
                datapointsToAlarm: 1,
                // The ALB publishes a 5xx count only when there are some: no data means none.
                treatMissingData: "notBreaching",
                queries: [
                    { id: "target", metric: alb("HTTPCode_Target_5XX_Count", "Sum", 300), returnData: false },
                    { id: "elb", metric: alb("HTTPCode_ELB_5XX_Count", "Sum", 300), returnData: false },
                    {
                        id: "total",
                        expression: "FILL(target, 0) + FILL(elb, 0)",
                        label: "5xx responses",
                        returnData: true,
                    },
                ],
                uses: [
                    use("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"),
                    use("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"),
                ],
            },
            {
                key: "api-server-unhealthy",
                description: `An api-server target of Airflow ${env} has failed the load balancer's health check for ${t.unhealthyTargetMinutes} minutes.`,
                comparisonOperator: "GreaterThanOrEqualToThreshold",
                threshold: 1,
                evaluationPeriods: t.unhealthyTargetMinutes,
                datapointsToAlarm: t.unhealthyTargetMinutes,
                // Published every minute while the target group is attached; a gap keeps the state.
                treatMissingData: "missing",
                metric: alb("UnHealthyHostCount", "Maximum", 60, true),
                uses: [use("AWS/ApplicationELB", "UnHealthyHostCount")],
            },
        );
    }

    // One metric per service (the event names the service, not the cluster).
    specs.push(
        ...eventCountAlarms<V>({
            key: "deployment-rolled-back",
            names: Object.keys(c.serviceArns).sort(),
            metricName: EVENT_METRICS.deploymentsRolledBack,
            dimensions: (role) => ({ Service: c.serviceArns[role] }),
            ids: ["d", "failed"],
            label: "Deployments rolled back",
            description: (chunk) =>
                `An ECS deployment of Airflow ${env} (${chunk.join(", ")}) failed and the circuit breaker rolled it back to the previous task definition.`,
        }),
    );
    return specs;
}

/**
 * Celery: worker tasks stopped with work running (WorkerStopEvents, components/worker-events.ts): one
 * metric per worker pool (dimensions ClusterArn and Group = service:<name>), at most 10 per alarm.
 */
export function celeryWorkerAlarms<V>(o: Observed<V>, c: NonNullable<Observed<V>["celery"]>): AlarmSpec<V>[] {
    const env = o.environmentName;
    return eventCountAlarms<V>({
        key: "workers-stopped-mid-run",
        names: Object.keys(c.workerServices).sort(),
        metricName: EVENT_METRICS.workersStoppedMidRun,
        dimensions: (pool) => ({ ClusterArn: c.clusterArn, Group: workerGroup(c.workerServices[pool]) }),
        ids: ["w", "stopped"],
        label: "Workers stopped mid-run",
        description: (chunk) =>
            `A Celery worker of Airflow ${env} (pools ${chunk.join(", ")}) stopped while it ran tasks (killed at the end of its stop timeout, crashed or out of memory); its tasks are retried after the task-heartbeat timeout.`,
    });
}

/**
 * Alarms on an event metric that the program's metric filters publish once per named thing (a
 * service, a worker pool) only when the event happens: the sum of them, at least 1 in 5 minutes, no
 * data meaning no event. An alarm reads at most 10 metrics, so each alarm sums at most 9 (the
 * first is `key`, the next `key-2`, ...).
 */
function eventCountAlarms<V>(a: {
    key: string;
    names: string[];
    metricName: string;
    dimensions: (name: string) => Record<string, V>;
    /** The metric queries' id prefix and the sum's id. */
    ids: [string, string];
    label: string;
    description: (chunk: string[]) => string;
}): AlarmSpec<V>[] {
    const specs: AlarmSpec<V>[] = [];
    const [prefix, sumId] = a.ids;
    for (let start = 0; start < a.names.length; start += 9) {
        const chunk = a.names.slice(start, start + 9);
        const qs: AlarmQuery<V>[] = chunk.map((name, i) => ({
            id: `${prefix}${i}`,
            metric: {
                namespace: EVENT_METRICS.namespace,
                name: a.metricName,
                dimensions: a.dimensions(name),
                stat: "Sum",
                period: 300,
            },
            returnData: false,
        }));
        qs.push({
            id: sumId,
            expression: `SUM([${chunk.map((_, i) => `FILL(${prefix}${i}, 0)`).join(", ")}])`,
            label: a.label,
            returnData: true,
        });
        specs.push({
            key: start === 0 ? a.key : `${a.key}-${start / 9 + 1}`,
            description: a.description(chunk),
            comparisonOperator: "GreaterThanOrEqualToThreshold",
            threshold: 1,
            evaluationPeriods: 1,
            datapointsToAlarm: 1,
            treatMissingData: "notBreaching",
            queries: qs,
            uses: [use(EVENT_METRICS.namespace, a.metricName)],
        });
    }
    return specs;
}

/** The `Group` of an ECS service's tasks in ECS events, the dimension WorkerStopEvents counts by. */
function workerGroup<V>(serviceName: V): V {
    if (typeof serviceName === "string") return `service:${serviceName}` as V;
    return pulumi.interpolate`service:${serviceName as pulumi.Input<string>}` as V;
}
