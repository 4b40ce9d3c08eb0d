// The stack's log bucket (components/logs): the statements each log delivery service needs, the
// Elastic Load Balancing accounts checked against AWS's page, the rejected expiry values, and, in every
// stack, that each source's prefix and bucket are the ones the policy lets write.
import { expect } from "chai";
import * as pulumi from "@pulumi/pulumi";
import { AccessLogBucket, ELB_LOG_ACCOUNTS, logBucketStatements, partitionOfRegion } from "../components/logs";
import { configErrors } from "./harness/config";
import { MOCK_ACCOUNT } from "./harness/mocks";
import { ProgramRun, promiseOf, runProgram, runResources, runStack } from "./harness/program";

/**
 * "Enable access logs for your Application Load Balancer", step "Attach a policy to your S3 bucket"
 * (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/enable-access-logging.html):
 * the ELB account of each Region that the page lists, copied from the page by Region name.
 */
const ELB_ACCOUNTS_ON_THE_PAGE: Record<string, [string, string]> = {
    "us-east-1": ["US East (N. Virginia)", "127311923021"],
    "us-east-2": ["US East (Ohio)", "033677994240"],
    "us-west-1": ["US West (N. California)", "027434742980"],
    "us-west-2": ["US West (Oregon)", "797873946194"],
    "af-south-1": ["Africa (Cape Town)", "098369216593"],
    "ca-central-1": ["Canada (Central)", "985666609251"],
    "eu-central-1": ["Europe (Frankfurt)", "054676820928"],
    "eu-west-1": ["Europe (Ireland)", "156460612806"],
    "eu-west-2": ["Europe (London)", "652711504416"],
    "eu-south-1": ["Europe (Milan)", "635631232127"],
    "eu-west-3": ["Europe (Paris)", "009996457667"],
    "eu-north-1": ["Europe (Stockholm)", "897822967062"],
    "ap-east-1": ["Asia Pacific (Hong Kong)", "754344448648"],
    "ap-northeast-1": ["Asia Pacific (Tokyo)", "582318560864"],
    "ap-northeast-2": ["Asia Pacific (Seoul)", "600734575887"],
    "ap-northeast-3": ["Asia Pacific (Osaka)", "383597477331"],
    "ap-southeast-1": ["Asia Pacific (Singapore)", "114774131450"],
    "ap-southeast-2": ["Asia Pacific (Sydney)", "783225319266"],
    "ap-south-1": ["Asia Pacific (Mumbai)", "718504428378"],
    "me-south-1": ["Middle East (Bahrain)", "076674570225"],
    "sa-east-1": ["South America (São Paulo)", "507241528517"],
    "us-gov-west-1": ["AWS GovCloud (US-West)", "048591011584"],
    "us-gov-east-1": ["AWS GovCloud (US-East)", "190560391635"],
};

/** Regions the page does not list (opened since August 2022): they use the log delivery service. */
const NEWER_REGIONS = [
    "ap-southeast-3",
    "ap-south-2",
    "ap-southeast-4",
    "eu-central-2",
    "eu-south-2",
    "me-central-1",
    "il-central-1",
    "ca-west-1",
    "mx-central-1",
];

async function resolved(statements: ReturnType<typeof logBucketStatements>): Promise<any[]> {
    return promiseOf(pulumi.output(statements as any));
}

describe("the access log bucket", () => {
    it("names, for each Region, the ELB account that AWS's page lists", () => {
        expect(ELB_LOG_ACCOUNTS).to.deep.equal(
            Object.fromEntries(Object.entries(ELB_ACCOUNTS_ON_THE_PAGE).map(([region, [, id]]) => [region, id])),
        );
    });

    const bucketArn = "arn:aws:s3:::airflow-dev-access-logs-1234";
    for (const [region, [label, id]] of Object.entries(ELB_ACCOUNTS_ON_THE_PAGE)) {
        it(`lets the ELB account ${id} of ${label} write the load balancer's logs under alb/AWSLogs/<account>/`, async () => {
            const [, elb] = await resolved(
                logBucketStatements({
                    region,
                    account: "111122223333",
                    bucketArn,
                    sourceBucketPattern: "arn:aws:s3:::airflow-dev-*",
                }),
            );
            expect(elb).to.deep.equal({
                Sid: "LoadBalancerAccessLogs",
                Effect: "Allow",
                Principal: { AWS: `arn:${partitionOfRegion(region)}:iam::${id}:root` },
                Action: "s3:PutObject",
                Resource: `${bucketArn}/alb/AWSLogs/111122223333/*`,
            });
        });
    }

    for (const region of NEWER_REGIONS) {
        it(`lets the log delivery service principal write the load balancer's logs in ${region}`, async () => {
            const [, elb] = await resolved(
                logBucketStatements({
                    region,
                    account: "111122223333",
                    bucketArn,
                    sourceBucketPattern: "arn:aws:s3:::airflow-dev-*",
                }),
            );
            expect(elb.Principal).to.deep.equal({ Service: "logdelivery.elasticloadbalancing.amazonaws.com" });
            expect(elb.Resource).to.equal(`${bucketArn}/alb/AWSLogs/111122223333/*`);
        });
    }

    it("lets S3's logging service write server access logs under s3/, only for this account's buckets of the stack", async () => {
        const [s3] = await resolved(
            logBucketStatements({
                region: "us-east-1",
                account: "111122223333",
                bucketArn,
                sourceBucketPattern: "arn:aws:s3:::airflow-dev-*",
            }),
        );
        expect(s3).to.deep.equal({
            Sid: "S3ServerAccessLogs",
            Effect: "Allow",
            Principal: { Service: "logging.s3.amazonaws.com" },
            Action: "s3:PutObject",
            Resource: `${bucketArn}/s3/*`,
            Condition: {
                ArnLike: { "aws:SourceArn": "arn:aws:s3:::airflow-dev-*" },
                StringEquals: { "aws:SourceAccount": "111122223333" },
            },
        });
    });

    describe("rejects an expiry that is not a whole number of days from 1 to 3650, with its exact message", () => {
        const cases: [unknown, string][] = [
            [0, "airflow:accessLogExpirationDays must be a whole number from 1 to 3650, got 0"],
            [3651, "airflow:accessLogExpirationDays must be a whole number from 1 to 3650, got 3651"],
            [7.5, "airflow:accessLogExpirationDays must be a whole number from 1 to 3650, got 7.5"],
            ["ninety", 'airflow:accessLogExpirationDays must be a whole number from 1 to 3650, got "ninety"'],
            [-1, "airflow:accessLogExpirationDays must be a whole number from 1 to 3650, got -1"],
        ];
        for (const [value, message] of cases) {
            it(`rejects ${JSON.stringify(value)}`, () => {
                expect(configErrors("dev", { "airflow:accessLogExpirationDays": value })).to.deep.equal([message]);
            });
        }
        it("accepts the bounds, 1 and 3650", () => {
            expect(configErrors("dev", { "airflow:accessLogExpirationDays": 1 })).to.deep.equal([]);
            expect(configErrors("dev", { "airflow:accessLogExpirationDays": 3650 })).to.deep.equal([]);
        });
        for (const [days, shown] of [
            [0, "0"],
            [2.5, "2.5"],
        ] as const) {
            it(`and the component on its own refuses expirationDays ${shown}`, async () => {
                let error: Error | undefined;
                try {
                    await runResources(
                        "dev",
                        () => new AccessLogBucket("logs", { region: "us-east-1", expirationDays: days }),
                    );
                } catch (e) {
                    error = e as Error;
                }
                expect(error?.message).to.equal(
                    `AccessLogBucket logs: expirationDays must be a whole number of at least 1, got ${shown}`,
                );
            });
        }
    });
});

/** The log bucket's policy statements, by Sid, as the program registered them. */
function logPolicy(run: ProgramRun): Record<string, any> {
    const bucket = run.ofType("aws:s3/bucket:Bucket").find((b) => /-access-logs$/.test(b.name))!;
    const policy = run.get("aws:s3/bucketPolicy:BucketPolicy", `${bucket.name}-policy`);
    return Object.fromEntries((JSON.parse(policy.inputs.policy).Statement as any[]).map((s) => [s.Sid, s]));
}

/** ArnLike's glob: * matches any run of characters, ? one. */
function arnLike(pattern: string, arn: string): boolean {
    const re = pattern
        .replace(/[.+^${}()|[\]\\]/g, "\\$&")
        .replace(/\*/g, ".*")
        .replace(/\?/g, ".");
    return new RegExp(`^${re}$`).test(arn);
}

/** Every delivery into the log bucket that its policy would refuse. */
function deliveryProblems(run: ProgramRun): string[] {
    const problems: string[] = [];
    const statements = logPolicy(run);
    const logBucket = run.ofType("aws:s3/bucket:Bucket").find((b) => /-access-logs$/.test(b.name))!;
    const s3 = statements.S3ServerAccessLogs;
    for (const logging of run.ofType("aws:s3/bucketLogging:BucketLogging")) {
        const source = run.get("aws:s3/bucket:Bucket", logging.name.replace(/-access-logging$/, ""));
        const key = `${logBucket.state.arn}/${logging.inputs.targetPrefix}x.log`;
        if (logging.inputs.targetBucket !== logBucket.state.bucket) problems.push(`${logging.name}: logs elsewhere`);
        if (!arnLike(s3.Resource, key))
            problems.push(`${logging.name}: prefix ${logging.inputs.targetPrefix} is outside ${s3.Resource}`);
        if (!arnLike(s3.Condition.ArnLike["aws:SourceArn"], source.state.arn))
            problems.push(
                `${logging.name}: source ${source.state.arn} does not match ${s3.Condition.ArnLike["aws:SourceArn"]}`,
            );
    }
    for (const lb of run.ofType("aws:lb/loadBalancer:LoadBalancer")) {
        const logs = lb.inputs.accessLogs;
        if (!logs?.enabled) {
            problems.push(`${lb.name}: access logs off`);
            continue;
        }
        const key = `${logBucket.state.arn}/${logs.prefix}/AWSLogs/${MOCK_ACCOUNT}/elasticloadbalancing/x.log.gz`;
        if (!arnLike(statements.LoadBalancerAccessLogs.Resource, key))
            problems.push(`${lb.name}: prefix ${logs.prefix} is outside ${statements.LoadBalancerAccessLogs.Resource}`);
    }
    return problems;
}

describe("log delivery in every stack", () => {
    const runs: [string, () => Promise<ProgramRun>, number][] = [
        ["dev", () => runStack("dev"), 1],
        ["staging", () => runStack("staging"), 1],
        ["prod", () => runStack("prod"), 0],
        ["prod switched to the Celery layout", () => runProgram("prod", { "airflow:layout": "celery" }), 1],
    ];
    for (const [label, run, loadBalancers] of runs) {
        it(`lets each bucket's server access logs and the load balancer's logs in, in ${label}`, async () => {
            const r = await run();
            expect(r.ofType("aws:s3/bucketLogging:BucketLogging").length).to.be.at.least(1);
            expect(r.ofType("aws:lb/loadBalancer:LoadBalancer")).to.have.length(loadBalancers);
            expect(logPolicy(r).LoadBalancerAccessLogs.Principal).to.deep.equal({
                AWS: "arn:aws:iam::127311923021:root",
            });
            expect(deliveryProblems(r)).to.deep.equal([]);
        });
    }

    it("finds a prefix the policy does not cover (the check above can fail)", async () => {
        const r = await runStack("dev");
        const moved = new ProgramRun(
            r.stack,
            r.config,
            r.resources.map((res) =>
                res.type === "aws:s3/bucketLogging:BucketLogging"
                    ? { ...res, inputs: { ...res.inputs, targetPrefix: "logs/s3/" } }
                    : res.type === "aws:lb/loadBalancer:LoadBalancer"
                      ? { ...res, inputs: { ...res.inputs, accessLogs: { ...res.inputs.accessLogs, prefix: "lb" } } }
                      : res,
            ),
            r.outputs,
        );
        const problems = deliveryProblems(moved);
        expect(problems.filter((p) => /prefix logs\/s3\/ is outside/.test(p)).length).to.be.at.least(1);
        expect(problems.some((p) => /prefix lb is outside/.test(p))).to.equal(true);
    });
});
