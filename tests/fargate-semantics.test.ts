// What Fargate does that the mock runtime does not: checks of the kind of defect issue 13 found.
//
// Volumes: a task definition volume without a host path (and without EFS) is a bind mount that
// Fargate creates empty, owned by root with mode 0755, unless the image declares a VOLUME at the
// mount path (then the image's content and ownership are copied in). Source: the Amazon ECS
// Developer Guide, "Bind mounts" (Fargate). Our Dockerfile declares no VOLUME, and a user's own
// image (airflow:image) may not either, so a non-root container can only write such a volume
// after a container running as root prepared it and completed successfully.
//
// Ordering: CreateService with a capacity-provider strategy fails while the provider is not
// associated with the cluster, so every such service must wait for ClusterCapacityProviders.
import { expect } from "chai";
import { readFileSync } from "fs";
import * as path from "path";
import { isFargateSize } from "../config/fargate";
import { CapturedResource } from "../tools/harness/mocks";
import { ProgramRun, ROOT, runProgram } from "./harness/program";

const T = {
    task: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    capacity: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
};

interface Container {
    name: string;
    cpu?: number;
    memory?: number;
    memoryReservation?: number;
    user?: string;
    essential?: boolean;
    command?: string[];
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
    dependsOn?: { containerName: string; condition: string }[];
}

interface Volume {
    name: string;
    hostPath?: string;
    efsVolumeConfiguration?: unknown;
    dockerVolumeConfiguration?: unknown;
}

/** The container paths the image declares as VOLUME (Fargate copies the image's content there). */
export function declaredVolumes(dockerfile: string): string[] {
    return dockerfile
        .split("\n")
        .filter((line) => /^\s*VOLUME\s/i.test(line))
        .flatMap((line) => {
            const rest = line.replace(/^\s*VOLUME\s+/i, "").trim();
            return rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
        });
}

const isRoot = (user: string | undefined) => user !== undefined && /^(0|root)(:.*)?$/.test(user);

/**
 * Every write to a Fargate scratch volume that would fail: a non-root container mounting a bind
 * volume read-write, where neither the image declares the path as VOLUME nor a root container that
 * mounts it read-write, is not essential and chowns it, is waited for with condition SUCCESS.
 */
export function unwritableVolumeMounts(
    containers: readonly Container[],
    volumes: readonly Volume[],
    imageVolumes: readonly string[],
): string[] {
    const scratch = new Set(
        volumes
            .filter((v) => !v.hostPath && !v.efsVolumeConfiguration && !v.dockerVolumeConfiguration)
            .map((v) => v.name),
    );
    const problems: string[] = [];
    for (const writer of containers) {
        if (isRoot(writer.user)) continue;
        for (const mount of writer.mountPoints ?? []) {
            if (mount.readOnly || !scratch.has(mount.sourceVolume) || imageVolumes.includes(mount.containerPath))
                continue;
            const prepared = (writer.dependsOn ?? []).some((dep) => {
                if (dep.condition !== "SUCCESS") return false;
                const init = containers.find((c) => c.name === dep.containerName);
                return (
                    !!init &&
                    isRoot(init.user) &&
                    init.essential === false &&
                    (init.command ?? []).join(" ").includes("chown") &&
                    (init.mountPoints ?? []).some((m) => m.sourceVolume === mount.sourceVolume && !m.readOnly)
                );
            });
            if (!prepared) {
                problems.push(
                    `${writer.name} (user ${writer.user ?? "the image's"}) writes volume ${mount.sourceVolume} at ${mount.containerPath}, which Fargate creates root-owned 0755, and no root container prepares it first`,
                );
            }
        }
    }
    return problems;
}

const OUR_IMAGE_VOLUMES = declaredVolumes(readFileSync(path.join(ROOT, "images", "airflow", "Dockerfile"), "utf8"));

/** The runs every check covers: each committed stack, and the shapes that change the task definitions. */
const RUNS: [string, string, Record<string, unknown>][] = [
    ["dev", "dev", {}],
    ["staging", "staging", {}],
    ["prod", "prod", {}],
    [
        "staging with its own image",
        "staging",
        { "airflow:image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/airflow:3.0.6-1" },
    ],
    ["dev with the sqs broker", "dev", { "airflow:broker": "sqs", "airflow:flower": false }],
    ["staging on Airflow 2", "staging", { "airflow:airflowVersion": "2.11.0" }],
];

describe("Fargate volume semantics", () => {
    it("finds the Dockerfile's VOLUME declarations (none today)", () => {
        expect(declaredVolumes('FROM x\nVOLUME /a /b\nVOLUME ["/c"]\n')).to.deep.equal(["/a", "/b", "/c"]);
        expect(OUR_IMAGE_VOLUMES).to.deep.equal([]);
    });

    const dagSync = {
        name: "dag-sync",
        user: "50000:0",
        essential: true,
        mountPoints: [{ sourceVolume: "dags", containerPath: "/opt/airflow/dags", readOnly: false }],
    };
    const cases: [string, Container[], string[], number][] = [
        ["a non-root writer with nothing preparing the volume", [dagSync], [], 1],
        ["a volume the image declares", [dagSync], ["/opt/airflow/dags"], 0],
        [
            "a root init container it does not wait for",
            [
                { name: "prepare", user: "0", essential: false, command: ["chown"], mountPoints: dagSync.mountPoints },
                dagSync,
            ],
            [],
            1,
        ],
        [
            "a root init container it waits for with SUCCESS",
            [
                {
                    name: "prepare",
                    user: "0",
                    essential: false,
                    command: ["bash", "-c", "chown 50000:0 /opt/airflow/dags"],
                    mountPoints: dagSync.mountPoints,
                },
                { ...dagSync, dependsOn: [{ containerName: "prepare", condition: "SUCCESS" }] },
            ],
            [],
            0,
        ],
        [
            "an init container that runs as the airflow user",
            [
                {
                    name: "prepare",
                    user: "50000:0",
                    essential: false,
                    command: ["chown"],
                    mountPoints: dagSync.mountPoints,
                },
                { ...dagSync, dependsOn: [{ containerName: "prepare", condition: "SUCCESS" }] },
            ],
            [],
            2,
        ],
    ];
    for (const [what, containers, imageVolumes, count] of cases) {
        it(`reports ${count} unwritable mount(s) for ${what}`, () => {
            expect(unwritableVolumeMounts(containers, [{ name: "dags" }], imageVolumes)).to.have.length(count);
        });
    }

    for (const [what, stack, overrides] of RUNS) {
        it(`lets every non-root container of ${what} write the scratch volumes it mounts read-write`, async () => {
            const run = await runProgram(stack, overrides);
            const problems = run.ofType(T.task).flatMap((task) =>
                unwritableVolumeMounts(
                    JSON.parse(task.inputs.containerDefinitions) as Container[],
                    (task.inputs.volumes ?? []) as Volume[],
                    // A user's own image: nothing is known of its VOLUMEs.
                    overrides["airflow:image"] ? [] : OUR_IMAGE_VOLUMES,
                ).map((p) => `${task.name}: ${p}`),
            );
            expect(problems).to.deep.equal([]);
        });
    }
});

/**
 * What Fargate refuses or starves in a task definition's sizes: a CPU/memory pair it does not offer,
 * or containers whose own reservations (cpu, memoryReservation or memory) add up to more than the task
 * has (a sidecar added to every task, such as the metrics agent, must leave the task valid).
 */
export function taskSizeProblems(task: {
    name: string;
    cpu: number;
    memory: number;
    containers: Container[];
}): string[] {
    const problems: string[] = [];
    if (!isFargateSize(task.cpu, task.memory))
        problems.push(`${task.name}: ${task.cpu}/${task.memory} is no Fargate size`);
    const cpu = task.containers.reduce((n, c) => n + (c.cpu ?? 0), 0);
    const memory = task.containers.reduce((n, c) => n + (c.memoryReservation ?? c.memory ?? 0), 0);
    if (cpu > task.cpu) problems.push(`${task.name}: its containers reserve ${cpu} of ${task.cpu} CPU units`);
    if (memory > task.memory) problems.push(`${task.name}: its containers reserve ${memory} of ${task.memory} MiB`);
    return problems;
}

describe("Fargate task sizes", () => {
    const cases: [string, { cpu: number; memory: number; containers: Container[] }, number][] = [
        [
            "a valid size with a small sidecar",
            { cpu: 256, memory: 512, containers: [{ name: "a" }, { name: "s", cpu: 64, memoryReservation: 96 }] },
            0,
        ],
        ["a size Fargate does not offer", { cpu: 512, memory: 512, containers: [{ name: "a" }] }, 1],
        [
            "containers reserving more CPU than the task",
            {
                cpu: 256,
                memory: 512,
                containers: [
                    { name: "a", cpu: 256 },
                    { name: "s", cpu: 64 },
                ],
            },
            1,
        ],
        [
            "containers reserving more memory than the task",
            {
                cpu: 256,
                memory: 512,
                containers: [
                    { name: "a", memory: 512 },
                    { name: "s", memoryReservation: 96 },
                ],
            },
            1,
        ],
    ];
    for (const [what, task, count] of cases) {
        it(`reports ${count} problem(s) for ${what}`, () => {
            expect(taskSizeProblems({ name: "t", ...task })).to.have.length(count);
        });
    }
    for (const [what, stack, overrides] of RUNS) {
        it(`gives every task definition of ${what} a Fargate size its containers fit in`, async () => {
            const run = await runProgram(stack, overrides);
            const problems = run.ofType(T.task).flatMap((task) =>
                taskSizeProblems({
                    name: task.name,
                    cpu: Number(task.inputs.cpu),
                    memory: Number(task.inputs.memory),
                    containers: JSON.parse(task.inputs.containerDefinitions) as Container[],
                }),
            );
            expect(problems).to.deep.equal([]);
        });
    }
});

/** The ClusterCapacityProviders of the cluster a service runs in (matched through the cluster's URN). */
function capacityProvidersOf(run: ProgramRun, service: CapturedResource): CapturedResource | undefined {
    const clusterUrns = service.options.propertyDependencies.cluster ?? [];
    return run
        .ofType(T.capacity)
        .find((cp) => (cp.options.propertyDependencies.clusterName ?? []).some((u) => clusterUrns.includes(u)));
}

describe("ECS services wait for their cluster's capacity providers", () => {
    for (const [what, stack, overrides] of RUNS) {
        it(`makes every service with a capacity-provider strategy of ${what} depend on ClusterCapacityProviders`, async () => {
            const run = await runProgram(stack, overrides);
            const services = run
                .ofType(T.service)
                .filter((s) => (s.inputs.capacityProviderStrategies ?? []).length > 0);
            if (run.config["airflow:layout"] !== "mwaa") expect(services, "services").to.not.be.empty;
            const missing = services
                .filter((s) => {
                    const cp = capacityProvidersOf(run, s);
                    return !cp || !s.options.dependencies.includes(cp.urn);
                })
                .map((s) => s.name);
            expect(missing).to.deep.equal([]);
        });
    }
});
