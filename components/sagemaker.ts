import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AirflowConfig } from "../config";
import { SAGEMAKER_TRAINING_INSTANCE_TYPES, SAGEMAKER_TRANSFORM_INSTANCE_TYPES, suggestion } from "../config/aws-data";
import { ECR_IMAGE_URI, MAX_TRAINING_SECONDS, MAX_VOLUME_SIZE_GB } from "../config/ml";
import { choiceText, LOG_RETENTION_DAYS } from "../config/spec";
import { publishVariable } from "../lib/airflow";
import { createSecureBucket } from "../lib/bucket";
import { assumeRolePolicy, policyDocument, Statement } from "../lib/iam";
import { withName } from "../lib/tags";
import { PORTS } from "./network";

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

export interface SageMakerTrainingArgs {
    /**
     * Environment name: job names start with `airflow-<environment>`, and the Variable is the secret
     * `airflow/<environment>/variables/ml_training`. Required.
     */
    environment: string;
    /**
     * Name of the IAM role Airflow's tasks run as: the Celery worker task role (celery layout) or
     * the MWAA execution role (mwaa layout). The component attaches the policy that lets Airflow
     * start, watch and stop SageMaker jobs and pass the training role. Required.
     */
    airflowRoleName: pulumi.Input<string>;
    /**
     * Name of the role deferred waits run as, when it is not `airflowRoleName` (the Celery layout's
     * triggerer task role): it may only describe the jobs and read their logs. Default: none.
     */
    triggererRoleName?: pulumi.Input<string>;
    /**
     * Training jobs. Defaults: 1 × ml.m5.large, 30 GB volume, at most 3600 s, on-demand (spot off;
     * with spot on, max wait defaults to twice the max runtime, at most 28 days), no network isolation.
     */
    training?: {
        /** ml.<family>.<size>. Default: "ml.m5.large". */
        instanceType?: string;
        /** 1 to 20. Default: 1. */
        instanceCount?: number;
        /** 1 to 16384. Default: 30. */
        volumeSizeGb?: number;
        /** 1 to 2419200 (28 days). Default: 3600. */
        maxRuntimeSeconds?: number;
        /**
         * Managed spot training (DAGs point CheckpointConfig at checkpoints/ so that an interrupted
         * job resumes). Default: off. maxWaitSeconds: from maxRuntimeSeconds to 2419200; default
         * twice maxRuntimeSeconds, at most 2419200.
         */
        spot?: { enabled: boolean; maxWaitSeconds?: number };
        /** The container makes no network calls. Default: false. */
        networkIsolation?: boolean;
    };
    /** Instance type of batch transform jobs. Default: "ml.m5.large". */
    transformInstanceType?: string;
    /**
     * Custom training image: an ECR URI pinned by tag (not latest) or digest, in the stack's region.
     * Default: the built-in XGBoost image (sagemaker-xgboost:1.7-1) of the stack's region.
     */
    imageUri?: string;
    /**
     * Run jobs in the VPC (VPC mode): private subnets (1 to 16), and a security group the component
     * creates that allows outbound HTTPS only (plus all traffic between a job's own instances when
     * training.instanceCount > 1). Default: not in a VPC.
     */
    vpc?: { vpcId: pulumi.Input<string>; subnetIds: pulumi.Input<string>[] };
    /** Days objects under checkpoints/ are kept (1 to 3650). Default: 7. */
    checkpointExpirationDays?: number;
    /** Days objects under batch/ are kept (1 to 3650). Default: 30. */
    batchExpirationDays?: number;
    /**
     * Create SageMaker's log groups (SAGEMAKER_LOG_GROUPS) with this retention in days, before Airflow's
     * policy lets it start jobs, and keep them on delete. They are shared by every SageMaker job of the
     * account and region, so exactly one stack there may create them. Default: not created (SageMaker
     * creates them on the first job, kept forever, unless another stack owns them).
     */
    logGroups?: { retentionDays: number };
    /** Days replaced object versions are kept (1 to 3650). Default: 30. */
    noncurrentVersionExpirationDays?: number;
    /** Protect the ML bucket and keep it on delete (never force-emptied). Default: false. */
    protectData?: boolean;
    /** Days the Variable's deleted secret can be restored: 0, or 7 to 30. Default: 7. */
    secretRecoveryWindowDays?: number;
    /** Tags for every resource, on top of a Name tag. Default: none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * ML training infrastructure that Airflow drives on both layouts: an ML bucket (input/, models/,
 * checkpoints/, batch/), a SageMaker execution role that can touch only that bucket, its own logs and
 * metrics, the training image and (in VPC mode) network interfaces in the given subnets, a policy on
 * Airflow's own role to run SageMaker jobs named `airflow-<environment>*` and pass that role, and the
 * Airflow Variable `ml_training` that tells the DAGs all of it.
 *
 * Training jobs stop their instances when they end (and at the latest after the max runtime), so a
 * GPU is billed only while a job runs: nothing here is left running between jobs.
 */
export class SageMakerTraining extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;
    /** The SageMaker execution role DAGs pass to training jobs and models. */
    public readonly trainingRoleArn: pulumi.Output<string>;
    public readonly trainingRoleName: pulumi.Output<string>;
    /** The training image: the built-in XGBoost of the region, or the configured one. */
    public readonly imageUri: pulumi.Output<string>;
    /** Names of SageMaker jobs and models must start with this. */
    public readonly jobNamePrefix: string;
    /** The jobs' security group (VPC mode only). */
    public readonly securityGroupId?: pulumi.Output<string>;
    /** Keys of the Airflow Variables published: ["ml_training"]. */
    public readonly variableNames: string[];
    /** Their Secrets Manager names, in the same order. */
    public readonly variableSecretNames: string[];
    public readonly variableSecretArn: pulumi.Output<string>;

    constructor(name: string, args: SageMakerTrainingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:ml:SageMakerTraining", name, {}, opts);
        const a = validateArgs(name, args, this);
        const parent = { parent: this };
        const tags = args.tags;
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;
        this.jobNamePrefix = `airflow-${a.environment}`;

        const ml = createSecureBucket(
            `${name}-ml`,
            {
                noncurrentVersionExpirationDays: a.noncurrentVersionExpirationDays,
                expirations: [
                    {
                        id: "expire-checkpoints",
                        prefix: ML_PREFIXES.checkpoints,
                        days: a.checkpointExpirationDays,
                    },
                    { id: "expire-batch-data", prefix: ML_PREFIXES.batch, days: a.batchExpirationDays },
                ],
                protect: a.protectData,
                tags,
            },
            this,
        );
        const bucket = ml.bucket;

        this.imageUri =
            a.imageUri !== undefined
                ? pulumi.output(a.imageUri)
                : aws.sagemaker.getPrebuiltEcrImageOutput(
                      { repositoryName: BUILT_IN_IMAGE.repositoryName, imageTag: BUILT_IN_IMAGE.imageTag },
                      parent,
                  ).registryPath;
        const repositoryArn = pulumi
            .all([this.imageUri, partition])
            .apply(([uri, p]) => ecrRepositoryArn(uri, p, this));

        const securityGroup = args.vpc
            ? this.createSecurityGroup(name, args.vpc.vpcId, a.training.instanceCount, tags)
            : undefined;

        const arns = {
            bucket: bucket.arn,
            objects: (prefixes: string[]) => prefixes.map((p) => pulumi.interpolate`${bucket.arn}/${p}*`),
            logGroups: SAGEMAKER_LOG_GROUPS.flatMap((group) => [
                pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:${group}`,
                pulumi.interpolate`arn:${partition}:logs:${region}:${account}:log-group:${group}:*`,
            ]),
            sagemaker: (type: string) =>
                pulumi.interpolate`arn:${partition}:sagemaker:${region}:${account}:${type}/${this.jobNamePrefix}*`,
            ec2: (resource: pulumi.Input<string>) =>
                pulumi.interpolate`arn:${partition}:ec2:${region}:${account}:${resource}`,
        };

        // SageMaker's shared log groups, when this stack owns them; retained, other stacks write there too.
        const logGroups = (args.logGroups ? SAGEMAKER_LOG_GROUPS : []).map(
            (group) =>
                new aws.cloudwatch.LogGroup(
                    `${name}-sagemaker-${group.split("/").pop()!.toLowerCase()}-logs`,
                    {
                        name: group,
                        retentionInDays: args.logGroups!.retentionDays,
                        tags: withName(tags, `${name}-sagemaker-${group.split("/").pop()!.toLowerCase()}-logs`),
                    },
                    { parent: this, retainOnDelete: true },
                ),
        );

        const role = new aws.iam.Role(
            `${name}-training-role`,
            {
                description: `SageMaker execution role of the ${a.environment} Airflow's training and transform jobs`,
                assumeRolePolicy: assumeRolePolicy(["sagemaker.amazonaws.com"], account),
                tags: withName(tags, `${name}-training-role`),
            },
            parent,
        );
        const { input, models, checkpoints, batch } = ML_PREFIXES;
        const trainingStatements: Statement[] = [
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
        if (args.vpc && securityGroup) {
            const subnetArns = args.vpc.subnetIds.map((id) => arns.ec2(pulumi.interpolate`subnet/${id}`));
            trainingStatements.push(
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
                    Condition: { StringEquals: { "aws:RequestedRegion": region } },
                },
                {
                    Sid: "CreateJobNetworkInterfaces",
                    Effect: "Allow",
                    Action: "ec2:CreateNetworkInterface",
                    Resource: [
                        arns.ec2("network-interface/*"),
                        ...subnetArns,
                        arns.ec2(pulumi.interpolate`security-group/${securityGroup.id}`),
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
        new aws.iam.RolePolicy(
            `${name}-training-policy`,
            { role: role.id, policy: policyDocument(trainingStatements) },
            { parent: this, dependsOn: logGroups },
        );

        const airflowStatements: Statement[] = [
            {
                Sid: "StartTrainingJobs",
                Effect: "Allow",
                Action: "sagemaker:CreateTrainingJob",
                Resource: arns.sagemaker("training-job"),
                // Only the configured instance type, for at most the configured time: a DAG cannot start
                // a bigger or longer job than the stack allows.
                Condition: {
                    "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": [a.training.instanceType] },
                    NumericLessThanEquals: { "sagemaker:MaxRuntimeInSeconds": String(a.training.maxRuntimeSeconds) },
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
                    "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": [a.transformInstanceType] },
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
            {
                Sid: "ReadJobLogs",
                Effect: "Allow",
                Action: ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
                Resource: arns.logGroups,
            },
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
                Resource: role.arn,
                Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
            },
        ];
        // Airflow can start jobs (which write the log groups) only once the groups exist.
        new aws.iam.RolePolicy(
            `${name}-airflow-sagemaker`,
            { role: args.airflowRoleName, policy: policyDocument(airflowStatements) },
            { parent: this, dependsOn: logGroups },
        );
        if (args.triggererRoleName) {
            // The triggers of deferred SageMaker waits describe the job until it ends and read its logs.
            new aws.iam.RolePolicy(
                `${name}-triggerer-sagemaker`,
                {
                    role: args.triggererRoleName,
                    policy: policyDocument([
                        {
                            Sid: "WatchJobs",
                            Effect: "Allow",
                            Action: ["sagemaker:DescribeTrainingJob", "sagemaker:DescribeTransformJob"],
                            Resource: [arns.sagemaker("training-job"), arns.sagemaker("transform-job")],
                        },
                        {
                            Sid: "ReadJobLogs",
                            Effect: "Allow",
                            Action: ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
                            Resource: arns.logGroups,
                        },
                    ]),
                },
                parent,
            );
        }

        const variable: { [K in keyof MlTrainingVariable]: pulumi.Input<MlTrainingVariable[K]> } = {
            environment: a.environment,
            region,
            role_arn: role.arn,
            image_uri: this.imageUri,
            bucket: bucket.bucket,
            input_prefix: input,
            output_prefix: models,
            checkpoint_prefix: checkpoints,
            batch_prefix: batch,
            job_name_prefix: this.jobNamePrefix,
            instance_type: a.training.instanceType,
            instance_count: a.training.instanceCount,
            volume_size_gb: a.training.volumeSizeGb,
            max_runtime_seconds: a.training.maxRuntimeSeconds,
            use_spot: a.training.spot.enabled,
            max_wait_seconds: a.training.spot.enabled ? a.training.spot.maxWaitSeconds : a.training.maxRuntimeSeconds,
            transform_instance_type: a.transformInstanceType,
            vpc_config:
                args.vpc && securityGroup
                    ? pulumi
                          .all([pulumi.all(args.vpc.subnetIds), securityGroup.id])
                          .apply(([subnetIds, groupId]) => ({ subnet_ids: subnetIds, security_group_ids: [groupId] }))
                    : null,
            enable_network_isolation: a.training.networkIsolation,
        };
        const published = publishVariable(
            `${name}-ml-training-variable`,
            ML_VARIABLE_KEY,
            variable,
            {
                environment: a.environment,
                recoveryWindowDays: a.secretRecoveryWindowDays,
                description: `SageMaker training settings of the ${a.environment} Airflow (Airflow Variable ${ML_VARIABLE_KEY})`,
                tags,
            },
            this,
        );

        this.bucketName = bucket.bucket;
        this.bucketArn = bucket.arn;
        this.trainingRoleArn = role.arn;
        this.trainingRoleName = role.name;
        this.securityGroupId = securityGroup?.id;
        this.variableNames = [ML_VARIABLE_KEY];
        this.variableSecretNames = [published.secretName];
        this.variableSecretArn = published.arn;

        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            trainingRoleArn: this.trainingRoleArn,
            imageUri: this.imageUri,
            jobNamePrefix: this.jobNamePrefix,
            securityGroupId: this.securityGroupId,
            variableNames: this.variableNames,
            variableSecretNames: this.variableSecretNames,
            variableSecretArn: this.variableSecretArn,
        });
    }

    /** The jobs' security group: outbound HTTPS, and all traffic between a distributed job's instances. */
    private createSecurityGroup(
        name: string,
        vpcId: pulumi.Input<string>,
        instanceCount: number,
        tags: SageMakerTrainingArgs["tags"],
    ): aws.ec2.SecurityGroup {
        const parent = { parent: this };
        const group = new aws.ec2.SecurityGroup(
            `${name}-training-sg`,
            {
                vpcId,
                description: "SageMaker training and transform jobs: outbound HTTPS only",
                tags: withName(tags, `${name}-training-sg`),
            },
            parent,
        );
        new aws.vpc.SecurityGroupEgressRule(
            `${name}-training-out-https`,
            {
                securityGroupId: group.id,
                description: "HTTPS to S3 (gateway endpoint) and AWS APIs (interface endpoints or NAT)",
                ipProtocol: "tcp",
                fromPort: PORTS.https,
                toPort: PORTS.https,
                cidrIpv4: "0.0.0.0/0",
                tags: withName(tags, `${name}-training-out-https`),
            },
            parent,
        );
        if (instanceCount > 1) {
            // Distributed training: the instances of one job talk to each other on any port.
            new aws.vpc.SecurityGroupIngressRule(
                `${name}-training-in-self`,
                {
                    securityGroupId: group.id,
                    description: "Between the instances of a distributed training job",
                    ipProtocol: "-1",
                    referencedSecurityGroupId: group.id,
                    tags: withName(tags, `${name}-training-in-self`),
                },
                parent,
            );
            new aws.vpc.SecurityGroupEgressRule(
                `${name}-training-out-self`,
                {
                    securityGroupId: group.id,
                    description: "Between the instances of a distributed training job",
                    ipProtocol: "-1",
                    referencedSecurityGroupId: group.id,
                    tags: withName(tags, `${name}-training-out-self`),
                },
                parent,
            );
        }
        return group;
    }
}

/** arn:<partition>:ecr:<region>:<account>:repository/<name> of an ECR image URI. */
export function ecrRepositoryArn(imageUri: string, partition: string, resource?: pulumi.Resource): string {
    const match = ECR_IMAGE_URI.exec(imageUri);
    if (!match) {
        throw new pulumi.ResourceError(
            `the training image ${JSON.stringify(imageUri)} is not an ECR image URI`,
            resource,
        );
    }
    const [, registry, region, , repository] = match;
    return `arn:${partition}:ecr:${region}:${registry}:repository/${repository}`;
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

interface ResolvedArgs {
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
    imageUri?: string;
    checkpointExpirationDays: number;
    batchExpirationDays: number;
    noncurrentVersionExpirationDays: number;
    protectData: boolean;
    secretRecoveryWindowDays: number;
}

function validateArgs(name: string, args: SageMakerTrainingArgs, resource: pulumi.Resource): ResolvedArgs {
    const t = args.training ?? {};
    const maxRuntimeSeconds = t.maxRuntimeSeconds ?? 3600;
    const a: ResolvedArgs = {
        environment: args.environment,
        training: {
            instanceType: t.instanceType ?? "ml.m5.large",
            instanceCount: t.instanceCount ?? 1,
            volumeSizeGb: t.volumeSizeGb ?? 30,
            maxRuntimeSeconds,
            spot: {
                enabled: t.spot?.enabled ?? false,
                maxWaitSeconds: t.spot?.maxWaitSeconds ?? Math.min(2 * maxRuntimeSeconds, MAX_TRAINING_SECONDS),
            },
            networkIsolation: t.networkIsolation ?? false,
        },
        transformInstanceType: args.transformInstanceType ?? "ml.m5.large",
        imageUri: args.imageUri,
        checkpointExpirationDays: args.checkpointExpirationDays ?? 7,
        batchExpirationDays: args.batchExpirationDays ?? 30,
        noncurrentVersionExpirationDays: args.noncurrentVersionExpirationDays ?? 30,
        protectData: args.protectData ?? false,
        secretRecoveryWindowDays: args.secretRecoveryWindowDays ?? 7,
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `SageMakerTraining ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    const wholeNumber = (field: string, value: number, min: number, max: number) => {
        if (!Number.isInteger(value) || value < min || value > max) {
            fail(field, `a whole number from ${min} to ${max}`, value);
        }
    };
    if (!/^[a-z][a-z0-9-]{0,14}[a-z0-9]$/.test(a.environment ?? "")) {
        fail("environment", "2 to 16 lowercase letters, digits or hyphens", a.environment);
    }
    if (args.airflowRoleName === undefined || args.airflowRoleName === "") {
        fail("airflowRoleName", "the name of the IAM role Airflow's tasks run as", args.airflowRoleName ?? null);
    }
    if (!SAGEMAKER_TRAINING_INSTANCE_TYPES.includes(a.training.instanceType)) {
        fail(
            "training.instanceType",
            `an instance type SageMaker offers for training jobs (${suggestion(a.training.instanceType, SAGEMAKER_TRAINING_INSTANCE_TYPES)})`,
            a.training.instanceType,
        );
    }
    wholeNumber("training.instanceCount", a.training.instanceCount, 1, 20);
    wholeNumber("training.volumeSizeGb", a.training.volumeSizeGb, 1, MAX_VOLUME_SIZE_GB);
    wholeNumber("training.maxRuntimeSeconds", a.training.maxRuntimeSeconds, 1, MAX_TRAINING_SECONDS);
    const maxWait = a.training.spot.maxWaitSeconds;
    if (
        a.training.spot.enabled &&
        (!Number.isInteger(maxWait) || maxWait < a.training.maxRuntimeSeconds || maxWait > MAX_TRAINING_SECONDS)
    ) {
        fail(
            "training.spot.maxWaitSeconds",
            `a whole number from training.maxRuntimeSeconds (${a.training.maxRuntimeSeconds}) to ${MAX_TRAINING_SECONDS} with spot training`,
            maxWait,
        );
    }
    if (!SAGEMAKER_TRANSFORM_INSTANCE_TYPES.includes(a.transformInstanceType)) {
        fail(
            "transformInstanceType",
            `an instance type SageMaker offers for batch transform jobs (${suggestion(a.transformInstanceType, SAGEMAKER_TRANSFORM_INSTANCE_TYPES)})`,
            a.transformInstanceType,
        );
    }
    if (a.imageUri !== undefined && !ECR_IMAGE_URI.test(a.imageUri)) {
        fail(
            "imageUri",
            "an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository> pinned with :<tag> (not latest) or @sha256:<digest>",
            a.imageUri,
        );
    }
    if (args.vpc && (args.vpc.subnetIds.length < 1 || args.vpc.subnetIds.length > 16)) {
        fail("vpc.subnetIds", "a list of 1 to 16 subnet ids", args.vpc.subnetIds);
    }
    wholeNumber("checkpointExpirationDays", a.checkpointExpirationDays, 1, 3650);
    wholeNumber("batchExpirationDays", a.batchExpirationDays, 1, 3650);
    if (args.logGroups && !(LOG_RETENTION_DAYS as readonly number[]).includes(args.logGroups.retentionDays)) {
        fail("logGroups.retentionDays", choiceText(LOG_RETENTION_DAYS), args.logGroups.retentionDays);
    }
    wholeNumber("noncurrentVersionExpirationDays", a.noncurrentVersionExpirationDays, 1, 3650);
    if (a.secretRecoveryWindowDays !== 0 && (a.secretRecoveryWindowDays < 7 || a.secretRecoveryWindowDays > 30)) {
        fail("secretRecoveryWindowDays", "0 or from 7 to 30", a.secretRecoveryWindowDays);
    }
    return a;
}
