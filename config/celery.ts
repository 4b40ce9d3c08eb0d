import { z } from "zod";
import { FARGATE_CPUS, fargateSizeViolations, isFargateSize, memoryChoices } from "./fargate";
import {
    atLeast,
    boolKey,
    enumKey,
    intChoiceKey,
    intKey,
    key,
    KeySpec,
    LOG_RETENTION_DAYS,
    productionKey,
    shown,
} from "./spec";

export const WEB_ACCESS = ["public", "internal"] as const;
export type WebAccess = (typeof WEB_ACCESS)[number];

/** The long-running Airflow services whose size each stack sets (workers are sized per pool). */
export const SIZED_SERVICES = {
    apiServer: { label: "the api-server (webserver on Airflow 2)", cpu: 1024, memory: 2048 },
    scheduler: { label: "each scheduler", cpu: 1024, memory: 2048 },
    dagProcessor: { label: "the dag-processor", cpu: 512, memory: 2048 },
    triggerer: { label: "the triggerer", cpu: 512, memory: 1024 },
    flower: { label: "Flower", cpu: 256, memory: 512 },
} as const;
export type SizedService = keyof typeof SIZED_SERVICES;

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;
const IMAGE_URI = /^[a-z0-9][a-z0-9.-]*(:[0-9]+)?\/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$/;
/** A worker pool name, which is also its Celery (and SQS) queue name. */
export const POOL_NAME = /^[a-z][a-z0-9-]{0,20}$/;

export interface WorkerPool {
    /** Pool and Celery queue name; DAG tasks pick it with `queue=`. */
    readonly name: string;
    readonly cpu: number;
    readonly memory: number;
    /** Fewest workers; 0 lets an idle pool cost nothing (scaling follows queue depth). */
    readonly minCount: number;
    readonly maxCount: number;
    /** Run workers on FARGATE_SPOT (up to 70% cheaper, interruptible with 2 minutes' notice). */
    readonly spot: boolean;
    /** With spot: this many workers stay on regular FARGATE. */
    readonly onDemandBase: number;
    /** Tasks one worker runs at once (Celery concurrency); also the scaling unit. */
    readonly concurrency: number;
}

/**
 * The queue of tasks that name none (Airflow's operators.default_queue): a stack's pools must include
 * one of this name, and a worker told no queues consumes it.
 */
export const DEFAULT_QUEUE = "default";

/**
 * What a pool that leaves out an optional field gets: the one statement of these defaults (the pool
 * schema, the default pool, the worker's command and its environment all read it).
 */
export const WORKER_POOL_FIELD_DEFAULTS = {
    spot: false,
    onDemandBase: 0,
    concurrency: 16,
} as const satisfies Partial<WorkerPool>;

/** The worker pools of a stack that sets none: one "default" pool of 1 to 4 on-demand workers of 1 vCPU / 2 GiB. */
export const DEFAULT_WORKER_POOLS: readonly WorkerPool[] = [
    {
        name: DEFAULT_QUEUE,
        cpu: 1024,
        memory: 2048,
        minCount: 1,
        maxCount: 4,
        ...WORKER_POOL_FIELD_DEFAULTS,
    },
];

const POOL_SCHEMA = z
    .array(
        z
            .object({
                name: z.string(),
                cpu: z.number(),
                memory: z.number(),
                minCount: z.number().int(),
                maxCount: z.number().int(),
                spot: z.boolean().default(WORKER_POOL_FIELD_DEFAULTS.spot),
                onDemandBase: z.number().int().default(WORKER_POOL_FIELD_DEFAULTS.onDemandBase),
                concurrency: z.number().int().default(WORKER_POOL_FIELD_DEFAULTS.concurrency),
            })
            .strict(),
    )
    .min(1);

function sizeKeys(): Record<string, KeySpec<number>> {
    const keys: Record<string, KeySpec<number>> = {};
    for (const [service, s] of Object.entries(SIZED_SERVICES)) {
        keys[`${service}Cpu`] = intChoiceKey(FARGATE_CPUS, s.cpu, `Fargate CPU units of ${s.label}.`);
        keys[`${service}Memory`] = key({
            type: "integer",
            description: `Memory (MiB) of ${s.label}; must be a size Fargate allows with its CPU.`,
            default: s.memory,
            allowed: "a memory size in MiB",
            schema: z.number().int().positive(),
        });
    }
    return keys;
}

/**
 * The metrics sidecar's image (components/observability/agent.ts): the AWS Distro for OpenTelemetry
 * collector from ECR Public, pinned; published for linux/amd64 and linux/arm64
 * (https://gallery.ecr.aws/aws-observability/aws-otel-collector).
 */
export const DEFAULT_METRICS_AGENT_IMAGE = "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0";

export const celeryKeys = {
    metricsAgentImage: key<string>({
        type: "string",
        description:
            "Image of the metrics sidecar (the ADOT collector) in every Celery task. The default is on ECR Public, pulled through the NAT gateway; with airflow:natStrategy none, copy it into this account's ECR and name that copy here. It must have airflow:cpuArchitecture.",
        default: DEFAULT_METRICS_AGENT_IMAGE,
        allowed: "an image URI with a tag or digest",
        schema: z.string().regex(IMAGE_URI),
    }),
    image: key<string>({
        type: "string",
        description:
            "Airflow image URI to run. Empty: the program builds images/airflow/Dockerfile for airflow:airflowVersion and pushes it to the stack's ECR repository.",
        default: "",
        allowed:
            "empty or an image URI with a tag or digest, e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow:3.0.6-1",
        schema: z.string().refine((v) => v === "" || IMAGE_URI.test(v)),
    }),
    ecrKeepImages: intKey(1, 1000, 20, "How many images the ECR repository keeps (older ones expire)."),
    logRetentionDays: intChoiceKey(
        LOG_RETENTION_DAYS,
        30,
        "Retention in days of the stack's CloudWatch log groups: the Airflow services' and Fargate jobs', and those the program creates for AWS services before they write (MWAA's five module groups, the metadata database's exported logs, and SageMaker's when airflow:mlOwnsLogGroups is set).",
    ),
    webAccess: key<WebAccess>({
        ...enumKey(
            WEB_ACCESS,
            undefined,
            "Where the load balancer listens: public (internet-facing, in the public subnets, open to airflow:webAllowedCidrs) or internal (private subnets, reachable from the VPC and its peers only).",
            "public with HTTPS (airflow:domainName or airflow:certificateArn) or airflow:publicPlainHttp, else internal",
        ),
        deriveDefault: ({ given }) =>
            (given("domainName") ?? "") !== "" ||
            (given("certificateArn") ?? "") !== "" ||
            given("publicPlainHttp") === true
                ? "public"
                : "internal",
    }),
    domainName: key<string>({
        type: "string",
        description:
            "DNS name of the Airflow UI (celery layout). The program issues an ACM certificate for it, validated by DNS in airflow:hostedZoneId, serves HTTPS on 443 (HTTP redirects) and points an alias record at the load balancer. Empty: no DNS name.",
        default: "",
        allowed: "empty or a DNS name such as airflow.example.com (lowercase letters, digits, hyphens and dots)",
        schema: z.string().refine((v) => v === "" || DNS_NAME.test(v)),
    }),
    hostedZoneId: key<string>({
        type: "string",
        description:
            "Route 53 public hosted zone of airflow:domainName. Empty: looked up by the domain's parent name (aws.route53.getZone).",
        default: "",
        allowed: "empty or a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ",
        schema: z.string().regex(/^(Z[A-Z0-9]{1,31})?$/),
    }),
    publicPlainHttp: boolKey(
        false,
        "Opt in to an internet-facing load balancer without HTTPS (no airflow:domainName or airflow:certificateArn): the UI, the admin login, JWTs and Flower's basic auth then cross the internet in clear text. Refused on production stacks.",
    ),
    certificateArn: key<string>({
        type: "string",
        description:
            "ACM certificate for HTTPS on the load balancer (HTTP then redirects to HTTPS). Empty: HTTP only, which sends logins in clear text; set it for anything but a throw-away stack.",
        default: "",
        allowed: "empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
        schema: z.string().refine((v) => v === "" || ACM_ARN.test(v)),
    }),
    dagSyncIntervalSeconds: intKey(
        10,
        3600,
        60,
        "How often each component copies dags/ from the artifacts bucket into its tasks, in seconds.",
    ),
    ecsExec: boolKey(
        false,
        "Allow ECS Exec (interactive shells) into the Airflow tasks; adds the SSM permissions it needs.",
    ),
    apiServerCount: intKey(1, 10, 1, "Number of api-server (webserver on Airflow 2) tasks."),
    schedulerCount: productionKey(
        intKey(1, 4, 1, "Number of scheduler tasks (Airflow runs several schedulers side by side)."),
        atLeast(2, "a production scheduler keeps scheduling when one task stops"),
    ),
    ...sizeKeys(),
    workerPools: key<WorkerPool[]>({
        type: "object",
        description:
            "Celery worker pools, each its own ECS service consuming only its own queue: a list of {name, cpu, memory, minCount, maxCount, spot, onDemandBase, concurrency}. One pool must be named default (the default queue). Set as a YAML list in the stack file.",
        default: [...DEFAULT_WORKER_POOLS],
        allowed:
            "a non-empty list of pools, each {name, cpu, memory, minCount, maxCount} with optional spot (boolean), onDemandBase and concurrency (whole numbers), and no other fields",
        schema: POOL_SCHEMA as unknown as z.ZodType<WorkerPool[]>,
    }),
} satisfies Record<string, KeySpec<unknown>>;

/** Checks the size of each sized service against Fargate's table. */
export function serviceSizeRules(v: Record<string, unknown>): string[] {
    const errors: string[] = [];
    for (const service of Object.keys(SIZED_SERVICES)) {
        const cpu = v[`${service}Cpu`] as number;
        const memory = v[`${service}Memory`] as number;
        if (!isFargateSize(cpu, memory)) {
            errors.push(
                `airflow:${service}Memory must be a memory size Fargate allows with airflow:${service}Cpu ${cpu} (${memoryChoices(cpu)}), got ${memory}`,
            );
        }
    }
    return errors;
}

/**
 * What is wrong with a list of worker pools: each violation is a path below the pool list (`[0].name`,
 * or empty for the list itself) and the rest of the sentence (`must be ..., got ...`). The one rule
 * that the config loader (as `airflow:workerPools...`) and CeleryCluster's up-front check (as
 * `workerPools...`) both report.
 */
export function workerPoolViolations(pools: readonly WorkerPool[]): { path: string; message: string }[] {
    const violations: { path: string; message: string }[] = [];
    const names = new Set<string>();
    pools.forEach((pool, i) => {
        const at = `[${i}]`;
        const add = (path: string, message: string) => violations.push({ path: `${at}${path}`, message });
        if (!POOL_NAME.test(pool.name)) {
            add(
                ".name",
                `must be 1 to 21 lowercase letters, digits or hyphens, starting with a letter, got ${shown(pool.name)}`,
            );
        } else if (names.has(pool.name)) {
            add(".name", `must be unique among the pools, got ${shown(pool.name)} twice`);
        }
        names.add(pool.name);
        for (const v of fargateSizeViolations(pool.cpu, pool.memory)) {
            add(`.${v.field}`, `must be ${v.allowed}, got ${shown(v.field === "cpu" ? pool.cpu : pool.memory)}`);
        }
        if (pool.minCount < 0 || pool.maxCount < 1 || pool.maxCount > 100 || pool.minCount > pool.maxCount) {
            add(
                "",
                `must have 0 <= minCount <= maxCount and 1 <= maxCount <= 100, got minCount ${pool.minCount} and maxCount ${pool.maxCount}`,
            );
        }
        if (pool.onDemandBase < 0 || pool.onDemandBase > pool.maxCount || (!pool.spot && pool.onDemandBase > 0)) {
            add(
                ".onDemandBase",
                `must be from 0 to maxCount (${pool.maxCount}) and is only used with spot: true, got ${pool.onDemandBase}`,
            );
        }
        if (pool.concurrency < 1 || pool.concurrency > 64) {
            add(".concurrency", `must be a whole number from 1 to 64, got ${pool.concurrency}`);
        }
    });
    if (!names.has(DEFAULT_QUEUE)) {
        violations.push({
            path: "",
            message: `must include a pool named ${JSON.stringify(DEFAULT_QUEUE)} (tasks without queue= go to the default queue), got ${shown(pools.map((p) => p.name))}`,
        });
    }
    return violations;
}

/** Checks every worker pool, naming the pool's index and field in each message. */
export function workerPoolRules(v: { workerPools: readonly WorkerPool[] }): string[] {
    return workerPoolViolations(v.workerPools).map((w) => `airflow:workerPools${w.path} ${w.message}`);
}
