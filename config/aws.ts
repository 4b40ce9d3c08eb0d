// Checks of values against what AWS accepts for the stack's region and account: instance classes and
// types from AWS's published data (config/aws-data), and the region, partition and account of every
// ARN-valued key. Each message names the key, the value and what is allowed.
import { parseEcrImageUri } from "../lib/ecr";
import {
    AWS_DATA_SOURCE,
    elastiCacheNodeTypes,
    KNOWN_REGIONS,
    rdsPostgresClasses,
    SAGEMAKER_TRAINING_INSTANCE_TYPES,
    SAGEMAKER_TRANSFORM_INSTANCE_TYPES,
    suggestion,
} from "./aws-data";

/** The stack's AWS settings, from the provider's own config keys. */
export interface AwsTarget {
    /** `aws:region`; undefined when the stack does not set it (the checks that need it are skipped). */
    readonly region?: string;
    /** `aws:allowedAccountIds`, when set: the only accounts the stack deploys to. */
    readonly allowedAccountIds?: readonly string[];
    /** `aws:defaultTags`' tags, when set: the provider puts them on every resource. */
    readonly defaultTags?: Readonly<Record<string, string>>;
}

/** The partition of a region: aws-cn for China, aws-us-gov for GovCloud, aws otherwise. */
export function partitionOf(region: string): string {
    if (region.startsWith("cn-")) return "aws-cn";
    if (region.startsWith("us-gov-")) return "aws-us-gov";
    return "aws";
}

/** The parts of an ARN, or undefined when it is not one. */
export function parseArn(
    arn: string,
): { partition: string; service: string; region: string; account: string } | undefined {
    const m = /^arn:([a-z-]+):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws)?:/.exec(arn);
    return m ? { partition: m[1], service: m[2], region: m[3], account: m[4] ?? "" } : undefined;
}

const SOURCE = `${AWS_DATA_SOURCE.file} of ${AWS_DATA_SOURCE.generated}`;

/** An instance class or type not in what AWS offers: the key, the value, and what is allowed. */
function notOffered(key: string, value: string, what: string, allowed: readonly string[], hint?: string): string {
    return `airflow:${key} must be ${what} (${allowed.length} in ${SOURCE}; ${hint ?? suggestion(value, allowed)}), got ${JSON.stringify(value)}`;
}

export interface AwsValues {
    readonly layout: "celery" | "mwaa";
    readonly dbInstanceClass: string;
    readonly dbEngineVersion: string;
    readonly brokerNodeType: string;
    readonly broker: string;
    readonly mlInstanceType: string;
    readonly mlTransformInstanceType: string;
    readonly mlImageUri: string;
    readonly artifactsKmsKeyArn: string;
    readonly certificateArn: string;
}

/** Instance classes and types: each must be one AWS offers (for the region, where that differs). */
export function instanceTypeRules(v: AwsValues, target: AwsTarget): string[] {
    const errors: string[] = [];
    if (!SAGEMAKER_TRAINING_INSTANCE_TYPES.includes(v.mlInstanceType)) {
        errors.push(
            notOffered(
                "mlInstanceType",
                v.mlInstanceType,
                "an instance type SageMaker offers for training jobs",
                SAGEMAKER_TRAINING_INSTANCE_TYPES,
            ),
        );
    }
    if (!SAGEMAKER_TRANSFORM_INSTANCE_TYPES.includes(v.mlTransformInstanceType)) {
        const trainingOnly = SAGEMAKER_TRAINING_INSTANCE_TYPES.includes(v.mlTransformInstanceType)
            ? `SageMaker offers ${v.mlTransformInstanceType} for training jobs only`
            : undefined;
        errors.push(
            notOffered(
                "mlTransformInstanceType",
                v.mlTransformInstanceType,
                "an instance type SageMaker offers for batch transform jobs",
                SAGEMAKER_TRANSFORM_INSTANCE_TYPES,
                trainingOnly,
            ),
        );
    }
    const region = target.region;
    if (region === undefined || !KNOWN_REGIONS.includes(region)) return errors;
    // The database and the broker exist on the celery layout only; a stack switched to it must work.
    const dbClasses = rdsPostgresClasses(region, v.dbEngineVersion);
    if (!dbClasses.includes(v.dbInstanceClass)) {
        errors.push(
            notOffered(
                "dbInstanceClass",
                v.dbInstanceClass,
                `an RDS instance class offered for PostgreSQL ${v.dbEngineVersion} (airflow:dbEngineVersion) in ${region}`,
                dbClasses,
            ),
        );
    }
    const nodeTypes = elastiCacheNodeTypes(region);
    if (!nodeTypes.includes(v.brokerNodeType)) {
        errors.push(
            notOffered("brokerNodeType", v.brokerNodeType, `an ElastiCache node type offered in ${region}`, nodeTypes),
        );
    }
    return errors;
}

/**
 * ARN-valued keys (and the ECR image of SageMaker): each in the stack's partition and region, where AWS
 * requires it, and in an allowed account where the stack names its accounts and AWS requires the same
 * account.
 */
export function arnRules(v: AwsValues, target: AwsTarget): string[] {
    const region = target.region;
    if (region === undefined) return [];
    const errors: string[] = [];
    const partition = partitionOf(region);
    const check = (key: string, value: string, why: string, sameAccount: string | undefined) => {
        if (value === "") return;
        const arn = parseArn(value);
        if (!arn) return; // the key's own schema reports a malformed value
        if (arn.partition !== partition || arn.region !== region) {
            errors.push(
                `airflow:${key} must be in the stack's region ${region} (aws:region, partition ${partition}): ${why}, got ${JSON.stringify(value)}`,
            );
        }
        const accounts = target.allowedAccountIds;
        if (sameAccount && accounts && accounts.length > 0 && !accounts.includes(arn.account)) {
            errors.push(
                `airflow:${key} must belong to an account of aws:allowedAccountIds (${accounts.join(", ")}): ${sameAccount}, got account ${arn.account} in ${JSON.stringify(value)}`,
            );
        }
    };
    check(
        "certificateArn",
        v.certificateArn,
        "a load balancer uses ACM certificates of its own region only",
        "a load balancer uses ACM certificates of its own account only",
    );
    check(
        "artifactsKmsKeyArn",
        v.artifactsKmsKeyArn,
        "S3 encrypts a bucket only with a KMS key of the bucket's region",
        undefined,
    );
    const image = parseEcrImageUri(v.mlImageUri);
    if (image && (image.region !== region || image.china !== (partition === "aws-cn"))) {
        errors.push(
            `airflow:mlImageUri must be an ECR image of the stack's region ${region} (aws:region): SageMaker runs training images from its own region's registries only, got ${JSON.stringify(v.mlImageUri)}`,
        );
    }
    return errors;
}
