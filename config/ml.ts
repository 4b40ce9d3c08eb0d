import { z } from "zod";
import { boolKey, intKey, key, KeySpec } from "./spec";

/** SageMaker stops a training job after at most 28 days. */
export const MAX_TRAINING_SECONDS = 28 * 24 * 3600;

/**
 * The longest a training job may take for the ml_training_pipeline DAG to follow it to the end: its
 * train_model task times out after 12 hours (TRAINING_TIMEOUT in dags/ml_training_pipeline.py) and
 * keeps 15 minutes for the steps around the job. tests/python/test_versions.py keeps the two equal.
 */
export const DAG_TRAINING_LIMIT_SECONDS = 12 * 3600 - 15 * 60;

/**
 * The longest a spot job may take, wait included, when it is not set (airflow:mlMaxWaitSeconds,
 * SageMakerTraining's training.spot.maxWaitSeconds): twice the runtime, so that a job interrupted
 * halfway can wait as long again for capacity; at most DAG_TRAINING_LIMIT_SECONDS, which the DAG
 * follows to the end, and never below the runtime. The one statement of the rule.
 */
export function defaultMaxWaitSeconds(maxRuntimeSeconds: number): number {
    return Math.max(maxRuntimeSeconds, Math.min(2 * maxRuntimeSeconds, DAG_TRAINING_LIMIT_SECONDS));
}

/** EBS's largest volume, the ceiling of a training instance's ML storage volume. */
export const MAX_VOLUME_SIZE_GB = 16384;

/**
 * A training image in ECR, pinned by tag (not "latest") or digest:
 * <account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>:<tag> or ...@sha256:<digest>.
 * Groups: 1 account, 2 region, 3 ".cn" (China), 4 repository.
 */
export const ECR_IMAGE_URI =
    /^(\d{12})\.dkr\.ecr\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(\.cn)?\/([a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(?!latest$)[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$/;

export const ECR_IMAGE_URI_ALLOWED =
    "empty (the built-in XGBoost image of the stack's region) or an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository> pinned with :<tag> (not latest) or @sha256:<digest>";

const mlInstanceTypeKey = (def: string, description: string, jobs: string): KeySpec<string> =>
    key({
        type: "string",
        description,
        default: def,
        allowed: `an instance type SageMaker offers for ${jobs}, such as "ml.m5.large" or "ml.p3.2xlarge" (checked against config/aws-data/instance-types.json, from botocore's SageMaker model)`,
        schema: z.string().regex(/^ml\.[a-z0-9-]+\.[a-z0-9-]+$/),
    });

const secondsKey = (def: number, description: string): KeySpec<number> =>
    key({
        type: "integer",
        description,
        default: def,
        allowed: `a whole number from 1 to ${MAX_TRAINING_SECONDS} (28 days)`,
        schema: z.number().int().min(1).max(MAX_TRAINING_SECONDS),
    });

const mlMaxRuntimeSeconds = secondsKey(
    3600,
    "Longest a training job may run (StoppingCondition.MaxRuntimeInSeconds); SageMaker stops it and its instances after this. Airflow's role cannot start longer jobs.",
);

/** Keys of the SageMaker training infrastructure (both layouts). */
export const mlKeys = {
    mlInstanceType: mlInstanceTypeKey(
        "ml.m5.large",
        "Instance type of SageMaker training jobs (a GPU type such as ml.p3.2xlarge for deep learning). The instances run only while a job runs.",
        "training jobs",
    ),
    mlInstanceCount: intKey(1, 20, 1, "Instances per training job (more than 1: distributed training)."),
    mlVolumeSizeGb: key<number>({
        type: "integer",
        description: "ML storage volume of each training instance in GB (input data in File mode, checkpoints).",
        default: 30,
        allowed: `a whole number from 1 to ${MAX_VOLUME_SIZE_GB}`,
        schema: z.number().int().min(1).max(MAX_VOLUME_SIZE_GB),
    }),
    mlMaxRuntimeSeconds,
    mlSpotTraining: boolKey(
        false,
        "Managed spot training: jobs run on spare capacity (up to 90% cheaper), may be interrupted and resume from checkpoints/.",
    ),
    mlMaxWaitSeconds: key<number>({
        ...secondsKey(
            0,
            "With spot training: longest a job may take including the wait for spot capacity (StoppingCondition.MaxWaitTimeInSeconds); at least mlMaxRuntimeSeconds.",
        ),
        default: undefined,
        defaultText: `twice airflow:mlMaxRuntimeSeconds (${defaultMaxWaitSeconds(mlMaxRuntimeSeconds.default!)} with its default), at most ${DAG_TRAINING_LIMIT_SECONDS} and at least airflow:mlMaxRuntimeSeconds`,
        // From the runtime as given; an invalid one is reported by its own key, and the wait follows its default.
        deriveDefault: ({ given }) => {
            const runtime = mlMaxRuntimeSeconds.schema.safeParse(given("mlMaxRuntimeSeconds"));
            return defaultMaxWaitSeconds(runtime.success ? runtime.data : mlMaxRuntimeSeconds.default!);
        },
    }),
    mlCheckpointExpirationDays: intKey(
        1,
        3650,
        7,
        "Days after which training checkpoints under checkpoints/ in the ML bucket expire.",
    ),
    mlBatchExpirationDays: intKey(
        1,
        3650,
        30,
        "Days after which batch transform data under batch/ in the ML bucket expires.",
    ),
    mlTransformInstanceType: mlInstanceTypeKey(
        "ml.m5.large",
        "Instance type of SageMaker batch transform jobs.",
        "batch transform jobs",
    ),
    mlImageUri: key<string>({
        type: "string",
        description:
            "Training image. Empty: SageMaker's built-in XGBoost (sagemaker-xgboost:1.7-1) from the registry of the stack's region.",
        default: "",
        allowed: ECR_IMAGE_URI_ALLOWED,
        schema: z.string().refine((v) => v === "" || ECR_IMAGE_URI.test(v)),
    }),
    mlVpcMode: boolKey(
        false,
        "Run training and transform jobs in the VPC's private subnets, behind a security group that allows only outbound HTTPS (S3 through the gateway endpoint, the rest through NAT).",
    ),
    mlOwnsLogGroups: boolKey(
        false,
        "This stack owns SageMaker's log groups /aws/sagemaker/TrainingJobs and /aws/sagemaker/TransformJobs, which every stack (and every other SageMaker user) of its AWS account and region shares: it creates them with airflow:logRetentionDays before Airflow may start jobs, and keeps them when the stack is destroyed. Set it on exactly one stack per account and region (a second one fails: the group exists); where no stack owns them, SageMaker creates them on the first job, kept forever.",
    ),
    mlNetworkIsolation: boolKey(
        false,
        "Network isolation: the training container makes no network calls at all (SageMaker still reads input from and writes output to S3).",
    ),
} satisfies Record<string, KeySpec<unknown>>;

/** Cross-key checks of the ML section. */
export function mlRules(v: {
    mlSpotTraining: boolean;
    mlMaxRuntimeSeconds: number;
    mlMaxWaitSeconds: number;
}): string[] {
    const errors: string[] = [];
    if (v.mlSpotTraining && v.mlMaxWaitSeconds < v.mlMaxRuntimeSeconds) {
        errors.push(
            `airflow:mlMaxWaitSeconds must be at least airflow:mlMaxRuntimeSeconds (${v.mlMaxRuntimeSeconds}) when airflow:mlSpotTraining is true (the wait for spot capacity counts against it), got ${v.mlMaxWaitSeconds}`,
        );
    }
    const [longestKey, longest] = v.mlSpotTraining
        ? ["mlMaxWaitSeconds", v.mlMaxWaitSeconds]
        : ["mlMaxRuntimeSeconds", v.mlMaxRuntimeSeconds];
    if (longest > DAG_TRAINING_LIMIT_SECONDS) {
        errors.push(
            `airflow:${longestKey} must be at most ${DAG_TRAINING_LIMIT_SECONDS} (the ml_training_pipeline DAG's train_model task times out after 12 hours and keeps 15 minutes for the steps around the job), got ${longest}`,
        );
    }
    return errors;
}
