import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { createSecureBucket } from "../../lib/bucket";
import { Statement } from "../../lib/iam";

/** Where each source writes in the log bucket. */
export const ACCESS_LOG_PREFIXES = {
    artifacts: "s3/artifacts/",
    ml: "s3/ml/",
    loadBalancer: "alb",
} as const;

/**
 * The Elastic Load Balancing account of each Region available before August 2022: an ALB in one of
 * these writes its access logs as this account, and the bucket policy names it. Regions opened since
 * use the service principal logdelivery.elasticloadbalancing.amazonaws.com instead
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html,
 * "Step 2: Attach a policy to your S3 bucket"). Checked against that page's list, including its two
 * AWS GovCloud (US) accounts; tests/access-logs.test.ts keeps a copy of the list.
 */
export const ELB_LOG_ACCOUNTS: Readonly<Record<string, string>> = {
    "us-east-1": "127311923021",
    "us-east-2": "033677994240",
    "us-west-1": "027434742980",
    "us-west-2": "797873946194",
    "af-south-1": "098369216593",
    "ap-east-1": "754344448648",
    "ap-south-1": "718504428378",
    "ap-northeast-1": "582318560864",
    "ap-northeast-2": "600734575887",
    "ap-northeast-3": "383597477331",
    "ap-southeast-1": "114774131450",
    "ap-southeast-2": "783225319266",
    "ca-central-1": "985666609251",
    "eu-central-1": "054676820928",
    "eu-west-1": "156460612806",
    "eu-west-2": "652711504416",
    "eu-west-3": "009996457667",
    "eu-south-1": "635631232127",
    "eu-north-1": "897822967062",
    "me-south-1": "076674570225",
    "sa-east-1": "507241528517",
    "us-gov-west-1": "048591011584",
    "us-gov-east-1": "190560391635",
};

/** The partition of a region's ARNs: aws-us-gov for GovCloud (US), aws-cn for China, aws elsewhere. */
export function partitionOfRegion(region: string): string {
    return region.startsWith("us-gov-") ? "aws-us-gov" : region.startsWith("cn-") ? "aws-cn" : "aws";
}

/**
 * The log bucket's delivery statements (pure, table-tested):
 *  - S3 server access logs: the logging service principal, only for this account's buckets of this
 *    stack (aws:SourceArn and aws:SourceAccount), as S3 requires of a target bucket
 *    (https://docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html,
 *    "Grant permissions to the logging service principal by using a bucket policy");
 *  - ALB access logs: the Region's ELB account, or the log-delivery principal in newer Regions.
 */
export function logBucketStatements(args: {
    region: string;
    account: pulumi.Input<string>;
    bucketArn: pulumi.Input<string>;
    sourceBucketPattern: pulumi.Input<string>;
}): Statement[] {
    const elbAccount = ELB_LOG_ACCOUNTS[args.region];
    const prefix = ACCESS_LOG_PREFIXES.loadBalancer;
    return [
        {
            Sid: "S3ServerAccessLogs",
            Effect: "Allow",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: pulumi.interpolate`${args.bucketArn}/s3/*`,
            Condition: {
                ArnLike: { "aws:SourceArn": args.sourceBucketPattern },
                StringEquals: { "aws:SourceAccount": args.account },
            },
        },
        {
            Sid: "LoadBalancerAccessLogs",
            Effect: "Allow",
            Principal: elbAccount
                ? { AWS: `arn:${partitionOfRegion(args.region)}:iam::${elbAccount}:root` }
                : { Service: "logdelivery.elasticloadbalancing.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: pulumi.interpolate`${args.bucketArn}/${prefix}/AWSLogs/${args.account}/*`,
        },
    ];
}

export interface AccessLogBucketArgs {
    /** The stack's region (ELB's log account depends on it). Required. */
    region: string;
    /** The stack's account (only its buckets may log here). Default: the caller's account. */
    account?: pulumi.Input<string>;
    /** Days after which every log object expires. Default 90. */
    expirationDays?: number;
    /** Keep the log bucket on delete. Default false. */
    protectData?: boolean;
    /** Tags of every resource. Default none. */
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * The stack's one log bucket: SSE-S3 (the only encryption ALB access logs support), public access
 * blocked, TLS only, every object expiring. It receives S3 server access logs of the other buckets
 * and the load balancer's access logs.
 */
export class AccessLogBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly bucketArn: pulumi.Output<string>;

    constructor(name: string, args: AccessLogBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("airflow:logs:AccessLogBucket", name, {}, opts);
        const days = args.expirationDays ?? 90;
        if (!Number.isInteger(days) || days < 1)
            throw new pulumi.ResourceError(
                `AccessLogBucket ${name}: expirationDays must be a whole number of at least 1, got ${days}`,
                this,
            );
        const account = args.account ?? aws.getCallerIdentityOutput({}, { parent: this }).accountId;
        const logs = createSecureBucket(
            `${name}-access-logs`,
            {
                noncurrentVersionExpirationDays: 1,
                expirations: [{ id: "expire-logs", prefix: "", days }],
                protectData: args.protectData ?? false,
                // Only this stack's buckets (auto-named <name>-<role>-<suffix>) of this account log here.
                extraStatements: (bucketArn) =>
                    logBucketStatements({
                        region: args.region,
                        account,
                        bucketArn,
                        sourceBucketPattern: `arn:${partitionOfRegion(args.region)}:s3:::${name}-*`,
                    }),
                tags: args.tags,
            },
            this,
        );
        this.bucketName = logs.bucket.bucket;
        this.bucketArn = logs.bucket.arn;
        this.registerOutputs({ bucketName: this.bucketName, bucketArn: this.bucketArn });
    }
}
