// SageMakerTraining's arguments: defaults applied and every rule checked up front.
import * as pulumi from "@pulumi/pulumi";
import { ML_DEFAULTS, STORAGE_DEFAULTS } from "../config";
import { SAGEMAKER_TRAINING_INSTANCE_TYPES, SAGEMAKER_TRANSFORM_INSTANCE_TYPES, suggestion } from "../config/aws-data";
import { ENVIRONMENT_ALLOWED, ENVIRONMENT_PATTERN } from "../config/core";
import { ECR_IMAGE_URI, MAX_TRAINING_SECONDS, MAX_VOLUME_SIZE_GB } from "../config/ml";
import { choiceText, LOG_RETENTION_DAYS } from "../config/spec";
import { isRecoveryWindow, RECOVERY_WINDOW_ALLOWED } from "../config/storage";
import type { SageMakerTrainingArgs } from "./sagemaker";
import type { MlTrainingSettings } from "./sagemaker-policy";

/** The checked arguments: the training settings the Variable is made of, and the rest. */
export interface ResolvedArgs extends MlTrainingSettings {
    imageUri?: string;
    checkpointExpirationDays: number;
    batchExpirationDays: number;
    noncurrentVersionExpirationDays: number;
    protectData: boolean;
    secretRecoveryWindowDays: number;
}

export function validateArgs(name: string, args: SageMakerTrainingArgs, resource: pulumi.Resource): ResolvedArgs {
    const t = args.training ?? {};
    const d = ML_DEFAULTS.training;
    const maxRuntimeSeconds = t.maxRuntimeSeconds ?? d.maxRuntimeSeconds;
    const resolved: ResolvedArgs = {
        environment: args.environment,
        training: {
            instanceType: t.instanceType ?? d.instanceType,
            instanceCount: t.instanceCount ?? d.instanceCount,
            volumeSizeGb: t.volumeSizeGb ?? d.volumeSizeGb,
            maxRuntimeSeconds,
            spot: {
                enabled: t.spot?.enabled ?? d.spot.enabled,
                maxWaitSeconds: t.spot?.maxWaitSeconds ?? Math.min(2 * maxRuntimeSeconds, MAX_TRAINING_SECONDS),
            },
            networkIsolation: t.networkIsolation ?? d.networkIsolation,
        },
        transformInstanceType: args.transformInstanceType ?? ML_DEFAULTS.transformInstanceType,
        imageUri: args.imageUri,
        checkpointExpirationDays: args.checkpointExpirationDays ?? ML_DEFAULTS.checkpointExpirationDays,
        batchExpirationDays: args.batchExpirationDays ?? ML_DEFAULTS.batchExpirationDays,
        noncurrentVersionExpirationDays:
            args.noncurrentVersionExpirationDays ?? STORAGE_DEFAULTS.artifacts.noncurrentVersionExpirationDays,
        protectData: args.protectData ?? STORAGE_DEFAULTS.protectData,
        secretRecoveryWindowDays: args.secretRecoveryWindowDays ?? STORAGE_DEFAULTS.secretRecoveryWindowDays,
    };
    const fail = (field: string, allowed: string, got: unknown) => {
        throw new pulumi.ResourceError(
            `SageMakerTraining ${name}: ${field} must be ${allowed}, got ${JSON.stringify(got)}`,
            resource,
        );
    };
    const wholeNumber = (field: string, value: number, min: number, max: number) => {
        if (!Number.isInteger(value) || value < min || value > max) {
            fail(field, `a whole number from ${min} to ${max}`, value);
        }
    };
    if (!ENVIRONMENT_PATTERN.test(resolved.environment ?? "")) {
        fail("environment", ENVIRONMENT_ALLOWED, resolved.environment);
    }
    if (args.airflowRoleName === undefined || args.airflowRoleName === "") {
        fail("airflowRoleName", "the name of the IAM role Airflow's tasks run as", args.airflowRoleName ?? null);
    }
    if (!SAGEMAKER_TRAINING_INSTANCE_TYPES.includes(resolved.training.instanceType)) {
        fail(
            "training.instanceType",
            `an instance type SageMaker offers for training jobs (${suggestion(resolved.training.instanceType, SAGEMAKER_TRAINING_INSTANCE_TYPES)})`,
            resolved.training.instanceType,
        );
    }
    wholeNumber("training.instanceCount", resolved.training.instanceCount, 1, 20);
    wholeNumber("training.volumeSizeGb", resolved.training.volumeSizeGb, 1, MAX_VOLUME_SIZE_GB);
    wholeNumber("training.maxRuntimeSeconds", resolved.training.maxRuntimeSeconds, 1, MAX_TRAINING_SECONDS);
    const maxWait = resolved.training.spot.maxWaitSeconds;
    if (
        resolved.training.spot.enabled &&
        (!Number.isInteger(maxWait) || maxWait < resolved.training.maxRuntimeSeconds || maxWait > MAX_TRAINING_SECONDS)
    ) {
        fail(
            "training.spot.maxWaitSeconds",
            `a whole number from training.maxRuntimeSeconds (${resolved.training.maxRuntimeSeconds}) to ${MAX_TRAINING_SECONDS} with spot training`,
            maxWait,
        );
    }
    if (!SAGEMAKER_TRANSFORM_INSTANCE_TYPES.includes(resolved.transformInstanceType)) {
        fail(
            "transformInstanceType",
            `an instance type SageMaker offers for batch transform jobs (${suggestion(resolved.transformInstanceType, SAGEMAKER_TRANSFORM_INSTANCE_TYPES)})`,
            resolved.transformInstanceType,
        );
    }
    if (resolved.imageUri !== undefined && !ECR_IMAGE_URI.test(resolved.imageUri)) {
        fail(
            "imageUri",
            "an ECR image URI <account>.dkr.ecr.<region>.amazonaws.com/<repository> pinned with :<tag> (not latest) or @sha256:<digest>",
            resolved.imageUri,
        );
    }
    if (args.vpc && (args.vpc.subnetIds.length < 1 || args.vpc.subnetIds.length > 16)) {
        fail("vpc.subnetIds", "a list of 1 to 16 subnet ids", args.vpc.subnetIds);
    }
    wholeNumber("checkpointExpirationDays", resolved.checkpointExpirationDays, 1, 3650);
    wholeNumber("batchExpirationDays", resolved.batchExpirationDays, 1, 3650);
    if (args.logGroups && !(LOG_RETENTION_DAYS as readonly number[]).includes(args.logGroups.retentionDays)) {
        fail("logGroups.retentionDays", choiceText(LOG_RETENTION_DAYS), args.logGroups.retentionDays);
    }
    wholeNumber("noncurrentVersionExpirationDays", resolved.noncurrentVersionExpirationDays, 1, 3650);
    if (!isRecoveryWindow(resolved.secretRecoveryWindowDays))
        fail("secretRecoveryWindowDays", RECOVERY_WINDOW_ALLOWED, resolved.secretRecoveryWindowDays);
    return resolved;
}
