// The cost levers of issue 20: Graviton, Spot for the stateless services, the off-hours schedule and
// Container Insights, as config (exact messages), as pure decisions (table tests) and as resources
// of the committed stacks' programs.
import { expect } from "chai";
import { offHoursActions, shiftCron, stopOffsetMinutes } from "../components/celery/scaling";
import { airflowServices, statelessCapacity } from "../components/celery/services";
import { CELERY_DEFAULTS } from "../config";
import { dockerPlatform, MULTI_ARCH_IMAGES, parseWeeklyCron } from "../config/levers";
import { itRejectsEach } from "./harness/config";
import { ProgramRun, runStack } from "./harness/program";

const T = {
    service: "aws:ecs/service:Service",
    task: "aws:ecs/taskDefinition:TaskDefinition",
    target: "aws:appautoscaling/target:Target",
    scheduled: "aws:appautoscaling/scheduledAction:ScheduledAction",
    cluster: "aws:ecs/cluster:Cluster",
};

/** dev made a production stack in every other respect (issue 15's rules), so each case names one rule. */
const PRODUCTION_DEV = {
    "airflow:production": true,
    "airflow:protectData": true,
    "airflow:dbBackupRetentionDays": 7,
    "airflow:brokerNodes": 2,
    "airflow:certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0e0f1a2b-3c4d-5e6f-7a8b-9c0d1e2f3a4b",
};

describe("cost levers: rejected configuration", () => {
    itRejectsEach([
        [
            "an unknown CPU architecture",
            { "airflow:cpuArchitecture": "arm64" },
            'airflow:cpuArchitecture must be "X86_64" or "ARM64", got "arm64"',
        ],
        [
            "an off-hours stop that is not a weekly cron with a single minute and hour",
            { "airflow:offHoursStop": "cron(0 20 * * ? *)" },
            'airflow:offHoursStop must be empty or a weekly cron expression with a single minute (0 to 54) and hour and "?" as day-of-month, e.g. "cron(0 20 ? * MON-FRI *)", got "cron(0 20 * * ? *)"',
        ],
        [
            "an off-hours stop too late in the hour for the staggered stops",
            { "airflow:offHoursStop": "cron(55 19 ? * MON-FRI *)" },
            'airflow:offHoursStop must be empty or a weekly cron expression with a single minute (0 to 54) and hour and "?" as day-of-month, e.g. "cron(0 20 ? * MON-FRI *)", got "cron(55 19 ? * MON-FRI *)"',
        ],
        [
            "an unknown time zone",
            { "airflow:offHoursTimezone": "Mars/Olympus" },
            'airflow:offHoursTimezone must be an IANA time zone name, e.g. "UTC" or "Europe/Berlin", got "Mars/Olympus"',
        ],
        [
            "an off-hours stop without a start",
            { "airflow:offHoursStart": "" },
            'airflow:offHoursStop and airflow:offHoursStart must be set together, got "cron(0 20 ? * MON-FRI *)" and ""',
        ],
        [
            "Spot services on a production stack",
            { ...PRODUCTION_DEV, "airflow:offHoursStop": "", "airflow:offHoursStart": "" },
            "airflow:spotServices must be false on a production stack (airflow:production is true): Spot tasks can be stopped at any time, got true",
        ],
        [
            "an off-hours schedule on a production stack",
            { ...PRODUCTION_DEV, "airflow:spotServices": false },
            'airflow:offHoursStop and airflow:offHoursStart must be empty on a production stack (airflow:production is true), got "cron(0 20 ? * MON-FRI *)" and "cron(0 8 ? * MON-FRI *)"',
        ],
    ]);
});

describe("cost levers: decisions", () => {
    it("builds the image for the tasks' architecture", () => {
        expect(dockerPlatform("X86_64")).to.equal("linux/amd64");
        expect(dockerPlatform("ARM64")).to.equal("linux/arm64");
    });

    const capacityCases: [boolean, number, unknown][] = [
        [false, 1, [{ capacityProvider: "FARGATE", weight: 1 }]],
        [false, 3, [{ capacityProvider: "FARGATE", weight: 1 }]],
        [
            true,
            1,
            [
                { capacityProvider: "FARGATE", weight: 0, base: 0 },
                { capacityProvider: "FARGATE_SPOT", weight: 1 },
            ],
        ],
        [
            true,
            2,
            [
                { capacityProvider: "FARGATE", weight: 0, base: 1 },
                { capacityProvider: "FARGATE_SPOT", weight: 1 },
            ],
        ],
    ];
    for (const [spot, count, strategy] of capacityCases) {
        it(`places ${count} stateless task(s) ${spot ? "on Spot, one on FARGATE from two" : "on FARGATE"}`, () => {
            expect(statelessCapacity(spot, count)).to.deep.equal(strategy);
        });
    }

    it("puts only the api-server, dag-processor, triggerer and Flower on Spot; schedulers, control and workers keep theirs", () => {
        const specs = airflowServices({
            ...CELERY_DEFAULTS,
            airflowMajor: 3,
            broker: "redis",
            spotServices: true,
            apiServerCount: 2,
        });
        const onSpot = specs
            .filter((s) => s.capacityProviders.some((c) => c.capacityProvider === "FARGATE_SPOT"))
            .map((s) => s.role);
        expect(onSpot).to.deep.equal(["api-server", "dag-processor", "triggerer", "flower"]);
    });

    const offsets: [string, number][] = [
        ["scheduler", 0],
        ["dag-processor", 2],
        ["triggerer", 2],
        ["worker-default", 2],
        ["flower", 2],
        ["api-server", 5],
        ["webserver", 5],
        ["control", 5],
    ];
    for (const [role, minutes] of offsets) {
        it(`stops the ${role} ${minutes} minutes after the off-hours stop time`, () => {
            expect(stopOffsetMinutes(role)).to.equal(minutes);
        });
    }

    it("shifts only the minute of a weekly cron", () => {
        expect(shiftCron("cron(30 19 ? * MON-FRI *)", 5)).to.equal("cron(35 19 ? * MON-FRI *)");
        expect(parseWeeklyCron("cron(0 8 ? * MON-FRI *)")).to.deep.equal({ minute: 0, hour: 8, days: "MON-FRI" });
        expect(parseWeeklyCron("rate(1 hour)")).to.equal(undefined);
    });

    it("scales a service to zero at its stop time and back to its run bounds at the start time", () => {
        const offHours = { stop: "cron(0 20 ? * MON-FRI *)", start: "cron(0 8 ? * MON-FRI *)", timezone: "UTC" };
        expect(offHoursActions("worker-default", { min: 1, max: 6 }, offHours)).to.deep.equal([
            { kind: "stop", schedule: "cron(2 20 ? * MON-FRI *)", minCapacity: 0, maxCapacity: 0 },
            { kind: "start", schedule: "cron(0 8 ? * MON-FRI *)", minCapacity: 1, maxCapacity: 6 },
        ]);
    });
});

describe("cost levers in the committed stacks", function () {
    this.timeout(120_000);
    const runs: Record<string, ProgramRun> = {};
    before(async () => {
        for (const stack of ["dev", "staging"] as const) runs[stack] = await runStack(stack);
    });

    for (const stack of ["dev", "staging"]) {
        it(`${stack}: runs every task definition on ARM64 Linux`, () => {
            const tasks = runs[stack].ofType(T.task);
            expect(tasks.length).to.be.greaterThan(5);
            for (const t of tasks)
                expect(t.inputs.runtimePlatform, t.name).to.deep.equal({
                    operatingSystemFamily: "LINUX",
                    cpuArchitecture: "ARM64",
                });
        });

        it(`${stack}: builds the Airflow image for linux/arm64`, () => {
            const image = runs[stack].ofType("awsx:ecr:Image")[0];
            expect(image?.inputs.platform).to.equal("linux/arm64");
        });

        it(`${stack}: runs only images published for linux/arm64: the one it builds, and those of MULTI_ARCH_IMAGES`, () => {
            const built = runs[stack].ofType("awsx:ecr:Image").map((i) => String(i.state.imageUri));
            const images = new Set(
                runs[stack]
                    .ofType(T.task)
                    .flatMap((t) => JSON.parse(t.inputs.containerDefinitions) as { image: string }[])
                    .map((c) => c.image),
            );
            expect(built).to.have.length(1);
            expect(images.size).to.be.greaterThan(1);
            const unchecked = [...images].filter((i) => !built.includes(i) && !(i in MULTI_ARCH_IMAGES));
            expect(unchecked, "images nobody has checked for linux/arm64").to.deep.equal([]);
        });

        it(`${stack}: stops every service at its staggered off-hours time and starts it again, in UTC`, () => {
            const run = runs[stack];
            const services = run.ofType(T.service).map((s) => String(s.inputs.name));
            const actions = run.ofType(T.scheduled);
            for (const service of services) {
                const mine = actions.filter((a) => String(a.inputs.resourceId).endsWith(`/${service}`));
                const role = service.replace(`airflow-${stack}-`, "");
                expect(
                    mine.map((a) => [a.inputs.schedule, a.inputs.timezone]),
                    service,
                ).to.have.deep.members([
                    [`cron(${stopOffsetMinutes(role)} 20 ? * MON-FRI *)`, "UTC"],
                    ["cron(0 8 ? * MON-FRI *)", "UTC"],
                ]);
                const targets = run.ofType(T.target).filter((t) => String(t.inputs.resourceId).endsWith(`/${service}`));
                expect(targets, `${service}'s scalable target`).to.have.length(1);
            }
        });
    }

    it("dev: has no Container Insights; staging keeps them", () => {
        const insights = (stack: string) => runs[stack].ofType(T.cluster)[0].inputs.settings;
        expect(insights("dev")).to.deep.equal([{ name: "containerInsights", value: "disabled" }]);
        expect(insights("staging")).to.deep.equal([{ name: "containerInsights", value: "enabled" }]);
    });

    it("dev: has no queued-without-worker alarm (it reads Container Insights' RunningTaskCount); staging has it", () => {
        const alarms = (stack: string) =>
            runs[stack]
                .ofType("aws:cloudwatch/metricAlarm:MetricAlarm")
                .filter((a) => a.name.endsWith("queued-without-worker"));
        expect(alarms("dev")).to.have.length(0);
        expect(alarms("staging")).to.have.length(1);
    });

    it("staging: keeps one api-server on FARGATE and the rest of the stateless services on Spot", () => {
        const api = runs.staging.ofType(T.service).find((s) => s.name === "airflow-staging-api-server");
        expect(api?.inputs.capacityProviderStrategies).to.deep.equal([
            { capacityProvider: "FARGATE", weight: 0, base: 1 },
            { capacityProvider: "FARGATE_SPOT", weight: 1 },
        ]);
    });
});
