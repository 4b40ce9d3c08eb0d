// Pulumi's own AWS policy pack, @pulumi/awsguard, as a second, advisory pack beside ours.
//
// awsguard 0.3.1 (its only release) was written against @pulumi/aws 4, and two of its assumptions no
// longer hold for the resources this program registers with @pulumi/aws 7:
//  - its load-balancer rules match the old `aws:elasticloadbalancingv2/*` type tokens, where the
//    program registers `aws:lb/*` (the same AWS resources);
//  - its bucket-logging rule reads the bucket's inline `loggings`, which @pulumi/aws 7 replaced with a
//    separate `aws:s3/bucketLogging:BucketLogging` resource.
// The offline runner maps both before it hands the resources to awsguard (awsguardView below), so its
// verdict speaks of the AWS resources as they are. The CLI cannot map types, so every rule that needs
// the mapping is also enforced by our own pack (policy/production.ts): the CLI run stays honest.
import type { Policies, Policy } from "@pulumi/policy";
import type { CapturedResourceLike } from "./offline";

/** The name awsguard's own PolicyPack takes by default. */
export const AWSGUARD_PACK_NAME = "pulumi-awsguard";

/** Rules that stay off, each with the reason; one place for every waiver. */
export const AWSGUARD_WAIVERS: Readonly<Record<string, string>> = {
    "rds-instance-multi-az-enabled":
        "Multi-AZ is what production: true implies (config/production.ts defaults and requires it; our pack's " +
        "production-database-durable enforces it on Production=true resources); a non-production database in one AZ is a deliberate saving",
    "elb-deletion-protection-enabled":
        "deletion protection follows protectData, which production: true implies (our pack's " +
        "load-balancer-access-logs enforces it on Production=true load balancers); non-production stacks must destroy cleanly",
    "alb-http-to-https-redirection":
        "a stack without airflow:domainName or airflow:certificateArn has no certificate to redirect to: its load balancer is " +
        "internal (VPC only) unless airflow:publicPlainHttp opts in; our pack's load-balancer-https refuses plain HTTP on production",
    "efs-encrypted":
        "the file system is encrypted at rest with the AWS-managed key aws/elasticfilesystem (our pack's efs-encryption-at-rest " +
        "enforces encrypted: true); it holds DAG files copied from the artifacts bucket, nothing a customer-managed key's " +
        "separate key policy would protect further, and a customer key costs $1/month per stack plus its key policy to maintain",
    "s3-bucket-logging-enabled":
        "awsguard wants every bucket logged, the log bucket too, which would log into itself; our pack's s3-server-access-logging " +
        "enforces it on every bucket except the stack's log bucket",
    "acm-certificate-expiration":
        "it calls ACM's DescribeCertificate for the live certificate, which no preview or offline plan can; ACM renews a " +
        "DNS-validated certificate by itself while its validation record stays in the zone, which the program keeps",
};

/** The awsguard module names whose policies the pack registers (its index.js requires exactly these). */
const MODULES = ["apiGateway", "compute", "database", "elasticsearch", "network", "security", "storage"] as const;

function isPolicy(value: unknown): value is Policy {
    return (
        !!value &&
        typeof value === "object" &&
        typeof (value as Policy).name === "string" &&
        ("validateResource" in value || "validateStack" in value)
    );
}

let cached: Policies | undefined;
let cachedAll: Policies | undefined;

/** Every awsguard policy, advisory, waived ones included (to test the view's mapping on them). */
export function allAwsguardPolicies(): Policies {
    if (!cachedAll) {
        const policies: Policy[] = [];
        process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= "1";
        for (const module of MODULES) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand, see below
            const exported = require(`@pulumi/awsguard/${module}`) as Record<string, unknown>;
            for (const value of Object.values(exported))
                if (isPolicy(value)) policies.push({ ...value, enforcementLevel: "advisory" });
        }
        cachedAll = policies.sort((a, b) => a.name.localeCompare(b.name));
    }
    return cachedAll;
}

/**
 * Every awsguard policy, advisory, less the waived ones. Loaded lazily: awsguard brings its own
 * @pulumi/aws 4 SDK, which takes seconds to load.
 */
export function awsguardPolicies(): Policies {
    if (!cached) {
        const policies: Policy[] = [];
        // awsguard's security rules load the AWS SDK v2, which prints an end-of-support notice on load;
        // the notice is about awsguard's dependency, not this program, and would repeat in every plan.
        process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE ??= "1";
        for (const module of MODULES) {
            // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on demand, see above
            const exported = require(`@pulumi/awsguard/${module}`) as Record<string, unknown>;
            for (const value of Object.values(exported)) {
                if (isPolicy(value) && !(value.name in AWSGUARD_WAIVERS))
                    policies.push({ ...value, enforcementLevel: "advisory" });
            }
        }
        cached = policies.sort((a, b) => a.name.localeCompare(b.name));
    }
    return cached;
}

/** The load-balancer type tokens of @pulumi/aws 7 and the ones awsguard's rules match. */
export const AWSGUARD_TYPE_MAP: Readonly<Record<string, string>> = {
    "aws:lb/loadBalancer:LoadBalancer": "aws:elasticloadbalancingv2/loadBalancer:LoadBalancer",
    "aws:lb/listener:Listener": "aws:elasticloadbalancingv2/listener:Listener",
};

const BUCKET = "aws:s3/bucket:Bucket";
const BUCKET_LOGGING = "aws:s3/bucketLogging:BucketLogging";

/**
 * The resources as awsguard expects to see them: load balancers and listeners under their old type
 * tokens, and each bucket with the inline `loggings` that its BucketLogging resource stands for.
 * A BucketLogging names its bucket by the bucket's name, which is an output: it is matched by the
 * input dependency on the bucket resource.
 */
export function awsguardView(captured: readonly CapturedResourceLike[]): CapturedResourceLike[] {
    const logged = new Map<string, Record<string, unknown>[]>();
    for (const r of captured) {
        if (r.type !== BUCKET_LOGGING) continue;
        const bucketUrns = r.options.propertyDependencies?.bucket ?? [];
        for (const urn of bucketUrns) {
            const list = logged.get(urn) ?? [];
            list.push({ targetBucket: r.inputs.targetBucket, targetPrefix: r.inputs.targetPrefix });
            logged.set(urn, list);
        }
    }
    return captured.map((r) => {
        if (r.type in AWSGUARD_TYPE_MAP) return { ...r, type: AWSGUARD_TYPE_MAP[r.type] };
        if (r.type === BUCKET && logged.has(r.urn))
            return { ...r, inputs: { ...r.inputs, loggings: logged.get(r.urn) } };
        return r;
    });
}
