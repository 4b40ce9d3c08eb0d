// Airflow's own secrets (celery layout): generated with @pulumi/random, kept only in Secrets Manager,
// handed on as ARNs.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { resultBackendUri, sqlAlchemyConnUri } from "../../lib/airflow-uris";
import { withName } from "../../lib/tags";
import { AirflowStorageArgs, ResolvedStorageArgs } from "./args";

/** ARNs of the Secrets Manager secrets the Airflow components read (never their values). */
export interface AirflowSecretArns {
    /** AIRFLOW__DATABASE__SQL_ALCHEMY_CONN: postgresql+psycopg2://... */
    sqlAlchemyConn: pulumi.Output<string>;
    /** AIRFLOW__CELERY__RESULT_BACKEND: db+postgresql://... */
    resultBackend: pulumi.Output<string>;
    /** AIRFLOW__CELERY__BROKER_URL: rediss://... or sqs:// */
    brokerUrl: pulumi.Output<string>;
    /** AIRFLOW__CORE__FERNET_KEY */
    fernetKey: pulumi.Output<string>;
    /** AIRFLOW__API__SECRET_KEY (3.x) or AIRFLOW__WEBSERVER__SECRET_KEY (2.x) */
    apiSecretKey: pulumi.Output<string>;
    /** AIRFLOW__API_AUTH__JWT_SECRET (3.x only) */
    jwtSecret?: pulumi.Output<string>;
    /** Password of the "admin" user created by the migration task. */
    adminPassword: pulumi.Output<string>;
    /** AIRFLOW__CELERY__FLOWER_BASIC_AUTH: user:password (when Flower runs) */
    flowerBasicAuth?: pulumi.Output<string>;
}

/** Where a secret's value comes from. */
export type SecretValueSource =
    /** A URI of the metadata database, in the form SQLAlchemy or Celery's result backend expects, over TLS. */
    | { from: "database"; uri: "sqlAlchemyConn" | "resultBackend" }
    /** The broker URL. */
    | { from: "broker" }
    /** A Fernet key: `bytes` random bytes (RandomBytes `<name>-<resource>`), URL-safe base64. */
    | { from: "fernet"; resource: string; bytes: number }
    /** A password (RandomPassword `<name>-<resource>`, letters and digits), as `<user>:<password>` with `user`. */
    | { from: "password"; resource: string; length: number; user?: string };

/** One secret: its field in AirflowSecretArns, its name's last part and resource role, and its value. */
export interface AirflowSecretSpec {
    field: keyof AirflowSecretArns;
    /** The secret is `airflow/<environment>/config/<role>`, the resource `<name>-<role>`. */
    role: string;
    description: string;
    value: SecretValueSource;
}

/**
 * The secrets an Airflow of this major version needs: the database and broker URIs, the Fernet key
 * (32 bytes, as cryptography.fernet.Fernet expects), the API/webserver secret key and the admin
 * password; Airflow 3 adds the JWT signing secret, Flower its basic-auth user:password.
 */
export function airflowSecretSpecs(v: { airflowMajor: 2 | 3; flower: boolean }): AirflowSecretSpec[] {
    const specs: AirflowSecretSpec[] = [
        {
            field: "sqlAlchemyConn",
            role: "sql-alchemy-conn",
            description: "Airflow metadata database URI",
            value: { from: "database", uri: "sqlAlchemyConn" },
        },
        {
            field: "resultBackend",
            role: "result-backend",
            description: "Celery result backend URI",
            value: { from: "database", uri: "resultBackend" },
        },
        { field: "brokerUrl", role: "broker-url", description: "Celery broker URL", value: { from: "broker" } },
        {
            field: "fernetKey",
            role: "fernet-key",
            description: "Airflow Fernet key",
            value: { from: "fernet", resource: "fernet-key", bytes: 32 },
        },
        {
            field: "apiSecretKey",
            role: "api-secret-key",
            description: "Airflow API/webserver secret key",
            value: { from: "password", resource: "api-secret-key", length: 64 },
        },
        {
            field: "adminPassword",
            role: "admin-password",
            description: "Password of the Airflow admin user",
            value: { from: "password", resource: "admin-password", length: 24 },
        },
    ];
    if (v.airflowMajor === 3) {
        specs.push({
            field: "jwtSecret",
            role: "jwt-secret",
            description: "Airflow API JWT signing secret",
            value: { from: "password", resource: "jwt-secret", length: 64 },
        });
    }
    if (v.flower) {
        specs.push({
            field: "flowerBasicAuth",
            role: "flower-basic-auth",
            description: "Flower basic auth (user:password)",
            value: { from: "password", resource: "flower-password", length: 24, user: "admin" },
        });
    }
    return specs;
}

/** The name of one of Airflow's own secrets in Secrets Manager. */
export function airflowSecretName(environment: string, role: string): string {
    return `airflow/${environment}/config/${role}`;
}

/** URL-safe base64 (RFC 4648 section 5) from standard base64, as Fernet keys are written. */
export function urlSafeBase64(base64: string): string {
    return base64.replace(/\+/g, "-").replace(/\//g, "_");
}

/** What the secrets are made of that other resources produce. */
export interface SecretInputs {
    /** `<user>:<password>@<host>:<port>/<database>` of the metadata database. */
    dbCredentials: pulumi.Output<string>;
    brokerUrl: pulumi.Output<string>;
}

/** Generates each secret's value, stores it in Secrets Manager (marked secret), and returns the ARNs. */
export function createAirflowSecrets(
    name: string,
    resolved: ResolvedStorageArgs,
    inputs: SecretInputs,
    tags: AirflowStorageArgs["tags"],
    parent: pulumi.Resource,
): AirflowSecretArns {
    const valueOf = (source: SecretValueSource): pulumi.Output<string> => {
        switch (source.from) {
            case "database":
                return inputs.dbCredentials.apply((c) =>
                    source.uri === "sqlAlchemyConn" ? sqlAlchemyConnUri(c, true) : resultBackendUri(c, true),
                );
            case "broker":
                return inputs.brokerUrl;
            case "fernet":
                return new random.RandomBytes(
                    `${name}-${source.resource}`,
                    { length: source.bytes },
                    { parent },
                ).base64.apply(urlSafeBase64);
            case "password": {
                const password = new random.RandomPassword(
                    `${name}-${source.resource}`,
                    { length: source.length, special: false },
                    { parent },
                ).result;
                return source.user ? pulumi.interpolate`${source.user}:${password}` : password;
            }
        }
    };
    const arns: Partial<AirflowSecretArns> = {};
    for (const spec of airflowSecretSpecs(resolved)) {
        const secret = new aws.secretsmanager.Secret(
            `${name}-${spec.role}`,
            {
                name: airflowSecretName(resolved.environment, spec.role),
                description: `${spec.description} (${resolved.environment})`,
                recoveryWindowInDays: resolved.secretRecoveryWindowDays,
                tags: withName(tags, `${name}-${spec.role}`),
            },
            { parent },
        );
        new aws.secretsmanager.SecretVersion(
            `${name}-${spec.role}-value`,
            { secretId: secret.id, secretString: pulumi.secret(valueOf(spec.value)) },
            { parent },
        );
        arns[spec.field] = secret.arn;
    }
    return arns as AirflowSecretArns;
}
