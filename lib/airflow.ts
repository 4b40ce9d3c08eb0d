import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { withName } from "./tags";

/**
 * Airflow's Secrets Manager backend, configured the same on both layouts, so that connections and
 * variables live in the same place whether a DAG runs on the Celery cluster or on MWAA.
 */
export const SECRETS_BACKEND = "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend";

/** Secrets Manager name prefixes of an environment's connections, variables and Airflow config. */
export function secretPrefixes(environment: string): { connections: string; variables: string; config: string } {
    return {
        connections: `airflow/${environment}/connections`,
        variables: `airflow/${environment}/variables`,
        config: `airflow/${environment}/config`,
    };
}

/** The backend's kwargs as the JSON string `[secrets] backend_kwargs` takes. */
export function secretsBackendKwargs(environment: string): string {
    const p = secretPrefixes(environment);
    return JSON.stringify({ connections_prefix: p.connections, variables_prefix: p.variables });
}

/**
 * Airflow options the program sets the same way on both layouts, as `section.key` (the form MWAA
 * takes; the Celery layout's environment function turns them into AIRFLOW__SECTION__KEY): connections
 * and variables from Secrets Manager, and deferrable operators, so that long waits (SageMaker jobs,
 * Fargate tasks) sit in the triggerer instead of holding a worker slot for hours.
 */
export function sharedAirflowOptions(environment: string): Readonly<Record<string, string>> {
    return {
        "secrets.backend": SECRETS_BACKEND,
        "secrets.backend_kwargs": secretsBackendKwargs(environment),
        "operators.default_deferrable": "True",
    };
}

/** The option names of {@link sharedAirflowOptions}: no stack may override them on one layout alone. */
export const SHARED_AIRFLOW_OPTION_NAMES = Object.keys(sharedAirflowOptions("x"));

export interface AirflowVariableArgs {
    environment: string;
    /** Days a deleted variable can be restored: 0, or 7 to 30. */
    secretRecoveryWindowDays: number;
    description: string;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * Publishes an Airflow Variable through the Secrets Manager backend: the secret
 * `airflow/<environment>/variables/<key>` holding `value` as JSON, which DAGs read with
 * `Variable.get(key, deserialize_json=True)`. Creates `${resourceName}` and `${resourceName}-value`
 * as children of `parent`. Returns the secret's ARN.
 */
export function publishVariable(
    resourceName: string,
    key: string,
    value: pulumi.Input<unknown>,
    args: AirflowVariableArgs,
    parent: pulumi.Resource,
): { arn: pulumi.Output<string>; secretName: string } {
    const secretName = `${secretPrefixes(args.environment).variables}/${key}`;
    const secret = new aws.secretsmanager.Secret(
        resourceName,
        {
            name: secretName,
            description: args.description,
            recoveryWindowInDays: args.secretRecoveryWindowDays,
            tags: withName(args.tags, resourceName),
        },
        { parent },
    );
    new aws.secretsmanager.SecretVersion(
        `${resourceName}-value`,
        { secretId: secret.id, secretString: pulumi.jsonStringify(value) },
        { parent },
    );
    return { arn: secret.arn, secretName };
}
