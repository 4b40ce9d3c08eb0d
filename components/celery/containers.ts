import * as aws from "@pulumi/aws";
import { readFileSync } from "fs";
import * as path from "path";
import { ContainerEnv, DAGS_FOLDER } from "../../lib/airflow-env";
import { queueMetricsPublishing } from "../../lib/worker-scaling";
import { agentContainer } from "../observability/agent";
import { QUEUE_AGE_METRIC } from "../observability/spec";
import { AIRFLOW_GID, AIRFLOW_UID, ARTIFACT_KEYS } from "../storage";
import { mountsSharedFs, ServiceSpec } from "./services";
import { withoutEntrypointChecks } from "./entrypoint";
import { withRdsCaBundle } from "./tls";

/** The sidecar programs, shipped in the task definitions so they run in any Airflow image. */
const SIDECARS = path.join(__dirname, "..", "..", "sidecars");

/** Where the shared file system is mounted in every Airflow container. */
export const SHARED_MOUNT = "/opt/airflow/shared";

/** CloudWatch namespace and metric of the queue-depth publisher that drives worker scaling. */
export const QUEUE_METRIC = { namespace: "Airflow/Celery", name: "QueuedAndRunningTasks" } as const;

/** Everything the containers of one task are rendered from: resolved, plain values only. */
export interface ContainersInput {
    spec: Pick<ServiceSpec, "role" | "component" | "command" | "port" | "healthCheck" | "needsDags" | "control"> &
        Partial<Pick<ServiceSpec, "stopTimeout">>;
    env: ContainerEnv;
    image: string;
    logGroup: string;
    region: string;
    /** The artifacts bucket: dag-sync copies its dags/ prefix. */
    bucket: string;
    environment: string;
    /** Celery queues whose depth the control service publishes. */
    queues: readonly string[];
    dagSyncIntervalSeconds: number;
    ecsExec: boolean;
    /** The shared file system is mounted (storage created one). */
    sharedFileSystem: boolean;
    /** The metrics sidecar (agent.ts) every task runs: the Environment dimension and its log group. Default: none. */
    metrics?: { environmentName: string; logGroupName: string; image: string };
    /**
     * Whether the task gets the rds-ca init container and its bundle (default true). Only the local
     * runner (scripts/local) passes false: its PostgreSQL is on loopback without TLS.
     */
    rdsCaBundle?: boolean;
}

const AIRFLOW_USER = `${AIRFLOW_UID}:${AIRFLOW_GID}`;

function sidecar(file: string): string {
    return readFileSync(path.join(SIDECARS, file), "utf8");
}

/** The containers of one task: the metrics agent, sidecars, the migration wait, and the component itself. */
export function taskContainers(input: ContainersInput): aws.ecs.ContainerDefinition[] {
    const containers = input.spec.control ? controlContainers(input) : serviceContainers(input);
    // Every container that connects to the metadata database verifies it against the RDS CA bundle.
    const verified =
        input.rdsCaBundle === false
            ? containers
            : withRdsCaBundle(containers, { ...input, logConfiguration: logConfiguration(input, "rds-ca") });
    // The metrics sidecar first: it listens before Airflow starts (the component itself stays last).
    return input.metrics ? [metricsAgentContainer(input, input.metrics), ...verified] : verified;
}

/** The metrics sidecar of the task: Airflow's StatsD (environment `metrics`) to CloudWatch. */
function metricsAgentContainer(
    input: ContainersInput,
    metrics: NonNullable<ContainersInput["metrics"]>,
): aws.ecs.ContainerDefinition {
    return agentContainer({
        ...metrics,
        role: input.spec.role,
        region: input.region,
        taskLogGroupName: input.logGroup,
    }) as unknown as aws.ecs.ContainerDefinition;
}

function logConfiguration(input: ContainersInput, prefix: string): aws.ecs.LogConfiguration {
    return {
        logDriver: "awslogs",
        options: {
            "awslogs-group": input.logGroup,
            "awslogs-region": input.region,
            "awslogs-stream-prefix": prefix,
        },
    };
}

function sidecarEnv(input: ContainersInput, extra: Record<string, string>): aws.ecs.KeyValuePair[] {
    return withoutEntrypointChecks(
        Object.entries({ AWS_DEFAULT_REGION: input.region, ...extra })
            .map(([n, v]) => ({ name: n, value: v }))
            .sort((x, y) => x.name.localeCompare(y.name)),
    );
}

function linuxParameters(input: ContainersInput): aws.ecs.LinuxParameters | undefined {
    return input.ecsExec ? { initProcessEnabled: true } : undefined;
}

function dbConnSecret(input: ContainersInput): aws.ecs.Secret[] {
    return input.env.secrets.filter((s) => s.name === "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN");
}

/** The control service: migrate once, then keep the task alive publishing the queue depth. */
export function controlContainers(input: ContainersInput): aws.ecs.ContainerDefinition[] {
    return [
        {
            name: "migrate",
            image: input.image,
            essential: false,
            user: AIRFLOW_USER,
            command: ["bash", "-c", migrateScript()],
            environment: input.env.environment,
            secrets: input.env.secrets,
            logConfiguration: logConfiguration(input, "migrate"),
            linuxParameters: linuxParameters(input),
        },
        {
            // Starts only when the migrations succeeded; keeps the task (and so the
            // deployment) alive, publishing the queue depth that scales the workers.
            name: "queue-metrics",
            image: input.image,
            essential: true,
            user: AIRFLOW_USER,
            command: ["python", "-c", sidecar("queue_metrics.py")],
            environment: sidecarEnv(input, {
                QUEUE_METRICS_ENVIRONMENT: input.environment,
                QUEUE_METRICS_NAMESPACE: QUEUE_METRIC.namespace,
                QUEUE_METRICS_NAME: QUEUE_METRIC.name,
                QUEUE_METRICS_AGE_NAME: QUEUE_AGE_METRIC.name,
                QUEUE_METRICS_QUEUES: input.queues.join(","),
                // Every 10 s at high resolution: the scale-out alarm reads 10-second datapoints.
                ...queueMetricsPublishing(),
            }),
            secrets: dbConnSecret(input),
            dependsOn: [{ containerName: "migrate", condition: "SUCCESS" }],
            logConfiguration: logConfiguration(input, "queue-metrics"),
            linuxParameters: linuxParameters(input),
        },
    ];
}

/**
 * Prepares the dags volume for dag-sync. On Fargate a bind-mount volume starts empty, owned by
 * root with mode 0755, unless the image declares a VOLUME at its path (our Dockerfile does not, and
 * a user's own image may not): this container, the only one running as root, gives the directory to
 * the airflow user and exits; dag-sync and the component wait for it with condition SUCCESS. It runs
 * the task's own image (no other image to pull), whose entrypoint runs `bash` commands as given.
 * Source: Amazon ECS Developer Guide, "Bind mounts" (Fargate tasks).
 */
export function prepareDagsContainer(input: ContainersInput): aws.ecs.ContainerDefinition {
    return {
        name: "prepare-dags",
        image: input.image,
        essential: false,
        user: "0",
        command: ["bash", "-c", `chown ${AIRFLOW_USER} ${DAGS_FOLDER} && chmod 0775 ${DAGS_FOLDER}`],
        environment: withoutEntrypointChecks([]),
        mountPoints: [{ sourceVolume: "dags", containerPath: DAGS_FOLDER, readOnly: false }],
        logConfiguration: logConfiguration(input, "prepare-dags"),
    };
}

/** The file dag-sync touches after each complete sync; its age is the sidecar's health. */
export const DAG_SYNC_READY_FILE = "/tmp/dags-synced";

/**
 * A CMD-SHELL health check that passes while `file` exists and was modified less than `maxAgeS` seconds
 * ago. Shell and coreutils only (`date`, `stat`, in every Debian-based image as the Airflow image is):
 * no Python interpreter started every interval, on a sidecar of 256 CPU units or less.
 */
export function readyFileCheck(file: string, maxAgeS: number): string {
    return `test -f ${file} && test $(( $(date +%s) - $(stat -c %Y ${file}) )) -lt ${maxAgeS}`;
}

/** The dag-sync sidecar: copies dags/ from the bucket into the dags volume, healthy while syncs finish. */
export function dagSyncContainer(input: ContainersInput): aws.ecs.ContainerDefinition {
    return {
        name: "dag-sync",
        image: input.image,
        essential: true,
        user: AIRFLOW_USER,
        command: ["python", "-c", sidecar("dag_sync.py")],
        environment: sidecarEnv(input, {
            DAG_SYNC_BUCKET: input.bucket,
            DAG_SYNC_PREFIX: ARTIFACT_KEYS.dags,
            DAG_SYNC_DEST: DAGS_FOLDER,
            DAG_SYNC_INTERVAL_SECONDS: String(input.dagSyncIntervalSeconds),
            DAG_SYNC_READY_FILE,
        }),
        mountPoints: [{ sourceVolume: "dags", containerPath: DAGS_FOLDER, readOnly: false }],
        dependsOn: [{ containerName: "prepare-dags", condition: "SUCCESS" }],
        healthCheck: {
            // Healthy once the first sync finished, and as long as syncs keep finishing.
            command: ["CMD-SHELL", readyFileCheck(DAG_SYNC_READY_FILE, 3 * input.dagSyncIntervalSeconds + 60)],
            interval: 15,
            timeout: 5,
            retries: 4,
            startPeriod: 30,
        },
        logConfiguration: logConfiguration(input, "dag-sync"),
    };
}

/** A long-running service's task: wait for migrations, dag-sync where DAGs are read, the component. */
export function serviceContainers(input: ContainersInput): aws.ecs.ContainerDefinition[] {
    const { spec } = input;
    const containers: aws.ecs.ContainerDefinition[] = [];
    const dependsOn: aws.ecs.ContainerDependency[] = [];
    if (spec.component !== "flower") {
        containers.push({
            name: "wait-for-migrations",
            image: input.image,
            essential: false,
            user: AIRFLOW_USER,
            command: ["db", "check-migrations", "--migration-wait-timeout", "1200"],
            environment: input.env.environment,
            secrets: dbConnSecret(input),
            logConfiguration: logConfiguration(input, "wait-for-migrations"),
        });
        dependsOn.push({ containerName: "wait-for-migrations", condition: "SUCCESS" });
    }
    if (spec.needsDags) {
        containers.push(prepareDagsContainer(input), dagSyncContainer(input));
        dependsOn.push(
            { containerName: "prepare-dags", condition: "SUCCESS" },
            { containerName: "dag-sync", condition: "HEALTHY" },
        );
    }
    const dagsMount: aws.ecs.MountPoint = { sourceVolume: "dags", containerPath: DAGS_FOLDER, readOnly: true };
    const sharedMount: aws.ecs.MountPoint[] =
        input.sharedFileSystem && mountsSharedFs(spec) ? [{ sourceVolume: "shared", containerPath: SHARED_MOUNT }] : [];
    containers.push({
        name: spec.component,
        image: input.image,
        essential: true,
        user: AIRFLOW_USER,
        command: spec.command,
        environment: withoutEntrypointChecks(input.env.environment),
        secrets: input.env.secrets,
        portMappings: spec.port ? [{ containerPort: spec.port, protocol: "tcp" }] : [],
        mountPoints: [...(spec.needsDags ? [dagsMount] : []), ...sharedMount],
        healthCheck: {
            command: ["CMD-SHELL", spec.healthCheck],
            interval: 30,
            timeout: 20,
            retries: 5,
            startPeriod: 180,
        },
        dependsOn,
        stopTimeout: spec.stopTimeout,
        logConfiguration: logConfiguration(input, spec.component),
        linuxParameters: linuxParameters(input),
    });
    return containers;
}

/**
 * The migration container's script: refuse an Airflow older than the one that migrated the database,
 * migrate, then create the admin user only if it is absent.
 */
export function migrateScript(): string {
    return [
        "set -euo pipefail",
        // Refuses, in one line, an Airflow older than the one that migrated the database (a rollback),
        // run by the interpreter of the airflow command (its #! line), whatever `python` is on the PATH.
        'read -r airflow_python < "$(command -v airflow)"',
        `\${airflow_python#\\#!} - <<'MIGRATION_GUARD'\n${readFileSync(path.join(SIDECARS, "migration_guard.py"), "utf8")}MIGRATION_GUARD`,
        "airflow db migrate",
        "if airflow users list --output json | python -c \"import json,sys; sys.exit(0 if any(u.get('username') == 'admin' for u in json.load(sys.stdin)) else 1)\"; then",
        '  echo "admin user exists"',
        "else",
        '  airflow users create --username admin --role Admin --firstname Airflow --lastname Admin --email admin@example.invalid --password "$AIRFLOW_ADMIN_PASSWORD"',
        "fi",
    ].join("\n");
}
