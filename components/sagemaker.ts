import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { publishVariable } from "../lib/airflow";
import { createSecureBucket } from "../lib/bucket";
import { policyDocument } from "../lib/iam";
import { sagemakerTrust, trustPolicy } from "../lib/trust";
import { withName } from "../lib/tags";
import { PORTS } from "./network";
import { ResolvedArgs, validateArgs } from "./sagemaker-args";
import {
    airflowSageMakerStatements,
    BUILT_IN_IMAGE,
    ecrRepositoryArn,
    ML_PREFIXES,
    ML_VARIABLE_KEY,
    mlArns,
    SAGEMAKER_LOG_GROUPS,
    mlTrainingVariable,
    trainingRoleStatements,
    triggererSageMakerStatements,
} from "./sagemaker-policy";

export { BUILT_IN_IMAGE, ML_PREFIXES, ML_VARIABLE_KEY, SAGEMAKER_LOG_GROUPS } from "./sagemaker-policy";
export type { MlTrainingVariable } from "./sagemaker-policy";
export { ecrRepositoryArn, sageMakerTrainingArgs } from "./sagemaker-policy";

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
    /** The stack's log bucket: the ML bucket's S3 server access logs go there. Default: none. */
    accessLogBucket?: pulumi.Input<string>;
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
        const resolved = validateArgs(name, args, this);
        const parent = { parent: this };
        const tags = args.tags;
        const region = aws.getRegionOutput({}, parent).region;
        const account = aws.getCallerIdentityOutput({}, parent).accountId;
        const partition = aws.getPartitionOutput({}, parent).partition;
        this.jobNamePrefix = `airflow-${resolved.environment}`;

        const ml = createSecureBucket(
            `${name}-ml`,
            {
                noncurrentVersionExpirationDays: resolved.noncurrentVersionExpirationDays,
                expirations: [
                    {
                        id: "expire-checkpoints",
                        prefix: ML_PREFIXES.checkpoints,
                        days: resolved.checkpointExpirationDays,
                    },
                    { id: "expire-batch-data", prefix: ML_PREFIXES.batch, days: resolved.batchExpirationDays },
                ],
                protectData: resolved.protectData,
                accessLogs: args.accessLogBucket ? { bucket: args.accessLogBucket, prefix: "s3/ml/" } : undefined,
                tags,
            },
            this,
        );
        const bucket = ml.bucket;

        this.imageUri =
            resolved.imageUri !== undefined
                ? pulumi.output(resolved.imageUri)
                : aws.sagemaker.getPrebuiltEcrImageOutput(
                      { repositoryName: BUILT_IN_IMAGE.repositoryName, imageTag: BUILT_IN_IMAGE.imageTag },
                      parent,
                  ).registryPath;
        const repositoryArn = pulumi
            .all([this.imageUri, partition])
            .apply(([uri, p]) => ecrRepositoryArn(uri, p, this));

        const securityGroup = args.vpc
            ? this.createSecurityGroup(name, args.vpc.vpcId, resolved.training.instanceCount, tags)
            : undefined;

        const arns = mlArns({ partition, region, account, bucketArn: bucket.arn, jobNamePrefix: this.jobNamePrefix });
        const role = new aws.iam.Role(
            `${name}-training-role`,
            {
                description: `SageMaker execution role of the ${resolved.environment} Airflow's training and transform jobs`,
                assumeRolePolicy: trustPolicy(sagemakerTrust({ partition, region, account })),
                tags: withName(tags, `${name}-training-role`),
            },
            parent,
        );
        const vpc =
            args.vpc && securityGroup
                ? { region, subnetIds: args.vpc.subnetIds, securityGroupId: securityGroup.id }
                : undefined;
        this.attachPolicies(name, args, resolved, { arns, repositoryArn, role, vpc });

        const variable = mlTrainingVariable(resolved, {
            region,
            roleArn: role.arn,
            imageUri: this.imageUri,
            bucket: bucket.bucket,
            jobNamePrefix: this.jobNamePrefix,
            vpcConfig:
                args.vpc && securityGroup
                    ? pulumi
                          .all([pulumi.all(args.vpc.subnetIds), securityGroup.id])
                          .apply(([subnetIds, groupId]) => ({ subnet_ids: subnetIds, security_group_ids: [groupId] }))
                    : null,
        });
        const published = publishVariable(
            `${name}-ml-training-variable`,
            ML_VARIABLE_KEY,
            variable,
            {
                environment: resolved.environment,
                secretRecoveryWindowDays: resolved.secretRecoveryWindowDays,
                description: `SageMaker training settings of the ${resolved.environment} Airflow (Airflow Variable ${ML_VARIABLE_KEY})`,
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

    /** The training role's policy, and the policies on Airflow's (and the triggerer's) roles. */
    private attachPolicies(
        name: string,
        args: SageMakerTrainingArgs,
        resolved: ResolvedArgs,
        made: {
            arns: ReturnType<typeof mlArns>;
            repositoryArn: pulumi.Output<string>;
            role: aws.iam.Role;
            vpc: Parameters<typeof trainingRoleStatements>[2];
        },
    ): void {
        const parent = { parent: this };
        const { arns, repositoryArn, role, vpc } = made;
        // SageMaker's shared log groups, when this stack owns them; retained, other stacks write there too.
        const logGroups = (args.logGroups ? SAGEMAKER_LOG_GROUPS : []).map(
            (group) =>
                new aws.cloudwatch.LogGroup(
                    `${name}-sagemaker-${group.split("/").pop()!.toLowerCase()}-logs`,
                    {
                        name: group,
                        retentionInDays: args.logGroups!.retentionDays,
                        tags: withName(args.tags, `${name}-sagemaker-${group.split("/").pop()!.toLowerCase()}-logs`),
                    },
                    { parent: this, retainOnDelete: true },
                ),
        );
        new aws.iam.RolePolicy(
            `${name}-training-policy`,
            { role: role.id, policy: policyDocument(trainingRoleStatements(arns, repositoryArn, vpc)) },
            { parent: this, dependsOn: logGroups },
        );
        new aws.iam.RolePolicy(
            `${name}-airflow-sagemaker`,
            {
                role: args.airflowRoleName,
                policy: policyDocument(
                    airflowSageMakerStatements(arns, {
                        trainingInstanceType: resolved.training.instanceType,
                        maxRuntimeSeconds: resolved.training.maxRuntimeSeconds,
                        transformInstanceType: resolved.transformInstanceType,
                        trainingRoleArn: role.arn,
                    }),
                ),
            },
            // Airflow can start jobs (which write the log groups) only once the groups exist.
            { parent: this, dependsOn: logGroups },
        );
        if (args.triggererRoleName) {
            // The triggers of deferred SageMaker waits describe the job until it ends and read its logs.
            new aws.iam.RolePolicy(
                `${name}-triggerer-sagemaker`,
                { role: args.triggererRoleName, policy: policyDocument(triggererSageMakerStatements(arns)) },
                parent,
            );
        }
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
