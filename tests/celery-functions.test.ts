// Table tests of CeleryCluster's exported functions, called directly (no program run).
import { expect } from "chai";
import {
    airflowServices,
    celeryArgViolations,
    componentCommand,
    grantStatements,
    listenerSpecs,
    queueSteps,
    resolveCeleryArgs,
    ServiceSpec,
    taskContainers,
    taskRoleGrants,
    upgradeSnapshotIdentifier,
} from "../components/celery";
import { targetGroupHealth } from "../components/celery/load-balancer";
import { poolScales } from "../components/celery/scaling";
import { mountsSharedFs, workerHealthCheck } from "../components/celery/services";
import { taskVolumes } from "../components/celery/service";
import { CELERY_DEFAULTS, DEFAULT_WORKER_POOLS, WorkerPool } from "../config";
import { fargateSizeViolations } from "../config/fargate";
import { ecrRepositoryArn, parseEcrImageUri } from "../lib/ecr";

const pool = (over: Partial<WorkerPool>): WorkerPool => ({ ...DEFAULT_WORKER_POOLS[0], ...over });
const services = (over: Partial<Parameters<typeof airflowServices>[0]> = {}): ServiceSpec[] =>
    airflowServices({ ...CELERY_DEFAULTS, airflowMajor: 3, broker: "redis", ...over });
const byRole = (specs: ServiceSpec[]) => Object.fromEntries(specs.map((s) => [s.role, s]));

describe("airflowServices", () => {
    const cases: [string, Partial<Parameters<typeof airflowServices>[0]>, string[]][] = [
        [
            "Airflow 3 with Flower",
            {},
            ["control", "api-server", "scheduler", "dag-processor", "triggerer", "worker-default", "flower"],
        ],
        [
            "Airflow 3 without Flower",
            { flower: false },
            ["control", "api-server", "scheduler", "dag-processor", "triggerer", "worker-default"],
        ],
        [
            "Airflow 2: webserver, no dag-processor",
            { airflowMajor: 2, flower: false },
            ["control", "webserver", "scheduler", "triggerer", "worker-default"],
        ],
        [
            "one service per pool",
            { flower: false, workerPools: [pool({}), pool({ name: "large", cpu: 2048, memory: 4096 })] },
            ["control", "api-server", "scheduler", "dag-processor", "triggerer", "worker-default", "worker-large"],
        ],
    ];
    for (const [what, input, roles] of cases) {
        it(`runs ${roles.length} services for ${what}`, () => {
            expect(services(input).map((s) => s.role)).to.deep.equal(roles);
        });
    }

    it("reads DAG files where the major version parses them", () => {
        const needs = (major: 2 | 3) =>
            services({ airflowMajor: major, flower: false })
                .filter((s) => s.needsDags)
                .map((s) => s.role);
        expect(needs(3)).to.deep.equal(["dag-processor", "triggerer", "worker-default"]);
        expect(needs(2)).to.deep.equal(["webserver", "scheduler", "triggerer", "worker-default"]);
    });

    it("places spot pools on FARGATE_SPOT above their on-demand base, and every other service on FARGATE", () => {
        const specs = byRole(services({ workerPools: [pool({ spot: true, onDemandBase: 1 })] }));
        expect(specs["worker-default"].capacityProviders).to.deep.equal([
            { capacityProvider: "FARGATE", weight: 0, base: 1 },
            { capacityProvider: "FARGATE_SPOT", weight: 1 },
        ]);
        for (const role of ["control", "api-server", "scheduler", "flower"]) {
            expect(specs[role].capacityProviders, role).to.deep.equal([{ capacityProvider: "FARGATE", weight: 1 }]);
        }
    });

    it("sizes each service from the settings and each worker from its pool, desired count from minCount", () => {
        const specs = byRole(
            services({
                sizes: { ...CELERY_DEFAULTS.sizes, scheduler: { cpu: 2048, memory: 4096 } },
                schedulerCount: 2,
                workerPools: [pool({ minCount: 0, cpu: 512, memory: 1024 })],
            }),
        );
        expect([specs.scheduler.cpu, specs.scheduler.memory, specs.scheduler.desiredCount]).to.deep.equal([
            2048, 4096, 2,
        ]);
        expect([specs["worker-default"].cpu, specs["worker-default"].desiredCount]).to.deep.equal([512, 0]);
        expect(specs["worker-default"].stopTimeout).to.equal(120);
    });

    it("checks a worker with a Celery ping on redis and its process on sqs (no remote control)", () => {
        expect(workerHealthCheck("redis")).to.contain("inspect ping");
        expect(workerHealthCheck("sqs")).to.contain("/proc");
    });
});

describe("componentCommand", () => {
    const cases: [Parameters<typeof componentCommand>, string[]][] = [
        [["api-server"], ["api-server", "--port", "8080"]],
        [
            ["webserver", { port: 18080 }],
            ["webserver", "--port", "18080"],
        ],
        [["scheduler"], ["scheduler"]],
        [
            ["worker", { queues: ["a", "b"], concurrency: 8 }],
            ["celery", "worker", "--queues", "a,b", "--concurrency", "8"],
        ],
        // Celery's own Flower, without Airflow: the entrypoint runs `python ...` as it is.
        [["flower"], ["python", "-m", "celery", "flower", "--port=5555"]],
    ];
    for (const [args, command] of cases) {
        it(`runs ${args[0]} with the container command ${command.join(" ")}`, () => {
            expect(componentCommand(...args)).to.deep.equal(command);
        });
    }
});

describe("taskContainers", () => {
    const env = {
        environment: [{ name: "AIRFLOW__CORE__EXECUTOR", value: "CeleryExecutor" }],
        secrets: [
            { name: "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", valueFrom: "arn:db" },
            { name: "AIRFLOW__CORE__FERNET_KEY", valueFrom: "arn:fernet" },
        ],
    };
    const input = (spec: ServiceSpec, over: Partial<Parameters<typeof taskContainers>[0]> = {}) =>
        taskContainers({
            spec,
            env,
            image: "img:1",
            logGroup: "/airflow/dev/x",
            region: "us-east-1",
            bucket: "bucket",
            environment: "dev",
            queues: ["default"],
            dagSyncIntervalSeconds: 60,
            ecsExec: false,
            sharedFileSystem: true,
            ...over,
        });
    const specs = byRole(services());
    // rds-ca writes the RDS CA bundle first; every container that connects to the database waits for it.
    const cases: [string, string[], Record<string, string>][] = [
        [
            "control",
            ["rds-ca", "migrate", "queue-metrics"],
            { migrate: "rds-ca:SUCCESS", "queue-metrics": "rds-ca:SUCCESS,migrate:SUCCESS" },
        ],
        [
            "api-server",
            ["rds-ca", "wait-for-migrations", "api-server"],
            { "wait-for-migrations": "rds-ca:SUCCESS", "api-server": "rds-ca:SUCCESS,wait-for-migrations:SUCCESS" },
        ],
        [
            "worker-default",
            ["rds-ca", "wait-for-migrations", "prepare-dags", "dag-sync", "worker"],
            {
                "prepare-dags": "",
                "dag-sync": "prepare-dags:SUCCESS",
                worker: "rds-ca:SUCCESS,wait-for-migrations:SUCCESS,prepare-dags:SUCCESS,dag-sync:HEALTHY",
            },
        ],
        ["flower", ["rds-ca", "flower"], { "rds-ca": "", flower: "rds-ca:SUCCESS" }],
    ];
    for (const [role, names, waits] of cases) {
        it(`runs ${names.join(", ")} in a ${role} task, each waiting as it must`, () => {
            const containers = input(specs[role]);
            expect(containers.map((c) => c.name)).to.deep.equal(names);
            for (const [name, wait] of Object.entries(waits)) {
                const c = containers.find((x) => x.name === name)!;
                expect((c.dependsOn ?? []).map((d) => `${d.containerName}:${d.condition}`).join(","), name).to.equal(
                    wait,
                );
            }
        });
    }

    it("runs every container but prepare-dags and rds-ca as the airflow user, and logs to the service's group under its own prefix", () => {
        for (const spec of services()) {
            for (const c of input(spec)) {
                expect(c.user, String(c.name)).to.equal(
                    c.name === "prepare-dags" || c.name === "rds-ca" ? "0" : "50000:0",
                );
                expect(c.logConfiguration?.options, String(c.name)).to.include({
                    "awslogs-group": "/airflow/dev/x",
                    "awslogs-stream-prefix": c.name === spec.component ? spec.component : c.name,
                });
            }
        }
    });

    it("gives the migration wait and the queue metric only the database secret", () => {
        const named = (role: string, name: string) => input(specs[role]).find((c) => c.name === name)!;
        expect(named("worker-default", "wait-for-migrations").secrets).to.deep.equal([env.secrets[0]]);
        expect(named("control", "queue-metrics").secrets).to.deep.equal([env.secrets[0]]);
        expect(named("control", "rds-ca").secrets).to.equal(undefined);
    });

    it("mounts the shared file system in every Airflow component but Flower, only when there is one", () => {
        const mounts = (role: string, shared: boolean) =>
            input(specs[role], { sharedFileSystem: shared })
                .flatMap((c) => c.mountPoints ?? [])
                .map((m) => m.sourceVolume);
        const ca = "rds-ca";
        expect(mounts("worker-default", true)).to.deep.equal([ca, ca, "dags", "dags", "dags", "shared", ca]);
        expect(mounts("worker-default", false)).to.deep.equal([ca, ca, "dags", "dags", "dags", ca]);
        expect(mounts("flower", true)).to.deep.equal([ca, ca]);
    });

    it("turns on the init process only with ECS Exec", () => {
        const withExec = input(specs.scheduler, { ecsExec: true });
        expect(withExec.find((c) => c.name === "scheduler")?.linuxParameters).to.deep.equal({
            initProcessEnabled: true,
        });
        expect(input(specs.scheduler).find((c) => c.name === "scheduler")?.linuxParameters).to.equal(undefined);
    });

    it("declares the volumes its containers mount", () => {
        for (const spec of services()) {
            const volumes = taskVolumes(spec, { id: "fs", accessPointId: "ap" }).map((v) => v.name);
            const mounted = [
                ...new Set(
                    input(spec)
                        .flatMap((c) => c.mountPoints ?? [])
                        .map((m) => m.sourceVolume),
                ),
            ];
            expect(mounted.sort(), spec.role).to.deep.equal([...volumes].sort());
        }
    });
});

describe("taskRoleGrants and grantStatements", () => {
    const ctx = {
        partition: "aws-cn",
        region: "cn-north-1",
        account: "123456789012",
        environment: "dev",
        bucketArn: "arn:aws-cn:s3:::b",
        queueArns: [] as string[],
        ecsExec: false,
        cluster: { name: "airflow-dev", arn: "arn:aws-cn:ecs:cn-north-1:123456789012:cluster/airflow-dev" },
    };
    const sids = (grants: Parameters<typeof grantStatements>[0], over: Partial<typeof ctx> & object = {}) =>
        grantStatements(grants, { ...ctx, ...over }).map((s) => s.Sid);
    const cases: [string, Parameters<typeof grantStatements>[0], object, (string | undefined)[]][] = [
        ["flower", taskRoleGrants(3).flower, {}, []],
        ["control", taskRoleGrants(3).control, {}, ["PublishQueueMetric"]],
        ["the Airflow 3 web role", taskRoleGrants(3).web, {}, ["ListLogs", "ReadLogs", "ReadConnectionsAndVariables"]],
        [
            "the Airflow 2 web role (parses DAGs)",
            taskRoleGrants(2).web,
            {},
            ["ListDags", "ReadDags", "ListLogs", "ReadLogs", "ReadConnectionsAndVariables"],
        ],
        [
            "the worker on sqs with a KMS key and ECS Exec",
            taskRoleGrants(3).worker,
            { queueArns: ["arn:q"], kmsKeyArn: "arn:k", ecsExec: true },
            [
                "ListDags",
                "ReadDags",
                "ListLogs",
                "ReadWriteLogs",
                "ArtifactsKms",
                "ReadConnectionsAndVariables",
                "SendTasks",
                "ConsumeTasks",
                "ProtectOwnTaskFromScaleIn",
                "EcsExec",
            ],
        ],
        [
            "the scheduler with the shared file system",
            taskRoleGrants(3).scheduler,
            { fileSystem: { arn: "arn:fs", accessPointArn: "arn:ap" } },
            ["ReadConnectionsAndVariables", "MountSharedFileSystem"],
        ],
    ];
    for (const [role, grants, over, expected] of cases) {
        it(`gives ${role} exactly ${expected.join(", ") || "nothing"}`, () => {
            expect(sids(grants, over)).to.deep.equal(expected);
        });
    }

    it("names the secrets backend's prefixes in the stack's partition", async () => {
        const [statement] = grantStatements(["secretsBackend"], ctx);
        const resources = await Promise.all(
            (statement.Resource as unknown as { apply: (f: (v: string) => void) => void }[]).map(
                (r) => new Promise<string>((resolve) => r.apply(resolve)),
            ),
        );
        expect(resources).to.deep.equal([
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:airflow/dev/connections/*",
            "arn:aws-cn:secretsmanager:cn-north-1:123456789012:secret:airflow/dev/variables/*",
        ]);
    });
});

describe("listenerSpecs and targetGroupHealth", () => {
    const cases: [{ https: boolean; flower: boolean }, string[]][] = [
        [{ https: false, flower: false }, ["http:80 HTTP -> api"]],
        [{ https: false, flower: true }, ["http:80 HTTP -> api", "flower:5555 HTTP -> flower"]],
        [{ https: true, flower: false }, ["https:443 HTTPS -> api", "http:80 HTTP -> redirect 443"]],
        [
            { https: true, flower: true },
            ["https:443 HTTPS -> api", "http:80 HTTP -> redirect 443", "flower:5555 HTTPS -> flower"],
        ],
    ];
    for (const [args, expected] of cases) {
        it(`listens ${expected.join("; ")} with https ${args.https} and flower ${args.flower}`, () => {
            const shown = listenerSpecs(args).map(
                (l) =>
                    `${l.role}:${l.port} ${l.https ? "HTTPS" : "HTTP"} -> ${"forward" in l.action ? l.action.forward : `redirect ${l.action.redirectToHttps}`}`,
            );
            expect(shown).to.deep.equal(expected);
        });
    }
    it("checks each target on its health endpoint", () => {
        expect(targetGroupHealth("api", 3)).to.deep.equal({ path: "/api/v2/monitor/health", matcher: "200" });
        expect(targetGroupHealth("api", 2)).to.deep.equal({ path: "/health", matcher: "200" });
        expect(targetGroupHealth("flower", 3)).to.deep.equal({ path: "/healthcheck", matcher: "200-401" });
    });
});

describe("queueSteps and poolScales", () => {
    const cases: [number, number, number[]][] = [
        [1, 16, [1]],
        [4, 16, [1, 2, 3, 4]],
        [40, 8, [2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, 32, 34, 36, 38, 40]],
    ];
    for (const [maxCount, concurrency, capacities] of cases) {
        it(`steps a pool of up to ${maxCount} workers of ${concurrency} tasks through ${capacities.length} capacities`, () => {
            const steps = queueSteps({ maxCount, concurrency });
            expect(steps.map((s) => s.scalingAdjustment)).to.deep.equal(capacities);
            expect(steps[0].metricIntervalLowerBound).to.equal("0");
            expect(steps[steps.length - 1].metricIntervalUpperBound).to.equal(undefined);
        });
    }
    it("scales only pools whose minimum and maximum differ", () => {
        expect([poolScales({ minCount: 0, maxCount: 2 }), poolScales({ minCount: 2, maxCount: 2 })]).to.deep.equal([
            true,
            false,
        ]);
    });
    it("mounts the shared file system everywhere but in the control service and Flower", () => {
        expect(
            services()
                .filter(mountsSharedFs)
                .map((s) => s.role),
        ).to.deep.equal(["api-server", "scheduler", "dag-processor", "triggerer", "worker-default"]);
    });
});

describe("celeryArgViolations", () => {
    const secretArns = { flowerBasicAuth: "x", jwtSecret: "y" } as never;
    const check = (over: object, storage: object = {}) => {
        const args = { storage: { brokerType: "redis", secretArns, ...storage } } as never;
        const resolved = {
            ...CELERY_DEFAULTS,
            environment: "dev",
            airflowVersion: "3.0.6",
            airflowMajor: 3,
            brokerType: "redis",
            protectData: false,
            ...over,
        };
        return celeryArgViolations(resolved as never, args).map((v) => `${v.field} ${v.message}`);
    };
    const cases: [string, object, object, string[]][] = [
        ["the defaults", {}, {}, []],
        [
            "flower on sqs",
            { brokerType: "sqs" },
            { queues: { default: {} } },
            ["flower must be false with the sqs broker (Celery cannot inspect SQS), got true"],
        ],
        [
            "sqs without a pool's queue",
            { brokerType: "sqs", flower: false },
            { queues: {} },
            ["storage.queues must be an SQS queue for every worker pool (missing default), got []"],
        ],
        [
            "a CPU Fargate lacks",
            { sizes: { ...CELERY_DEFAULTS.sizes, flower: { cpu: 300, memory: 512 } } },
            {},
            ["sizes.flower.cpu must be one of 256, 512, 1024, 2048, 4096, 8192, 16384, got 300"],
        ],
        [
            "an unknown retention",
            { logRetentionDays: 2 },
            {},
            [
                "logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653, got 2",
            ],
        ],
        [
            "a pool without default",
            { workerPools: [pool({ name: "big" })] },
            {},
            [
                'workerPools must include a pool named "default" (tasks without queue= go to the default queue), got ["big"]',
            ],
        ],
    ];
    for (const [what, over, storage, expected] of cases) {
        it(`reports ${expected.length ? expected.length : "nothing"} for ${what}`, () => {
            expect(check(over, storage)).to.deep.equal(expected);
        });
    }
    it("defaults every setting as a stack without the key does", () => {
        const resolved = resolveCeleryArgs(
            "x",
            {
                environment: "dev",
                airflowVersion: "3.0.6",
                network: {} as never,
                storage: { brokerType: "redis", secretArns } as never,
                image: { uri: "i" },
            },
            undefined as never,
        );
        const settings = Object.fromEntries(Object.entries(resolved).filter(([k]) => k in CELERY_DEFAULTS));
        expect(settings).to.deep.equal(CELERY_DEFAULTS);
        expect(CELERY_DEFAULTS.flower).to.equal(true);
        expect(CELERY_DEFAULTS.workerPools).to.deep.equal(DEFAULT_WORKER_POOLS);
    });
});

describe("upgradeSnapshotIdentifier", () => {
    // RDS DB snapshot identifiers: 1-255 letters, digits or hyphens, a letter first, no two hyphens
    // in a row, no hyphen last ("Naming constraints in Amazon RDS", RDS User Guide).
    const valid = (id: string) => /^[A-Za-z](?:-?[A-Za-z0-9])*$/.test(id) && id.length <= 255;
    const cases: [string, string, string][] = [
        ["airflow-dev", "3.0.6", "airflow-dev-pre-3-0-6-ab12"],
        ["airflow-staging", "3.1.0rc1", "airflow-staging-pre-3-1-0rc1-ab12"],
        ["airflow-prod", "2.10.5", "airflow-prod-pre-2-10-5-ab12"],
        ["airflow-dev", "3.2.0+local.1", "airflow-dev-pre-3-2-0-local-1-ab12"],
    ];
    for (const [name, version, want] of cases) {
        it(`names the snapshot before ${version} on ${name} ${want}, a valid RDS identifier`, () => {
            const id = upgradeSnapshotIdentifier(name, version, "ab12");
            expect(id).to.equal(want);
            expect(valid(id), id).to.equal(true);
        });
    }
});

describe("fargateSizeViolations", () => {
    const cases: [number, number, string[]][] = [
        [256, 512, []],
        [300, 512, ["cpu one of 256, 512, 1024, 2048, 4096, 8192, 16384"]],
        [256, 4096, ["memory a memory size Fargate allows with cpu 256 (512, 1024 or 2048)"]],
        [2048, 2048, ["memory a memory size Fargate allows with cpu 2048 (4096 to 16384 in steps of 1024)"]],
    ];
    for (const [cpu, memory, expected] of cases) {
        it(`finds ${expected.length} problem(s) with ${cpu} CPU and ${memory} MiB`, () => {
            expect(fargateSizeViolations(cpu, memory).map((v) => `${v.field} ${v.allowed}`)).to.deep.equal(expected);
        });
    }
});

describe("parseEcrImageUri", () => {
    const cases: [string, string | undefined][] = [
        [
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/jobs:1.2",
            "arn:aws:ecr:eu-west-1:123456789012:repository/team/jobs",
        ],
        [
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/jobs@sha256:" + "a".repeat(64),
            "arn:aws:ecr:cn-north-1:123456789012:repository/jobs",
        ],
        ["public.ecr.aws/docker/library/python:3.12-slim", undefined],
        ["python:3.12", undefined],
    ];
    for (const [uri, arn] of cases) {
        it(`reads ${arn ? "the repository" : "no ECR repository"} from ${uri.slice(0, 60)}`, () => {
            const repo = parseEcrImageUri(uri);
            expect(repo ? ecrRepositoryArn(repo, "aws") : undefined).to.equal(arn);
        });
    }
});
