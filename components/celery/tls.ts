import * as aws from "@pulumi/aws";
import { readFileSync } from "fs";
import * as path from "path";
import { withoutEntrypointChecks } from "./entrypoint";
import {
    RDS_CA_BAKED_PATH,
    RDS_CA_BUNDLE_PATH,
    RDS_CA_DIR,
    rdsCaBundleUrl,
    rdsRootCaCommonName,
} from "../../lib/airflow-uris";

/** The task volume that holds the region's RDS CA bundle (written by the rds-ca container). */
export const RDS_CA_VOLUME = "rds-ca";

/** The init container that writes the bundle: the Airflow containers wait for its success. */
export const RDS_CA_CONTAINER = "rds-ca";

/** The settings whose value is a connection to the metadata database (libpq reads the bundle). */
const DATABASE_SETTINGS = ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CELERY__RESULT_BACKEND"];

/** Whether a container connects to the metadata database, i.e. needs the RDS CA bundle. */
export function connectsToDatabase(container: aws.ecs.ContainerDefinition): boolean {
    return (container.secrets ?? []).some((s) => typeof s.name === "string" && DATABASE_SETTINGS.includes(s.name));
}

/**
 * The rds-ca init container. It runs the task's own image, so that a user's image (airflow:image)
 * gets the bundle too, and needs nothing of it but Python's standard library (sidecars/rds_ca.py).
 * It runs as root because, on Fargate, a task volume starts owned by root with mode 0755 (ECS
 * Developer Guide, "Bind mounts"); it writes one file readable by all and exits. The bundle is
 * fetched when the task starts, not baked into task definitions: AWS rotates and adds CAs, and the
 * image's copy (images/airflow/Dockerfile) is used first when it holds the region's root, so that
 * stacks without NAT work.
 */
export function rdsCaContainer(input: {
    image: string;
    region: string;
    logConfiguration: aws.ecs.LogConfiguration;
}): aws.ecs.ContainerDefinition {
    const env: Record<string, string> = {
        RDS_CA_REGION: input.region,
        RDS_CA_EXPECT: rdsRootCaCommonName(input.region),
        RDS_CA_URL: rdsCaBundleUrl(input.region),
        RDS_CA_BAKED: RDS_CA_BAKED_PATH,
        RDS_CA_DEST: RDS_CA_BUNDLE_PATH,
    };
    return {
        name: RDS_CA_CONTAINER,
        image: input.image,
        essential: false,
        user: "0",
        command: ["python", "-c", readFileSync(path.join(__dirname, "..", "..", "sidecars", "rds_ca.py"), "utf8")],
        environment: withoutEntrypointChecks(
            Object.entries(env)
                .map(([name, value]) => ({ name, value }))
                .sort((a, b) => a.name.localeCompare(b.name)),
        ),
        mountPoints: [{ sourceVolume: RDS_CA_VOLUME, containerPath: RDS_CA_DIR, readOnly: false }],
        logConfiguration: input.logConfiguration,
    };
}

/**
 * Gives a task's containers the RDS CA bundle: when any container connects to the metadata database,
 * the rds-ca container comes first, and every such container mounts the bundle read-only and starts
 * only after rds-ca succeeded. Their connection URIs name the file (lib/airflow-uris.ts).
 */
export function withRdsCaBundle(
    containers: aws.ecs.ContainerDefinition[],
    input: { image: string; region: string; logConfiguration: aws.ecs.LogConfiguration },
): aws.ecs.ContainerDefinition[] {
    if (!containers.some(connectsToDatabase)) return containers;
    const mount: aws.ecs.MountPoint = { sourceVolume: RDS_CA_VOLUME, containerPath: RDS_CA_DIR, readOnly: true };
    const after: aws.ecs.ContainerDependency = { containerName: RDS_CA_CONTAINER, condition: "SUCCESS" };
    return [
        rdsCaContainer(input),
        ...containers.map((c) =>
            connectsToDatabase(c)
                ? { ...c, mountPoints: [...(c.mountPoints ?? []), mount], dependsOn: [after, ...(c.dependsOn ?? [])] }
                : c,
        ),
    ];
}
