import { intKey, KeySpec } from "./spec";

/**
 * The load the offline plan's cost estimate assumes for its "loaded" figure (`npm run plan`). The
 * program creates nothing from these keys: they describe how a stack is used, not what it is.
 * The idle figure is what the stack costs with every service at rest and no traffic.
 */
export const costKeys = {
    costBusyHoursPerDay: intKey(
        0,
        24,
        8,
        "Cost estimate only: hours a day every worker pool (and MWAA's workers and web servers) runs at its maximum count.",
    ),
    costNatGbPerMonth: intKey(
        0,
        1_000_000,
        20,
        "Cost estimate only: GB a month through the NAT gateways (image pulls, PyPI, APIs outside AWS), spread evenly over them.",
    ),
    costEndpointGbPerMonth: intKey(
        0,
        1_000_000,
        10,
        "Cost estimate only: GB a month to AWS services that have an interface endpoint (ECR, logs, Secrets Manager...), spread evenly over the endpoints; through NAT when there are none.",
    ),
    costLogGbPerMonth: intKey(
        0,
        1_000_000,
        5,
        "Cost estimate only: GB of logs a month written to CloudWatch Logs, spread evenly over the log groups.",
    ),
    costS3Gb: intKey(
        0,
        1_000_000,
        20,
        "Cost estimate only: GB stored in S3 (artifacts, task logs, ML data), spread evenly over the buckets.",
    ),
    costEfsGb: intKey(0, 1_000_000, 1, "Cost estimate only: GB stored on the shared EFS file system."),
    costEcrGb: intKey(0, 100_000, 5, "Cost estimate only: GB of images stored in the ECR repositories."),
    costJobHoursPerMonth: intKey(
        0,
        100_000,
        10,
        "Cost estimate only: task-hours a month of each task definition that no service runs (the Fargate jobs DAGs start).",
    ),
    costTrainingHoursPerMonth: intKey(
        0,
        100_000,
        10,
        "Cost estimate only: hours a month of SageMaker training (per instance of the ml_training Variable's instance count), on demand.",
    ),
    costTransformHoursPerMonth: intKey(
        0,
        100_000,
        2,
        "Cost estimate only: hours a month of SageMaker batch transform on the ml_training Variable's transform instance type.",
    ),
    costAlbLcus: intKey(
        0,
        10_000,
        1,
        "Cost estimate only: load balancer capacity units the load balancer uses during busy hours.",
    ),
    costDatabaseBusyAcu: intKey(
        0,
        256,
        2,
        "Cost estimate only: Aurora Serverless v2 capacity (ACUs) during busy hours (Aurora clusters only).",
    ),
    costDatabaseGb: intKey(
        0,
        1_000_000,
        5,
        "Cost estimate only: GB the metadata database uses on Aurora storage (Aurora clusters only; RDS instances are billed for what they allocate).",
    ),
} satisfies Record<string, KeySpec<number>>;

export type CostLoad = { readonly [K in keyof typeof costKeys]: number };

/**
 * The load from a stack's configuration (full key names, as the plan records them): each key as
 * given, or its default. The program has already validated the values; anything its schema rejects
 * falls back to the default here.
 */
export function costLoadFrom(config: Readonly<Record<string, unknown>>, namespace = "airflow"): CostLoad {
    const load: Record<string, number> = {};
    for (const [name, spec] of Object.entries(costKeys)) {
        const raw = config[`${namespace}:${name}`];
        const value = typeof raw === "string" && raw.trim() !== "" ? Number(raw) : raw;
        const parsed = spec.schema.safeParse(value);
        load[name] = parsed.success ? parsed.data : (spec.default as number);
    }
    return load as CostLoad;
}
