// What `production: true` implies, enforced on the resources themselves: every resource of a production
// stack carries the tag Production=true, so a hand-edited program cannot slip past the config's rules.
// Plus the transport and logging rules that hold on every stack (HTTPS listeners with a modern TLS
// policy, load-balancer and S3 server access logs), some of which awsguard checks only under the old
// load-balancer type tokens (see policy/awsguard.ts).
import type { PolicyResource, ResourceValidationArgs } from "@pulumi/policy";
import { isProduction, isTrue, Policy, resourcePolicy, shown, stackPolicy } from "./define";
import { asList, BUCKET_TYPES, dependenciesOf, describe, TYPES } from "./resources";

/** Days of automated backups a production database keeps at least. */
export const PRODUCTION_MIN_BACKUP_DAYS = 7;
/** Scheduler tasks a production Celery layout runs at least. */
export const PRODUCTION_MIN_SCHEDULERS = 2;

/**
 * TLS policies of an HTTPS listener that allow TLS 1.2 and 1.3 only, as Elastic Load Balancing names
 * them (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/describe-ssl-policies.html):
 * the TLS13 family, and the TLS-1-2 / FS-1-2 families that allow no protocol below TLS 1.2.
 */
export const MODERN_TLS_POLICY = /^ELBSecurityPolicy-(TLS13-1-[23]-|TLS-1-2-|FS-1-2-)/;

function productionOf(args: Pick<ResourceValidationArgs, "props">): boolean {
    return isProduction(args.props);
}

const databaseDurable = resourcePolicy(
    "production-database-durable",
    `A database tagged Production=true is Multi-AZ, has deletion protection, keeps a final snapshot and keeps backups at least ${PRODUCTION_MIN_BACKUP_DAYS} days.`,
    [TYPES.rdsInstance, TYPES.rdsCluster],
    (args, report) => {
        if (!productionOf(args)) return;
        const p = args.props;
        const problems: string[] = [];
        if (args.type === TYPES.rdsInstance && !isTrue(p.multiAz)) problems.push(`multiAz ${shown(p.multiAz)}`);
        if (!isTrue(p.deletionProtection)) problems.push(`deletionProtection ${shown(p.deletionProtection)}`);
        if (isTrue(p.skipFinalSnapshot)) problems.push("skipFinalSnapshot true");
        const days = Number(p.backupRetentionPeriod ?? 0);
        if (!(days >= PRODUCTION_MIN_BACKUP_DAYS))
            problems.push(`backupRetentionPeriod ${shown(p.backupRetentionPeriod)}`);
        if (problems.length === 0) return;
        report(
            `${describe(args)} is tagged Production=true and has ${problems.join(", ")}; a production database is Multi-AZ, ` +
                `deletion-protected, keeps a final snapshot and ${PRODUCTION_MIN_BACKUP_DAYS}+ days of backups`,
        );
    },
);

const cacheFailover = resourcePolicy(
    "production-cache-failover",
    "A cache tagged Production=true has a replica in another AZ and automatic failover.",
    [TYPES.cacheReplicationGroup],
    (args, report) => {
        if (!productionOf(args)) return;
        const p = args.props;
        const problems: string[] = [];
        if (!isTrue(p.automaticFailoverEnabled))
            problems.push(`automaticFailoverEnabled ${shown(p.automaticFailoverEnabled)}`);
        if (!isTrue(p.multiAzEnabled)) problems.push(`multiAzEnabled ${shown(p.multiAzEnabled)}`);
        if (!(Number(p.numCacheClusters ?? 1) >= 2)) problems.push(`numCacheClusters ${shown(p.numCacheClusters)}`);
        if (problems.length === 0) return;
        report(
            `${describe(args)} is tagged Production=true and has ${problems.join(", ")}; a production cache has a replica ` +
                `(numCacheClusters 2 or more) with Multi-AZ and automatic failover`,
        );
    },
);

const bucketsKeepData = resourcePolicy(
    "production-buckets-keep-data",
    "A bucket tagged Production=true is never force-destroyed with its objects.",
    BUCKET_TYPES,
    (args, report) => {
        if (productionOf(args) && isTrue(args.props.forceDestroy)) {
            report(
                `${describe(args)} is tagged Production=true and has forceDestroy true, which deletes every object on destroy; production keeps its data`,
            );
        }
    },
);

function loadBalancerOf(listener: PolicyResource): PolicyResource | undefined {
    return dependenciesOf(listener, "loadBalancerArn").find((d) => d.type === TYPES.lbLoadBalancer);
}

interface ListenerAction {
    type?: string;
    redirect?: { protocol?: string; port?: string; statusCode?: string };
}

/** Whether a listener's only default action redirects to HTTPS. */
export function redirectsToHttps(actions: unknown): boolean {
    const list = asList(actions as ListenerAction[] | undefined);
    return list.length === 1 && list[0]?.type === "redirect" && list[0].redirect?.protocol === "HTTPS";
}

const listenersHttps = stackPolicy(
    "load-balancer-https",
    "Every HTTPS listener uses a TLS 1.2+ security policy; on a production load balancer every HTTP listener only redirects to HTTPS.",
    (args, report) => {
        for (const listener of args.resources.filter((r) => r.type === TYPES.lbListener)) {
            const p = listener.props;
            const lb = loadBalancerOf(listener);
            const production = isProduction(p) || isProduction(lb?.props);
            if (p.protocol === "HTTPS") {
                if (!MODERN_TLS_POLICY.test(String(p.sslPolicy ?? ""))) {
                    report(
                        `${describe(listener)} serves HTTPS with sslPolicy ${shown(p.sslPolicy)}, which allows TLS below 1.2; ` +
                            `use a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06`,
                        listener.urn,
                    );
                }
            } else if (p.protocol === "HTTP" && production && !redirectsToHttps(p.defaultActions)) {
                report(
                    `${describe(listener)} on a Production=true load balancer serves plain HTTP; production HTTP listeners only redirect to HTTPS`,
                    listener.urn,
                );
            }
        }
    },
);

const loadBalancerLogs = resourcePolicy(
    "load-balancer-access-logs",
    "Every load balancer writes access logs to S3; a production load balancer also has deletion protection.",
    [TYPES.lbLoadBalancer],
    (args, report) => {
        const logs = args.props.accessLogs as { enabled?: unknown; bucket?: unknown } | undefined;
        if (!isTrue(logs?.enabled) || !logs?.bucket) {
            report(
                `${describe(args)} has no access logs (accessLogs ${shown(logs)}); enable them into the stack's log bucket`,
            );
        }
        if (productionOf(args) && !isTrue(args.props.enableDeletionProtection)) {
            report(
                `${describe(args)} is tagged Production=true and has enableDeletionProtection ${shown(args.props.enableDeletionProtection)}; enable it`,
            );
        }
    },
);

const s3AccessLogging = stackPolicy(
    "s3-server-access-logging",
    "Every bucket either logs its requests (S3 server access logging into a log bucket) or is a log bucket itself.",
    (args, report) => {
        const logged = new Set<string>();
        const logBuckets = new Set<string>();
        for (const r of args.resources) {
            if (r.type === TYPES.s3BucketLogging) {
                for (const b of dependenciesOf(r, "bucket")) logged.add(b.urn);
                for (const b of dependenciesOf(r, "targetBucket")) logBuckets.add(b.urn);
            } else if (r.type === TYPES.lbLoadBalancer) {
                for (const b of dependenciesOf(r, "accessLogs")) logBuckets.add(b.urn);
            }
        }
        for (const bucket of args.resources.filter((r) => BUCKET_TYPES.includes(r.type))) {
            if (logged.has(bucket.urn) || logBuckets.has(bucket.urn)) continue;
            report(
                `${describe(bucket)} has no server access logging; add an aws.s3.BucketLogging into the stack's log bucket`,
                bucket.urn,
            );
        }
    },
);

/** The container names of a task definition, or undefined while its definitions are unknown. */
function containerNames(taskDefinition: PolicyResource): string[] | undefined {
    const raw = taskDefinition.props.containerDefinitions;
    if (typeof raw !== "string") return Array.isArray(raw) ? raw.map((c) => String(c?.name)) : undefined;
    try {
        return asList(JSON.parse(raw) as { name?: string }[]).map((c) => String(c?.name));
    } catch {
        return undefined;
    }
}

const productionSchedulers = stackPolicy(
    "production-schedulers",
    `A production Celery layout runs at least ${PRODUCTION_MIN_SCHEDULERS} scheduler tasks, so one can fail or be replaced while the other schedules.`,
    (args, report) => {
        for (const service of args.resources.filter((r) => r.type === TYPES.ecsService)) {
            const taskDefinitions = dependenciesOf(service, "taskDefinition").filter(
                (d) => d.type === TYPES.ecsTaskDefinition,
            );
            const runsScheduler = taskDefinitions.some((t) => containerNames(t)?.includes("scheduler"));
            const production = isProduction(service.props) || taskDefinitions.some((t) => isProduction(t.props));
            if (!runsScheduler || !production) continue;
            const count = Number(service.props.desiredCount ?? 1);
            if (count >= PRODUCTION_MIN_SCHEDULERS) continue;
            report(
                `${describe(service)} runs the scheduler on a Production=true stack with desiredCount ${shown(service.props.desiredCount)}; ` +
                    `production runs at least ${PRODUCTION_MIN_SCHEDULERS}`,
                service.urn,
            );
        }
    },
);

/** The production, transport and access-log policies, in the order the plan reports them. */
export const productionPolicies: Policy[] = [
    databaseDurable,
    cacheFailover,
    bucketsKeepData,
    listenersHttps,
    loadBalancerLogs,
    s3AccessLogging,
    productionSchedulers,
];
