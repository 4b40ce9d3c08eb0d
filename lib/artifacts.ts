import { createHash } from "crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "fs";
import * as path from "path";

/** Files of the DAGs folder that are deployed, relative to it, sorted. */
export function dagFiles(dagsDir: string): string[] {
    if (!existsSync(dagsDir)) return [];
    const skipDirs = new Set(["__pycache__", ".pytest_cache", ".ruff_cache", "tests"]);
    // Deployed separately (requirements) or not part of the DAGs (docs, byte code).
    const skipFiles = new Set(["requirements.txt", "README.md"]);
    const files: string[] = [];
    const walk = (dir: string) => {
        for (const entry of readdirSync(dir).sort()) {
            const full = path.join(dir, entry);
            if (statSync(full).isDirectory()) {
                if (!skipDirs.has(entry)) walk(full);
            } else if (!skipFiles.has(entry) && !entry.endsWith(".pyc")) {
                files.push(path.relative(dagsDir, full).split(path.sep).join("/"));
            }
        }
    };
    walk(dagsDir);
    return files;
}

/** True when a folder exists and holds at least one file (outside byte-code caches). */
export function hasFiles(dir: string): boolean {
    return existsSync(dir) && dagFiles(dir).length > 0;
}

/** Hex MD5 of a file, to make an upload change exactly when the content does. */
export function fileHash(file: string): string {
    return createHash("md5").update(readFileSync(file)).digest("hex");
}

/** Hex MD5 over every file of a folder (names and contents). */
export function folderHash(dir: string): string {
    const hash = createHash("md5");
    for (const rel of dagFiles(dir)) hash.update(rel).update(readFileSync(path.join(dir, rel)));
    return hash.digest("hex");
}

/** A Pulumi resource name fragment for a relative path: "etl/load.py" -> "etl-load-py". */
export function pathSlug(rel: string): string {
    return rel.replace(/[^A-Za-z0-9]+/g, "-").replace(/^-|-$/g, "");
}

/**
 * An image tag that changes exactly when what the image is built from does: the Airflow version and
 * 12 hex digits of a hash over the given files (a missing file counts as absent). ECR tags are
 * immutable, so every change must produce a new tag.
 */
export function imageTag(airflowVersion: string, files: string[]): string {
    const hash = createHash("sha256");
    for (const file of files) {
        hash.update(file).update(existsSync(file) ? readFileSync(file) : "<absent>");
    }
    return `${airflowVersion}-${hash.digest("hex").slice(0, 12)}`;
}
