/**
 * The worker container of the Celery layout: its command (the launcher that adds scale-in protection
 * to `airflow celery worker`) and the IAM statement that protection needs. The worker pools' task
 * definitions run the command (components/celery/services.ts, and so `npm run local`, which renders
 * them) and the worker task role has the statement (components/celery/iam.ts); see README, "Workers
 * that leave gracefully".
 */
import { readFileSync } from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { Statement } from "./iam";

/** The launcher every worker container runs (sidecars/celery_worker.py), shipped with `python -c`. */
export const WORKER_LAUNCHER = path.join(__dirname, "..", "sidecars", "celery_worker.py");

/**
 * The worker container's command: the launcher (scale-in protection, warm-shutdown logging) running
 * `airflow celery worker` in its own process. The official image's entrypoint runs a command that
 * starts with `python` as it is.
 */
export function workerCommand(queues: readonly string[], concurrency: number): string[] {
    if (queues.length === 0) throw new Error("a worker needs at least one queue");
    if (!Number.isInteger(concurrency) || concurrency < 1) {
        throw new Error(`worker concurrency must be a whole number of at least 1, got ${concurrency}`);
    }
    return [
        "python",
        "-c",
        readFileSync(WORKER_LAUNCHER, "utf8"),
        "celery",
        "worker",
        "--queues",
        queues.join(","),
        "--concurrency",
        String(concurrency),
    ];
}

/**
 * What the worker's task role needs for scale-in protection: `ecs:UpdateTaskProtection` (the ECS
 * agent's PUT calls it with the task's role) on the tasks of this cluster only. The Service
 * Authorization Reference gives the action the resource type `task`
 * (`arn:${Partition}:ecs:${Region}:${Account}:task/${ClusterName}/${TaskId}`) and the condition key
 * `ecs:cluster` (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
 * A task cannot name its own ARN in its role, so the cluster is the narrowest scope. The launcher
 * never reads the protection, so `ecs:GetTaskProtection` is not granted.
 */
export function taskProtectionStatement(cluster: {
    partition: pulumi.Input<string>;
    region: pulumi.Input<string>;
    account: pulumi.Input<string>;
    name: pulumi.Input<string>;
    arn: pulumi.Input<string>;
}): Statement {
    return {
        Sid: "ProtectOwnTaskFromScaleIn",
        Effect: "Allow",
        Action: "ecs:UpdateTaskProtection",
        Resource: pulumi.interpolate`arn:${cluster.partition}:ecs:${cluster.region}:${cluster.account}:task/${cluster.name}/*`,
        Condition: { ArnEquals: { "ecs:cluster": cluster.arn } },
    };
}
