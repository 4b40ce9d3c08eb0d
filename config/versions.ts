/**
 * Apache Airflow versions this project deploys, and which layout may run which. The one place for that
 * rule: config/ validates `airflow:airflowVersion` with {@link airflowVersionProblem}, MwaaEnvironment
 * checks its `airflowVersion` against {@link MWAA_AIRFLOW_VERSIONS}.
 */

/**
 * Amazon MWAA's table of versions: the Apache Airflow versions MWAA lets you create or upgrade to, each
 * with the Python MWAA runs it on. Update this table, and nothing else, when MWAA adds or retires one.
 *
 * Sources (read {@link MWAA_VERSIONS_READ}):
 * - the MWAA User Guide, "Apache Airflow versions on Amazon Managed Workflows for Apache Airflow"
 *   ({@link MWAA_VERSIONS_SOURCE}), and its code examples for "Apache Airflow v3.0.6 to 3.3.1";
 * - MWAA's images (github.com/aws/amazon-mwaa-docker-images, images/airflow/<version>/Dockerfile.base.j2,
 *   `ENV PYTHON_VERSION`): 3.3.1 on Python 3.12.13, 3.2.1 and 3.0.6 on 3.12, 2.11.0 on 3.12.10, 2.10.x
 *   and 2.9.2 on 3.11. 3.1 has no MWAA image.
 * Versions MWAA no longer lets you create (1.10.x - 2.8.x) are left out.
 */
export const MWAA_AIRFLOW_VERSIONS = [
    { airflow: "2.9.2", python: "3.11" },
    { airflow: "2.10.1", python: "3.11" },
    { airflow: "2.10.3", python: "3.11" },
    { airflow: "2.11.0", python: "3.12" },
    { airflow: "3.0.6", python: "3.12" },
    { airflow: "3.2.1", python: "3.12" },
    { airflow: "3.3.1", python: "3.12" },
] as const;

export const MWAA_VERSIONS_SOURCE = "https://docs.aws.amazon.com/mwaa/latest/userguide/airflow-versions.html";
export const MWAA_VERSIONS_READ = "2026-12-01";

export type MwaaAirflowVersion = (typeof MWAA_AIRFLOW_VERSIONS)[number]["airflow"];

/**
 * Released Apache Airflow versions the Celery layout (dev, staging) may run besides MWAA's: every
 * release from 2.9.2 on that the Python package index lists (`pip index versions apache-airflow`, read
 * 2026-12-01), pre-releases excluded. Only real releases: the image is built FROM
 * apache/airflow:<version>-python<python> and installs under constraints-<version>.
 */
const CELERY_ONLY_RELEASES = [
    "2.9.3",
    "2.10.2",
    "2.10.4",
    "2.10.5",
    "2.11.1",
    "2.11.2",
    "3.0.0",
    "3.0.1",
    "3.0.2",
    "3.0.3",
    "3.0.4",
    "3.1.0",
    "3.1.1",
    "3.1.2",
    "3.1.3",
    "3.1.5",
    "3.1.6",
    "3.1.7",
    "3.1.8",
    "3.2.0",
    "3.2.2",
    "3.3.0",
    "3.3.2",
] as const;

/** Every version some layout accepts, oldest first: the allowed values of `airflow:airflowVersion`. */
export const SUPPORTED_AIRFLOW_VERSIONS = [
    ...MWAA_AIRFLOW_VERSIONS.map((v) => v.airflow),
    ...CELERY_ONLY_RELEASES,
].sort(compareVersions) as [AirflowVersion, ...AirflowVersion[]];

export type AirflowVersion = MwaaAirflowVersion | (typeof CELERY_ONLY_RELEASES)[number];

/**
 * The version new stacks get: the newest Airflow 3 that MWAA runs. Every committed stack file pins it
 * explicitly as well, and the Python lock (requirements-dev.in), dags/requirements.txt and
 * images/airflow/Dockerfile follow it (tests/python/test_versions.py).
 */
export const DEFAULT_AIRFLOW_VERSION: MwaaAirflowVersion = "3.3.1";

/** The Python MWAA runs `version` on, or undefined if MWAA does not run it. */
export function mwaaPython(version: string): "3.11" | "3.12" | undefined {
    return MWAA_AIRFLOW_VERSIONS.find((v) => v.airflow === version)?.python;
}

/**
 * Why `layout` cannot run `version`, or undefined if it can. The mwaa layout runs only MWAA's table;
 * the celery layout runs any released version in {@link SUPPORTED_AIRFLOW_VERSIONS}.
 */
export function airflowVersionProblem(layout: "celery" | "mwaa", version: string): string | undefined {
    const known = (SUPPORTED_AIRFLOW_VERSIONS as readonly string[]).includes(version);
    if (!known) return "not a released Apache Airflow version this project accepts";
    if (layout === "mwaa" && mwaaPython(version) === undefined) {
        return `not a version Amazon MWAA runs (MWAA runs ${MWAA_AIRFLOW_VERSIONS.map((v) => v.airflow).join(", ")}; see ${MWAA_VERSIONS_SOURCE})`;
    }
    return undefined;
}

/** The major version decides the component set (Airflow 3: api-server + dag-processor). */
export function airflowMajor(version: string): 2 | 3 {
    return version.startsWith("3.") ? 3 : 2;
}

function compareVersions(a: string, b: string): number {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
        const d = (pa[i] ?? 0) - (pb[i] ?? 0);
        if (d !== 0) return d;
    }
    return 0;
}
