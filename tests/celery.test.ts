import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { CeleryCluster, migrateScript, queueSteps } from "../components/celery";
import { DEFAULT_WORKER_POOLS, SUPPORTED_AIRFLOW_VERSIONS } from "../config";
import { choiceText } from "../config/spec";
import { renderAirflowEnvironment, SECRET_SETTING } from "../lib/airflow-env";
import { workerCommand } from "../lib/worker-container";
import { WORKER_LIFECYCLE } from "../lib/worker-lifecycle";
import { workerScalingParameters } from "../lib/worker-scaling";
import { installMocks, ProgramRun, runProgram, runStack, useStack } from "./harness/program";
import { itRejectsEach } from "./harness/config";
import { SAMPLE_SECRET_ARNS } from "./harness/fixtures";

const T = {
    service: "aws:ecs/service:Service",
    task: "aws:ecs/taskDefinition:TaskDefinition",
    cluster: "aws:ecs/cluster:Cluster",
    capacity: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    repo: "aws:ecr/repository:Repository",
    repoLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    image: "awsx:ecr:Image",
    alb: "aws:lb/loadBalancer:LoadBalancer",
    tg: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    scalingTarget: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    secret: "aws:secretsmanager/secret:Secret",
    eventRule: "aws:cloudwatch/eventRule:EventRule",
    eventTarget: "aws:cloudwatch/eventTarget:EventTarget",
    metricFilter: "aws:cloudwatch/logMetricFilter:LogMetricFilter",
};

interface Container {
    name: string;
    image: string;
    essential: boolean;
    command: string[];
    environment?: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    portMappings?: { containerPort: number }[];
    healthCheck?: { command: string[] };
    dependsOn?: { containerName: string; condition: string }[];
    stopTimeout?: number;
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
    logConfiguration: { logDriver: string; options: Record<string, string> };
    user?: string;
}

function containers(run: ProgramRun, role: string): Container[] {
    return JSON.parse(run.get(T.task, `airflow-${run.stack}-${role}-task`).inputs.containerDefinitions);
}

function container(run: ProgramRun, role: string, name: string): Container {
    const found = containers(run, role).find((c) => c.name === name);
    if (!found) throw new Error(`no container ${name} in ${role}`);
    return found;
}

function env(c: Container): Record<string, string> {
    return Object.fromEntries((c.environment ?? []).map((e) => [e.name, e.value]));
}

function statements(run: ProgramRun, policyName: string): any[] {
    return JSON.parse(run.get(T.rolePolicy, policyName).inputs.policy).Statement;
}

/** What the dev and staging stack files ask of the Celery layout. */
const expected = {
    dev: {
        services: ["control", "api-server", "scheduler", "dag-processor", "triggerer", "worker-default", "flower"],
        sizes: {
            "api-server": [512, 1024],
            scheduler: [512, 1024],
            "dag-processor": [512, 1024],
            triggerer: [256, 512],
            flower: [256, 512],
        },
        counts: { "api-server": 1, scheduler: 1 },
        pools: [{ name: "default", cpu: 512, memory: 1024, min: 0, max: 2, spot: true, base: 0, concurrency: 8 }],
        retention: 14,
        insights: "disabled",
    },
    staging: {
        services: [
            "control",
            "api-server",
            "scheduler",
            "dag-processor",
            "triggerer",
            "worker-default",
            "worker-large",
            "flower",
        ],
        sizes: {
            "api-server": [1024, 2048],
            scheduler: [1024, 2048],
            "dag-processor": [1024, 2048],
            triggerer: [512, 1024],
            flower: [256, 512],
        },
        counts: { "api-server": 2, scheduler: 2 },
        pools: [
            { name: "default", cpu: 1024, memory: 2048, min: 1, max: 6, spot: true, base: 1, concurrency: 16 },
            { name: "large", cpu: 4096, memory: 16384, min: 0, max: 2, spot: false, base: 0, concurrency: 4 },
        ],
        retention: 90,
        insights: "enabled",
    },
};

for (const stack of ["dev", "staging"] as const) {
    const want = expected[stack];
    const name = `airflow-${stack}`;

    describe(`Celery cluster of the ${stack} stack`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runStack(stack);
        });

        it("is one ECS cluster with Container Insights as the stack says and the FARGATE and FARGATE_SPOT capacity providers", () => {
            const cluster = run.get(T.cluster, `${name}-cluster`);
            expect(cluster.inputs.settings).to.deep.equal([{ name: "containerInsights", value: want.insights }]);
            expect(run.get(T.capacity, `${name}-capacity-providers`).inputs.capacityProviders).to.deep.equal([
                "FARGATE",
                "FARGATE_SPOT",
            ]);
        });

        it("builds the image from images/airflow for the stack's Airflow version into an immutable, scanned repository", () => {
            const repo = run.get(T.repo, `${name}-repo`);
            expect(repo.inputs).to.include({ imageTagMutability: "IMMUTABLE" });
            expect(repo.inputs.imageScanningConfiguration).to.deep.equal({ scanOnPush: true });
            const lifecycle = JSON.parse(run.get(T.repoLifecycle, `${name}-repo-lifecycle`).inputs.policy);
            expect(lifecycle.rules[0].selection).to.deep.equal({
                tagStatus: "any",
                countType: "imageCountMoreThan",
                countNumber: 20,
            });
            const image = run.get(T.image, `${name}-image`);
            expect(image.inputs.dockerfile).to.match(/images\/airflow\/Dockerfile$/);
            expect(image.inputs.args).to.deep.equal({ AIRFLOW_VERSION: "3.3.1" });
            expect(image.inputs.imageTag).to.match(/^3\.3\.1-[0-9a-f]{12}$/);
            expect(run.outputs.airflowImage).to.equal(image.state.imageUri);
        });

        it(`runs exactly the Airflow 3 services: ${want.services.join(", ")}`, () => {
            expect(
                run
                    .ofType(T.service)
                    .map((s) => s.name.replace(`${name}-`, ""))
                    .sort(),
            ).to.deep.equal([...want.services].sort());
        });

        it("runs every service in the private subnets with the services group, no public IP and a rollback circuit breaker", () => {
            for (const svc of run.ofType(T.service)) {
                expect(svc.inputs.networkConfiguration, svc.name).to.deep.equal({
                    subnets: [`${name}-private-0-id`, `${name}-private-1-id`],
                    securityGroups: [`${name}-services-sg-id`],
                    assignPublicIp: false,
                });
                expect(svc.inputs.deploymentCircuitBreaker, svc.name).to.deep.equal({ enable: true, rollback: true });
                expect(svc.inputs.cluster).to.equal(run.get(T.cluster, `${name}-cluster`).state.arn);
                expect(svc.inputs.enableExecuteCommand).to.equal(false);
            }
        });

        it("gives every service its own log group with the stack's retention, used by all its containers", () => {
            for (const role of want.services) {
                const group = run.get(T.logGroup, `${name}-${role}-logs`);
                expect(group.inputs).to.include({ name: `/airflow/${stack}/${role}`, retentionInDays: want.retention });
                for (const c of containers(run, role)) {
                    expect(c.logConfiguration, `${role}/${c.name}`).to.deep.equal({
                        logDriver: "awslogs",
                        options: {
                            "awslogs-group": `/airflow/${stack}/${role}`,
                            "awslogs-region": "us-east-1",
                            "awslogs-stream-prefix": c.name,
                        },
                    });
                }
            }
        });

        it("sizes each service as the stack file says", () => {
            for (const [role, [cpu, memory]] of Object.entries(want.sizes)) {
                const task = run.get(T.task, `${name}-${role}-task`);
                expect([task.inputs.cpu, task.inputs.memory], role).to.deep.equal([String(cpu), String(memory)]);
                expect(task.inputs.requiresCompatibilities).to.deep.equal(["FARGATE"]);
                expect(task.inputs.networkMode).to.equal("awsvpc");
            }
            for (const [role, count] of Object.entries(want.counts)) {
                expect(run.get(T.service, `${name}-${role}`).inputs.desiredCount, role).to.equal(count);
            }
        });

        it("runs each component's command with its health check, as the airflow user, from the built image", () => {
            const image = run.get(T.image, `${name}-image`).state.imageUri;
            const main: Record<string, [string, string[], string]> = {
                "api-server": [
                    "api-server",
                    ["api-server", "--port", "8080"],
                    "curl --fail --silent http://localhost:8080/api/v2/monitor/health",
                ],
                scheduler: ["scheduler", ["scheduler"], "airflow jobs check --job-type SchedulerJob --local"],
                "dag-processor": [
                    "dag-processor",
                    ["dag-processor"],
                    "airflow jobs check --job-type DagProcessorJob --local",
                ],
                triggerer: ["triggerer", ["triggerer"], "airflow jobs check --job-type TriggererJob --local"],
                flower: [
                    "flower",
                    ["python", "-m", "celery", "flower", "--port=5555"],
                    `python -c "import socket; socket.create_connection(('localhost', 5555), 5)"`,
                ],
            };
            for (const [role, [containerName, command, health]] of Object.entries(main)) {
                const c = container(run, role, containerName);
                expect(c.command, role).to.deep.equal(command);
                expect(c.healthCheck?.command, role).to.deep.equal(["CMD-SHELL", health]);
                expect(c.image, role).to.equal(image);
                expect(c.user, role).to.equal("50000:0");
                expect(c.essential, role).to.equal(true);
            }
            expect(container(run, "api-server", "api-server").portMappings).to.deep.equal([
                { containerPort: 8080, protocol: "tcp" },
            ]);
            expect(container(run, "flower", "flower").portMappings).to.deep.equal([
                { containerPort: 5555, protocol: "tcp" },
            ]);
        });

        it("runs the migrations once, in the control service, and makes every other component wait for them", () => {
            const control = run.get(T.service, `${name}-control`);
            expect(control.inputs).to.include({
                desiredCount: 1,
                deploymentMinimumHealthyPercent: 0,
                deploymentMaximumPercent: 100,
            });
            const migrate = container(run, "control", "migrate");
            expect(migrate.essential).to.equal(false);
            expect(migrate.command).to.deep.equal(["bash", "-c", migrateScript()]);
            expect(migrateScript()).to.include("airflow db migrate");
            // The guard against an older Airflow (sidecars/migration_guard.py) runs before the migration.
            const guard = migrateScript().indexOf("<<'MIGRATION_GUARD'");
            expect(guard).to.be.greaterThan(-1);
            expect(guard).to.be.lessThan(migrateScript().indexOf("airflow db migrate"));
            expect(migrateScript()).to.include('--password "$AIRFLOW_ADMIN_PASSWORD"');
            expect(migrate.secrets?.find((s) => s.name === "AIRFLOW_ADMIN_PASSWORD")?.valueFrom).to.equal(
                (run.outputs.secretArns as Record<string, string>).adminPassword,
            );
            expect(container(run, "control", "queue-metrics").dependsOn).to.deep.equal([
                { containerName: "rds-ca", condition: "SUCCESS" },
                { containerName: "migrate", condition: "SUCCESS" },
            ]);
            for (const role of want.services.filter((r) => r !== "control" && r !== "flower")) {
                const all = containers(run, role);
                const wait = all.find((c) => c.name === "wait-for-migrations");
                expect(wait?.command, role).to.deep.equal([
                    "db",
                    "check-migrations",
                    "--migration-wait-timeout",
                    "1200",
                ]);
                const mainContainer = all[all.length - 1];
                expect(mainContainer.dependsOn, role).to.deep.include({
                    containerName: "wait-for-migrations",
                    condition: "SUCCESS",
                });
                for (const c of all) {
                    expect(JSON.stringify(c.command), `${role}/${c.name}`).to.not.match(
                        /db (init|migrate)|db", "(init|migrate)/,
                    );
                }
            }
        });

        it("syncs the DAGs from the artifacts bucket's dags/ prefix into the components that read them", () => {
            const bucket = run.outputs.artifactsBucket;
            for (const role of ["dag-processor", "triggerer", ...want.pools.map((p) => `worker-${p.name}`)]) {
                const sync = container(run, role, "dag-sync");
                expect(sync.command.slice(0, 2), role).to.deep.equal(["python", "-c"]);
                expect(sync.command[2]).to.include("def sync_once(");
                expect(env(sync)).to.include({
                    DAG_SYNC_BUCKET: bucket,
                    DAG_SYNC_PREFIX: "dags/",
                    DAG_SYNC_DEST: "/opt/airflow/dags",
                    DAG_SYNC_INTERVAL_SECONDS: "60",
                });
                const all = containers(run, role);
                expect(all[all.length - 1].dependsOn, role).to.deep.include({
                    containerName: "dag-sync",
                    condition: "HEALTHY",
                });
                expect(all[all.length - 1].mountPoints, role).to.deep.include({
                    sourceVolume: "dags",
                    containerPath: "/opt/airflow/dags",
                    readOnly: true,
                });
            }
            // Airflow 3's scheduler and api-server use serialized DAGs: no DAG files, no sync.
            for (const role of ["scheduler", "api-server"]) {
                expect(
                    containers(run, role).map((c) => c.name),
                    role,
                ).to.not.include("dag-sync");
            }
        });

        it("puts an internal ALB (no HTTPS configured) in front of the api-server and Flower, with health checks", () => {
            const alb = run.get(T.alb, `${name}-alb`);
            // No domain and no certificate on dev/staging: internal, in the private subnets.
            expect(alb.inputs).to.include({
                internal: true,
                dropInvalidHeaderFields: true,
                loadBalancerType: "application",
            });
            expect(alb.inputs.subnets).to.deep.equal([`${name}-private-0-id`, `${name}-private-1-id`]);
            expect(alb.inputs.securityGroups).to.deep.equal([`${name}-lb-sg-id`]);
            const api = run.get(T.tg, `${name}-api-tg`);
            expect(api.inputs).to.include({ port: 8080, targetType: "ip", protocol: "HTTP" });
            expect(api.inputs.healthCheck).to.include({ path: "/api/v2/monitor/health", matcher: "200" });
            expect(run.get(T.service, `${name}-api-server`).inputs.loadBalancers).to.deep.equal([
                { targetGroupArn: api.state.arn, containerName: "api-server", containerPort: 8080 },
            ]);
            const flower = run.get(T.tg, `${name}-flower-tg`);
            expect(flower.inputs).to.include({ port: 5555 });
            expect(run.outputs.airflowUrl).to.equal(`http://${alb.state.dnsName}`);
            expect(run.outputs.flowerUrl).to.equal(`http://${alb.state.dnsName}:5555`);
        });

        it("serves HTTP only when no certificate is configured", () => {
            const listeners = run
                .ofType(T.listener)
                .map((l) => [l.inputs.port, l.inputs.protocol, l.inputs.defaultActions[0].type]);
            expect(listeners.sort()).to.deep.equal([
                [5555, "HTTP", "forward"],
                [80, "HTTP", "forward"],
            ]);
        });

        it("gives each worker pool its own service consuming only its own queue, sized as the pool says", () => {
            for (const pool of want.pools) {
                const role = `worker-${pool.name}`;
                const worker = container(run, role, "worker");
                expect(worker.command).to.deep.equal(workerCommand([pool.name], pool.concurrency));
                expect(worker.command.slice(3)).to.deep.equal([
                    "celery",
                    "worker",
                    "--queues",
                    pool.name,
                    "--concurrency",
                    String(pool.concurrency),
                ]);
                expect(worker.stopTimeout).to.equal(120);
                expect(env(worker).AIRFLOW__CELERY__WORKER_CONCURRENCY).to.equal(String(pool.concurrency));
                expect(worker.healthCheck?.command[1]).to.include("inspect ping");
                const task = run.get(T.task, `${name}-${role}-task`);
                expect([task.inputs.cpu, task.inputs.memory]).to.deep.equal([String(pool.cpu), String(pool.memory)]);
                const svc = run.get(T.service, `${name}-${role}`);
                expect(svc.inputs.desiredCount).to.equal(pool.min);
                expect(svc.options.ignoreChanges).to.deep.equal(["desiredCount"]);
                expect(svc.inputs.capacityProviderStrategies).to.deep.equal(
                    pool.spot
                        ? [
                              { capacityProvider: "FARGATE", weight: 0, base: pool.base },
                              { capacityProvider: "FARGATE_SPOT", weight: 1 },
                          ]
                        : [{ capacityProvider: "FARGATE", weight: 1 }],
                );
            }
            // The api-server goes to Spot with airflow:spotServices (tests/levers.test.ts).
            for (const role of ["scheduler", "control"]) {
                expect(run.get(T.service, `${name}-${role}`).inputs.capacityProviderStrategies, role).to.deep.equal([
                    { capacityProvider: "FARGATE", weight: 1 },
                ]);
            }
        });

        it("scales each pool on its queue's queued and running tasks, from its minimum (even 0) to its maximum", () => {
            for (const pool of want.pools) {
                const role = `worker-${pool.name}`;
                const target = run.get(T.scalingTarget, `${name}-${role}-scaling-target`);
                expect(target.inputs).to.include({
                    minCapacity: pool.min,
                    maxCapacity: pool.max,
                    serviceNamespace: "ecs",
                    scalableDimension: "ecs:service:DesiredCount",
                    resourceId: `service/${run.get(T.cluster, `${name}-cluster`).state.name}/${name}-${role}`,
                });
                const out = run.get(T.scalingPolicy, `${name}-${role}-scale-on-queue`);
                expect(out.inputs.stepScalingPolicyConfiguration.adjustmentType).to.equal("ExactCapacity");
                expect(out.inputs.stepScalingPolicyConfiguration.stepAdjustments).to.deep.equal(
                    queueSteps({ maxCount: pool.max, concurrency: pool.concurrency }),
                );
                const busy = run.get(T.alarm, `${name}-${role}-queue-has-work`);
                expect(busy.inputs).to.include({
                    namespace: "Airflow/Celery",
                    metricName: "QueuedAndRunningTasks",
                    comparisonOperator: "GreaterThanThreshold",
                    threshold: 0,
                    evaluationPeriods: 1,
                });
                expect(busy.inputs.dimensions).to.deep.equal({ Environment: stack, Queue: pool.name });
                expect(busy.inputs.alarmActions).to.deep.equal([out.state.arn]);
                const idle = run.get(T.alarm, `${name}-${role}-queue-idle`);
                expect(idle.inputs).to.include({
                    comparisonOperator: "LessThanOrEqualToThreshold",
                    evaluationPeriods: 10,
                });
                const scaleIn = run.get(T.scalingPolicy, `${name}-${role}-scale-in-when-idle`);
                expect(scaleIn.inputs.stepScalingPolicyConfiguration.stepAdjustments).to.deep.equal([
                    { metricIntervalUpperBound: "0", scalingAdjustment: pool.min },
                ]);
            }
            const metrics = container(run, "control", "queue-metrics");
            expect(env(metrics)).to.include({
                QUEUE_METRICS_QUEUES: want.pools.map((p) => p.name).join(","),
                QUEUE_METRICS_NAMESPACE: "Airflow/Celery",
                QUEUE_METRICS_NAME: "QueuedAndRunningTasks",
                QUEUE_METRICS_ENVIRONMENT: stack,
            });
        });

        it("turns the image entrypoint's connection checks off in every main container, and keeps them where the database is waited for", () => {
            for (const role of want.services) {
                const image = containers(run, role).find(
                    (c) => c.name === "wait-for-migrations" || c.name === "migrate" || c.name === role,
                )!.image;
                // Every container of the Airflow image (whose entrypoint this is); the metrics agent has its own.
                for (const c of containers(run, role).filter((c) => c.image === image)) {
                    const count = env(c).CONNECTION_CHECK_MAX_COUNT;
                    const waits = c.name === "migrate" || c.name === "wait-for-migrations";
                    expect(count, `${role}/${c.name}`).to.equal(waits ? undefined : "0");
                }
            }
        });

        it("renders every Airflow container's settings with the one environment function", () => {
            const settingsOf = (c: Container) => env(c);
            const api = settingsOf(container(run, "api-server", "api-server"));
            // Flower runs without Airflow (its own test: "gives Flower, which runs without Airflow, ...").
            for (const role of want.services.filter((r) => r !== "control" && r !== "flower")) {
                const all = containers(run, role);
                const main = all[all.length - 1];
                const e = settingsOf(main);
                expect(e.AIRFLOW__CORE__EXECUTOR, role).to.equal("CeleryExecutor");
                expect(e.AIRFLOW__LOGGING__REMOTE_LOGGING, role).to.equal("True");
                expect(e.AIRFLOW__LOGGING__REMOTE_BASE_LOG_FOLDER, role).to.equal(
                    `s3://${run.outputs.artifactsBucket}/logs`,
                );
                expect(e.AIRFLOW__SECRETS__BACKEND, role).to.equal(
                    "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend",
                );
                expect(JSON.parse(e.AIRFLOW__SECRETS__BACKEND_KWARGS), role).to.deep.equal({
                    connections_prefix: `airflow/${stack}/connections`,
                    variables_prefix: `airflow/${stack}/variables`,
                });
                expect(e.AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE, role).to.equal("True");
                expect(e.AIRFLOW__CORE__EXECUTION_API_SERVER_URL, role).to.equal(
                    `http://api-server.${name}.local:8080/execution/`,
                );
                expect(e.AIRFLOW__API__BASE_URL, role).to.equal(run.outputs.airflowUrl);
                expect(e, role).to.deep.include({
                    ...api,
                    AIRFLOW__CELERY__WORKER_CONCURRENCY: e.AIRFLOW__CELERY__WORKER_CONCURRENCY,
                });
            }
        });

        it("passes no secret in any environment, and every secret as the ARN of a secret AirflowStorage created", () => {
            const storageSecrets = new Set(run.ofType(T.secret).map((s) => s.state.arn));
            let checked = 0;
            for (const task of run.ofType(T.task)) {
                for (const c of JSON.parse(task.inputs.containerDefinitions) as Container[]) {
                    for (const e of c.environment ?? []) {
                        expect(SECRET_SETTING.test(e.name), `${task.name}/${c.name} ${e.name}`).to.equal(false);
                        expect(e.value, `${task.name}/${c.name} ${e.name}`).to.not.match(/:\/\/[^/\s]*:[^@/\s]+@/); // no credentials in URLs
                    }
                    for (const s of c.secrets ?? []) {
                        expect(storageSecrets.has(s.valueFrom), `${task.name}/${c.name} ${s.name}`).to.equal(true);
                        checked++;
                    }
                }
            }
            expect(checked).to.be.greaterThan(30);
            const broker = container(run, "scheduler", "scheduler").secrets?.find(
                (s) => s.name === "AIRFLOW__CELERY__BROKER_URL",
            );
            expect(broker?.valueFrom).to.equal((run.outputs.secretArns as Record<string, string>).brokerUrl);
        });

        it("lets each execution role read exactly its task's secrets and write its own log group", () => {
            for (const role of want.services) {
                const task = run.get(T.task, `${name}-${role}-task`);
                const used = new Set<string>();
                for (const c of JSON.parse(task.inputs.containerDefinitions) as Container[])
                    for (const s of c.secrets ?? []) used.add(s.valueFrom);
                const st = statements(run, `${name}-${role}-execution-policy`);
                const read = st.find((s) => s.Sid === "ReadTaskSecrets");
                expect([...(read.Resource as string[])].sort(), role).to.deep.equal([...used].sort());
                expect(read.Action).to.equal("secretsmanager:GetSecretValue");
                const logs = st.find((s) => s.Sid === "WriteLogs");
                expect(logs.Resource).to.equal(`${run.get(T.logGroup, `${name}-${role}-logs`).state.arn}:log-stream:*`);
                const pull = st.find((s) => s.Sid === "PullAirflowImage");
                expect(pull.Resource).to.equal(run.get(T.repo, `${name}-repo`).state.arn);
                expect(task.inputs.executionRoleArn).to.equal(
                    run.get(T.role, `${name}-${role}-execution-role`).state.arn,
                );
            }
            // Flower (Celery's own, without Airflow) sees the broker and its basic auth, and no database password.
            const flowerSecrets = container(run, "flower", "flower").secrets?.map((s) => s.name);
            expect(flowerSecrets).to.deep.equal(["CELERY_BROKER_URL", "FLOWER_BASIC_AUTH"]);
        });

        it("gives the worker task role DAG reads, log writes and the secrets backend's prefixes, and nothing broader", () => {
            const st = statements(run, `${name}-worker-task-policy`);
            const bucket = run.get("aws:s3/bucket:Bucket", `${name}-artifacts`).state.arn;
            const bySid = Object.fromEntries(st.map((s) => [s.Sid, s]));
            expect(bySid.ReadDags).to.deep.include({ Action: "s3:GetObject", Resource: `${bucket}/dags/*` });
            expect(bySid.ReadWriteLogs).to.deep.include({
                Action: ["s3:GetObject", "s3:PutObject"],
                Resource: `${bucket}/logs/*`,
            });
            expect(bySid.ReadConnectionsAndVariables.Resource).to.deep.equal([
                `arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/${stack}/connections/*`,
                `arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/${stack}/variables/*`,
            ]);
            expect(bySid.MountSharedFileSystem.Condition).to.deep.equal({
                StringEquals: {
                    "elasticfilesystem:AccessPointArn": run.get("aws:efs/accessPoint:AccessPoint", `${name}-fs-ap`)
                        .state.arn,
                },
            });
            expect(Object.keys(bySid).sort()).to.deep.equal([
                "DescribeMetricsStreams",
                "ListDags",
                "ListLogs",
                "MountSharedFileSystem",
                "ProtectOwnTaskFromScaleIn",
                "PublishAirflowMetrics",
                "ReadConnectionsAndVariables",
                "ReadDags",
                "ReadWriteLogs",
            ]);
        });

        it("runs every worker pool under the launcher that protects its task while busy, with a warm shutdown inside the stop timeout", () => {
            for (const pool of want.pools) {
                const role = `worker-${pool.name}`;
                const worker = container(run, role, "worker");
                expect(worker.command.slice(0, 2), role).to.deep.equal(["python", "-c"]);
                expect(worker.command[2], role).to.contain("task-protection/v1/state");
                expect(worker.stopTimeout, role).to.equal(WORKER_LIFECYCLE.stopTimeoutSeconds);
                expect(env(worker), role).to.include({
                    DUMB_INIT_SETSID: "0",
                    AIRFLOW__CELERY__TASK_ACKS_LATE: "True",
                    AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER: "1",
                });
            }
            for (const role of ["scheduler", "api-server", "triggerer", "flower"]) {
                for (const c of containers(run, role)) {
                    expect(env(c), `${role}/${c.name}`).not.to.have.property("DUMB_INIT_SETSID");
                    expect((c.command ?? []).join(" "), `${role}/${c.name}`).not.to.contain("task-protection");
                }
            }
        });

        it("lets the worker task role protect only the cluster's tasks from scale-in, and no other role", () => {
            const cluster = run.get(T.cluster, `${name}-cluster`);
            const protect = statements(run, `${name}-worker-task-policy`).filter((s) =>
                [s.Action].flat().some((a: string) => a.startsWith("ecs:")),
            );
            expect(protect).to.deep.equal([
                {
                    Sid: "ProtectOwnTaskFromScaleIn",
                    Effect: "Allow",
                    Action: "ecs:UpdateTaskProtection",
                    Resource: `arn:aws:ecs:us-east-1:123456789012:task/${cluster.state.name}/*`,
                    Condition: { ArnEquals: { "ecs:cluster": cluster.state.arn } },
                },
            ]);
            for (const policy of run.ofType(T.rolePolicy).filter((p) => p.name !== `${name}-worker-task-policy`)) {
                expect(policy.inputs.policy, policy.name).not.to.contain("ecs:UpdateTaskProtection");
            }
        });

        it("scales out on one high-resolution 10-second datapoint published every 10 s, and in after ten idle minutes", () => {
            const p = workerScalingParameters();
            for (const pool of want.pools.filter((x) => x.min !== x.max)) {
                const role = `worker-${pool.name}`;
                expect(run.get(T.alarm, `${name}-${role}-queue-has-work`).inputs, role).to.include({
                    period: 10,
                    evaluationPeriods: 1,
                    datapointsToAlarm: 1,
                    statistic: "Maximum",
                });
                expect(run.get(T.alarm, `${name}-${role}-queue-idle`).inputs, role).to.include({
                    period: 60,
                    evaluationPeriods: 10,
                    datapointsToAlarm: 10,
                });
                for (const kind of ["scale-on-queue", "scale-in-when-idle"]) {
                    expect(
                        run.get(T.scalingPolicy, `${name}-${role}-${kind}`).inputs.stepScalingPolicyConfiguration,
                        kind,
                    ).to.include({ cooldown: p.policy.cooldown, adjustmentType: "ExactCapacity" });
                }
            }
            expect(env(container(run, "control", "queue-metrics"))).to.include({
                QUEUE_METRICS_INTERVAL_SECONDS: "10",
                QUEUE_METRICS_STORAGE_RESOLUTION: "1",
            });
        });

        it("counts worker tasks stopped mid-run, and Spot interruptions once, for the whole cluster", () => {
            const cluster = run.get(T.cluster, `${name}-cluster`);
            const rule = run.get(T.eventRule, `${name}-worker-stops-stopped-mid-run`);
            const pattern = JSON.parse(rule.inputs.eventPattern);
            expect(pattern.detail.clusterArn).to.deep.equal([cluster.state.arn]);
            expect(pattern.detail.group).to.deep.equal(
                want.pools.map((p) => `service:${run.get(T.service, `${name}-worker-${p.name}`).state.name}`),
            );
            const group = run.get(T.logGroup, `${name}-worker-stops-stopped-mid-run-events`);
            expect(group.inputs).to.include({
                name: `/aws/events/airflow/${stack}/stopped-mid-run`,
                retentionInDays: want.retention,
            });
            expect(run.get(T.eventTarget, `${name}-worker-stops-stopped-mid-run-to-logs`).inputs.arn).to.equal(
                group.state.arn,
            );
            const filters = run.ofType(T.metricFilter).map((f) => f.inputs.metricTransformation);
            const named = (metric: string) => filters.filter((m) => m.name === metric);
            expect(named("WorkersStoppedMidRun")).to.have.length(1);
            expect(named("WorkersStoppedMidRun")[0]).to.deep.include({ namespace: "Airflow/Events" });
            expect(named("SpotInterruptions"), "one source of Spot interruptions").to.have.length(1);
            expect(named("SpotInterruptions")[0]).to.deep.include({ namespace: "Airflow/Events" });
            const spotRules = run
                .ofType(T.eventRule)
                .filter((r) => JSON.stringify(JSON.parse(r.inputs.eventPattern)).includes("SpotInterruption"));
            expect(spotRules.map((r) => r.name)).to.have.length(1);
        });

        it("uses no '*' action in any policy of the cluster", () => {
            for (const policy of run.ofType(T.rolePolicy)) {
                for (const s of JSON.parse(policy.inputs.policy).Statement) {
                    for (const action of [s.Action].flat()) expect(action, policy.name).to.not.match(/(^\*$|:\*$)/);
                }
            }
        });
    });
}

describe("Celery layout variants", () => {
    it("serves HTTPS with the configured certificate and redirects HTTP to it", async () => {
        const cert = "arn:aws:acm:us-east-1:123456789012:certificate/abcd-1234";
        const run = await runProgram("dev", { "airflow:certificateArn": cert });
        expect(run.ofType("aws:acm/certificate:Certificate")).to.have.length(0);
        expect(run.get(T.alb, "airflow-dev-alb").inputs.internal).to.equal(false);
        const byPort = Object.fromEntries(run.ofType(T.listener).map((l) => [l.inputs.port, l.inputs]));
        expect(byPort[443]).to.include({
            protocol: "HTTPS",
            certificateArn: cert,
            sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06",
        });
        expect(byPort[443].defaultActions[0].type).to.equal("forward");
        expect(byPort[80].defaultActions).to.deep.equal([
            { type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } },
        ]);
        expect(byPort[5555]).to.include({ protocol: "HTTPS", certificateArn: cert });
        expect(run.outputs.airflowUrl).to.match(/^https:\/\//);
    });

    it("issues a DNS-validated certificate for airflow:domainName, waits for it, serves HTTPS and adds the alias record", async () => {
        const run = await runProgram("dev", {
            "airflow:domainName": "airflow.example.com",
            "airflow:hostedZoneId": "Z0123456789ABCDEFGHIJ",
        });
        const cert = run.get("aws:acm/certificate:Certificate", "airflow-dev-certificate");
        expect(cert.inputs).to.include({ domainName: "airflow.example.com", validationMethod: "DNS" });
        const validationRecord = run.get("aws:route53/record:Record", "airflow-dev-certificate-validation-record");
        const option = cert.state.domainValidationOptions[0];
        expect(validationRecord.inputs).to.include({
            zoneId: "Z0123456789ABCDEFGHIJ",
            name: option.resourceRecordName,
            type: "CNAME",
        });
        expect(validationRecord.inputs.records).to.deep.equal([option.resourceRecordValue]);
        const validation = run.get(
            "aws:acm/certificateValidation:CertificateValidation",
            "airflow-dev-certificate-validation",
        );
        expect(validation.inputs.validationRecordFqdns).to.deep.equal([validationRecord.state.fqdn]);
        const byPort = Object.fromEntries(run.ofType(T.listener).map((l) => [l.inputs.port, l]));
        // The listener takes the validation's ARN, so it waits until ACM has issued the certificate.
        expect(byPort[443].inputs).to.include({ protocol: "HTTPS", sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" });
        expect(byPort[443].options.propertyDependencies.certificateArn).to.include(validation.urn);
        expect(byPort[80].inputs.defaultActions[0].type).to.equal("redirect");
        expect(byPort[5555].inputs.protocol).to.equal("HTTPS");
        const alb = run.get(T.alb, "airflow-dev-alb");
        expect(alb.inputs.internal).to.equal(false);
        const alias = run.get("aws:route53/record:Record", "airflow-dev-alias-record");
        expect(alias.inputs).to.deep.include({
            zoneId: "Z0123456789ABCDEFGHIJ",
            name: "airflow.example.com",
            type: "A",
            aliases: [{ name: alb.state.dnsName, zoneId: alb.state.zoneId, evaluateTargetHealth: true }],
        });
        expect(run.outputs.airflowUrl).to.equal("https://airflow.example.com");
        expect(run.outputs.flowerUrl).to.equal("https://airflow.example.com:5555");
    });

    it("looks the hosted zone up by the domain's parent name when airflow:hostedZoneId is empty", async () => {
        const run = await runProgram("dev", { "airflow:domainName": "airflow.example.com" });
        const lookups = installMocks().invokes.filter((i) => i.token === "aws:route53/getZone:getZone");
        expect(lookups.map((i) => i.inputs)).to.deep.equal([{ name: "example.com", privateZone: false }]);
        const alias = run.get("aws:route53/record:Record", "airflow-dev-alias-record");
        expect(alias.inputs.zoneId).to.match(/^Z[0-9A-F]{20}$/);
    });

    it("opens a public load balancer serving plain HTTP only with airflow:publicPlainHttp", async () => {
        const run = await runProgram("dev", { "airflow:publicPlainHttp": true });
        expect(run.get(T.alb, "airflow-dev-alb").inputs.internal).to.equal(false);
        expect(run.ofType(T.listener).map((l) => l.inputs.protocol)).to.deep.equal(["HTTP", "HTTP"]);
    });

    it("puts an internal load balancer in the private subnets with webAccess internal", async () => {
        const run = await runProgram("dev", { "airflow:webAccess": "internal" });
        const alb = run.get(T.alb, "airflow-dev-alb");
        expect(alb.inputs.internal).to.equal(true);
        expect(alb.inputs.subnets).to.deep.equal(["airflow-dev-private-0-id", "airflow-dev-private-1-id"]);
    });

    it("runs the given image without building or creating a repository", async () => {
        const uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow:3.0.6-custom";
        const run = await runProgram("dev", { "airflow:image": uri });
        expect(run.ofType(T.repo)).to.have.length(0);
        expect(run.ofType(T.image)).to.have.length(0);
        expect(container(run, "scheduler", "scheduler").image).to.equal(uri);
        expect(statements(run, "airflow-dev-scheduler-execution-policy").map((s) => s.Sid)).to.deep.equal([
            "WriteLogs",
            "ReadTaskSecrets",
        ]);
    });

    it("configures Celery for SQS: predefined queues, no remote control, and queue permissions per role", async () => {
        const run = await runProgram("dev", { "airflow:broker": "sqs", "airflow:flower": false });
        const worker = container(run, "worker-default", "worker");
        const e = env(worker);
        expect(e.AIRFLOW__CELERY__WORKER_ENABLE_REMOTE_CONTROL).to.equal("False");
        const queue = run.get("aws:sqs/queue:Queue", "airflow-dev-celery-default").state;
        expect(JSON.parse(e.AIRFLOW__CELERY__EXTRA_CELERY_CONFIG)).to.deep.equal({
            broker_transport_options: {
                region: "us-east-1",
                visibility_timeout: 43200,
                predefined_queues: { default: { url: queue.url } },
            },
        });
        expect(worker.healthCheck?.command[1]).to.include("/proc");
        const consume = statements(run, "airflow-dev-worker-task-policy").find((s) => s.Sid === "ConsumeTasks");
        expect(consume.Resource).to.deep.equal([queue.arn]);
        const send = statements(run, "airflow-dev-scheduler-task-policy").find((s) => s.Sid === "SendTasks");
        expect(send.Action).to.deep.equal(["sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl"]);
        expect(run.ofType(T.service).map((s) => s.name)).to.not.include("airflow-dev-flower");
    });

    it("runs the webserver, and no api-server or dag-processor, for an Airflow 2 version", async () => {
        const run = await runProgram("dev", { "airflow:airflowVersion": "2.10.3" });
        const roles = run
            .ofType(T.service)
            .map((s) => s.name.replace("airflow-dev-", ""))
            .sort();
        expect(roles).to.deep.equal(["control", "flower", "scheduler", "triggerer", "webserver", "worker-default"]);
        const web = container(run, "webserver", "webserver");
        expect(web.command).to.deep.equal(["webserver", "--port", "8080"]);
        expect(web.healthCheck?.command).to.deep.equal([
            "CMD-SHELL",
            "curl --fail --silent http://localhost:8080/health",
        ]);
        expect(web.secrets?.map((s) => s.name)).to.include("AIRFLOW__WEBSERVER__SECRET_KEY");
        expect(run.get(T.tg, "airflow-dev-api-tg").inputs.healthCheck.path).to.equal("/health");
        expect(containers(run, "scheduler").map((c) => c.name)).to.include("dag-sync");
    });

    it("turns on ECS Exec with its SSM permissions only when asked", async () => {
        const run = await runProgram("dev", { "airflow:ecsExec": true });
        for (const svc of run.ofType(T.service)) expect(svc.inputs.enableExecuteCommand, svc.name).to.equal(true);
        const exec = statements(run, "airflow-dev-worker-task-policy").find((s) => s.Sid === "EcsExec");
        expect(exec.Action).to.deep.equal([
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel",
        ]);
        const dev = await runStack("dev");
        expect(statements(dev, "airflow-dev-worker-task-policy").find((s) => s.Sid === "EcsExec")).to.equal(undefined);
    });
});

describe("worker scaling steps", () => {
    it("gives ceil(tasks / concurrency) workers, up to the maximum", () => {
        expect(queueSteps({ maxCount: 3, concurrency: 16 })).to.deep.equal([
            { metricIntervalLowerBound: "0", metricIntervalUpperBound: "16", scalingAdjustment: 1 },
            { metricIntervalLowerBound: "16", metricIntervalUpperBound: "32", scalingAdjustment: 2 },
            { metricIntervalLowerBound: "32", scalingAdjustment: 3 },
        ]);
    });

    it("stays within Application Auto Scaling's 20 steps for large pools, still reaching the maximum", () => {
        const steps = queueSteps({ maxCount: 50, concurrency: 8 });
        expect(steps).to.have.length(20);
        expect(steps[steps.length - 1]).to.deep.equal({
            metricIntervalLowerBound: String(48 * 8),
            scalingAdjustment: 50,
        });
        for (let i = 1; i < steps.length; i++)
            expect(steps[i].metricIntervalLowerBound).to.equal(steps[i - 1].metricIntervalUpperBound);
    });
});

describe("the Airflow environment function", () => {
    const base = {
        airflowVersion: "3.0.6",
        environment: "dev",
        region: "eu-west-1",
        broker: { type: "redis" as const },
        artifactsBucket: "b",
        baseUrl: "https://airflow.example.com",
        executionApiUrl: "http://api-server.ns:8080/execution/",
        secrets: SAMPLE_SECRET_ARNS,
    };

    it("gives each component only the secrets it uses", () => {
        const names = (component: Parameters<typeof renderAirflowEnvironment>[0]["component"]) =>
            renderAirflowEnvironment({ ...base, component }).secrets.map((s) => s.name);
        const core = [
            "AIRFLOW__API_AUTH__JWT_SECRET",
            "AIRFLOW__API__SECRET_KEY",
            "AIRFLOW__CELERY__BROKER_URL",
            "AIRFLOW__CELERY__RESULT_BACKEND",
            "AIRFLOW__CORE__FERNET_KEY",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
        ];
        expect(names("scheduler")).to.deep.equal(core);
        expect(names("worker")).to.deep.equal(core);
        expect(names("migrations")).to.deep.equal([...core, "AIRFLOW_ADMIN_PASSWORD"].sort());
        expect(names("flower")).to.deep.equal(["CELERY_BROKER_URL", "FLOWER_BASIC_AUTH"]);
    });

    it("gives Flower, which runs without Airflow, the broker and its basic auth and no Airflow setting", () => {
        const env = renderAirflowEnvironment({ ...base, component: "flower" });
        expect(env.secrets).to.deep.equal([
            { name: "CELERY_BROKER_URL", valueFrom: base.secrets.brokerUrl },
            { name: "FLOWER_BASIC_AUTH", valueFrom: base.secrets.flowerBasicAuth },
        ]);
        expect(env.environment).to.deep.equal([]);
        expect(() =>
            renderAirflowEnvironment({
                ...base,
                component: "flower",
                secrets: { ...base.secrets, flowerBasicAuth: undefined },
            }),
        ).to.throw("Flower needs its basic-auth secret");
    });

    it("defines the remote-log connection Airflow 3.0.6 requires, with no credentials in it", () => {
        const env = Object.fromEntries(
            renderAirflowEnvironment({ ...base, component: "worker" }).environment.map((e) => [e.name, e.value]),
        );
        expect(env.AIRFLOW__LOGGING__REMOTE_LOG_CONN_ID).to.equal("aws_default");
        expect(env.AIRFLOW_CONN_AWS_DEFAULT).to.equal("aws://?region_name=eu-west-1");
    });

    it("refuses extra settings that override the platform's or look like secrets", () => {
        expect(() =>
            renderAirflowEnvironment({
                ...base,
                component: "worker",
                extra: { AIRFLOW__CORE__EXECUTOR: "LocalExecutor" },
            }),
        ).to.throw("AIRFLOW__CORE__EXECUTOR is set by the platform and cannot be overridden");
        expect(() =>
            renderAirflowEnvironment({ ...base, component: "worker", extra: { AIRFLOW__SMTP__SMTP_PASSWORD: "x" } }),
        ).to.throw("AIRFLOW__SMTP__SMTP_PASSWORD looks like a secret: it must come from Secrets Manager");
        expect(
            renderAirflowEnvironment({ ...base, component: "worker", extra: { AIRFLOW__CORE__PARALLELISM: "64" } })
                .environment,
        ).to.deep.include({
            name: "AIRFLOW__CORE__PARALLELISM",
            value: "64",
        });
    });

    it("refuses components that the Airflow version does not have", () => {
        expect(() => renderAirflowEnvironment({ ...base, component: "webserver" })).to.throw(
            "Airflow 3.0.6 has no webserver; use api-server",
        );
        expect(() =>
            renderAirflowEnvironment({ ...base, airflowVersion: "2.10.3", component: "dag-processor" }),
        ).to.throw("Airflow 2.10.3 has no dag-processor");
    });
});

describe("Celery configuration errors", () => {
    const cases: [string, Record<string, unknown>, string][] = [
        [
            "a scheduler memory Fargate does not offer with its CPU",
            { "airflow:schedulerCpu": 512, "airflow:schedulerMemory": 8192 },
            "airflow:schedulerMemory must be a memory size Fargate allows with airflow:schedulerCpu 512 (1024, 2048, 3072 or 4096), got 8192",
        ],
        [
            "a CPU value Fargate does not offer",
            { "airflow:apiServerCpu": 300 },
            "airflow:apiServerCpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384, got 300",
        ],
        [
            "a worker pool with a memory its CPU cannot have",
            { "airflow:workerPools": [{ name: "default", cpu: 2048, memory: 2048, minCount: 0, maxCount: 2 }] },
            "airflow:workerPools[0].memory must be a memory size Fargate allows with cpu 2048 (4096 to 16384 in steps of 1024), got 2048",
        ],
        [
            "pools without a default pool",
            { "airflow:workerPools": [{ name: "large", cpu: 1024, memory: 2048, minCount: 0, maxCount: 2 }] },
            'airflow:workerPools must include a pool named "default" (tasks without queue= go to the default queue), got ["large"]',
        ],
        [
            "a pool whose minimum exceeds its maximum",
            { "airflow:workerPools": [{ name: "default", cpu: 1024, memory: 2048, minCount: 3, maxCount: 2 }] },
            "airflow:workerPools[0] must have 0 <= minCount <= maxCount and 1 <= maxCount <= 100, got minCount 3 and maxCount 2",
        ],
        [
            "an on-demand base without spot",
            {
                "airflow:workerPools": [
                    { name: "default", cpu: 1024, memory: 2048, minCount: 0, maxCount: 2, onDemandBase: 1 },
                ],
            },
            "airflow:workerPools[0].onDemandBase must be from 0 to maxCount (2) and is only used with spot: true, got 1",
        ],
        [
            "a pool with an unknown field",
            {
                "airflow:workerPools": [
                    { name: "default", cpu: 1024, memory: 2048, minCount: 0, maxCount: 2, gpu: true },
                ],
            },
            'airflow:workerPools must be a non-empty list of pools, each {name, cpu, memory, minCount, maxCount} with optional spot (boolean), onDemandBase and concurrency (whole numbers), and no other fields, got [{"name":"default","cpu":1024,"memory":2048,"minCount":0,"maxCount":2,"gpu":true}]',
        ],
        [
            "an unknown web access mode",
            { "airflow:webAccess": "private" },
            'airflow:webAccess must be "public" or "internal", got "private"',
        ],
        [
            "a certificate that is not an ACM ARN",
            { "airflow:certificateArn": "my-cert" },
            'airflow:certificateArn must be empty or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>), got "my-cert"',
        ],
    ];
    itRejectsEach(cases);
});

describe("CeleryCluster arguments", () => {
    before(() => useStack("dev"));
    const storage = {
        artifactsBucketName: "b",
        artifactsBucketArn: "arn:aws:s3:::b",
        brokerType: "redis" as const,
        secretArns: {
            sqlAlchemyConn: pulumi.output("a"),
            resultBackend: pulumi.output("a"),
            brokerUrl: pulumi.output("a"),
            fernetKey: pulumi.output("a"),
            apiSecretKey: pulumi.output("a"),
            jwtSecret: pulumi.output("a"),
            adminPassword: pulumi.output("a"),
        },
    };
    const network = {
        vpcId: "vpc",
        vpcCidr: "10.0.0.0/16",
        publicSubnetIds: ["a"],
        privateSubnetIds: ["b"],
        servicesSecurityGroupId: "sg",
        loadBalancerSecurityGroupId: "sg",
    };
    const base = {
        environment: "dev",
        airflowVersion: "3.0.6",
        network,
        storage,
        image: { uri: "x/y:1" },
        flower: false,
    };
    const cases: [string, Partial<ConstructorParameters<typeof CeleryCluster>[1]>, string][] = [
        [
            "sizes",
            { sizes: { scheduler: { cpu: 256, memory: 4096 } } },
            "CeleryCluster bad: sizes.scheduler.memory must be a memory size Fargate allows with cpu 256 (512, 1024 or 2048), got 4096",
        ],
        [
            "flower without its secret",
            { flower: true },
            "CeleryCluster bad: storage.secretArns.flowerBasicAuth must be set when flower is on, got undefined",
        ],
        [
            "workerPools with the loader's own wording",
            { workerPools: [{ ...DEFAULT_WORKER_POOLS[0], name: "large" }] },
            'CeleryCluster bad: workerPools must include a pool named "default" (tasks without queue= go to the default queue), got ["large"]',
        ],
        [
            "a worker pool's memory",
            { workerPools: [{ ...DEFAULT_WORKER_POOLS[0], memory: 1024 }] },
            "CeleryCluster bad: workerPools[0].memory must be a memory size Fargate allows with cpu 1024 (2048, 3072, 4096, 5120, 6144, 7168 or 8192), got 1024",
        ],
        [
            "flower on by default, as airflow:flower is",
            { flower: undefined },
            "CeleryCluster bad: storage.secretArns.flowerBasicAuth must be set when flower is on, got undefined",
        ],
        [
            "webAccess",
            { webAccess: "open" as "public" },
            'CeleryCluster bad: webAccess must be "public" or "internal", got "open"',
        ],
        [
            "airflowVersion",
            { airflowVersion: "latest" },
            // Every released Airflow the Celery layout accepts (config/versions.ts), in the loader's words.
            `CeleryCluster bad: airflowVersion must be ${choiceText(SUPPORTED_AIRFLOW_VERSIONS)}, got "latest"`,
        ],
    ];
    for (const [field, args, message] of cases) {
        it(`throws a ResourceError naming ${field} and its allowed values`, () => {
            expect(() => new CeleryCluster("bad", { ...base, ...args })).to.throw(pulumi.ResourceError, message);
        });
    }
});
