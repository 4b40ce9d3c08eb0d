// Table tests of SageMakerTraining's exported functions, called directly (no program run).
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { validateArgs } from "../components/sagemaker-args";
import { parseConfig } from "../config";
import {
    airflowSageMakerStatements,
    mlArns,
    mlTrainingVariable,
    MlTrainingSettings,
    trainingRoleStatements,
    triggererSageMakerStatements,
} from "../components/sagemaker-policy";

const arns = mlArns({
    partition: "aws",
    region: "us-east-1",
    account: "123456789012",
    bucketArn: "arn:aws:s3:::ml",
    jobNamePrefix: "airflow-dev",
});
const settings = (spot: boolean): MlTrainingSettings => ({
    environment: "dev",
    training: {
        instanceType: "ml.m5.large",
        instanceCount: 1,
        volumeSizeGb: 30,
        maxRuntimeSeconds: 3600,
        spot: { enabled: spot, maxWaitSeconds: 7200 },
        networkIsolation: false,
    },
    transformInstanceType: "ml.m5.xlarge",
});

describe("SageMakerTraining statements", () => {
    const cases: [string, string[]][] = [
        [
            "without a VPC",
            [
                "ListMlBucketPrefixes",
                "ReadMlData",
                "WriteMlData",
                "WriteJobLogs",
                "PublishJobMetrics",
                "GetEcrAuthorizationToken",
                "PullTrainingImage",
            ],
        ],
        [
            "in VPC mode",
            [
                "ListMlBucketPrefixes",
                "ReadMlData",
                "WriteMlData",
                "WriteJobLogs",
                "PublishJobMetrics",
                "GetEcrAuthorizationToken",
                "PullTrainingImage",
                "DescribeVpcForJobs",
                "CreateJobNetworkInterfaces",
                "ManageJobNetworkInterfaces",
            ],
        ],
    ];
    for (const [mode, sids] of cases) {
        it(`gives the training role ${sids.length} statements ${mode}`, () => {
            const vpc =
                mode === "in VPC mode" ? { region: "us-east-1", subnetIds: ["s-1"], securityGroupId: "sg" } : undefined;
            expect(trainingRoleStatements(arns, "arn:repo", vpc).map((s) => s.Sid)).to.deep.equal(sids);
        });
    }

    it("lets Airflow start only the configured instance types, for at most the configured runtime", () => {
        const statements = airflowSageMakerStatements(arns, {
            trainingInstanceType: "ml.m5.large",
            maxRuntimeSeconds: 3600,
            transformInstanceType: "ml.m5.xlarge",
            trainingRoleArn: "arn:role",
        });
        const bySid = Object.fromEntries(statements.map((s) => [s.Sid, s]));
        expect(bySid.StartTrainingJobs.Condition).to.deep.equal({
            "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": ["ml.m5.large"] },
            NumericLessThanEquals: { "sagemaker:MaxRuntimeInSeconds": "3600" },
        });
        expect(bySid.StartTransformJobs.Condition).to.deep.equal({
            "ForAllValues:StringEquals": { "sagemaker:InstanceTypes": ["ml.m5.xlarge"] },
        });
        expect(bySid.PassTrainingRoleToSageMaker).to.include({ Action: "iam:PassRole", Resource: "arn:role" });
    });

    it("lets the triggerer only describe jobs and read their logs", () => {
        expect(triggererSageMakerStatements(arns).flatMap((s) => s.Action)).to.deep.equal([
            "sagemaker:DescribeTrainingJob",
            "sagemaker:DescribeTransformJob",
            "logs:DescribeLogStreams",
            "logs:GetLogEvents",
            "logs:FilterLogEvents",
        ]);
    });
});

describe("the ml_training Variable", () => {
    const created = {
        region: "us-east-1",
        roleArn: "arn:role",
        imageUri: "img",
        bucket: "ml",
        jobNamePrefix: "airflow-dev",
        vpcConfig: null,
    };
    const cases: [boolean, number][] = [
        [false, 3600],
        [true, 7200],
    ];
    for (const [spot, maxWait] of cases) {
        it(`waits at most ${maxWait} s with spot ${spot ? "on" : "off"}`, () => {
            const v = mlTrainingVariable(settings(spot), created);
            expect([v.use_spot, v.max_wait_seconds]).to.deep.equal([spot, maxWait]);
            expect([v.input_prefix, v.output_prefix, v.checkpoint_prefix, v.batch_prefix]).to.deep.equal([
                "input/",
                "models/",
                "checkpoints/",
                "batch/",
            ]);
        });
    }
});

describe("SageMakerTraining's defaults", () => {
    it("are what a stack that sets no ml or storage key gets", () => {
        const config = parseConfig({ project: "airflow", stack: "dev1", config: { "aws:region": "us-east-1" } });
        const resolved = validateArgs(
            "airflow-dev1",
            { environment: "dev1", airflowRoleName: "airflow-role" },
            undefined as unknown as pulumi.Resource,
        );
        expect(resolved).to.deep.include({
            training: config.ml.training,
            transformInstanceType: config.ml.transformInstanceType,
            checkpointExpirationDays: config.ml.checkpointExpirationDays,
            batchExpirationDays: config.ml.batchExpirationDays,
            noncurrentVersionExpirationDays: config.storage.artifacts.noncurrentVersionExpirationDays,
            protectData: config.storage.protectData,
            secretRecoveryWindowDays: config.storage.secretRecoveryWindowDays,
        });
    });
});
