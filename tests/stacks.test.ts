import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { readFileSync } from "fs";
import * as path from "path";
import type { ConfigError } from "../config";
import { installMocks, promiseOf, ROOT, runProgram, runStack, stackFileConfig, STACKS } from "./harness/program";

describe("committed stacks", () => {
    const layouts = { dev: "celery", staging: "celery", prod: "mwaa" } as const;

    for (const stack of STACKS) {
        it(`loads the whole program for ${stack} from Pulumi.${stack}.yaml with the ${layouts[stack]} layout`, async () => {
            const run = await runStack(stack);
            expect(run.outputs.layout).to.equal(layouts[stack]);
            expect(run.outputs.environment).to.equal(stack);
            expect(run.outputs.airflowVersion).to.equal("3.3.1");
            expect(run.outputs.vpcId).to.equal(`airflow-${stack}-vpc-id`);
            expect(Object.keys(run.outputs.securityGroupIds as object).sort()).to.deep.equal([
                "broker",
                "database",
                "endpoints",
                "fileSystem",
                "loadBalancer",
                "services",
            ]);
        });
    }

    /** Resource types that take no tags in AWS (settings of another resource, or not AWS at all). */
    const UNTAGGABLE = new Set([
        "aws:ec2/route:Route",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketLogging:BucketLogging",
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:route53/record:Record",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:sqs/queuePolicy:QueuePolicy",
        "aws:efs/mountTarget:MountTarget",
        "aws:efs/backupPolicy:BackupPolicy",
        "aws:efs/fileSystemPolicy:FileSystemPolicy",
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:appautoscaling/policy:Policy",
        // Observability: filters, targets and policies of tagged rules, topics and log groups.
        "aws:cloudwatch/logMetricFilter:LogMetricFilter",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:cloudwatch/logResourcePolicy:LogResourcePolicy",
        "aws:cloudwatch/dashboard:Dashboard",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        // Deployed files: S3 allows 10 tags per object and bills them; the bucket carries the stack's tags.
        "aws:s3/bucketObjectv2:BucketObjectv2",
        // Application Auto Scaling scheduled actions take no tags (PutScheduledAction has no Tags).
        "aws:appautoscaling/scheduledAction:ScheduledAction",
    ]);

    for (const stack of STACKS) {
        it(`tags every taggable AWS resource of ${stack} with the stack's tags and its own Name`, async () => {
            const run = await runStack(stack);
            const taggable = run.resources.filter((r) => r.type.startsWith("aws:") && !UNTAGGABLE.has(r.type));
            expect(taggable.length).to.be.greaterThan(20);
            for (const r of taggable) {
                expect(r.inputs.tags, `${r.type} ${r.name}`).to.deep.include({
                    Project: "airflow",
                    Environment: stack,
                    Production: String(stack === "prod"),
                    ManagedBy: "pulumi",
                    CostCenter: "data-platform",
                    Name: r.name,
                });
            }
        });
    }

    it("pins one Airflow version in every stack file, so staging mirrors prod", () => {
        const versions = STACKS.map((s) => stackFileConfig(s)["airflow:airflowVersion"]);
        expect(new Set(versions).size).to.equal(1);
    });

    it("switches prod to the Celery layout and dev to MWAA with the one key airflow:layout", async () => {
        const prod = await runProgram("prod", { "airflow:layout": "celery" });
        expect(prod.outputs.layout).to.equal("celery");
        const dev = await runProgram("dev", { "airflow:layout": "mwaa" });
        expect(dev.outputs.layout).to.equal("mwaa");
    });

    it("stops the program with the config errors, not a stack trace, when a stack file is wrong", async () => {
        let error: unknown;
        try {
            await runProgram("dev", { "airflow:layout": "k8s" });
        } catch (err) {
            error = err;
        }
        // Each run loads the program afresh, so compare the class by name; RunError comes from @pulumi/pulumi.
        expect((error as Error).name).to.equal("ConfigError");
        expect(error).to.be.instanceOf(pulumi.RunError); // the CLI prints a RunError's message only
        expect((error as ConfigError).errors).to.deep.equal(['airflow:layout must be "celery" or "mwaa", got "k8s"']);
    });

    it("declares Node 22 for the program in package.json and .nvmrc", () => {
        const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
        expect(pkg.engines.node).to.equal(">=22.12.0");
        expect(readFileSync(path.join(ROOT, ".nvmrc"), "utf8").trim()).to.equal("22");
        expect(Number(process.versions.node.split(".")[0])).to.be.at.least(22);
    });
});

describe("test harness", () => {
    it("fails loudly on an invoke the mocks do not answer", () => {
        expect(() => installMocks().call({ token: "aws:rds/getEngineVersion:getEngineVersion", inputs: {} })).to.throw(
            "The program invoked aws:rds/getEngineVersion:getEngineVersion, which the test mocks do not answer",
        );
    });

    it("answers awsx components with the outputs a deployment would give", async () => {
        await runProgram("dev");
        const awsx = await import("@pulumi/awsx");
        const image = new awsx.ecr.Image("probe-image", {
            repositoryUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow",
            context: ".",
        });
        expect(await promiseOf(image.imageUri)).to.match(
            /^123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/airflow@sha256:[0-9a-f]{64}$/,
        );
        const vpc = new awsx.ec2.Vpc("probe-vpc", { numberOfAvailabilityZones: 3 });
        expect(await promiseOf(vpc.privateSubnetIds)).to.deep.equal([
            "probe-vpc-private-1",
            "probe-vpc-private-2",
            "probe-vpc-private-3",
        ]);
    });

    it("records each resource's protect, retainOnDelete and custom timeouts", async () => {
        await runProgram("dev");
        const mocks = installMocks();
        const { Resource } = await import("./harness/fixtures");
        const r = new Resource("probe", {}, { protect: true, retainOnDelete: true, customTimeouts: { create: "40m" } });
        await promiseOf(r.urn);
        await (pulumi.runtime as any).waitForRPCs();
        const probe = mocks.resources.find((x) => x.name === "probe");
        expect(probe?.options).to.include({ protect: true, retainOnDelete: true });
        expect(probe?.options.customTimeouts).to.deep.equal({ create: "40m", update: undefined, delete: undefined });
    });
});
