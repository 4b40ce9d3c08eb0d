// The key inputs of each resource, as the plan prints them: sizes, ports, CIDR blocks, encryption
// flags, IAM statements. One function per type that matters for review; every other type gets a
// compact line of its scalar inputs. Secret values (passwords, secret strings) are never printed.
/* eslint-disable @typescript-eslint/no-explicit-any -- resource inputs are whatever each provider type takes */
import type { CapturedResource } from "../harness/mocks";
import { Unknowns } from "./unknowns";

/** What a summary can ask about the rest of the plan. */
export interface SummaryContext {
    /** The name of the resource a value is the id or ARN of; otherwise the value as the plan shows it. */
    ref(value: unknown): string;
    /** A value as the plan shows it (made-up values replaced by tokens), as text. */
    text(value: unknown): string;
}

/** First line: shown after the resource's name; further lines: shown under it. */
export type Summary = string[];

type Inputs = Record<string, any>;
type Summarizer = (inputs: Inputs, ctx: SummaryContext) => Summary;

export function contextFor(unknowns: Unknowns): SummaryContext {
    const text = (value: unknown): string => {
        const shown = unknowns.substitute(value);
        return typeof shown === "string" ? shown : JSON.stringify(shown);
    };
    return { ref: (value) => unknowns.resourceOf(value) ?? text(value), text };
}

const onOff = (value: unknown) => (value ? "on" : "off");
const list = (values: unknown, ctx: SummaryContext) =>
    (Array.isArray(values) ? values : values === undefined ? [] : [values]).map((v) => ctx.ref(v)).join(", ");
const join = (...parts: (string | false | undefined | null)[]) => parts.filter((p) => !!p).join(", ");

/** "tcp 5432", "tcp 1024-65535", "all traffic". */
function ports(protocol: unknown, from: unknown, to: unknown): string {
    const p = String(protocol ?? "");
    if (p === "-1" || p === "all") return "all traffic";
    if (from === undefined) return p;
    return from === to || to === undefined ? `${p} ${from}` : `${p} ${from}-${to}`;
}

/** One IAM statement on one line: effect, principals, actions, resources, conditions. */
export function statementText(s: Record<string, any>, ctx: SummaryContext): string {
    const asList = (v: unknown) => (Array.isArray(v) ? v : v === undefined ? [] : [v]);
    const principal = s.Principal
        ? typeof s.Principal === "string"
            ? s.Principal
            : Object.entries(s.Principal as Record<string, unknown>)
                  .map(
                      ([kind, who]) =>
                          `${kind} ${asList(who)
                              .map((w) => ctx.text(w))
                              .join(", ")}`,
                  )
                  .join("; ")
        : undefined;
    const actions =
        s.Action !== undefined ? asList(s.Action).join(", ") : `everything but ${asList(s.NotAction).join(", ")}`;
    const resources =
        s.Resource !== undefined
            ? asList(s.Resource)
                  .map((r) => ctx.text(r))
                  .join(", ")
            : undefined;
    const conditions = s.Condition
        ? Object.entries(s.Condition as Record<string, Record<string, unknown>>)
              .flatMap(([op, kv]) =>
                  Object.entries(kv).map(
                      ([k, v]) =>
                          `${op} ${k}=${asList(v)
                              .map((x) => ctx.text(x))
                              .join("|")}`,
                  ),
              )
              .join(" and ")
        : undefined;
    return [
        s.Sid ? `[${s.Sid}]` : undefined,
        s.Effect ?? "Allow",
        principal ? `for ${principal}` : undefined,
        actions,
        resources ? `on ${resources}` : undefined,
        s.NotResource !== undefined ? `on everything but ${asList(s.NotResource).join(", ")}` : undefined,
        conditions ? `if ${conditions}` : undefined,
    ]
        .filter((p) => p !== undefined)
        .join(" ");
}

/** The statements of a policy document (JSON text or object), one line each. */
export function policyLines(document: unknown, ctx: SummaryContext): string[] {
    try {
        const parsed = typeof document === "string" ? JSON.parse(document) : document;
        const statements = parsed?.Statement;
        return (Array.isArray(statements) ? statements : statements ? [statements] : []).map((s) =>
            statementText(s, ctx),
        );
    } catch {
        return [`(not JSON) ${ctx.text(document)}`];
    }
}

function ingressLine(rule: Inputs, ctx: SummaryContext, group: string): string {
    const source =
        rule.cidrIpv4 ??
        rule.cidrIpv6 ??
        (rule.referencedSecurityGroupId ? ctx.ref(rule.referencedSecurityGroupId) : undefined) ??
        rule.prefixListId ??
        "?";
    return `${ports(rule.ipProtocol, rule.fromPort, rule.toPort)} from ${source} into ${group}`;
}

function egressLine(rule: Inputs, ctx: SummaryContext, group: string): string {
    const destination =
        rule.cidrIpv4 ??
        rule.cidrIpv6 ??
        (rule.referencedSecurityGroupId ? ctx.ref(rule.referencedSecurityGroupId) : undefined) ??
        rule.prefixListId ??
        "?";
    return `${ports(rule.ipProtocol, rule.fromPort, rule.toPort)} from ${group} to ${destination}`;
}

/** Inline rules of a security group (aws.ec2.SecurityGroup's ingress/egress blocks). */
function inlineRules(i: Inputs, ctx: SummaryContext): string[] {
    const rule = (direction: string) => (r: Inputs) => {
        const peers = [
            ...(r.cidrBlocks ?? []),
            ...(r.ipv6CidrBlocks ?? []),
            ...(r.securityGroups ?? []).map((g: unknown) => ctx.ref(g)),
            ...(r.self ? ["itself"] : []),
        ].join(", ");
        return `${direction} ${ports(r.protocol, r.fromPort, r.toPort)} ${direction === "ingress" ? "from" : "to"} ${peers || "?"}`;
    };
    return [...(i.ingress ?? []).map(rule("ingress")), ...(i.egress ?? []).map(rule("egress"))];
}

function containerLines(definitions: unknown, ctx: SummaryContext): string[] {
    let containers: Inputs[];
    try {
        containers = typeof definitions === "string" ? JSON.parse(definitions) : (definitions as Inputs[]);
    } catch {
        return [`containers: (not JSON)`];
    }
    return (containers ?? []).map((c) =>
        join(
            `container ${c.name}: ${ctx.text(c.image)}`,
            c.essential === false && "not essential",
            c.cpu !== undefined && `cpu ${c.cpu}`,
            c.memory !== undefined && `memory ${c.memory} MiB`,
            c.portMappings?.length && `ports ${c.portMappings.map((p: Inputs) => p.containerPort).join(", ")}`,
            c.command && `command ${JSON.stringify(c.command)}`,
            c.environment?.length && `env ${c.environment.map((e: Inputs) => e.name).join(" ")}`,
            c.secrets?.length && `secrets ${c.secrets.map((e: Inputs) => e.name).join(" ")}`,
            c.logConfiguration?.logDriver && `logs ${c.logConfiguration.logDriver}`,
        ),
    );
}

const SUMMARIES: Record<string, Summarizer> = {
    "aws:ec2/vpc:Vpc": (i) => [
        join(i.cidrBlock, `DNS hostnames ${onOff(i.enableDnsHostnames)}`, `DNS support ${onOff(i.enableDnsSupport)}`),
    ],
    "aws:ec2/subnet:Subnet": (i, c) => [
        join(`${i.cidrBlock} in ${c.text(i.availabilityZone)}`, `public IP on launch ${onOff(i.mapPublicIpOnLaunch)}`),
    ],
    "aws:ec2/internetGateway:InternetGateway": (i, c) => [`in ${c.ref(i.vpcId)}`],
    "aws:ec2/eip:Eip": (i) => [`domain ${i.domain ?? "standard"}`],
    "aws:ec2/natGateway:NatGateway": (i, c) => [`${i.connectivityType ?? "public"} in ${c.ref(i.subnetId)}`],
    "aws:ec2/routeTable:RouteTable": (i, c) => [`in ${c.ref(i.vpcId)}`],
    "aws:ec2/route:Route": (i, c) => {
        const target = ["gatewayId", "natGatewayId", "transitGatewayId", "vpcEndpointId", "networkInterfaceId"].find(
            (k) => i[k] !== undefined,
        );
        return [
            `${i.destinationCidrBlock ?? i.destinationIpv6CidrBlock} via ${target ? c.ref(i[target]) : "?"} in ${c.ref(i.routeTableId)}`,
        ];
    },
    "aws:ec2/routeTableAssociation:RouteTableAssociation": (i, c) => [
        `${c.ref(i.subnetId ?? i.gatewayId)} uses ${c.ref(i.routeTableId)}`,
    ],
    "aws:ec2/vpcEndpoint:VpcEndpoint": (i, c) => [
        join(
            `${i.vpcEndpointType ?? "Gateway"} ${c.text(i.serviceName)}`,
            i.privateDnsEnabled !== undefined && `private DNS ${onOff(i.privateDnsEnabled)}`,
            i.subnetIds && `${i.subnetIds.length} subnets`,
            i.securityGroupIds && `groups ${list(i.securityGroupIds, c)}`,
            i.routeTableIds && `${i.routeTableIds.length} route tables`,
        ),
    ],
    "aws:ec2/securityGroup:SecurityGroup": (i, c) => [`"${i.description ?? ""}"`, ...inlineRules(i, c)],
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": (i, c) => {
        const rules = inlineRules(i, c);
        return rules.length === 0 ? ["no rules (all traffic denied)"] : ["", ...rules];
    },
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (i, c) => [
        ingressLine(i, c, c.ref(i.securityGroupId)),
    ],
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (i, c) => [egressLine(i, c, c.ref(i.securityGroupId))],
    "aws:ec2/securityGroupRule:SecurityGroupRule": (i, c) => [
        `${i.type} ${ports(i.protocol, i.fromPort, i.toPort)} ${i.type === "ingress" ? "from" : "to"} ${[
            ...(i.cidrBlocks ?? []),
            ...(i.ipv6CidrBlocks ?? []),
            ...(i.sourceSecurityGroupId ? [c.ref(i.sourceSecurityGroupId)] : []),
            ...(i.self ? ["itself"] : []),
        ].join(", ")} on ${c.ref(i.securityGroupId)}`,
    ],
    "aws:ec2/flowLog:FlowLog": (i, c) => [
        `${i.trafficType} traffic of ${c.ref(i.vpcId ?? i.subnetId)} to ${i.logDestinationType ?? "cloud-watch-logs"} ${c.ref(i.logDestination)}`,
    ],
    "aws:cloudwatch/logGroup:LogGroup": (i, c) => [
        join(
            i.name && `name ${c.text(i.name)}`,
            i.retentionInDays ? `retention ${i.retentionInDays} days` : "retention: never expires",
            i.kmsKeyId && `KMS key ${c.ref(i.kmsKeyId)}`,
        ),
    ],
    "aws:iam/role:Role": (i, c) => {
        const trust = policyLines(i.assumeRolePolicy, c).map((l) => `trust: ${l}`);
        const inline = (i.inlinePolicies ?? []).flatMap((p: Inputs) =>
            policyLines(p.policy, c).map((l) => `inline ${p.name}: ${l}`),
        );
        const managed = (i.managedPolicyArns ?? []).map((a: unknown) => `managed policy ${c.text(a)}`);
        return [
            join(i.name && `name ${c.text(i.name)}`, i.maxSessionDuration && `max session ${i.maxSessionDuration} s`),
            ...trust,
            ...inline,
            ...managed,
        ];
    },
    "aws:iam/rolePolicy:RolePolicy": (i, c) => [`on role ${c.ref(i.role)}`, ...policyLines(i.policy, c)],
    "aws:iam/policy:Policy": (i, c) => [i.name ? `name ${c.text(i.name)}` : "", ...policyLines(i.policy, c)],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": (i, c) => [`${c.ref(i.policyArn)} on role ${c.ref(i.role)}`],
    "aws:s3/bucket:Bucket": (i, c) => [
        join(
            i.bucket
                ? `bucket ${c.text(i.bucket)}`
                : i.bucketPrefix
                  ? `prefix ${c.text(i.bucketPrefix)}`
                  : "auto-named",
            i.forceDestroy && "force destroy",
        ),
    ],
    "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration": (i, c) => [
        join(
            `bucket ${c.ref(i.bucket)}`,
            ...(i.rules ?? []).map((r: Inputs) =>
                join(
                    r.applyServerSideEncryptionByDefault?.sseAlgorithm,
                    r.applyServerSideEncryptionByDefault?.kmsMasterKeyId &&
                        `key ${c.ref(r.applyServerSideEncryptionByDefault.kmsMasterKeyId)}`,
                    r.bucketKeyEnabled && "bucket key on",
                ),
            ),
        ),
    ],
    "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": (i, c) => {
        const flags = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];
        const off = flags.filter((f) => i[f] !== true);
        return [join(`bucket ${c.ref(i.bucket)}`, off.length === 0 ? "all four blocks on" : `off: ${off.join(", ")}`)];
    },
    "aws:s3/bucketPolicy:BucketPolicy": (i, c) => [`bucket ${c.ref(i.bucket)}`, ...policyLines(i.policy, c)],
    "aws:s3/bucketVersioning:BucketVersioning": (i, c) => [
        join(`bucket ${c.ref(i.bucket)}`, `versioning ${i.versioningConfiguration?.status ?? "?"}`),
    ],
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": (i, c) => [
        `bucket ${c.ref(i.bucket)}`,
        ...(i.rules ?? []).map(
            (r: Inputs) =>
                `rule ${r.id}: ${r.status}${r.expiration?.days ? `, expire after ${r.expiration.days} days` : ""}`,
        ),
    ],
    "aws:s3/bucketObjectv2:BucketObjectv2": (i, c) => [join(`bucket ${c.ref(i.bucket)}`, `key ${i.key}`)],
    "aws:rds/instance:Instance": (i, c) => [
        join(
            `${i.engine} ${i.engineVersion ?? ""}`.trim(),
            i.instanceClass,
            i.allocatedStorage && `${i.allocatedStorage} GiB ${i.storageType ?? ""}`.trim(),
            i.maxAllocatedStorage && `autoscaling to ${i.maxAllocatedStorage} GiB`,
            `multi-AZ ${onOff(i.multiAz)}`,
            `encrypted ${onOff(i.storageEncrypted)}`,
            `public ${onOff(i.publiclyAccessible)}`,
            i.backupRetentionPeriod !== undefined && `backups ${i.backupRetentionPeriod} days`,
            `deletion protection ${onOff(i.deletionProtection)}`,
            i.vpcSecurityGroupIds && `groups ${list(i.vpcSecurityGroupIds, c)}`,
        ),
    ],
    "aws:rds/cluster:Cluster": (i, c) => [
        join(
            `${i.engine} ${i.engineVersion ?? ""}`.trim(),
            `encrypted ${onOff(i.storageEncrypted)}`,
            i.backupRetentionPeriod !== undefined && `backups ${i.backupRetentionPeriod} days`,
            `deletion protection ${onOff(i.deletionProtection)}`,
            i.vpcSecurityGroupIds && `groups ${list(i.vpcSecurityGroupIds, c)}`,
        ),
    ],
    "aws:rds/subnetGroup:SubnetGroup": (i) => [`${(i.subnetIds ?? []).length} subnets`],
    "aws:elasticache/replicationGroup:ReplicationGroup": (i, c) => [
        join(
            `${i.engine ?? "redis"} ${i.engineVersion ?? ""}`.trim(),
            i.nodeType,
            i.numCacheClusters !== undefined && `${i.numCacheClusters} nodes`,
            `at-rest encryption ${onOff(i.atRestEncryptionEnabled)}`,
            `in-transit encryption ${onOff(i.transitEncryptionEnabled)}`,
            `automatic failover ${onOff(i.automaticFailoverEnabled)}`,
            `multi-AZ ${onOff(i.multiAzEnabled)}`,
            i.securityGroupIds && `groups ${list(i.securityGroupIds, c)}`,
        ),
    ],
    "aws:elasticache/subnetGroup:SubnetGroup": (i) => [`${(i.subnetIds ?? []).length} subnets`],
    "aws:efs/fileSystem:FileSystem": (i, c) => [
        join(
            `encrypted ${onOff(i.encrypted)}`,
            i.kmsKeyId && `key ${c.ref(i.kmsKeyId)}`,
            i.performanceMode,
            i.throughputMode && `throughput ${i.throughputMode}`,
        ),
    ],
    "aws:efs/mountTarget:MountTarget": (i, c) => [
        join(
            `${c.ref(i.fileSystemId)} in ${c.ref(i.subnetId)}`,
            i.securityGroups && `groups ${list(i.securityGroups, c)}`,
        ),
    ],
    "aws:efs/accessPoint:AccessPoint": (i, c) => [
        join(
            `on ${c.ref(i.fileSystemId)}`,
            i.rootDirectory?.path && `path ${i.rootDirectory.path}`,
            i.posixUser && `uid ${i.posixUser.uid} gid ${i.posixUser.gid}`,
        ),
    ],
    "aws:sqs/queue:Queue": (i, c) => [
        join(
            i.name && `name ${c.text(i.name)}`,
            i.kmsMasterKeyId
                ? `KMS key ${c.ref(i.kmsMasterKeyId)}`
                : `SQS-managed encryption ${onOff(i.sqsManagedSseEnabled)}`,
            i.visibilityTimeoutSeconds !== undefined && `visibility ${i.visibilityTimeoutSeconds} s`,
            i.messageRetentionSeconds !== undefined && `retention ${i.messageRetentionSeconds} s`,
        ),
    ],
    "aws:secretsmanager/secret:Secret": (i, c) => [
        join(
            i.name && `name ${c.text(i.name)}`,
            i.kmsKeyId ? `KMS key ${c.ref(i.kmsKeyId)}` : "default KMS key",
            i.recoveryWindowInDays !== undefined && `recovery window ${i.recoveryWindowInDays} days`,
        ),
    ],
    "aws:secretsmanager/secretVersion:SecretVersion": (i, c) => [`value of ${c.ref(i.secretId)} (secret, not shown)`],
    "aws:kms/key:Key": (i) => [
        join(
            `rotation ${onOff(i.enableKeyRotation)}`,
            i.deletionWindowInDays && `deletion window ${i.deletionWindowInDays} days`,
        ),
    ],
    "aws:ecs/cluster:Cluster": (i) => [join(...(i.settings ?? []).map((s: Inputs) => `${s.name} ${s.value}`))],
    "aws:ecs/taskDefinition:TaskDefinition": (i, c) => [
        join(
            i.family && `family ${c.text(i.family)}`,
            i.cpu && `cpu ${i.cpu}`,
            i.memory && `memory ${i.memory} MiB`,
            i.requiresCompatibilities && i.requiresCompatibilities.join("/"),
            i.runtimePlatform?.cpuArchitecture,
        ),
        ...containerLines(i.containerDefinitions, c),
    ],
    "aws:ecs/service:Service": (i, c) => [
        join(
            `desired ${i.desiredCount ?? 1}`,
            i.launchType,
            i.capacityProviderStrategies &&
                `capacity ${i.capacityProviderStrategies.map((s: Inputs) => `${s.capacityProvider}:${s.weight ?? 0}`).join(" ")}`,
            i.networkConfiguration && `public IP ${onOff(i.networkConfiguration.assignPublicIp)}`,
            i.networkConfiguration?.securityGroups && `groups ${list(i.networkConfiguration.securityGroups, c)}`,
            i.enableExecuteCommand && "ECS Exec on",
        ),
    ],
    "aws:lb/loadBalancer:LoadBalancer": (i, c) => [
        join(
            `${i.internal ? "internal" : "internet-facing"} ${i.loadBalancerType ?? "application"}`,
            i.subnets && `${i.subnets.length} subnets`,
            i.securityGroups && `groups ${list(i.securityGroups, c)}`,
        ),
    ],
    "aws:lb/listener:Listener": (i, c) => [
        join(
            `${i.protocol ?? ""} ${i.port ?? ""}`.trim(),
            ...(i.defaultActions ?? []).map(
                (a: Inputs) => `${a.type}${a.targetGroupArn ? ` to ${c.ref(a.targetGroupArn)}` : ""}`,
            ),
        ),
    ],
    "aws:lb/targetGroup:TargetGroup": (i) => [
        join(
            `${i.protocol ?? ""} ${i.port ?? ""}`.trim(),
            i.targetType && `targets ${i.targetType}`,
            i.healthCheck?.path && `health ${i.healthCheck.path}`,
        ),
    ],
    "aws:appautoscaling/target:Target": (i, c) => [`${c.text(i.resourceId)} from ${i.minCapacity} to ${i.maxCapacity}`],
    "aws:mwaa/environment:Environment": (i, c) => [
        join(
            i.environmentClass,
            i.airflowVersion && `Airflow ${i.airflowVersion}`,
            `workers ${i.minWorkers ?? "?"}-${i.maxWorkers ?? "?"}`,
            i.schedulers !== undefined && `${i.schedulers} schedulers`,
            `web server ${i.webserverAccessMode ?? "PRIVATE_ONLY"}`,
            i.sourceBucketArn && `source ${c.ref(i.sourceBucketArn)}`,
        ),
        ...Object.entries((i.loggingConfiguration ?? {}) as Record<string, Inputs>).map(
            ([module, l]) => `logging ${module}: ${l?.enabled ? (l.logLevel ?? "on") : "off"}`,
        ),
    ],
    "random:index/randomPassword:RandomPassword": (i) => [`length ${i.length} (secret, not shown)`],
};

SUMMARIES["aws:s3/bucketV2:BucketV2"] = SUMMARIES["aws:s3/bucket:Bucket"];
SUMMARIES["aws:s3/bucketVersioningV2:BucketVersioningV2"] = SUMMARIES["aws:s3/bucketVersioning:BucketVersioning"];
SUMMARIES["aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"] =
    SUMMARIES["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"];

/** Inputs never shown by the default summary. */
const HIDDEN = new Set(["tags", "tagsAll", "name", "__defaults"]);
/** Inputs whose values are secrets whatever the type. */
const SECRET_KEYS = /password|secret|token|privatekey/i;

/** A compact line of scalar inputs, for types without their own summary. */
function defaultSummary(i: Inputs, ctx: SummaryContext): Summary {
    const parts: string[] = [];
    for (const [key, value] of Object.entries(i).sort(([a], [b]) => a.localeCompare(b))) {
        if (HIDDEN.has(key) || value === undefined) continue;
        if (SECRET_KEYS.test(key)) {
            parts.push(`${key} (secret, not shown)`);
        } else if (value === null || ["string", "number", "boolean"].includes(typeof value)) {
            const shown = typeof value === "string" ? ctx.ref(value) : String(value);
            parts.push(`${key} ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}`);
        } else if (Array.isArray(value)) {
            parts.push(`${key} [${value.length}]`);
        } else {
            parts.push(`${key} {${Object.keys(value).length}}`);
        }
        if (parts.length === 8) {
            parts.push("...");
            break;
        }
    }
    return [parts.join(", ")];
}

/** The key inputs of a resource (components have none of their own). */
export function summarize(r: CapturedResource, ctx: SummaryContext): Summary {
    if (!r.custom && !r.type.startsWith("awsx:")) return [""];
    const summarizer = SUMMARIES[r.type];
    return summarizer ? summarizer(r.inputs, ctx) : defaultSummary(r.inputs, ctx);
}

/** Types with their own summary (the rest get the default one). */
export const SUMMARIZED_TYPES: readonly string[] = Object.keys(SUMMARIES);
