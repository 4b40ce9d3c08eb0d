// The Celery broker: ElastiCache Valkey with TLS and AUTH, or one SQS queue per worker pool.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { denyInsecureTransport, policyDocument, Statement } from "../../lib/iam";
import { withName } from "../../lib/tags";
import { PORTS } from "../network";
import { AirflowStorageArgs, ResolvedStorageArgs } from "./args";

/** What the Redis replication group needs from the resources created before it. */
export interface RedisRefs {
    subnetGroupName: pulumi.Input<string>;
    securityGroupId: pulumi.Input<string>;
    authToken: pulumi.Input<string>;
}

/**
 * The Redis broker: Valkey 8, encrypted at rest and in transit (TLS required), AUTH on; two or more
 * nodes fail over automatically across availability zones.
 */
export function redisReplicationGroupArgs(
    name: string,
    resolved: Pick<ResolvedStorageArgs, "environment" | "broker">,
    refs: RedisRefs,
    tags: AirflowStorageArgs["tags"],
): aws.elasticache.ReplicationGroupArgs {
    const failover = resolved.broker.nodes > 1;
    return {
        description: `Airflow ${resolved.environment} Celery broker`,
        engine: "valkey",
        engineVersion: "8.0",
        parameterGroupName: "default.valkey8",
        nodeType: resolved.broker.nodeType,
        numCacheClusters: resolved.broker.nodes,
        automaticFailoverEnabled: failover,
        multiAzEnabled: failover,
        port: PORTS.redis,
        subnetGroupName: refs.subnetGroupName,
        securityGroupIds: [refs.securityGroupId],
        atRestEncryptionEnabled: true,
        transitEncryptionEnabled: true,
        transitEncryptionMode: "required",
        authToken: refs.authToken,
        autoMinorVersionUpgrade: true,
        applyImmediately: true,
        tags: withName(tags, `${name}-broker`),
    };
}

export function createRedis(
    name: string,
    resolved: ResolvedStorageArgs,
    args: AirflowStorageArgs,
    authToken: pulumi.Output<string>,
    parent: pulumi.Resource,
): aws.elasticache.ReplicationGroup {
    const subnets = new aws.elasticache.SubnetGroup(
        `${name}-broker-subnets`,
        { subnetIds: args.network.privateSubnetIds, tags: withName(args.tags, `${name}-broker-subnets`) },
        { parent },
    );
    const refs = { subnetGroupName: subnets.name, securityGroupId: args.network.brokerSecurityGroupId, authToken };
    return new aws.elasticache.ReplicationGroup(
        `${name}-broker`,
        redisReplicationGroupArgs(name, resolved, refs, args.tags),
        { parent },
    );
}

/** The SQS queues' settings. */
export const CELERY_QUEUE = {
    /** Celery re-delivers a task not acknowledged within this time: longer than any task (12 hours). */
    visibilityTimeoutSeconds: 43200,
    /** 4 days, SQS's default. */
    messageRetentionSeconds: 345600,
    /** Receives before a message moves to the dead-letter queue. */
    maxReceiveCount: 5,
    /** 14 days, the SQS maximum: time to look into what failed. */
    deadLetterRetentionSeconds: 1209600,
} as const;

/** The resource names of a Celery queue's SQS queues, by role: the queue and its dead-letter queue. */
export function celeryQueueNames(name: string, queue: string): { main: string; deadLetter: string } {
    return { main: `${name}-celery-${queue}`, deadLetter: `${name}-celery-${queue}-dlq` };
}

/** A queue's policy: TLS only. */
export function queuePolicyStatements(queueArn: pulumi.Input<string>): Statement[] {
    return [denyInsecureTransport("sqs:*", queueArn)];
}

/** One SQS queue (encrypted with SSE-SQS) and a dead-letter queue per Celery queue, each TLS only. */
export function createQueues(
    name: string,
    queues: readonly string[],
    tags: AirflowStorageArgs["tags"],
    parent: pulumi.Resource,
): Record<string, { url: pulumi.Output<string>; arn: pulumi.Output<string> }> {
    const result: Record<string, { url: pulumi.Output<string>; arn: pulumi.Output<string> }> = {};
    for (const queue of queues) {
        const names = celeryQueueNames(name, queue);
        const dlq = new aws.sqs.Queue(
            names.deadLetter,
            {
                sqsManagedSseEnabled: true,
                messageRetentionSeconds: CELERY_QUEUE.deadLetterRetentionSeconds,
                tags: withName(tags, names.deadLetter),
            },
            { parent },
        );
        const main = new aws.sqs.Queue(
            names.main,
            {
                sqsManagedSseEnabled: true,
                visibilityTimeoutSeconds: CELERY_QUEUE.visibilityTimeoutSeconds,
                messageRetentionSeconds: CELERY_QUEUE.messageRetentionSeconds,
                redrivePolicy: pulumi.jsonStringify({
                    deadLetterTargetArn: dlq.arn,
                    maxReceiveCount: CELERY_QUEUE.maxReceiveCount,
                }),
                tags: withName(tags, names.main),
            },
            { parent },
        );
        for (const [resourceName, q] of [
            [names.main, main],
            [names.deadLetter, dlq],
        ] as const) {
            new aws.sqs.QueuePolicy(
                `${resourceName}-policy`,
                { queueUrl: q.url, policy: policyDocument(queuePolicyStatements(q.arn)) },
                { parent },
            );
        }
        result[queue] = { url: main.url, arn: main.arn };
    }
    return result;
}
