// The MWAA environment's inputs that are decisions, as pure functions.
import * as aws from "@pulumi/aws";
import { MwaaLogLevel, MwaaLogModule } from "../../config/mwaa";
import { sharedAirflowOptions } from "../../lib/airflow";
import { workerLifecycleOptions } from "../../lib/worker-lifecycle";
import { MWAA_S3_PATHS, MwaaEnvironmentArgs, ResolvedArgs } from "./args";

/** The five log modules, each enabled at its level. */
export function loggingConfiguration(
    levels: Record<MwaaLogModule, MwaaLogLevel>,
): aws.types.input.mwaa.EnvironmentLoggingConfiguration {
    const module = (m: MwaaLogModule) => ({ enabled: true, logLevel: levels[m] });
    return {
        dagProcessingLogs: module("DagProcessing"),
        schedulerLogs: module("Scheduler"),
        taskLogs: module("Task"),
        webserverLogs: module("Webserver"),
        workerLogs: module("Worker"),
    };
}

/**
 * The environment's inputs that follow from the resolved arguments and the source bucket: name,
 * version, class and capacity, access mode, maintenance window, the S3 paths (requirements and plugins
 * only when their object version is given, so that MWAA is pinned to it), logging and the Airflow
 * configuration (the worker-lifecycle options, the user's options, then the options shared with the
 * Celery layout).
 */
export function environmentInputs(
    envName: string,
    resolved: ResolvedArgs,
    source: MwaaEnvironmentArgs["source"],
): Omit<aws.mwaa.EnvironmentArgs, "executionRoleArn" | "networkConfiguration"> {
    return {
        name: envName,
        airflowVersion: resolved.airflowVersion,
        environmentClass: resolved.environmentClass,
        minWorkers: resolved.capacity.minWorkers,
        maxWorkers: resolved.capacity.maxWorkers,
        schedulers: resolved.capacity.schedulers,
        minWebservers: resolved.capacity.minWebservers,
        maxWebservers: resolved.capacity.maxWebservers,
        webserverAccessMode: resolved.webserverAccessMode,
        weeklyMaintenanceWindowStart: resolved.weeklyMaintenanceWindowStart,
        sourceBucketArn: source.bucketArn,
        dagS3Path: MWAA_S3_PATHS.dags,
        ...(source.requirementsVersion !== undefined
            ? {
                  requirementsS3Path: MWAA_S3_PATHS.requirements,
                  requirementsS3ObjectVersion: source.requirementsVersion,
              }
            : {}),
        ...(source.pluginsVersion !== undefined
            ? { pluginsS3Path: MWAA_S3_PATHS.plugins, pluginsS3ObjectVersion: source.pluginsVersion }
            : {}),
        loggingConfiguration: loggingConfiguration(resolved.logLevels),
        airflowConfigurationOptions: {
            // Task heartbeat and queued timeouts, default retries (lib/worker-lifecycle.ts),
            // as on the Celery layout; a stack may override them.
            ...workerLifecycleOptions(resolved.airflowVersion),
            ...resolved.airflowConfigurationOptions,
            ...sharedAirflowOptions(resolved.environment),
        },
    };
}
