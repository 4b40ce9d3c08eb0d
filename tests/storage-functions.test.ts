// Table tests of AirflowStorage's exported functions, called directly (no program run).
import { expect } from "chai";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import {
    accessPointSettings,
    AirflowStorageArgs,
    airflowSecretName,
    airflowSecretSpecs,
    artifactsBucketArgs,
    artifactUploads,
    celeryQueueNames,
    databaseInstanceArgs,
    databaseParameterGroupArgs,
    fileSystemPolicyStatements,
    queuePolicyStatements,
    redisReplicationGroupArgs,
    resolveStorageDefaults,
    ResolvedStorageArgs,
    storageArgViolations,
    urlSafeBase64,
} from "../components/storage";
import { CELERY_DEFAULTS, CONFIG_KEYS, parseConfig, STORAGE_DEFAULTS, storageSettings } from "../config";
import { flowerOnSqs, storageCeilingBelowAllocated } from "../config/storage";

const NETWORK: AirflowStorageArgs["network"] = {
    privateSubnetIds: ["subnet-a", "subnet-b"],
    databaseSecurityGroupId: "sg-db",
    brokerSecurityGroupId: "sg-broker",
    fileSystemSecurityGroupId: "sg-fs",
};
const ARGS: AirflowStorageArgs = { environment: "dev", layout: "celery", network: NETWORK };
const resolved = (over: Partial<AirflowStorageArgs> = {}): ResolvedStorageArgs =>
    resolveStorageDefaults({ ...ARGS, ...over });

describe("AirflowStorage's defaults", () => {
    it("are what a stack that sets no storage key gets", () => {
        const config = parseConfig({ project: "airflow", stack: "dev1", config: { "aws:region": "us-east-1" } });
        const slice = storageSettings(config.storage);
        expect(STORAGE_DEFAULTS).to.deep.equal(slice);
        const r = resolved();
        expect({
            protectData: r.protectData,
            artifacts: {
                kmsKeyArn: undefined,
                taskLogExpirationDays: r.taskLogExpirationDays,
                noncurrentVersionExpirationDays: r.noncurrentVersionExpirationDays,
            },
            secretRecoveryWindowDays: r.secretRecoveryWindowDays,
            database: r.database,
            broker: r.broker,
            sharedFileSystem: r.sharedFileSystem,
        }).to.deep.equal(slice);
        expect([r.flower, r.logRetentionDays, r.queues]).to.deep.equal([
            config.celery.flower,
            config.celery.logRetentionDays,
            config.celery.workerPools.map((p) => p.name),
        ]);
        expect(r.airflowMajor).to.equal(config.airflowMajor);
    });

    it("take each field that is given and keep the defaults of its siblings", () => {
        const r = resolved({ database: { allocatedStorageGb: 50 }, broker: { type: "sqs" }, flower: false });
        expect(r.database).to.deep.equal({ ...STORAGE_DEFAULTS.database, allocatedStorageGb: 50 });
        expect(r.broker).to.deep.equal({ ...STORAGE_DEFAULTS.broker, type: "sqs" });
    });

    it("treat a field given as undefined as not given", () => {
        expect(resolved({ database: { engineVersion: undefined } }).database.engineVersion).to.equal(
            STORAGE_DEFAULTS.database.engineVersion,
        );
    });
});

describe("storageArgViolations", () => {
    const violations = (over: Partial<AirflowStorageArgs>, network = NETWORK) =>
        storageArgViolations(resolved(over), { network }).map((v) => `${v.field} ${v.message}`);
    const cases: [string, Partial<AirflowStorageArgs>, string[]][] = [
        ["the defaults", {}, []],
        [
            "an environment name with capitals",
            { environment: "Dev" },
            [`environment must be ${CONFIG_KEYS.environment.allowed}, got "Dev"`],
        ],
        ["an unknown layout", { layout: "k8s" as "celery" }, ['layout must be "celery" or "mwaa", got "k8s"']],
        ["Airflow 1", { airflowMajor: 1 as 2 }, ["airflowMajor must be 2 or 3, got 1"]],
        [
            "task logs kept no day",
            { artifacts: { taskLogExpirationDays: 0 } },
            ["artifacts.taskLogExpirationDays must be a whole number from 1 to 3650, got 0"],
        ],
        [
            "an unknown broker",
            { broker: { type: "rabbitmq" as "redis" } },
            ['broker.type must be "redis" or "sqs", got "rabbitmq"'],
        ],
        ["seven broker nodes", { broker: { nodes: 7 } }, ["broker.nodes must be a whole number from 1 to 6, got 7"]],
        [
            "PostgreSQL 12",
            { database: { engineVersion: "12" } },
            ['database.engineVersion must be one of "13", "14", "15", "16", "17", got "12"'],
        ],
        [
            "storage below RDS's minimum, and a ceiling above it",
            { database: { allocatedStorageGb: 10 } },
            ["database.allocatedStorageGb must be a whole number from 20 to 65536, got 10"],
        ],
        [
            "a ceiling below the allocated storage",
            { database: { allocatedStorageGb: 100, maxAllocatedStorageGb: 50 } },
            ["database.maxAllocatedStorageGb must be at least database.allocatedStorageGb (100), got 50"],
        ],
        [
            "no backups",
            { database: { backupRetentionDays: 0 } },
            ["database.backupRetentionDays must be a whole number from 1 to 35, got 0"],
        ],
        [
            "a recovery window Secrets Manager refuses",
            { secretRecoveryWindowDays: 3 },
            ["secretRecoveryWindowDays must be 0 or a whole number from 7 to 30, got 3"],
        ],
        [
            "a log retention CloudWatch refuses",
            { logRetentionDays: 2 },
            [`logRetentionDays must be ${CONFIG_KEYS.logRetentionDays.allowed}, got 2`],
        ],
        [
            "Flower with the SQS broker",
            { broker: { type: "sqs" }, flower: true },
            ["flower must be false with the sqs broker (Celery cannot inspect SQS), got true"],
        ],
        [
            "a queue name that is no worker pool name",
            { queues: ["Default"] },
            ['queues must be a non-empty list of lowercase queue names, got ["Default"]'],
        ],
        ["no queue", { queues: [] }, ["queues must be a non-empty list of lowercase queue names, got []"]],
        [
            "every broken rule at once, in field order",
            { broker: { nodes: 0 }, secretRecoveryWindowDays: 1 },
            [
                "broker.nodes must be a whole number from 1 to 6, got 0",
                "secretRecoveryWindowDays must be 0 or a whole number from 7 to 30, got 1",
            ],
        ],
    ];
    for (const [what, over, expected] of cases) {
        it(`${expected.length === 0 ? "accepts" : "rejects"} ${what}`, () => {
            expect(violations(over)).to.deep.equal(expected);
        });
    }

    it("asks for a subnet only where the file system is mounted (celery layout, file system on)", () => {
        const none = { ...NETWORK, privateSubnetIds: [] };
        expect(violations({}, none)).to.deep.equal(["network.privateSubnetIds must be at least one subnet, got []"]);
        expect(violations({ sharedFileSystem: { enabled: false } }, none)).to.deep.equal([]);
        expect(violations({ layout: "mwaa" }, none)).to.deep.equal([]);
    });
});

describe("the storage rules shared by the loader and AirflowStorage", () => {
    const flower: [boolean, "redis" | "sqs", boolean][] = [
        [true, "redis", false],
        [false, "sqs", false],
        [true, "sqs", true],
        [false, "redis", false],
    ];
    for (const [on, broker, broken] of flower) {
        it(`${broken ? "breaks" : "keeps"} the Flower rule with flower ${on} on ${broker}`, () => {
            expect(flowerOnSqs(on, broker)).to.equal(broken);
        });
    }
    const ceilings: [number, number, boolean][] = [
        [20, 100, false],
        [50, 50, false],
        [50, 49, true],
    ];
    for (const [allocated, max, broken] of ceilings) {
        it(`${broken ? "breaks" : "keeps"} the ceiling rule with ${allocated} GiB growing to ${max}`, () => {
            expect(storageCeilingBelowAllocated(allocated, max)).to.equal(broken);
        });
    }
});

describe("artifactsBucketArgs", () => {
    it("expires task logs under logs/ and old versions after the resolved days, and protects the data when asked", () => {
        const args = artifactsBucketArgs(
            { protectData: true, taskLogExpirationDays: 14, noncurrentVersionExpirationDays: 7 },
            {},
        );
        expect(args).to.deep.include({
            noncurrentVersionExpirationDays: 7,
            expirations: [{ id: "expire-task-logs", prefix: "logs/", days: 14 }],
            protectData: true,
            accessLogs: undefined,
        });
    });

    const logs: [string, string | undefined, object | undefined][] = [
        [
            "to the stack's log bucket under s3/artifacts/",
            "log-bucket",
            { bucket: "log-bucket", prefix: "s3/artifacts/" },
        ],
        ["nowhere without a log bucket", undefined, undefined],
    ];
    for (const [what, bucket, expected] of logs) {
        it(`sends its access logs ${what}`, () => {
            const r = resolved();
            expect(artifactsBucketArgs(r, { accessLogBucket: bucket }).accessLogs).to.deep.equal(expected);
        });
    }
});

describe("artifactUploads", () => {
    let dir: string;
    before(() => {
        dir = mkdtempSync(path.join(tmpdir(), "storage-uploads-"));
        mkdirSync(path.join(dir, "dags", "sub"), { recursive: true });
        mkdirSync(path.join(dir, "dags", "__pycache__"));
        mkdirSync(path.join(dir, "plugins"));
        mkdirSync(path.join(dir, "no-plugins"));
        writeFileSync(path.join(dir, "dags", "a.py"), "print('a')\n");
        writeFileSync(path.join(dir, "dags", "sub", "b.sql"), "select 1;\n");
        writeFileSync(path.join(dir, "dags", "__pycache__", "a.cpython-312.pyc"), "");
        writeFileSync(path.join(dir, "dags", "README.md"), "# dags\n");
        writeFileSync(path.join(dir, "requirements.txt"), "pandas\n");
        writeFileSync(path.join(dir, "plugins", "p.py"), "x = 1\n");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    const at = (rel: string) => path.join(dir, rel);
    const cases: [string, () => Parameters<typeof artifactUploads>[0], [string, string, string, string?][]][] = [
        [
            "the DAG files only (no byte code or README) when nothing else is given",
            () => ({ dagsDir: at("dags") }),
            [
                ["dag-a-py", "dags/a.py", "text/x-python"],
                ["dag-sub-b-sql", "dags/sub/b.sql", "application/octet-stream"],
            ],
        ],
        [
            "the requirements file and the plugins zipped, each pinned",
            () => ({ dagsDir: at("dags"), requirementsFile: at("requirements.txt"), pluginsDir: at("plugins") }),
            [
                ["dag-a-py", "dags/a.py", "text/x-python"],
                ["dag-sub-b-sql", "dags/sub/b.sql", "application/octet-stream"],
                ["requirements", "requirements/requirements.txt", "text/plain", "requirements"],
                ["plugins", "plugins/plugins.zip", "application/zip", "plugins"],
            ],
        ],
        [
            "no requirements that do not exist and no plugins from an empty folder",
            () => ({ dagsDir: at("dags"), requirementsFile: at("missing.txt"), pluginsDir: at("no-plugins") }),
            [
                ["dag-a-py", "dags/a.py", "text/x-python"],
                ["dag-sub-b-sql", "dags/sub/b.sql", "application/octet-stream"],
            ],
        ],
    ];
    for (const [what, deploy, expected] of cases) {
        it(`uploads ${what}`, () => {
            const uploads = artifactUploads(deploy()).map((u) => [u.role, u.key, u.contentType, u.pin]);
            expect(uploads).to.deep.equal(expected.map(([r, k, c, p]) => [r, k, c, p]));
        });
    }

    it("uploads the plugins folder as an archive and files as files, each with a content hash", () => {
        const uploads = artifactUploads({ dagsDir: at("dags"), pluginsDir: at("plugins") });
        expect(uploads.find((u) => u.role === "plugins")?.source).to.deep.equal({ archive: at("plugins") });
        expect(uploads.find((u) => u.role === "dag-a-py")?.source).to.deep.equal({ file: at("dags/a.py") });
        expect(uploads.every((u) => /^[0-9a-f]{16,}$/.test(u.hash))).to.equal(true);
    });
});

describe("the metadata database's arguments", () => {
    const refs = {
        password: "pw",
        subnetGroupName: "subnets",
        parameterGroupName: "params",
        securityGroupId: "sg-db",
        finalSnapshotSuffix: "abcd",
    };

    for (const version of ["13", "16", "17"]) {
        it(`forces TLS in a postgres${version} parameter group for PostgreSQL ${version}`, () => {
            expect(databaseParameterGroupArgs(version)).to.deep.include({
                family: `postgres${version}`,
                parameters: [{ name: "rds.force_ssl", value: "1" }],
            });
        });
    }

    const protections: [boolean, object][] = [
        [false, { skipFinalSnapshot: true, applyImmediately: true, finalSnapshotIdentifier: undefined }],
        [true, { skipFinalSnapshot: false, applyImmediately: false }],
    ];
    for (const [protectData, expected] of protections) {
        it(`${protectData ? "keeps a final snapshot and waits for the maintenance window" : "is deleted without a snapshot and changes at once"} with protectData ${protectData}`, () => {
            const args = databaseInstanceArgs("airflow-dev", resolved({ protectData }), refs, undefined);
            expect(args).to.deep.include(expected);
            expect(args.finalSnapshotIdentifier !== undefined).to.equal(protectData);
        });
    }

    it("is private, encrypted gp3 with the resolved sizes, in the given groups, exporting its logs", () => {
        const args = databaseInstanceArgs(
            "airflow-dev",
            resolved({ database: { instanceClass: "db.t4g.medium", allocatedStorageGb: 50, multiAz: true } }),
            refs,
            undefined,
        );
        expect(args).to.deep.include({
            identifier: "airflow-dev-db",
            engine: "postgres",
            engineVersion: STORAGE_DEFAULTS.database.engineVersion,
            instanceClass: "db.t4g.medium",
            allocatedStorage: 50,
            maxAllocatedStorage: STORAGE_DEFAULTS.database.maxAllocatedStorageGb,
            multiAz: true,
            storageType: "gp3",
            storageEncrypted: true,
            publiclyAccessible: false,
            dbSubnetGroupName: "subnets",
            parameterGroupName: "params",
            password: "pw",
            port: 5432,
        });
        expect(args.vpcSecurityGroupIds).to.deep.equal(["sg-db"]);
        expect(args.enabledCloudwatchLogsExports).to.deep.equal(["postgresql", "upgrade"]);
    });
});

describe("redisReplicationGroupArgs", () => {
    const refs = { subnetGroupName: "subnets", securityGroupId: "sg-broker", authToken: "token" };
    const cases: [number, boolean][] = [
        [1, false],
        [2, true],
        [6, true],
    ];
    for (const [nodes, failover] of cases) {
        it(`runs ${nodes} node(s) ${failover ? "with" : "without"} automatic failover across AZs`, () => {
            const args = redisReplicationGroupArgs("airflow-dev", resolved({ broker: { nodes } }), refs, undefined);
            expect(args).to.deep.include({
                numCacheClusters: nodes,
                automaticFailoverEnabled: failover,
                multiAzEnabled: failover,
            });
        });
    }

    it("requires TLS and AUTH, encrypts at rest, and takes the resolved node type", () => {
        const args = redisReplicationGroupArgs(
            "airflow-dev",
            resolved({ broker: { nodeType: "cache.t4g.small" } }),
            refs,
            undefined,
        );
        expect(args).to.deep.include({
            atRestEncryptionEnabled: true,
            transitEncryptionEnabled: true,
            transitEncryptionMode: "required",
            authToken: "token",
            nodeType: "cache.t4g.small",
            port: 6379,
        });
    });
});

describe("the SQS broker's queues", () => {
    it("names a queue and its dead-letter queue after the Celery queue", () => {
        expect(celeryQueueNames("airflow-dev", "large")).to.deep.equal({
            main: "airflow-dev-celery-large",
            deadLetter: "airflow-dev-celery-large-dlq",
        });
    });

    it("denies every request that is not TLS", () => {
        expect(queuePolicyStatements("arn:q")).to.deep.equal([
            {
                Sid: "DenyInsecureTransport",
                Effect: "Deny",
                Principal: { AWS: "*" },
                Action: "sqs:*",
                Resource: "arn:q",
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            },
        ]);
    });
});

describe("the shared file system's access", () => {
    it("denies non-TLS access and any mount that is not through an access point", () => {
        const statements = fileSystemPolicyStatements("arn:fs");
        expect(statements.map((s) => [s.Sid, s.Effect, s.Action, s.Resource])).to.deep.equal([
            ["DenyInsecureTransport", "Deny", "*", "arn:fs"],
            ["MountThroughAccessPointOnly", "Deny", "elasticfilesystem:ClientMount", "arn:fs"],
        ]);
        expect(statements[1].Condition).to.deep.equal({ Null: { "elasticfilesystem:AccessPointArn": "true" } });
    });

    it("makes every client the Airflow user (uid 50000, gid 0), rooted at /airflow", () => {
        expect(accessPointSettings()).to.deep.equal({
            posixUser: { uid: 50000, gid: 0 },
            rootDirectory: { path: "/airflow", creationInfo: { ownerUid: 50000, ownerGid: 0, permissions: "0775" } },
        });
    });
});

describe("airflowSecretSpecs", () => {
    const base = ["sqlAlchemyConn", "resultBackend", "brokerUrl", "fernetKey", "apiSecretKey", "adminPassword"];
    const cases: [2 | 3, boolean, string[]][] = [
        [2, false, base],
        [3, false, [...base, "jwtSecret"]],
        [2, true, [...base, "flowerBasicAuth"]],
        [3, true, [...base, "jwtSecret", "flowerBasicAuth"]],
    ];
    for (const [airflowMajor, flower, fields] of cases) {
        it(`holds ${fields.length} secrets for Airflow ${airflowMajor} ${flower ? "with" : "without"} Flower`, () => {
            expect(airflowSecretSpecs({ airflowMajor, flower }).map((s) => s.field)).to.deep.equal(fields);
        });
    }

    it("gives every secret its own name and generated resource", () => {
        const specs = airflowSecretSpecs({ airflowMajor: 3, flower: true });
        const roles = specs.map((s) => s.role);
        const generated = specs.flatMap((s) => ("resource" in s.value ? [s.value.resource] : []));
        expect(new Set(roles).size).to.equal(roles.length);
        expect(new Set(generated).size).to.equal(generated.length);
        expect(airflowSecretName("dev", "fernet-key")).to.equal("airflow/dev/config/fernet-key");
    });

    it("generates a 32-byte Fernet key, keys of 64 characters and passwords of 24, Flower's as admin:<password>", () => {
        const values = Object.fromEntries(
            airflowSecretSpecs({ airflowMajor: 3, flower: true }).map((s) => [s.field, s.value]),
        );
        expect(values.fernetKey).to.deep.include({ from: "fernet", bytes: 32 });
        expect(values.apiSecretKey).to.deep.include({ from: "password", length: 64 });
        expect(values.jwtSecret).to.deep.include({ from: "password", length: 64 });
        expect(values.adminPassword).to.deep.include({ from: "password", length: 24 });
        expect(values.flowerBasicAuth).to.deep.include({ from: "password", length: 24, user: "admin" });
    });

    const base64: [string, string][] = [
        ["ab+/cd==", "ab-_cd=="],
        ["++//", "--__"],
        ["plain", "plain"],
    ];
    for (const [given, expected] of base64) {
        it(`writes ${given} as URL-safe base64 ${expected}`, () => {
            expect(urlSafeBase64(given)).to.equal(expected);
        });
    }

    it("agrees with CeleryCluster on when the Flower secret exists (the defaults of both)", () => {
        const fields = airflowSecretSpecs(resolved()).map((s) => s.field);
        expect(fields.includes("flowerBasicAuth")).to.equal(CELERY_DEFAULTS.flower);
    });
});
