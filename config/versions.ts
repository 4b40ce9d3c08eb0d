/**
 * Apache Airflow versions this project deploys.
 *
 * One list for every layout: prod runs Amazon MWAA, and staging must mirror prod, so a version is
 * only accepted if MWAA can run it too. Source: the "Apache Airflow versions on Amazon MWAA" page of
 * the MWAA User Guide (https://docs.aws.amazon.com/mwaa/latest/userguide/airflow-versions.html) and
 * the images published in aws/amazon-mwaa-docker-images. Versions MWAA no longer lets you create
 * (1.10.x - 2.8.x) are left out. Update this list, and nothing else, when MWAA adds a version.
 */
export const SUPPORTED_AIRFLOW_VERSIONS = ["2.9.2", "2.10.1", "2.10.3", "2.11.0", "3.0.6"] as const;

export type AirflowVersion = (typeof SUPPORTED_AIRFLOW_VERSIONS)[number];

/** The version new stacks get. Every committed stack file pins it explicitly as well. */
export const DEFAULT_AIRFLOW_VERSION: AirflowVersion = "3.0.6";

/** The major version decides the component set (Airflow 3: api-server + dag-processor). */
export function airflowMajor(version: string): 2 | 3 {
    return version.startsWith("3.") ? 3 : 2;
}
