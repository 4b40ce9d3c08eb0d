import { DEFAULT_QUEUE, WORKER_POOL_FIELD_DEFAULTS } from "../../config/celery";
import type { Broker, CelerySettings } from "../../config";
import type { AirflowComponent } from "../../lib/airflow-env";
import { workerCommand } from "../../lib/worker-container";
import { WORKER_LIFECYCLE } from "../../lib/worker-lifecycle";
import { PORTS } from "../network";

/** The task roles of the cluster, one per class of service (see iam.ts for what each may do). */
export type TaskRoleKey = "control" | "web" | "scheduler" | "dagProcessor" | "triggerer" | "worker" | "flower";

/** Where a service's tasks are placed: an ECS capacity-provider strategy. */
export interface CapacityProviderStrategy {
    capacityProvider: string;
    weight: number;
    base?: number;
}

/** How one ECS service of the cluster runs: everything but the resources it refers to. */
export interface ServiceSpec {
    /** Role in resource names: api-server, scheduler, worker-default, ... */
    role: string;
    component: AirflowComponent;
    command: string[];
    cpu: number;
    memory: number;
    desiredCount: number;
    /** Reads the DAG files: gets the dags volume and the dag-sync sidecar. */
    needsDags: boolean;
    port?: number;
    healthCheck: string;
    taskRole: TaskRoleKey;
    capacityProviders: CapacityProviderStrategy[];
    workerConcurrency?: number;
    stopTimeout?: number;
    /** The load balancer's target group in front of it. */
    targetGroup?: "api" | "flower";
    /** Registered in service discovery (the api-server: workers reach the execution API there). */
    discovery?: boolean;
    /** The control service: runs the migrations, then publishes the queue depth. */
    control?: boolean;
}

/** What decides the services: the Airflow major version, the broker and the celery settings. */
export interface ServicesInput extends Pick<
    CelerySettings,
    "apiServerCount" | "schedulerCount" | "sizes" | "workerPools" | "flower" | "spotServices"
> {
    airflowMajor: 2 | 3;
    broker: Broker;
}

/** The role (and service-discovery name) of the UI/API service: api-server on Airflow 3, webserver on 2. */
export function apiRole(airflowMajor: 2 | 3): "api-server" | "webserver" {
    return airflowMajor === 3 ? "api-server" : "webserver";
}

/** The UI's health endpoint. */
export function healthPath(airflowMajor: 2 | 3): string {
    return airflowMajor === 3 ? "/api/v2/monitor/health" : "/health";
}

/**
 * The container command that runs a component, as the image's entrypoint takes it (`airflow`
 * arguments; Flower's `python -m celery flower`): the same on ECS and in `npm run local` (which adds
 * only its loopback host flags).
 */
export function componentCommand(
    component: Exclude<AirflowComponent, "migrations">,
    options: { port?: number; queues?: readonly string[]; concurrency?: number } = {},
): string[] {
    switch (component) {
        case "api-server":
        case "webserver":
            return [component, "--port", String(options.port ?? PORTS.airflowWeb)];
        case "scheduler":
        case "dag-processor":
        case "triggerer":
            return [component];
        case "worker":
            return [
                "celery",
                "worker",
                "--queues",
                (options.queues ?? [DEFAULT_QUEUE]).join(","),
                "--concurrency",
                String(options.concurrency ?? WORKER_POOL_FIELD_DEFAULTS.concurrency),
            ];
        case "flower":
            // Celery's own Flower, without Airflow (lib/airflow-env.ts, flowerEnvironment): the image's
            // entrypoint runs `python ...` as it is. Flower parses its options as --name=value.
            return ["python", "-m", "celery", "flower", `--port=${options.port ?? PORTS.flower}`];
    }
}

const jobsCheck = (job: string) => `airflow jobs check --job-type ${job} --local`;
const FARGATE: CapacityProviderStrategy[] = [{ capacityProvider: "FARGATE", weight: 1 }];

/**
 * Where a stateless service (api-server, dag-processor, triggerer, Flower) runs: FARGATE, or with
 * spotServices FARGATE_SPOT, keeping one task on FARGATE when the service runs two or more (so a
 * Spot reclaim never takes the whole UI down at once). A single task goes to Spot entirely: ECS
 * starts a replacement when Spot reclaims it (2 minutes' notice), a short gap a dev stack accepts.
 * The schedulers, the control service and the workers (which set their own) stay where they are.
 */
export function statelessCapacity(spotServices: boolean, count: number): CapacityProviderStrategy[] {
    if (!spotServices) return FARGATE;
    return [
        { capacityProvider: "FARGATE", weight: 0, base: count >= 2 ? 1 : 0 },
        { capacityProvider: "FARGATE_SPOT", weight: 1 },
    ];
}

/** The health check of a Celery worker: a ping over Redis, or the process being there on SQS (no remote control). */
export function workerHealthCheck(broker: Broker): string {
    return broker === "redis"
        ? 'celery --app airflow.providers.celery.executors.celery_executor.app inspect ping --timeout 10 -d "celery@$HOSTNAME"'
        : `python -c "import os,sys; sys.exit(0 if any(b'celery' in open(f'/proc/{p}/cmdline','rb').read() for p in os.listdir('/proc') if p.isdigit()) else 1)"`;
}

/**
 * The ECS services of the Celery layout, in start order: the control service (migrations, queue
 * metric), the UI/API, schedulers, the dag-processor (Airflow 3), the triggerer, one service per
 * worker pool and Flower (when on).
 */
export function airflowServices(input: ServicesInput): ServiceSpec[] {
    const { airflowMajor: major, sizes } = input;
    const api = apiRole(major);
    const specs: ServiceSpec[] = [
        {
            role: "control",
            component: "migrations",
            command: [],
            cpu: 512,
            memory: 1024,
            desiredCount: 1,
            needsDags: false,
            healthCheck: "",
            taskRole: "control",
            capacityProviders: FARGATE,
            control: true,
        },
        {
            role: api,
            component: api,
            command: componentCommand(api),
            ...sizes.apiServer,
            desiredCount: input.apiServerCount,
            needsDags: major === 2,
            port: PORTS.airflowWeb,
            healthCheck: `curl --fail --silent http://localhost:${PORTS.airflowWeb}${healthPath(major)}`,
            taskRole: "web",
            capacityProviders: statelessCapacity(input.spotServices, input.apiServerCount),
            targetGroup: "api",
            discovery: true,
        },
        {
            role: "scheduler",
            component: "scheduler",
            command: componentCommand("scheduler"),
            ...sizes.scheduler,
            desiredCount: input.schedulerCount,
            needsDags: major === 2,
            healthCheck: jobsCheck("SchedulerJob"),
            taskRole: "scheduler",
            capacityProviders: FARGATE,
        },
    ];
    if (major === 3) {
        specs.push({
            role: "dag-processor",
            component: "dag-processor",
            command: componentCommand("dag-processor"),
            ...sizes.dagProcessor,
            desiredCount: 1,
            needsDags: true,
            healthCheck: jobsCheck("DagProcessorJob"),
            taskRole: "dagProcessor",
            capacityProviders: statelessCapacity(input.spotServices, 1),
        });
    }
    specs.push({
        role: "triggerer",
        component: "triggerer",
        command: componentCommand("triggerer"),
        ...sizes.triggerer,
        desiredCount: 1,
        needsDags: true,
        healthCheck: jobsCheck("TriggererJob"),
        taskRole: "triggerer",
        capacityProviders: statelessCapacity(input.spotServices, 1),
    });
    for (const pool of input.workerPools) {
        specs.push({
            role: `worker-${pool.name}`,
            component: "worker",
            // The launcher (scale-in protection while busy) around `airflow celery worker`.
            command: workerCommand([pool.name], pool.concurrency),
            cpu: pool.cpu,
            memory: pool.memory,
            desiredCount: pool.minCount,
            needsDags: true,
            healthCheck: workerHealthCheck(input.broker),
            taskRole: "worker",
            capacityProviders: pool.spot
                ? [
                      { capacityProvider: "FARGATE", weight: 0, base: pool.onDemandBase },
                      { capacityProvider: "FARGATE_SPOT", weight: 1 },
                  ]
                : FARGATE,
            workerConcurrency: pool.concurrency,
            // Fargate's maximum: a worker gets 2 minutes for a warm Celery shutdown.
            stopTimeout: WORKER_LIFECYCLE.stopTimeoutSeconds,
        });
    }
    if (input.flower) {
        specs.push({
            role: "flower",
            component: "flower",
            command: componentCommand("flower"),
            ...sizes.flower,
            desiredCount: 1,
            needsDags: false,
            port: PORTS.flower,
            healthCheck: `python -c "import socket; socket.create_connection(('localhost', ${PORTS.flower}), 5)"`,
            taskRole: "flower",
            capacityProviders: statelessCapacity(input.spotServices, 1),
            targetGroup: "flower",
        });
    }
    return specs;
}

/** Whether a service's tasks mount the shared file system (every Airflow component but Flower). */
export function mountsSharedFs(spec: Pick<ServiceSpec, "control" | "component">): boolean {
    return !spec.control && spec.component !== "flower";
}
