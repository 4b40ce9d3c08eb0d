import * as pulumi from "@pulumi/pulumi";
import { expect } from "chai";
import { AirflowStorage } from "../components/storage";
import { CapturedResource } from "./harness/mocks";
import { ProgramRun, runProgram, runStack, STACKS, useStack } from "./harness/program";
import { itRejectsEach } from "./harness/config";

const T = {
    bucket: "aws:s3/bucket:Bucket",
    pab: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    db: "aws:rds/instance:Instance",
    dbSubnets: "aws:rds/subnetGroup:SubnetGroup",
    dbParams: "aws:rds/parameterGroup:ParameterGroup",
    redis: "aws:elasticache/replicationGroup:ReplicationGroup",
    redisSubnets: "aws:elasticache/subnetGroup:SubnetGroup",
    queue: "aws:sqs/queue:Queue",
    queuePolicy: "aws:sqs/queuePolicy:QueuePolicy",
    fs: "aws:efs/fileSystem:FileSystem",
    mount: "aws:efs/mountTarget:MountTarget",
    accessPoint: "aws:efs/accessPoint:AccessPoint",
    backup: "aws:efs/backupPolicy:BackupPolicy",
    fsPolicy: "aws:efs/fileSystemPolicy:FileSystemPolicy",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
};

/** The value stored in the secret `airflow/<env>/config/<role>`. */
function secretValue(run: ProgramRun, role: string): string {
    const name = `airflow-${run.stack}-${role}`;
    return run.get(T.secretVersion, `${name}-value`).inputs.secretString;
}

/** What each stack file asks of its storage. */
const expected = {
    dev: {
        protect: false,
        logDays: 14,
        noncurrentDays: 7,
        recoveryDays: 0,
        db: {
            instanceClass: "db.t4g.micro",
            allocatedStorage: 20,
            maxAllocatedStorage: 100,
            multiAz: false,
            backupRetentionPeriod: 1,
            deletionProtection: false,
            performanceInsightsEnabled: false,
        },
        redisNodes: 1,
        fsBackups: "DISABLED",
    },
    staging: {
        protect: true,
        logDays: 90,
        noncurrentDays: 30,
        recoveryDays: 7,
        db: {
            instanceClass: "db.t4g.medium",
            allocatedStorage: 50,
            maxAllocatedStorage: 200,
            multiAz: true,
            backupRetentionPeriod: 14,
            deletionProtection: true,
            performanceInsightsEnabled: true,
        },
        redisNodes: 2,
        fsBackups: "ENABLED",
    },
    prod: { protect: true, logDays: 30, noncurrentDays: 90, recoveryDays: 30 },
};

for (const stack of STACKS) {
    const want = expected[stack];
    const name = `airflow-${stack}`;

    describe(`artifacts bucket of the ${stack} stack`, () => {
        let run: ProgramRun;
        let bucket: CapturedResource;
        const setting = (type: string, role: string) => run.get(type, `${name}-artifacts-${role}`);
        before(async () => {
            run = await runStack(stack);
            bucket = run.get(T.bucket, `${name}-artifacts`);
        });

        it("is versioned, encrypted with SSE-S3 and owned by the bucket owner only (ACLs off)", () => {
            expect(setting(T.versioning, "versioning").inputs.versioningConfiguration).to.deep.equal({
                status: "Enabled",
            });
            expect(setting(T.sse, "encryption").inputs.rules).to.deep.equal([
                { applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } },
            ]);
            expect(setting(T.ownership, "ownership").inputs.rule).to.deep.equal({
                objectOwnership: "BucketOwnerEnforced",
            });
            for (const type of [T.versioning, T.sse, T.ownership, T.pab, T.lifecycle, T.bucketPolicy]) {
                expect(run.ofType(type).find((r) => r.name.startsWith(`${name}-artifacts-`))?.inputs.bucket).to.equal(
                    `${name}-artifacts-id`,
                );
            }
        });

        it("blocks every kind of public access", () => {
            expect(setting(T.pab, "public-access-block").inputs).to.include({
                blockPublicAcls: true,
                blockPublicPolicy: true,
                ignorePublicAcls: true,
                restrictPublicBuckets: true,
            });
        });

        it("denies any request that is not TLS 1.2 or later", () => {
            const policy = JSON.parse(setting(T.bucketPolicy, "policy").inputs.policy);
            const arn = bucket.state.arn;
            expect(policy.Statement).to.deep.equal([
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: { AWS: "*" },
                    Action: "s3:*",
                    Resource: [arn, `${arn}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
                {
                    Sid: "DenyOutdatedTls",
                    Effect: "Deny",
                    Principal: { AWS: "*" },
                    Action: "s3:*",
                    Resource: [arn, `${arn}/*`],
                    Condition: { NumericLessThan: { "s3:TlsVersion": "1.2" } },
                },
            ]);
        });

        it(`expires task logs after ${want.logDays} days and old versions after ${want.noncurrentDays}`, () => {
            expect(setting(T.lifecycle, "lifecycle").inputs.rules).to.deep.equal([
                {
                    id: "expire-task-logs",
                    status: "Enabled",
                    filter: { prefix: "logs/" },
                    expiration: { days: want.logDays },
                },
                {
                    id: "expire-noncurrent-versions",
                    status: "Enabled",
                    filter: {},
                    noncurrentVersionExpiration: { noncurrentDays: want.noncurrentDays },
                    abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
                },
            ]);
        });

        it(
            want.protect ? "is protected, kept on delete and never force-emptied" : "can be destroyed with its objects",
            () => {
                expect(bucket.options.protect).to.equal(want.protect);
                expect(bucket.options.retainOnDelete).to.equal(want.protect);
                expect(bucket.inputs.forceDestroy).to.equal(!want.protect);
            },
        );

        it("exports its name as artifactsBucket", () => {
            expect(run.outputs.artifactsBucket).to.equal(bucket.state.bucket);
        });
    });

    if (stack === "prod") {
        describe("storage of the prod (MWAA) stack", () => {
            it("creates no database, broker, file system or Airflow config secret: MWAA brings its own", async () => {
                const run = await runStack("prod");
                for (const type of [T.db, T.redis, T.queue, T.fs]) {
                    expect(run.ofType(type), type).to.have.length(0);
                }
                const configSecrets = run
                    .ofType(T.secret)
                    .filter((s) => s.inputs.name.startsWith("airflow/prod/config/"));
                expect(configSecrets).to.have.length(0);
                expect(run.outputs.secretArns).to.equal(undefined);
                expect(run.outputs.databaseEndpoint).to.equal(undefined);
            });
        });
        continue;
    }

    const celery = want as (typeof expected)["dev"];
    describe(`metadata database of the ${stack} stack`, () => {
        let run: ProgramRun;
        let db: CapturedResource;
        before(async () => {
            run = await runStack(stack);
            db = run.get(T.db, `${name}-db`);
        });

        it("is PostgreSQL 16, encrypted, private, in the private subnets and the database tier group", () => {
            expect(db.inputs).to.include({
                engine: "postgres",
                engineVersion: "16",
                autoMinorVersionUpgrade: true,
                storageType: "gp3",
                storageEncrypted: true,
                publiclyAccessible: false,
                dbName: "airflow",
                username: "airflow",
                port: 5432,
                dbSubnetGroupName: run.get(T.dbSubnets, `${name}-db-subnets`).state.name,
            });
            expect(db.inputs.vpcSecurityGroupIds).to.deep.equal([`${name}-database-sg-id`]);
            expect(run.get(T.dbSubnets, `${name}-db-subnets`).inputs.subnetIds).to.deep.equal([
                `${name}-private-0-id`,
                `${name}-private-1-id`,
            ]);
        });

        it("forces TLS with a parameter group of the engine's family", () => {
            const params = run.get(T.dbParams, `${name}-db-params`);
            expect(params.inputs.family).to.equal("postgres16");
            expect(params.inputs.parameters).to.deep.equal([{ name: "rds.force_ssl", value: "1" }]);
            expect(db.inputs.parameterGroupName).to.equal(params.state.name);
        });

        it("has the stack's size, storage autoscaling, availability, backups and protections", () => {
            expect(db.inputs).to.include(celery.db);
        });

        it("takes its password from @pulumi/random, marked secret", () => {
            const password = run.get("random:index/randomPassword:RandomPassword", `${name}-db-password`);
            expect(db.inputs.password).to.equal(password.state.result);
            expect(db.secretPaths).to.include("password");
        });

        it(
            celery.protect
                ? "is protected, kept on delete and leaves a final snapshot"
                : "is deleted with the stack without a final snapshot",
            () => {
                expect(db.options.protect).to.equal(celery.protect);
                expect(db.options.retainOnDelete).to.equal(celery.protect);
                expect(db.inputs.skipFinalSnapshot).to.equal(!celery.protect);
                if (celery.protect) {
                    const suffix = run.get("random:index/randomId:RandomId", `${name}-db-final-snapshot-suffix`).state
                        .hex;
                    expect(db.inputs.finalSnapshotIdentifier).to.equal(`${name}-db-final-${suffix}`);
                } else {
                    expect(db.inputs.finalSnapshotIdentifier).to.equal(undefined);
                }
            },
        );

        it("exports its address, not its credentials", () => {
            expect(run.outputs.databaseEndpoint).to.equal(db.state.address);
        });
    });

    describe(`Redis broker of the ${stack} stack`, () => {
        let run: ProgramRun;
        let redis: CapturedResource;
        before(async () => {
            run = await runStack(stack);
            redis = run.get(T.redis, `${name}-broker`);
        });

        it("encrypts at rest and requires TLS and an AUTH token from @pulumi/random", () => {
            expect(redis.inputs).to.include({
                engine: "valkey",
                atRestEncryptionEnabled: true,
                transitEncryptionEnabled: true,
                transitEncryptionMode: "required",
                port: 6379,
            });
            const token = run.get("random:index/randomPassword:RandomPassword", `${name}-broker-auth-token`);
            expect(redis.inputs.authToken).to.equal(token.state.result);
            expect(redis.secretPaths).to.include("authToken");
        });

        it(`runs ${celery.redisNodes} node(s)${celery.redisNodes > 1 ? " with automatic failover across AZs" : ""}`, () => {
            expect(redis.inputs).to.include({
                numCacheClusters: celery.redisNodes,
                automaticFailoverEnabled: celery.redisNodes > 1,
                multiAzEnabled: celery.redisNodes > 1,
            });
        });

        it("lives in the private subnets behind the broker tier group", () => {
            expect(redis.inputs.securityGroupIds).to.deep.equal([`${name}-broker-sg-id`]);
            expect(run.get(T.redisSubnets, `${name}-broker-subnets`).inputs.subnetIds).to.deep.equal([
                `${name}-private-0-id`,
                `${name}-private-1-id`,
            ]);
        });

        it("gives Celery a rediss:// URL that verifies the server certificate", () => {
            const token = run.get("random:index/randomPassword:RandomPassword", `${name}-broker-auth-token`).state
                .result;
            expect(secretValue(run, "broker-url")).to.equal(
                `rediss://:${token}@${redis.state.primaryEndpointAddress}:6379/0?ssl_cert_reqs=required`,
            );
            expect(run.outputs.brokerEndpoint).to.equal(redis.state.primaryEndpointAddress);
        });
    });

    describe(`shared file system of the ${stack} stack`, () => {
        let run: ProgramRun;
        let fs: CapturedResource;
        before(async () => {
            run = await runStack(stack);
            fs = run.get(T.fs, `${name}-fs`);
        });

        it("is encrypted and mounted in every private subnet through the file system tier group", () => {
            expect(fs.inputs.encrypted).to.equal(true);
            const mounts = run.ofType(T.mount);
            expect(mounts.map((m) => m.inputs.subnetId).sort()).to.deep.equal([
                `${name}-private-0-id`,
                `${name}-private-1-id`,
            ]);
            for (const m of mounts) {
                expect(m.inputs.securityGroups).to.deep.equal([`${name}-filesystem-sg-id`]);
                expect(m.inputs.fileSystemId).to.equal(`${name}-fs-id`);
            }
        });

        it("has an access point at /airflow owned by the Airflow user (uid 50000, gid 0)", () => {
            const ap = run.get(T.accessPoint, `${name}-fs-ap`);
            expect(ap.inputs.posixUser).to.deep.equal({ uid: 50000, gid: 0 });
            expect(ap.inputs.rootDirectory).to.deep.equal({
                path: "/airflow",
                creationInfo: { ownerUid: 50000, ownerGid: 0, permissions: "0775" },
            });
            expect(run.outputs.fileSystemAccessPointId).to.equal(`${name}-fs-ap-id`);
        });

        it(`has backups ${celery.fsBackups.toLowerCase()}, TLS required, and mounts only through access points`, () => {
            expect(run.get(T.backup, `${name}-fs-backup`).inputs.backupPolicy).to.deep.equal({
                status: celery.fsBackups,
            });
            const statements = JSON.parse(run.get(T.fsPolicy, `${name}-fs-policy`).inputs.policy).Statement;
            expect(statements.map((s: any) => [s.Effect, s.Condition])).to.deep.equal([
                ["Deny", { Bool: { "aws:SecureTransport": "false" } }],
                ["Deny", { Null: { "elasticfilesystem:AccessPointArn": "true" } }],
            ]);
            expect(fs.options.protect).to.equal(celery.protect);
        });
    });

    describe(`Airflow secrets of the ${stack} stack`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await runStack(stack);
        });
        const roles = [
            "sql-alchemy-conn",
            "result-backend",
            "broker-url",
            "fernet-key",
            "api-secret-key",
            "admin-password",
            "jwt-secret",
            "flower-basic-auth",
        ];

        it(`are the ${roles.length} secrets under airflow/${stack}/config/ with a ${celery.recoveryDays}-day recovery window`, () => {
            const secrets = run.ofType(T.secret).filter((s) => s.inputs.name.startsWith(`airflow/${stack}/config/`));
            expect(secrets.map((s) => s.inputs.name).sort()).to.deep.equal(
                roles.map((r) => `airflow/${stack}/config/${r}`).sort(),
            );
            for (const s of secrets) expect(s.inputs.recoveryWindowInDays, s.name).to.equal(celery.recoveryDays);
        });

        it("point Airflow at the database over TLS that verifies the server, in the forms SQLAlchemy and Celery expect", () => {
            const db = run.get(T.db, `${name}-db`).state;
            const password = run.get("random:index/randomPassword:RandomPassword", `${name}-db-password`).state.result;
            expect(secretValue(run, "sql-alchemy-conn")).to.equal(
                `postgresql+psycopg2://airflow:${password}@${db.address}:5432/airflow?sslmode=verify-full&sslrootcert=/opt/airflow/rds-ca/rds-ca-bundle.pem`,
            );
            expect(secretValue(run, "result-backend")).to.equal(
                `db+postgresql://airflow:${password}@${db.address}:5432/airflow?sslmode=verify-full&sslrootcert=/opt/airflow/rds-ca/rds-ca-bundle.pem`,
            );
        });

        it("hold a Fernet key that decodes to 32 bytes under URL-safe base64", () => {
            const key = secretValue(run, "fernet-key");
            expect(key).to.match(/^[A-Za-z0-9_-]{43}=$/);
            expect(Buffer.from(key, "base64url")).to.have.length(32);
            const bytes = run.get("random:index/randomBytes:RandomBytes", `${name}-fernet-key`);
            expect(bytes.inputs.length).to.equal(32);
            expect(Buffer.from(key, "base64url").equals(Buffer.from(bytes.state.base64, "base64"))).to.equal(true);
        });

        it("hold generated keys and passwords of useful strength, and Flower's user:password", () => {
            expect(secretValue(run, "api-secret-key")).to.match(/^[A-Za-z0-9]{64}$/);
            expect(secretValue(run, "jwt-secret")).to.match(/^[A-Za-z0-9]{64}$/);
            expect(secretValue(run, "admin-password")).to.match(/^[A-Za-z0-9]{24}$/);
            expect(secretValue(run, "flower-basic-auth")).to.match(/^admin:[A-Za-z0-9]{24}$/);
        });

        it("are exported as ARNs of the secrets, never as values", () => {
            const arns = run.outputs.secretArns as Record<string, string>;
            expect(Object.keys(arns).sort()).to.deep.equal([
                "adminPassword",
                "apiSecretKey",
                "brokerUrl",
                "fernetKey",
                "flowerBasicAuth",
                "jwtSecret",
                "resultBackend",
                "sqlAlchemyConn",
            ]);
            for (const [key, arn] of Object.entries(arns)) {
                expect(arn, key).to.match(
                    new RegExp(`^arn:aws:secretsmanager:us-east-1:123456789012:secret:airflow/${stack}/config/`),
                );
            }
        });
    });
}

/**
 * Every secret value @pulumi/random generated in a run, in each form the program may have derived.
 * RandomId is left out: the program uses it for name suffixes, which are identifiers, not secrets.
 */
function generatedSecrets(run: ProgramRun): string[] {
    const values: string[] = [];
    for (const r of run.resources.filter(
        (r) => r.type.startsWith("random:") && r.type !== "random:index/randomId:RandomId",
    )) {
        for (const field of ["result", "base64", "hex"]) {
            const v = r.state[field];
            if (typeof v !== "string") continue;
            values.push(v);
            if (field === "base64") values.push(v.replace(/\+/g, "-").replace(/\//g, "_"));
        }
    }
    return values;
}

/** Where a generated secret may appear: only inputs the program marked secret, of these kinds. */
const SECRET_SINKS: Record<string, string[]> = {
    [T.secretVersion]: ["secretString"],
    [T.db]: ["password"],
    [T.redis]: ["authToken"],
};

const leakCases: [string, string, Record<string, unknown>][] = [
    ["dev", "dev", {}],
    ["staging", "staging", {}],
    ["prod", "prod", {}],
    ["dev", "dev with the SQS broker", { "airflow:broker": "sqs", "airflow:flower": false }],
];
for (const [stack, label, overrides] of leakCases) {
    it(`keeps every generated secret of ${label} out of every input and output except secret-marked sinks`, async () => {
        const run = Object.keys(overrides).length ? await runProgram(stack, overrides) : await runStack(stack as "dev");
        const secrets = generatedSecrets(run);
        if (run.config["airflow:layout"] === "celery") expect(secrets.length).to.be.greaterThan(5);
        for (const r of run.resources.filter((r) => !r.type.startsWith("random:"))) {
            for (const [path, value] of Object.entries(flatten(r.inputs))) {
                if (!secrets.some((s) => String(value).includes(s))) continue;
                const allowed = (SECRET_SINKS[r.type] ?? []).includes(path) && r.secretPaths.includes(path);
                expect(allowed, `a generated secret appears in ${r.type} ${r.name} input ${path}`).to.equal(true);
            }
        }
        for (const [output, value] of Object.entries(run.outputs)) {
            const text = JSON.stringify(value) ?? "";
            const leaks = secrets.some((s) => text.includes(s));
            expect(
                leaks && !run.secretOutputs.includes(output),
                `stack output ${output} carries a generated secret`,
            ).to.equal(false);
        }
    });
}

function flatten(value: unknown, path = "", out: Record<string, unknown> = {}): Record<string, unknown> {
    if (value && typeof value === "object") {
        for (const [k, v] of Object.entries(value)) flatten(v, path ? `${path}.${k}` : k, out);
    } else {
        out[path] = value;
    }
    return out;
}

describe("storage with the SQS broker", () => {
    let run: ProgramRun;
    before(async () => {
        run = await runProgram("dev", { "airflow:broker": "sqs", "airflow:flower": false });
    });

    it("has an encrypted queue with a 12-hour visibility timeout and a dead-letter queue, and no Redis", () => {
        expect(run.ofType(T.redis)).to.have.length(0);
        const queue = run.get(T.queue, "airflow-dev-celery-default");
        const dlq = run.get(T.queue, "airflow-dev-celery-default-dlq");
        expect(queue.inputs).to.include({ sqsManagedSseEnabled: true, visibilityTimeoutSeconds: 43200 });
        expect(dlq.inputs.sqsManagedSseEnabled).to.equal(true);
        expect(JSON.parse(queue.inputs.redrivePolicy)).to.deep.equal({
            deadLetterTargetArn: dlq.state.arn,
            maxReceiveCount: 5,
        });
    });

    it("denies non-TLS access to both queues", () => {
        for (const role of ["default", "default-dlq"]) {
            const policy = run.get(T.queuePolicy, `airflow-dev-celery-${role}-policy`);
            const statement = JSON.parse(policy.inputs.policy).Statement[0];
            expect(statement).to.include({ Effect: "Deny", Action: "sqs:*" });
            expect(statement.Condition).to.deep.equal({ Bool: { "aws:SecureTransport": "false" } });
        }
    });

    it("gives Celery the sqs:// URL (credentials come from the task role) and no Flower secret", () => {
        expect(secretValue(run, "broker-url")).to.equal("sqs://");
        expect(run.has(T.secret, "airflow-dev-flower-basic-auth")).to.equal(false);
        expect(run.outputs.brokerEndpoint).to.equal(run.get(T.queue, "airflow-dev-celery-default").state.url);
    });
});

describe("storage variants", () => {
    it("encrypts the artifacts bucket with the configured KMS key and a bucket key", async () => {
        const key = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
        const run = await runProgram("dev", { "airflow:artifactsKmsKeyArn": key });
        expect(run.get(T.sse, "airflow-dev-artifacts-encryption").inputs.rules).to.deep.equal([
            {
                applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms", kmsMasterKeyId: key },
                bucketKeyEnabled: true,
            },
        ]);
    });

    it("leaves out the file system when sharedFileSystem is false", async () => {
        const run = await runProgram("dev", { "airflow:sharedFileSystem": false });
        expect(run.ofType(T.fs)).to.have.length(0);
        expect(run.ofType(T.mount)).to.have.length(0);
        expect(run.outputs.fileSystemId).to.equal(undefined);
    });

    it("creates no JWT secret for an Airflow 2.x version", async () => {
        const run = await runProgram("dev", { "airflow:airflowVersion": "2.10.3" });
        expect(run.has(T.secret, "airflow-dev-jwt-secret")).to.equal(false);
        expect(run.has(T.secret, "airflow-dev-api-secret-key")).to.equal(true);
    });

    it("keeps the artifacts bucket's generated name within S3's 63 characters for the longest environment name", async () => {
        const run = await runProgram("dev", { "airflow:environment": "abcdefghijklmnop" });
        const bucket = run.get(T.bucket, "airflow-abcdefghijklmnop-artifacts");
        expect(bucket.state.bucket.length).to.be.at.most(63);
        expect(bucket.state.bucket).to.match(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/);
    });
});

describe("storage configuration errors", () => {
    const cases: [string, Record<string, unknown>, string][] = [
        [
            "an unknown broker",
            { "airflow:broker": "rabbitmq" },
            'airflow:broker must be "redis" or "sqs", got "rabbitmq"',
        ],
        [
            "Flower with the SQS broker",
            { "airflow:broker": "sqs", "airflow:flower": true },
            'airflow:flower must be false when airflow:broker is "sqs" (Celery cannot inspect an SQS broker, so Flower would show no workers or tasks), got true',
        ],
        [
            "database storage below RDS's minimum",
            { "airflow:dbAllocatedStorageGb": 10 },
            "airflow:dbAllocatedStorageGb must be a whole number from 20 to 65536, got 10",
        ],
        [
            "an autoscaling ceiling below the allocated storage",
            { "airflow:dbAllocatedStorageGb": 50, "airflow:dbMaxAllocatedStorageGb": 40 },
            "airflow:dbMaxAllocatedStorageGb must be at least airflow:dbAllocatedStorageGb (50), got 40",
        ],
        [
            "backup retention beyond 35 days",
            { "airflow:dbBackupRetentionDays": 36 },
            "airflow:dbBackupRetentionDays must be a whole number from 1 to 35, got 36",
        ],
        [
            "no backups at all",
            { "airflow:dbBackupRetentionDays": 0 },
            "airflow:dbBackupRetentionDays must be a whole number from 1 to 35, got 0",
        ],
        [
            "a secret recovery window Secrets Manager refuses",
            { "airflow:secretRecoveryWindowDays": 3 },
            "airflow:secretRecoveryWindowDays must be 0 or a whole number from 7 to 30, got 3",
        ],
        [
            "a KMS alias instead of a key ARN",
            { "airflow:artifactsKmsKeyArn": "alias/airflow" },
            'airflow:artifactsKmsKeyArn must be empty or a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), got "alias/airflow"',
        ],
        [
            "an unknown PostgreSQL version",
            { "airflow:dbEngineVersion": "12" },
            'airflow:dbEngineVersion must be one of "13", "14", "15", "16", "17", got "12"',
        ],
        [
            "a database class that is not an RDS class",
            { "airflow:dbInstanceClass": "t3.micro" },
            'airflow:dbInstanceClass must be an RDS instance class offered for airflow:dbEngineVersion in the stack\'s region, such as "db.t4g.micro", "db.t4g.medium" or "db.m7g.large" (checked against config/aws-data/instance-types.json, from AWS\'s price list), got "t3.micro"',
        ],
        [
            "seven broker nodes",
            { "airflow:brokerNodes": 7 },
            "airflow:brokerNodes must be a whole number from 1 to 6, got 7",
        ],
    ];
    itRejectsEach(cases);
});

describe("AirflowStorage arguments", () => {
    before(() => useStack("dev"));
    const network = {
        privateSubnetIds: ["subnet-a", "subnet-b"],
        databaseSecurityGroupId: "sg-db",
        brokerSecurityGroupId: "sg-broker",
        fileSystemSecurityGroupId: "sg-fs",
    };
    const cases: [string, Partial<ConstructorParameters<typeof AirflowStorage>[1]>, string][] = [
        ["layout", { layout: "k8s" as "celery" }, 'AirflowStorage bad: layout must be "celery" or "mwaa", got "k8s"'],
        [
            "broker.nodes",
            { broker: { nodes: 7 } },
            "AirflowStorage bad: broker.nodes must be a whole number from 1 to 6, got 7",
        ],
        [
            "flower with sqs",
            { broker: { type: "sqs" }, flower: true },
            "AirflowStorage bad: flower must be false with the sqs broker (Celery cannot inspect SQS), got true",
        ],
        [
            "secretRecoveryWindowDays",
            { secretRecoveryWindowDays: 31 },
            "AirflowStorage bad: secretRecoveryWindowDays must be 0 or a whole number from 7 to 30, got 31",
        ],
        [
            "database.maxAllocatedStorageGb",
            { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 50 } },
            "AirflowStorage bad: database.maxAllocatedStorageGb must be at least database.allocatedStorageGb (100), got 50",
        ],
        [
            "queues",
            { queues: ["Default"] },
            'AirflowStorage bad: queues must be a non-empty list of lowercase queue names, got ["Default"]',
        ],
    ];
    for (const [field, args, message] of cases) {
        it(`throws a ResourceError naming ${field} and its allowed values`, () => {
            expect(
                () => new AirflowStorage("bad", { environment: "dev", layout: "celery", network, ...args }),
            ).to.throw(pulumi.ResourceError, message);
        });
    }
});
