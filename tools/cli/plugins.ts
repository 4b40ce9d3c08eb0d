// Installs the stand-in provider plugins (tools/cli/providers/standin.ts) into an isolated PULUMI_HOME
// for the CLI tests, at the versions the installed SDK packages ask the engine for. A plugin is a
// small shell script, pulumi-resource-<name>, that runs the stand-in, transpiled once into the CLI
// tests' build (tools/cli/build.ts), with the repository's Node.js.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "fs";
import * as path from "path";

export const ROOT = path.resolve(__dirname, "..", "..");

/** The packages whose plugins the program loads, with the versions their SDKs ask for. */
export function pluginVersions(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const pkg of ["aws", "awsx", "random"]) {
        const manifest = JSON.parse(
            readFileSync(path.join(ROOT, "node_modules", "@pulumi", pkg, "package.json"), "utf8"),
        );
        out[pkg] = manifest.pulumi?.version ?? manifest.version;
    }
    return out;
}

/** Writes the stand-ins, run from `buildDir` (tools/cli/build.ts), into `home`/plugins; returns the versions installed. */
export function installStandIns(home: string, buildDir: string): Record<string, string> {
    const versions = pluginVersions();
    const node = path.join(ROOT, "node_modules", ".bin", "node");
    const entry = path.join(buildDir, "tools", "cli", "providers", "standin.js");
    for (const [pkg, version] of Object.entries(versions)) {
        const dir = path.join(home, "plugins", `resource-${pkg}-v${version}`);
        mkdirSync(dir, { recursive: true });
        const bin = path.join(dir, `pulumi-resource-${pkg}`);
        writeFileSync(
            bin,
            [
                "#!/bin/sh",
                `# Stand-in ${pkg} provider for the airflow-on-aws CLI tests: creates nothing in any cloud.`,
                `exec ${JSON.stringify(node)} ${JSON.stringify(entry)} ${pkg} ${version} "$@"`,
                "",
            ].join("\n"),
        );
        chmodSync(bin, 0o755);
    }
    return versions;
}
