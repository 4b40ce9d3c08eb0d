import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { policyDocument, Statement } from "../lib/iam";
import { ecsExecutionTrust, trustPolicy } from "../lib/trust";
import { withName } from "../lib/tags";

/** The capacity providers every cluster of the program offers; FARGATE is the default strategy. */
export const CAPACITY_PROVIDERS = ["FARGATE", "FARGATE_SPOT"] as const;

export interface FargateCluster {
    cluster: aws.ecs.Cluster;
    /**
     * The cluster's capacity-provider association. A service with `capacityProviderStrategies`
     * must wait for it: CreateService fails while the provider is not associated with the cluster.
     */
    capacityProviders: aws.ecs.ClusterCapacityProviders;
}

/**
 * An ECS cluster with Container Insights (unless `containerInsights` is false) and the FARGATE and FARGATE_SPOT capacity providers, named
 * `<prefix>-cluster` and `<prefix>-capacity-providers`. Shared by CeleryCluster and FargateJobs.
 *
 * With Container Insights, the performance log group `/aws/ecs/containerinsights/<cluster>/performance`
 * is created here (`<prefix>-insights-logs`) with `logRetentionDays`, and the capacity providers wait
 * for it: Container Insights would otherwise create it on the first task's metrics, outside the
 * stack's retention ("it automatically creates a log group for the performance log events":
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-reference.html).
 * Every service and task waits for the capacity providers, so the group exists before anything writes.
 */
export function fargateCluster(
    prefix: string,
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    parent: pulumi.Resource,
    options: { containerInsights: boolean; logRetentionDays: number },
): FargateCluster {
    const { containerInsights } = options;
    const cluster = new aws.ecs.Cluster(
        `${prefix}-cluster`,
        {
            settings: [{ name: "containerInsights", value: containerInsights ? "enabled" : "disabled" }],
            tags: withName(tags, `${prefix}-cluster`),
        },
        { parent },
    );
    const insightsLogs = containerInsights
        ? new aws.cloudwatch.LogGroup(
              `${prefix}-insights-logs`,
              {
                  name: containerInsightsLogGroupName(cluster.name),
                  retentionInDays: options.logRetentionDays,
                  tags: withName(tags, `${prefix}-insights-logs`),
              },
              { parent },
          )
        : undefined;
    const capacityProviders = new aws.ecs.ClusterCapacityProviders(
        `${prefix}-capacity-providers`,
        {
            clusterName: cluster.name,
            capacityProviders: [...CAPACITY_PROVIDERS],
            defaultCapacityProviderStrategies: [{ capacityProvider: "FARGATE", weight: 1 }],
        },
        { parent, dependsOn: insightsLogs ? [insightsLogs] : [] },
    );
    return { cluster, capacityProviders };
}

/** The log group Container Insights writes a cluster's performance events to. */
export function containerInsightsLogGroupName(clusterName: pulumi.Input<string>): pulumi.Output<string> {
    return pulumi.interpolate`/aws/ecs/containerinsights/${clusterName}/performance`;
}

/**
 * A task execution role (trusted by ecs-tasks.amazonaws.com from this account only) with one inline
 * policy of `statements`: `<prefix>-execution-role` and `<prefix>-execution-policy`.
 */
export function executionRole(
    prefix: string,
    args: {
        description: string;
        account: pulumi.Input<string>;
        statements: Statement[];
        tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined;
    },
    parent: pulumi.Resource,
): aws.iam.Role {
    const role = new aws.iam.Role(
        `${prefix}-execution-role`,
        {
            description: args.description,
            assumeRolePolicy: trustPolicy(ecsExecutionTrust({ account: args.account })),
            tags: withName(args.tags, `${prefix}-execution-role`),
        },
        { parent },
    );
    new aws.iam.RolePolicy(
        `${prefix}-execution-policy`,
        { role: role.id, policy: policyDocument(args.statements) },
        { parent },
    );
    return role;
}

/** Execution-role statement: write the task's log streams into its log group. */
export function writeLogStatement(logGroupArn: pulumi.Input<string>): Statement {
    return {
        Sid: "WriteLogs",
        Effect: "Allow",
        Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
        Resource: pulumi.interpolate`${logGroupArn}:log-stream:*`,
    };
}
