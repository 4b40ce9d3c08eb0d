import { expect } from "chai";
import { MWAA_LOG_MODULES } from "../config/mwaa";
import { mwaaLogGroupName } from "../components/mwaa";
import { SAGEMAKER_LOG_GROUPS } from "../components/sagemaker";
import { rdsLogGroupName } from "../components/storage";
import { upgradeSnapshotIdentifier, upgradeSnapshotResourceName } from "../components/celery";
import { buildPlan, Plan, PlannedResource } from "../tools/plan/plan";
import { runProgram, runStack, StackName, STACKS } from "./harness/program";

const T = {
    service: "aws:ecs/service:Service",
    cluster: "aws:ecs/cluster:Cluster",
    capacityProviders: "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
    bucket: "aws:s3/bucket:Bucket",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    objects: ["aws:s3/bucketObjectv2:BucketObjectv2", "aws:s3/bucketObject:BucketObject"],
    mwaa: "aws:mwaa/environment:Environment",
} as const;

/** What a plan says about the order of creation: each resource's dependencies, transitively. */
class Ordering {
    private readonly byUrn: Map<string, PlannedResource>;
    constructor(readonly plan: Plan) {
        this.byUrn = new Map(plan.resources.map((r) => [r.urn, r]));
    }
    ofType(...types: string[]): PlannedResource[] {
        return this.plan.resources.filter((r) => types.includes(r.type));
    }
    /** Every URN `r` waits for, directly or through what it waits for. */
    waitsFor(r: PlannedResource): Set<string> {
        const seen = new Set<string>();
        const todo = [...r.dependencies];
        while (todo.length > 0) {
            const urn = todo.pop()!;
            if (seen.has(urn)) continue;
            seen.add(urn);
            todo.push(...(this.byUrn.get(urn)?.dependencies ?? []));
        }
        return seen;
    }
    /** The resources of `type` that `r` takes an input from directly (e.g. the bucket of an object). */
    directOfType(r: PlannedResource, type: string): PlannedResource[] {
        return r.dependencies.map((u) => this.byUrn.get(u)).filter((d): d is PlannedResource => d?.type === type);
    }
    /** The resources of `type` that take an input from `target` (e.g. the versioning of a bucket). */
    dependentsOfType(target: PlannedResource, type: string): PlannedResource[] {
        return this.ofType(type).filter((r) => r.dependencies.includes(target.urn));
    }
}

/** The cluster a capacity-provider association is for. */
function clusterOf(o: Ordering, providers: PlannedResource): PlannedResource | undefined {
    return o.directOfType(providers, T.cluster)[0];
}

function insightsEnabled(cluster: PlannedResource): boolean {
    const settings = (cluster.inputs.settings as { name: string; value: string }[] | undefined) ?? [];
    return settings.some((s) => s.name === "containerInsights" && s.value === "enabled");
}

/** Names of the resources `required` lists that `r` does not wait for. */
function missing(o: Ordering, r: PlannedResource, required: PlannedResource[]): string[] {
    const waits = o.waitsFor(r);
    return required.filter((d) => !waits.has(d.urn)).map((d) => `${r.name} does not wait for ${d.type} ${d.name}`);
}

/** Each committed stack, and each in the other layout (the services, tasks and uploads the other creates). */
const RUNS: [string, StackName, Record<string, unknown>][] = [
    ...STACKS.map((stack): [string, StackName, Record<string, unknown>] => [stack, stack, {}]),
    ["dev on MWAA", "dev", { "airflow:layout": "mwaa" }],
    ["prod on Celery", "prod", { "airflow:layout": "celery" }],
];

for (const [label, stack, overrides] of RUNS) {
    describe(`order of creation on ${label} (the plan's dependencies)`, () => {
        let o: Ordering;
        before(async () => {
            const run =
                Object.keys(overrides).length === 0 ? await runStack(stack) : await runProgram(stack, overrides);
            o = new Ordering(await buildPlan(run));
        });

        it("gives every resource its dependencies: explicit dependsOn and the resources its inputs come from", () => {
            for (const r of o.plan.resources) expect(r.dependencies, r.name).to.be.an("array");
            expect(o.plan.resources.some((r) => r.dependencies.length > 0)).to.equal(true);
        });

        it("creates every ECS service after its cluster's capacity providers are associated", () => {
            const problems = o.ofType(T.service).flatMap((service) => {
                const providers = o
                    .directOfType(service, T.cluster)
                    .flatMap((c) => o.dependentsOfType(c, T.capacityProviders));
                return [
                    ...(providers.length === 0 ? [`${service.name}: no ClusterCapacityProviders for its cluster`] : []),
                    ...missing(o, service, providers),
                ];
            });
            expect(problems).to.deep.equal([]);
        });

        it("publishes the fargate_jobs Variable after the capacity providers of the cluster it names", () => {
            const value = o.plan.resources.find((r) => r.name.endsWith("-fargate-jobs-variable-value"));
            expect(value, "the fargate_jobs Variable's secret value").to.not.equal(undefined);
            const waits = o.waitsFor(value!);
            const clusters = o.ofType(T.cluster).filter((c) => waits.has(c.urn));
            expect(clusters, "the cluster the Variable names").to.have.length(1);
            const providers = o.dependentsOfType(clusters[0], T.capacityProviders);
            expect(providers, "the cluster's capacity providers").to.have.length(1);
            expect(missing(o, value!, providers)).to.deep.equal([]);
        });

        it("creates every log group an AWS service would otherwise create on first write, with the stack's retention, before that writer", () => {
            const retention = Number(o.plan.config["airflow:logRetentionDays"] ?? 30);
            // Each writer, and the log groups AWS would create for it, kept forever, if they did not exist.
            const writers: [PlannedResource, string[]][] = [
                ...o
                    .ofType(T.mwaa)
                    .map((env): [PlannedResource, string[]] => [
                        env,
                        MWAA_LOG_MODULES.map((m) => mwaaLogGroupName(String(env.inputs.name), m)),
                    ]),
                ...o
                    .ofType("aws:rds/instance:Instance")
                    .map((db): [PlannedResource, string[]] => [
                        db,
                        ((db.inputs.enabledCloudwatchLogsExports as string[]) ?? []).map((log) =>
                            rdsLogGroupName(String(db.inputs.identifier), log),
                        ),
                    ]),
                // SageMaker's groups: whoever may start jobs (Airflow's SageMaker policy), on the owning stack.
                ...o.plan.resources
                    .filter((r) => r.name.endsWith("-airflow-sagemaker"))
                    .filter(() => o.plan.config["airflow:mlOwnsLogGroups"] === true)
                    .map((p): [PlannedResource, string[]] => [p, [...SAGEMAKER_LOG_GROUPS]]),
                // Container Insights' performance events: every service and task waits for the capacity providers.
                ...o
                    .ofType(T.capacityProviders)
                    .filter((p) => clusterOf(o, p) !== undefined && insightsEnabled(clusterOf(o, p)!))
                    .map((p): [PlannedResource, string[]] => [
                        p,
                        // The plan renders an interpolated unknown as <resource.output>.
                        [`/aws/ecs/containerinsights/<${clusterOf(o, p)!.name}.name>/performance`],
                    ]),
            ];
            expect(writers.length, "writers found").to.be.greaterThan(stack === "dev" ? 0 : 1);
            const groups = o.ofType("aws:cloudwatch/logGroup:LogGroup");
            const problems = writers.flatMap(([writer, names]) =>
                names.flatMap((groupName) => {
                    const group = groups.find((g) => g.inputs.name === groupName);
                    if (!group) return [`${writer.name}: no log group ${groupName} in the program`];
                    return [
                        ...(group.inputs.retentionInDays === retention
                            ? []
                            : [`${groupName}: retention ${group.inputs.retentionInDays}, not ${retention}`]),
                        ...missing(o, writer, [group]),
                    ];
                }),
            );
            expect(problems).to.deep.equal([]);
        });

        it("sends every container's logs and metrics only to log groups the program creates, with the stack's retention, before the task definition", () => {
            const retention = Number(o.plan.config["airflow:logRetentionDays"] ?? 30);
            const groups = o.ofType("aws:cloudwatch/logGroup:LogGroup");
            const tasks = o.ofType("aws:ecs/taskDefinition:TaskDefinition");
            const problems = tasks.flatMap((task) => {
                const containers = JSON.parse(String(task.inputs.containerDefinitions)) as {
                    name: string;
                    logConfiguration?: { logDriver: string; options?: Record<string, string> };
                    environment?: { name: string; value: string }[];
                }[];
                // Where each container writes: its log driver's group, and the metrics sidecar's EMF group.
                const writes = containers.flatMap((c) => [
                    ...(c.logConfiguration ? [[c.name, c.logConfiguration.options?.["awslogs-group"]]] : []),
                    ...(c.environment ?? [])
                        .filter((e) => e.name === "AOT_CONFIG_CONTENT")
                        .map((e) => [c.name, JSON.parse(e.value).exporters?.awsemf?.log_group_name as string]),
                ]);
                return [
                    ...containers
                        .filter((c) => !c.logConfiguration)
                        .map((c) => `${task.name}: ${c.name} has no log configuration`),
                    ...containers
                        .filter((c) => c.logConfiguration?.options?.["awslogs-create-group"] !== undefined)
                        .map((c) => `${task.name}: ${c.name} lets the log driver create its group`),
                    ...writes.flatMap(([container, groupName]) => {
                        const group = groups.find((g) => g.inputs.name === groupName);
                        if (!group)
                            return [
                                `${task.name}: ${container} writes ${groupName}, which the program does not create`,
                            ];
                        return [
                            ...(group.inputs.retentionInDays === retention
                                ? []
                                : [`${groupName}: retention ${group.inputs.retentionInDays}, not ${retention}`]),
                            ...missing(o, task, [group]),
                        ];
                    }),
                ];
            });
            expect(tasks.length, "task definitions").to.be.greaterThan(0);
            expect(problems).to.deep.equal([]);
        });

        it("snapshots the metadata database, named after the Airflow version and kept, before the control service's task definition that migrates", () => {
            const dbs = o.ofType("aws:rds/instance:Instance");
            const snapshots = o.ofType("aws:rds/snapshot:Snapshot");
            const controls = o
                .ofType("aws:ecs/taskDefinition:TaskDefinition")
                .filter((t) => t.name.endsWith("-control-task"));
            if (o.ofType(T.mwaa).length > 0) {
                expect(snapshots, "MWAA snapshots its own database").to.deep.equal([]);
                return;
            }
            const version = String(o.plan.config["airflow:airflowVersion"]);
            const name = `airflow-${stack}`;
            expect(snapshots.map((s) => s.name)).to.deep.equal([upgradeSnapshotResourceName(name, version)]);
            const [snapshot] = snapshots;
            expect(snapshot.options.retainOnDelete, "the previous version's snapshot is kept").to.equal(true);
            expect(o.directOfType(snapshot, "aws:rds/instance:Instance").map((d) => d.name)).to.deep.equal(
                dbs.map((d) => d.name),
            );
            expect(controls).to.have.length(1);
            expect(missing(o, controls[0], [snapshot])).to.deep.equal([]);
            expect(upgradeSnapshotIdentifier(name, version, "beef")).to.match(
                new RegExp(`^airflow-${stack}-pre-[0-9]+-[0-9]+-[0-9]+-beef$`),
            );
        });

        it("uploads every object into a versioned bucket only after versioning is on", () => {
            const objects = o.ofType(...T.objects);
            const problems = objects.flatMap((object) =>
                o
                    .directOfType(object, T.bucket)
                    .flatMap((bucket) => missing(o, object, o.dependentsOfType(bucket, T.versioning))),
            );
            expect(problems).to.deep.equal([]);
        });

        it("creates the MWAA environment after its bucket's versioning and the requirements and plugins uploads", () => {
            const problems = o.ofType(T.mwaa).flatMap((env) => {
                const buckets = o.directOfType(env, T.bucket);
                const versioning = buckets.flatMap((b) => o.dependentsOfType(b, T.versioning));
                const keys = [env.inputs.requirementsS3Path, env.inputs.pluginsS3Path].filter((k) => k !== undefined);
                const uploads = o
                    .ofType(...T.objects)
                    .filter(
                        (obj) =>
                            keys.includes(obj.inputs.key as string) &&
                            buckets.some((b) => obj.dependencies.includes(b.urn)),
                    );
                return [
                    ...(buckets.length === 1 ? [] : [`${env.name}: reads ${buckets.length} buckets`]),
                    ...(versioning.length === 1
                        ? []
                        : [`${env.name}: its bucket has ${versioning.length} versioning resources`]),
                    ...(uploads.length === keys.length
                        ? []
                        : [`${env.name}: ${keys.length} paths, ${uploads.length} uploads`]),
                    ...missing(o, env, [...versioning, ...uploads]),
                ];
            });
            expect(problems).to.deep.equal([]);
            if (label === "prod" || label === "dev on MWAA") expect(o.ofType(T.mwaa)).to.have.length(1);
        });
    });
}
