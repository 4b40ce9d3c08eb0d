import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import {
    BUILT_IN_IMAGE,
    ML_VARIABLE_KEY,
    SageMakerTraining,
    SageMakerTrainingArgs,
    sageMakerTrainingArgs,
} from "../components/sagemaker";
import { ConfigError, loadConfig } from "../config";
import {
    AWS_DATA_SOURCE,
    SAGEMAKER_TRAINING_INSTANCE_TYPES,
    SAGEMAKER_TRANSFORM_INSTANCE_TYPES,
} from "../config/aws-data";
import { actionsOf, expectNoWildcardActions, PolicyStatement, statementsBySid, statementsOf } from "./harness/iam";
import { CapturedResource, MOCK_ACCOUNT } from "./harness/mocks";
import { installMocks, ProgramRun, runStack, runWith, STACKS, StackName, useStack } from "./harness/program";
import { itRejectsEach } from "./harness/config";

const T = {
    component: "airflow:ml:SageMakerTraining",
    bucket: "aws:s3/bucket:Bucket",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
};

const PREBUILT_IMAGE_INVOKE = "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage";

/** The keys of the `ml_training` Variable, exactly: the contract the DAGs are written against. */
const VARIABLE_KEYS = [
    "environment",
    "region",
    "role_arn",
    "image_uri",
    "bucket",
    "input_prefix",
    "output_prefix",
    "checkpoint_prefix",
    "batch_prefix",
    "job_name_prefix",
    "instance_type",
    "instance_count",
    "volume_size_gb",
    "max_runtime_seconds",
    "use_spot",
    "max_wait_seconds",
    "transform_instance_type",
    "vpc_config",
    "enable_network_isolation",
].sort();

/** Stand-ins for what the program's network component passes (VPC mode uses them). */
const NETWORK = {
    vpcId: "vpc-0123456789abcdef0",
    privateSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"],
};

/**
 * Test fixtures standing in for the role each layout's component will own: the Celery worker task
 * role and the MWAA execution role. The program itself grants nothing until those components exist.
 */
const AIRFLOW_ROLE = { celery: "celery-worker-task-role", mwaa: "mwaa-execution-role" } as const;

/**
 * Builds SageMakerTraining exactly as index.ts does (sageMakerTrainingArgs from the stack's own
 * configuration) with a fake Airflow role, and returns what it registered.
 */
function runMl(
    stack: StackName,
    overrides: Record<string, unknown> = {},
    patch: Partial<SageMakerTrainingArgs> = {},
): Promise<ProgramRun> {
    return runWith(stack, overrides, () => {
        const config = loadConfig();
        const ml = new SageMakerTraining(`airflow-${config.environment}`, {
            ...sageMakerTrainingArgs(config, NETWORK, `airflow-${config.environment}-${AIRFLOW_ROLE[config.layout]}`),
            ...patch,
        });
        return {
            layout: config.layout,
            trainingRoleArn: ml.trainingRoleArn,
            bucketName: ml.bucketName,
            imageUri: ml.imageUri,
            jobNamePrefix: ml.jobNamePrefix,
            securityGroupId: ml.securityGroupId,
            variableNames: ml.variableNames,
            variableSecretNames: ml.variableSecretNames,
        };
    });
}

/** The `ml_training` Variable's JSON as published. */
function variableOf(run: ProgramRun, name: string): Record<string, any> {
    return JSON.parse(run.get(T.secretVersion, `${name}-ml-training-variable-value`).inputs.secretString);
}

/** What the tests compare statements against, read from a run. */
interface Ctx {
    bucketArn: string;
    region: string;
    trainingRoleArn: string;
    /** VPC mode: the subnets and the jobs' security group id. */
    vpc?: { subnetIds: string[]; securityGroupId: string };
    repositoryArn: string;
    jobNamePrefix: string;
    instanceType: string;
    maxRuntimeSeconds: number;
    transformInstanceType: string;
}

const logGroupArns = (c: Ctx) =>
    ["/aws/sagemaker/TrainingJobs", "/aws/sagemaker/TransformJobs"].flatMap((g) => [
        `arn:aws:logs:${c.region}:${MOCK_ACCOUNT}:log-group:${g}`,
        `arn:aws:logs:${c.region}:${MOCK_ACCOUNT}:log-group:${g}:*`,
    ]);
const sagemakerArn = (c: Ctx, type: string) =>
    `arn:aws:sagemaker:${c.region}:${MOCK_ACCOUNT}:${type}/${c.jobNamePrefix}*`;
const subnetArns = (c: Ctx) =>
    (c.vpc?.subnetIds ?? []).map((id) => `arn:aws:ec2:${c.region}:${MOCK_ACCOUNT}:subnet/${id}`);

/** Every statement of the training (SageMaker execution) role, as a test title and its exact content. */
const TRAINING_STATEMENTS: [string, string, (c: Ctx) => PolicyStatement | undefined][] = [
    [
        "ListMlBucketPrefixes",
        "lists the ML bucket only under input/, models/, checkpoints/ and batch/",
        (c) => ({
            Sid: "ListMlBucketPrefixes",
            Effect: "Allow",
            Action: "s3:ListBucket",
            Resource: c.bucketArn,
            Condition: { StringLike: { "s3:prefix": ["input/*", "models/*", "checkpoints/*", "batch/*"] } },
        }),
    ],
    [
        "ReadMlData",
        "reads input/, models/ (for transform jobs), checkpoints/ (to resume) and batch/",
        (c) => ({
            Sid: "ReadMlData",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: ["input/", "models/", "checkpoints/", "batch/"].map((p) => `${c.bucketArn}/${p}*`),
        }),
    ],
    [
        "WriteMlData",
        "writes models/, checkpoints/ and batch/, never input/",
        (c) => ({
            Sid: "WriteMlData",
            Effect: "Allow",
            Action: "s3:PutObject",
            Resource: ["models/", "checkpoints/", "batch/"].map((p) => `${c.bucketArn}/${p}*`),
        }),
    ],
    [
        "WriteJobLogs",
        "writes only the training and transform job log groups",
        (c) => ({
            Sid: "WriteJobLogs",
            Effect: "Allow",
            Action: ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
            Resource: logGroupArns(c),
        }),
    ],
    [
        "PublishJobMetrics",
        "puts metrics only in /aws/sagemaker/* namespaces",
        () => ({
            Sid: "PublishJobMetrics",
            Effect: "Allow",
            Action: "cloudwatch:PutMetricData",
            Resource: "*",
            Condition: { StringLike: { "cloudwatch:namespace": "/aws/sagemaker/*" } },
        }),
    ],
    [
        "GetEcrAuthorizationToken",
        "gets an ECR login token (an action without resource type)",
        () => ({
            Sid: "GetEcrAuthorizationToken",
            Effect: "Allow",
            Action: "ecr:GetAuthorizationToken",
            Resource: "*",
        }),
    ],
    [
        "PullTrainingImage",
        "pulls only from the training image's repository",
        (c) => ({
            Sid: "PullTrainingImage",
            Effect: "Allow",
            Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
            Resource: c.repositoryArn,
        }),
    ],
    [
        "DescribeVpcForJobs",
        "in VPC mode, describes the network in the stack's region only",
        (c) =>
            c.vpc && {
                Sid: "DescribeVpcForJobs",
                Effect: "Allow",
                Action: [
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                Resource: "*",
                Condition: { StringEquals: { "aws:RequestedRegion": c.region } },
            },
    ],
    [
        "CreateJobNetworkInterfaces",
        "in VPC mode, creates network interfaces only in the private subnets with the jobs' security group",
        (c) =>
            c.vpc && {
                Sid: "CreateJobNetworkInterfaces",
                Effect: "Allow",
                Action: "ec2:CreateNetworkInterface",
                Resource: [
                    `arn:aws:ec2:${c.region}:${MOCK_ACCOUNT}:network-interface/*`,
                    ...subnetArns(c),
                    `arn:aws:ec2:${c.region}:${MOCK_ACCOUNT}:security-group/${c.vpc.securityGroupId}`,
                ],
            },
    ],
    [
        "ManageJobNetworkInterfaces",
        "in VPC mode, manages and deletes only network interfaces in the private subnets",
        (c) =>
            c.vpc && {
                Sid: "ManageJobNetworkInterfaces",
                Effect: "Allow",
                Action: [
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                ],
                Resource: `arn:aws:ec2:${c.region}:${MOCK_ACCOUNT}:network-interface/*`,
                Condition: { ArnEquals: { "ec2:Subnet": subnetArns(c) } },
            },
    ],
];

/** Every statement of the policy on Airflow's role. */
const AIRFLOW_STATEMENTS: [string, string, (c: Ctx) => PolicyStatement][] = [
    [
        "StartTrainingJobs",
        "starts training jobs named <job_name_prefix>* on the configured instance type for at most the max runtime",
        (c) => ({
            Sid: "StartTrainingJobs",
            Effect: "Allow",
            Action: "sagemaker:CreateTrainingJob",
            Resource: sagemakerArn(c, "training-job"),
            Condition: {
                "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": [c.instanceType] },
                NumericLessThanEquals: { "sagemaker:MaxRuntimeInSeconds": String(c.maxRuntimeSeconds) },
            },
        }),
    ],
    [
        "WatchAndStopTrainingJobs",
        "describes and stops only its own training jobs",
        (c) => ({
            Sid: "WatchAndStopTrainingJobs",
            Effect: "Allow",
            Action: ["sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"],
            Resource: sagemakerArn(c, "training-job"),
        }),
    ],
    [
        "ManageModels",
        "creates, describes and deletes only its own models",
        (c) => ({
            Sid: "ManageModels",
            Effect: "Allow",
            Action: ["sagemaker:CreateModel", "sagemaker:DescribeModel", "sagemaker:DeleteModel"],
            Resource: sagemakerArn(c, "model"),
        }),
    ],
    [
        "StartTransformJobs",
        "starts transform jobs named <job_name_prefix>* on the configured transform instance type",
        (c) => ({
            Sid: "StartTransformJobs",
            Effect: "Allow",
            Action: "sagemaker:CreateTransformJob",
            Resource: sagemakerArn(c, "transform-job"),
            Condition: { "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": [c.transformInstanceType] } },
        }),
    ],
    [
        "WatchAndStopTransformJobs",
        "describes and stops only its own transform jobs",
        (c) => ({
            Sid: "WatchAndStopTransformJobs",
            Effect: "Allow",
            Action: ["sagemaker:DescribeTransformJob", "sagemaker:StopTransformJob"],
            Resource: sagemakerArn(c, "transform-job"),
        }),
    ],
    [
        "TagJobsAndModelsOnCreate",
        "tags only its own jobs and models (creating them with Tags needs it)",
        (c) => ({
            Sid: "TagJobsAndModelsOnCreate",
            Effect: "Allow",
            Action: "sagemaker:AddTags",
            Resource: [sagemakerArn(c, "training-job"), sagemakerArn(c, "model"), sagemakerArn(c, "transform-job")],
        }),
    ],
    [
        "ReadJobLogs",
        "reads only the training and transform job logs",
        (c) => ({
            Sid: "ReadJobLogs",
            Effect: "Allow",
            Action: ["logs:DescribeLogStreams", "logs:GetLogEvents", "logs:FilterLogEvents"],
            Resource: logGroupArns(c),
        }),
    ],
    [
        "ListMlBucket",
        "lists the ML bucket (the provider's input check calls HeadBucket)",
        (c) => ({ Sid: "ListMlBucket", Effect: "Allow", Action: "s3:ListBucket", Resource: c.bucketArn }),
    ],
    [
        "ReadMlData",
        "reads input/, models/ and batch/, not checkpoints/",
        (c) => ({
            Sid: "ReadMlData",
            Effect: "Allow",
            Action: "s3:GetObject",
            Resource: ["input/", "models/", "batch/"].map((p) => `${c.bucketArn}/${p}*`),
        }),
    ],
    [
        "WriteMlData",
        "uploads to input/, models/ (manifests) and batch/, not checkpoints/",
        (c) => ({
            Sid: "WriteMlData",
            Effect: "Allow",
            Action: "s3:PutObject",
            Resource: ["input/", "models/", "batch/"].map((p) => `${c.bucketArn}/${p}*`),
        }),
    ],
    [
        "PassTrainingRoleToSageMaker",
        "passes the training role, and only it, to SageMaker only",
        (c) => ({
            Sid: "PassTrainingRoleToSageMaker",
            Effect: "Allow",
            Action: "iam:PassRole",
            Resource: c.trainingRoleArn,
            Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
        }),
    ],
];

/** What each stack file asks of its ML training. */
const expected = {
    dev: {
        layout: "celery",
        instanceType: "ml.m5.large",
        volumeSizeGb: 30,
        maxRuntimeSeconds: 3600,
        useSpot: false,
        maxWaitSeconds: 3600,
        transformInstanceType: "ml.m5.large",
        vpc: false,
        isolation: false,
        checkpointDays: 3,
        batchDays: 7,
        protect: false,
        recoveryDays: 0,
    },
    staging: {
        layout: "celery",
        instanceType: "ml.m5.large",
        volumeSizeGb: 30,
        maxRuntimeSeconds: 3600,
        useSpot: true,
        maxWaitSeconds: 7200,
        transformInstanceType: "ml.m5.large",
        vpc: true,
        isolation: true,
        checkpointDays: 7,
        batchDays: 30,
        protect: true,
        recoveryDays: 7,
    },
    prod: {
        layout: "mwaa",
        instanceType: "ml.p3.2xlarge",
        volumeSizeGb: 100,
        maxRuntimeSeconds: 14400,
        useSpot: true,
        maxWaitSeconds: 28800,
        transformInstanceType: "ml.m5.xlarge",
        vpc: true,
        isolation: true,
        checkpointDays: 14,
        batchDays: 90,
        protect: true,
        recoveryDays: 30,
    },
} as const;

for (const stack of STACKS) {
    const want = expected[stack];
    const name = `airflow-${stack}`;
    const airflowRole = `${name}-${AIRFLOW_ROLE[want.layout]}`;

    describe(`SageMakerTraining with the ${stack} stack's configuration (${want.layout} layout)`, () => {
        let run: ProgramRun;
        let ctx: Ctx;
        let trainingPolicy: string;
        let airflowPolicy: CapturedResource;
        before(async () => {
            run = await runMl(stack);
            trainingPolicy = run.get(T.rolePolicy, `${name}-training-policy`).inputs.policy;
            airflowPolicy = run.get(T.rolePolicy, `${name}-airflow-sagemaker`);
            ctx = {
                bucketArn: run.get(T.bucket, `${name}-ml`).state.arn,
                region: "us-east-1",
                trainingRoleArn: run.get(T.role, `${name}-training-role`).state.arn,
                vpc: want.vpc
                    ? { subnetIds: NETWORK.privateSubnetIds, securityGroupId: `${name}-training-sg-id` }
                    : undefined,
                repositoryArn: "arn:aws:ecr:us-east-1:683313688378:repository/sagemaker-xgboost",
                jobNamePrefix: name,
                instanceType: want.instanceType,
                maxRuntimeSeconds: want.maxRuntimeSeconds,
                transformInstanceType: want.transformInstanceType,
            };
        });

        it("is one airflow:ml:SageMakerTraining component that parents every resource it creates", () => {
            const component = run.get(T.component, name);
            const children = run.childrenOf(component);
            expect(children.length).to.be.greaterThan(10);
            for (const r of run.resources.filter((r) => r !== component)) {
                expect(r.parentUrn, `${r.type} ${r.name}`).to.equal(component.urn);
                expect(r.name.startsWith(`${name}-`), r.name).to.equal(true);
            }
        });

        it("tags every taggable resource with the stack's tags and its own Name", () => {
            const untaggable = new Set([
                T.component,
                T.rolePolicy,
                T.pab,
                T.versioning,
                T.sse,
                T.lifecycle,
                T.bucketPolicy,
                T.secretVersion,
                "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            ]);
            const taggable = run.resources.filter((r) => !untaggable.has(r.type));
            expect(taggable.length).to.be.at.least(3);
            for (const r of taggable) {
                expect(r.inputs.tags, `${r.type} ${r.name}`).to.deep.include({
                    Environment: stack,
                    Production: String(stack === "prod"),
                    CostCenter: "data-platform",
                    Name: r.name,
                });
            }
        });

        describe("ML bucket", () => {
            const setting = (type: string, role: string) => run.get(type, `${name}-ml-${role}`);

            it("is versioned, encrypted, closed to the public and TLS-only, like every bucket of the project", () => {
                expect(setting(T.versioning, "versioning").inputs.versioningConfiguration).to.deep.equal({
                    status: "Enabled",
                });
                expect(setting(T.sse, "encryption").inputs.rules).to.deep.equal([
                    { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
                ]);
                expect(setting(T.pab, "public-access-block").inputs).to.include({
                    blockPublicAcls: true,
                    blockPublicPolicy: true,
                    ignorePublicAcls: true,
                    restrictPublicBuckets: true,
                });
                const policy = statementsOf(setting(T.bucketPolicy, "policy").inputs.policy);
                expect(policy.map((s) => [s.Sid, s.Effect, s.Condition])).to.deep.equal([
                    ["DenyInsecureTransport", "Deny", { Bool: { "aws:SecureTransport": "false" } }],
                    ["DenyOutdatedTls", "Deny", { NumericLessThan: { "s3:TlsVersion": "1.2" } }],
                ]);
            });

            it(`expires checkpoints/ after ${want.checkpointDays} days and batch/ after ${want.batchDays} days`, () => {
                expect(setting(T.lifecycle, "lifecycle").inputs.rules).to.deep.equal([
                    {
                        id: "expire-checkpoints",
                        status: "Enabled",
                        filter: { prefix: "checkpoints/" },
                        expiration: { days: want.checkpointDays },
                    },
                    {
                        id: "expire-batch-data",
                        status: "Enabled",
                        filter: { prefix: "batch/" },
                        expiration: { days: want.batchDays },
                    },
                    {
                        id: "expire-noncurrent-versions",
                        status: "Enabled",
                        filter: {},
                        noncurrentVersionExpiration: { noncurrentDays: 30 },
                        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                    },
                ]);
            });

            it(
                want.protect ? "is protected, kept on delete and never force-emptied" : "is destroyed with the stack",
                () => {
                    const bucket = run.get(T.bucket, `${name}-ml`);
                    expect(bucket.options.protect).to.equal(want.protect);
                    expect(bucket.options.retainOnDelete).to.equal(want.protect);
                    expect(bucket.inputs.forceDestroy).to.equal(!want.protect);
                },
            );
        });

        describe("training role (the SageMaker execution role)", () => {
            it("can be assumed by sagemaker.amazonaws.com for this account's SageMaker resources of this region only", () => {
                const role = run.get(T.role, `${name}-training-role`);
                expect(statementsOf(role.inputs.assumeRolePolicy)).to.deep.equal([
                    {
                        Effect: "Allow",
                        Principal: { Service: "sagemaker.amazonaws.com" },
                        Action: "sts:AssumeRole",
                        Condition: {
                            StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
                            ArnLike: {
                                "aws:SourceArn": `arn:aws:sagemaker:${run.config["aws:region"] ?? "us-east-1"}:${MOCK_ACCOUNT}:*`,
                            },
                        },
                    },
                ]);
            });

            for (const [sid, title, statement] of TRAINING_STATEMENTS) {
                if (title.startsWith("in VPC mode") && !want.vpc) continue;
                it(`${title} (${sid})`, () => {
                    expect(statementsBySid(trainingPolicy)[sid]).to.deep.equal(statement(ctx));
                });
            }

            if (!want.vpc) {
                it("has no EC2 permission outside VPC mode", () => {
                    const actions = statementsOf(trainingPolicy).flatMap(actionsOf);
                    expect(actions.filter((a) => a.startsWith("ec2:"))).to.deep.equal([]);
                });
            }

            it("allows nothing else", () => {
                const sids = TRAINING_STATEMENTS.filter(([, , s]) => s(ctx) !== undefined).map(([sid]) => sid);
                expect(Object.keys(statementsBySid(trainingPolicy))).to.deep.equal(sids);
            });

            it("grants no wildcard action", () => {
                expectNoWildcardActions(trainingPolicy, "training role");
            });
        });

        describe("policy on Airflow's role", () => {
            it(`attaches to the ${want.layout} layout's Airflow role it is given`, () => {
                expect(airflowPolicy.inputs.role).to.equal(airflowRole);
                expect(run.ofType(T.rolePolicy).map((p) => p.inputs.role)).to.deep.equal([
                    `${name}-training-role-id`,
                    airflowRole,
                ]);
            });

            for (const [sid, title, statement] of AIRFLOW_STATEMENTS) {
                it(`${title} (${sid})`, () => {
                    expect(statementsBySid(airflowPolicy.inputs.policy)[sid]).to.deep.equal(statement(ctx));
                });
            }

            it("allows nothing else", () => {
                expect(Object.keys(statementsBySid(airflowPolicy.inputs.policy))).to.deep.equal(
                    AIRFLOW_STATEMENTS.map(([sid]) => sid),
                );
            });

            it("grants no wildcard action, and a wildcard resource nowhere", () => {
                expectNoWildcardActions(airflowPolicy.inputs.policy, "Airflow's policy");
                for (const s of statementsOf(airflowPolicy.inputs.policy)) {
                    expect(s.Resource, s.Sid).not.to.equal("*");
                }
            });

            it("passes a role only with the condition iam:PassedToService = sagemaker.amazonaws.com", () => {
                const passRole = statementsOf(airflowPolicy.inputs.policy).filter((s) =>
                    actionsOf(s).includes("iam:PassRole"),
                );
                expect(passRole).to.have.length(1);
                expect(passRole[0].Resource).to.equal(ctx.trainingRoleArn);
                expect(passRole[0].Condition).to.deep.equal({
                    StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" },
                });
            });
        });

        describe("Airflow Variable ml_training", () => {
            it(`is published as the secret airflow/${stack}/variables/ml_training, recoverable ${want.recoveryDays} days`, () => {
                const secret = run.get(T.secret, `${name}-ml-training-variable`);
                expect(secret.inputs).to.include({
                    name: `airflow/${stack}/variables/ml_training`,
                    recoveryWindowInDays: want.recoveryDays,
                });
                expect(run.outputs.variableNames).to.deep.equal(["ml_training"]);
                expect(run.outputs.variableSecretNames).to.deep.equal([`airflow/${stack}/variables/ml_training`]);
            });

            it("holds exactly the contract's keys, with the stack's bucket, role, image, region and settings", () => {
                const variable = variableOf(run, name);
                expect(Object.keys(variable).sort()).to.deep.equal(VARIABLE_KEYS);
                expect(variable).to.deep.equal({
                    environment: stack,
                    region: "us-east-1",
                    role_arn: ctx.trainingRoleArn,
                    image_uri: "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
                    bucket: run.get(T.bucket, `${name}-ml`).state.bucket,
                    input_prefix: "input/",
                    output_prefix: "models/",
                    checkpoint_prefix: "checkpoints/",
                    batch_prefix: "batch/",
                    job_name_prefix: name,
                    instance_type: want.instanceType,
                    instance_count: 1,
                    volume_size_gb: want.volumeSizeGb,
                    max_runtime_seconds: want.maxRuntimeSeconds,
                    use_spot: want.useSpot,
                    max_wait_seconds: want.maxWaitSeconds,
                    transform_instance_type: want.transformInstanceType,
                    vpc_config: want.vpc
                        ? { subnet_ids: NETWORK.privateSubnetIds, security_group_ids: [`${name}-training-sg-id`] }
                        : null,
                    enable_network_isolation: want.isolation,
                });
            });

            it("names a role, bucket and image that the IAM policies are about", () => {
                const variable = variableOf(run, name);
                expect(variable.role_arn).to.equal(run.outputs.trainingRoleArn);
                expect(variable.bucket).to.equal(run.outputs.bucketName);
                expect(variable.image_uri).to.equal(run.outputs.imageUri);
                expect(`arn:aws:s3:::${variable.bucket}`).to.equal(ctx.bucketArn);
            });
        });

        it("resolves the built-in XGBoost image of the stack's region, pinned to 1.7-1", () => {
            expect(run.outputs.imageUri).to.equal(
                "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1",
            );
        });

        if (want.vpc) {
            it("puts jobs behind a security group that allows outbound HTTPS only", () => {
                const sg = run.get(T.sg, `${name}-training-sg`);
                expect(sg.inputs.vpcId).to.equal(NETWORK.vpcId);
                expect(run.ofType(T.ingress)).to.have.length(0);
                expect(run.ofType(T.egress).map((r) => r.inputs)).to.deep.equal([
                    {
                        securityGroupId: `${name}-training-sg-id`,
                        description: "HTTPS to S3 (gateway endpoint) and AWS APIs (interface endpoints or NAT)",
                        ipProtocol: "tcp",
                        fromPort: 443,
                        toPort: 443,
                        cidrIpv4: "0.0.0.0/0",
                        tags: run.get(T.egress, `${name}-training-out-https`).inputs.tags,
                    },
                ]);
            });
        } else {
            it("creates no security group outside VPC mode", () => {
                expect(run.ofType(T.sg)).to.have.length(0);
                expect(run.outputs.securityGroupId).to.equal(undefined);
            });
        }
    });
}

describe("ML training on both layouts", () => {
    let celery: ProgramRun;
    let mwaa: ProgramRun;
    before(async () => {
        celery = await runMl("dev");
        mwaa = await runMl("prod");
    });

    it("publishes the same Variable name and JSON keys on a celery stack and on the mwaa stack", () => {
        expect(celery.outputs.layout).to.equal("celery");
        expect(mwaa.outputs.layout).to.equal("mwaa");
        expect(celery.outputs.variableNames).to.deep.equal([ML_VARIABLE_KEY]);
        expect(mwaa.outputs.variableNames).to.deep.equal([ML_VARIABLE_KEY]);
        expect(Object.keys(variableOf(celery, "airflow-dev")).sort()).to.deep.equal(VARIABLE_KEYS);
        expect(Object.keys(variableOf(mwaa, "airflow-prod")).sort()).to.deep.equal(VARIABLE_KEYS);
    });

    it("grants the same Airflow statements on both layouts, each to its own layout's role", () => {
        const sids = (run: ProgramRun, name: string) =>
            Object.keys(statementsBySid(run.get(T.rolePolicy, `${name}-airflow-sagemaker`).inputs.policy));
        expect(sids(celery, "airflow-dev")).to.deep.equal(sids(mwaa, "airflow-prod"));
        expect(celery.get(T.rolePolicy, "airflow-dev-airflow-sagemaker").inputs.role).to.equal(
            "airflow-dev-celery-worker-task-role",
        );
        expect(mwaa.get(T.rolePolicy, "airflow-prod-airflow-sagemaker").inputs.role).to.equal(
            "airflow-prod-mwaa-execution-role",
        );
    });
});

describe("SageMakerTraining wiring", () => {
    it("attaches Airflow's policy to a role given as an output of another resource", async () => {
        const run = await runWith("dev", {}, () => {
            const worker = new aws.iam.Role("celery-worker-task", {
                assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [] }),
            });
            new SageMakerTraining("ml", { environment: "dev", airflowRoleName: worker.name });
            return {};
        });
        const worker = run.get(T.role, "celery-worker-task");
        const policy = run.get(T.rolePolicy, "ml-airflow-sagemaker");
        expect(policy.inputs.role).to.equal(worker.state.name);
        expect(policy.options.dependencies).to.include(worker.urn);
    });

    it("uses a configured custom image instead of the built-in one, and pulls only from its repository", async () => {
        const image = "210987654321.dkr.ecr.us-east-1.amazonaws.com/ml/churn-trainer:2024.06.1";
        const run = await runMl("dev", { "airflow:mlImageUri": image });
        expect(installMocks().invokes.map((i) => i.token)).not.to.include(PREBUILT_IMAGE_INVOKE);
        expect(run.outputs.imageUri).to.equal(image);
        expect(variableOf(run, "airflow-dev").image_uri).to.equal(image);
        const pull = statementsBySid(
            run.get(T.rolePolicy, "airflow-dev-training-policy").inputs.policy,
        ).PullTrainingImage;
        expect(pull.Resource).to.equal("arn:aws:ecr:us-east-1:210987654321:repository/ml/churn-trainer");
    });

    it("resolves the built-in image from the registry of the stack's own region", async () => {
        const run = await runMl("dev", { "aws:region": "eu-west-1" });
        const invoke = installMocks().invokes.find((i) => i.token === PREBUILT_IMAGE_INVOKE);
        expect(invoke?.inputs).to.deep.include({
            repositoryName: BUILT_IN_IMAGE.repositoryName,
            imageTag: BUILT_IN_IMAGE.imageTag,
        });
        expect(run.outputs.imageUri).to.equal("141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1");
        const policy = statementsBySid(run.get(T.rolePolicy, "airflow-dev-airflow-sagemaker").inputs.policy);
        expect(policy.StartTrainingJobs.Resource).to.equal(
            `arn:aws:sagemaker:eu-west-1:${MOCK_ACCOUNT}:training-job/airflow-dev*`,
        );
        expect(variableOf(run, "airflow-dev").region).to.equal("eu-west-1");
    });

    it("lets the instances of a distributed training job in VPC mode talk to each other", async () => {
        const run = await runMl("staging", { "airflow:mlInstanceCount": 2 });
        const self = "airflow-staging-training-sg-id";
        const ingress = run.get(T.ingress, "airflow-staging-training-in-self").inputs;
        const egress = run.get(T.egress, "airflow-staging-training-out-self").inputs;
        for (const rule of [ingress, egress]) {
            expect(rule).to.include({ securityGroupId: self, referencedSecurityGroupId: self, ipProtocol: "-1" });
        }
        expect(variableOf(run, "airflow-staging").instance_count).to.equal(2);
    });
});

describe("managed spot training", () => {
    it("comes with checkpoints (written, read back, expired) and a max wait of at least the max runtime", async () => {
        const run = await runMl("dev", {
            "airflow:mlSpotTraining": true,
            "airflow:mlMaxRuntimeSeconds": 5400,
            "airflow:mlMaxWaitSeconds": 9000,
        });
        const variable = variableOf(run, "airflow-dev");
        expect(variable).to.include({
            use_spot: true,
            max_runtime_seconds: 5400,
            max_wait_seconds: 9000,
            checkpoint_prefix: "checkpoints/",
        });
        expect(variable.max_wait_seconds).to.be.at.least(variable.max_runtime_seconds);
        const bucketArn = run.get(T.bucket, "airflow-dev-ml").state.arn;
        const policy = statementsBySid(run.get(T.rolePolicy, "airflow-dev-training-policy").inputs.policy);
        expect(policy.ReadMlData.Resource).to.include(`${bucketArn}/checkpoints/*`);
        expect(policy.WriteMlData.Resource).to.include(`${bucketArn}/checkpoints/*`);
        const rules = run.get(T.lifecycle, "airflow-dev-ml-lifecycle").inputs.rules;
        expect(rules.find((r: any) => r.id === "expire-checkpoints").filter).to.deep.equal({ prefix: "checkpoints/" });
    });

    it("defaults the component's max wait to twice the max runtime", async () => {
        const run = await runWith("dev", {}, () => {
            new SageMakerTraining("ml", {
                environment: "dev",
                airflowRoleName: "role",
                training: { maxRuntimeSeconds: 1800, spot: { enabled: true } },
            });
            return {};
        });
        expect(variableOf(run, "ml")).to.include({ use_spot: true, max_runtime_seconds: 1800, max_wait_seconds: 3600 });
    });

    it("hands on-demand jobs a max wait equal to the max runtime", async () => {
        const run = await runMl("dev", { "airflow:mlSpotTraining": false, "airflow:mlMaxWaitSeconds": 9999 });
        expect(variableOf(run, "airflow-dev")).to.include({
            use_spot: false,
            max_runtime_seconds: 3600,
            max_wait_seconds: 3600,
        });
    });
});

describe("ML training configuration errors", () => {
    // What SageMaker offers, from botocore's SageMaker model (config/aws-data/instance-types.json).
    const from = (what: string, n: number) =>
        `an instance type SageMaker offers for ${what} (${n} in config/aws-data/instance-types.json of ${AWS_DATA_SOURCE.generated}`;
    const training = from("training jobs", SAGEMAKER_TRAINING_INSTANCE_TYPES.length);
    const transform = from("batch transform jobs", SAGEMAKER_TRANSFORM_INSTANCE_TYPES.length);
    const format = (what: string) =>
        `an instance type SageMaker offers for ${what}, such as "ml.m5.large" or "ml.p3.2xlarge" (checked against config/aws-data/instance-types.json, from botocore's SageMaker model)`;
    const cases: [string, Record<string, unknown>, string][] = [
        [
            "an EC2 instance type without the ml. prefix",
            { "airflow:mlInstanceType": "p3.2xlarge" },
            `airflow:mlInstanceType must be ${format("training jobs")}, got "p3.2xlarge"`,
        ],
        [
            "a GPU size that does not exist (ml.p3.large)",
            { "airflow:mlInstanceType": "ml.p3.large" },
            `airflow:mlInstanceType must be ${training}; ml.p3 comes in "ml.p3.16xlarge", "ml.p3.2xlarge", "ml.p3.8xlarge"), got "ml.p3.large"`,
        ],
        [
            "an instance size that does not exist",
            { "airflow:mlInstanceType": "ml.m5.huge" },
            `airflow:mlInstanceType must be ${training}; ml.m5 comes in "ml.m5.12xlarge", "ml.m5.24xlarge", "ml.m5.2xlarge", "ml.m5.4xlarge", "ml.m5.large", "ml.m5.xlarge"), got "ml.m5.huge"`,
        ],
        [
            "a transform instance type that is not an ML type",
            { "airflow:mlTransformInstanceType": "m5.xlarge" },
            `airflow:mlTransformInstanceType must be ${format("batch transform jobs")}, got "m5.xlarge"`,
        ],
        [
            "a transform instance type SageMaker offers for training only",
            { "airflow:mlTransformInstanceType": "ml.p4d.24xlarge" },
            `airflow:mlTransformInstanceType must be ${transform}; SageMaker offers ml.p4d.24xlarge for training jobs only), got "ml.p4d.24xlarge"`,
        ],
        [
            "a max runtime of 0",
            { "airflow:mlMaxRuntimeSeconds": 0 },
            "airflow:mlMaxRuntimeSeconds must be a whole number from 1 to 2419200 (28 days), got 0",
        ],
        [
            "a max runtime beyond 28 days",
            { "airflow:mlMaxRuntimeSeconds": 2419201 },
            "airflow:mlMaxRuntimeSeconds must be a whole number from 1 to 2419200 (28 days), got 2419201",
        ],
        [
            "a fractional max runtime",
            { "airflow:mlMaxRuntimeSeconds": 3600.5 },
            "airflow:mlMaxRuntimeSeconds must be a whole number from 1 to 2419200 (28 days), got 3600.5",
        ],
        [
            "a volume of 0 GB",
            { "airflow:mlVolumeSizeGb": 0 },
            "airflow:mlVolumeSizeGb must be a whole number from 1 to 16384, got 0",
        ],
        [
            "a volume beyond 16 TiB",
            { "airflow:mlVolumeSizeGb": 20000 },
            "airflow:mlVolumeSizeGb must be a whole number from 1 to 16384, got 20000",
        ],
        [
            "a volume size that is not a number",
            { "airflow:mlVolumeSizeGb": "50GB" },
            'airflow:mlVolumeSizeGb must be a whole number from 1 to 16384, got "50GB"',
        ],
        [
            "spot training whose max wait is shorter than its max runtime",
            { "airflow:mlSpotTraining": true, "airflow:mlMaxRuntimeSeconds": 7200, "airflow:mlMaxWaitSeconds": 3600 },
            "airflow:mlMaxWaitSeconds must be at least airflow:mlMaxRuntimeSeconds (7200) when airflow:mlSpotTraining is true (the wait for spot capacity counts against it), got 3600",
        ],
        [
            "a training image tagged latest",
            { "airflow:mlImageUri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:latest" },
            'airflow:mlImageUri must be empty (the built-in XGBoost image of the stack\'s region) or an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository> pinned with :<tag> (not latest) or @sha256:<digest>, got "123456789012.dkr.ecr.us-east-1.amazonaws.com/trainer:latest"',
        ],
        [
            "a training image outside ECR",
            { "airflow:mlImageUri": "docker.io/library/python:3.12" },
            'airflow:mlImageUri must be empty (the built-in XGBoost image of the stack\'s region) or an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository> pinned with :<tag> (not latest) or @sha256:<digest>, got "docker.io/library/python:3.12"',
        ],
        [
            "21 instances per job",
            { "airflow:mlInstanceCount": 21 },
            "airflow:mlInstanceCount must be a whole number from 1 to 20, got 21",
        ],
    ];
    itRejectsEach(cases);

    it("accepts spot training whose max wait equals its max runtime, and any max wait without spot", () => {
        for (const overrides of [
            { "airflow:mlSpotTraining": true, "airflow:mlMaxRuntimeSeconds": 3600, "airflow:mlMaxWaitSeconds": 3600 },
            { "airflow:mlSpotTraining": false, "airflow:mlMaxRuntimeSeconds": 7200, "airflow:mlMaxWaitSeconds": 60 },
        ]) {
            useStack("dev", overrides);
            expect(() => loadConfig()).not.to.throw();
        }
    });

    it("accepts a digest-pinned image and the GPU and Trainium families", () => {
        useStack("dev", {
            "airflow:mlImageUri": `123456789012.dkr.ecr.us-east-1.amazonaws.com/team/trainer@sha256:${"ab".repeat(32)}`,
            "airflow:mlInstanceType": "ml.trn1.32xlarge",
            "airflow:mlTransformInstanceType": "ml.g5.xlarge",
        });
        expect(loadConfig().ml.training.instanceType).to.equal("ml.trn1.32xlarge");
    });
});

describe("SageMakerTraining arguments", () => {
    before(() => useStack("dev"));
    const base: SageMakerTrainingArgs = { environment: "dev", airflowRoleName: "airflow-role" };
    const cases: [string, Partial<SageMakerTrainingArgs>, string][] = [
        [
            "training.instanceType",
            { training: { instanceType: "p3.2xlarge" } },
            "SageMakerTraining bad: training.instanceType must be an instance type SageMaker offers for training jobs (no p3.2xlarge class is offered;",
        ],
        [
            "training.maxRuntimeSeconds",
            { training: { maxRuntimeSeconds: 0 } },
            "SageMakerTraining bad: training.maxRuntimeSeconds must be a whole number from 1 to 2419200, got 0",
        ],
        [
            "training.volumeSizeGb",
            { training: { volumeSizeGb: 16385 } },
            "SageMakerTraining bad: training.volumeSizeGb must be a whole number from 1 to 16384, got 16385",
        ],
        [
            "training.spot.maxWaitSeconds",
            { training: { maxRuntimeSeconds: 3600, spot: { enabled: true, maxWaitSeconds: 600 } } },
            "SageMakerTraining bad: training.spot.maxWaitSeconds must be a whole number from training.maxRuntimeSeconds (3600) to 2419200 with spot training, got 600",
        ],
        [
            "transformInstanceType",
            { transformInstanceType: "ml.m5" },
            "SageMakerTraining bad: transformInstanceType must be an instance type SageMaker offers for batch transform jobs (ml.m5 comes in",
        ],
        [
            "imageUri",
            { imageUri: "trainer:1.0" },
            'SageMakerTraining bad: imageUri must be an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository> pinned with :<tag> (not latest) or @sha256:<digest>, got "trainer:1.0"',
        ],
        [
            "vpc.subnetIds",
            { vpc: { vpcId: "vpc-1", subnetIds: [] } },
            "SageMakerTraining bad: vpc.subnetIds must be a list of 1 to 16 subnet ids, got []",
        ],
        [
            "airflowRoleName",
            { airflowRoleName: "" },
            'SageMakerTraining bad: airflowRoleName must be the name of the IAM role Airflow\'s tasks run as, got ""',
        ],
        [
            "secretRecoveryWindowDays",
            { secretRecoveryWindowDays: 3 },
            "SageMakerTraining bad: secretRecoveryWindowDays must be 0 or a whole number from 7 to 30, got 3",
        ],
    ];
    for (const [field, args, message] of cases) {
        it(`throws a ResourceError naming ${field} and its allowed values`, () => {
            expect(() => new SageMakerTraining("bad", { ...base, ...args })).to.throw(pulumi.ResourceError, message);
        });
    }
});

describe("ML training in the program (index.ts)", () => {
    const ML_OUTPUTS = ["mlTrainingRoleArn", "mlBucket", "mlImageUri", "mlVariableNames", "mlVariableSecretNames"];

    it("exports the ML outputs on a stack exactly when it creates SageMakerTraining there", async () => {
        // index.ts creates the component once the active layout provides Airflow's role (the Celery
        // worker task role or the MWAA execution role); it never invents one.
        for (const stack of STACKS) {
            const run = await runStack(stack);
            const created = run.ofType(T.component).length === 1;
            for (const output of ML_OUTPUTS) {
                expect(run.outputs[output] !== undefined, `${stack} ${output}`).to.equal(created);
            }
        }
    });

    it("attaches Airflow's SageMaker policy only to a role the stack itself creates", async () => {
        for (const stack of STACKS) {
            const run = await runStack(stack);
            const roles = run.ofType(T.role).flatMap((r) => [r.state.name, r.state.id]);
            for (const policy of run.ofType(T.rolePolicy).filter((p) => p.name.endsWith("-airflow-sagemaker"))) {
                expect(roles, `${stack} ${policy.name}`).to.include(policy.inputs.role);
                expect(policy.inputs.role).not.to.equal(
                    run.get(T.role, policy.name.replace(/-airflow-sagemaker$/, "-training-role")).state.name,
                );
            }
        }
    });

    it("grants no wildcard action in any IAM policy of any stack", async () => {
        for (const stack of STACKS) {
            const run = await runStack(stack);
            for (const r of run.ofType(T.rolePolicy)) expectNoWildcardActions(r.inputs.policy, `${stack} ${r.name}`);
            for (const r of run.ofType(T.role))
                expectNoWildcardActions(r.inputs.assumeRolePolicy, `${stack} ${r.name}`);
        }
    });
});

describe("ML training limits the DAG sets", () => {
    const reject = (overrides: Record<string, unknown>): readonly string[] => {
        useStack("dev", overrides);
        try {
            loadConfig();
            return [];
        } catch (err) {
            return (err as ConfigError).errors;
        }
    };

    it("rejects a spot max wait longer than the ml_training_pipeline DAG can follow", () => {
        expect(
            reject({
                "airflow:mlSpotTraining": true,
                "airflow:mlMaxRuntimeSeconds": 3600,
                "airflow:mlMaxWaitSeconds": 86400,
            }),
        ).to.deep.equal([
            "airflow:mlMaxWaitSeconds must be at most 42300 (the ml_training_pipeline DAG's train_model task times out after 12 hours and keeps 15 minutes for the steps around the job), got 86400",
        ]);
    });

    it("rejects an on-demand max runtime longer than the DAG can follow, and accepts the limit itself", () => {
        expect(reject({ "airflow:mlSpotTraining": false, "airflow:mlMaxRuntimeSeconds": 43200 })).to.deep.equal([
            "airflow:mlMaxRuntimeSeconds must be at most 42300 (the ml_training_pipeline DAG's train_model task times out after 12 hours and keeps 15 minutes for the steps around the job), got 43200",
        ]);
        expect(reject({ "airflow:mlSpotTraining": false, "airflow:mlMaxRuntimeSeconds": 42300 })).to.deep.equal([]);
    });
});
