// The program's side of the local stack: the mirrored stack's configuration, read by the program's own
// parser (config/), and what the program's own functions make of it (components/celery's service specs
// and commands, lib/airflow-env's container environments, the control service's migration script).
// Loading it loads @pulumi/pulumi and @pulumi/aws (seconds of CPU): units.ts imports it lazily, only
// when its cache (.local/rendered.json) is stale, so a warm start does not wait for it.
import { readFileSync } from "fs";
import * as path from "path";
import { parse } from "yaml";
import { airflowServices, componentCommand, migrateScript, taskContainers } from "../../components/celery";
import { taskVolumes } from "../../components/celery/service";
import { RDS_CA_VOLUME } from "../../components/celery/tls";
import { ARTIFACT_KEYS } from "../../components/storage";
import { healthPath } from "../../components/celery/services";
import { AirflowConfig, parseConfig } from "../../config";
import { AirflowComponent, ContainerEnv, renderAirflowEnvironment } from "../../lib/airflow-env";
import { workerCommand } from "../../lib/worker-container";
import { PORTS, ROOT } from "./paths";
import type { TaskDef } from "./tasks";
import { ENVIRONMENT, localSecretArn, REGION, STACK } from "./units";

/** Locally, dag-sync copies the bucket's DAGs every 2 s (the stack's interval is a minute): new DAG files show within seconds. */
export const LOCAL_DAG_SYNC_INTERVAL_SECONDS = 2;

/**
 * The configuration of the stack the local Airflow mirrors, read from its committed stack file and
 * checked by the program's own parser (config/), as the program checks it under the engine (no test
 * harness, no mocks).
 */
export function stackConfig(stack = STACK): AirflowConfig {
    const file = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    return parseConfig({ project: "airflow", stack, config: file?.config ?? {} });
}

/**
 * One Airflow process of the local stack: its unit name, its component and its container's command,
 * as the image's entrypoint takes it (a command that starts with `python` or `bash` runs as it is,
 * any other is the arguments of `airflow`: localEntrypoint).
 */
export type LocalComponent = [name: string, component: AirflowComponent, command: string[]];

/** The mirrored stack's service specs (airflowServices): its Celery settings, Flower on, the Redis broker. */
function localServiceSpecs(config: AirflowConfig): ReturnType<typeof airflowServices> {
    return airflowServices({ ...config.celery, flower: true, airflowMajor: config.airflowMajor, broker: "redis" });
}

/**
 * The Airflow components the mirrored stack runs, from the program's own service specs
 * (airflowServices, components/celery/services.ts), each with the command its ECS service runs
 * (componentCommand; the worker's launcher, workerCommand), plus only the flags one shared machine needs: loopback hosts and ports, one
 * worker consuming every pool's queue (under Celery's default node name, as on ECS), and
 * Flower whatever the stack says (it is how one sees the worker locally). The control service's
 * migration is not among them: units.ts runs it as the `migrate` unit that every component waits for.
 */
export function localComponents(config: AirflowConfig): LocalComponent[] {
    const specs = localServiceSpecs(config);
    const queues = config.celery.workerPools.map((p) => p.name);
    const components: LocalComponent[] = [];
    for (const { component } of specs) {
        if (component === "migrations" || components.some(([, c]) => c === component)) continue;
        const command =
            component === "worker"
                ? // The worker task definition's command (the launcher around `airflow celery worker`).
                  workerCommand(queues, 8)
                : component === "flower"
                  ? [...componentCommand(component, { port: PORTS.flower }), "--address=127.0.0.1"]
                  : component === "api-server" || component === "webserver"
                    ? [...componentCommand(component, { port: PORTS.apiServer }), "--host", "127.0.0.1"]
                    : componentCommand(component);
        components.push([component, component, command]);
    }
    return components;
}

/** What the local stack takes from the program (cached by units.ts in .local/rendered.json). */
export interface RenderedStack {
    key: string;
    airflowVersion: string;
    /** The UI's health path (api-server on Airflow 3, webserver on 2). */
    healthPath: string;
    components: LocalComponent[];
    seedRequest: unknown;
    migrateScript: string;
    /** Each component's environment, its secrets by the ARN of the secret the seed creates in moto (localSecretArn). */
    environments: Partial<Record<AirflowComponent, ContainerEnv>>;
    /**
     * The Celery layout's task definitions, as the program renders them (taskContainers, taskVolumes):
     * `control` (migrate, queue-metrics), then one per component, named after it (one worker for every pool).
     */
    tasks: TaskDef[];
    /** Where the program deploys the DAG files in the artifacts bucket (ARTIFACT_KEYS.dags). */
    dagsPrefix: string;
}

/**
 * Renders the local stack with the program's functions: `airflowVersion` is the installed Airflow's
 * (the stack's when none is installed), `extra` the local settings (units.ts, LOCAL_DIFFERENCES). A
 * local setting replaces the platform's value of the same name (the platform's renderer refuses an
 * override, as it should for a stack's own settings; these are the runner's documented differences).
 */
export function renderStack(input: {
    key: string;
    airflowVersion: string | undefined;
    dagsFolder: string;
    extra: Record<string, string>;
}): RenderedStack {
    const config = stackConfig();
    const airflowVersion = input.airflowVersion ?? config.airflowVersion;
    const components = localComponents(config);
    const environments: RenderedStack["environments"] = {};
    const artifactsBucket = `airflow-${ENVIRONMENT}-artifacts`;
    for (const component of ["migrations" as const, ...components.map(([, c]) => c)]) {
        environments[component] = renderAirflowEnvironment({
            airflowVersion,
            environment: ENVIRONMENT,
            region: REGION,
            component,
            broker: { type: "redis" },
            artifactsBucket: `airflow-${ENVIRONMENT}-artifacts`,
            baseUrl: `http://localhost:${PORTS.apiServer}`,
            executionApiUrl: `http://127.0.0.1:${PORTS.apiServer}/execution/`,
            workerConcurrency: 8,
            secrets: {
                sqlAlchemyConn: localSecretArn("sql-alchemy-conn"),
                resultBackend: localSecretArn("result-backend"),
                brokerUrl: localSecretArn("broker-url"),
                fernetKey: localSecretArn("fernet-key"),
                apiSecretKey: localSecretArn("api-secret-key"),
                jwtSecret: localSecretArn("jwt-secret"),
                adminPassword: localSecretArn("admin-password"),
                flowerBasicAuth: localSecretArn("flower-basic-auth"),
            },
            awsEndpointUrl: `http://127.0.0.1:${PORTS.moto}`,
            // The DAGs are where the task definitions put them: the dags volume, which dag-sync fills.
            extra: {
                AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT: String(PORTS.workerLogs),
                AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT: String(PORTS.triggererLogs),
                AIRFLOW__CELERY__FLOWER_PORT: String(PORTS.flower),
            },
        });
        const env = environments[component]!;
        const environment = env.environment.filter((e) => !(e.name in input.extra));
        for (const [name, value] of Object.entries(input.extra)) environment.push({ name, value });
        environments[component] = { ...env, environment };
    }
    return {
        key: input.key,
        airflowVersion,
        healthPath: healthPath(config.airflowMajor),
        components,
        seedRequest: seedRequestOf(config),
        migrateScript: migrateScript(),
        environments,
        tasks: localTasks(config, components, environments, artifactsBucket),
        dagsPrefix: ARTIFACT_KEYS.dags,
    };
}

/**
 * The task definitions of the local stack: the program's service specs (airflowServices) with the
 * local commands of localComponents, rendered by the program's taskContainers and taskVolumes, as
 * CeleryCluster renders them (no shared file system locally).
 */
export function localTasks(
    config: AirflowConfig,
    components: LocalComponent[],
    environments: RenderedStack["environments"],
    artifactsBucket: string,
): TaskDef[] {
    const specs = localServiceSpecs(config);
    const queues = config.celery.workerPools.map((p) => p.name);
    const render = (name: string, spec: (typeof specs)[number], env: ContainerEnv): TaskDef => ({
        name,
        cpu: spec.cpu,
        // Without the rds-ca step (below), nothing uses its volume.
        volumes: taskVolumes(spec)
            .filter((v) => v.name !== RDS_CA_VOLUME)
            .map((v) => ({ name: v.name as string })),
        containers: taskContainers({
            spec,
            env,
            image: "local",
            logGroup: `/airflow/${ENVIRONMENT}`,
            region: REGION,
            bucket: artifactsBucket,
            environment: ENVIRONMENT,
            queues,
            dagSyncIntervalSeconds: LOCAL_DAG_SYNC_INTERVAL_SECONDS,
            ecsExec: false,
            sharedFileSystem: false,
            // No rds-ca step: the local PostgreSQL is on loopback without TLS (README, local differences).
            rdsCaBundle: false,
        }) as unknown as TaskDef["containers"],
    });
    const control = specs.find((s) => s.control)!;
    const tasks = [render("control", control, environments.migrations!)];
    for (const [name, component, command] of components) {
        const spec = specs.find((s) => s.component === component)!;
        tasks.push(render(name, { ...spec, command }, environments[component]!));
    }
    return tasks;
}

/** What seed.py creates in moto: what the program creates for the DAGs, with the stack's ML and job settings. */
function seedRequestOf(config: AirflowConfig): unknown {
    const { ml, jobs } = config;
    return {
        environment: ENVIRONMENT,
        region: REGION,
        artifactsBucket: `airflow-${ENVIRONMENT}-artifacts`,
        mlBucket: `airflow-${ENVIRONMENT}-ml`,
        ml: {
            // The built-in XGBoost image SageMakerTraining resolves in us-east-1, unless the stack names one.
            imageUri: ml.imageUri ?? `683313688378.dkr.ecr.${REGION}.amazonaws.com/sagemaker-xgboost:1.7-1`,
            instanceType: ml.training.instanceType,
            instanceCount: ml.training.instanceCount,
            volumeSizeGb: ml.training.volumeSizeGb,
            maxRuntimeSeconds: ml.training.maxRuntimeSeconds,
            spot: ml.training.spot.enabled,
            maxWaitSeconds: ml.training.spot.maxWaitSeconds,
            transformInstanceType: ml.transformInstanceType,
            vpcMode: ml.vpcMode,
            networkIsolation: ml.training.networkIsolation,
        },
        jobs: { cpu: jobs.cpu, memory: jobs.memory, spot: jobs.spot, image: jobs.image },
    };
}
