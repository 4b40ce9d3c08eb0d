import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { evaluatePolicies } from "../policy/offline";
import { policies, POLICY_PACK_NAME } from "../policy/policies";
import { PolicyPackProcess } from "../tools/harness/analyzer";
import { runResources, runStack, STACKS } from "./harness/program";

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
            "s3-tls-only",
            "security-group-internet-ingress",
        ]);
        expect(overGrpc.sort(order)).to.deep.equal(offline.sort(order));
    });

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
