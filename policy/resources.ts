// What the rules read, and the helpers they share. Nothing here imports @pulumi/aws: the rules match
// resources by type token (tests/policy.test.ts checks every token against @pulumi/aws's classes),
// which keeps the pack quick to load under both runners.
import type { PolicyResource } from "@pulumi/policy";
import * as ipaddr from "ipaddr.js";

/** Type tokens of the resources the rules look at (@pulumi/aws 7). */
export const TYPES = {
    s3Bucket: "aws:s3/bucket:Bucket",
    s3BucketV2: "aws:s3/bucketV2:BucketV2",
    s3Encryption: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    s3EncryptionV2: "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2",
    s3PublicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    s3BucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    s3Versioning: "aws:s3/bucketVersioning:BucketVersioning",
    s3VersioningV2: "aws:s3/bucketVersioningV2:BucketVersioningV2",
    rdsInstance: "aws:rds/instance:Instance",
    rdsCluster: "aws:rds/cluster:Cluster",
    rdsClusterInstance: "aws:rds/clusterInstance:ClusterInstance",
    cacheReplicationGroup: "aws:elasticache/replicationGroup:ReplicationGroup",
    cacheCluster: "aws:elasticache/cluster:Cluster",
    cacheServerless: "aws:elasticache/serverlessCache:ServerlessCache",
    efsFileSystem: "aws:efs/fileSystem:FileSystem",
    efsMountTarget: "aws:efs/mountTarget:MountTarget",
    sqsQueue: "aws:sqs/queue:Queue",
    secret: "aws:secretsmanager/secret:Secret",
    kmsKey: "aws:kms/key:Key",
    kmsAlias: "aws:kms/alias:Alias",
    vpc: "aws:ec2/vpc:Vpc",
    vpcCidrAssociation: "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
    securityGroupRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    iamRole: "aws:iam/role:Role",
    iamRolePolicy: "aws:iam/rolePolicy:RolePolicy",
    iamPolicy: "aws:iam/policy:Policy",
    iamUserPolicy: "aws:iam/userPolicy:UserPolicy",
    iamGroupPolicy: "aws:iam/groupPolicy:GroupPolicy",
    ecsTaskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    mwaaEnvironment: "aws:mwaa/environment:Environment",
    s3BucketLogging: "aws:s3/bucketLogging:BucketLogging",
    lbLoadBalancer: "aws:lb/loadBalancer:LoadBalancer",
    lbListener: "aws:lb/listener:Listener",
    ecsService: "aws:ecs/service:Service",
    metricAlarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    compositeAlarm: "aws:cloudwatch/compositeAlarm:CompositeAlarm",
} as const;

/** "aws:s3/bucketPolicy:BucketPolicy" -> "aws.s3.BucketPolicy", the class that creates it. */
export function className(type: string): string {
    const [pkg, mod, name] = type.split(":");
    return mod ? `${pkg}.${mod.split("/")[0]}.${name}` : type;
}

/** How a violation names a resource: `aws.s3.BucketPolicy "airflow-dev-artifacts-policy"`. */
export function describe(r: { type: string; name: string }): string {
    return `${className(r.type)} "${r.name}"`;
}

/**
 * Reads a value that may be unknown during `pulumi preview` (the CLI's runner throws its
 * UnknownValueError when a rule touches one). Returns undefined instead, for lookups whose absence
 * the rule can live with; rules must not use it to skip the value they judge.
 */
export function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch (err) {
        // @pulumi/policy does not export the class; its name is stable (proxy.js).
        if (err instanceof Error && err.constructor.name === "UnknownValueError") return undefined;
        throw err;
    }
}

/** The resources of the stack whose URNs a property of `r` depends on (e.g. a rule's `securityGroupId`). */
export function dependenciesOf(r: PolicyResource, property: string): PolicyResource[] {
    return r.propertyDependencies[property] ?? [];
}

/** A list input, whether given as one value or an array. */
export function asList<T>(value: T | T[] | undefined | null): T[] {
    if (value === undefined || value === null) return [];
    return Array.isArray(value) ? value : [value];
}

// ---- IAM policy documents ------------------------------------------------------------------------

export interface Statement {
    Sid?: string;
    Effect?: string;
    Action?: string | string[];
    NotAction?: string | string[];
    Resource?: string | string[];
    NotResource?: string | string[];
    Principal?: string | Record<string, string | string[]>;
    Condition?: Record<string, Record<string, unknown>>;
}

/** The statements of a policy document given as JSON text or as an object; throws on invalid JSON. */
export function statementsOf(document: unknown): Statement[] {
    const parsed = typeof document === "string" ? JSON.parse(document) : document;
    if (!parsed || typeof parsed !== "object") return [];
    return asList((parsed as { Statement?: Statement | Statement[] }).Statement);
}

/** `statement "Sid"` or `statement 2` (1-based), for messages. */
export function statementLabel(s: Statement, index: number): string {
    return s.Sid ? `statement "${s.Sid}"` : `statement ${index + 1}`;
}

/** Whether an IAM action pattern (case-insensitive, with * and ? wildcards) matches an action. */
export function actionMatches(pattern: string, action: string): boolean {
    const regex = pattern
        .split("")
        .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
        .join("");
    return new RegExp(`^${regex}$`, "i").test(action);
}

// ---- Networks ------------------------------------------------------------------------------------

/** Whether a CIDR block covers every address of its family (0.0.0.0/0, ::/0). */
export function isAnywhere(cidr: string): boolean {
    return /\/0$/.test(cidr.trim());
}

/** Whether `inner` lies entirely inside one of `outers` (same family); false for anything unparsable. */
export function cidrInside(inner: string, outers: readonly string[]): boolean {
    if (!ipaddr.isValidCIDR(inner)) return false;
    const [addr, bits] = ipaddr.parseCIDR(inner);
    return outers.some((outer) => {
        if (!ipaddr.isValidCIDR(outer)) return false;
        const range = ipaddr.parseCIDR(outer);
        return addr.kind() === range[0].kind() && bits >= range[1] && addr.match(range);
    });
}

/** The IPv4 and IPv6 CIDR blocks of the stack's VPCs that are known. */
export function vpcCidrs(resources: readonly PolicyResource[]): string[] {
    const cidrs: string[] = [];
    for (const r of resources) {
        if (r.type === TYPES.vpc) {
            for (const key of ["cidrBlock", "ipv6CidrBlock"]) {
                const value = known(() => r.props[key]);
                if (typeof value === "string" && value) cidrs.push(value);
            }
        } else if (r.type === TYPES.vpcCidrAssociation) {
            const value = known(() => r.props.cidrBlock);
            if (typeof value === "string" && value) cidrs.push(value);
        }
    }
    return cidrs;
}

/** One way into a security group, from any of the three places AWS lets you write it. */
export interface Ingress {
    /** The resource that declares it (a rule resource, or the group for inline rules). */
    readonly declaredBy: PolicyResource;
    /** The group it opens, when it is a group of this stack. */
    readonly group?: PolicyResource;
    readonly protocol: string;
    readonly fromPort?: number;
    readonly toPort?: number;
    /** Source CIDR blocks (IPv4 and IPv6); empty for group, prefix-list or self sources. */
    readonly cidrs: string[];
}

/**
 * Every ingress of the stack: `aws.vpc.SecurityGroupIngressRule`, `aws.ec2.SecurityGroupRule` of type
 * ingress, and inline `ingress` blocks of `aws.ec2.SecurityGroup`. A rule is tied to its group by the
 * dependency of its `securityGroupId` (known during preview, unlike the id itself).
 */
export function ingresses(resources: readonly PolicyResource[]): Ingress[] {
    const out: Ingress[] = [];
    const groupOf = (r: PolicyResource) =>
        dependenciesOf(r, "securityGroupId").find((d) => d.type === TYPES.securityGroup);
    for (const r of resources) {
        if (r.type === TYPES.ingressRule) {
            out.push({
                declaredBy: r,
                group: groupOf(r),
                protocol: String(r.props.ipProtocol ?? ""),
                fromPort: r.props.fromPort,
                toPort: r.props.toPort,
                cidrs: [r.props.cidrIpv4, r.props.cidrIpv6].filter((c): c is string => typeof c === "string" && !!c),
            });
        } else if (r.type === TYPES.securityGroupRule && r.props.type === "ingress") {
            out.push({
                declaredBy: r,
                group: groupOf(r),
                protocol: String(r.props.protocol ?? ""),
                fromPort: r.props.fromPort,
                toPort: r.props.toPort,
                cidrs: [...asList<string>(r.props.cidrBlocks), ...asList<string>(r.props.ipv6CidrBlocks)],
            });
        } else if (r.type === TYPES.securityGroup) {
            for (const rule of asList<Record<string, unknown>>(r.props.ingress as never)) {
                out.push({
                    declaredBy: r,
                    group: r,
                    protocol: String(rule.protocol ?? ""),
                    fromPort: rule.fromPort as number | undefined,
                    toPort: rule.toPort as number | undefined,
                    cidrs: [...asList(rule.cidrBlocks as string[]), ...asList(rule.ipv6CidrBlocks as string[])],
                });
            }
        }
    }
    return out;
}

/** "tcp 5432", "tcp 8000-8100", "all traffic". */
export function portText(i: Pick<Ingress, "protocol" | "fromPort" | "toPort">): string {
    const protocol = i.protocol === "-1" || i.protocol === "all" ? "all traffic" : i.protocol;
    if (protocol === "all traffic") return protocol;
    if (i.fromPort === undefined) return protocol;
    return i.fromPort === i.toPort || i.toPort === undefined
        ? `${protocol} ${i.fromPort}`
        : `${protocol} ${i.fromPort}-${i.toPort}`;
}

// ---- S3 ------------------------------------------------------------------------------------------

export const BUCKET_TYPES: readonly string[] = [TYPES.s3Bucket, TYPES.s3BucketV2];

/**
 * The resources of one of `types` that configure `bucket`: tied by the dependency of their `bucket`
 * property on it (known during preview), or else by an equal, known bucket name.
 */
export function attachedToBucket(
    bucket: PolicyResource,
    resources: readonly PolicyResource[],
    types: readonly string[],
): PolicyResource[] {
    const name = known(() => bucket.props.bucket);
    return resources.filter((r) => {
        if (!types.includes(r.type)) return false;
        const deps = dependenciesOf(r, "bucket");
        if (deps.length > 0) return deps.some((d) => d.urn === bucket.urn);
        const target = known(() => r.props.bucket);
        return typeof name === "string" && name !== "" && target === name;
    });
}
