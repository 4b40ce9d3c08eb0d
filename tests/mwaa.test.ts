import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { MwaaEnvironment, MwaaEnvironmentArgs } from "../components/mwaa";
import { AirflowStorage } from "../components/storage";
import { loadConfig } from "../config";
import { MWAA_AIRFLOW_VERSIONS } from "../config/versions";
import { SECRETS_BACKEND, secretsBackendKwargs } from "../lib/airflow";
import { CapturedResource, MOCK_ACCOUNT } from "./harness/mocks";
import { ProgramRun, runProgram, runStack, runWith, stackFileConfig, useStack } from "./harness/program";
import { configErrors } from "./harness/config";

const T = {
    component: "airflow:mwaa:MwaaEnvironment",
    env: "aws:mwaa/environment:Environment",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    subnet: "aws:ec2/subnet:Subnet",
    bucket: "aws:s3/bucket:Bucket",
    object: "aws:s3/bucketObjectv2:BucketObjectv2",
};

const REGION = "us-east-1";

/** The id the mocks give a custom resource. */
const idOf = (r: CapturedResource) => `${r.name}-id`;

/** The policy statements of a role policy, by Sid. */
function statementsBySid(policy: CapturedResource): Record<string, any> {
    const doc = JSON.parse(policy.inputs.policy);
    expect(doc.Version).to.equal("2012-10-17");
    return Object.fromEntries(doc.Statement.map((s: any) => [s.Sid, s]));
}

/** The execution role policy MWAA needs, for an environment named `envName` of `environment`. */
function expectedStatements(envName: string, environment: string, bucketArn: string): Record<string, any> {
    return {
        PublishEnvironmentMetrics: {
            Sid: "PublishEnvironmentMetrics",
            Effect: "Allow",
            Action: "airflow:PublishMetrics",
            Resource: `arn:aws:airflow:${REGION}:${MOCK_ACCOUNT}:environment/${envName}`,
        },
        ReadArtifactsBucket: {
            Sid: "ReadArtifactsBucket",
            Effect: "Allow",
            Action: [
                "s3:GetObject",
                "s3:GetObjectVersion",
                "s3:GetBucketLocation",
                "s3:GetBucketVersioning",
                "s3:GetBucketPublicAccessBlock",
                "s3:GetEncryptionConfiguration",
                "s3:ListBucket",
                "s3:ListBucketVersions",
            ],
            Resource: [bucketArn, `${bucketArn}/*`],
        },
        CheckAccountPublicAccessBlock: {
            Sid: "CheckAccountPublicAccessBlock",
            Effect: "Allow",
            Action: "s3:GetAccountPublicAccessBlock",
            Resource: "*",
        },
        WriteEnvironmentLogs: {
            Sid: "WriteEnvironmentLogs",
            Effect: "Allow",
            Action: [
                "logs:CreateLogStream",
                "logs:CreateLogGroup",
                "logs:PutLogEvents",
                "logs:GetLogEvents",
                "logs:GetLogRecord",
                "logs:GetLogGroupFields",
                "logs:GetQueryResults",
            ],
            Resource: `arn:aws:logs:${REGION}:${MOCK_ACCOUNT}:log-group:airflow-${envName}-*`,
        },
        // https://docs.aws.amazon.com/mwaa/latest/userguide/mwaa-create-role.html lists it in every sample policy.
        ListLogGroups: { Sid: "ListLogGroups", Effect: "Allow", Action: "logs:DescribeLogGroups", Resource: "*" },
        PutMetrics: { Sid: "PutMetrics", Effect: "Allow", Action: "cloudwatch:PutMetricData", Resource: "*" },
        UseCeleryQueues: {
            Sid: "UseCeleryQueues",
            Effect: "Allow",
            Action: [
                "sqs:ChangeMessageVisibility",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ReceiveMessage",
                "sqs:SendMessage",
            ],
            Resource: `arn:aws:sqs:${REGION}:*:airflow-celery-*`,
        },
        EncryptCeleryMessages: {
            Sid: "EncryptCeleryMessages",
            Effect: "Allow",
            Action: ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey", "kms:Encrypt"],
            Resource: `arn:aws:kms:${REGION}:*:key/*`,
            Condition: {
                StringEquals: { "kms:ViaService": `sqs.${REGION}.amazonaws.com` },
                StringNotEquals: { "aws:ResourceAccount": MOCK_ACCOUNT },
            },
        },
        ReadAirflowConnectionsAndVariables: {
            Sid: "ReadAirflowConnectionsAndVariables",
            Effect: "Allow",
            Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            Resource: [
                `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:airflow/${environment}/connections/*`,
                `arn:aws:secretsmanager:${REGION}:${MOCK_ACCOUNT}:secret:airflow/${environment}/variables/*`,
            ],
        },
    };
}

describe("MWAA environment of the prod stack", () => {
    const name = "airflow-prod";
    let run: ProgramRun;
    let env: CapturedResource;
    before(async () => {
        run = await runStack("prod");
        env = run.get(T.env, `${name}-environment`);
    });

    it("is one MwaaEnvironment component that parents the environment, its security group, role, policy and log groups", () => {
        const component = run.get(T.component, name);
        expect(
            run
                .childrenOf(component)
                .map((r) => `${r.type} ${r.name}`)
                .sort(),
        ).to.deep.equal(
            [
                `${T.env} ${name}-environment`,
                `${T.sg} ${name}-sg`,
                `${T.ingress} ${name}-sg-in-self`,
                `${T.ingress} ${name}-sg-in-https-0`,
                `${T.egress} ${name}-sg-out-all`,
                `${T.role} ${name}-execution-role`,
                `${T.rolePolicy} ${name}-execution-policy`,
                ...["dagprocessing", "scheduler", "task", "webserver", "worker"].map(
                    (m) => `aws:cloudwatch/logGroup:LogGroup ${name}-logs-${m}`,
                ),
            ].sort(),
        );
        expect(run.ofType(T.env)).to.have.length(1);
    });

    it("runs the Airflow version every stack pins, with prod's class, workers, schedulers and web servers", () => {
        expect(stackFileConfig("prod")["airflow:airflowVersion"]).to.equal(
            stackFileConfig("staging")["airflow:airflowVersion"],
        );
        expect(env.inputs).to.include({
            name,
            airflowVersion: stackFileConfig("prod")["airflow:airflowVersion"],
            environmentClass: "mw1.medium",
            minWorkers: 2,
            maxWorkers: 10,
            schedulers: 2,
            minWebservers: 2,
            maxWebservers: 3,
            webserverAccessMode: "PRIVATE_ONLY",
            weeklyMaintenanceWindowStart: "SUN:03:00",
        });
    });

    it("reads DAGs from dags/ of the artifacts bucket that AirflowStorage deploys to", () => {
        const bucket = run.get(T.bucket, `${name}-artifacts`);
        expect(env.inputs.sourceBucketArn).to.equal(bucket.state.arn);
        expect(env.inputs.dagS3Path).to.equal("dags");
    });

    it("pins requirements and plugins to the object versions the program uploaded, if the repository has them", () => {
        const pinned = (role: string, pathKey: string, versionKey: string, key: string) => {
            if (run.has(T.object, `${name}-${role}`)) {
                const object = run.get(T.object, `${name}-${role}`);
                expect(object.inputs.key).to.equal(key);
                expect(env.inputs[pathKey]).to.equal(key);
                expect(env.inputs[versionKey]).to.equal(object.state.versionId);
            } else {
                expect(env.inputs[pathKey]).to.equal(undefined);
                expect(env.inputs[versionKey]).to.equal(undefined);
            }
        };
        pinned("requirements", "requirementsS3Path", "requirementsS3ObjectVersion", "requirements/requirements.txt");
        pinned("plugins", "pluginsS3Path", "pluginsS3ObjectVersion", "plugins/plugins.zip");
    });

    it("is created after its execution policy and every upload to the bucket", () => {
        const dependencies = env.options.dependencies;
        expect(dependencies).to.include(run.get(T.rolePolicy, `${name}-execution-policy`).urn);
        for (const object of run.ofType(T.object)) expect(dependencies, object.name).to.include(object.urn);
    });

    it("gives MWAA 2 hours to create or update and 1 hour to delete", () => {
        expect(env.options.customTimeouts).to.deep.equal({ create: "2h", update: "2h", delete: "1h" });
    });

    it("is protected from pulumi destroy, as prod protects its data", () => {
        expect(env.options.protect).to.equal(true);
        expect(env.options.retainOnDelete).to.equal(false);
    });

    it("runs in exactly two private subnets, in two different availability zones", () => {
        const subnetIds: string[] = env.inputs.networkConfiguration.subnetIds;
        expect(subnetIds).to.deep.equal([`${name}-private-0-id`, `${name}-private-1-id`]);
        const zones = subnetIds.map((id) => run.get(T.subnet, id.replace(/-id$/, "")).inputs.availabilityZone);
        expect(zones).to.deep.equal([`${REGION}a`, `${REGION}b`]);
    });

    it("has only its own security group, open to itself on everything, out to anywhere, and HTTPS from the VPC", () => {
        const sg = run.get(T.sg, `${name}-sg`);
        expect(env.inputs.networkConfiguration.securityGroupIds).to.deep.equal([idOf(sg)]);
        expect(sg.inputs.vpcId).to.equal(`${name}-vpc-id`);
        expect(sg.inputs.ingress ?? []).to.deep.equal([]);
        expect(sg.inputs.egress ?? []).to.deep.equal([]);
        const onGroup = (type: string) => run.ofType(type).filter((r) => r.inputs.securityGroupId === idOf(sg));
        const ingress = onGroup(T.ingress);
        expect(ingress.map((r) => r.name).sort()).to.deep.equal([`${name}-sg-in-https-0`, `${name}-sg-in-self`]);
        expect(run.get(T.ingress, `${name}-sg-in-self`).inputs).to.include({
            ipProtocol: "-1",
            referencedSecurityGroupId: idOf(sg),
        });
        expect(run.get(T.ingress, `${name}-sg-in-https-0`).inputs).to.include({
            ipProtocol: "tcp",
            fromPort: 443,
            toPort: 443,
            cidrIpv4: "10.40.0.0/16",
        });
        const egress = onGroup(T.egress);
        expect(egress.map((r) => r.name)).to.deep.equal([`${name}-sg-out-all`]);
        expect(egress[0].inputs).to.include({ ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" });
    });

    it("sends every module's logs to CloudWatch at prod's levels", () => {
        expect(env.inputs.loggingConfiguration).to.deep.equal({
            dagProcessingLogs: { enabled: true, logLevel: "INFO" },
            schedulerLogs: { enabled: true, logLevel: "INFO" },
            taskLogs: { enabled: true, logLevel: "INFO" },
            webserverLogs: { enabled: true, logLevel: "WARNING" },
            workerLogs: { enabled: true, logLevel: "INFO" },
        });
    });

    it("reads connections and variables through the same Secrets Manager backend as the Celery layout, defers long waits, and retries a lost worker's tasks as the Celery layout does", () => {
        expect(env.inputs.airflowConfigurationOptions).to.deep.equal({
            "secrets.backend": SECRETS_BACKEND,
            "secrets.backend_kwargs": secretsBackendKwargs("prod"),
            "operators.default_deferrable": "True",
            "scheduler.task_instance_heartbeat_timeout": "90",
            "scheduler.task_instance_heartbeat_timeout_detection_interval": "10",
            "scheduler.task_queued_timeout": "600",
            "core.default_task_retries": "2",
            "core.default_task_retry_delay": "30",
        });
        expect(JSON.parse(env.inputs.airflowConfigurationOptions["secrets.backend_kwargs"])).to.deep.equal({
            connections_prefix: "airflow/prod/connections",
            variables_prefix: "airflow/prod/variables",
        });
    });

    it("has an execution role that only MWAA's two service principals, for this account and this environment, can assume", () => {
        const role = run.get(T.role, `${name}-execution-role`);
        expect(env.inputs.executionRoleArn).to.equal(role.state.arn);
        expect(JSON.parse(role.inputs.assumeRolePolicy)).to.deep.equal({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Service: ["airflow.amazonaws.com", "airflow-env.amazonaws.com"] },
                    Action: "sts:AssumeRole",
                    Condition: {
                        StringEquals: { "aws:SourceAccount": MOCK_ACCOUNT },
                        ArnLike: {
                            "aws:SourceArn": `arn:aws:airflow:us-east-1:${MOCK_ACCOUNT}:environment/${env.inputs.name}`,
                        },
                    },
                },
            ],
        });
    });

    describe("execution role policy", () => {
        let statements: Record<string, any>;
        let expected: Record<string, any>;
        before(() => {
            const policy = run.get(T.rolePolicy, `${name}-execution-policy`);
            expect(policy.inputs.role).to.equal(idOf(run.get(T.role, `${name}-execution-role`)));
            statements = statementsBySid(policy);
            expected = expectedStatements(name, "prod", run.get(T.bucket, `${name}-artifacts`).state.arn);
        });

        it("has exactly the statements MWAA needs, and nothing else", () => {
            expect(Object.keys(statements).sort()).to.deep.equal(Object.keys(expected).sort());
        });

        for (const sid of Object.keys(expectedStatements("x", "x", "x"))) {
            it(`grants ${sid} as scoped as the action allows`, () => {
                expect(statements[sid]).to.deep.equal(expected[sid]);
            });
        }

        it("lists every action by name: no '*' or 'service:*'", () => {
            for (const s of Object.values(statements)) {
                for (const action of [s.Action].flat()) {
                    expect(action, s.Sid).to.match(/^[a-z0-9-]+:[A-Za-z]+\*?$/);
                }
            }
        });

        it("allows only Allow statements, and '*' resources only for the three actions that take no resource ARN", () => {
            for (const s of Object.values(statements)) {
                expect(s.Effect, s.Sid).to.equal("Allow");
                expect(s.NotResource, s.Sid).to.equal(undefined);
                expect(s.NotAction, s.Sid).to.equal(undefined);
                const resources: string[] = [s.Resource].flat();
                if (resources.includes("*")) {
                    expect([s.Action].flat(), s.Sid).to.satisfy((actions: string[]) =>
                        actions.every((a) =>
                            [
                                "s3:GetAccountPublicAccessBlock",
                                "cloudwatch:PutMetricData",
                                "logs:DescribeLogGroups",
                            ].includes(a),
                        ),
                    );
                } else {
                    for (const r of resources) expect(r, s.Sid).to.match(/^arn:aws:[a-z0-9-]+:/);
                }
            }
        });
    });

    it("exports the web server URL, the environment's ARN and name, and the execution role's ARN", () => {
        const role = run.get(T.role, `${name}-execution-role`);
        expect(run.outputs).to.deep.include({
            mwaaWebserverUrl: `https://${env.state.webserverUrl}`,
            mwaaEnvironmentArn: `arn:aws:airflow:${REGION}:${MOCK_ACCOUNT}:environment/${name}`,
            mwaaEnvironmentName: name,
            mwaaExecutionRoleArn: role.state.arn,
        });
        expect(run.outputs.mwaaWebserverUrl).to.match(
            /^https:\/\/[0-9a-f-]{36}\.c2\.us-east-1\.airflow\.amazonaws\.com$/,
        );
    });
});

describe("switching a stack's layout by config", () => {
    it("gives prod no MWAA environment, role or outputs when airflow:layout is celery", async () => {
        const run = await runProgram("prod", { "airflow:layout": "celery" });
        expect(run.ofType(T.component)).to.deep.equal([]);
        expect(run.ofType(T.env)).to.deep.equal([]);
        expect(run.has(T.role, "airflow-prod-execution-role")).to.equal(false);
        for (const output of [
            "mwaaWebserverUrl",
            "mwaaEnvironmentArn",
            "mwaaEnvironmentName",
            "mwaaExecutionRoleArn",
        ]) {
            expect(run.outputs[output], output).to.equal(undefined);
        }
    });

    it("gives dev an MWAA environment with dev's settings when airflow:layout is mwaa", async () => {
        const run = await runProgram("dev", { "airflow:layout": "mwaa" });
        const env = run.get(T.env, "airflow-dev-environment");
        expect(env.inputs).to.include({
            name: "airflow-dev",
            airflowVersion: stackFileConfig("dev")["airflow:airflowVersion"],
            environmentClass: "mw1.small",
            minWorkers: 1,
            maxWorkers: 2,
            schedulers: 2,
            minWebservers: 2,
            maxWebservers: 2,
            webserverAccessMode: "PRIVATE_ONLY",
            weeklyMaintenanceWindowStart: "SUN:03:00",
            sourceBucketArn: run.get(T.bucket, "airflow-dev-artifacts").state.arn,
        });
        expect(env.inputs.airflowConfigurationOptions["secrets.backend_kwargs"]).to.equal(secretsBackendKwargs("dev"));
        expect(env.inputs.tags).to.include({ Environment: "dev", Production: "false", CostCenter: "data-platform" });
        expect(env.options.protect).to.equal(false);
        const statements = statementsBySid(run.get(T.rolePolicy, "airflow-dev-execution-policy"));
        expect(statements).to.deep.equal(
            expectedStatements("airflow-dev", "dev", run.get(T.bucket, "airflow-dev-artifacts").state.arn),
        );
        expect(run.outputs.mwaaEnvironmentName).to.equal("airflow-dev");
        // The storage of the mwaa layout: the bucket only, no database or broker of the Celery layout.
        expect(run.ofType("aws:rds/instance:Instance")).to.deep.equal([]);
    });

    it("leaves the staging stack (celery) without anything of MWAA", async () => {
        const run = await runStack("staging");
        expect(run.ofType(T.component)).to.deep.equal([]);
        expect(run.outputs.mwaaWebserverUrl).to.equal(undefined);
    });
});

/** A repository-like folder: dags/, dags/requirements.txt and, optionally, plugins/. */
function fixture(requirements: string | undefined, withPlugins: boolean) {
    const root = mkdtempSync(path.join(tmpdir(), "airflow-mwaa-"));
    const dagsDir = path.join(root, "dags");
    mkdirSync(dagsDir);
    writeFileSync(path.join(dagsDir, "daily.py"), "# a DAG\n");
    if (requirements !== undefined) writeFileSync(path.join(dagsDir, "requirements.txt"), requirements);
    const pluginsDir = path.join(root, "plugins");
    mkdirSync(pluginsDir);
    if (withPlugins) writeFileSync(path.join(pluginsDir, "my_plugin.py"), "# plugin\n");
    return { dagsDir, requirementsFile: path.join(dagsDir, "requirements.txt"), pluginsDir };
}

const NETWORK = {
    vpcId: "vpc-1",
    privateSubnetIds: ["subnet-a", "subnet-b"],
    availabilityZones: ["us-east-1a", "us-east-1b"],
};

/** AirflowStorage deploying a fixture, and MwaaEnvironment fed from it, as index.ts wires them. */
function deployAndRun(requirements: string | undefined, withPlugins: boolean): Promise<ProgramRun> {
    return runWith("dev", {}, () => {
        const storage = new AirflowStorage("t", {
            environment: "dev",
            layout: "mwaa",
            network: {
                privateSubnetIds: NETWORK.privateSubnetIds,
                databaseSecurityGroupId: "sg-db",
                brokerSecurityGroupId: "sg-broker",
                fileSystemSecurityGroupId: "sg-fs",
            },
            deploy: fixture(requirements, withPlugins),
        });
        const mwaa = new MwaaEnvironment("t", {
            environment: "dev",
            network: NETWORK,
            source: {
                bucketArn: storage.artifactsBucketArn,
                requirementsVersion: storage.artifacts.requirementsVersion,
                pluginsVersion: storage.artifacts.pluginsVersion,
                uploads: storage.artifacts.objects,
            },
        });
        return { arn: mwaa.environmentArn };
    });
}

describe("MWAA pinned to the uploaded requirements and plugins", () => {
    it("points at requirements/requirements.txt and plugins/plugins.zip with the uploaded objects' version ids", async () => {
        const run = await deployAndRun("apache-airflow-providers-amazon\n", true);
        const env = run.get(T.env, "t-environment");
        const requirements = run.get(T.object, "t-requirements");
        const plugins = run.get(T.object, "t-plugins");
        expect(env.inputs).to.include({
            requirementsS3Path: "requirements/requirements.txt",
            requirementsS3ObjectVersion: requirements.state.versionId,
            pluginsS3Path: "plugins/plugins.zip",
            pluginsS3ObjectVersion: plugins.state.versionId,
            dagS3Path: "dags",
        });
        expect(requirements.inputs.key).to.equal("requirements/requirements.txt");
        expect(plugins.inputs.key).to.equal("plugins/plugins.zip");
    });

    it("is created after every upload (DAGs, requirements, plugins)", async () => {
        const run = await deployAndRun("pandas==2.2.3\n", true);
        const env = run.get(T.env, "t-environment");
        const uploads = run.ofType(T.object);
        expect(uploads.map((o) => o.name).sort()).to.deep.equal(["t-dag-daily-py", "t-plugins", "t-requirements"]);
        for (const o of uploads) expect(env.options.dependencies, o.name).to.include(o.urn);
    });

    it("changes only the requirements version when requirements.txt changes: one environment update", async () => {
        const before = (await deployAndRun("pandas==2.2.3\n", false)).get(T.env, "t-environment").inputs;
        const after = (await deployAndRun("pandas==2.2.3\npolars==1.20.0\n", false)).get(T.env, "t-environment").inputs;
        const changed = Object.keys({ ...before, ...after }).filter(
            (k) => JSON.stringify(before[k]) !== JSON.stringify(after[k]),
        );
        expect(changed).to.deep.equal(["requirementsS3ObjectVersion"]);
    });

    it("gives MWAA no plugins path when the repository has no plugins, and no requirements path without requirements.txt", async () => {
        const env = (await deployAndRun(undefined, false)).get(T.env, "t-environment");
        for (const k of [
            "requirementsS3Path",
            "requirementsS3ObjectVersion",
            "pluginsS3Path",
            "pluginsS3ObjectVersion",
        ]) {
            expect(env.inputs[k], k).to.equal(undefined);
        }
        expect(env.inputs.dagS3Path).to.equal("dags");
    });

    it("may decrypt the bucket's KMS key through S3 only, when the bucket uses one", async () => {
        const key = `arn:aws:kms:${REGION}:${MOCK_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
        const run = await runWith("dev", {}, () => {
            new MwaaEnvironment("t", {
                environment: "dev",
                network: NETWORK,
                source: { bucketArn: "arn:aws:s3:::bucket", kmsKeyArn: key },
            });
            return {};
        });
        expect(statementsBySid(run.get(T.rolePolicy, "t-execution-policy")).DecryptArtifactsBucket).to.deep.equal({
            Sid: "DecryptArtifactsBucket",
            Effect: "Allow",
            Action: "kms:Decrypt",
            Resource: key,
            Condition: { StringEquals: { "kms:ViaService": `s3.${REGION}.amazonaws.com` } },
        });
    });
});

describe("MWAA configuration", () => {
    it("fills unset counts with the cheapest the class allows", () => {
        useStack("dev");
        expect(loadConfig().mwaa).to.deep.equal({
            environmentClass: "mw1.small",
            minWorkers: 1,
            maxWorkers: 2,
            schedulers: 2,
            minWebservers: 2,
            maxWebservers: 2,
            webserverAccessMode: "PRIVATE_ONLY",
            weeklyMaintenanceWindowStart: "SUN:03:00",
            logging: { level: "INFO", modules: {} },
            airflowConfigurationOptions: {},
        });
        useStack("dev", { "airflow:mwaaEnvironmentClass": "mw1.micro" });
        expect(loadConfig().mwaa).to.deep.include({
            minWorkers: 1,
            maxWorkers: 1,
            schedulers: 1,
            minWebservers: 1,
            maxWebservers: 1,
        });
    });

    it("accepts the largest counts MWAA allows and Airflow options in section.key form", () => {
        const options = { "core.default_task_retries": "2", "celery.worker_autoscale": "10,5" };
        useStack("dev", {
            "airflow:mwaaEnvironmentClass": "mw1.2xlarge",
            "airflow:mwaaMinWorkers": 25,
            "airflow:mwaaMaxWorkers": 25,
            "airflow:mwaaSchedulers": 5,
            "airflow:mwaaMinWebservers": 5,
            "airflow:mwaaMaxWebservers": 5,
            "airflow:mwaaConfigurationOptions": options,
        });
        expect(loadConfig().mwaa.airflowConfigurationOptions).to.deep.equal(options);
    });

    const versions = MWAA_AIRFLOW_VERSIONS.map((v) => `"${v.airflow}"`).join(", ");
    const cases: [string, string, Record<string, unknown>, string[]][] = [
        [
            "prod",
            "a released Airflow version MWAA does not run",
            { "airflow:airflowVersion": "3.3.2" },
            [
                `airflow:airflowVersion must be one of ${versions} (the versions Amazon MWAA runs) when airflow:layout is "mwaa", got "3.3.2"`,
            ],
        ],
        [
            "dev",
            "an unknown environment class",
            { "airflow:mwaaEnvironmentClass": "mw1.tiny" },
            [
                'airflow:mwaaEnvironmentClass must be one of "mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge", got "mw1.tiny"',
            ],
        ],
        [
            "dev",
            "two schedulers on mw1.micro",
            { "airflow:mwaaEnvironmentClass": "mw1.micro", "airflow:mwaaSchedulers": 2 },
            [
                'airflow:mwaaSchedulers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 2',
            ],
        ],
        [
            "dev",
            "autoscaling workers on mw1.micro",
            { "airflow:mwaaEnvironmentClass": "mw1.micro", "airflow:mwaaMaxWorkers": 3 },
            [
                'airflow:mwaaMaxWorkers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 3',
            ],
        ],
        [
            "dev",
            "one scheduler on mw1.medium",
            { "airflow:mwaaEnvironmentClass": "mw1.medium", "airflow:mwaaSchedulers": 1 },
            [
                'airflow:mwaaSchedulers must be from 2 to 5 when airflow:mwaaEnvironmentClass is "mw1.medium" (MWAA\'s limit for the class), got 1',
            ],
        ],
        [
            "dev",
            "six schedulers",
            { "airflow:mwaaSchedulers": 6 },
            ["airflow:mwaaSchedulers must be a whole number: 1 on mw1.micro, from 2 to 5 on the other classes, got 6"],
        ],
        [
            "dev",
            "more workers than MWAA's quota",
            { "airflow:mwaaMaxWorkers": 26 },
            [
                "airflow:mwaaMaxWorkers must be a whole number: 1 on mw1.micro, from 1 to 25 on the other classes, got 26",
            ],
        ],
        [
            "dev",
            "a worker count that is not a whole number",
            { "airflow:mwaaMinWorkers": 1.5 },
            [
                "airflow:mwaaMinWorkers must be a whole number: 1 on mw1.micro, from 1 to 25 on the other classes, got 1.5",
            ],
        ],
        [
            "dev",
            "more minimum workers than the default maximum",
            { "airflow:mwaaMinWorkers": 5 },
            ["airflow:mwaaMaxWorkers must be at least airflow:mwaaMinWorkers (5), got 2 (its default on mw1.small)"],
        ],
        [
            "dev",
            "fewer maximum than minimum web servers",
            { "airflow:mwaaMinWebservers": 4, "airflow:mwaaMaxWebservers": 3 },
            ["airflow:mwaaMaxWebservers must be at least airflow:mwaaMinWebservers (4), got 3"],
        ],
        [
            "dev",
            "one web server on mw1.small",
            { "airflow:mwaaMinWebservers": 1, "airflow:mwaaMaxWebservers": 1 },
            [
                'airflow:mwaaMinWebservers must be from 2 to 5 when airflow:mwaaEnvironmentClass is "mw1.small" (MWAA\'s limit for the class), got 1',
                'airflow:mwaaMaxWebservers must be from 2 to 5 when airflow:mwaaEnvironmentClass is "mw1.small" (MWAA\'s limit for the class), got 1',
            ],
        ],
        [
            "prod",
            "prod's counts on mw1.micro, every one reported",
            { "airflow:mwaaEnvironmentClass": "mw1.micro" },
            [
                'airflow:mwaaMinWorkers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 2',
                'airflow:mwaaMaxWorkers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 10',
                'airflow:mwaaSchedulers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 2',
                'airflow:mwaaMinWebservers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 2',
                'airflow:mwaaMaxWebservers must be 1 when airflow:mwaaEnvironmentClass is "mw1.micro" (MWAA\'s limit for the class), got 3',
            ],
        ],
        [
            "dev",
            "a web server reachable from both sides",
            { "airflow:mwaaWebserverAccessMode": "PUBLIC_AND_PRIVATE" },
            ['airflow:mwaaWebserverAccessMode must be "PRIVATE_ONLY" or "PUBLIC_ONLY", got "PUBLIC_AND_PRIVATE"'],
        ],
        [
            "dev",
            "a maintenance window off the half hour",
            { "airflow:mwaaMaintenanceWindowStart": "SUN:03:15" },
            [
                'airflow:mwaaMaintenanceWindowStart must be DAY:HH:MM in UTC with DAY one of MON, TUE, WED, THU, FRI, SAT, SUN and minutes 00 or 30, e.g. "SUN:03:00", got "SUN:03:15"',
            ],
        ],
        [
            "dev",
            "a maintenance window in words",
            { "airflow:mwaaMaintenanceWindowStart": "sunday 3am" },
            [
                'airflow:mwaaMaintenanceWindowStart must be DAY:HH:MM in UTC with DAY one of MON, TUE, WED, THU, FRI, SAT, SUN and minutes 00 or 30, e.g. "SUN:03:00", got "sunday 3am"',
            ],
        ],
        [
            "dev",
            "an unknown log level",
            { "airflow:mwaaLogLevel": "VERBOSE" },
            ['airflow:mwaaLogLevel must be one of "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", got "VERBOSE"'],
        ],
        [
            "dev",
            "a log level for a module MWAA does not log",
            { "airflow:mwaaModuleLogLevels": { Triggerer: "INFO" } },
            [
                'airflow:mwaaModuleLogLevels must be a map from one of "DagProcessing", "Scheduler", "Task", "Webserver", "Worker" to one of "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", got {"Triggerer":"INFO"}',
            ],
        ],
        [
            "dev",
            "a configuration option not in section.key form",
            { "airflow:mwaaConfigurationOptions": { "Core.Parallelism": "32" } },
            [
                'airflow:mwaaConfigurationOptions must be a map from Airflow options written section.key (lowercase letters, digits and underscores) to string values (quote numbers and booleans), got {"Core.Parallelism":"32"}',
            ],
        ],
        [
            "dev",
            "a configuration option without a section",
            { "airflow:mwaaConfigurationOptions": { parallelism: "32" } },
            [
                'airflow:mwaaConfigurationOptions must be a map from Airflow options written section.key (lowercase letters, digits and underscores) to string values (quote numbers and booleans), got {"parallelism":"32"}',
            ],
        ],
        [
            "dev",
            "a configuration option with an unquoted number",
            { "airflow:mwaaConfigurationOptions": { "core.parallelism": 32 } },
            [
                'airflow:mwaaConfigurationOptions must be a map from Airflow options written section.key (lowercase letters, digits and underscores) to string values (quote numbers and booleans), got {"core.parallelism":32}',
            ],
        ],
        [
            "dev",
            "overriding the secrets backend",
            {
                "airflow:mwaaConfigurationOptions": {
                    "secrets.backend": "airflow.secrets.local_filesystem.LocalFilesystemBackend",
                    "core.parallelism": "32",
                },
            },
            [
                'airflow:mwaaConfigurationOptions must not set "secrets.backend" (the program sets it the same on both layouts: the Secrets Manager backend under airflow/<environment>/, deferrable operators), got {"secrets.backend":"airflow.secrets.local_filesystem.LocalFilesystemBackend","core.parallelism":"32"}',
            ],
        ],
        [
            "prod",
            "overriding the secrets backend's prefixes",
            { "airflow:mwaaConfigurationOptions": { "secrets.backend_kwargs": '{"connections_prefix": "x"}' } },
            [
                'airflow:mwaaConfigurationOptions must not set "secrets.backend_kwargs" (the program sets it the same on both layouts: the Secrets Manager backend under airflow/<environment>/, deferrable operators), got {"secrets.backend_kwargs":"{\\"connections_prefix\\": \\"x\\"}"}',
            ],
        ],
    ];
    for (const [stack, what, overrides, messages] of cases) {
        it(`rejects ${what} with its exact message`, () => {
            expect(configErrors(stack, overrides)).to.deep.equal(messages);
        });
    }

    it("checks the MWAA keys on a celery stack too, so that switching layouts cannot surface errors late", () => {
        expect(configErrors("staging", { "airflow:mwaaSchedulers": 9 })).to.deep.equal([
            "airflow:mwaaSchedulers must be a whole number: 1 on mw1.micro, from 2 to 5 on the other classes, got 9",
        ]);
    });
});

describe("MwaaEnvironment arguments", () => {
    before(() => useStack("dev"));
    const base: MwaaEnvironmentArgs = {
        environment: "dev",
        network: NETWORK,
        source: { bucketArn: "arn:aws:s3:::bucket" },
    };
    const cases: [string, Partial<MwaaEnvironmentArgs>, string][] = [
        [
            "network.privateSubnetIds with one subnet",
            { network: { ...NETWORK, privateSubnetIds: ["subnet-a"] } },
            "MwaaEnvironment bad: network.privateSubnetIds must be at least 2 private subnets in different availability zones (MWAA runs in exactly two), got 1",
        ],
        [
            "airflowVersion",
            { airflowVersion: "2.8.1" },
            `MwaaEnvironment bad: airflowVersion must be one of ${MWAA_AIRFLOW_VERSIONS.map((v) => `"${v.airflow}"`).join(", ")}, got "2.8.1"`,
        ],
        [
            "airflowVersion a released Airflow MWAA does not run",
            { airflowVersion: "3.3.2" },
            `MwaaEnvironment bad: airflowVersion must be one of ${MWAA_AIRFLOW_VERSIONS.map((v) => `"${v.airflow}"`).join(", ")}, got "3.3.2"`,
        ],
        [
            "environmentClass",
            { environmentClass: "mw2.small" as "mw1.small" },
            'MwaaEnvironment bad: environmentClass must be one of "mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge", got "mw2.small"',
        ],
        [
            "schedulers on mw1.micro",
            { environmentClass: "mw1.micro", schedulers: 2 },
            "MwaaEnvironment bad: schedulers must be 1 on mw1.micro (MWAA's limit for the class), got 2",
        ],
        [
            "maxWorkers beyond the class",
            { environmentClass: "mw1.large", maxWorkers: 30 },
            "MwaaEnvironment bad: maxWorkers must be from 1 to 25 on mw1.large (MWAA's limit for the class), got 30",
        ],
        [
            "maxWorkers below minWorkers",
            { minWorkers: 4, maxWorkers: 3 },
            "MwaaEnvironment bad: maxWorkers must be at least minWorkers (4), got 3",
        ],
        [
            "minWebservers",
            { minWebservers: 6 },
            "MwaaEnvironment bad: minWebservers must be from 2 to 5 on mw1.small (MWAA's limit for the class), got 6",
        ],
        [
            "webserverAccessMode",
            { webserverAccessMode: "PUBLIC" as "PUBLIC_ONLY" },
            'MwaaEnvironment bad: webserverAccessMode must be "PRIVATE_ONLY" or "PUBLIC_ONLY", got "PUBLIC"',
        ],
        [
            "weeklyMaintenanceWindowStart",
            { weeklyMaintenanceWindowStart: "SUN:3:00" },
            'MwaaEnvironment bad: weeklyMaintenanceWindowStart must be DAY:HH:MM in UTC (MON to SUN, minutes 00 or 30), e.g. "SUN:03:00", got "SUN:3:00"',
        ],
        [
            "logging.level",
            { logging: { level: "TRACE" as "DEBUG" } },
            'MwaaEnvironment bad: logging.level must be one of "CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG", got "TRACE"',
        ],
        [
            "logging.modules",
            { logging: { modules: { Triggerer: "INFO" } as never } },
            'MwaaEnvironment bad: logging.modules must be a map from one of "DagProcessing", "Scheduler", "Task", "Webserver", "Worker" to a level, got "Triggerer"',
        ],
        [
            "airflowConfigurationOptions in the wrong form",
            { airflowConfigurationOptions: { "core.Parallelism": "32" } },
            'MwaaEnvironment bad: airflowConfigurationOptions must be keyed by section.key (lowercase letters, digits and underscores), got "core.Parallelism"',
        ],
        [
            "airflowConfigurationOptions overriding the secrets backend",
            { airflowConfigurationOptions: { "secrets.backend": "x" } },
            'MwaaEnvironment bad: airflowConfigurationOptions must be without one of "secrets.backend", "secrets.backend_kwargs", "operators.default_deferrable" (the component sets them the same as the Celery layout), got "secrets.backend"',
        ],
        [
            "environment",
            { environment: "Prod" },
            'MwaaEnvironment bad: environment must be 2 to 16 lowercase letters, digits or hyphens, starting with a letter and not ending with a hyphen, got "Prod"',
        ],
    ];
    for (const [field, args, message] of cases) {
        it(`throws a ResourceError naming ${field} and its allowed values`, () => {
            expect(() => new MwaaEnvironment("bad", { ...base, ...args })).to.throw(pulumi.ResourceError, message);
        });
    }

    it("throws a ResourceError naming a name MWAA does not accept", () => {
        expect(() => new MwaaEnvironment("1-airflow", base)).to.throw(
            pulumi.ResourceError,
            'MwaaEnvironment 1-airflow: name must be a letter followed by up to 79 letters, digits, hyphens or underscores (MWAA\'s names), got "1-airflow"',
        );
    });

    it("refuses two subnets in one availability zone before creating the environment", async () => {
        let component: MwaaEnvironment | undefined;
        const run = await runWith("dev", {}, () => {
            component = new MwaaEnvironment("az", {
                ...base,
                network: { ...NETWORK, availabilityZones: ["us-east-1a", "us-east-1a", "us-east-1b"] },
            });
            return {};
        });
        let error: unknown;
        try {
            await (component!.subnetIds as any).promise();
        } catch (err) {
            error = err;
        }
        expect((error as Error)?.message).to.include(
            'MwaaEnvironment az: network.availabilityZones must put the first two subnets in two different availability zones (MWAA runs in exactly two), got ["us-east-1a","us-east-1a"]',
        );
        expect(run.has(T.env, "az-environment")).to.equal(false);
    });

    it("takes the first two subnets of a three-AZ network", async () => {
        const run = await runWith("dev", {}, () => {
            new MwaaEnvironment("three", {
                ...base,
                network: {
                    ...NETWORK,
                    privateSubnetIds: ["subnet-a", "subnet-b", "subnet-c"],
                    availabilityZones: ["us-east-1a", "us-east-1b", "us-east-1c"],
                },
            });
            return {};
        });
        expect(run.get(T.env, "three-environment").inputs.networkConfiguration.subnetIds).to.deep.equal([
            "subnet-a",
            "subnet-b",
        ]);
    });
});
