import * as aws from "@pulumi/aws";
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

    for (const stack of STACKS) {
        it(`passes the committed ${stack} stack over the analyzer protocol too`, async () => {
            expect(await (await pack).analyze((await runStack(stack)).resources)).to.deep.equal([]);
        });
    }
});
