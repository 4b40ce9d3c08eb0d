import { z } from "zod";
import { WORKER_LIFECYCLE } from "../lib/worker-lifecycle";
import { intKey, key, KeySpec } from "./spec";

/**
 * The oldest-queued-task alarm must fire before the scheduler hands a stuck queued task back
 * (`[scheduler] task_queued_timeout`, lib/worker-lifecycle.ts): that resets the task's queued time, so
 * on the Celery layout no queued task is ever older than the timeout.
 */
const OLDEST_QUEUED_MAX_MINUTES = Math.floor(WORKER_LIFECYCLE.queuedTimeoutSeconds / 60) - 1;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** Alarms and where they go (both layouts). The thresholds' meaning is in README.md's runbook. */
export const observabilityKeys = {
    alarmEmails: key<string[]>({
        type: "array",
        description: "Email addresses the stack's alarm topic notifies (each confirms the subscription by email).",
        default: [],
        allowed: "a list of email addresses",
        schema: z.array(z.string().regex(EMAIL)),
    }),
    alarmHttpsEndpoints: key<string[]>({
        type: "array",
        description:
            "HTTPS URLs the stack's alarm topic posts to (chat or paging webhooks; each confirms the subscription).",
        default: [],
        allowed: "a list of https:// URLs",
        schema: z.array(z.string().regex(/^https:\/\/[^\s/]+(\/\S*)?$/)),
    }),
    alarmHeartbeatMissingMinutes: intKey(
        1,
        60,
        5,
        "Minutes without a scheduler heartbeat before the scheduler-heartbeat alarm fires.",
    ),
    alarmQueuedWithoutWorkerMinutes: intKey(
        2,
        120,
        10,
        "Minutes tasks may stay queued on a pool with no worker running (longer than a scale-out from zero takes) before the queued-without-worker alarm fires.",
    ),
    alarmOldestQueuedTaskMinutes: intKey(
        1,
        OLDEST_QUEUED_MAX_MINUTES,
        5,
        `Age in minutes of the oldest queued task that fires the oldest-queued-task alarm; below the scheduler's task_queued_timeout (${WORKER_LIFECYCLE.queuedTimeoutSeconds / 60} minutes), which re-queues older tasks.`,
    ),
    alarmImportErrors: intKey(
        0,
        1000,
        0,
        "The import-errors alarm fires when more DAG files than this fail to import.",
    ),
    alarmFailedDagRunsPerHour: intKey(
        0,
        10000,
        3,
        "The dag-run-failures alarm fires when more DAG runs than this fail in an hour.",
    ),
    alarmDbCpuPercent: intKey(
        1,
        100,
        80,
        "Average CPU (%) of the metadata database over 15 minutes that fires the database-cpu alarm (Celery layout).",
    ),
    alarmDbFreeStorageGb: intKey(
        1,
        1000,
        2,
        "Free storage (GB) of the metadata database below which the database-storage alarm fires (Celery layout).",
    ),
    alarmDbConnections: intKey(
        1,
        10000,
        80,
        "Connections to the metadata database above which, for 10 minutes, the database-connections alarm fires (Celery layout; db.t4g.micro allows about 80).",
    ),
    alarmLb5xxPer5Minutes: intKey(
        0,
        100000,
        10,
        "5xx responses of the load balancer in 5 minutes above which the load-balancer-5xx alarm fires (Celery layout).",
    ),
    alarmUnhealthyTargetMinutes: intKey(
        1,
        60,
        5,
        "Minutes an api-server target may fail its health check before the api-server-unhealthy alarm fires (Celery layout).",
    ),
} satisfies Record<string, KeySpec<unknown>>;
