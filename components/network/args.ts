// AirflowNetwork's arguments, the ports the tiers talk on, and the up-front check.
import * as pulumi from "@pulumi/pulumi";
import { NETWORK_DEFAULTS, NetworkConfig } from "../../config";
import { INTERFACE_ENDPOINTS, InterfaceEndpoint, NAT_STRATEGIES, NatStrategy } from "../../config/network";
import { choiceText, isCidr, isPrivateIpv4Cidr, LOG_RETENTION_DAYS } from "../../config/spec";

/** Ports the tiers talk on. */
export const PORTS = {
    http: 80,
    https: 443,
    /** Airflow UI and API (webserver on 2.x, api-server on 3.x), also the execution API on 3.x. */
    airflowWeb: 8080,
    flower: 5555,
    /** Worker log server, read by the UI. */
    workerLogs: 8793,
    /** Triggerer log server, read by the UI. */
    triggererLogs: 8794,
    postgres: 5432,
    redis: 6379,
    nfs: 2049,
} as const;

/**
 * The stack configuration's network slice (without the listeners' allow-list) as AirflowNetwork's
 * arguments: `Pick` fails to compile when the slice has a field the arguments lack, the spread in
 * index.ts when a type differs.
 */
export type AirflowNetworkSettings = Pick<AirflowNetworkArgs, Exclude<keyof NetworkConfig, "webAllowedCidrs">>;

export interface AirflowNetworkArgs {
    /**
     * IPv4 CIDR block of the VPC, in a private range, prefix /16 to /21.
     * Private subnets get 1/8 of it each, public subnets 1/64 each. Default: "10.40.0.0/16".
     */
    cidrBlock?: string;
    /** Number of availability zones, 2 or 3. Default: 2. */
    azCount?: 2 | 3;
    /** NAT gateways: "single", "perAz" or "none". Default: "single". */
    natStrategy?: NatStrategy;
    /**
     * Interface endpoints to create in the private subnets (private DNS on), from
     * "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "sts", "monitoring", "kms".
     * The S3 gateway endpoint is always created. Default: none.
     */
    interfaceEndpoints?: readonly InterfaceEndpoint[];
    /** VPC flow logs to CloudWatch Logs. Default: off; retention 30 days when on. */
    flowLogs?: { enabled: boolean; retentionDays?: number };
    /**
     * The load balancer's listener ports and the CIDR blocks (IPv4 or IPv6) each accepts traffic
     * from: the only ingress from outside the VPC. Default: 80 and 443 from 0.0.0.0/0.
     */
    listeners?: readonly LoadBalancerListener[];
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface LoadBalancerListener {
    port: number;
    cidrs: readonly string[];
}

/** Security group ids of the tiers that other components attach to. */
export interface TierSecurityGroups {
    /** The internet-facing load balancer: its listener ports from the allow-list only. */
    loadBalancer: pulumi.Output<string>;
    /** Every Airflow component (ECS tasks). */
    services: pulumi.Output<string>;
    /** The metadata database: PostgreSQL from the services only. */
    database: pulumi.Output<string>;
    /** The Celery broker: Redis from the services only. */
    broker: pulumi.Output<string>;
    /** The shared file system: NFS from the services only. */
    fileSystem: pulumi.Output<string>;
    /** The VPC interface endpoints: HTTPS from inside the VPC. */
    endpoints: pulumi.Output<string>;
}

export interface ResolvedArgs {
    cidrBlock: string;
    azCount: 2 | 3;
    natStrategy: NatStrategy;
    interfaceEndpoints: readonly InterfaceEndpoint[];
    flowLogs: { enabled: boolean; retentionDays: number };
    listeners: readonly LoadBalancerListener[];
}

export function validateArgs(name: string, args: AirflowNetworkArgs, resource: pulumi.Resource): ResolvedArgs {
    const resolved: ResolvedArgs = {
        cidrBlock: args.cidrBlock ?? NETWORK_DEFAULTS.cidrBlock,
        azCount: args.azCount ?? NETWORK_DEFAULTS.azCount,
        natStrategy: args.natStrategy ?? NETWORK_DEFAULTS.natStrategy,
        interfaceEndpoints: args.interfaceEndpoints ?? NETWORK_DEFAULTS.interfaceEndpoints,
        flowLogs: {
            enabled: args.flowLogs?.enabled ?? NETWORK_DEFAULTS.flowLogs.enabled,
            retentionDays: args.flowLogs?.retentionDays ?? NETWORK_DEFAULTS.flowLogs.retentionDays,
        },
        listeners: args.listeners ?? [
            { port: PORTS.http, cidrs: ["0.0.0.0/0"] },
            { port: PORTS.https, cidrs: ["0.0.0.0/0"] },
        ],
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `AirflowNetwork ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    const prefix = Number(resolved.cidrBlock.split("/")[1]);
    if (!isPrivateIpv4Cidr(resolved.cidrBlock) || prefix < 16 || prefix > 21) {
        fail("cidrBlock", "a private IPv4 network with a prefix from /16 to /21", resolved.cidrBlock);
    }
    if (resolved.azCount !== 2 && resolved.azCount !== 3) fail("azCount", "2 or 3", resolved.azCount);
    if (!NAT_STRATEGIES.includes(resolved.natStrategy))
        fail("natStrategy", choiceText(NAT_STRATEGIES), resolved.natStrategy);
    const badEndpoint = resolved.interfaceEndpoints.find((e) => !INTERFACE_ENDPOINTS.includes(e));
    if (badEndpoint !== undefined) {
        fail("interfaceEndpoints", `a list of ${choiceText(INTERFACE_ENDPOINTS)}`, badEndpoint);
    }
    if (!(LOG_RETENTION_DAYS as readonly number[]).includes(resolved.flowLogs.retentionDays)) {
        fail("flowLogs.retentionDays", choiceText(LOG_RETENTION_DAYS), resolved.flowLogs.retentionDays);
    }
    for (const listener of resolved.listeners) {
        if (!Number.isInteger(listener.port) || listener.port < 1 || listener.port > 65535) {
            fail("listeners[].port", "a TCP port from 1 to 65535", listener.port);
        }
        if (!listener.cidrs.every((c) => isCidr(c))) {
            fail(
                `listeners[port ${listener.port}].cidrs`,
                "a list of CIDR blocks written with their network address",
                listener.cidrs,
            );
        }
    }
    return resolved;
}

/** NAT gateways per strategy: one, one per availability zone, or none. */
export function natGatewayCount(strategy: NatStrategy, azCount: number): number {
    return { single: 1, perAz: azCount, none: 0 }[strategy];
}
