/**
 * How Celery workers leave and how the work of a lost worker comes back: the settings that must be
 * chosen together (README, "Workers that leave gracefully"), and the worker container's environment.
 * Pure (no Pulumi, no I/O): the Celery layout's task definitions (through lib/airflow-env.ts), the
 * MWAA environment and the local runner all take their values from here. The worker's command and
 * its IAM grant are in lib/worker-container.ts.
 */
import { airflowMajor } from "../config/versions";

export const WORKER_LIFECYCLE = {
    /**
     * Seconds between SIGTERM and SIGKILL on Fargate (a container's `stopTimeout`, at most 120 s;
     * a Spot interruption gives the same two minutes). The worker finishes its tasks inside it.
     */
    stopTimeoutSeconds: 120,
    /**
     * A running task whose heartbeats stopped (its worker was killed) is failed, and retried, after
     * this long. Task supervisors heartbeat every 5 s (`[workers] min_heartbeat_interval`), so 90 s
     * is 18 missed heartbeats: long enough to ride out an api-server restart, short enough for a
     * killed worker's task to run again within 3 minutes (90 + 10 detection + 30 retry delay).
     * Airflow's default is 300 s.
     */
    heartbeatTimeoutSeconds: 90,
    /** How often the scheduler looks for such tasks (Airflow's default). */
    heartbeatDetectionSeconds: 10,
    /**
     * A task queued but not started after this long is handed back to the scheduler (Airflow's
     * default). It must stay well above the time a pool at zero takes to start a worker (about 2-3
     * minutes), or tasks waiting for a new worker would be re-queued.
     */
    queuedTimeoutSeconds: 600,
    /** Retries a task gets unless it sets its own: a task on a lost worker runs again, once or twice. */
    defaultTaskRetries: 2,
    /** Seconds before a retry unless the task sets its own (Airflow's default is 300). */
    defaultRetryDelaySeconds: 30,
    /**
     * Seconds before the broker re-delivers a message that a worker received but never acknowledged
     * (acks_late: acknowledged when the task ends). Longer than any task may run, so a running task's
     * message is never delivered twice (SQS's maximum, 12 hours). A killed worker's task does not wait
     * for it: the heartbeat timeout retries it with a new message; the old one comes back after 12 h
     * and the execution API refuses to run it (the task instance is no longer queued).
     */
    visibilityTimeoutSeconds: 43200,
    /**
     * Seconds the scheduler gives one send of a task to the broker (`[celery] operation_timeout`;
     * Airflow's default is 1 s). The first send of a scheduler process imports kombu's transport (redis,
     * or boto3 for SQS) under that SIGALRM timeout; on a loaded task the import takes longer, is cut
     * off half-way, and the half-imported module fails every later send of that process until it
     * restarts ("module 'redis' has no attribute 'client'", apache/airflow 41359; seen with Airflow
     * 3.0.6's celery provider in the upgrade drill, and the SQS transport has no pre-import at all).
     * A send to a reachable broker takes milliseconds, so a longer limit only matters when it hangs.
     */
    brokerOperationTimeoutSeconds: 10,
    /** Messages a worker process reserves ahead: 1, so a lost worker strands no queued work. */
    prefetchMultiplier: 1,
    /** Minutes each protect call protects the worker's task for (renewed while busy). */
    protectionExpiresMinutes: 30,
    /** Seconds between renewals while busy (well inside the expiry). */
    protectionRenewSeconds: 600,
    /** Seconds idle before the protection is released. */
    protectionIdleSeconds: 10,
} as const;

/**
 * Airflow options of both layouts, as `section.key` (MWAA's form; MWAA takes custom options, see
 * https://docs.aws.amazon.com/mwaa/latest/userguide/configuring-env-variables.html): the scheduler's
 * task-heartbeat and queued timeouts and the default retries. Airflow 3 renamed
 * `scheduler_zombie_task_threshold` to `task_instance_heartbeat_timeout`.
 */
export function workerLifecycleOptions(airflowVersion: string): Readonly<Record<string, string>> {
    const v3 = airflowMajor(airflowVersion) === 3;
    const l = WORKER_LIFECYCLE;
    return {
        [v3 ? "scheduler.task_instance_heartbeat_timeout" : "scheduler.scheduler_zombie_task_threshold"]: String(
            l.heartbeatTimeoutSeconds,
        ),
        [v3 ? "scheduler.task_instance_heartbeat_timeout_detection_interval" : "scheduler.zombie_detection_interval"]:
            String(l.heartbeatDetectionSeconds),
        "scheduler.task_queued_timeout": String(l.queuedTimeoutSeconds),
        "core.default_task_retries": String(l.defaultTaskRetries),
        "core.default_task_retry_delay": String(l.defaultRetryDelaySeconds),
    };
}

/**
 * Celery settings of the Celery layout (every component: the scheduler's Celery app sends with the
 * same settings): late acknowledgement, one message reserved at a time, the send timeout, and the broker's visibility
 * timeout (the SQS broker's is part of its transport options, see lib/airflow-env.ts).
 */
export function celeryLifecycleEnvironment(broker: "redis" | "sqs"): Readonly<Record<string, string>> {
    const l = WORKER_LIFECYCLE;
    return {
        AIRFLOW__CELERY__TASK_ACKS_LATE: "True",
        AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER: String(l.prefetchMultiplier),
        AIRFLOW__CELERY__OPERATION_TIMEOUT: String(l.brokerOperationTimeoutSeconds),
        ...(broker === "redis"
            ? { AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT: String(l.visibilityTimeoutSeconds) }
            : {}),
    };
}

/**
 * The worker container's own environment: dumb-init (the official image's init) passes SIGTERM to
 * the worker's main process only, so Celery shuts down warm instead of its pool children dying with
 * the signal (https://airflow.apache.org/docs/docker-stack/entrypoint.html, "Signal propagation");
 * and the launcher's protection settings.
 */
export function workerContainerEnvironment(): Readonly<Record<string, string>> {
    const l = WORKER_LIFECYCLE;
    return {
        DUMB_INIT_SETSID: "0",
        WORKER_PROTECTION_EXPIRES_MINUTES: String(l.protectionExpiresMinutes),
        WORKER_PROTECTION_RENEW_SECONDS: String(l.protectionRenewSeconds),
        WORKER_PROTECTION_IDLE_SECONDS: String(l.protectionIdleSeconds),
    };
}
