// The price table of the offline plan's cost estimate (tools/plan/cost.ts): AWS on-demand list prices
// for one region, with the page each comes from. Every figure the estimate uses is here and nowhere else.
//
// Where the stored copy of AWS's own pricing page renders its figures dynamically (Fargate, ELB, MWAA,
// RDS and ElastiCache pages carry no numbers in their text), the figure is the one published on that
// page as quoted by the secondary page named in `seenAt`; `note` says so.

export interface Price {
    /** US dollars per `unit`. */
    readonly usd: number;
    readonly unit: string;
    /** AWS's pricing page for the figure. */
    readonly source: string;
    /** Where the figure was read when the AWS page's stored copy does not show it. */
    readonly seenAt?: string;
    readonly note?: string;
}

const FARGATE = "https://aws.amazon.com/fargate/pricing/";
const FARGATE_SEEN =
    "https://www.vantage.sh/blog/fargate-pricing (us-east-1 table), https://cloudburn.io/blog/aws-fargate-pricing (March 2026 rates)";
const SPOT_NOTE =
    "Fargate Spot prices move with supply and demand; AWS states 'up to a 70% discount off the regular Fargate price' (stored page). The table takes that 70%: the real figure is often 50-70% off (https://fortem.dev/fargate-spot/).";
const VPC = "https://aws.amazon.com/vpc/pricing/";
const ELB = "https://aws.amazon.com/elasticloadbalancing/pricing/";
const RDS_PG = "https://aws.amazon.com/rds/postgresql/pricing/";
const RDS_SEEN =
    "https://infratally.com/articles/aws-rds-pricing-explained-2026.html (us-east-1 t4g table, Single-AZ and Multi-AZ)";
const AURORA = "https://aws.amazon.com/rds/aurora/pricing/";
const CACHE = "https://aws.amazon.com/elasticache/pricing/";
const CLOUDWATCH = "https://aws.amazon.com/cloudwatch/pricing/";
const MWAA = "https://aws.amazon.com/managed-workflows-for-apache-airflow/pricing/";
const SAGEMAKER = "https://aws.amazon.com/sagemaker/ai/pricing/";

const CW_SEEN = {
    seenAt: "https://www.factualminds.com/blog/amazon-cloudwatch-pricing-metrics-logs-alarms-dashboards/, https://signoz.io/guides/cloudwatch-pricing",
};
const NOT_STORED =
    "no stored page carries this figure; it is the one AWS's page publishes to the best of this table's knowledge";

function price(usd: number, unit: string, source: string, extra: { seenAt?: string; note?: string } = {}): Price {
    return { usd, unit, source, ...extra };
}

/** Fargate per vCPU-hour and GB-hour, by architecture and capacity provider. */
export const FARGATE_PRICES = {
    X86_64: {
        FARGATE: {
            vcpuHour: price(0.04048, "vCPU-hour", FARGATE, { seenAt: FARGATE_SEEN }),
            gbHour: price(0.004445, "GB-hour", FARGATE, { seenAt: FARGATE_SEEN }),
        },
        FARGATE_SPOT: {
            vcpuHour: price(0.012144, "vCPU-hour", FARGATE, { note: SPOT_NOTE }),
            gbHour: price(0.0013335, "GB-hour", FARGATE, { note: SPOT_NOTE }),
        },
    },
    // FARGATE_SPOT runs ARM64 Linux tasks on platform version 1.4.0 or later (ECS API reference,
    // CapacityProviderStrategyItem); the China-region developer guide still says it does not.
    ARM64: {
        FARGATE: {
            vcpuHour: price(0.03238, "vCPU-hour", FARGATE, { seenAt: FARGATE_SEEN }),
            gbHour: price(0.00356, "GB-hour", FARGATE, { seenAt: FARGATE_SEEN }),
        },
        FARGATE_SPOT: {
            vcpuHour: price(0.009714, "vCPU-hour", FARGATE, { note: SPOT_NOTE }),
            gbHour: price(0.001068, "GB-hour", FARGATE, { note: SPOT_NOTE }),
        },
    },
} as const;

export type CpuArchitecture = keyof typeof FARGATE_PRICES;
export type FargateProvider = keyof (typeof FARGATE_PRICES)["X86_64"];

/** Instance classes by hourly price: Single-AZ and Multi-AZ (RDS for PostgreSQL, on demand). */
const rdsClass = (single: number, multi: number) => ({
    singleAz: price(single, "instance-hour", RDS_PG, { seenAt: RDS_SEEN }),
    multiAz: price(multi, "instance-hour (Multi-AZ: primary and standby)", RDS_PG, { seenAt: RDS_SEEN }),
});

export const RDS_POSTGRES_INSTANCES: Readonly<Record<string, { singleAz: Price; multiAz: Price }>> = {
    "db.t4g.micro": rdsClass(0.016, 0.032),
    "db.t4g.small": rdsClass(0.032, 0.064),
    "db.t4g.medium": rdsClass(0.065, 0.13),
};

/** ElastiCache node-hours by engine (node-based clusters, on demand). */
const VALKEY_NOTE =
    "ElastiCache for Valkey node-based prices are 20% below Redis OSS (AWS's Valkey launch, October 2024); the stored pages only show the serverless discount (33%, https://aws.eu/it/elasticache/pricing), so the Valkey figure is the Redis OSS figure less 20%.";
const REDIS_SEEN = "https://cloudburn.io/blog/amazon-elasticache-pricing";
export const ELASTICACHE_NODES: Readonly<Record<string, Readonly<Record<string, Price>>>> = {
    redis: {
        "cache.t4g.micro": price(0.016, "node-hour", CACHE, { seenAt: REDIS_SEEN }),
        "cache.t4g.small": price(0.032, "node-hour", CACHE, { seenAt: REDIS_SEEN }),
        "cache.t4g.medium": price(0.065, "node-hour", CACHE, { seenAt: REDIS_SEEN }),
    },
    valkey: {
        "cache.t4g.micro": price(0.0128, "node-hour", CACHE, { note: VALKEY_NOTE }),
        "cache.t4g.small": price(0.0256, "node-hour", CACHE, { note: VALKEY_NOTE }),
        "cache.t4g.medium": price(0.052, "node-hour", CACHE, { note: VALKEY_NOTE }),
    },
};

const MWAA_NOTE =
    "mw1.small is $0.49/h on every source; for the larger classes secondary sources disagree (e.g. https://c3x.dev/blog/mwaa-cost-managed-airflow/ gives $0.88 and $1.65); the table uses the figures of AWS's page as this project's facts file records them. Classes without a figure (mw1.micro, mw1.xlarge, mw1.2xlarge) are listed as unpriced.";
/** MWAA environment-hours (scheduler, web server and one worker included) and each additional worker, scheduler or web server. */
export const MWAA_CLASSES: Readonly<Record<string, { environmentHour: Price; additionalHour: Price }>> = {
    "mw1.small": {
        environmentHour: price(0.49, "environment-hour", MWAA, { note: MWAA_NOTE }),
        additionalHour: price(0.055, "worker-hour", MWAA, { note: MWAA_NOTE }),
    },
    "mw1.medium": {
        environmentHour: price(0.74, "environment-hour", MWAA, { note: MWAA_NOTE }),
        additionalHour: price(0.11, "worker-hour", MWAA, { note: MWAA_NOTE }),
    },
    "mw1.large": {
        environmentHour: price(0.99, "environment-hour", MWAA, { note: MWAA_NOTE }),
        additionalHour: price(0.22, "worker-hour", MWAA, { note: MWAA_NOTE }),
    },
};

/** SageMaker AI on-demand instance-hours (training and batch transform have the same list prices for these types). */
const SM_SEEN = { note: NOT_STORED };
export const SAGEMAKER_INSTANCES: Readonly<Record<string, Price>> = {
    "ml.m5.large": price(0.115, "instance-hour", SAGEMAKER, SM_SEEN),
    "ml.m5.xlarge": price(0.23, "instance-hour", SAGEMAKER, SM_SEEN),
    "ml.m5.2xlarge": price(0.461, "instance-hour", SAGEMAKER, SM_SEEN),
    "ml.p3.2xlarge": price(3.825, "instance-hour", SAGEMAKER, SM_SEEN),
};

/** Everything else, one price each. */
export const PRICES = {
    fargateEphemeralGbHour: price(0.000111, "GB-hour above the 20 GB included", FARGATE, { seenAt: FARGATE_SEEN }),
    natGatewayHour: price(0.045, "NAT gateway-hour", VPC, {
        seenAt: "https://basavytix.com/blog/aws-nat-gateway-pricing, https://cloudpipelines.pages.dev/guides/aws-nat-gateway-pricing-2026/",
    }),
    natGatewayGb: price(0.045, "GB processed", VPC, { seenAt: "https://basavytix.com/blog/aws-nat-gateway-pricing" }),
    publicIpv4Hour: price(0.005, "public IPv4 address-hour (in use or not, since 2024-02-01)", VPC, {
        seenAt: "https://aws.amazon.com/blogs/networking-and-content-delivery/identify-and-optimize-public-ipv4-address-usage-on-aws/",
    }),
    interfaceEndpointAzHour: price(0.01, "endpoint-hour in each AZ", "https://aws.amazon.com/privatelink/pricing/", {
        seenAt: "https://awsnegotiations.com/privatelink-cost-analysis.html, https://www.egresscost.com/nat-gateway ($7.20/AZ-month)",
    }),
    interfaceEndpointGb: price(
        0.01,
        "GB processed (first PB in the region)",
        "https://aws.amazon.com/privatelink/pricing/",
    ),
    albHour: price(0.0225, "load balancer-hour", ELB, {
        seenAt: "https://handbook.vantage.sh/aws/services/elb-pricing, https://awsnegotiations.com/privatelink-cost-analysis.html",
    }),
    albLcuHour: price(0.008, "LCU-hour", ELB, {
        seenAt: "https://aws.darcy-it.com/ (same $0.008 LCU-hour as us-east-1)",
    }),
    rdsGp3GbMonth: price(
        0.115,
        "GB-month of gp3 storage, Single-AZ (twice that in Multi-AZ: both copies are billed)",
        RDS_PG,
        {
            seenAt: "https://www.usage.ai/blogs/aws/reserved-instances/rds/pricing-calculator/; Multi-AZ: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_OnDemandDBInstances.html",
        },
    ),
    auroraAcuHour: price(0.12, "ACU-hour (Aurora Serverless v2, Aurora Standard)", AURORA, {
        seenAt: "https://c3x.dev/blog/aws-aurora-serverless-v2-cost/, https://awsnegotiations.com/aurora-serverless-v2-pricing.html",
    }),
    auroraStorageGbMonth: price(0.1, "GB-month (Aurora Standard)", AURORA, {
        seenAt: "https://awsnegotiations.com/blog/aurora-serverless-v2-pricing.html",
    }),
    efsStandardGbMonth: price(0.3, "GB-month (EFS Standard)", "https://aws.amazon.com/efs/pricing/ (stored copy)"),
    backupEfsWarmGbMonth: price(0.05, "GB-month of EFS backup (warm)", "https://aws.amazon.com/backup/pricing/", {
        note: NOT_STORED,
    }),
    s3StandardGbMonth: price(0.023, "GB-month (S3 Standard, first 50 TB)", "https://aws.amazon.com/s3/pricing/", {
        seenAt: "https://www.factualminds.com/blog/amazon-efs-pricing-throughput-modes-storage-classes/ (EFS is 'over 13x S3 Standard')",
    }),
    ecrGbMonth: price(0.1, "GB-month of image storage", "https://aws.amazon.com/ecr/pricing/", { note: NOT_STORED }),
    secretMonth: price(0.4, "secret-month", "https://aws.amazon.com/secrets-manager/pricing/", {
        seenAt: "https://hivebook.wiki/wiki/aws-secrets-manager-rotated-secrets-dynamic-db-credentials-kms",
    }),
    logsIngestGb: price(0.5, "GB ingested (Standard log class)", CLOUDWATCH, CW_SEEN),
    logsStorageGbMonth: price(0.03, "GB-month archived", CLOUDWATCH, { note: NOT_STORED }),
    customMetricMonth: price(0.3, "metric-month (first 10,000 metrics)", CLOUDWATCH, CW_SEEN),
    alarmMonth: price(0.1, "alarm metric-month (standard resolution)", CLOUDWATCH, { note: NOT_STORED }),
    highResolutionAlarmMonth: price(0.3, "alarm metric-month (high resolution, period under 60 s)", CLOUDWATCH, {
        note: NOT_STORED,
    }),
    dashboardMonth: price(
        3,
        "dashboard-month (beyond the 3 free ones; the estimate does not count the free tier)",
        CLOUDWATCH,
        CW_SEEN,
    ),
    kmsKeyMonth: price(1, "customer managed key-month", "https://aws.amazon.com/kms/pricing/", { note: NOT_STORED }),
    hostedZoneMonth: price(
        0.5,
        "private hosted zone-month (a Cloud Map DNS namespace is one)",
        "https://aws.amazon.com/route53/pricing/",
        { note: NOT_STORED },
    ),
    cloudMapInstanceMonth: price(0.1, "registered instance-month", "https://aws.amazon.com/cloud-map/pricing/", {
        note: NOT_STORED,
    }),
    sagemakerStorageGbMonth: price(0.14, "GB-month of ML storage volume", SAGEMAKER, { note: NOT_STORED }),
    sqsMillionRequests: price(
        0.4,
        "million requests (Standard queue; the first million a month are free, which the estimate does not count)",
        "https://aws.amazon.com/sqs/pricing/",
        { note: NOT_STORED },
    ),
} as const satisfies Record<string, Price>;

/**
 * ECS Container Insights (standard) bills its metrics as custom metrics: about this many per cluster
 * and per service (the metric lists of
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html ,
 * cluster-level and service-level dimensions; performance log events are not counted).
 */
export const CONTAINER_INSIGHTS_METRICS = { perCluster: 10, perService: 13 } as const;

export const PRICE_TABLE = {
    region: "us-east-1",
    currency: "USD",
    /** The day the figures were read. */
    date: "2026-12-01",
    /** AWS's own convention for monthly figures (hourly price x 730). */
    hoursPerMonth: 730,
    /** Days per month for daily loads (730 / 24). */
    daysPerMonth: 730 / 24,
} as const;
