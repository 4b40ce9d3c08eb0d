import * as aws from "@pulumi/aws";

/**
 * A container environment with the official image entrypoint's connection checks off
 * (CONNECTION_CHECK_MAX_COUNT=0), put in its place in a list sorted by name. Otherwise the entrypoint runs `airflow db check`,
 * with retries, before every command (`python` and `bash` ones too), and before `scheduler` and
 * `celery ...` also two `airflow config get-value` and a wait for the broker: seconds of Airflow's
 * imports per process at every task start (https://airflow.apache.org/docs/docker-stack/entrypoint.html).
 * Every container of the Airflow image has them off but the migration and wait-for-migrations, which
 * are what waits for a database that is not up yet: a main container starts only once its
 * wait-for-migrations has reached the database (Flower never opens it), and the sidecars and one-off
 * containers (prepare-dags, rds-ca) never open it.
 */
export function withoutEntrypointChecks(environment: aws.ecs.KeyValuePair[]): aws.ecs.KeyValuePair[] {
    const rest = environment.filter((e) => e.name !== CHECKS);
    const at = rest.findIndex((e) => e.name! > CHECKS);
    const i = at < 0 ? rest.length : at;
    return [...rest.slice(0, i), { name: CHECKS, value: "0" }, ...rest.slice(i)];
}

const CHECKS = "CONNECTION_CHECK_MAX_COUNT";
