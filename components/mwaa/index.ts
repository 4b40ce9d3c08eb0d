import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { MWAA_LOG_MODULES } from "../../config/mwaa";
import { policyDocument } from "../../lib/iam";
import { mwaaTrust, trustPolicy } from "../../lib/trust";
import { withName } from "../../lib/tags";
import { PORTS } from "../network";
import { MWAA_TIMEOUTS, mwaaLogGroupName, MwaaEnvironmentArgs, validateArgs } from "./args";
import { environmentInputs } from "./environment";
import { executionRoleStatements } from "./iam";

export { MWAA_LOG_GROUP_SUFFIXES, MWAA_S3_PATHS, MWAA_TIMEOUTS, mwaaLogGroupName, MwaaEnvironmentArgs } from "./args";
export type { MwaaSettings } from "./args";
export { environmentInputs, loggingConfiguration } from "./environment";
export { executionRoleStatements } from "./iam";

/**
 * The prod layout: an Amazon MWAA environment fed from the same artifacts bucket, requirements file,
 * Airflow version and Secrets Manager backend as the Celery layout, so that a DAG tested on staging
 * behaves the same on prod. Creates the environment's self-referencing security group, its execution
 * role (trusted by MWAA only, with a policy scoped to this environment, bucket, log groups, queues and
 * secrets) and the environment itself, pinned to the uploaded requirements and plugins versions.
 */
export class MwaaEnvironment extends pulumi.ComponentResource {
    /** The MWAA environment's name (also in its log groups, `airflow-<name>-<Module>`). */
    public readonly environmentName: pulumi.Output<string>;
    public readonly environmentArn: pulumi.Output<string>;
    /** The Airflow UI: `https://<webserverUrl>`. */
    public readonly webserverUrl: pulumi.Output<string>;
    /**
     * The execution role: what DAGs run as. Other components (e.g. SageMakerTraining) attach their own
     * policies to it by name.
     */
    public readonly executionRoleName: pulumi.Output<string>;
    public readonly executionRoleArn: pulumi.Output<string>;
    public readonly securityGroupId: pulumi.Output<string>;
    /** The two subnets the environment runs in, once their availability zones are checked. */
    public readonly subnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: MwaaEnvironmentArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:mwaa:MwaaEnvironment", name, {}, opts);
        const resolved = validateArgs(name, args, this);
        const parent = { parent: this };
        const tags = args.tags;
        const envName = name;

        const partition = aws.getPartitionOutput({}, parent).partition;
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;

        this.subnetIds = checkedSubnets(name, args.network, this);
        const securityGroup = createSecurityGroup(name, args.network.vpcId, resolved.webserverIngressCidrs, tags, this);

        const role = new aws.iam.Role(
            `${name}-execution-role`,
            {
                description: `Execution role of the MWAA environment ${envName}`,
                assumeRolePolicy: trustPolicy(mwaaTrust({ partition, region, account }, envName)),
                tags: withName(tags, `${name}-execution-role`),
            },
            parent,
        );
        const policy = new aws.iam.RolePolicy(
            `${name}-execution-policy`,
            {
                role: role.id,
                policy: policyDocument(
                    executionRoleStatements({
                        partition,
                        region,
                        account,
                        envName,
                        environment: resolved.environment,
                        bucketArn: args.source.bucketArn,
                        bucketKmsKeyArn: args.source.kmsKeyArn,
                    }),
                ),
            },
            parent,
        );

        // MWAA's module log groups, created here with a retention (MWAA creates missing ones without).
        const logGroups = MWAA_LOG_MODULES.map(
            (module) =>
                new aws.cloudwatch.LogGroup(
                    `${name}-logs-${module.toLowerCase()}`,
                    {
                        name: mwaaLogGroupName(envName, module),
                        retentionInDays: resolved.logRetentionDays,
                        tags: withName(tags, `${name}-logs-${module.toLowerCase()}`),
                    },
                    parent,
                ),
        );

        const source = args.source;
        const environment = new aws.mwaa.Environment(
            `${name}-environment`,
            {
                ...environmentInputs(envName, resolved, source),
                executionRoleArn: role.arn,
                networkConfiguration: { subnetIds: this.subnetIds, securityGroupIds: [securityGroup.id] },
                tags: withName(tags, `${name}-environment`),
            },
            {
                parent: this,
                protect: args.protectData ?? false,
                // MWAA checks the role's permissions and the bucket's objects when it creates or updates.
                dependsOn: [
                    policy,
                    ...logGroups,
                    ...(source.versioning ? [source.versioning] : []),
                    ...(source.uploads ?? []),
                ],
                customTimeouts: MWAA_TIMEOUTS,
            },
        );

        this.environmentName = environment.name;
        this.environmentArn = environment.arn;
        this.webserverUrl = pulumi.interpolate`https://${environment.webserverUrl}`;
        this.executionRoleName = role.name;
        this.executionRoleArn = role.arn;
        this.securityGroupId = securityGroup.id;

        this.registerOutputs({
            environmentName: this.environmentName,
            environmentArn: this.environmentArn,
            webserverUrl: this.webserverUrl,
            executionRoleName: this.executionRoleName,
            executionRoleArn: this.executionRoleArn,
            securityGroupId: this.securityGroupId,
            subnetIds: this.subnetIds,
        });
    }
}

/**
 * The first two subnets, once their availability zones are checked: two subnets in two zones, or an
 * error now rather than a failed create 30 minutes later. The check reads the zones only, which are
 * known at preview even before the subnets exist.
 */
function checkedSubnets(
    name: string,
    network: MwaaEnvironmentArgs["network"],
    resource: pulumi.Resource,
): pulumi.Output<string[]> {
    const zones = pulumi.output(network.availabilityZones).apply((all) => {
        const [first, second] = all;
        if (!first || !second || first === second) {
            throw new pulumi.ResourceError(
                `MwaaEnvironment ${name}: network.availabilityZones must put the first two subnets in two different availability zones (MWAA runs in exactly two), got ${JSON.stringify(all.slice(0, 2))}`,
                resource,
            );
        }
        return [first, second];
    });
    return pulumi.all([zones, ...network.privateSubnetIds.slice(0, 2)]).apply(([, ...ids]) => ids as string[]);
}

/** MWAA's containers talk to each other on any port: all traffic from the group itself, all out. */
function createSecurityGroup(
    name: string,
    vpcId: pulumi.Input<string>,
    webserverIngressCidrs: readonly string[],
    tags: MwaaEnvironmentArgs["tags"],
    component: pulumi.Resource,
): aws.ec2.SecurityGroup {
    const parent = { parent: component };
    const securityGroup = new aws.ec2.SecurityGroup(
        `${name}-sg`,
        {
            vpcId,
            description: "Amazon MWAA environment: all traffic between its own members",
            tags: withName(tags, `${name}-sg`),
        },
        parent,
    );
    new aws.vpc.SecurityGroupIngressRule(
        `${name}-sg-in-self`,
        {
            securityGroupId: securityGroup.id,
            ipProtocol: "-1",
            referencedSecurityGroupId: securityGroup.id,
            description: "All traffic between the environment's own containers and endpoints",
            tags: withName(tags, `${name}-sg-in-self`),
        },
        parent,
    );
    webserverIngressCidrs.forEach(
        (cidr, i) =>
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-sg-in-https-${i}`,
                {
                    securityGroupId: securityGroup.id,
                    ipProtocol: "tcp",
                    fromPort: PORTS.https,
                    toPort: PORTS.https,
                    ...(cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
                    description: `Airflow UI (web server VPC endpoint) from ${cidr}`,
                    tags: withName(tags, `${name}-sg-in-https-${i}`),
                },
                parent,
            ),
    );
    new aws.vpc.SecurityGroupEgressRule(
        `${name}-sg-out-all`,
        {
            securityGroupId: securityGroup.id,
            ipProtocol: "-1",
            cidrIpv4: "0.0.0.0/0",
            description: "Outbound to AWS services and whatever the DAGs call",
            tags: withName(tags, `${name}-sg-out-all`),
        },
        parent,
    );
    return securityGroup;
}
