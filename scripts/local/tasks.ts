// The Celery layout's task definitions, run locally as Fargate runs them. Light on purpose (no Pulumi):
// stack.ts renders the definitions with the program's own functions (taskContainers, taskVolumes) into
// plain JSON, and units.ts turns each container into a supervisor unit with what this file decides:
//   - the container's user (uid:gid), the process dropping to it (the supervisor runs as root);
//   - its command as the image's entrypoint runs it (entrypoint.ts);
//   - its volumes: on Fargate a task-definition volume with no host path is a bind mount that starts
//     as an empty directory owned by root with mode 0755, unless the image declares a VOLUME at the
//     mount's path, whose content and ownership are then copied in
//     (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/bind-mounts.html). Locally each task
//     start gets new empty directories under .local/tasks/<task>/, and the container paths in its
//     command and environment are mapped onto them;
//   - a container that mounts a volume read-write must be able to write it as its user, or it fails
//     to start, naming the container and the path (the defect of issue "What would break on a real
//     deploy": dag-sync, uid 50000, and a root-owned 0755 volume).
// Which paths the image declares as VOLUME is read from the image's Dockerfile (images/airflow):
// its own VOLUME instructions, plus the base image's (apache/airflow declares none).
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, statSync } from "fs";
import * as path from "path";
import { LocalError } from "./paths";

export type Condition = "START" | "COMPLETE" | "SUCCESS" | "HEALTHY";

/**
 * The nice value that gives a task's processes a CPU weight in proportion to its CPU units, as ECS
 * turns a container's CPU units into CPU shares: Linux weighs nice n as 1024 / 1.25^n, so 1024 units
 * (one vCPU) is 0, 512 is 3, 256 is 6, 2048 is -3 (within -20..19).
 */
export function cpuNice(cpuUnits: number): number {
    const nice = Math.round(Math.log(1024 / cpuUnits) / Math.log(1.25));
    return Math.max(-20, Math.min(19, nice));
}

/** The fields of an ECS container definition the local runner reads (resolved, plain values). */
export interface ContainerDef {
    name: string;
    essential?: boolean;
    user?: string;
    command?: string[];
    environment?: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    mountPoints?: { sourceVolume: string; containerPath: string; readOnly?: boolean }[];
    dependsOn?: { containerName: string; condition: Condition }[];
    healthCheck?: { command: string[]; interval?: number; timeout?: number; retries?: number; startPeriod?: number };
    stopTimeout?: number;
}

/** One task definition: its family's local name, its volumes and its containers. */
export interface TaskDef {
    name: string;
    /** The task's CPU units (1024 = one vCPU), as its task definition reserves them. */
    cpu?: number;
    volumes: { name: string; host?: { sourcePath?: string } }[];
    containers: ContainerDef[];
}

export interface PosixUser {
    uid: number;
    gid: number;
}

/** The user the image runs as when a container names none (images/airflow/Dockerfile: USER 50000; group 0). */
export const IMAGE_USER: PosixUser = { uid: 50000, gid: 0 };

/** A container definition's `user` ("uid", "uid:gid"); numeric only, as the program writes it. */
export function parseUser(user: string | undefined): PosixUser {
    if (user === undefined) return IMAGE_USER;
    const m = /^(\d+)(?::(\d+))?$/.exec(user);
    if (!m) throw new LocalError(`container user "${user}" is not uid or uid:gid`);
    return { uid: Number(m[1]), gid: m[2] === undefined ? 0 : Number(m[2]) };
}

/** The paths a Dockerfile declares with VOLUME (JSON array or space-separated form). */
export function imageVolumes(dockerfile: string): string[] {
    const paths: string[] = [];
    for (const line of dockerfile.split("\n")) {
        const m = /^\s*VOLUME\s+(.+)$/i.exec(line);
        if (!m) continue;
        const value = m[1].trim();
        if (value.startsWith("[")) paths.push(...(JSON.parse(value) as string[]));
        else paths.push(...value.split(/\s+/));
    }
    return paths;
}

/** The VOLUME paths of the program's image (its Dockerfile; the apache/airflow base declares none). */
export function programImageVolumes(root: string): string[] {
    return imageVolumes(readFileSync(path.join(root, "images", "airflow", "Dockerfile"), "utf8"));
}

/** Where one task's volume lives locally. */
export function volumeDir(stateDir: string, task: string, volume: string): string {
    return path.join(stateDir, "tasks", task, "volumes", volume);
}

/**
 * Creates a task's volumes as Fargate does at each task start: empty directories owned by root with
 * mode 0755, except one whose every mount is at a path the image declares a VOLUME for (owned by the
 * image's user then). Returns each volume's local directory.
 */
export function createTaskVolumes(
    stateDir: string,
    task: TaskDef,
    declared: readonly string[],
): Record<string, string> {
    const dirs: Record<string, string> = {};
    for (const volume of task.volumes) {
        if (volume.host?.sourcePath)
            throw new LocalError(`${task.name}: volume ${volume.name} has a host path, which Fargate does not allow`);
        const dir = volumeDir(stateDir, task.name, volume.name);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const mounts = task.containers.flatMap((c) =>
            (c.mountPoints ?? []).filter((m) => m.sourceVolume === volume.name),
        );
        const imageDeclared = mounts.length > 0 && mounts.every((m) => declared.includes(m.containerPath));
        const owner = imageDeclared ? IMAGE_USER : { uid: 0, gid: 0 };
        if (process.getuid?.() === 0) chownSync(dir, owner.uid, owner.gid);
        chmodSync(dir, 0o755);
        dirs[volume.name] = dir;
    }
    return dirs;
}

/** A container's mounts, each with its local directory, longest container path first. */
export function localMounts(
    container: ContainerDef,
    dirs: Readonly<Record<string, string>>,
): { containerPath: string; dir: string; readOnly: boolean; volume: string }[] {
    return (container.mountPoints ?? [])
        .map((m) => {
            const dir = dirs[m.sourceVolume];
            if (!dir)
                throw new LocalError(
                    `${container.name} mounts volume ${m.sourceVolume}, which its task does not define`,
                );
            return { containerPath: m.containerPath, dir, readOnly: m.readOnly === true, volume: m.sourceVolume };
        })
        .sort((a, b) => b.containerPath.length - a.containerPath.length);
}

/** A value (command argument or environment value) with each mounted container path replaced by its local directory. */
export function mapPaths(value: string, mounts: readonly { containerPath: string; dir: string }[]): string {
    if (mounts.length === 0) return value;
    // One pass, the longest container path first: a local directory put in is never mapped again (a
    // checkout under /tmp/ has volume directories that start with the container path /tmp/).
    const byLength = [...mounts].sort((a, b) => b.containerPath.length - a.containerPath.length);
    const dirOf = new Map(byLength.map((m) => [m.containerPath, m.dir]));
    const pattern = new RegExp(
        byLength.map((m) => m.containerPath.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).join("|"),
        "g",
    );
    return value.replace(pattern, (containerPath) => dirOf.get(containerPath)!);
}

/** True when a POSIX user may write (and enter) a directory, by its owner, group and mode. */
export function writableBy(dir: string, user: PosixUser): boolean {
    if (user.uid === 0) return true;
    const st = statSync(dir);
    const bits = st.uid === user.uid ? (st.mode >> 6) & 7 : st.gid === user.gid ? (st.mode >> 3) & 7 : st.mode & 7;
    return (bits & 0o3) === 0o3;
}

/**
 * Fails, naming the container and the path, when a container mounts a volume read-write that its user
 * cannot write (checked when the container starts, after the containers it depends on ran).
 */
export function checkMounts(task: string, container: ContainerDef, dirs: Readonly<Record<string, string>>): void {
    const user = parseUser(container.user);
    for (const m of localMounts(container, dirs)) {
        if (m.readOnly || !existsSync(m.dir) || writableBy(m.dir, user)) continue;
        const st = statSync(m.dir);
        throw new LocalError(
            `container ${container.name} of task ${task} runs as ${user.uid}:${user.gid} and cannot write its volume ${m.volume} at ${m.containerPath}: ` +
                `the directory is owned by ${st.uid}:${st.gid} with mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}, as Fargate creates a volume the image declares no VOLUME for ` +
                "(give it to the container's user first, in a root container it depends on with SUCCESS)",
        );
    }
}
