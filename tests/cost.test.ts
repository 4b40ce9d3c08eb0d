import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { readFileSync } from "fs";
import * as path from "path";
import { costKeys } from "../config/cost";
import { classify, CostEstimate, CostResource, estimateCost, spread } from "../tools/plan/cost";
import { Io, main } from "../tools/plan/main";
import {
    ELASTICACHE_NODES,
    FARGATE_PRICES,
    MWAA_CLASSES,
    Price,
    PRICE_TABLE,
    PRICES,
    RDS_POSTGRES_INSTANCES,
    SAGEMAKER_INSTANCES,
} from "../tools/plan/prices";
import { weekOfBounds, weeklyFirings } from "../tools/plan/schedule";
import { ProgramRun, ROOT, runProgram, runResources, runStack, STACKS, StackName } from "./harness/program";

const H = 730;
const DAYS = 730 / 24;

/** The load keys as config overrides (full key names). */
function load(values: Partial<Record<keyof typeof costKeys, number>>): Record<string, unknown> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [`airflow:${k}`, v]));
}

function estimate(run: ProgramRun): CostEstimate {
    return estimateCost(run.resources, run.config);
}

describe("cost estimate", () => {
    describe("a fixed test stack", () => {
        let cost: CostEstimate;
        const busy = 10;
        before(async () => {
            const run = await runResources(
                "dev",
                () => {
                    const cluster = new aws.ecs.Cluster("c", {
                        settings: [{ name: "containerInsights", value: "disabled" }],
                    });
                    // Always on: 3 ARM tasks of 1 vCPU / 2 GB, the first on FARGATE, the rest 1:3 FARGATE:FARGATE_SPOT.
                    const armTask = new aws.ecs.TaskDefinition("arm-task", {
                        family: "arm",
                        cpu: "1024",
                        memory: "2048",
                        requiresCompatibilities: ["FARGATE"],
                        networkMode: "awsvpc",
                        runtimePlatform: { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" },
                        containerDefinitions: "[]",
                    });
                    new aws.ecs.Service("always", {
                        name: "always",
                        cluster: cluster.arn,
                        taskDefinition: armTask.arn,
                        desiredCount: 3,
                        capacityProviderStrategies: [
                            { capacityProvider: "FARGATE", weight: 1, base: 1 },
                            { capacityProvider: "FARGATE_SPOT", weight: 3 },
                        ],
                    });
                    // Office hours: x86 0.5 vCPU / 1 GB, 1..3 tasks Monday to Friday 08:00-20:00, 0 otherwise.
                    const x86Task = new aws.ecs.TaskDefinition("x86-task", {
                        family: "x86",
                        cpu: "512",
                        memory: "1024",
                        containerDefinitions: "[]",
                    });
                    new aws.ecs.Service("office", {
                        name: "office",
                        cluster: cluster.arn,
                        taskDefinition: x86Task.arn,
                        desiredCount: 1,
                        capacityProviderStrategies: [{ capacityProvider: "FARGATE", weight: 1 }],
                    });
                    const resourceId = "service/c/office";
                    const dims = { resourceId, scalableDimension: "ecs:service:DesiredCount", serviceNamespace: "ecs" };
                    new aws.appautoscaling.Target("office-target", { ...dims, minCapacity: 1, maxCapacity: 3 });
                    new aws.appautoscaling.ScheduledAction("office-off", {
                        ...dims,
                        schedule: "cron(0 20 ? * MON-FRI *)",
                        scalableTargetAction: { minCapacity: 0, maxCapacity: 0 },
                    });
                    new aws.appautoscaling.ScheduledAction("office-on", {
                        ...dims,
                        schedule: "cron(0 8 ? * MON-FRI *)",
                        scalableTargetAction: { minCapacity: 1, maxCapacity: 3 },
                    });
                    new aws.ec2.Eip("ip", { domain: "vpc" });
                    new aws.ec2.NatGateway("nat", { subnetId: "subnet-a", allocationId: "eip" });
                    new aws.ec2.VpcEndpoint("logs", {
                        vpcId: "vpc",
                        serviceName: "com.amazonaws.us-east-1.logs",
                        vpcEndpointType: "Interface",
                        subnetIds: ["subnet-a", "subnet-b"],
                    });
                    new aws.ec2.VpcEndpoint("s3", {
                        vpcId: "vpc",
                        serviceName: "com.amazonaws.us-east-1.s3",
                        vpcEndpointType: "Gateway",
                    });
                    new aws.lb.LoadBalancer("alb", {
                        loadBalancerType: "application",
                        internal: false,
                        subnets: ["subnet-a", "subnet-b"],
                    });
                    new aws.rds.Instance("db", {
                        engine: "postgres",
                        instanceClass: "db.t4g.medium",
                        multiAz: true,
                        allocatedStorage: 50,
                        storageType: "gp3",
                    });
                    const aurora = new aws.rds.Cluster("aurora", {
                        engine: "aurora-postgresql",
                        serverlessv2ScalingConfiguration: { minCapacity: 0.5, maxCapacity: 4 },
                    });
                    new aws.rds.ClusterInstance("aurora-1", {
                        clusterIdentifier: aurora.id,
                        instanceClass: "db.serverless",
                        engine: "aurora-postgresql",
                    });
                    new aws.elasticache.ReplicationGroup("cache", {
                        description: "broker",
                        engine: "valkey",
                        nodeType: "cache.t4g.small",
                        numCacheClusters: 2,
                    });
                    new aws.secretsmanager.Secret("secret", {});
                    new aws.secretsmanager.SecretVersion("variable", {
                        secretId: "secret",
                        secretString: JSON.stringify({
                            instance_type: "ml.m5.large",
                            instance_count: 2,
                            volume_size_gb: 73,
                            transform_instance_type: "ml.m5.xlarge",
                        }),
                    });
                    new aws.kms.Key("key", {});
                    new aws.cloudwatch.Dashboard("board", { dashboardName: "board", dashboardBody: "{}" });
                    new aws.cloudwatch.MetricAlarm("alarm", {
                        comparisonOperator: "GreaterThanThreshold",
                        evaluationPeriods: 1,
                        metricName: "Queued",
                        namespace: "Airflow/Celery",
                        period: 60,
                        statistic: "Maximum",
                        threshold: 0,
                    });
                    new aws.cloudwatch.LogGroup("logs", { retentionInDays: 60 });
                    new aws.mwaa.Environment("mwaa", {
                        name: "mwaa",
                        environmentClass: "mw1.small",
                        minWorkers: 1,
                        maxWorkers: 3,
                        schedulers: 3,
                        minWebservers: 2,
                        maxWebservers: 2,
                        dagS3Path: "dags",
                        executionRoleArn: "role",
                        sourceBucketArn: "bucket",
                        networkConfiguration: { securityGroupIds: ["sg"], subnetIds: ["a", "b"] },
                    });
                    new aws.s3.Bucket("bucket", {});
                    new aws.iam.Role("role", { assumeRolePolicy: "{}" });
                },
                load({
                    costBusyHoursPerDay: busy,
                    costNatGbPerMonth: 100,
                    costEndpointGbPerMonth: 50,
                    costLogGbPerMonth: 6,
                    costS3Gb: 40,
                    costTrainingHoursPerMonth: 20,
                    costTransformHoursPerMonth: 4,
                    costAlbLcus: 2,
                    costDatabaseBusyAcu: 2,
                    costDatabaseGb: 10,
                }),
            );
            cost = estimate(run);
        });

        it("equals the figure computed by hand from the price table, idle and loaded", () => {
            const arm = FARGATE_PRICES.ARM64;
            const x86 = FARGATE_PRICES.X86_64.FARGATE;
            // always: 1 base + 2 x 1/4 on FARGATE = 1.5 tasks, 2 x 3/4 = 1.5 on FARGATE_SPOT; 1 vCPU, 2 GB each.
            const always =
                1.5 * H * (arm.FARGATE.vcpuHour.usd * 1 + arm.FARGATE.gbHour.usd * 2) +
                1.5 * H * (arm.FARGATE_SPOT.vcpuHour.usd * 1 + arm.FARGATE_SPOT.gbHour.usd * 2);
            // office: 60 of the week's 168 hours at 1 task; busy 10 h a day at 3 tasks within them.
            const officeTask = x86.vcpuHour.usd * 0.5 + x86.gbHour.usd * 1;
            const officeIdle = H * (60 / 168) * officeTask;
            const officeBusy = Math.min(busy * DAYS, H * (60 / 168)) * 2 * officeTask;
            const nat = H * PRICES.natGatewayHour.usd;
            const natLoad = 100 * PRICES.natGatewayGb.usd;
            const eip = H * PRICES.publicIpv4Hour.usd;
            const endpoint = 2 * H * PRICES.interfaceEndpointAzHour.usd;
            const endpointLoad = 50 * PRICES.interfaceEndpointGb.usd;
            const alb = H * PRICES.albHour.usd + 2 * H * PRICES.publicIpv4Hour.usd;
            const albLoad = 2 * busy * DAYS * PRICES.albLcuHour.usd;
            const rds = H * RDS_POSTGRES_INSTANCES["db.t4g.medium"].multiAz.usd + 2 * 50 * PRICES.rdsGp3GbMonth.usd;
            const aurora = 10 * PRICES.auroraStorageGbMonth.usd + 0.5 * H * PRICES.auroraAcuHour.usd;
            const auroraLoad = busy * DAYS * (2 - 0.5) * PRICES.auroraAcuHour.usd;
            const cache = 2 * H * ELASTICACHE_NODES.valkey["cache.t4g.small"].usd;
            const secret = PRICES.secretMonth.usd;
            const training =
                20 * 2 * SAGEMAKER_INSTANCES["ml.m5.large"].usd +
                ((73 * 40) / H) * PRICES.sagemakerStorageGbMonth.usd +
                4 * SAGEMAKER_INSTANCES["ml.m5.xlarge"].usd;
            const key = PRICES.kmsKeyMonth.usd;
            const board = PRICES.dashboardMonth.usd;
            const alarm = PRICES.alarmMonth.usd + PRICES.customMetricMonth.usd;
            const logs = 6 * PRICES.logsIngestGb.usd + 6 * (60 / 30) * PRICES.logsStorageGbMonth.usd;
            // mw1.small with one scheduler above the two included; 2 more workers for the busy hours.
            const mwaa =
                H * MWAA_CLASSES["mw1.small"].environmentHour.usd + H * MWAA_CLASSES["mw1.small"].additionalHour.usd;
            const mwaaLoad = 2 * busy * DAYS * MWAA_CLASSES["mw1.small"].additionalHour.usd;
            const bucket = 40 * PRICES.s3StandardGbMonth.usd;

            const idle =
                always +
                officeIdle +
                nat +
                eip +
                endpoint +
                alb +
                rds +
                aurora +
                cache +
                secret +
                key +
                board +
                alarm +
                mwaa +
                bucket;
            const loaded =
                idle + officeBusy + natLoad + endpointLoad + albLoad + auroraLoad + training + logs + mwaaLoad;
            expect(cost.unpriced).to.deep.equal([]);
            expect(cost.monthlyIdle).to.be.closeTo(idle, 0.05);
            expect(cost.monthlyLoaded).to.be.closeTo(loaded, 0.05);
        });

        it("gives one line per priced resource with its monthly figures and the prices used", () => {
            const line = cost.lines.find((l) => l.name === "always")!;
            expect(line.type).to.equal("aws:ecs/service:Service");
            expect(line.prices.map((p) => [p.item, p.usd])).to.deep.equal([
                ["FARGATE ARM64 vCPU", FARGATE_PRICES.ARM64.FARGATE.vcpuHour.usd],
                ["FARGATE ARM64 memory", FARGATE_PRICES.ARM64.FARGATE.gbHour.usd],
                ["FARGATE_SPOT ARM64 vCPU", FARGATE_PRICES.ARM64.FARGATE_SPOT.vcpuHour.usd],
                ["FARGATE_SPOT ARM64 memory", FARGATE_PRICES.ARM64.FARGATE_SPOT.gbHour.usd],
            ]);
            expect(cost.lines.map((l) => l.name)).to.not.include.members(["role", "s3", "office-target", "c"]);
            expect(cost.free.map((f) => f.type)).to.include.members([
                "aws:iam/role:Role",
                "aws:ec2/vpcEndpoint:VpcEndpoint",
                "aws:appautoscaling/scheduledAction:ScheduledAction",
            ]);
        });

        it("computes the network both ways: NAT gateways only and interface endpoints only", () => {
            const natHour = PRICES.natGatewayHour.usd + PRICES.publicIpv4Hour.usd;
            expect(cost.network.configured.monthlyIdle).to.be.closeTo(H * natHour + 2 * H * 0.01, 0.01);
            expect(cost.network.natGatewaysOnly).to.include({ natGateways: 1, interfaceEndpoints: 0 });
            expect(cost.network.natGatewaysOnly.monthlyLoaded).to.be.closeTo(H * natHour + 150 * 0.045, 0.01);
            // celery without NAT needs ecr.api, ecr.dkr, logs, secretsmanager, monitoring (the queue-depth
            // metric), ecs and sagemaker.api (the DAGs): 7 endpoints in 2 AZs.
            expect(cost.network.endpointsOnly).to.include({ natGateways: 0, interfaceEndpoints: 7, endpointAzs: 2 });
            expect(cost.network.endpointsOnly.monthlyLoaded).to.be.closeTo(7 * 2 * H * 0.01 + 150 * 0.01, 0.01);
        });
    });

    it("lists a resource of a type it does not know as unpriced, never skips it", async () => {
        const run = await runResources("dev", () => {
            new aws.iot.Thing("sensor", {});
        });
        const cost = estimate(run);
        expect(cost.unpriced).to.deep.equal([
            { type: "aws:iot/thing:Thing", name: "sensor", reason: "its type is not classified in tools/plan/cost.ts" },
        ]);
        expect(cost.warnings).to.include(
            "unpriced: aws:iot/thing:Thing sensor (its type is not classified in tools/plan/cost.ts)",
        );
    });

    it("lists a priced type whose size the table lacks as unpriced", async () => {
        const run = await runResources("dev", () => {
            new aws.rds.Instance("big", { engine: "postgres", instanceClass: "db.r8g.48xlarge", allocatedStorage: 20 });
        });
        expect(estimate(run).unpriced).to.deep.equal([
            {
                type: "aws:rds/instance:Instance",
                name: "big",
                reason: "instance class db.r8g.48xlarge is not in the price table",
            },
        ]);
    });

    describe("every committed stack, in both layouts", () => {
        const runs: [string, () => Promise<ProgramRun>][] = [
            ...STACKS.map((s): [string, () => Promise<ProgramRun>] => [s, () => runStack(s as StackName)]),
            ["dev with airflow:layout mwaa", () => runProgram("dev", { "airflow:layout": "mwaa" })],
            ["prod with airflow:layout celery", () => runProgram("prod", { "airflow:layout": "celery" })],
            [
                "dev with the SQS broker (no Flower) and a worker always up",
                () =>
                    runProgram("dev", {
                        "airflow:broker": "sqs",
                        "airflow:flower": false,
                        "airflow:workerPools": [{ name: "default", cpu: 512, memory: 1024, minCount: 1, maxCount: 2 }],
                    }),
            ],
        ];
        for (const [label, run] of runs) {
            it(`${label}: every resource type is priced or listed as free, and nothing is unpriced`, async () => {
                const r = await run();
                const unknown = [...new Set(r.resources.filter((x) => !classify(x.type, x.custom)).map((x) => x.type))];
                expect(unknown, "resource types to classify in RESOURCE_CLASSES (tools/plan/cost.ts)").to.deep.equal(
                    [],
                );
                const cost = estimate(r);
                expect(cost.unpriced).to.deep.equal([]);
                expect(cost.monthlyIdle).to.be.greaterThan(0);
                expect(cost.monthlyLoaded).to.be.at.least(cost.monthlyIdle);
            });
        }
    });

    it("prices an SQS broker's requests from its workers' polls: one receive every 11 s per running worker task (kombu's 10 s long poll, 1 s polling interval)", async () => {
        const r = await runProgram("dev", {
            "airflow:broker": "sqs",
            "airflow:flower": false,
            "airflow:offHoursStop": "",
            "airflow:offHoursStart": "",
            "airflow:workerPools": [{ name: "default", cpu: 512, memory: 1024, minCount: 1, maxCount: 3 }],
        });
        const cost = estimate(r);
        const line = (name: string) => cost.lines.find((l) => l.name === name);
        // By hand: 1 worker all month, 2 more for the busy hours; 3600 / 11 receives an hour each.
        const busy = Number(costKeys.costBusyHoursPerDay.default) * (730 / 24);
        const idleRequests = (730 * 3600) / 11;
        const loadedRequests = idleRequests + (2 * busy * 3600) / 11;
        const main = line("airflow-dev-celery-default");
        expect(main, "the queue's line").to.not.equal(undefined);
        expect(main!.monthlyIdle).to.be.closeTo((idleRequests / 1e6) * PRICES.sqsMillionRequests.usd, 0.01);
        expect(main!.monthlyLoaded).to.be.closeTo((loadedRequests / 1e6) * PRICES.sqsMillionRequests.usd, 0.01);
        expect(line("airflow-dev-celery-default-dlq")!.monthlyLoaded, "nothing polls the dead-letter queue").to.equal(
            0,
        );
    });

    it("spreads a service's tasks as ECS does: the base first, then by weight", () => {
        const table: [
            number,
            { capacityProvider: "FARGATE" | "FARGATE_SPOT"; weight: number; base?: number }[],
            number,
            number,
        ][] = [
            [4, [{ capacityProvider: "FARGATE", weight: 1 }], 4, 0],
            [
                4,
                [
                    { capacityProvider: "FARGATE", weight: 0, base: 0 },
                    { capacityProvider: "FARGATE_SPOT", weight: 1 },
                ],
                0,
                4,
            ],
            [
                5,
                [
                    { capacityProvider: "FARGATE", weight: 1, base: 1 },
                    { capacityProvider: "FARGATE_SPOT", weight: 3 },
                ],
                2,
                3,
            ],
            [
                1,
                [
                    { capacityProvider: "FARGATE_SPOT", weight: 1 },
                    { capacityProvider: "FARGATE", weight: 0, base: 2 },
                ],
                1,
                0,
            ],
        ];
        for (const [count, strategy, onDemand, spot] of table) {
            const s = spread(
                count,
                strategy.map((x) => ({ provider: x.capacityProvider, weight: x.weight, base: x.base ?? 0 })),
            );
            expect(s, JSON.stringify([count, strategy])).to.deep.equal({ FARGATE: onDemand, FARGATE_SPOT: spot });
        }
    });

    it("reads weekly cron schedules of scheduled actions, and ignores the others", () => {
        expect(weeklyFirings("cron(0 20 ? * MON-FRI *)")).to.deep.equal([1, 2, 3, 4, 5].map((d) => d * 1440 + 20 * 60));
        expect(weeklyFirings("cron(30 7 ? * 2,6 *)")).to.deep.equal([1 * 1440 + 450, 5 * 1440 + 450]);
        expect(weeklyFirings("cron(0 8 1 * ? *)")).to.equal(undefined);
        expect(weeklyFirings("at(2026-12-24T18:00:00)")).to.equal(undefined);
        const week = weekOfBounds({ min: 1, max: 3 }, [
            { schedule: "cron(0 20 ? * FRI *)", min: 0, max: 0 },
            { schedule: "cron(0 6 ? * MON *)", min: 1, max: 3 },
            { schedule: "rate(1 day)", min: 5 },
        ]);
        expect(week.unsupported).to.deep.equal(["rate(1 day)"]);
        const off = week.bounds.filter((b) => b.max === 0).length / 60;
        expect(off).to.equal(4 + 24 + 24 + 6); // Friday 20:00 to Monday 06:00
        expect(week.bounds[0]).to.deep.equal({ min: 0, max: 0 }); // Sunday 00:00: still off from Friday
    });

    it("lets an Aurora Serverless v2 instance with a minimum of 0 ACU pause only while every service is stopped", async () => {
        const run = await runResources(
            "dev",
            () => {
                const td = new aws.ecs.TaskDefinition("t", {
                    family: "t",
                    cpu: "256",
                    memory: "512",
                    containerDefinitions: "[]",
                });
                new aws.ecs.Service("svc", { name: "svc", taskDefinition: td.arn, desiredCount: 1 });
                const dims = {
                    resourceId: "service/c/svc",
                    scalableDimension: "ecs:service:DesiredCount",
                    serviceNamespace: "ecs",
                };
                new aws.appautoscaling.Target("svc-target", { ...dims, minCapacity: 1, maxCapacity: 1 });
                new aws.appautoscaling.ScheduledAction("svc-off", {
                    ...dims,
                    schedule: "cron(0 0 ? * SAT *)",
                    scalableTargetAction: { minCapacity: 0, maxCapacity: 0 },
                });
                new aws.appautoscaling.ScheduledAction("svc-on", {
                    ...dims,
                    schedule: "cron(0 0 ? * MON *)",
                    scalableTargetAction: { minCapacity: 1, maxCapacity: 1 },
                });
                const cluster = new aws.rds.Cluster("a", {
                    engine: "aurora-postgresql",
                    serverlessv2ScalingConfiguration: { minCapacity: 0, maxCapacity: 2 },
                });
                new aws.rds.ClusterInstance("a-1", {
                    clusterIdentifier: cluster.id,
                    instanceClass: "db.serverless",
                    engine: "aurora-postgresql",
                });
            },
            load({ costBusyHoursPerDay: 0 }),
        );
        const line = estimate(run).lines.find((l) => l.name === "a-1")!;
        // Saturday and Sunday stopped: 0.5 ACU the other 120 of 168 hours.
        expect(line.monthlyIdle).to.be.closeTo(0.5 * H * (120 / 168) * PRICES.auroraAcuHour.usd, 0.01);
    });

    it("names for every price in the table AWS's pricing page it comes from, in one region on one date", () => {
        const prices: Price[] = [];
        const walk = (v: unknown) => {
            if (v && typeof v === "object") {
                if ("usd" in v && "source" in v) prices.push(v as Price);
                else Object.values(v).forEach(walk);
            }
        };
        walk([FARGATE_PRICES, RDS_POSTGRES_INSTANCES, ELASTICACHE_NODES, MWAA_CLASSES, SAGEMAKER_INSTANCES, PRICES]);
        expect(prices.length).to.be.greaterThan(40);
        for (const p of prices) {
            expect(p.source, p.unit).to.match(/^https:\/\/aws\.amazon\.com\//);
            expect(p.usd, p.unit).to.be.greaterThan(0);
        }
        expect(PRICE_TABLE).to.include({
            region: "us-east-1",
            currency: "USD",
            date: "2026-12-01",
            hoursPerMonth: 730,
        });
    });

    it("README's baseline table states the estimate of each committed stack", async () => {
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        for (const [stack, layout] of [
            ["dev", "celery"],
            ["staging", "celery"],
            ["prod", "mwaa"],
        ] as const) {
            const cost = estimate(await runStack(stack));
            const money = (n: number) =>
                `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
            expect(readme, `README.md's cost table, row ${stack}`).to.contain(
                `| ${stack} (${layout}) | ${money(cost.monthlyIdle)} | ${money(cost.monthlyLoaded)} |`,
            );
        }
    });

    it("meets issue 20's goals as the plan measures them: dev idle at most a third of mw1.small's month, staging idle at most mw1.small's", async () => {
        const mw1Small = PRICE_TABLE.hoursPerMonth * MWAA_CLASSES["mw1.small"].environmentHour.usd;
        const dev = estimate(await runStack("dev"));
        const staging = estimate(await runStack("staging"));
        expect(dev.monthlyIdle, `dev idle against mw1.small / 3 = ${(mw1Small / 3).toFixed(2)}`).to.be.at.most(
            mw1Small / 3,
        );
        expect(staging.monthlyIdle, `staging idle against mw1.small = ${mw1Small.toFixed(2)}`).to.be.at.most(mw1Small);
    });

    it("prices what the levers would make of dev: ARM64 task definitions and an off-hours schedule cost less", async () => {
        // dev without its levers, so that the estimator's own arithmetic is what is checked.
        const run = await runProgram("dev", {
            "airflow:cpuArchitecture": "X86_64",
            "airflow:offHoursStop": "",
            "airflow:offHoursStart": "",
        });
        const copy = () =>
            run.resources.map((r): CostResource => ({ ...r, inputs: JSON.parse(JSON.stringify(r.inputs)) }));
        const base = estimateCost(run.resources, run.config);
        const arm = copy();
        for (const r of arm.filter((x) => x.type === "aws:ecs/taskDefinition:TaskDefinition")) {
            r.inputs.runtimePlatform = { cpuArchitecture: "ARM64", operatingSystemFamily: "LINUX" };
        }
        const offHours = copy();
        for (const s of run.resources.filter(
            (x) => x.type === "aws:ecs/service:Service" && x.inputs.desiredCount > 0,
        )) {
            const dims = { resourceId: `service/c/${s.inputs.name}`, scalableDimension: "ecs:service:DesiredCount" };
            const count = s.inputs.desiredCount;
            offHours.push(
                {
                    type: "aws:appautoscaling/target:Target",
                    name: `${s.name}-t`,
                    custom: true,
                    inputs: { ...dims, minCapacity: count, maxCapacity: count },
                },
                {
                    type: "aws:appautoscaling/scheduledAction:ScheduledAction",
                    name: `${s.name}-off`,
                    custom: true,
                    inputs: {
                        ...dims,
                        schedule: "cron(0 20 ? * MON-FRI *)",
                        scalableTargetAction: { minCapacity: 0, maxCapacity: 0 },
                    },
                },
                {
                    type: "aws:appautoscaling/scheduledAction:ScheduledAction",
                    name: `${s.name}-on`,
                    custom: true,
                    inputs: {
                        ...dims,
                        schedule: "cron(0 8 ? * MON-FRI *)",
                        scalableTargetAction: { minCapacity: count, maxCapacity: count },
                    },
                },
            );
        }
        const fargate = (c: CostEstimate) =>
            c.lines.filter((l) => l.type === "aws:ecs/service:Service").reduce((n, l) => n + l.monthlyIdle, 0);
        const withArm = estimateCost(arm, run.config);
        const withSchedule = estimateCost(offHours, run.config);
        expect(withArm.unpriced).to.deep.equal([]);
        expect(fargate(withArm)).to.be.closeTo(fargate(base) * 0.8, 0.2); // ARM prices are 20% below x86
        expect(fargate(withSchedule)).to.be.closeTo(fargate(base) * (60 / 168), 0.05); // 60 of the week's 168 hours
    });

    describe("npm run plan", () => {
        async function plan(args: string[]): Promise<{ code: number; out: string }> {
            let out = "";
            const io: Io = { out: (t) => (out += t), err: (t) => (out += t) };
            const code = await main(args, io, process.cwd(), (stack, overrides) =>
                Object.keys(overrides).length === 0 ? runStack(stack as StackName) : runProgram(stack, overrides),
            );
            return { code, out };
        }

        it("prints the estimate with a total and puts it in the JSON under a top-level cost", async () => {
            const text = await plan(["dev"]);
            expect(text.out).to.match(
                /\nEstimated monthly cost: \$\d+\.\d\d idle, \$\d+\.\d\d loaded \(USD, us-east-1/,
            );
            expect(text.out).to.contain("total of ");
            expect(text.out).to.contain("NAT gateways vs interface endpoints");
            const json = JSON.parse((await plan(["dev", "--json=-"])).out);
            expect(json.cost).to.include({ currency: "USD", priceDate: "2026-12-01" });
            expect(json.cost.monthlyIdle).to.be.a("number");
            expect(json.cost.monthlyLoaded).to.be.at.least(json.cost.monthlyIdle);
            const db = json.cost.lines.find((l: { name: string }) => l.name === "airflow-dev-db");
            expect(db).to.include({ type: "aws:rds/instance:Instance" });
            expect(db.prices[0]).to.include({
                item: "db.t4g.micro",
                usd: 0.016,
                source: "https://aws.amazon.com/rds/postgresql/pricing/",
            });
        });

        it("shows the cost difference between two stacks", async () => {
            const [dev, staging] = await Promise.all([runStack("dev"), runStack("staging")]);
            const expected = estimate(staging).monthlyIdle - estimate(dev).monthlyIdle;
            const { out } = await plan(["dev", "staging"]);
            const sign = expected >= 0 ? "+" : "-";
            expect(out).to.contain(`(${sign}$${Math.abs(expected).toFixed(2)} idle`);
            const json = JSON.parse((await plan(["dev", "staging", "--json=-"])).out);
            expect(json.cost.monthlyIdle.difference).to.be.closeTo(expected, 0.01);
            expect(json.plans[1].cost.monthlyIdle).to.equal(estimate(staging).monthlyIdle);
        });

        it("takes the load from config, as a flag: --config costBusyHoursPerDay=0 leaves only idle workers", async () => {
            const json = JSON.parse((await plan(["dev", "--json=-", "--config", "costBusyHoursPerDay=0"])).out);
            const worker = json.cost.lines.find((l: { name: string }) => l.name === "airflow-dev-worker-default");
            expect(worker.monthlyLoaded).to.equal(0);
            expect(json.cost.load.costBusyHoursPerDay).to.equal(0);
        });
    });
});
