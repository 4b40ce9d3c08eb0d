// SageMakerTraining's decisions as pure, exported functions: the ARNs it scopes, the statements of
// the training role, of Airflow's role and of the triggerer's role, and the Airflow Variable's value.
import * as pulumi from "@pulumi/pulumi";
import type { AirflowConfig } from "../config";
import { ecrRepositoryArn as ecrImageRepositoryArn, parseEcrImageUri } from "../lib/ecr";
import { Statement } from "../lib/iam";
import type { SageMakerTrainingArgs } from "./sagemaker";

/** Where things live in the ML bucket. The DAGs get these from the Airflow Variable, never hard-coded. */
export const ML_PREFIXES = {
    /** Training (and scoring) data the DAG uploads. Read by jobs. */
    input: "input/",
    /** Model artifacts (<job>/output/model.tar.gz) and the DAG's manifests. */
    models: "models/",
    /** Spot training checkpoints, expired after checkpointExpirationDays. */
    checkpoints: "checkpoints/",
    /** Batch transform data: what the DAG stages for scoring and the predictions; expired after batchExpirationDays. */
    batch: "batch/",
} as const;

/** The one Airflow Variable this component publishes. */
export const ML_VARIABLE_KEY = "ml_training";

/** SageMaker's built-in XGBoost, pinned: its registry account differs per region, so it is resolved per stack. */
export const BUILT_IN_IMAGE = { repositoryName: "sagemaker-xgboost", imageTag: "1.7-1" } as const;

/** Log groups SageMaker writes training and transform job logs to (one per account and region, shared). */
export const SAGEMAKER_LOG_GROUPS = ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/TransformJobs"] as const;

/**
 * The JSON value of the Airflow Variable `ml_training`: the contract the DAGs are written against.
 * Read it with `Variable.get("ml_training", deserialize_json=True)`.
 */
export interface MlTrainingVariable {
    environment: string;
    region: string;
    /** The SageMaker execution role: RoleArn of training jobs, ExecutionRoleArn of models. */
    role_arn: string;
    image_uri: string;
    /** ML bucket name. */
    bucket: string;
    input_prefix: string;
    output_prefix: string;
    checkpoint_prefix: string;
    batch_prefix: string;
    /** Training job, model and transform job names must start with it: Airflow's IAM policy is scoped to it. */
    job_name_prefix: string;
    instance_type: string;
    instance_count: number;
    volume_size_gb: number;
    max_runtime_seconds: number;
    use_spot: boolean;
    /** >= max_runtime_seconds with spot; equal to it without. */
    max_wait_seconds: number;
    transform_instance_type: string;
    vpc_config: { subnet_ids: string[]; security_group_ids: string[] } | null;
    enable_network_isolation: boolean;
}

/** The ARNs the statements name: the ML bucket, SageMaker's log groups, the jobs and models of the prefix. */
export interface MlArns {
    bucket: pulumi.Input<string>;
    objects: (prefixes: string[]) => pulumi.Output<string>[];
    logGroups: pulumi.Output<string>[];
    sagemaker: (type: string) => pulumi.Output<string>;
    ec2: (resource: pulumi.Input<string>) => pulumi.Output<string>;
}

export function mlArns(ctx: {
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
    bucketArn: pulumi.Input<string>;
    jobNamePrefix: string;
}): MlArns {
    const { partition, region, account } = ctx;
    return {
        bucket: ctx.bucketArn,
        objects: (prefixes) => prefixes.map((p) => pulumi.interpolate`${ctx.bucketArn}/${p}*`),
        logGroups: SAGEMAKER_LOG_GROUPS.flatMap((group) => [
            pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:${group}`,
            pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:${group}:*`,
        ]),
        sagemaker: (type) =>
            pulumi.interpolate`arn:${partition}:sagemaker:${region}:${account}:${type}/${ctx.jobNamePrefix}*`,
        ec2: (resource) => pulumi.interpolate`arn:${partition}:ec2:${region}:${account}:${resource}`,
    };
}

const { input, models, checkpoints, batch } = ML_PREFIXES;

/**
 * The SageMaker execution role's statements: its bucket prefixes, its own logs and metrics, the
 * training image and, in VPC mode, network interfaces in the given subnets and security group.
 */
export function trainingRoleStatements(
    arns: MlArns,
    repositoryArn: pulumi.Input<string>,
    vpc?: { region: pulumi.Input<string>; subnetIds: pulumi.Input<string>[]; securityGroupId: pulumi.Input<string> },
): Statement[] {
    const statements: Statement[] = [
        {
            Sid: "ListMlBucketPrefixes",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: arns.bucket,
            Condition: { StringLike: { "s3:prefix": [input, models, checkpoints, batch].map((p) => `${p}*`) } },
        },
        {
            Sid: "ReadMlData",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: arns.objects([input, models, checkpoints, batch]),
        },
        {
            Sid: "WriteMlData",
            Effect: "Allow",
            Action: "s3:PutObject",
            Resource: arns.objects([models, checkpoints, batch]),
        },
        {
            Sid: "WriteJobLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: arns.logGroups,
        },
        {
            Sid: "PublishJobMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*", // PutMetricData has no resource type; the namespace condition scopes it
            Condition: { StringLike: { "cloudwatch:namespace": "/aws/sagemaker/*" } },
        },
        {
            Sid: "GetEcrAuthorizationToken",
            Effect: "Allow",
            Action: "ecr:GetAuthorizationToken",
            Resource: "*", // GetAuthorizationToken has no resource type: it only returns a registry login
        },
        {
            Sid: "PullTrainingImage",
            Effect: "Allow",
            Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            Resource: repositoryArn,
        },
    ];
    if (vpc) {
        const subnetArns = vpc.subnetIds.map((id) => arns.ec2(pulumi.interpolate`subnet/${id}`));
        statements.push(
            {
                Sid: "DescribeVpcForJobs",
                Effect: "Allow",
                Action: [
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                Resource: "*", // EC2 Describe actions have no resource types; the region condition scopes them
                Condition: { StringEquals: { "aws:RequestedRegion": vpc.region } },
            },
            {
                Sid: "CreateJobNetworkInterfaces",
                Effect: "Allow",
                Action: "ec2:CreateNetworkInterface",
                Resource: [
                    arns.ec2("network-interface/*"),
                    ...subnetArns,
                    arns.ec2(pulumi.interpolate`security-group/${vpc.securityGroupId}`),
                ],
            },
            {
                Sid: "ManageJobNetworkInterfaces",
                Effect: "Allow",
                Action: [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                Resource: arns.ec2("network-interface/*"),
                Condition: { ArnEquals: { "ec2:Subnet": subnetArns } },
            },
        );
    }
    return statements;
}

/** Reading a job's logs: what Airflow's task logs and the triggers' waits do. */
function readJobLogs(arns: MlArns): Statement {
    return {
        Sid: "ReadJobLogs",
        Effect: "Allow",
        Action: ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
        Resource: arns.logGroups,
    };
}

/**
 * Airflow's role: start, watch and stop jobs and models of the prefix (only the configured instance
 * types, for at most the configured time), its bucket prefixes, and pass the training role to SageMaker only.
 */
export function airflowSageMakerStatements(
    arns: MlArns,
    limits: {
        trainingInstanceType: string;
        maxRuntimeSeconds: number;
        transformInstanceType: string;
        trainingRoleArn: pulumi.Input<string>;
    },
): Statement[] {
    return [
        {
            Sid: "StartTrainingJobs",
            Effect: "Allow",
            Action: "sagemaker:CreateTrainingJob",
            Resource: arns.sagemaker("training-job"),
            // Only the configured instance type, for at most the configured time: a DAG cannot start
            // a bigger or longer job than the stack allows.
            Condition: {
                "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": [limits.trainingInstanceType] },
                NumericLessThanEquals: { "sagemaker:MaxRuntimeInSeconds": String(limits.maxRuntimeSeconds) },
            },
        },
        {
            Sid: "WatchAndStopTrainingJobs",
            Effect: "Allow",
            Action: ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            Resource: arns.sagemaker("training-job"),
        },
        {
            Sid: "ManageModels",
            Effect: "Allow",
            Action: ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel"],
            Resource: arns.sagemaker("model"),
        },
        {
            Sid: "StartTransformJobs",
            Effect: "Allow",
            Action: "sagemaker:CreateTransformJob",
            Resource: arns.sagemaker("transform-job"),
            Condition: {
                "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": [limits.transformInstanceType] },
            },
        },
        {
            Sid: "WatchAndStopTransformJobs",
            Effect: "Allow",
            Action: ["sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"],
            Resource: arns.sagemaker("transform-job"),
        },
        {
            // Creating a job or model with Tags needs AddTags on it.
            Sid: "TagJobsAndModelsOnCreate",
            Effect: "Allow",
            Action: "sagemaker:AddTags",
            Resource: [arns.sagemaker("training-job"), arns.sagemaker("model"), arns.sagemaker("transform-job")],
        },
        readJobLogs(arns),
        {
            // Unconditioned: the provider checks an input with HeadBucket (authorized as ListBucket
            // without a prefix) and lists the parent "folder" of S3 URIs.
            Sid: "ListMlBucket",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: arns.bucket,
        },
        {
            Sid: "ReadMlData",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: arns.objects([input, models, batch]),
        },
        {
            Sid: "WriteMlData",
            Effect: "Allow",
            Action: "s3:PutObject",
            Resource: arns.objects([input, models, batch]),
        },
        {
            Sid: "PassTrainingRoleToSageMaker",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: limits.trainingRoleArn,
            Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
        },
    ];
}

/** The triggerer's role: describe the jobs until they end and read their logs, nothing else. */
export function triggererSageMakerStatements(arns: MlArns): Statement[] {
    return [
        {
            Sid: "WatchJobs",
            Effect: "Allow",
            Action: ["sagemaker:DescribeTrainingJob", "sagemaker:DescribeTransformJob"],
            Resource: [arns.sagemaker("training-job"), arns.sagemaker("transform-job")],
        },
        readJobLogs(arns),
    ];
}

/** The training settings the Variable is made of (SageMakerTraining's resolved arguments). */
export interface MlTrainingSettings {
    environment: string;
    training: {
        instanceType: string;
        instanceCount: number;
        volumeSizeGb: number;
        maxRuntimeSeconds: number;
        spot: { enabled: boolean; maxWaitSeconds: number };
        networkIsolation: boolean;
    };
    transformInstanceType: string;
}

/** The Variable's value, each field an input of what it comes from. */
export type MlTrainingVariableInputs = { [K in keyof MlTrainingVariable]: pulumi.Input<MlTrainingVariable[K]> };

/** The `ml_training` Variable: the settings, and what the component created for the jobs. */
export function mlTrainingVariable(
    a: MlTrainingSettings,
    created: {
        region: pulumi.Input<string>;
        roleArn: pulumi.Input<string>;
        imageUri: pulumi.Input<string>;
        bucket: pulumi.Input<string>;
        jobNamePrefix: string;
        vpcConfig: MlTrainingVariableInputs["vpc_config"];
    },
): MlTrainingVariableInputs {
    return {
        environment: a.environment,
        region: created.region,
        role_arn: created.roleArn,
        image_uri: created.imageUri,
        bucket: created.bucket,
        input_prefix: input,
        output_prefix: models,
        checkpoint_prefix: checkpoints,
        batch_prefix: batch,
        job_name_prefix: created.jobNamePrefix,
        instance_type: a.training.instanceType,
        instance_count: a.training.instanceCount,
        volume_size_gb: a.training.volumeSizeGb,
        max_runtime_seconds: a.training.maxRuntimeSeconds,
        use_spot: a.training.spot.enabled,
        max_wait_seconds: a.training.spot.enabled ? a.training.spot.maxWaitSeconds : a.training.maxRuntimeSeconds,
        transform_instance_type: a.transformInstanceType,
        vpc_config: created.vpcConfig,
        enable_network_isolation: a.training.networkIsolation,
    };
}

/** arn:<partition>:ecr:<region>:<account>:repository/<name> of an ECR image URI. */
export function ecrRepositoryArn(imageUri: string, partition: string, resource?: pulumi.Resource): string {
    const repository = parseEcrImageUri(imageUri);
    if (!repository) {
        throw new pulumi.ResourceError(
            `the training image ${JSON.stringify(imageUri)} is not an ECR image URI`,
            resource,
        );
    }
    return ecrImageRepositoryArn(repository, partition);
}

/**
 * SageMakerTraining's arguments from the validated stack configuration: what index.ts passes on
 * every layout (only `airflowRoleName` differs), and what the tests build the component from.
 */
export function sageMakerTrainingArgs(
    config: Pick<AirflowConfig, "environment" | "ml" | "storage" | "tags">,
    network: { vpcId: pulumi.Input<string>; privateSubnetIds: pulumi.Input<string>[] },
    airflowRoleName: pulumi.Input<string>,
    triggererRoleName?: pulumi.Input<string>,
): SageMakerTrainingArgs {
    const ml = config.ml;
    return {
        environment: config.environment,
        airflowRoleName,
        triggererRoleName,
        training: {
            instanceType: ml.training.instanceType,
            instanceCount: ml.training.instanceCount,
            volumeSizeGb: ml.training.volumeSizeGb,
            maxRuntimeSeconds: ml.training.maxRuntimeSeconds,
            spot: { enabled: ml.training.spot.enabled, maxWaitSeconds: ml.training.spot.maxWaitSeconds },
            networkIsolation: ml.training.networkIsolation,
        },
        transformInstanceType: ml.transformInstanceType,
        imageUri: ml.imageUri,
        vpc: ml.vpcMode ? { vpcId: network.vpcId, subnetIds: network.privateSubnetIds } : undefined,
        checkpointExpirationDays: ml.checkpointExpirationDays,
        batchExpirationDays: ml.batchExpirationDays,
        logGroups: ml.logGroups,
        protectData: config.storage.protectData,
        secretRecoveryWindowDays: config.storage.secretRecoveryWindowDays,
        tags: config.tags,
    };
}
