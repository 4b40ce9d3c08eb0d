/**
 * One Airflow environment, one function: the container `environment` and `secrets` of every Airflow
 * component of the Celery layout. It is pure (no Pulumi, no I/O), so the program renders every task
 * definition with it and the local runner (`npm run local`) runs a real Airflow from the same output.
 * Nothing else writes `AIRFLOW__*` variables.
 */
import { sharedAirflowOptions } from "./airflow";
import { DEFAULT_QUEUE, WORKER_POOL_FIELD_DEFAULTS } from "../config/celery";
import { airflowMajor } from "../config/versions";
import {
    celeryLifecycleEnvironment,
    WORKER_LIFECYCLE,
    workerContainerEnvironment,
    workerLifecycleOptions,
} from "./worker-lifecycle";

export const AIRFLOW_COMPONENTS = [
    "api-server",
    "webserver",
    "scheduler",
    "dag-processor",
    "triggerer",
    "worker",
    "flower",
    "migrations",
] as const;
export type AirflowComponent = (typeof AIRFLOW_COMPONENTS)[number];

/** Where the DAGs are inside every container. */
export const DAGS_FOLDER = "/opt/airflow/dags";

/** The references of Airflow's secrets (ARNs on AWS; local names for the local runner). */
export interface AirflowSecretRefs {
    sqlAlchemyConn: string;
    resultBackend: string;
    brokerUrl: string;
    fernetKey: string;
    apiSecretKey: string;
    /** Airflow 3 only. */
    jwtSecret?: string;
    adminPassword: string;
    flowerBasicAuth?: string;
}

export interface AirflowEnvSettings {
    /** e.g. "3.0.6": the major version picks settings and component names. */
    airflowVersion: string;
    /** Environment name (Secrets Manager prefixes). */
    environment: string;
    /** AWS region of the environment's services. */
    region: string;
    component: AirflowComponent;
    /** The Celery broker: redis (URL in a secret) or sqs (queue URLs by Celery queue name). */
    broker: { type: "redis" } | { type: "sqs"; queueUrls: Readonly<Record<string, string>> };
    /** The artifacts bucket: remote task logs go to s3://<bucket>/logs. */
    artifactsBucket: string;
    /** The Airflow UI's URL as users reach it. */
    baseUrl: string;
    /** Airflow 3: the api-server's execution API as workers reach it, e.g. http://api-server.ns:8080/execution/ */
    executionApiUrl: string;
    /** Celery worker concurrency (workers only). Default: a worker pool's, 16 (WORKER_POOL_FIELD_DEFAULTS). */
    workerConcurrency?: number;
    secrets: AirflowSecretRefs;
    /** Extra non-secret settings, by env var name; they may not override the ones this function owns. */
    extra?: Readonly<Record<string, string>>;
    /** Endpoint override for AWS APIs (the local runner's moto server). */
    awsEndpointUrl?: string;
    /** Where the DAGs are. Default: /opt/airflow/dags (the containers' DAGs volume). */
    dagsFolder?: string;
    /** Send Airflow's metrics by StatsD to this target (the task's metrics sidecar). Default: metrics off. */
    metrics?: MetricsTarget;
}

/** Where a component sends its StatsD metrics: the metrics sidecar of its task. */
export interface MetricsTarget {
    host: string;
    port: number;
    /** [metrics] statsd_prefix: the collector's rules expect it before every name. */
    prefix: string;
}

/**
 * Airflow's metrics settings: StatsD on, to the task's metrics sidecar
 * (components/observability/agent.ts, STATSD_ENDPOINT and STATSD_PREFIX).
 * https://airflow.apache.org/docs/apache-airflow/3.3.1/administration-and-deployment/logging-monitoring/metrics.html
 *
 * Legacy names on: since Airflow 3.2 a metric such as `pool.open_slots`, `dagrun.duration.failed` or
 * `ti.finish` carries its pool, DAG or task state in a tag, which plain StatsD drops; only its legacy name
 * (`pool.open_slots.<pool>`, `dagrun.duration.failed.<dag_id>`, `ti.finish.<dag_id>.<task_id>.<state>`)
 * keeps it, and the collector's rules
 * (components/observability/metrics.ts) read the dimension from there. `[metrics] legacy_names_on`
 * defaults to True in 3.3; set here so that the names the rules map do not depend on that default.
 */
export function airflowMetricsEnvironment(m: MetricsTarget): Record<string, string> {
    return {
        AIRFLOW__METRICS__STATSD_ON: "True",
        AIRFLOW__METRICS__STATSD_HOST: m.host,
        AIRFLOW__METRICS__STATSD_PORT: String(m.port),
        AIRFLOW__METRICS__STATSD_PREFIX: m.prefix,
        AIRFLOW__METRICS__LEGACY_NAMES_ON: "True",
    };
}

export interface ContainerEnv {
    environment: { name: string; value: string }[];
    secrets: { name: string; valueFrom: string }[];
}

/**
 * The endings of secret-looking setting names. The policy pack (policy/policies.ts, compiled on its
 * own) keeps a copy, SECRET_MARKERS; tests/policy.test.ts keeps the two equal.
 */
export const SECRET_SETTING_MARKERS = [
    "FERNET_KEY",
    "SECRET_KEY",
    "JWT_SECRET",
    "PASSWORD",
    "SQL_ALCHEMY_CONN",
    "RESULT_BACKEND",
    "BROKER_URL",
    "BASIC_AUTH",
    "TOKEN",
] as const;

/** Secret-looking setting names: these must only ever come from `secrets`. */
export const SECRET_SETTING = new RegExp(`(${SECRET_SETTING_MARKERS.join("|")})$`);

/**
 * Flower's environment. Flower runs as Celery's own tool (`python -m celery flower`, the command of
 * componentCommand), without Airflow: it reads the broker from CELERY_BROKER_URL (Celery's setting,
 * the same URL the Airflow components get, TLS options included) and its basic auth from
 * FLOWER_BASIC_AUTH (Flower takes every option from a FLOWER_ variable). So the one task behind an
 * internet-facing listener holds no database password, and it starts in under a second, not after
 * Airflow's seconds of imports. (Like every main container, its image entrypoint's `airflow db
 * check` is off: components/celery/containers.ts, withoutEntrypointChecks.)
 */
function flowerEnvironment(s: AirflowEnvSettings): ContainerEnv {
    if (!s.secrets.flowerBasicAuth) throw new Error("Flower needs its basic-auth secret");
    return {
        environment: [],
        secrets: [
            { name: "CELERY_BROKER_URL", valueFrom: s.secrets.brokerUrl },
            { name: "FLOWER_BASIC_AUTH", valueFrom: s.secrets.flowerBasicAuth },
        ],
    };
}

/**
 * Renders the environment of one Airflow component. Secrets appear only in `secrets` (ECS resolves
 * each `valueFrom` from Secrets Manager when the task starts), and each component gets only the
 * secrets it uses. Both lists are sorted by name.
 */
export function renderAirflowEnvironment(s: AirflowEnvSettings): ContainerEnv {
    if (s.component === "flower") return flowerEnvironment(s);
    const v3 = airflowMajor(s.airflowVersion) === 3;
    if (!v3 && (s.component === "api-server" || s.component === "dag-processor")) {
        throw new Error(
            `Airflow ${s.airflowVersion} has no ${s.component}; use webserver (and the scheduler parses DAGs)`,
        );
    }
    if (v3 && s.component === "webserver") {
        throw new Error(`Airflow ${s.airflowVersion} has no webserver; use api-server`);
    }
    const env: Record<string, string> = {
        AIRFLOW__CORE__EXECUTOR: "CeleryExecutor",
        AIRFLOW__CORE__DAGS_FOLDER: s.dagsFolder ?? DAGS_FOLDER,
        AIRFLOW__CORE__LOAD_EXAMPLES: "False",
        AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION: "True",
        AIRFLOW__DATABASE__CHECK_MIGRATIONS: "True",
        AIRFLOW__LOGGING__REMOTE_LOGGING: "True",
        AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER: `s3://${s.artifactsBucket}/logs`,
        AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID: "aws_default",
        // The remote-log connection must exist: Airflow 3.0.6's task supervisor fails every task when it
        // does not. This one holds no credentials, so boto3 uses the task role's (and the region).
        AIRFLOW_CONN_AWS_DEFAULT: `aws://?region_name=${s.region}`,
        AIRFLOW__LOGGING__ENCRYPT_S3_LOGS: "False", // the bucket encrypts every object by default
        ...Object.fromEntries(
            Object.entries({
                ...sharedAirflowOptions(s.environment),
                // Task heartbeat and queued timeouts, default retries: lib/worker-lifecycle.ts.
                ...workerLifecycleOptions(s.airflowVersion),
            }).map(([option, value]) => [`AIRFLOW__${option.toUpperCase().replace(".", "__")}`, value]),
        ),
        AIRFLOW__OPERATORS__DEFAULT_QUEUE: DEFAULT_QUEUE,
        AIRFLOW__CELERY__WORKER_CONCURRENCY: String(s.workerConcurrency ?? WORKER_POOL_FIELD_DEFAULTS.concurrency),
        AWS_DEFAULT_REGION: s.region,
        AWS_REGION: s.region,
        ...celeryLifecycleEnvironment(s.broker.type),
        // Warm shutdown and scale-in protection of the worker container (lib/worker-lifecycle.ts).
        ...(s.component === "worker" ? workerContainerEnvironment() : {}),
    };
    if (v3) {
        env.AIRFLOW__CORE__AUTH_MANAGER = "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager";
        env.AIRFLOW__CORE__EXECUTION_API_SERVER_URL = s.executionApiUrl;
        env.AIRFLOW__API__BASE_URL = s.baseUrl;
        env.AIRFLOW__API__EXPOSE_CONFIG = "False";
    } else {
        env.AIRFLOW__WEBSERVER__BASE_URL = s.baseUrl;
        env.AIRFLOW__WEBSERVER__EXPOSE_CONFIG = "False";
        env.AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR = "False";
    }
    if (s.broker.type === "sqs") {
        // Celery's SQS transport only uses the queues listed here and cannot be inspected remotely.
        env.AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL = "False";
        env.AIRFLOW__CELERY__EXTRA_CELERY_CONFIG = JSON.stringify({
            broker_transport_options: {
                region: s.region,
                visibility_timeout: WORKER_LIFECYCLE.visibilityTimeoutSeconds,
                predefined_queues: Object.fromEntries(
                    Object.entries(s.broker.queueUrls)
                        .sort(([a], [b]) => (a < b ? -1 : 1))
                        .map(([queue, url]) => [queue, { url }]),
                ),
            },
        });
    }
    if (s.metrics) Object.assign(env, airflowMetricsEnvironment(s.metrics));
    if (s.awsEndpointUrl) env.AWS_ENDPOINT_URL = s.awsEndpointUrl;
    for (const [name, value] of Object.entries(s.extra ?? {})) {
        if (name in env) throw new Error(`${name} is set by the platform and cannot be overridden`);
        if (SECRET_SETTING.test(name))
            throw new Error(`${name} looks like a secret: it must come from Secrets Manager`);
        env[name] = value;
    }

    const secrets: Record<string, string> = {};
    const core = () => {
        secrets.AIRFLOW__DATABASE__SQL_ALCHEMY_CONN = s.secrets.sqlAlchemyConn;
        secrets.AIRFLOW__CORE__FERNET_KEY = s.secrets.fernetKey;
        secrets.AIRFLOW__CELERY__RESULT_BACKEND = s.secrets.resultBackend;
        secrets.AIRFLOW__CELERY__BROKER_URL = s.secrets.brokerUrl;
        // The UI signs requests to the worker and triggerer log servers with this key: the same everywhere.
        secrets[v3 ? "AIRFLOW__API__SECRET_KEY" : "AIRFLOW__WEBSERVER__SECRET_KEY"] = s.secrets.apiSecretKey;
        if (v3) {
            if (!s.secrets.jwtSecret) throw new Error("Airflow 3 needs the JWT secret");
            secrets.AIRFLOW__API_AUTH__JWT_SECRET = s.secrets.jwtSecret;
        }
    };
    switch (s.component) {
        case "migrations":
            core();
            secrets.AIRFLOW_ADMIN_PASSWORD = s.secrets.adminPassword;
            break;
        default:
            core();
    }
    const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return {
        environment: Object.entries(env)
            .map(([name, value]) => ({ name, value }))
            .sort(byName),
        secrets: Object.entries(secrets)
            .map(([name, valueFrom]) => ({ name, valueFrom }))
            .sort(byName),
    };
}
