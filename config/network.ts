import { z } from "zod";
import type { Layout } from "./core";
import {
    boolKey,
    choiceText,
    enumKey,
    intChoiceKey,
    intKey,
    isCidr,
    isPrivateIpv4Cidr,
    key,
    LOG_RETENTION_DAYS,
    shown,
} from "./spec";

export const NAT_STRATEGIES = ["single", "perAz", "none"] as const;
export type NatStrategy = (typeof NAT_STRATEGIES)[number];

/** VPC interface endpoints the network can create (service name suffix of com.amazonaws.<region>.<name>). */
export const INTERFACE_ENDPOINTS = [
    "ecr.api",
    "ecr.dkr",
    "logs",
    "sqs",
    "secretsmanager",
    "sts",
    "monitoring",
    "kms",
    "ecs",
    "sagemaker.api",
    "ssmmessages",
] as const;
export type InterfaceEndpoint = (typeof INTERFACE_ENDPOINTS)[number];

/** What needs an endpoint without NAT: a layout's own components, and the AWS calls of the DAGs. */
export interface EndpointNeeds {
    readonly layout: Layout;
    readonly broker: "redis" | "sqs";
    readonly ecsExec: boolean;
}

/**
 * With no NAT gateway, private subnets reach AWS only through endpoints (S3 always has its gateway
 * endpoint). These are the ones the stack cannot work without, each with the reason:
 *  - celery: Fargate pulls images from ECR, writes logs and reads its secrets from Secrets Manager; the
 *    control service publishes the queue-depth metric the worker pools scale on (CloudWatch); SQS when
 *    it is the broker; ECS Exec's sessions (SSM messages) when it is on.
 *  - mwaa: MWAA's workers need SQS (its Celery broker), CloudWatch Logs and metrics, KMS, and ECR.
 *  - both: the DAGs (dags/) call ECS (fargate_parallel_tasks: RunTask, DescribeTasks; its log reads go
 *    to CloudWatch Logs), SageMaker (ml_training_pipeline: training, model, transform jobs), S3 and
 *    Secrets Manager (the Variables and Connections backend). They make no STS call: the credentials
 *    are the task's or MWAA's own role's (aws_conn_id=None).
 */
export function endpointsRequiredWithoutNat(n: EndpointNeeds): { endpoint: InterfaceEndpoint; why: string }[] {
    const needs: { endpoint: InterfaceEndpoint; why: string }[] =
        n.layout === "celery"
            ? [
                  { endpoint: "ecr.api", why: "Fargate pulls the Airflow image from ECR" },
                  { endpoint: "ecr.dkr", why: "Fargate pulls the Airflow image from ECR" },
                  { endpoint: "logs", why: "every container logs to CloudWatch Logs" },
                  { endpoint: "secretsmanager", why: "Fargate reads Airflow's secrets at start" },
                  {
                      endpoint: "monitoring",
                      why: "the control service publishes the queue-depth metric the worker pools scale on",
                  },
                  ...(n.broker === "sqs"
                      ? [{ endpoint: "sqs" as const, why: "SQS is the Celery broker (airflow:broker)" }]
                      : []),
                  ...(n.ecsExec
                      ? [{ endpoint: "ssmmessages" as const, why: "ECS Exec (airflow:ecsExec) opens SSM sessions" }]
                      : []),
              ]
            : [
                  { endpoint: "ecr.api", why: "MWAA pulls its images from ECR" },
                  { endpoint: "ecr.dkr", why: "MWAA pulls its images from ECR" },
                  { endpoint: "logs", why: "MWAA sends Airflow's logs to CloudWatch Logs" },
                  { endpoint: "monitoring", why: "MWAA publishes Airflow's metrics to CloudWatch" },
                  { endpoint: "sqs", why: "MWAA's Celery broker is SQS" },
                  { endpoint: "kms", why: "MWAA's queues are encrypted with KMS" },
                  { endpoint: "secretsmanager", why: "the Variables and Connections backend reads Secrets Manager" },
              ];
    needs.push(
        { endpoint: "ecs", why: "the fargate_parallel_tasks DAG runs and watches ECS tasks" },
        { endpoint: "sagemaker.api", why: "the ml_training_pipeline DAG starts and watches SageMaker jobs" },
    );
    return needs;
}

/** Private ECR of a region: <account>.dkr.ecr.<region>.amazonaws.com[.cn]/... */
const ECR_OF_REGION = (region: string) => new RegExp(`^\\d{12}\\.dkr\\.ecr\\.${region}\\.amazonaws\\.com(\\.cn)?/`);

export const networkKeys = {
    vpcCidr: key<string>({
        type: "string",
        description: "IPv4 CIDR block of the VPC. Private subnets get 1/8 of it each, public subnets 1/64 each.",
        default: "10.40.0.0/16",
        allowed:
            "an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address",
        schema: z.string().refine((v) => isPrivateIpv4Cidr(v) && prefixOf(v) >= 16 && prefixOf(v) <= 21),
    }),
    azCount: intKey(2, 3, 2, "Number of availability zones the VPC spans (one public and one private subnet in each)."),
    natStrategy: enumKey(
        NAT_STRATEGIES,
        "single",
        "NAT gateways for the private subnets: single (one, cheapest), perAz (one per availability zone, survives an AZ outage) or none (private subnets reach AWS only through VPC endpoints).",
    ),
    interfaceEndpoints: key<InterfaceEndpoint[]>({
        type: "array",
        description:
            "VPC interface endpoints to create in the private subnets, each with private DNS. An S3 gateway endpoint is always created.",
        default: [],
        allowed: `a list without repeats of ${choiceText(INTERFACE_ENDPOINTS)}`,
        schema: z.array(z.enum(INTERFACE_ENDPOINTS)).refine((list) => new Set(list).size === list.length),
    }),
    flowLogs: boolKey(false, "Send the VPC's flow logs (all traffic) to a CloudWatch log group."),
    flowLogsRetentionDays: intChoiceKey(
        LOG_RETENTION_DAYS,
        30,
        "Retention in days of the flow log group (a value CloudWatch Logs accepts).",
    ),
    webAllowedCidrs: key<string[]>({
        type: "array",
        description:
            "CIDR blocks allowed to reach the load balancer's listeners (HTTP 80, HTTPS 443 and Flower). Nothing else accepts traffic from outside the VPC.",
        default: ["0.0.0.0/0"],
        allowed: "a non-empty list of IPv4 or IPv6 CIDR blocks written with their network address",
        schema: z
            .array(z.string().refine((v) => isCidr(v)))
            .min(1)
            .refine((list) => new Set(list).size === list.length),
    }),
};

function prefixOf(cidr: string): number {
    return Number(cidr.split("/")[1]);
}

/** Cross-key checks of the network section. */
export function networkRules(
    v: {
        layout: Layout;
        natStrategy: NatStrategy;
        interfaceEndpoints: readonly InterfaceEndpoint[];
        broker: "redis" | "sqs";
        ecsExec: boolean;
        image: string;
        jobImage: string;
        metricsAgentImage: string;
    },
    region: string | undefined,
): string[] {
    const errors: string[] = [];
    if (v.natStrategy !== "none") return errors;
    const needs = endpointsRequiredWithoutNat(v);
    const required = [...new Set(needs.map((n) => n.endpoint))];
    const missing = required.filter((e) => !v.interfaceEndpoints.includes(e));
    if (missing.length > 0) {
        const why = missing.map((e) => `${JSON.stringify(e)}: ${needs.find((n) => n.endpoint === e)!.why}`);
        errors.push(
            `airflow:interfaceEndpoints must include ${required.map((e) => JSON.stringify(e)).join(", ")} when airflow:natStrategy is "none" and airflow:layout is ${JSON.stringify(v.layout)} (private subnets have no other way to reach those AWS services), got ${shown(v.interfaceEndpoints)}, missing ${why.join("; ")}`,
        );
    }
    // Without NAT nothing outside AWS is reachable, and of ECR only the region's own registries.
    // Each image the stack's tasks pull: [key, image, who pulls it].
    type Pulled = [string, string, string];
    const celery = v.layout === "celery";
    const images: Pulled[] = [
        ["jobImage", v.jobImage, "the Fargate job task pulls"],
        ...(celery && v.image !== "" ? [["image", v.image, "the Airflow services pull"] as Pulled] : []),
        ...(celery
            ? [["metricsAgentImage", v.metricsAgentImage, "every Celery task's metrics sidecar pulls"] as Pulled]
            : []),
    ];
    for (const [key, image, what] of images) {
        if (region !== undefined && !ECR_OF_REGION(region).test(image)) {
            errors.push(
                `airflow:${key} must be an image in a private ECR registry of ${region} (<account>.dkr.ecr.${region}.amazonaws.com/...) when airflow:natStrategy is "none": ${what} it through the ECR endpoints, and nothing else is reachable without NAT, got ${JSON.stringify(image)}`,
            );
        }
    }
    return errors;
}
