import { expect } from "chai";
import { ConfigError, loadConfig } from "../config";
import {
    AWS_DATA_SOURCE,
    elastiCacheNodeTypes,
    rdsPostgresClasses,
    SAGEMAKER_TRAINING_INSTANCE_TYPES,
    SAGEMAKER_TRANSFORM_INSTANCE_TYPES,
} from "../config/aws-data";
import { SUPPORTED_AIRFLOW_VERSIONS } from "../config/versions";
import { useStack } from "./harness/program";
import { configErrors } from "./harness/config";

/** Where the instance-type checks' data comes from, as the messages name it. */
const DATA = `config/aws-data/instance-types.json of ${AWS_DATA_SOURCE.generated}`;
const families = (classes: readonly string[]) =>
    [...new Set(classes.map((c) => c.split(".").slice(0, 2).join(".")))].sort().join(", ");
/** A job image the network can pull without NAT, and the endpoints the Celery layout and the DAGs need. */
const JOB_ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/jobs:1";
/** The metrics sidecar's image copied into the region's ECR (what a stack without NAT must use). */
const AGENT_ECR = "123456789012.dkr.ecr.us-east-1.amazonaws.com/aws-otel-collector:v0.40.0";
const CELERY_ENDPOINTS = ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "monitoring", "ecs", "sagemaker.api"];

describe("config loader", () => {
    const badConfigs: [string, string, Record<string, unknown>, string][] = [
        [
            "dev",
            "an unknown layout",
            { "airflow:layout": "k8s" },
            'airflow:layout must be "celery" or "mwaa", got "k8s"',
        ],
        [
            "dev",
            "an Airflow version no layout runs",
            { "airflow:airflowVersion": "1.10.12" },
            `airflow:airflowVersion must be one of ${SUPPORTED_AIRFLOW_VERSIONS.map((v) => `"${v}"`).join(", ")}, got "1.10.12"`,
        ],
        [
            "dev",
            "a version that was never released",
            { "airflow:airflowVersion": "3.3.9" },
            `airflow:airflowVersion must be one of ${SUPPORTED_AIRFLOW_VERSIONS.map((v) => `"${v}"`).join(", ")}, got "3.3.9"`,
        ],
        ["dev", "an AZ count of 1", { "airflow:azCount": 1 }, "airflow:azCount must be 2 or 3, got 1"],
        [
            "dev",
            "an AZ count that is not a number",
            { "airflow:azCount": "two" },
            'airflow:azCount must be 2 or 3, got "two"',
        ],
        [
            "dev",
            "an unknown NAT strategy",
            { "airflow:natStrategy": "shared" },
            'airflow:natStrategy must be one of "single", "perAz", "none", got "shared"',
        ],
        [
            "dev",
            "a public VPC range",
            { "airflow:vpcCidr": "8.8.0.0/16" },
            'airflow:vpcCidr must be an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address, got "8.8.0.0/16"',
        ],
        [
            "dev",
            "a VPC too small for the subnet plan",
            { "airflow:vpcCidr": "10.0.0.0/24" },
            'airflow:vpcCidr must be an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address, got "10.0.0.0/24"',
        ],
        [
            "dev",
            "a VPC CIDR with host bits",
            { "airflow:vpcCidr": "10.0.0.1/16" },
            'airflow:vpcCidr must be an IPv4 network in a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16) with a prefix from /16 to /21, written with its network address, got "10.0.0.1/16"',
        ],
        [
            "dev",
            "an unknown interface endpoint",
            { "airflow:interfaceEndpoints": ["ecr.api", "s3"] },
            'airflow:interfaceEndpoints must be a list without repeats of one of "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "sts", "monitoring", "kms", "ecs", "sagemaker.api", "ssmmessages", got ["ecr.api","s3"]',
        ],
        [
            "dev",
            "a repeated interface endpoint",
            { "airflow:interfaceEndpoints": ["logs", "logs"] },
            'airflow:interfaceEndpoints must be a list without repeats of one of "ecr.api", "ecr.dkr", "logs", "sqs", "secretsmanager", "sts", "monitoring", "kms", "ecs", "sagemaker.api", "ssmmessages", got ["logs","logs"]',
        ],
        [
            "dev",
            "a flow log retention CloudWatch does not offer",
            { "airflow:flowLogsRetentionDays": 10 },
            "airflow:flowLogsRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 10",
        ],
        [
            "dev",
            "an allow-list entry that is not a CIDR",
            { "airflow:webAllowedCidrs": ["203.0.113.7"] },
            'airflow:webAllowedCidrs must be a non-empty list of IPv4 or IPv6 CIDR blocks written with their network address, got ["203.0.113.7"]',
        ],
        [
            "dev",
            "an empty allow-list",
            { "airflow:webAllowedCidrs": [] },
            "airflow:webAllowedCidrs must be a non-empty list of IPv4 or IPv6 CIDR blocks written with their network address, got []",
        ],
        [
            "dev",
            "an environment name with capitals",
            { "airflow:environment": "Dev" },
            'airflow:environment must be 2 to 16 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen, got "Dev"',
        ],
        [
            "dev",
            "a production flag that is not a boolean",
            { "airflow:production": "yes" },
            'airflow:production must be true or false, got "yes"',
        ],
        [
            "dev",
            "a tag in the reserved aws: namespace",
            { "airflow:tags": { "aws:owner": "me" } },
            'airflow:tags must be a map of tag names (1 to 128 characters, not starting with "aws:") to string values of up to 256 characters, got {"aws:owner":"me"}',
        ],
        [
            "dev",
            "a misspelt key",
            { "airflow:natStrategyy": "single" },
            "airflow:natStrategyy is not a configuration key of this project (known keys are listed in README.md and Pulumi.yaml)",
        ],
        [
            "dev",
            "no NAT gateway without the endpoints the Celery layout needs",
            {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": ["ecr.api", "ecr.dkr"],
                "airflow:jobImage": JOB_ECR,
                "airflow:metricsAgentImage": AGENT_ECR,
            },
            'airflow:interfaceEndpoints must include "ecr.api", "ecr.dkr", "logs", "secretsmanager", "monitoring", "ecs", "sagemaker.api" when airflow:natStrategy is "none" and airflow:layout is "celery" (private subnets have no other way to reach those AWS services), got ["ecr.api","ecr.dkr"], missing "logs": every container logs to CloudWatch Logs; "secretsmanager": Fargate reads Airflow\'s secrets at start; "monitoring": the control service publishes the queue-depth metric the worker pools scale on; "ecs": the fargate_parallel_tasks DAG runs and watches ECS tasks; "sagemaker.api": the ml_training_pipeline DAG starts and watches SageMaker jobs',
        ],
        [
            "dev",
            "no NAT gateway without the monitoring endpoint the queue-depth metric needs",
            {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs", "secretsmanager", "ecs", "sagemaker.api"],
                "airflow:jobImage": JOB_ECR,
                "airflow:metricsAgentImage": AGENT_ECR,
            },
            'airflow:interfaceEndpoints must include "ecr.api", "ecr.dkr", "logs", "secretsmanager", "monitoring", "ecs", "sagemaker.api" when airflow:natStrategy is "none" and airflow:layout is "celery" (private subnets have no other way to reach those AWS services), got ["ecr.api","ecr.dkr","logs","secretsmanager","ecs","sagemaker.api"], missing "monitoring": the control service publishes the queue-depth metric the worker pools scale on',
        ],
        [
            "dev",
            "no NAT gateway without the SQS endpoint of an SQS broker and the SSM endpoint of ECS Exec",
            {
                "airflow:natStrategy": "none",
                "airflow:broker": "sqs",
                "airflow:flower": false,
                "airflow:ecsExec": true,
                "airflow:interfaceEndpoints": [
                    "ecr.api",
                    "ecr.dkr",
                    "logs",
                    "secretsmanager",
                    "monitoring",
                    "ecs",
                    "sagemaker.api",
                ],
                "airflow:jobImage": JOB_ECR,
                "airflow:metricsAgentImage": AGENT_ECR,
            },
            'airflow:interfaceEndpoints must include "ecr.api", "ecr.dkr", "logs", "secretsmanager", "monitoring", "sqs", "ssmmessages", "ecs", "sagemaker.api" when airflow:natStrategy is "none" and airflow:layout is "celery" (private subnets have no other way to reach those AWS services), got ["ecr.api","ecr.dkr","logs","secretsmanager","monitoring","ecs","sagemaker.api"], missing "sqs": SQS is the Celery broker (airflow:broker); "ssmmessages": ECS Exec (airflow:ecsExec) opens SSM sessions',
        ],
        [
            "prod",
            "no NAT gateway without the endpoints MWAA and the DAGs need",
            {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": ["ecr.api", "ecr.dkr", "logs"],
                "airflow:jobImage": JOB_ECR,
            },
            'airflow:interfaceEndpoints must include "ecr.api", "ecr.dkr", "logs", "monitoring", "sqs", "kms", "secretsmanager", "ecs", "sagemaker.api" when airflow:natStrategy is "none" and airflow:layout is "mwaa" (private subnets have no other way to reach those AWS services), got ["ecr.api","ecr.dkr","logs"], missing "monitoring": MWAA publishes Airflow\'s metrics to CloudWatch; "sqs": MWAA\'s Celery broker is SQS; "kms": MWAA\'s queues are encrypted with KMS; "secretsmanager": the Variables and Connections backend reads Secrets Manager; "ecs": the fargate_parallel_tasks DAG runs and watches ECS tasks; "sagemaker.api": the ml_training_pipeline DAG starts and watches SageMaker jobs',
        ],
        [
            "dev",
            "no NAT gateway with a job image on the internet (the default, public.ecr.aws)",
            {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": CELERY_ENDPOINTS,
                "airflow:metricsAgentImage": AGENT_ECR,
            },
            'airflow:jobImage must be an image in a private ECR registry of us-east-1 (<account>.dkr.ecr.us-east-1.amazonaws.com/...) when airflow:natStrategy is "none": the Fargate job task pulls it through the ECR endpoints, and nothing else is reachable without NAT, got "public.ecr.aws/docker/library/python:3.12-slim"',
        ],
        [
            "dev",
            "no NAT gateway with the metrics sidecar's image on the internet (the default, ECR Public)",
            {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": CELERY_ENDPOINTS,
                "airflow:jobImage": JOB_ECR,
            },
            'airflow:metricsAgentImage must be an image in a private ECR registry of us-east-1 (<account>.dkr.ecr.us-east-1.amazonaws.com/...) when airflow:natStrategy is "none": every Celery task\'s metrics sidecar pulls it through the ECR endpoints, and nothing else is reachable without NAT, got "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"',
        ],
        [
            "dev",
            "no NAT gateway with an Airflow image outside the region's ECR",
            {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": CELERY_ENDPOINTS,
                "airflow:jobImage": JOB_ECR,
                "airflow:metricsAgentImage": AGENT_ECR,
                "airflow:image": "ghcr.io/me/airflow:3.0.6",
            },
            'airflow:image must be an image in a private ECR registry of us-east-1 (<account>.dkr.ecr.us-east-1.amazonaws.com/...) when airflow:natStrategy is "none": the Airflow services pull it through the ECR endpoints, and nothing else is reachable without NAT, got "ghcr.io/me/airflow:3.0.6"',
        ],
        [
            "dev",
            "an RDS class that does not exist (db.m5.micro)",
            { "airflow:dbInstanceClass": "db.m5.micro" },
            `airflow:dbInstanceClass must be an RDS instance class offered for PostgreSQL 16 (airflow:dbEngineVersion) in us-east-1 (${rdsPostgresClasses("us-east-1", "16").length} in ${DATA}; db.m5 comes in "db.m5.12xlarge", "db.m5.16xlarge", "db.m5.24xlarge", "db.m5.2xlarge", "db.m5.4xlarge", "db.m5.8xlarge", "db.m5.large", "db.m5.xlarge"), got "db.m5.micro"`,
        ],
        [
            "dev",
            "an RDS class PostgreSQL 16 cannot run on (db.t2.micro, previous generation)",
            { "airflow:dbInstanceClass": "db.t2.micro" },
            `airflow:dbInstanceClass must be an RDS instance class offered for PostgreSQL 16 (airflow:dbEngineVersion) in us-east-1 (${rdsPostgresClasses("us-east-1", "16").length} in ${DATA}; no db.t2 class is offered; the families are ${families(rdsPostgresClasses("us-east-1", "16"))}), got "db.t2.micro"`,
        ],
        [
            "dev",
            "an ElastiCache node type that does not exist",
            { "airflow:brokerNodeType": "cache.t4g.huge" },
            `airflow:brokerNodeType must be an ElastiCache node type offered in us-east-1 (${elastiCacheNodeTypes("us-east-1").length} in ${DATA}; cache.t4g comes in "cache.t4g.medium", "cache.t4g.micro", "cache.t4g.small"), got "cache.t4g.huge"`,
        ],
        [
            "dev",
            "a SageMaker type that does not exist (ml.p3.large)",
            { "airflow:mlInstanceType": "ml.p3.large" },
            `airflow:mlInstanceType must be an instance type SageMaker offers for training jobs (${SAGEMAKER_TRAINING_INSTANCE_TYPES.length} in ${DATA}; ml.p3 comes in "ml.p3.16xlarge", "ml.p3.2xlarge", "ml.p3.8xlarge"), got "ml.p3.large"`,
        ],
        [
            "dev",
            "a transform instance type SageMaker offers for training only",
            { "airflow:mlTransformInstanceType": "ml.p5.48xlarge" },
            `airflow:mlTransformInstanceType must be an instance type SageMaker offers for batch transform jobs (${SAGEMAKER_TRANSFORM_INSTANCE_TYPES.length} in ${DATA}; SageMaker offers ml.p5.48xlarge for training jobs only), got "ml.p5.48xlarge"`,
        ],
        [
            "dev",
            "an ACM certificate of another region",
            { "airflow:certificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123" },
            'airflow:certificateArn must be in the stack\'s region us-east-1 (aws:region, partition aws): a load balancer uses ACM certificates of its own region only, got "arn:aws:acm:eu-west-1:123456789012:certificate/abc-123"',
        ],
        [
            "dev",
            "an ACM certificate of an account the stack does not deploy to (aws:allowedAccountIds)",
            {
                "aws:allowedAccountIds": ["111111111111"],
                "airflow:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/abc-123",
            },
            'airflow:certificateArn must belong to an account of aws:allowedAccountIds (111111111111): a load balancer uses ACM certificates of its own account only, got account 123456789012 in "arn:aws:acm:us-east-1:123456789012:certificate/abc-123"',
        ],
        [
            "dev",
            "a KMS key of another region for the artifacts bucket",
            {
                "airflow:artifactsKmsKeyArn":
                    "arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            },
            "airflow:artifactsKmsKeyArn must be in the stack's region us-east-1 (aws:region, partition aws): S3 encrypts a bucket only with a KMS key of the bucket's region, got \"arn:aws:kms:us-west-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"",
        ],
        [
            "dev",
            "a KMS key ARN of another partition",
            {
                "airflow:artifactsKmsKeyArn":
                    "arn:aws-cn:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            },
            "airflow:artifactsKmsKeyArn must be in the stack's region us-east-1 (aws:region, partition aws): S3 encrypts a bucket only with a KMS key of the bucket's region, got \"arn:aws-cn:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\"",
        ],
        [
            "dev",
            "a training image in another region's ECR",
            { "airflow:mlImageUri": "123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/trainer:1.0" },
            "airflow:mlImageUri must be an ECR image of the stack's region us-east-1 (aws:region): SageMaker runs training images from its own region's registries only, got \"123456789012.dkr.ecr.eu-central-1.amazonaws.com/team/trainer:1.0\"",
        ],
        [
            "dev",
            "tags that the program sets itself (Production, Environment, Name)",
            { "airflow:tags": { Production: "true", Environment: "x", Name: "n", CostCenter: "a" } },
            'airflow:tags must not set "Environment", "Production", "Name" (the program sets Project, Environment, Production, ManagedBy, Name itself and would overwrite them), got {"Production":"true","Environment":"x","Name":"n","CostCenter":"a"}',
        ],
        [
            "dev",
            "provider default tags that the program's own tags would overwrite (aws:defaultTags)",
            { "aws:defaultTags": { tags: { Environment: "sandbox", Name: "n", Owner: "data" } } },
            'aws:defaultTags must not set "Environment", "Name" in its tags (the program sets Project, Environment, Production, ManagedBy, Name on its resources, and a resource\'s own tags override the provider\'s default tags), got {"Environment":"sandbox","Name":"n","Owner":"data"}',
        ],
        [
            "dev",
            "more tags than AWS allows on a resource, counting the provider's default tags",
            {
                "airflow:tags": Object.fromEntries([...Array(30).keys()].map((i) => [`t${i}`, "x"])),
                "aws:defaultTags": { tags: Object.fromEntries([...Array(20).keys()].map((i) => [`d${i}`, "x"])) },
            },
            "airflow:tags must have at most 45 tags together with aws:defaultTags (AWS allows 50 per resource and the program adds 5), got 30 and 20 default tags (50 distinct)",
        ],
        [
            "dev",
            "tags with characters AWS refuses",
            { "airflow:tags": { "team#1": "data", Owner: "a,b" } },
            'airflow:tags must use only letters, digits, spaces and _ . : / = + - @ in tag names and values (AWS\'s tag character set), got "team#1": "data", "Owner": "a,b"',
        ],
        [
            "dev",
            "more tags than AWS allows on a resource with the program's own",
            { "airflow:tags": Object.fromEntries([...Array(46).keys()].map((i) => [`t${i}`, "x"])) },
            "airflow:tags must have at most 45 tags (AWS allows 50 per resource and the program adds 5), got 46",
        ],
        [
            "dev",
            "an environment name RDS cannot put in an identifier (two hyphens)",
            { "airflow:environment": "dev--1" },
            'airflow:environment must not have two hyphens in a row (it is part of the RDS instance identifier airflow-<environment>-db, which cannot), got "dev--1"',
        ],
    ];

    for (const [stack, what, overrides, message] of badConfigs) {
        it(`rejects ${what} with its exact message`, () => {
            expect(configErrors(stack, overrides)).to.deep.equal([message]);
        });
    }

    it("reports every invalid value at once, not just the first", () => {
        const errors = configErrors("dev", {
            "airflow:layout": "k8s",
            "airflow:azCount": 5,
            "airflow:natStrategy": "shared",
            "airflow:unknownThing": "x",
        });
        expect(errors).to.deep.equal([
            "airflow:unknownThing is not a configuration key of this project (known keys are listed in README.md and Pulumi.yaml)",
            'airflow:layout must be "celery" or "mwaa", got "k8s"',
            "airflow:azCount must be 2 or 3, got 5",
            'airflow:natStrategy must be one of "single", "perAz", "none", got "shared"',
        ]);
    });

    it("skips a cross-key rule whose keys are already reported invalid", () => {
        const errors = configErrors("dev", { "airflow:layout": "k8s", "airflow:natStrategy": "none" });
        expect(errors).to.deep.equal(['airflow:layout must be "celery" or "mwaa", got "k8s"']);
    });

    it("throws one ConfigError whose message lists each error on its own line", () => {
        useStack("dev", { "airflow:layout": "k8s", "airflow:azCount": 7 });
        expect(() => loadConfig()).to.throw(
            ConfigError,
            'Invalid configuration for stack "dev" (2 errors):\n' +
                '  - airflow:layout must be "celery" or "mwaa", got "k8s"\n' +
                "  - airflow:azCount must be 2 or 3, got 7",
        );
    });

    it("accepts no NAT gateway when the layout's required endpoints are all there", () => {
        expect(
            configErrors("dev", {
                "airflow:natStrategy": "none",
                "airflow:interfaceEndpoints": CELERY_ENDPOINTS,
                "airflow:jobImage": JOB_ECR,
                "airflow:metricsAgentImage": AGENT_ECR,
            }),
        ).to.deep.equal([]);
    });

    it("fills every unset key from its default and derives the environment from the stack name", () => {
        useStack("staging", { "airflow:environment": undefined, "airflow:interfaceEndpoints": undefined });
        const config = loadConfig();
        expect(config.environment).to.equal("staging");
        expect(config.network.interfaceEndpoints).to.deep.equal([]);
        expect(config.network.cidrBlock).to.equal("10.40.0.0/16");
        expect(config.network.webAllowedCidrs).to.deep.equal(["0.0.0.0/0"]);
    });

    it("returns a deeply frozen object with the standard tags merged over the user's", () => {
        useStack("dev");
        const config = loadConfig();
        expect(Object.isFrozen(config)).to.equal(true);
        expect(Object.isFrozen(config.network)).to.equal(true);
        expect(Object.isFrozen(config.network.webAllowedCidrs)).to.equal(true);
        expect(Object.isFrozen(config.tags)).to.equal(true);
        expect(config.tags).to.deep.equal({
            CostCenter: "data-platform",
            Project: "airflow",
            Environment: "dev",
            Production: "false",
            ManagedBy: "pulumi",
        });
    });

    it("lets a Celery stack run a released Airflow that MWAA does not, and an MWAA stack only MWAA's", () => {
        useStack("staging", { "airflow:airflowVersion": "3.3.2" });
        expect(loadConfig().airflowVersion).to.equal("3.3.2");
        useStack("prod", { "airflow:airflowVersion": "3.2.1" });
        expect(loadConfig().airflowVersion).to.equal("3.2.1");
        useStack("prod", { "airflow:airflowVersion": "3.3.2" });
        expect(() => loadConfig()).to.throw(ConfigError, "(the versions Amazon MWAA runs)");
    });

    it("derives the Airflow major version from the version", () => {
        useStack("dev", { "airflow:airflowVersion": "2.10.3" });
        expect(loadConfig().airflowMajor).to.equal(2);
        useStack("dev");
        expect(loadConfig().airflowMajor).to.equal(3);
    });
});
