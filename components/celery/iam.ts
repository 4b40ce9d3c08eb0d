import * as pulumi from "@pulumi/pulumi";
import { secretPrefixes } from "../../lib/airflow";
import { ecrPullStatements, Statement } from "../../lib/iam";
import { taskProtectionStatement } from "../../lib/worker-container";
import { writeLogStatement } from "../ecs";
import { agentStatements } from "../observability/agent";
import { ARTIFACT_KEYS } from "../storage";
import { QUEUE_METRIC } from "./containers";
import { TaskRoleKey } from "./services";

/** A named set of permissions a task role can get. */
export type Grant =
    | "readDags"
    | "readLogs"
    | "writeLogs"
    | "secretsBackend"
    | "sendToQueues"
    | "consumeQueues"
    | "publishQueueMetric"
    | "mountSharedFs"
    | "protectOwnTask"
    | "publishAirflowMetrics";

/** The grants of each task role. The scheduler and webserver of Airflow 2 parse DAG files; Airflow 3's use the serialized DAGs. */
export function taskRoleGrants(airflowMajor: 2 | 3): Record<TaskRoleKey, Grant[]> {
    const parsesDags: Grant[] = airflowMajor === 2 ? ["readDags"] : [];
    // Every task runs the metrics sidecar, which writes the metrics log group.
    const metrics: Grant = "publishAirflowMetrics";
    return {
        control: ["publishQueueMetric", metrics],
        web: [...parsesDags, "readLogs", "secretsBackend", "mountSharedFs", metrics],
        scheduler: [...parsesDags, "secretsBackend", "sendToQueues", "mountSharedFs", metrics],
        dagProcessor: ["readDags", "writeLogs", "secretsBackend", "mountSharedFs", metrics],
        triggerer: ["readDags", "writeLogs", "secretsBackend", "mountSharedFs", metrics],
        flower: [metrics],
        worker: [
            "readDags",
            "writeLogs",
            "secretsBackend",
            "consumeQueues",
            "sendToQueues",
            "mountSharedFs",
            "protectOwnTask",
            metrics,
        ],
    };
}

/** The role names in resources (`<name>-<role>-task-role`). */
export const TASK_ROLE_NAMES: Record<TaskRoleKey, string> = {
    control: "control",
    web: "web",
    scheduler: "scheduler",
    dagProcessor: "dag-processor",
    triggerer: "triggerer",
    worker: "worker",
    flower: "flower",
};

/** What the grants' statements name. */
export interface GrantContext {
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
    environment: string;
    bucketArn: pulumi.Input<string>;
    /** The artifacts bucket's KMS key (SSE-KMS): S3 reads and writes go through it. */
    kmsKeyArn?: pulumi.Input<string>;
    /** The SQS queues' ARNs (sqs broker); none on redis. */
    queueArns: pulumi.Input<string>[];
    fileSystem?: { arn: pulumi.Input<string>; accessPointArn: pulumi.Input<string> };
    ecsExec: boolean;
    /** The ECS cluster the tasks run on (protectOwnTask: scale-in protection of the cluster's tasks). */
    cluster: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
    /** The metrics log group's ARN (publishAirflowMetrics). Default: no such statements. */
    metricsLogGroupArn?: pulumi.Input<string>;
}

function listPrefixStatement(sid: string, bucketArn: pulumi.Input<string>, prefix: string): Statement {
    return {
        Sid: sid,
        Effect: "Allow",
        Action: "s3:ListBucket",
        Resource: bucketArn,
        Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
    };
}

/** The IAM statements of a task role with these grants (in a fixed order, whatever the grants' order). */
export function grantStatements(grants: readonly Grant[], ctx: GrantContext): Statement[] {
    const { bucketArn } = ctx;
    const prefixes = secretPrefixes(ctx.environment);
    const secretArn = (prefix: string) =>
        pulumi.interpolate`arn:${ctx.partition}:secretsmanager:${ctx.region}:${ctx.account}:secret:${prefix}/*`;
    const statements: Statement[] = [];
    const add = (grant: Grant, statement: Statement) => grants.includes(grant) && statements.push(statement);
    add("readDags", listPrefixStatement("ListDags", bucketArn, ARTIFACT_KEYS.dags));
    add("readDags", {
        Sid: "ReadDags",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: pulumi.interpolate`${bucketArn}/${ARTIFACT_KEYS.dags}*`,
    });
    add("readLogs", listPrefixStatement("ListLogs", bucketArn, ARTIFACT_KEYS.logs));
    add("readLogs", {
        Sid: "ReadLogs",
        Effect: "Allow",
        Action: "s3:GetObject",
        Resource: pulumi.interpolate`${bucketArn}/${ARTIFACT_KEYS.logs}*`,
    });
    add("writeLogs", listPrefixStatement("ListLogs", bucketArn, ARTIFACT_KEYS.logs));
    add("writeLogs", {
        Sid: "ReadWriteLogs",
        Effect: "Allow",
        Action: ["s3:GetObject", "s3:PutObject"],
        Resource: pulumi.interpolate`${bucketArn}/${ARTIFACT_KEYS.logs}*`,
    });
    if (ctx.kmsKeyArn && grants.some((g) => g === "readDags" || g === "readLogs" || g === "writeLogs")) {
        statements.push({
            Sid: "ArtifactsKms",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:GenerateDataKey"],
            Resource: ctx.kmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`s3.${ctx.region}.amazonaws.com` } },
        });
    }
    add("secretsBackend", {
        Sid: "ReadConnectionsAndVariables",
        Effect: "Allow",
        Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
        Resource: [secretArn(prefixes.connections), secretArn(prefixes.variables)],
    });
    if (ctx.queueArns.length > 0) {
        add("sendToQueues", {
            Sid: "SendTasks",
            Effect: "Allow",
            Action: ["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"],
            Resource: ctx.queueArns,
        });
        add("consumeQueues", {
            Sid: "ConsumeTasks",
            Effect: "Allow",
            Action: [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:ChangeMessageVisibility",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
            ],
            Resource: ctx.queueArns,
        });
    }
    add("publishQueueMetric", {
        Sid: "PublishQueueMetric",
        Effect: "Allow",
        Action: "cloudwatch:PutMetricData",
        Resource: "*", // PutMetricData has no resource type; the namespace condition scopes it
        Condition: { StringEquals: { "cloudwatch:namespace": QUEUE_METRIC.namespace } },
    });
    if (ctx.fileSystem && grants.includes("mountSharedFs")) {
        statements.push({
            Sid: "MountSharedFileSystem",
            Effect: "Allow",
            Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"],
            Resource: ctx.fileSystem.arn,
            Condition: { StringEquals: { "elasticfilesystem:AccessPointArn": ctx.fileSystem.accessPointArn } },
        });
    }
    // The worker launcher protects its own task from scale-in while busy (sidecars/celery_worker.py).
    add(
        "protectOwnTask",
        taskProtectionStatement({ ...ctx.cluster, partition: ctx.partition, region: ctx.region, account: ctx.account }),
    );
    // The metrics sidecar's EMF exporter: the one metrics log group (components/observability/agent.ts).
    if (ctx.metricsLogGroupArn && grants.includes("publishAirflowMetrics")) {
        const group = ctx.metricsLogGroupArn;
        statements.push(...agentStatements<pulumi.Input<string>>(group, pulumi.interpolate`${group}:log-stream:*`));
    }
    if (ctx.ecsExec) {
        statements.push({
            Sid: "EcsExec",
            Effect: "Allow",
            Action: [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            Resource: "*", // Session Manager channels have no resource ARN
        });
    }
    return statements;
}

/**
 * A service's execution role: write its own log group, read exactly the secrets its containers
 * name, and pull the image from the cluster's repository when the program built it.
 */
export function executionStatements(args: {
    logGroupArn: pulumi.Input<string>;
    secretArns: pulumi.Input<string[]>;
    repositoryArn?: pulumi.Input<string>;
}): Statement[] {
    return [
        writeLogStatement(args.logGroupArn),
        {
            Sid: "ReadTaskSecrets",
            Effect: "Allow",
            Action: "secretsmanager:GetSecretValue",
            Resource: args.secretArns as Statement["Resource"],
        },
        ...(args.repositoryArn ? ecrPullStatements(args.repositoryArn, "PullAirflowImage") : []),
    ];
}
