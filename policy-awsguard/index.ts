// @pulumi/awsguard as the Pulumi CLI runs it: `pulumi preview --policy-pack policy --policy-pack
// policy-awsguard` (from the repository root). The pack serves exactly the rules the offline plan runs
// (policy/awsguard.ts awsguardPolicies: every awsguard rule, advisory, less AWSGUARD_WAIVERS, each waiver
// with its reason). The CLI cannot map aws:lb/* to the elasticloadbalancingv2 tokens awsguard's
// load-balancer rules match, nor fold BucketLogging into the bucket: those rules are waived or enforced
// by our own pack (policy/production.ts), so this run stays honest.
import { PolicyPack } from "@pulumi/policy";
import { AWSGUARD_PACK_NAME, awsguardPolicies } from "../policy/awsguard";

new PolicyPack(AWSGUARD_PACK_NAME, {
    description: "@pulumi/awsguard 0.3.1 rules, advisory, with the Airflow on AWS program's waivers",
    enforcementLevel: "advisory",
    policies: awsguardPolicies(),
});
