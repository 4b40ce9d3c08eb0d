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
] as const;
export type InterfaceEndpoint = (typeof INTERFACE_ENDPOINTS)[number];

/**
 * With no NAT gateway, private subnets reach AWS only through endpoints. These are the ones each layout
 * cannot start without (S3 always has its gateway endpoint).
 *  - celery: Fargate pulls images from ECR, writes logs and reads its secrets from Secrets Manager.
 *  - mwaa: MWAA's workers need SQS (its Celery broker), CloudWatch Logs and metrics, KMS, and ECR.
 */
export const ENDPOINTS_REQUIRED_WITHOUT_NAT: Readonly<Record<Layout, readonly InterfaceEndpoint[]>> = {
    celery: ["ecr.api", "ecr.dkr", "logs", "secretsmanager"],
    mwaa: ["ecr.api", "ecr.dkr", "logs", "monitoring", "sqs", "kms"],
};

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
export function networkRules(v: {
    layout: Layout;
    natStrategy: NatStrategy;
    interfaceEndpoints: readonly InterfaceEndpoint[];
}): string[] {
    const errors: string[] = [];
    if (v.natStrategy === "none") {
        const required = ENDPOINTS_REQUIRED_WITHOUT_NAT[v.layout];
        const missing = required.filter((e) => !v.interfaceEndpoints.includes(e));
        if (missing.length > 0) {
            errors.push(
                `airflow:interfaceEndpoints must include ${required.map((e) => JSON.stringify(e)).join(", ")} when airflow:natStrategy is "none" and airflow:layout is ${JSON.stringify(v.layout)} (private subnets have no other way to reach those AWS services), got ${shown(v.interfaceEndpoints)}, missing ${missing.map((e) => JSON.stringify(e)).join(", ")}`,
            );
        }
    }
    return errors;
}
