// The MWAA execution role's permissions, as pure statements.
import * as pulumi from "@pulumi/pulumi";
import { secretPrefixes } from "../../lib/airflow";
import { Statement } from "../../lib/iam";

/** What the execution role's statements are scoped to. */
export interface ExecutionRoleScope {
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
    envName: string;
    environment: string;
    bucketArn: pulumi.Input<string>;
    bucketKmsKeyArn?: pulumi.Input<string>;
}

/**
 * The execution role's permissions: what the MWAA User Guide lists for an environment using an AWS
 * owned key ("Amazon MWAA execution role", https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html),
 * each scoped as narrowly as the action allows, plus reading this environment's connections and variables.
 */
export function executionRoleStatements(p: ExecutionRoleScope): Statement[] {
    return [...environmentStatements(p), ...queueAndSecretStatements(p)];
}

/** Metrics, the artifacts bucket and the environment's logs. */
function environmentStatements(p: ExecutionRoleScope): Statement[] {
    const { partition, region, account, envName } = p;
    return [
        {
            Sid: "PublishEnvironmentMetrics",
            Effect: "Allow",
            Action: "airflow:PublishMetrics",
            Resource: pulumi.interpolate`arn:${partition}:airflow:${region}:${account}:environment/${envName}`,
        },
        {
            Sid: "ReadArtifactsBucket",
            Effect: "Allow",
            // The MWAA guide grants s3:GetObject*, s3:GetBucket* and s3:List*; these are the actions those
            // wildcards cover that MWAA uses (objects and their versions, the bucket's location,
            // versioning, public access block and encryption, listings), named one by one.
            Action: [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetBucketLocation",
                "s3:GetBucketVersioning",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetEncryptionConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ],
            Resource: [p.bucketArn, pulumi.interpolate`${p.bucketArn}/*`],
        },
        {
            // MWAA refuses a bucket that could be public; this account-level read takes no resource ARN.
            Sid: "CheckAccountPublicAccessBlock",
            Effect: "Allow",
            Action: "s3:GetAccountPublicAccessBlock",
            Resource: "*",
        },
        {
            Sid: "WriteEnvironmentLogs",
            Effect: "Allow",
            Action: [
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogRecord",
                "logs:GetLogGroupFields",
                "logs:GetQueryResults",
            ],
            Resource: pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:airflow-${envName}-*`,
        },
        {
            // Listed in every sample policy of "Amazon MWAA execution role"
            // (https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html): MWAA looks its
            // log groups up before it writes. DescribeLogGroups takes no resource ARN (the Service
            // Authorization Reference lists no resource type for it), so "*".
            Sid: "ListLogGroups",
            Effect: "Allow",
            Action: "logs:DescribeLogGroups",
            Resource: "*",
        },
        {
            // PutMetricData takes no resource ARN.
            Sid: "PutMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*",
        },
    ];
}

/** The Celery queues MWAA owns, this environment's connections and variables, the bucket's key. */
function queueAndSecretStatements(p: ExecutionRoleScope): Statement[] {
    const { partition, region, account } = p;
    const prefixes = secretPrefixes(p.environment);
    const statements: Statement[] = [
        {
            // MWAA's Celery queues live in an account of MWAA's, hence any account.
            Sid: "UseCeleryQueues",
            Effect: "Allow",
            Action: [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            Resource: pulumi.interpolate`arn:${partition}:sqs:${region}:*:airflow-celery-*`,
        },
        {
            // The Celery queues are encrypted with an AWS owned key, in an AWS account whose id is not
            // published, so the key's ARN cannot be written down. What can be: the partition, the
            // region and the resource type (keys, not aliases); use through SQS in this region only;
            // and, as the MWAA guide's NotResource "arn:aws:kms:*:<this account>:key/*" says, no key of
            // this account. A Resource with conditions is used rather than that NotResource (any key
            // of any other account, in any region), which is wider and harder to audit.
            Sid: "EncryptCeleryMessages",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
            Resource: pulumi.interpolate`arn:${partition}:kms:${region}:*:key/*`,
            Condition: {
                StringEquals: { "kms:ViaService": pulumi.interpolate`sqs.${region}.amazonaws.com` },
                StringNotEquals: { "aws:ResourceAccount": account },
            },
        },
        {
            // The Secrets Manager backend (lib/airflow.ts): this environment's connections and variables only.
            Sid: "ReadAirflowConnectionsAndVariables",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: [
                pulumi.interpolate`arn:${partition}:secretsmanager:${region}:${account}:secret:${prefixes.connections}/*`,
                pulumi.interpolate`arn:${partition}:secretsmanager:${region}:${account}:secret:${prefixes.variables}/*`,
            ],
        },
    ];
    if (p.bucketKmsKeyArn !== undefined) {
        statements.push({
            Sid: "DecryptArtifactsBucket",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: p.bucketKmsKeyArn,
            Condition: { StringEquals: { "kms:ViaService": pulumi.interpolate`s3.${region}.amazonaws.com` } },
        });
    }
    return statements;
}
