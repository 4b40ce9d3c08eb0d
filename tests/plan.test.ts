import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { expect } from "chai";
import { execFile } from "child_process";
import { mkdtempSync, readFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { diffPlans, renderDiff } from "../tools/plan/diff";
import { Io, main } from "../tools/plan/main";
import { buildPlan, failingViolations, Plan } from "../tools/plan/plan";
import { renderPlan } from "../tools/plan/render";
import { MOCK_ACCOUNT } from "./harness/mocks";
import { runProgram, runResources, runStack, STACKS, StackName } from "./harness/program";

class Group extends pulumi.ComponentResource {
    constructor(name: string, opts?: pulumi.ComponentResourceOptions) {
        super("test:index:Group", name, {}, opts);
    }
}

/** Runs the plan command in-process (reusing the suite's runs of the committed stacks); returns its exit status and output. */
async function plan(args: string[], cwd = process.cwd()): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    const io: Io = { out: (t) => (out += t), err: (t) => (err += t) };
    const code = await main(args, io, cwd, (stack, overrides) =>
        Object.keys(overrides).length === 0 && (STACKS as readonly string[]).includes(stack)
            ? runStack(stack as StackName)
            : runProgram(stack, overrides),
    );
    return { code, out, err };
}

describe("offline plan of a stack", () => {
    let prod: Plan;
    let text: string;
    before(async () => {
        prod = await buildPlan(await runStack("prod"));
        text = renderPlan(prod);
    });

    it("prints the resources as a tree of components and their children, from parent URNs", async () => {
        const run = await runResources("dev", () => {
            const outer = new Group("outer");
            const inner = new Group("inner", { parent: outer });
            new aws.s3.Bucket("data", {}, { parent: inner });
            new aws.cloudwatch.LogGroup("audit", { retentionInDays: 30 }, { parent: outer });
            new aws.s3.Bucket("loose", {});
        });
        const lines = renderPlan(await buildPlan(run)).split("\n");
        const start = lines.indexOf("Resources: 3 to create, in 2 components");
        expect(lines.slice(start + 1, start + 6)).to.deep.equal([
            "aws.s3.Bucket loose: auto-named",
            "outer (test:index:Group)",
            "├── aws.cloudwatch.LogGroup audit: retention 30 days",
            "└── inner (test:index:Group)",
            "    └── aws.s3.Bucket data: auto-named",
        ]);
        const component = text.split("\n").filter((l) => l.startsWith("airflow-prod "));
        expect(component).to.deep.equal([
            "airflow-prod (airflow:jobs:FargateJobs)",
            "airflow-prod (airflow:logs:AccessLogBucket)",
            "airflow-prod (airflow:ml:SageMakerTraining)",
            "airflow-prod (airflow:mwaa:MwaaEnvironment)",
            "airflow-prod (airflow:network:AirflowNetwork)",
            "airflow-prod (airflow:observability:Observability)",
            "airflow-prod (airflow:storage:AirflowStorage)",
        ]);
    });

    it("shows each resource's key inputs: CIDR blocks, ports, retention, endpoints, IAM statements", () => {
        const lines = text.split("\n");
        for (const expected of [
            "├── aws.ec2.Vpc airflow-prod-vpc: 10.40.0.0/16, DNS hostnames on, DNS support on",
            "├── aws.ec2.Subnet airflow-prod-private-0: 10.40.0.0/19 in us-east-1a, public IP on launch off",
            "├── aws.vpc.SecurityGroupIngressRule airflow-prod-database-in-postgres: tcp 5432 from airflow-prod-services-sg into airflow-prod-database-sg",
            "├── aws.vpc.SecurityGroupIngressRule airflow-prod-sg-in-https-0: tcp 443 from 10.40.0.0/16 into airflow-prod-sg",
            "├── aws.mwaa.Environment airflow-prod-environment: mw1.medium, Airflow 3.3.1, workers 2-10, 2 schedulers, web server PRIVATE_ONLY, source airflow-prod-artifacts [protect, timeouts create 2h update 2h delete 1h]",
            "├── aws.cloudwatch.LogGroup airflow-prod-flow-logs: retention 90 days",
            "├── aws.ec2.VpcEndpoint airflow-prod-sqs-endpoint: Interface com.amazonaws.us-east-1.sqs, private DNS on, 2 subnets, groups airflow-prod-endpoints-sg",
            "├── aws.iam.RolePolicy airflow-prod-flow-logs-policy: on role airflow-prod-flow-logs-role",
            "│       [WriteFlowLogs] Allow logs:CreateLogStream, logs:PutLogEvents, logs:DescribeLogStreams on <known after apply: airflow-prod-flow-logs.arn>, <airflow-prod-flow-logs.arn>:log-stream:*",
            "│       trust: Allow for Service vpc-flow-logs.amazonaws.com sts:AssumeRole if StringEquals aws:SourceAccount=<account> and ArnLike aws:SourceArn=arn:aws:ec2:us-east-1:<account>:vpc-flow-log/*",
        ]) {
            expect(lines).to.include(expected);
        }
    });

    it("shows values only AWS can know as known after apply, never the mocks' made-up ids, ARNs or account", async () => {
        const json = JSON.stringify(prod);
        expect(text).not.to.include(MOCK_ACCOUNT);
        expect(json).not.to.include(MOCK_ACCOUNT);
        expect(json).not.to.include("airflow-prod-vpc-id");
        expect(prod.outputs.vpcId).to.equal("<known after apply: airflow-prod-vpc.id>");
        expect(prod.resources.find((r) => r.name === "airflow-prod-private-0")?.inputs.vpcId).to.equal(
            "<known after apply: airflow-prod-vpc.id>",
        );
        const run = await runResources("dev", () => {
            const password = new random.RandomPassword("db-password", { length: 32 });
            const secret = new aws.secretsmanager.Secret("db", {});
            new aws.secretsmanager.SecretVersion("db", { secretId: secret.id, secretString: password.result });
        });
        const generated = run.get("random:index/randomPassword:RandomPassword", "db-password").state.result;
        const secretPlan = await buildPlan(run);
        expect(JSON.stringify(secretPlan) + renderPlan(secretPlan)).not.to.include(generated);
        expect(secretPlan.resources.find((r) => r.type.endsWith("SecretVersion"))?.inputs.secretString).to.equal(
            "[secret]",
        );
    });

    it("counts the resources by type", async () => {
        const run = await runStack("prod");
        for (const type of new Set(run.resources.map((r) => r.type))) {
            expect(prod.counts[type], type).to.equal(run.ofType(type).length);
        }
        expect(text).to.include(`Resources by type (${run.resources.length}):\n`);
        const ingress = String(run.ofType("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule").length);
        expect(text).to.include(`\n${ingress.padStart(5)}  aws.vpc.SecurityGroupIngressRule\n`);
    });

    it("lists the stack outputs, with ids as known after apply", () => {
        const outputs = text.slice(text.indexOf("\nOutputs:\n"));
        for (const line of [
            '    airflowVersion: "3.3.1"',
            '    environment: "prod"',
            '    layout: "mwaa"',
            "    privateSubnetIds: [<known after apply: airflow-prod-private-0.id>, <known after apply: airflow-prod-private-1.id>]",
            '    mwaaWebserverUrl: "https://<airflow-prod-environment.webserverUrl>"',
        ]) {
            expect(outputs).to.include(`${line}\n`);
        }
        // The Celery layout's outputs are undefined on an MWAA stack: not shown, as by the Pulumi CLI.
        expect(outputs).to.not.include("airflowUrl");
        expect(text).to.include("        loadBalancer: <known after apply: airflow-prod-lb-sg.id>\n");
    });

    it("reports the policy pack's verdict, and mandatory violations fail the plan", async () => {
        expect(text).to.include("\nPolicies: 23 of policy pack airflow-aws, no violations\n");
        expect(failingViolations(prod)).to.deep.equal([]);
        const bad = await buildPlan(await runResources("dev", () => new aws.cloudwatch.LogGroup("forever", {})));
        expect(failingViolations(bad).map((v) => v.policy)).to.deep.equal(["log-group-retention"]);
        expect(renderPlan(bad)).to.include(
            'Policies: 23 of policy pack airflow-aws, 1 violation (1 mandatory)\n    ✖ log-group-retention (mandatory): aws.cloudwatch.LogGroup "forever" has retentionInDays unset, which keeps logs forever; set retentionInDays\n',
        );
    });
});

describe("offline plan difference between two stacks", () => {
    it("matches resources by type and name with the environment normalised, and lists what differs", async () => {
        const diff = diffPlans(await buildPlan(await runStack("staging")), await buildPlan(await runStack("prod")));
        // Staging runs the Celery layout, prod MWAA: the layouts' own resources are on one side only.
        expect(diff.onlyLeft).to.deep.include.members([
            { type: "aws:ecs/service:Service", name: "airflow-<env>-scheduler" },
            { type: "aws:rds/instance:Instance", name: "airflow-<env>-db" },
            { type: "aws:lb/loadBalancer:LoadBalancer", name: "airflow-<env>-alb" },
        ]);
        expect(diff.onlyRight).to.deep.include.members([
            { type: "aws:mwaa/environment:Environment", name: "airflow-<env>-environment" },
            ...["kms", "monitoring", "sqs"].map((s) => ({
                type: "aws:ec2/vpcEndpoint:VpcEndpoint",
                name: `airflow-<env>-${s}-endpoint`,
            })),
        ]);
        // Resources on both sides are matched, and only their real differences are listed.
        expect(diff.changed).to.deep.include({
            type: "aws:cloudwatch/logGroup:LogGroup",
            name: "airflow-<env>-flow-logs",
            changes: [{ path: "retentionInDays", left: 14, right: 90 }],
        });
        const training = diff.changed.find((r) => r.name === "airflow-<env>-training-policy");
        expect(training).to.equal(undefined);
        expect(diff.tags.map((t) => [t.path, t.left, t.right])).to.deep.equal([["tags.Production", "false", "true"]]);
        expect(diff.counts).to.deep.include({ type: "aws:ec2/vpcEndpoint:VpcEndpoint", left: 1, right: 9 });
        expect(diff.outputs).to.deep.include({ path: "layout", left: "celery", right: "mwaa" });
        const text = renderDiff(diff);
        expect(text).to.include("  + aws.ec2.VpcEndpoint airflow-<env>-sqs-endpoint\n");
        expect(text).to.include("  - aws.ecs.Service airflow-<env>-scheduler\n");
        expect(text).to.include(
            "  ~ aws.cloudwatch.LogGroup airflow-<env>-flow-logs\n      retentionInDays: 14 -> 90\n",
        );
    });

    it("shows what dev leaves out of staging: NAT per AZ and flow logs", async () => {
        const diff = diffPlans(await buildPlan(await runStack("dev")), await buildPlan(await runStack("staging")));
        const added = diff.onlyRight.map((r) => r.name);
        expect(added).to.include.members([
            "airflow-<env>-nat-1",
            "airflow-<env>-flow-logs",
            "airflow-<env>-flow-log",
            "airflow-<env>-flow-logs-role",
        ]);
        expect(diff.onlyLeft.map((r) => r.name)).to.not.include.members(["airflow-<env>-nat-0", "airflow-<env>-vpc"]);
        const route = diff.changed.find((r) => r.name === "airflow-<env>-private-default-route-1");
        expect(route?.changes).to.deep.equal([
            {
                path: "natGatewayId",
                left: "<known after apply: airflow-<env>-nat-0.id>",
                right: "<known after apply: airflow-<env>-nat-1.id>",
            },
        ]);
    });
});

describe("npm run plan", () => {
    it("prints the plan and writes it as JSON with --json", async () => {
        const dir = mkdtempSync(path.join(tmpdir(), "plan-"));
        const { code, out } = await plan(["prod", "--json"], dir);
        expect(code).to.equal(0);
        expect(out).to.match(/^Offline plan of stack "prod"/);
        expect(out).to.include("\nWrote plan-prod.json\n");
        const written = JSON.parse(readFileSync(path.join(dir, "plan-prod.json"), "utf8"));
        expect(written.formatVersion).to.equal(1);
        expect(written.stack).to.equal("prod");
        expect(written.resources).to.have.length((await runStack("prod")).resources.length);
        expect(written.outputs.layout).to.equal("mwaa");
        expect(written.policies.violations).to.deep.equal([]);
    });

    it("prints the difference of two stacks, as JSON only with --json=-", async () => {
        const { code, out } = await plan(["staging", "prod", "--json=-"]);
        expect(code).to.equal(0);
        const json = JSON.parse(out);
        expect(json.diff.left).to.equal("staging");
        expect(json.diff.right).to.equal("prod");
        expect(json.plans.map((p: Plan) => p.stack)).to.deep.equal(["staging", "prod"]);
    });

    it("exits 1 printing every config error when the configuration is invalid", async () => {
        const { code, out, err } = await plan(["dev", "--config", "airflow:layout=k8s", "--config", "azCount=5"]);
        expect(code).to.equal(1);
        expect(out).to.equal("");
        expect(err).to.equal(
            'error: Invalid configuration for stack "dev" (2 errors):\n' +
                '  - airflow:layout must be "celery" or "mwaa", got "k8s"\n' +
                "  - airflow:azCount must be 2 or 3, got 5\n",
        );
    });

    it("exits 2 when a mandatory policy is violated, after printing the plan", async () => {
        let out = "";
        const io: Io = { out: (t) => (out += t), err: () => undefined };
        const code = await main(["dev"], io, process.cwd(), () =>
            runResources("dev", () => new aws.cloudwatch.LogGroup("forever", {})),
        );
        expect(code).to.equal(2);
        expect(out).to.include("✖ log-group-retention (mandatory)");
    });

    it("writes the whole JSON into a pipe whose reader is slow, then exits (--json=- | wc -c)", async function () {
        this.timeout(120000);
        // The real command in its own process, piped into a reader that starts a second late: the
        // command must not exit before the pipe has taken every byte.
        const { out: expected } = await plan(["staging", "--json=-"]);
        const ts = path.join(__dirname, "..", "node_modules", ".bin", "ts-node");
        const piped = await new Promise<string>((resolve, reject) =>
            execFile(
                "sh",
                ["-c", `"${ts}" tools/plan/main.ts staging --json=- | (sleep 1; wc -c)`],
                { cwd: path.join(__dirname, ".."), maxBuffer: 1 << 20 },
                (error, stdout) => (error ? reject(error) : resolve(stdout)),
            ),
        );
        expect(Buffer.byteLength(expected)).to.be.greaterThan(65536);
        expect(Number(piped.trim())).to.equal(Buffer.byteLength(expected));
    });

    it("exits 1 on a stack without a stack file and on bad arguments", async () => {
        const missing = await plan(["qa"]);
        expect(missing.code).to.equal(1);
        expect(missing.err).to.match(/^error: there is no stack file Pulumi\.qa\.yaml in /);
        const none = await plan([]);
        expect(none.code).to.equal(1);
        expect(none.err).to.match(/^error: expected one stack, or two to compare; got 0\n\nusage: npm run plan/);
    });
});
