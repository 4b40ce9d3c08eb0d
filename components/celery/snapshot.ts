import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { withName } from "../../lib/tags";

/**
 * The RDS snapshot taken before the control service migrates the metadata database to a new Airflow
 * version: `<name>-pre-<version with dashes>-<4 hex>`. The suffix is random per version, so that
 * going back to a version that was snapshotted once (after a rollback, say) does not collide with
 * the snapshot kept from that time. RDS allows letters, digits and single hyphens, a letter first,
 * at most 255 characters ("Naming constraints in Amazon RDS", RDS User Guide).
 */
export function upgradeSnapshotIdentifier(name: string, airflowVersion: string, suffix: string): string {
    return `${name}-pre-${airflowVersion.toLowerCase().replace(/[^a-z0-9]+/g, "-")}-${suffix}`;
}

/** The Pulumi name of the snapshot of one version: a new version is a new resource, the old one is retained. */
export function upgradeSnapshotResourceName(name: string, airflowVersion: string): string {
    return `${name}-db-pre-${airflowVersion}`;
}

/**
 * Takes the snapshot of `dbInstanceIdentifier` named after `airflowVersion`. The control service's
 * task definition depends on it, so a version change first snapshots (the provider waits until the
 * snapshot is available), then registers the task definition whose migrate container migrates. A new
 * version is a new resource name: Pulumi creates that snapshot and, with `retainOnDelete`, leaves the
 * previous one in RDS when it drops it from the state; `pulumi destroy` leaves them too.
 */
export function createUpgradeSnapshot(
    name: string,
    args: {
        airflowVersion: string;
        dbInstanceIdentifier: pulumi.Input<string>;
        tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
    },
    parent: pulumi.Resource,
): aws.rds.Snapshot {
    const resourceName = upgradeSnapshotResourceName(name, args.airflowVersion);
    const suffix = new random.RandomId(`${resourceName}-suffix`, { byteLength: 2 }, { parent });
    return new aws.rds.Snapshot(
        resourceName,
        {
            dbInstanceIdentifier: args.dbInstanceIdentifier,
            dbSnapshotIdentifier: suffix.hex.apply((hex) => upgradeSnapshotIdentifier(name, args.airflowVersion, hex)),
            tags: withName(args.tags, resourceName),
        },
        { parent, retainOnDelete: true },
    );
}
