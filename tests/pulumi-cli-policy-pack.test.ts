import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { evaluatePolicies } from "../policy/offline";
import { policies, POLICY_PACK_NAME } from "../policy/policies";
import { productionPolicies } from "../policy/production";
import { PolicyPackProcess } from "../tools/harness/analyzer";
import { runProgram, runResources, runStack, STACKS } from "./harness/program";

// Started when mocha loads this file, so that the pack boots (ts-node type-checks it, about 2 s) in
// its own process while the other test files run.
const pack = PolicyPackProcess.start();
pack.catch(() => undefined); // reported by the tests that await it

describe("policy pack as the Pulumi CLI runs it (pulumi preview --policy-pack policy)", function () {
    this.timeout(60_000);
    after(async () => (await pack).stop());

    it("starts from policy/ with the root node_modules and serves every policy, mandatory", async () => {
        const info = await (await pack).info();
        expect(info.name).to.equal(POLICY_PACK_NAME);
        expect(info.version).to.equal("0.1.0");
        expect(info.policies).to.deep.equal(policies.map((p) => ({ name: p.name, enforcementLevel: "mandatory" })));
    });

    it("reports over the analyzer protocol exactly the violations the offline runner reports", async () => {
        const run = await runResources("dev", () => {
            const bucket = new aws.s3.Bucket("open", {});
            new aws.s3.BucketPublicAccessBlock("open-access-block", { bucket: bucket.id, blockPublicAcls: true });
            const group = new aws.ec2.SecurityGroup("airflow-dev-services-sg", {});
            new aws.vpc.SecurityGroupIngressRule("ssh", {
                securityGroupId: group.id,
                ipProtocol: "tcp",
                fromPort: 22,
                toPort: 22,
                cidrIpv4: "0.0.0.0/0",
            });
            new aws.iam.Policy("admin", {
                policy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }],
                }),
            });
            new aws.cloudwatch.LogGroup("forever", {});
            new aws.cloudwatch.MetricAlarm("silent", {
                comparisonOperator: "LessThanThreshold",
                evaluationPeriods: 1,
                threshold: 1,
                namespace: "AmazonMWAA",
                metricName: "SchedulerHeartbeat",
                statistic: "Sum",
                period: 60,
            });
        });
        const offline = (await evaluatePolicies(run.resources)).map((v) => ({
            policy: v.policy,
            message: v.message,
            urn: v.resource?.urn ?? "",
            enforcementLevel: v.enforcementLevel,
        }));
        const overGrpc = await (await pack).analyze(run.resources);
        const order = (a: { policy: string; message: string }, b: { policy: string; message: string }) =>
            a.policy.localeCompare(b.policy) || a.message.localeCompare(b.message);
        expect([...new Set(offline.map((v) => v.policy))].sort()).to.deep.equal([
            "alarm-has-action",
            "iam-no-wildcard-actions",
            "iam-passrole-scoped",
            "log-group-retention",
            "s3-encryption-at-rest",
            "s3-public-access-block",
            "s3-server-access-logging",
            "s3-tls-only",
            "security-group-internet-ingress",
        ]);
        expect(overGrpc.sort(order)).to.deep.equal(offline.sort(order));
    });

    // The production, HTTPS and access-log rules (policy/production.ts), failing and passing, over the
    // analyzer protocol exactly as the offline runner sees them.
    const productionCase = (compliant: boolean) => () => {
        const tags = { Production: "true" };
        new aws.rds.Instance("db", {
            instanceClass: "db.t4g.micro",
            engine: "postgres",
            storageEncrypted: true,
            multiAz: compliant,
            deletionProtection: compliant,
            skipFinalSnapshot: !compliant,
            backupRetentionPeriod: compliant ? 7 : 1,
            tags,
        });
        new aws.elasticache.ReplicationGroup("cache", {
            description: "broker",
            atRestEncryptionEnabled: true,
            transitEncryptionEnabled: true,
            numCacheClusters: compliant ? 2 : 1,
            automaticFailoverEnabled: compliant,
            multiAzEnabled: compliant,
            tags,
        });
        const logs = new aws.s3.Bucket("logs", {});
        const data = new aws.s3.Bucket("data", { forceDestroy: !compliant, tags });
        if (compliant)
            new aws.s3.BucketLogging("data-logging", { bucket: data.id, targetBucket: logs.id, targetPrefix: "s3/" });
        const alb = new aws.lb.LoadBalancer("alb", {
            enableDeletionProtection: compliant,
            ...(compliant ? { accessLogs: { enabled: true, bucket: logs.id, prefix: "alb" } } : {}),
            tags,
        });
        new aws.lb.Listener("http", {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: compliant
                ? [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }]
                : [{ type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:tg" }],
            tags,
        });
        new aws.lb.Listener("https", {
            loadBalancerArn: alb.arn,
            port: 443,
            protocol: "HTTPS",
            certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            sslPolicy: compliant ? "ELBSecurityPolicy-TLS13-1-2-2021-06" : "ELBSecurityPolicy-2016-08",
            defaultActions: [
                { type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:tg" },
            ],
            tags,
        });
        const scheduler = new aws.ecs.TaskDefinition("scheduler", {
            family: "scheduler",
            containerDefinitions: JSON.stringify([{ name: "scheduler", image: "airflow" }]),
            tags,
        });
        new aws.ecs.Service("scheduler", { taskDefinition: scheduler.arn, desiredCount: compliant ? 2 : 1, tags });
    };
    const NEW_RULES = productionPolicies.map((p) => p.name);

    it("fails every production, HTTPS and access-log rule over the analyzer protocol as offline", async () => {
        const run = await runResources("dev", productionCase(false));
        const offline = (await evaluatePolicies(run.resources)).map((v) => ({
            policy: v.policy,
            message: v.message,
            urn: v.resource?.urn ?? "",
            enforcementLevel: v.enforcementLevel,
        }));
        const overGrpc = await (await pack).analyze(run.resources);
        const order = (a: { policy: string; message: string }, b: { policy: string; message: string }) =>
            a.policy.localeCompare(b.policy) || a.message.localeCompare(b.message);
        expect([...new Set(offline.map((v) => v.policy))].filter((p) => NEW_RULES.includes(p)).sort()).to.deep.equal(
            [...NEW_RULES].sort(),
        );
        expect(overGrpc.sort(order)).to.deep.equal(offline.sort(order));
    });

    it("passes the compliant production, HTTPS and access-log cases over the analyzer protocol as offline", async () => {
        const run = await runResources("dev", productionCase(true));
        const offline = (await evaluatePolicies(run.resources)).map((v) => v.policy);
        const overGrpc = (await (await pack).analyze(run.resources)).map((v) => v.policy);
        expect(offline.filter((p) => NEW_RULES.includes(p))).to.deep.equal([]);
        expect(overGrpc.sort()).to.deep.equal(offline.sort());
    });

    for (const [label, stack, overrides] of [
        ["prod switched to celery", "prod", { "airflow:layout": "celery" }],
        ["dev switched to mwaa", "dev", { "airflow:layout": "mwaa" }],
    ] as const) {
        it(`passes ${label} over the analyzer protocol too`, async () => {
            expect(await (await pack).analyze((await runProgram(stack, overrides)).resources)).to.deep.equal([]);
        });
    }

    it("in a preview, ties new resources together by dependency, and defers a rule that reads an unknown", async () => {
        const run = await runResources("dev", () => {
            const bucket = new aws.s3.Bucket("artifacts", {});
            new aws.s3.BucketServerSideEncryptionConfiguration("artifacts-encryption", {
                bucket: bucket.id,
                rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
            });
            new aws.s3.BucketPublicAccessBlock("artifacts-access-block", {
                bucket: bucket.id,
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
            new aws.s3.BucketPolicy("artifacts-policy", { bucket: bucket.id, policy: bucket.arn.apply((a) => a) });
            new aws.s3.BucketLogging("artifacts-logging", {
                bucket: bucket.id,
                targetBucket: "logs",
                targetPrefix: "s3/",
            });
            const key = new aws.kms.Key("secrets", {});
            new aws.secretsmanager.Secret("fernet", { kmsKeyId: key.arn });
        });
        // What the engine sends while the bucket and the key do not exist yet: the bucket's id, the policy
        // built from its ARN and the key's ARN are unknown.
        const unknown = pulumi.runtime.unknownValue;
        const preview = run.resources.map((r) =>
            r.inputs.bucket !== undefined
                ? { ...r, inputs: { ...r.inputs, bucket: unknown, ...(r.inputs.policy ? { policy: unknown } : {}) } }
                : r.inputs.kmsKeyId !== undefined
                  ? { ...r, inputs: { ...r.inputs, kmsKeyId: unknown } }
                  : r,
        );
        expect(await (await pack).analyze(preview)).to.deep.equal([
            {
                policy: "s3-tls-only",
                enforcementLevel: "advisory",
                urn: "",
                message: `can't run policy 's3-tls-only' from policy pack '${POLICY_PACK_NAME}@v0.1.0' during preview: string value at .policy can't be known during preview`,
            },
        ]);
    });

    for (const stack of STACKS) {
        it(`passes the committed ${stack} stack over the analyzer protocol too`, async () => {
            expect(await (await pack).analyze((await runStack(stack)).resources)).to.deep.equal([]);
        });
    }
});
