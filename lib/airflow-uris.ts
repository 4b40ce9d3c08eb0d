// The URI formats of Airflow's connection secrets: one place for the deployed stack (components/
// storage.ts, over TLS) and the local runner (scripts/local, on loopback without TLS).

/** `<user>:<password>@<host>:<port>/<database>` of the metadata database. */
export type DbCredentials = string;

/** AIRFLOW__DATABASE__SQL_ALCHEMY_CONN. With `tls`, libpq refuses an unencrypted connection. */
export function sqlAlchemyConnUri(credentials: DbCredentials, tls: boolean): string {
    return `postgresql+psycopg2://${credentials}${tls ? "?sslmode=require" : ""}`;
}

/** AIRFLOW__CELERY__RESULT_BACKEND: Celery's results in the metadata database. */
export function resultBackendUri(credentials: DbCredentials, tls: boolean): string {
    return `db+postgresql://${credentials}${tls ? "?sslmode=require" : ""}`;
}

/** AIRFLOW__CELERY__BROKER_URL of a Redis (Valkey) broker with AUTH; `rediss://` with a verified certificate over TLS. */
export function redisBrokerUri(broker: { password: string; host: string; port: number; tls: boolean }): string {
    return broker.tls
        ? `rediss://:${broker.password}@${broker.host}:${broker.port}/0?ssl_cert_reqs=required`
        : `redis://:${broker.password}@${broker.host}:${broker.port}/0`;
}

/** AIRFLOW__CELERY__BROKER_URL of the SQS broker: queues and region come from the Celery options. */
export const SQS_BROKER_URI = "sqs://";
