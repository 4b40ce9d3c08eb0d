// One security group per tier, and the rules between them as a pure table.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { withName } from "../../lib/tags";
import { PORTS, ResolvedArgs, TierSecurityGroups } from "./args";

/** The tiers, by their key in TierSecurityGroups. */
export type Tier = keyof TierSecurityGroups;

/** Each tier's security group: the role in its name `<name>-<role>-sg`, and its description. */
export const TIER_GROUPS: Readonly<Record<Tier, { role: string; description: string }>> = {
    loadBalancer: { role: "lb", description: "Airflow load balancer: listener ports from the allow-list" },
    services: { role: "services", description: "Airflow components on ECS" },
    database: { role: "database", description: "Airflow metadata database" },
    broker: { role: "broker", description: "Airflow Celery broker" },
    fileSystem: { role: "filesystem", description: "Airflow shared file system" },
    endpoints: { role: "endpoints", description: "VPC interface endpoints: HTTPS from the VPC" },
};

/** A security group rule: TCP on one port from a tier or a CIDR block (ingress), or to a tier or anywhere (egress). */
export type TierRule =
    | {
          kind: "ingress";
          rule: string;
          tier: Tier;
          port: number;
          from: { tier: Tier } | { cidr: string };
          description: string;
      }
    | {
          kind: "egress";
          rule: string;
          tier: Tier;
          to: { tier: Tier; port: number } | { anywhere: true };
          description: string;
      };

/**
 * Every rule between the tiers: ingress only ever names another tier, except the load balancer's
 * listeners (from the allow-list) and the endpoints (HTTPS from the VPC's own block); only the
 * services reach out anywhere (AWS APIs and whatever the DAGs call).
 */
export function tierRules(resolved: Pick<ResolvedArgs, "cidrBlock" | "listeners">): TierRule[] {
    const ingress = (
        rule: string,
        tier: Tier,
        port: number,
        from: { tier: Tier } | { cidr: string },
        description: string,
    ): TierRule => ({
        kind: "ingress",
        rule,
        tier,
        port,
        from,
        description,
    });
    const services = { tier: "services" as const };
    return [
        ...resolved.listeners.flatMap(({ port, cidrs }) =>
            cidrs.map((cidr, i) =>
                ingress(
                    `lb-in-${port}-${i}`,
                    "loadBalancer",
                    port,
                    { cidr },
                    `Listener ${port} from allow-listed ${cidr}`,
                ),
            ),
        ),
        {
            kind: "egress",
            rule: "lb-out-web",
            tier: "loadBalancer",
            to: { tier: "services", port: PORTS.airflowWeb },
            description: "To the Airflow UI/API",
        },
        {
            kind: "egress",
            rule: "lb-out-flower",
            tier: "loadBalancer",
            to: { tier: "services", port: PORTS.flower },
            description: "To Flower",
        },
        ingress(
            "services-in-web-from-lb",
            "services",
            PORTS.airflowWeb,
            { tier: "loadBalancer" },
            "Airflow UI/API from the load balancer",
        ),
        ingress(
            "services-in-flower-from-lb",
            "services",
            PORTS.flower,
            { tier: "loadBalancer" },
            "Flower from the load balancer",
        ),
        ingress("services-in-web-from-self", "services", PORTS.airflowWeb, services, "Airflow API between components"),
        ingress("services-in-worker-logs", "services", PORTS.workerLogs, services, "Worker log server, read by the UI"),
        ingress(
            "services-in-triggerer-logs",
            "services",
            PORTS.triggererLogs,
            services,
            "Triggerer log server, read by the UI",
        ),
        {
            kind: "egress",
            rule: "services-out-all",
            tier: "services",
            to: { anywhere: true },
            description: "Outbound from Airflow components",
        },
        ingress("database-in-postgres", "database", PORTS.postgres, services, "PostgreSQL from Airflow components"),
        ingress("broker-in-redis", "broker", PORTS.redis, services, "Redis from Airflow components"),
        ingress("filesystem-in-nfs", "fileSystem", PORTS.nfs, services, "NFS from Airflow components"),
        ingress(
            "endpoints-in-https",
            "endpoints",
            PORTS.https,
            { cidr: resolved.cidrBlock },
            "HTTPS from inside the VPC",
        ),
    ];
}

/** The tiers' security groups and their rules (tierRules), each rule a separate resource `<name>-<rule>`. */
export function createTierSecurityGroups(
    name: string,
    vpcId: pulumi.Input<string>,
    resolved: Pick<ResolvedArgs, "cidrBlock" | "listeners">,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    component: pulumi.Resource,
): Record<Tier, aws.ec2.SecurityGroup> {
    const parent = { parent: component };
    const groups = Object.fromEntries(
        (Object.keys(TIER_GROUPS) as Tier[]).map((tier) => {
            const { role, description } = TIER_GROUPS[tier];
            return [
                tier,
                new aws.ec2.SecurityGroup(
                    `${name}-${role}-sg`,
                    { vpcId, description, tags: withName(tags, `${name}-${role}-sg`) },
                    parent,
                ),
            ];
        }),
    ) as Record<Tier, aws.ec2.SecurityGroup>;
    for (const rule of tierRules(resolved)) {
        const ruleName = `${name}-${rule.rule}`;
        if (rule.kind === "ingress") {
            const from = rule.from;
            new aws.vpc.SecurityGroupIngressRule(
                ruleName,
                {
                    securityGroupId: groups[rule.tier].id,
                    ipProtocol: "tcp",
                    fromPort: rule.port,
                    toPort: rule.port,
                    description: rule.description,
                    ...("tier" in from
                        ? { referencedSecurityGroupId: groups[from.tier].id }
                        : from.cidr.includes(":")
                          ? { cidrIpv6: from.cidr }
                          : { cidrIpv4: from.cidr }),
                    tags: withName(tags, ruleName),
                },
                parent,
            );
        } else {
            const to = rule.to;
            new aws.vpc.SecurityGroupEgressRule(
                ruleName,
                {
                    securityGroupId: groups[rule.tier].id,
                    description: rule.description,
                    ...("tier" in to
                        ? {
                              ipProtocol: "tcp",
                              fromPort: to.port,
                              toPort: to.port,
                              referencedSecurityGroupId: groups[to.tier].id,
                          }
                        : { ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" }),
                    tags: withName(tags, ruleName),
                },
                parent,
            );
        }
    }
    return groups;
}
