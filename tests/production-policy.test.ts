import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { evaluatePolicies } from "../policy/offline";
import { allAwsguardPolicies, AWSGUARD_WAIVERS, awsguardPolicies, awsguardView } from "../policy/awsguard";
import { productionPolicies, redirectsToHttps } from "../policy/production";
import { runResources } from "./harness/program";

/** The messages one policy reports for the resources `create` makes (a small stack under the mocks). */
async function violations(policyName: string, create: () => void): Promise<string[]> {
    const policy = productionPolicies.find((p) => p.name === policyName);
    if (!policy) throw new Error(`no policy ${policyName}`);
    const run = await runResources("dev", create);
    return (await evaluatePolicies(run.resources, [policy])).map((v) => v.message);
}

const PRODUCTION = { Production: "true" };
const NOT_PRODUCTION = { Production: "false" };

function database(name: string, tags: Record<string, string>, overrides: Partial<aws.rds.InstanceArgs> = {}) {
    return new aws.rds.Instance(name, {
        instanceClass: "db.t4g.medium",
        engine: "postgres",
        storageEncrypted: true,
        multiAz: true,
        deletionProtection: true,
        skipFinalSnapshot: false,
        backupRetentionPeriod: 7,
        tags,
        ...overrides,
    });
}

describe("policy production-database-durable", () => {
    it("passes a durable production database and a single-AZ one outside production", async () => {
        expect(
            await violations("production-database-durable", () => {
                database("prod-db", PRODUCTION);
                database("dev-db", NOT_PRODUCTION, {
                    multiAz: false,
                    deletionProtection: false,
                    skipFinalSnapshot: true,
                });
            }),
        ).to.deep.equal([]);
    });

    it("fails a production database that is single-AZ, unprotected, skips its snapshot and keeps 1 day of backups", async () => {
        expect(
            await violations("production-database-durable", () =>
                database("prod-db", PRODUCTION, {
                    multiAz: false,
                    deletionProtection: false,
                    skipFinalSnapshot: true,
                    backupRetentionPeriod: 1,
                }),
            ),
        ).to.deep.equal([
            'aws.rds.Instance "prod-db" is tagged Production=true and has multiAz false, deletionProtection false, skipFinalSnapshot true, ' +
                "backupRetentionPeriod 1; a production database is Multi-AZ, deletion-protected, keeps a final snapshot and 7+ days of backups",
        ]);
    });
});

describe("policy production-cache-failover", () => {
    const cache = (name: string, tags: Record<string, string>, nodes: number, failover: boolean) =>
        new aws.elasticache.ReplicationGroup(name, {
            description: name,
            numCacheClusters: nodes,
            automaticFailoverEnabled: failover,
            multiAzEnabled: failover,
            tags,
        });

    it("passes a replicated production cache and a single node outside production", async () => {
        expect(
            await violations("production-cache-failover", () => {
                cache("prod-cache", PRODUCTION, 2, true);
                cache("dev-cache", NOT_PRODUCTION, 1, false);
            }),
        ).to.deep.equal([]);
    });

    it("fails a single-node production cache", async () => {
        expect(
            await violations("production-cache-failover", () => cache("prod-cache", PRODUCTION, 1, false)),
        ).to.deep.equal([
            'aws.elasticache.ReplicationGroup "prod-cache" is tagged Production=true and has automaticFailoverEnabled false, ' +
                "multiAzEnabled false, numCacheClusters 1; a production cache has a replica (numCacheClusters 2 or more) with Multi-AZ and automatic failover",
        ]);
    });
});

describe("policy production-buckets-keep-data", () => {
    it("passes a kept production bucket and a force-destroyed one outside production", async () => {
        expect(
            await violations("production-buckets-keep-data", () => {
                new aws.s3.Bucket("prod-bucket", { tags: PRODUCTION });
                new aws.s3.Bucket("dev-bucket", { forceDestroy: true, tags: NOT_PRODUCTION });
            }),
        ).to.deep.equal([]);
    });

    it("fails a force-destroyed production bucket", async () => {
        expect(
            await violations("production-buckets-keep-data", () => {
                new aws.s3.Bucket("prod-bucket", { forceDestroy: true, tags: PRODUCTION });
            }),
        ).to.deep.equal([
            'aws.s3.Bucket "prod-bucket" is tagged Production=true and has forceDestroy true, which deletes every object on destroy; production keeps its data',
        ]);
    });
});

describe("policy load-balancer-https", () => {
    const redirect = [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" } }];
    const forward = [
        { type: "forward", targetGroupArn: "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/t/1" },
    ];

    function listeners(tags: Record<string, string>, http: "redirect" | "forward", sslPolicy: string) {
        const lb = new aws.lb.LoadBalancer("lb", { tags });
        new aws.lb.Listener("http", {
            loadBalancerArn: lb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: http === "redirect" ? redirect : forward,
        });
        new aws.lb.Listener("https", {
            loadBalancerArn: lb.arn,
            port: 443,
            protocol: "HTTPS",
            sslPolicy,
            certificateArn: "arn:aws:acm:us-east-1:123456789012:certificate/abc",
            defaultActions: forward,
        });
    }

    it("tells a redirect to HTTPS from other default actions", () => {
        expect(redirectsToHttps(redirect)).to.equal(true);
        expect(redirectsToHttps(forward)).to.equal(false);
        expect(redirectsToHttps([...redirect, ...forward])).to.equal(false);
        expect(redirectsToHttps(undefined)).to.equal(false);
    });

    it("passes a production HTTP listener that redirects, and plain HTTP outside production", async () => {
        expect(
            await violations("load-balancer-https", () =>
                listeners(PRODUCTION, "redirect", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
            ),
        ).to.deep.equal([]);
        expect(
            await violations("load-balancer-https", () =>
                listeners(NOT_PRODUCTION, "forward", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
            ),
        ).to.deep.equal([]);
    });

    it("fails plain HTTP on a production load balancer and a TLS policy that allows TLS 1.0", async () => {
        expect(
            await violations("load-balancer-https", () =>
                listeners(PRODUCTION, "forward", "ELBSecurityPolicy-2016-08"),
            ),
        ).to.deep.equal([
            'aws.lb.Listener "http" on a Production=true load balancer serves plain HTTP; production HTTP listeners only redirect to HTTPS',
            'aws.lb.Listener "https" serves HTTPS with sslPolicy "ELBSecurityPolicy-2016-08", which allows TLS below 1.2; use a TLS 1.2+ policy such as ELBSecurityPolicy-TLS13-1-2-2021-06',
        ]);
    });
});

describe("policies load-balancer-access-logs and s3-server-access-logging", () => {
    function logged(withLogs: boolean, tags: Record<string, string>, deletionProtection: boolean) {
        const logs = new aws.s3.Bucket("logs", { tags });
        const data = new aws.s3.Bucket("data", { tags });
        if (withLogs)
            new aws.s3.BucketLogging("data-logging", {
                bucket: data.bucket,
                targetBucket: logs.bucket,
                targetPrefix: "s3/data/",
            });
        new aws.lb.LoadBalancer("lb", {
            tags,
            enableDeletionProtection: deletionProtection,
            ...(withLogs ? { accessLogs: { bucket: logs.bucket, enabled: true, prefix: "lb" } } : {}),
        });
    }

    it("pass a load balancer and a bucket that log into the log bucket", async () => {
        expect(await violations("load-balancer-access-logs", () => logged(true, PRODUCTION, true))).to.deep.equal([]);
        expect(await violations("s3-server-access-logging", () => logged(true, PRODUCTION, true))).to.deep.equal([]);
    });

    it("fail a load balancer and a bucket without logs, and an unprotected production load balancer", async () => {
        expect(await violations("load-balancer-access-logs", () => logged(false, PRODUCTION, false))).to.deep.equal([
            'aws.lb.LoadBalancer "lb" has no access logs (accessLogs unset); enable them into the stack\'s log bucket',
            'aws.lb.LoadBalancer "lb" is tagged Production=true and has enableDeletionProtection false; enable it',
        ]);
        expect(await violations("s3-server-access-logging", () => logged(false, NOT_PRODUCTION, false))).to.deep.equal([
            'aws.s3.Bucket "data" has no server access logging; add an aws.s3.BucketLogging into the stack\'s log bucket',
            'aws.s3.Bucket "logs" has no server access logging; add an aws.s3.BucketLogging into the stack\'s log bucket',
        ]);
    });
});

describe("policy production-schedulers", () => {
    function schedulers(tags: Record<string, string>, count: number) {
        const taskDefinition = new aws.ecs.TaskDefinition("scheduler", {
            family: "scheduler",
            containerDefinitions: JSON.stringify([{ name: "scheduler", image: "apache/airflow" }]),
            tags,
        });
        new aws.ecs.Service("scheduler", { taskDefinition: taskDefinition.arn, desiredCount: count, tags });
        const web = new aws.ecs.TaskDefinition("api-server", {
            family: "api-server",
            containerDefinitions: JSON.stringify([{ name: "api-server", image: "apache/airflow" }]),
            tags,
        });
        new aws.ecs.Service("api-server", { taskDefinition: web.arn, desiredCount: 1, tags });
    }

    it("passes two production schedulers and one outside production", async () => {
        expect(await violations("production-schedulers", () => schedulers(PRODUCTION, 2))).to.deep.equal([]);
        expect(await violations("production-schedulers", () => schedulers(NOT_PRODUCTION, 1))).to.deep.equal([]);
    });

    it("fails one production scheduler, and only the scheduler's service", async () => {
        expect(await violations("production-schedulers", () => schedulers(PRODUCTION, 1))).to.deep.equal([
            'aws.ecs.Service "scheduler" runs the scheduler on a Production=true stack with desiredCount 1; production runs at least 2',
        ]);
    });
});

describe("@pulumi/awsguard as the advisory pack", () => {
    function stack(withLogs: boolean) {
        const logs = new aws.s3.Bucket("logs", {});
        const data = new aws.s3.Bucket("data", {});
        if (withLogs) {
            new aws.s3.BucketLogging("data-logging", {
                bucket: data.bucket,
                targetBucket: logs.bucket,
                targetPrefix: "s3/",
            });
            new aws.s3.BucketLogging("logs-logging", {
                bucket: logs.bucket,
                targetBucket: logs.bucket,
                targetPrefix: "self/",
            });
        }
        new aws.lb.LoadBalancer("lb", withLogs ? { accessLogs: { bucket: logs.bucket, enabled: true } } : {});
    }

    async function guardPolicies(withLogs: boolean, view: boolean): Promise<string[]> {
        const run = await runResources("dev", () => stack(withLogs));
        const resources = view ? awsguardView(run.resources) : run.resources;
        // Both rules are waived for the stacks (AWSGUARD_WAIVERS); the view's mapping is tested on them all the same.
        const only = allAwsguardPolicies().filter((p) =>
            ["elb-logging-enabled", "s3-bucket-logging-enabled"].includes(p.name),
        );
        return (await evaluatePolicies(resources, only)).map((v) => `${v.policy} ${v.resource?.name}`);
    }

    it("serves every awsguard rule as advisory, less the waived ones, each waiver with its reason", () => {
        const names = awsguardPolicies().map((p) => p.name);
        expect(names).to.include.members(["elb-logging-enabled"]);
        expect(allAwsguardPolicies().map((p) => p.name)).to.include.members(Object.keys(AWSGUARD_WAIVERS));
        for (const waived of Object.keys(AWSGUARD_WAIVERS)) expect(names).not.to.include(waived);
        for (const reason of Object.values(AWSGUARD_WAIVERS)) expect(reason).to.have.length.greaterThan(40);
        expect(awsguardPolicies().every((p) => p.enforcementLevel === "advisory")).to.equal(true);
    });

    it("misses aws:lb resources and split-out bucket logging without the view, and sees both with it", async () => {
        expect(await guardPolicies(false, false)).to.deep.equal([
            "s3-bucket-logging-enabled data",
            "s3-bucket-logging-enabled logs",
        ]);
        expect(await guardPolicies(false, true)).to.deep.equal([
            "elb-logging-enabled lb",
            "s3-bucket-logging-enabled data",
            "s3-bucket-logging-enabled logs",
        ]);
        expect(await guardPolicies(true, true)).to.deep.equal([]);
    });
});
