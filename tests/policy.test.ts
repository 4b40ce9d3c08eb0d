import * as aws from "@pulumi/aws";
import { expect } from "chai";
import { readdirSync, readFileSync } from "fs";
import * as path from "path";
import { evaluatePolicies } from "../policy/offline";
import { isSecretLookingAirflowSetting, policies, SECRET_MARKERS } from "../policy/policies";
import { SECRET_SETTING_MARKERS } from "../lib/airflow-env";
import { TYPES } from "../policy/resources";
import { buildPlan } from "../tools/plan/plan";
import { ROOT, runResources, runStack, STACKS } from "./harness/program";

/** The messages one policy reports for the resources `create` makes (a small stack under the mocks). */
async function violations(policyName: string, create: () => void): Promise<string[]> {
    const policy = policies.find((p) => p.name === policyName);
    if (!policy) throw new Error(`no policy ${policyName}`);
    const run = await runResources("dev", create);
    return (await evaluatePolicies(run.resources, [policy])).map((v) => v.message);
}

const json = (value: unknown) => JSON.stringify(value);

/** A bucket with everything the S3 policies ask for; `leaveOut` drops one part. */
function bucketWith(name: string, leaveOut?: "encryption" | "accessBlock" | "policy"): aws.s3.Bucket {
    const bucket = new aws.s3.Bucket(name, {});
    if (leaveOut !== "encryption") {
        new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
            bucket: bucket.id,
            rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" }, bucketKeyEnabled: true }],
        });
    }
    if (leaveOut !== "accessBlock") {
        new aws.s3.BucketPublicAccessBlock(`${name}-access-block`, {
            bucket: bucket.id,
            blockPublicAcls: true,
            blockPublicPolicy: true,
            ignorePublicAcls: true,
            restrictPublicBuckets: true,
        });
    }
    if (leaveOut !== "policy") {
        new aws.s3.BucketPolicy(`${name}-policy`, {
            bucket: bucket.id,
            policy: tlsOnlyPolicy(bucket),
        });
    }
    return bucket;
}

function tlsOnlyPolicy(bucket: aws.s3.Bucket) {
    return bucket.arn.apply((arn) =>
        json({
            Version: "2012-10-17",
            Statement: [
                {
                    Sid: "DenyInsecureTransport",
                    Effect: "Deny",
                    Principal: "*",
                    Action: "s3:*",
                    Resource: [arn, `${arn}/*`],
                    Condition: { Bool: { "aws:SecureTransport": "false" } },
                },
            ],
        }),
    );
}

function document(...statements: Record<string, unknown>[]): string {
    return json({ Version: "2012-10-17", Statement: statements });
}

const ROLE_TRUST = document({
    Effect: "Allow",
    Principal: { Service: "ecs-tasks.amazonaws.com" },
    Action: "sts:AssumeRole",
});

describe("policy pack", () => {
    it("has every policy mandatory, each with a unique name and a description", () => {
        expect(policies.map((p) => p.enforcementLevel)).to.deep.equal(policies.map(() => "mandatory"));
        expect(new Set(policies.map((p) => p.name)).size).to.equal(policies.length);
        for (const p of policies) expect(p.description, p.name).to.have.length.greaterThan(20);
        expect(policies.map((p) => p.name)).to.include.members([
            "data-stores-private",
            "rds-encryption-at-rest",
            "elasticache-encryption",
            "efs-encryption-at-rest",
            "sqs-encryption-at-rest",
            "secrets-manager-kms-key",
            "s3-encryption-at-rest",
            "s3-public-access-block",
            "s3-tls-only",
            "security-group-internet-ingress",
            "iam-no-wildcard-actions",
            "iam-passrole-scoped",
            "ecs-secrets-not-in-environment",
            "log-group-retention",
            "mwaa-private-webserver-in-production",
        ]);
    });

    it("matches resources by the type tokens of @pulumi/aws's classes", () => {
        const classes: Record<keyof typeof TYPES, unknown> = {
            s3Bucket: aws.s3.Bucket,
            s3BucketV2: aws.s3.BucketV2,
            s3Encryption: aws.s3.BucketServerSideEncryptionConfiguration,
            s3EncryptionV2: aws.s3.BucketServerSideEncryptionConfigurationV2,
            s3PublicAccessBlock: aws.s3.BucketPublicAccessBlock,
            s3BucketPolicy: aws.s3.BucketPolicy,
            s3Versioning: aws.s3.BucketVersioning,
            s3VersioningV2: aws.s3.BucketVersioningV2,
            rdsInstance: aws.rds.Instance,
            rdsCluster: aws.rds.Cluster,
            rdsClusterInstance: aws.rds.ClusterInstance,
            cacheReplicationGroup: aws.elasticache.ReplicationGroup,
            cacheCluster: aws.elasticache.Cluster,
            cacheServerless: aws.elasticache.ServerlessCache,
            efsFileSystem: aws.efs.FileSystem,
            efsMountTarget: aws.efs.MountTarget,
            sqsQueue: aws.sqs.Queue,
            secret: aws.secretsmanager.Secret,
            kmsKey: aws.kms.Key,
            kmsAlias: aws.kms.Alias,
            vpc: aws.ec2.Vpc,
            vpcCidrAssociation: aws.ec2.VpcIpv4CidrBlockAssociation,
            securityGroup: aws.ec2.SecurityGroup,
            securityGroupRule: aws.ec2.SecurityGroupRule,
            ingressRule: aws.vpc.SecurityGroupIngressRule,
            iamRole: aws.iam.Role,
            iamRolePolicy: aws.iam.RolePolicy,
            iamPolicy: aws.iam.Policy,
            iamUserPolicy: aws.iam.UserPolicy,
            iamGroupPolicy: aws.iam.GroupPolicy,
            ecsTaskDefinition: aws.ecs.TaskDefinition,
            logGroup: aws.cloudwatch.LogGroup,
            mwaaEnvironment: aws.mwaa.Environment,
            s3BucketLogging: aws.s3.BucketLogging,
            lbLoadBalancer: aws.lb.LoadBalancer,
            lbListener: aws.lb.Listener,
            ecsService: aws.ecs.Service,
            metricAlarm: aws.cloudwatch.MetricAlarm,
            compositeAlarm: aws.cloudwatch.CompositeAlarm,
        };
        for (const [key, token] of Object.entries(TYPES)) {
            // __pulumiType is internal to the SDK: the token the engine sees for resources of the class.
            expect((classes[key as keyof typeof TYPES] as { __pulumiType?: string }).__pulumiType, key).to.equal(token);
        }
    });

    it("is self-contained: policy/ imports only its own files and packages the repository installs", () => {
        const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
        const installed = new Set(Object.keys({ ...pkg.dependencies, ...pkg.devDependencies }));
        const dir = path.join(ROOT, "policy");
        for (const file of readdirSync(dir).filter((f) => f.endsWith(".ts"))) {
            const source = readFileSync(path.join(dir, file), "utf8");
            for (const [, spec] of source.matchAll(/from "([^"]+)"/g)) {
                if (spec.startsWith(".")) {
                    expect(spec, `${file} imports ${spec}`).to.match(/^\.\/[\w-]+$/);
                } else {
                    const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0];
                    expect(installed, `${file} imports ${spec}`).to.include(name);
                }
            }
        }
        const policyPkg = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8"));
        expect(policyPkg.version).to.match(/^\d+\.\d+\.\d+$/); // the PolicyPack reads it
        expect(policyPkg.main).to.equal("index.ts");
        expect(readFileSync(path.join(dir, "PulumiPolicy.yaml"), "utf8")).to.match(/^runtime: nodejs$/m);
    });
});

describe("policy data-stores-private", () => {
    const P = "data-stores-private";

    it("passes a private database whose group admits the services' group and a block inside the VPC", async () => {
        expect(
            await violations(P, () => {
                new aws.ec2.Vpc("vpc", { cidrBlock: "10.40.0.0/16" });
                const db = new aws.ec2.SecurityGroup("app-database-sg", { vpcId: "vpc-1" });
                const services = new aws.ec2.SecurityGroup("app-services-sg", { vpcId: "vpc-1" });
                new aws.vpc.SecurityGroupIngressRule("db-from-services", {
                    securityGroupId: db.id,
                    ipProtocol: "tcp",
                    fromPort: 5432,
                    toPort: 5432,
                    referencedSecurityGroupId: services.id,
                });
                new aws.vpc.SecurityGroupIngressRule("db-from-subnet", {
                    securityGroupId: db.id,
                    ipProtocol: "tcp",
                    fromPort: 5432,
                    toPort: 5432,
                    cidrIpv4: "10.40.32.0/19",
                });
                new aws.rds.Instance("metadata", {
                    instanceClass: "db.t4g.micro",
                    engine: "postgres",
                    publiclyAccessible: false,
                    storageEncrypted: true,
                    vpcSecurityGroupIds: [db.id],
                });
            }),
        ).to.deep.equal([]);
    });

    it("fails a publicly accessible database", async () => {
        expect(
            await violations(P, () => {
                new aws.rds.Instance("metadata", {
                    instanceClass: "db.t4g.micro",
                    engine: "postgres",
                    publiclyAccessible: true,
                });
            }),
        ).to.deep.equal([
            'aws.rds.Instance "metadata" has publiclyAccessible: true; databases are reachable from inside the VPC only',
        ]);
    });

    it("fails ingress from outside the VPC to a cache's group, found through the cache it is attached to", async () => {
        expect(
            await violations(P, () => {
                new aws.ec2.Vpc("vpc", { cidrBlock: "10.40.0.0/16" });
                const group = new aws.ec2.SecurityGroup("redis", { vpcId: "vpc-1" });
                new aws.elasticache.ReplicationGroup("broker", {
                    description: "Celery broker",
                    nodeType: "cache.t4g.small",
                    securityGroupIds: [group.id],
                });
                new aws.vpc.SecurityGroupIngressRule("redis-from-office", {
                    securityGroupId: group.id,
                    ipProtocol: "tcp",
                    fromPort: 6379,
                    toPort: 6379,
                    cidrIpv4: "203.0.113.0/24",
                });
            }),
        ).to.deep.equal([
            'aws.vpc.SecurityGroupIngressRule "redis-from-office" lets 203.0.113.0/24 reach the cache security group "redis" on tcp 6379, but 203.0.113.0/24 is outside the VPC (10.40.0.0/16); data stores accept traffic from inside the VPC only',
        ]);
    });

    it("fails an inline rule opening the file-system tier group to the internet", async () => {
        expect(
            await violations(P, () => {
                new aws.ec2.Vpc("vpc", { cidrBlock: "10.40.0.0/16" });
                new aws.ec2.SecurityGroup("app-filesystem-sg", {
                    ingress: [{ protocol: "tcp", fromPort: 2049, toPort: 2049, cidrBlocks: ["0.0.0.0/0"] }],
                });
            }),
        ).to.deep.equal([
            'aws.ec2.SecurityGroup "app-filesystem-sg" lets 0.0.0.0/0 reach the file system security group "app-filesystem-sg" on tcp 2049, but 0.0.0.0/0 is outside the VPC (10.40.0.0/16); data stores accept traffic from inside the VPC only',
        ]);
    });
});

describe("encryption policies", () => {
    it("rds-encryption-at-rest passes encrypted instances and clusters and fails the others", async () => {
        expect(
            await violations("rds-encryption-at-rest", () => {
                new aws.rds.Instance("ok", {
                    instanceClass: "db.t4g.micro",
                    engine: "postgres",
                    storageEncrypted: true,
                });
                new aws.rds.Cluster("ok-cluster", { engine: "aurora-postgresql", storageEncrypted: true });
            }),
        ).to.deep.equal([]);
        expect(
            await violations("rds-encryption-at-rest", () => {
                new aws.rds.Instance("metadata", { instanceClass: "db.t4g.micro", engine: "postgres" });
                new aws.rds.Cluster("aurora", { engine: "aurora-postgresql", storageEncrypted: false });
            }),
        ).to.deep.equal([
            'aws.rds.Cluster "aurora" has storageEncrypted false; set storageEncrypted: true',
            'aws.rds.Instance "metadata" has storageEncrypted unset; set storageEncrypted: true',
        ]);
    });

    it("elasticache-encryption passes a replication group encrypted both ways and fails the others", async () => {
        expect(
            await violations("elasticache-encryption", () => {
                new aws.elasticache.ReplicationGroup("broker", {
                    description: "Celery broker",
                    atRestEncryptionEnabled: true,
                    transitEncryptionEnabled: true,
                });
            }),
        ).to.deep.equal([]);
        expect(
            await violations("elasticache-encryption", () => {
                new aws.elasticache.ReplicationGroup("broker", {
                    description: "Celery broker",
                    atRestEncryptionEnabled: false,
                });
                new aws.elasticache.Cluster("single", { engine: "redis", nodeType: "cache.t4g.micro" });
            }),
        ).to.deep.equal([
            'aws.elasticache.ReplicationGroup "broker" has atRestEncryptionEnabled false; set atRestEncryptionEnabled: true',
            'aws.elasticache.ReplicationGroup "broker" has transitEncryptionEnabled unset; set transitEncryptionEnabled: true',
            'aws.elasticache.Cluster "single" runs redis as a standalone cluster, which cannot encrypt at rest; use an aws.elasticache.ReplicationGroup with atRestEncryptionEnabled and transitEncryptionEnabled',
        ]);
    });

    it("efs-encryption-at-rest passes an encrypted file system and fails an unencrypted one", async () => {
        expect(
            await violations("efs-encryption-at-rest", () => new aws.efs.FileSystem("shared", { encrypted: true })),
        ).to.deep.equal([]);
        expect(await violations("efs-encryption-at-rest", () => new aws.efs.FileSystem("shared", {}))).to.deep.equal([
            'aws.efs.FileSystem "shared" has encrypted unset; set encrypted: true',
        ]);
    });

    it("sqs-encryption-at-rest passes SQS-managed or KMS encryption and fails a queue that states neither", async () => {
        expect(
            await violations("sqs-encryption-at-rest", () => {
                new aws.sqs.Queue("managed", { sqsManagedSseEnabled: true });
                new aws.sqs.Queue("kms", { kmsMasterKeyId: "alias/aws/sqs" });
            }),
        ).to.deep.equal([]);
        expect(
            await violations("sqs-encryption-at-rest", () => {
                new aws.sqs.Queue("default", {});
                new aws.sqs.Queue("off", { sqsManagedSseEnabled: false });
            }),
        ).to.deep.equal([
            'aws.sqs.Queue "default" has sqsManagedSseEnabled unset and no kmsMasterKeyId; set sqsManagedSseEnabled: true or a kmsMasterKeyId',
            'aws.sqs.Queue "off" has sqsManagedSseEnabled false and no kmsMasterKeyId; set sqsManagedSseEnabled: true or a kmsMasterKeyId',
        ]);
    });

    it("secrets-manager-kms-key passes the default key, a key of the stack or an alias, and fails a value that names no key", async () => {
        expect(
            await violations("secrets-manager-kms-key", () => {
                const key = new aws.kms.Key("secrets", { enableKeyRotation: true });
                new aws.secretsmanager.Secret("default-key", {});
                new aws.secretsmanager.Secret("stack-key", { kmsKeyId: key.id });
                new aws.secretsmanager.Secret("alias", { kmsKeyId: "alias/airflow" });
            }),
        ).to.deep.equal([]);
        expect(
            await violations("secrets-manager-kms-key", () => {
                new aws.secretsmanager.Secret("fernet", {
                    kmsKeyId: "arn:aws:secretsmanager:us-east-1:123456789012:secret:other",
                });
            }),
        ).to.deep.equal([
            'aws.secretsmanager.Secret "fernet" has kmsKeyId "arn:aws:secretsmanager:us-east-1:123456789012:secret:other", which is not a KMS key ARN, key id or alias; leave it unset for the default key or name a KMS key',
        ]);
    });
});

describe("S3 policies", () => {
    const S3 = ["s3-encryption-at-rest", "s3-public-access-block", "s3-tls-only"];

    for (const policy of S3) {
        it(`${policy} passes a bucket with its encryption, public access block and TLS-only policy`, async () => {
            expect(await violations(policy, () => bucketWith("artifacts"))).to.deep.equal([]);
        });
    }

    it("s3-encryption-at-rest fails a bucket without an encryption configuration, and only that bucket", async () => {
        expect(
            await violations("s3-encryption-at-rest", () => {
                bucketWith("artifacts");
                bucketWith("logs", "encryption");
            }),
        ).to.deep.equal([
            'aws.s3.Bucket "logs" has no server-side encryption configuration; add an aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm AES256 or aws:kms',
        ]);
    });

    it("s3-public-access-block fails a missing block and a block with flags off", async () => {
        expect(
            await violations("s3-public-access-block", () => {
                bucketWith("missing", "accessBlock");
                const partial = bucketWith("partial", "accessBlock");
                new aws.s3.BucketPublicAccessBlock("partial-access-block", {
                    bucket: partial.id,
                    blockPublicAcls: true,
                    ignorePublicAcls: true,
                    blockPublicPolicy: false,
                });
            }),
        ).to.deep.equal([
            'aws.s3.Bucket "missing" has no aws.s3.BucketPublicAccessBlock; add one with blockPublicAcls, blockPublicPolicy, ignorePublicAcls, restrictPublicBuckets all true',
            'aws.s3.BucketPublicAccessBlock "partial-access-block" of bucket "partial" leaves blockPublicPolicy, restrictPublicBuckets off; set all four flags to true',
        ]);
    });

    it("s3-public-access-block ties a block to its bucket by the bucket's name when there is no dependency", async () => {
        expect(
            await violations("s3-public-access-block", () => {
                new aws.s3.Bucket("named", { bucket: "airflow-dev-named" });
                new aws.s3.BucketPublicAccessBlock("named-access-block", {
                    bucket: "airflow-dev-named",
                    blockPublicAcls: true,
                    blockPublicPolicy: true,
                    ignorePublicAcls: true,
                    restrictPublicBuckets: true,
                });
            }),
        ).to.deep.equal([]);
    });

    it("s3-tls-only fails a bucket without a policy and a policy that does not deny insecure transport", async () => {
        expect(
            await violations("s3-tls-only", () => {
                bucketWith("nopolicy", "policy");
                const other = bucketWith("readers", "policy");
                new aws.s3.BucketPolicy("readers-policy", {
                    bucket: other.id,
                    policy: other.arn.apply((arn) =>
                        document({
                            Effect: "Allow",
                            Principal: { AWS: "arn:aws:iam::123456789012:root" },
                            Action: "s3:GetObject",
                            Resource: `${arn}/*`,
                        }),
                    ),
                });
            }),
        ).to.deep.equal([
            'aws.s3.Bucket "nopolicy" has no aws.s3.BucketPolicy; add one that denies s3:* on the bucket and its objects when aws:SecureTransport is "false"',
            'aws.s3.BucketPolicy "readers-policy" of bucket "readers" does not deny s3:* on the bucket and its objects when aws:SecureTransport is "false"',
        ]);
    });
});

describe("policy security-group-internet-ingress", () => {
    const P = "security-group-internet-ingress";
    const rule = (name: string, group: aws.ec2.SecurityGroup, port: number, cidr: string) =>
        new aws.vpc.SecurityGroupIngressRule(name, {
            securityGroupId: group.id,
            ipProtocol: "tcp",
            fromPort: port,
            toPort: port,
            ...(cidr.includes(":") ? { cidrIpv6: cidr } : { cidrIpv4: cidr }),
        });

    it("passes 80 and 443 from anywhere on the load balancer group", async () => {
        expect(
            await violations(P, () => {
                const lb = new aws.ec2.SecurityGroup("airflow-dev-lb-sg", {});
                rule("lb-80", lb, 80, "0.0.0.0/0");
                rule("lb-443", lb, 443, "0.0.0.0/0");
                rule("lb-443-v6", lb, 443, "::/0");
            }),
        ).to.deep.equal([]);
    });

    it("fails other ports on the load balancer, any port on other groups, inline rules and ec2 rules", async () => {
        expect(
            await violations(P, () => {
                const lb = new aws.ec2.SecurityGroup("airflow-dev-lb-sg", {});
                const services = new aws.ec2.SecurityGroup("airflow-dev-services-sg", {});
                rule("lb-flower", lb, 5555, "0.0.0.0/0");
                rule("services-https", services, 443, "::/0");
                new aws.ec2.SecurityGroup("bastion", {
                    ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidrBlocks: ["0.0.0.0/0"] }],
                });
                new aws.ec2.SecurityGroupRule("services-all", {
                    type: "ingress",
                    securityGroupId: services.id,
                    protocol: "-1",
                    fromPort: 0,
                    toPort: 0,
                    cidrBlocks: ["0.0.0.0/0"],
                });
            }),
        ).to.deep.equal([
            'aws.ec2.SecurityGroup "bastion" opens tcp 22 of security group "bastion" to 0.0.0.0/0; only ports 80 and 443 of the load balancer group (<name>-lb-sg) may accept traffic from anywhere',
            'aws.vpc.SecurityGroupIngressRule "lb-flower" opens tcp 5555 of security group "airflow-dev-lb-sg" to 0.0.0.0/0; only ports 80 and 443 of the load balancer group (<name>-lb-sg) may accept traffic from anywhere',
            'aws.ec2.SecurityGroupRule "services-all" opens all traffic of security group "airflow-dev-services-sg" to 0.0.0.0/0; only ports 80 and 443 of the load balancer group (<name>-lb-sg) may accept traffic from anywhere',
            'aws.vpc.SecurityGroupIngressRule "services-https" opens tcp 443 of security group "airflow-dev-services-sg" to ::/0; only ports 80 and 443 of the load balancer group (<name>-lb-sg) may accept traffic from anywhere',
        ]);
    });
});

describe("IAM policies", () => {
    it("iam-no-wildcard-actions passes listed actions (and a Deny of s3:*) and fails wildcards wherever they are", async () => {
        expect(
            await violations("iam-no-wildcard-actions", () => {
                new aws.iam.Role("task", {
                    assumeRolePolicy: ROLE_TRUST,
                    inlinePolicies: [
                        {
                            name: "read",
                            policy: document(
                                { Effect: "Allow", Action: ["s3:GetObject", "s3:ListBucket"], Resource: "*" },
                                { Effect: "Deny", Action: "s3:*", Resource: "*" },
                            ),
                        },
                    ],
                });
            }),
        ).to.deep.equal([]);
        expect(
            await violations("iam-no-wildcard-actions", () => {
                const role = new aws.iam.Role("task", {
                    assumeRolePolicy: ROLE_TRUST,
                    inlinePolicies: [
                        { name: "s3", policy: document({ Effect: "Allow", Action: "s3:*", Resource: "*" }) },
                    ],
                });
                new aws.iam.RolePolicy("admin", {
                    role: role.id,
                    policy: document({ Sid: "Everything", Effect: "Allow", Action: ["*"], Resource: "*" }),
                });
                new aws.iam.Policy("all-but-iam", {
                    policy: document({ Effect: "Allow", NotAction: "iam:*", Resource: "*" }),
                });
            }),
        ).to.deep.equal([
            'aws.iam.RolePolicy "admin" policy statement "Everything" allows "*"; list the actions it needs',
            'aws.iam.Policy "all-but-iam" policy statement 1 allows every action except "iam:*" (NotAction); list the actions it needs',
            'aws.iam.Role "task" inline policy "s3" statement 1 allows "s3:*"; list the actions it needs',
        ]);
    });

    it("iam-passrole-scoped passes PassRole on a named role and fails PassRole on every role", async () => {
        expect(
            await violations("iam-passrole-scoped", () => {
                new aws.iam.Policy("pass-training-role", {
                    policy: document({
                        Effect: "Allow",
                        Action: "iam:PassRole",
                        Resource: "arn:aws:iam::123456789012:role/airflow-dev-sagemaker",
                        Condition: { StringEquals: { "iam:PassedToService": "sagemaker.amazonaws.com" } },
                    }),
                });
            }),
        ).to.deep.equal([]);
        expect(
            await violations("iam-passrole-scoped", () => {
                new aws.iam.Policy("pass-any", {
                    policy: document(
                        { Sid: "Pass", Effect: "Allow", Action: "iam:PassRole", Resource: "*" },
                        { Effect: "Allow", Action: ["iam:Pass*"], Resource: ["*"] },
                    ),
                });
            }),
        ).to.deep.equal([
            'aws.iam.Policy "pass-any" policy statement "Pass" allows iam:PassRole on "*"; name the roles it passes (and condition iam:PassedToService)',
            'aws.iam.Policy "pass-any" policy statement 2 allows iam:PassRole on "*"; name the roles it passes (and condition iam:PassedToService)',
        ]);
    });
});

describe("policy ecs-secrets-not-in-environment", () => {
    const P = "ecs-secrets-not-in-environment";
    const task = (environment: { name: string; value: string }[]) =>
        new aws.ecs.TaskDefinition("scheduler", {
            family: "airflow-dev-scheduler",
            containerDefinitions: json([
                {
                    name: "scheduler",
                    image: "apache/airflow:3.0.6",
                    environment,
                    secrets: [
                        {
                            name: "AIRFLOW__CORE__FERNET_KEY",
                            valueFrom: "arn:aws:secretsmanager:us-east-1:123456789012:secret:fernet",
                        },
                    ],
                },
            ]),
        });

    it("calls secret exactly the settings the environment renderer keeps out of environment", () => {
        expect([...SECRET_MARKERS].sort()).to.deep.equal([...SECRET_SETTING_MARKERS].sort());
    });

    it("tells secret Airflow settings from their _CMD and _SECRET pointers", () => {
        const cases: [string, boolean][] = [
            ["AIRFLOW__CORE__FERNET_KEY", true],
            ["AIRFLOW__API__SECRET_KEY", true],
            ["AIRFLOW__API_AUTH__JWT_SECRET", true],
            ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", true],
            ["AIRFLOW__CELERY__RESULT_BACKEND", true],
            ["AIRFLOW__CELERY__BROKER_URL", true],
            ["AIRFLOW__CELERY__FLOWER_BASIC_AUTH", true],
            ["AIRFLOW__CORE__FERNET_KEY_CMD", false],
            ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET", false],
            ["AIRFLOW__API_AUTH__JWT_SECRET_SECRET", false],
            ["AIRFLOW__CORE__EXECUTOR", false],
            ["POSTGRES_PASSWORD", false],
        ];
        expect(cases.map(([name]) => [name, isSecretLookingAirflowSetting(name)])).to.deep.equal(cases);
    });

    it("passes plain settings in environment and secrets through valueFrom or _CMD/_SECRET pointers", async () => {
        expect(
            await violations(P, () =>
                task([
                    { name: "AIRFLOW__CORE__EXECUTOR", value: "CeleryExecutor" },
                    { name: "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_SECRET", value: "sql_alchemy_conn" },
                    { name: "AIRFLOW__API_AUTH__JWT_SECRET_CMD", value: "cat /run/jwt" },
                ]),
            ),
        ).to.deep.equal([]);
    });

    it("fails a secret Airflow setting in a container's environment", async () => {
        expect(
            await violations(P, () =>
                task([
                    { name: "AIRFLOW__API_AUTH__JWT_SECRET", value: "not-so-secret" },
                    {
                        name: "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN",
                        value: "postgresql+psycopg2://airflow:pw@db/airflow",
                    },
                ]),
            ),
        ).to.deep.equal([
            'container "scheduler" of aws.ecs.TaskDefinition "scheduler" sets AIRFLOW__API_AUTH__JWT_SECRET in environment, in plain text in the task definition; pass it in secrets (valueFrom a Secrets Manager ARN) instead',
            'container "scheduler" of aws.ecs.TaskDefinition "scheduler" sets AIRFLOW__DATABASE__SQL_ALCHEMY_CONN in environment, in plain text in the task definition; pass it in secrets (valueFrom a Secrets Manager ARN) instead',
        ]);
    });
});

describe("policy log-group-retention", () => {
    it("passes a log group with a retention and fails one that keeps logs forever", async () => {
        expect(
            await violations(
                "log-group-retention",
                () => new aws.cloudwatch.LogGroup("tasks", { retentionInDays: 14 }),
            ),
        ).to.deep.equal([]);
        expect(await violations("log-group-retention", () => new aws.cloudwatch.LogGroup("tasks", {}))).to.deep.equal([
            'aws.cloudwatch.LogGroup "tasks" has retentionInDays unset, which keeps logs forever; set retentionInDays',
        ]);
    });
});

describe("policy alarm-has-action", () => {
    const alarm = (name: string, extra: Partial<aws.cloudwatch.MetricAlarmArgs>) =>
        new aws.cloudwatch.MetricAlarm(name, {
            comparisonOperator: "LessThanThreshold",
            evaluationPeriods: 1,
            threshold: 1,
            namespace: "AmazonMWAA",
            metricName: "SchedulerHeartbeat",
            statistic: "Sum",
            period: 60,
            ...extra,
        });

    it("passes an alarm that notifies a topic", async () => {
        expect(
            await violations("alarm-has-action", () => {
                const topic = new aws.sns.Topic("alarms", {});
                alarm("heartbeat", { alarmActions: [topic.arn] });
            }),
        ).to.deep.equal([]);
    });

    it("fails an alarm without actions and one whose actions are disabled", async () => {
        expect(
            await violations("alarm-has-action", () => {
                const topic = new aws.sns.Topic("alarms", {});
                alarm("silent", {});
                alarm("muted", { alarmActions: [topic.arn], actionsEnabled: false });
            }),
        ).to.have.members([
            'aws.cloudwatch.MetricAlarm "silent" has no alarmActions, so nobody hears when it fires; add the stack\'s alarm topic',
            'aws.cloudwatch.MetricAlarm "muted" has actionsEnabled false, so its actions never run; enable them',
        ]);
    });
});

describe("policy mwaa-private-webserver-in-production", () => {
    const P = "mwaa-private-webserver-in-production";
    const environment = (production: boolean, webserverAccessMode: string) =>
        new aws.mwaa.Environment("airflow", {
            dagS3Path: "dags",
            executionRoleArn: "arn:aws:iam::123456789012:role/mwaa",
            sourceBucketArn: "arn:aws:s3:::airflow-artifacts",
            networkConfiguration: { securityGroupIds: ["sg-1"], subnetIds: ["subnet-1", "subnet-2"] },
            webserverAccessMode,
            tags: { Production: String(production) },
        });

    it("passes a private web server in production and a public one outside production", async () => {
        expect(await violations(P, () => environment(true, "PRIVATE_ONLY"))).to.deep.equal([]);
        expect(await violations(P, () => environment(false, "PUBLIC_ONLY"))).to.deep.equal([]);
    });

    it("fails a public web server on a stack tagged Production=true", async () => {
        expect(await violations(P, () => environment(true, "PUBLIC_ONLY"))).to.deep.equal([
            'aws.mwaa.Environment "airflow" is tagged Production=true and has webserverAccessMode PUBLIC_ONLY; production web servers are PRIVATE_ONLY',
        ]);
    });
});

describe("committed stacks against the policy pack", () => {
    for (const stack of STACKS) {
        it(`the offline plan of ${stack} passes every policy`, async () => {
            const plan = await buildPlan(await runStack(stack));
            expect(plan.policies.count).to.equal(policies.length);
            expect(plan.policies.violations).to.deep.equal([]);
        });
    }
});
