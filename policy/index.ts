// The policy pack as the Pulumi CLI runs it: `pulumi preview --policy-pack policy` (from the repository
// root). The CLI starts this file with `node` in policy/, which finds @pulumi/pulumi, @pulumi/policy,
// ts-node and typescript in the root node_modules (Node looks in every parent folder); policy/package.json
// gives the pack its version. The rules live in policies.ts; the offline plan runs the same ones.
import { PolicyPack } from "@pulumi/policy";
import { policies, POLICY_PACK_NAME } from "./policies";

new PolicyPack(POLICY_PACK_NAME, {
    description:
        "Airflow on AWS: private data stores, encryption at rest, complete S3 public access blocks and TLS-only buckets, no internet ingress but the load balancer's 80/443, no wildcard IAM, no secrets in ECS environments, log retention, private MWAA in production.",
    enforcementLevel: "mandatory",
    policies,
});
