// The URI formats of Airflow's connection secrets: one place for the deployed stack (components/
// storage/secrets.ts, over verified TLS) and the local runner (scripts/local, on loopback without TLS).

/** `<user>:<password>@<host>:<port>/<database>` of the metadata database. */
export type DbCredentials = string;

/**
 * The CA that signs the metadata database's server certificate (the instance's caCertIdentifier).
 * Its root's common name is "Amazon RDS <region> Root CA RSA2048 G1" (RDS User Guide, "Using SSL/TLS to
 * encrypt a connection to a DB instance or cluster", Certificate authorities:
 * https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html).
 */
export const RDS_CA_IDENTIFIER = "rds-ca-rsa2048-g1";

/** The common name of the root CA of {@link RDS_CA_IDENTIFIER} in a region. */
export function rdsRootCaCommonName(region: string): string {
    return `Amazon RDS ${region} Root CA RSA2048 G1`;
}

/**
 * The region's RDS certificate bundle, as the same page ("Certificate bundles by AWS Region") publishes
 * it for the commercial partition.
 */
export function rdsCaBundleUrl(region: string): string {
    return `https://truststore.pki.rds.amazonaws.com/${region}/${region}-bundle.pem`;
}

/** The bundle with every region's RDS CAs, which images/airflow/Dockerfile bakes in (same page). */
export const RDS_GLOBAL_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";

/** Where images/airflow/Dockerfile puts the global bundle; a user's image may put it there too. */
export const RDS_CA_BAKED_PATH = "/opt/airflow/rds-ca-global-bundle.pem";

/** The directory (a task volume) every Airflow container reads the region's RDS CA bundle from. */
export const RDS_CA_DIR = "/opt/airflow/rds-ca";

/** The region's RDS CA bundle inside every Airflow container of the Celery layout. */
export const RDS_CA_BUNDLE_PATH = `${RDS_CA_DIR}/rds-ca-bundle.pem`;

/**
 * libpq's parameters that make it verify the server: the certificate must chain to the RDS CA bundle
 * and name the host connected to (sslmode=verify-full). `require` only encrypts, and accepts any
 * certificate, so a host that answers for the endpoint reads every password and row.
 * https://www.postgresql.org/docs/16/libpq-ssl.html (SSL Mode Descriptions)
 */
export const POSTGRES_VERIFY_FULL = `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`;

/** AIRFLOW__DATABASE__SQL_ALCHEMY_CONN. With `tls`, libpq verifies the server's certificate and name. */
export function sqlAlchemyConnUri(credentials: DbCredentials, tls: boolean): string {
    return `postgresql+psycopg2://${credentials}${tls ? `?${POSTGRES_VERIFY_FULL}` : ""}`;
}

/** AIRFLOW__CELERY__RESULT_BACKEND: Celery's results in the metadata database, verified as above. */
export function resultBackendUri(credentials: DbCredentials, tls: boolean): string {
    return `db+postgresql://${credentials}${tls ? `?${POSTGRES_VERIFY_FULL}` : ""}`;
}

/**
 * AIRFLOW__CELERY__BROKER_URL of a Redis (Valkey) broker with AUTH. Over TLS: `rediss://` with
 * ssl_cert_reqs=required, which kombu turns into ssl.CERT_REQUIRED (kombu.utils.url.parse_url), and
 * redis-py then also checks the host name (its ssl_check_hostname defaults to True from redis-py 6).
 * ElastiCache's in-transit certificates chain to Amazon's public CAs, which the image's system store holds.
 */
export function redisBrokerUri(broker: { password: string; host: string; port: number; tls: boolean }): string {
    return broker.tls
        ? `rediss://:${broker.password}@${broker.host}:${broker.port}/0?ssl_cert_reqs=required`
        : `redis://:${broker.password}@${broker.host}:${broker.port}/0`;
}

/** AIRFLOW__CELERY__BROKER_URL of the SQS broker: queues and region come from the Celery options. */
export const SQS_BROKER_URI = "sqs://";

/**
 * Why a deployed connection URI does not verify its server, or undefined when it does. The test of
 * every stack's secrets (tests/tls.test.ts) applies it to each database and broker URI.
 */
export function unverifiedTlsReason(uri: string): string | undefined {
    const scheme = uri.slice(0, uri.indexOf("://"));
    const query = new URLSearchParams(uri.includes("?") ? uri.slice(uri.indexOf("?") + 1) : "");
    if (/postgres/.test(scheme)) {
        if (query.get("sslmode") !== "verify-full")
            return `sslmode is ${query.get("sslmode") ?? "unset"}, not verify-full`;
        if (query.get("sslrootcert") !== RDS_CA_BUNDLE_PATH)
            return `sslrootcert is ${query.get("sslrootcert") ?? "unset"}, not ${RDS_CA_BUNDLE_PATH}`;
        return undefined;
    }
    if (scheme === "redis") return "redis:// is not TLS (rediss:// is)";
    if (scheme === "rediss") {
        const reqs = query.get("ssl_cert_reqs");
        return reqs === "required" || reqs === "CERT_REQUIRED"
            ? undefined
            : `ssl_cert_reqs is ${reqs ?? "unset"}, not required`;
    }
    if (scheme === "sqs") return undefined; // boto3 verifies the SQS endpoint's certificate by default
    return `unknown scheme ${scheme}`;
}
