// The project's policies: one set of rule functions, run by two runners.
//  - The Pulumi CLI: `pulumi preview --policy-pack policy` loads policy/index.ts, which serves them.
//  - The offline plan: policy/offline.ts runs them over the resources the mock runtime captured.
// Every policy is mandatory. Rules match resources by type token (see TYPES), never by class, and read
// only the inputs named in their messages.
import type { PolicyResource, ReportViolation, ResourceValidationArgs } from "@pulumi/policy";
import { isTrue, Policy, resourcePolicy, shown, stackPolicy } from "./define";
import { productionPolicies } from "./production";
import {
    actionMatches,
    asList,
    attachedToBucket,
    BUCKET_TYPES,
    cidrInside,
    dependenciesOf,
    describe,
    ingresses,
    isAnywhere,
    portText,
    Statement,
    statementLabel,
    statementsOf,
    TYPES,
    vpcCidrs,
} from "./resources";

export const POLICY_PACK_NAME = "airflow-aws";

function ofTypes(resources: readonly PolicyResource[], ...types: string[]): PolicyResource[] {
    return resources.filter((r) => types.includes(r.type));
}

// ---- No data store reachable from outside the VPC ----------------------------------------------------

/** Security groups of the data tiers: named so by the network, or attached to a data store. */
function dataTierGroups(resources: readonly PolicyResource[]): Map<string, string> {
    const tiers = new Map<string, string>();
    const bySuffix: [string, string][] = [
        ["-database-sg", "database"],
        ["-broker-sg", "broker"],
        ["-filesystem-sg", "file system"],
    ];
    for (const group of ofTypes(resources, TYPES.securityGroup)) {
        const tier = bySuffix.find(([suffix]) => group.name.endsWith(suffix));
        if (tier) tiers.set(group.urn, tier[1]);
    }
    const attachments: [string, string, string][] = [
        [TYPES.rdsInstance, "vpcSecurityGroupIds", "database"],
        [TYPES.rdsCluster, "vpcSecurityGroupIds", "database"],
        [TYPES.cacheReplicationGroup, "securityGroupIds", "cache"],
        [TYPES.cacheCluster, "securityGroupIds", "cache"],
        [TYPES.cacheServerless, "securityGroupIds", "cache"],
        [TYPES.efsMountTarget, "securityGroups", "file system"],
    ];
    for (const [type, property, tier] of attachments) {
        for (const store of ofTypes(resources, type)) {
            for (const group of dependenciesOf(store, property)) {
                if (group.type === TYPES.securityGroup && !tiers.has(group.urn)) tiers.set(group.urn, tier);
            }
        }
    }
    return tiers;
}

const dataStoresPrivate = stackPolicy(
    "data-stores-private",
    "No database, cache or file system is reachable from outside the VPC: RDS is not publicly accessible, and no ingress to the database, broker/cache or file-system security groups comes from a CIDR block outside the VPC.",
    ({ resources }, report) => {
        for (const db of ofTypes(resources, TYPES.rdsInstance, TYPES.rdsClusterInstance)) {
            if (isTrue(db.props.publiclyAccessible)) {
                report(
                    `${describe(db)} has publiclyAccessible: true; databases are reachable from inside the VPC only`,
                    db.urn,
                );
            }
        }
        const tiers = dataTierGroups(resources);
        const cidrs = vpcCidrs(resources);
        for (const ingress of ingresses(resources)) {
            const tier = ingress.group && tiers.get(ingress.group.urn);
            if (!ingress.group || !tier) continue;
            for (const cidr of ingress.cidrs) {
                if (cidrInside(cidr, cidrs)) continue;
                report(
                    `${describe(ingress.declaredBy)} lets ${cidr} reach the ${tier} security group "${ingress.group.name}" on ${portText(ingress)}, ` +
                        `but ${cidr} is outside the VPC (${cidrs.join(", ") || "no VPC CIDR known"}); data stores accept traffic from inside the VPC only`,
                    ingress.declaredBy.urn,
                );
            }
        }
    },
);

// ---- Encryption at rest (and in transit for the cache) ----------------------------------------------

const rdsEncryption = resourcePolicy(
    "rds-encryption-at-rest",
    "RDS instances and clusters encrypt their storage (storageEncrypted: true).",
    [TYPES.rdsInstance, TYPES.rdsCluster],
    (args, report) => {
        // A read replica inherits the encryption of its source, which this policy checks.
        if (args.type === TYPES.rdsInstance && args.props.replicateSourceDb) return;
        if (!isTrue(args.props.storageEncrypted)) {
            report(
                `${describe(args)} has storageEncrypted ${shown(args.props.storageEncrypted)}; set storageEncrypted: true`,
            );
        }
    },
);

const cacheEncryption = resourcePolicy(
    "elasticache-encryption",
    "ElastiCache encrypts at rest and in transit: replication groups set atRestEncryptionEnabled and transitEncryptionEnabled; Redis/Valkey never runs as a standalone cluster, which cannot encrypt at rest.",
    [TYPES.cacheReplicationGroup, TYPES.cacheCluster],
    (args, report) => {
        const p = args.props;
        if (args.type === TYPES.cacheReplicationGroup) {
            for (const key of ["atRestEncryptionEnabled", "transitEncryptionEnabled"]) {
                if (!isTrue(p[key])) report(`${describe(args)} has ${key} ${shown(p[key])}; set ${key}: true`);
            }
            return;
        }
        if (p.replicationGroupId) return; // a member of a replication group, which carries the settings
        const engine = String(p.engine ?? "");
        if (engine === "memcached") {
            if (!isTrue(p.transitEncryptionEnabled)) {
                report(
                    `${describe(args)} has transitEncryptionEnabled ${shown(p.transitEncryptionEnabled)}; set transitEncryptionEnabled: true`,
                );
            }
        } else {
            report(
                `${describe(args)} runs ${engine || "its engine"} as a standalone cluster, which cannot encrypt at rest; ` +
                    `use an aws.elasticache.ReplicationGroup with atRestEncryptionEnabled and transitEncryptionEnabled`,
            );
        }
    },
);

const efsEncryption = resourcePolicy(
    "efs-encryption-at-rest",
    "EFS file systems are encrypted (encrypted: true).",
    [TYPES.efsFileSystem],
    (args, report) => {
        if (!isTrue(args.props.encrypted)) {
            report(`${describe(args)} has encrypted ${shown(args.props.encrypted)}; set encrypted: true`);
        }
    },
);

const sqsEncryption = resourcePolicy(
    "sqs-encryption-at-rest",
    "SQS queues say how they are encrypted: sqsManagedSseEnabled: true or a kmsMasterKeyId (the account default is not relied on).",
    [TYPES.sqsQueue],
    (args, report) => {
        const p = args.props;
        if (isTrue(p.sqsManagedSseEnabled) || (typeof p.kmsMasterKeyId === "string" && p.kmsMasterKeyId !== "")) {
            return;
        }
        report(
            `${describe(args)} has sqsManagedSseEnabled ${shown(p.sqsManagedSseEnabled)} and no kmsMasterKeyId; ` +
                `set sqsManagedSseEnabled: true or a kmsMasterKeyId`,
        );
    },
);

/** A KMS key ARN, alias ARN, alias name, key id or multi-Region key id. */
const KMS_KEY_REFERENCE =
    /^(arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(key|alias)\/.+|alias\/.+|[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}|mrk-[0-9a-f]{32})$/;

const secretsKmsKey = stackPolicy(
    "secrets-manager-kms-key",
    "Secrets Manager always encrypts secrets with KMS (its default key unless one is given); a given kmsKeyId, for the secret or a replica, must name a KMS key.",
    ({ resources }, report) => {
        const isKms = (r: PolicyResource) => r.type === TYPES.kmsKey || r.type === TYPES.kmsAlias;
        const check = (secret: PolicyResource, path: string, value: unknown) => {
            if (value === undefined || value === null || value === "") return; // the default key
            if (typeof value === "string" && KMS_KEY_REFERENCE.test(value)) return;
            report(
                `${describe(secret)} has ${path} ${shown(value)}, which is not a KMS key ARN, key id or alias; ` +
                    `leave it unset for the default key or name a KMS key`,
                secret.urn,
            );
        };
        for (const secret of ofTypes(resources, TYPES.secret)) {
            // A key or alias of this stack is fine, and is known to be one during a preview, when its ARN
            // is not: so the dependency is looked at before the value.
            if (!dependenciesOf(secret, "kmsKeyId").some(isKms)) check(secret, "kmsKeyId", secret.props.kmsKeyId);
            if (!dependenciesOf(secret, "replicas").some(isKms)) {
                asList<Record<string, unknown>>(secret.props.replicas as never).forEach((replica, i) =>
                    check(secret, `replicas[${i}].kmsKeyId`, replica.kmsKeyId),
                );
            }
        }
    },
);

// ---- S3 ---------------------------------------------------------------------------------------------

const SSE_ALGORITHMS = ["AES256", "aws:kms", "aws:kms:dsse"];

interface EncryptionRule {
    applyServerSideEncryptionByDefault?: { sseAlgorithm?: unknown };
}

function sseAlgorithms(rules: unknown): string[] {
    return asList<EncryptionRule>(rules as never)
        .map((rule) => rule?.applyServerSideEncryptionByDefault?.sseAlgorithm)
        .filter((a): a is string => typeof a === "string");
}

const s3Encryption = stackPolicy(
    "s3-encryption-at-rest",
    "Every S3 bucket has a default server-side encryption configuration (AES256 or aws:kms).",
    ({ resources }, report) => {
        for (const bucket of ofTypes(resources, ...BUCKET_TYPES)) {
            const inline = sseAlgorithms(bucket.props.serverSideEncryptionConfiguration?.rule);
            const configs = attachedToBucket(bucket, resources, [TYPES.s3Encryption, TYPES.s3EncryptionV2]);
            const algorithms = [...inline, ...configs.flatMap((c) => sseAlgorithms(c.props.rules))];
            if (algorithms.some((a) => SSE_ALGORITHMS.includes(a))) continue;
            report(
                configs.length === 0 && inline.length === 0
                    ? `${describe(bucket)} has no server-side encryption configuration; add an aws.s3.BucketServerSideEncryptionConfiguration with sseAlgorithm AES256 or aws:kms`
                    : `${describe(bucket)} is encrypted with ${algorithms.join(", ") || "no algorithm"}; use sseAlgorithm AES256 or aws:kms`,
                bucket.urn,
            );
        }
    },
);

const PUBLIC_ACCESS_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"];

const s3PublicAccessBlock = stackPolicy(
    "s3-public-access-block",
    "Every S3 bucket has a public access block with all four flags on.",
    ({ resources }, report) => {
        for (const bucket of ofTypes(resources, ...BUCKET_TYPES)) {
            const blocks = attachedToBucket(bucket, resources, [TYPES.s3PublicAccessBlock]);
            if (blocks.length === 0) {
                report(
                    `${describe(bucket)} has no aws.s3.BucketPublicAccessBlock; add one with ${PUBLIC_ACCESS_FLAGS.join(", ")} all true`,
                    bucket.urn,
                );
                continue;
            }
            for (const block of blocks) {
                const off = PUBLIC_ACCESS_FLAGS.filter((flag) => !isTrue(block.props[flag]));
                if (off.length > 0) {
                    report(
                        `${describe(block)} of bucket "${bucket.name}" leaves ${off.join(", ")} off; set all four flags to true`,
                        block.urn,
                    );
                }
            }
        }
    },
);

/** Whether a statement denies every S3 action on the bucket and its objects to anyone not using TLS. */
function deniesInsecureTransport(s: Statement): boolean {
    if (s.Effect !== "Deny") return false;
    const principal = s.Principal;
    const anyone =
        principal === "*" ||
        (typeof principal === "object" && principal !== null && asList(principal.AWS).includes("*"));
    const actions = asList(s.Action);
    const everyAction = actions.some((a) => a === "*" || a.toLowerCase() === "s3:*");
    const resources = asList(s.Resource);
    const bucketAndObjects = resources.some((r) => r.endsWith("/*")) && resources.some((r) => !r.endsWith("/*"));
    const condition = s.Condition ?? {};
    const insecure = ["Bool", "BoolIfExists"].some((op) => {
        const value = condition[op]?.["aws:SecureTransport"];
        return asList(value as never).some((v) => v === false || v === "false");
    });
    return anyone && everyAction && bucketAndObjects && insecure;
}

const s3TlsOnly = stackPolicy(
    "s3-tls-only",
    'Every S3 bucket has a bucket policy that denies s3:* on the bucket and its objects to any principal when aws:SecureTransport is "false".',
    ({ resources }, report) => {
        for (const bucket of ofTypes(resources, ...BUCKET_TYPES)) {
            const policies = attachedToBucket(bucket, resources, [TYPES.s3BucketPolicy]);
            const tlsOnly = policies.some((p) => {
                try {
                    return statementsOf(p.props.policy).some(deniesInsecureTransport);
                } catch (err) {
                    if (err instanceof SyntaxError) return false;
                    throw err;
                }
            });
            if (tlsOnly) continue;
            report(
                policies.length === 0
                    ? `${describe(bucket)} has no aws.s3.BucketPolicy; add one that denies s3:* on the bucket and its objects when aws:SecureTransport is "false"`
                    : `${describe(policies[0])} of bucket "${bucket.name}" does not deny s3:* on the bucket and its objects when aws:SecureTransport is "false"`,
                bucket.urn,
            );
        }
    },
);

// ---- Security groups --------------------------------------------------------------------------------

const OPEN_PORTS = [80, 443];

const internetIngress = stackPolicy(
    "security-group-internet-ingress",
    "No security group accepts traffic from 0.0.0.0/0 or ::/0, except ports 80 and 443 of the load balancer group (<name>-lb-sg).",
    ({ resources }, report) => {
        for (const ingress of ingresses(resources)) {
            for (const cidr of ingress.cidrs.filter(isAnywhere)) {
                const lb = !!ingress.group && ingress.group.name.endsWith("-lb-sg");
                const listener =
                    ["tcp", "6"].includes(ingress.protocol) &&
                    ingress.fromPort === ingress.toPort &&
                    OPEN_PORTS.includes(ingress.fromPort ?? -1);
                if (lb && listener) continue;
                const group = ingress.group ? `security group "${ingress.group.name}"` : "a security group";
                report(
                    `${describe(ingress.declaredBy)} opens ${portText(ingress)} of ${group} to ${cidr}; ` +
                        `only ports 80 and 443 of the load balancer group (<name>-lb-sg) may accept traffic from anywhere`,
                    ingress.declaredBy.urn,
                );
            }
        }
    },
);

// ---- IAM --------------------------------------------------------------------------------------------

const IAM_POLICY_TYPES = [
    TYPES.iamRole,
    TYPES.iamRolePolicy,
    TYPES.iamPolicy,
    TYPES.iamUserPolicy,
    TYPES.iamGroupPolicy,
];

/** The permission documents of an IAM resource: a role's inline policies, or the policy itself. */
function documentsOf(args: ResourceValidationArgs): { label: string; document: unknown }[] {
    if (args.type === TYPES.iamRole) {
        return asList<Record<string, unknown>>(args.props.inlinePolicies as never)
            .filter((p) => p.policy !== undefined && p.policy !== "")
            .map((p) => ({ label: `inline policy "${p.name ?? "unnamed"}"`, document: p.policy }));
    }
    return [{ label: "policy", document: args.props.policy }];
}

/** Every Allow statement of the resource's documents; a document that is not JSON is reported. */
function allowStatements(
    args: ResourceValidationArgs,
    report: ReportViolation,
): { where: string; statement: Statement }[] {
    const out: { where: string; statement: Statement }[] = [];
    for (const { label, document } of documentsOf(args)) {
        let statements: Statement[];
        try {
            statements = statementsOf(document);
        } catch (err) {
            if (!(err instanceof SyntaxError)) throw err;
            report(`${describe(args)} ${label} is not valid JSON`);
            continue;
        }
        statements.forEach((statement, i) => {
            if (statement.Effect === "Allow") {
                out.push({ where: `${describe(args)} ${label} ${statementLabel(statement, i)}`, statement });
            }
        });
    }
    return out;
}

function isWildcardAction(action: string): boolean {
    return action === "*" || /^[^:]+:\*$/.test(action);
}

const iamNoWildcardActions = resourcePolicy(
    "iam-no-wildcard-actions",
    'No IAM policy allows "*" or "<service>:*" actions (or every action but some, with NotAction); statements list the actions they need.',
    IAM_POLICY_TYPES,
    (args, report) => {
        for (const { where, statement } of allowStatements(args, report)) {
            for (const action of asList(statement.Action).filter(isWildcardAction)) {
                report(`${where} allows "${action}"; list the actions it needs`);
            }
            if (statement.NotAction !== undefined) {
                report(
                    `${where} allows every action except ${JSON.stringify(statement.NotAction)} (NotAction); list the actions it needs`,
                );
            }
        }
    },
);

const iamPassRoleScoped = resourcePolicy(
    "iam-passrole-scoped",
    'No IAM policy allows iam:PassRole on "*": it names the roles it passes.',
    IAM_POLICY_TYPES,
    (args, report) => {
        for (const { where, statement } of allowStatements(args, report)) {
            const passes = asList(statement.Action).some((a) => actionMatches(a, "iam:PassRole"));
            if (!passes) continue;
            if (asList(statement.Resource).includes("*") || statement.NotResource !== undefined) {
                report(
                    `${where} allows iam:PassRole on "*"; name the roles it passes (and condition iam:PassedToService)`,
                );
            }
        }
    },
);

// ---- ECS --------------------------------------------------------------------------------------------

/** Parts of Airflow setting names that hold credentials or keys. */
export const SECRET_MARKERS = [
    "FERNET_KEY",
    "SECRET_KEY",
    "JWT_SECRET",
    "PASSWORD",
    "SQL_ALCHEMY_CONN",
    "RESULT_BACKEND",
    "BROKER_URL",
    "BASIC_AUTH",
    "TOKEN",
];

/**
 * Whether an environment variable name is an Airflow setting whose value is a secret. The `_CMD` and
 * `_SECRET` variants of such a setting (e.g. AIRFLOW__CORE__FERNET_KEY_CMD) only name a command or a
 * secrets-backend key and are fine; AIRFLOW__API_AUTH__JWT_SECRET itself is the secret.
 */
export function isSecretLookingAirflowSetting(name: string): boolean {
    const upper = name.toUpperCase();
    if (!upper.startsWith("AIRFLOW__")) return false;
    const pointer = /^(.*)_(CMD|SECRET)$/.exec(upper);
    if (pointer && SECRET_MARKERS.some((m) => pointer[1].includes(m))) return false;
    return SECRET_MARKERS.some((m) => upper.includes(m));
}

const ecsSecretsNotInEnvironment = resourcePolicy(
    "ecs-secrets-not-in-environment",
    "No ECS container sets a secret-looking Airflow setting (AIRFLOW__* with FERNET_KEY, SECRET_KEY, JWT_SECRET, PASSWORD, SQL_ALCHEMY_CONN, RESULT_BACKEND, BROKER_URL, BASIC_AUTH or TOKEN) in its environment; those come through secrets (valueFrom).",
    [TYPES.ecsTaskDefinition],
    (args, report) => {
        const raw = args.props.containerDefinitions;
        let containers: { name?: string; environment?: { name?: string }[] }[];
        try {
            containers = asList(typeof raw === "string" ? JSON.parse(raw) : raw);
        } catch (err) {
            if (!(err instanceof SyntaxError)) throw err;
            report(`${describe(args)} containerDefinitions is not valid JSON`);
            return;
        }
        for (const container of containers) {
            for (const variable of asList(container?.environment)) {
                const name = variable?.name ?? "";
                if (!isSecretLookingAirflowSetting(name)) continue;
                report(
                    `container "${container.name ?? "unnamed"}" of ${describe(args)} sets ${name} in environment, in plain text in the task definition; ` +
                        `pass it in secrets (valueFrom a Secrets Manager ARN) instead`,
                );
            }
        }
    },
);

// ---- Logs -------------------------------------------------------------------------------------------

const logRetention = resourcePolicy(
    "log-group-retention",
    "Every CloudWatch log group has a retention (retentionInDays), so logs do not pile up forever.",
    [TYPES.logGroup],
    (args, report) => {
        const days = args.props.retentionInDays;
        if (typeof days === "number" && days > 0) return;
        report(`${describe(args)} has retentionInDays ${shown(days)}, which keeps logs forever; set retentionInDays`);
    },
);

// ---- Alarms -----------------------------------------------------------------------------------------

const alarmHasAction = resourcePolicy(
    "alarm-has-action",
    "Every CloudWatch alarm notifies someone: it has at least one alarm action and its actions are enabled.",
    [TYPES.metricAlarm, TYPES.compositeAlarm],
    (args, report) => {
        const actions = asList(args.props.alarmActions).filter((a) => a !== undefined && a !== null && a !== "");
        if (actions.length === 0) {
            report(`${describe(args)} has no alarmActions, so nobody hears when it fires; add the stack's alarm topic`);
        }
        if (args.props.actionsEnabled === false || args.props.actionsEnabled === "false") {
            report(`${describe(args)} has actionsEnabled false, so its actions never run; enable them`);
        }
    },
);

// ---- MWAA -------------------------------------------------------------------------------------------

const mwaaPrivateInProduction = resourcePolicy(
    "mwaa-private-webserver-in-production",
    'An MWAA environment tagged Production = "true" does not have webserverAccessMode PUBLIC_ONLY.',
    [TYPES.mwaaEnvironment],
    (args, report) => {
        const production = args.props.tags?.Production === "true";
        if (production && args.props.webserverAccessMode === "PUBLIC_ONLY") {
            report(
                `${describe(args)} is tagged Production=true and has webserverAccessMode PUBLIC_ONLY; production web servers are PRIVATE_ONLY`,
            );
        }
    },
);

/** Every policy of the pack, in the order the plan reports them. */
export const policies: Policy[] = [
    dataStoresPrivate,
    rdsEncryption,
    cacheEncryption,
    efsEncryption,
    sqsEncryption,
    secretsKmsKey,
    s3Encryption,
    s3PublicAccessBlock,
    s3TlsOnly,
    internetIngress,
    iamNoWildcardActions,
    iamPassRoleScoped,
    ecsSecretsNotInEnvironment,
    logRetention,
    alarmHasAction,
    mwaaPrivateInProduction,
    // What production: true implies, HTTPS and access logs (policy/production.ts).
    ...productionPolicies,
];
