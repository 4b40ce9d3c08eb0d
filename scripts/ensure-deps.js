#!/usr/bin/env node
// Installs the project's npm dependencies from package-lock.json when they are missing or stale,
// so that `npm test` (and the other npm scripts) work as the first command in a fresh clone.
// Runs on any Node >= 18: it is what brings in the Node 22 binary the rest of the project runs on.
// Fast when nothing changed: it compares a hash of the lockfile with the one recorded at install.
"use strict";
const { createHash } = require("crypto");
const { existsSync, readFileSync, writeFileSync } = require("fs");
const { spawnSync } = require("child_process");
const path = require("path");

const root = path.resolve(__dirname, "..");
const lockfile = path.join(root, "package-lock.json");
const stamp = path.join(root, "node_modules", ".airflow-on-aws-lock-hash");

function lockHash() {
    return createHash("sha256").update(readFileSync(lockfile)).digest("hex");
}

function installed() {
    return (
        existsSync(stamp) &&
        existsSync(path.join(root, "node_modules", ".bin", "node")) &&
        readFileSync(stamp, "utf8").trim() === lockHash()
    );
}

if (!installed()) {
    console.log("Installing npm dependencies from package-lock.json (npm ci)...");
    const started = Date.now();
    const result = spawnSync("npm", ["ci", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
    if (result.status !== 0) {
        console.error(`npm ci failed (exit ${result.status ?? result.signal}); see the output above.`);
        process.exit(result.status || 1);
    }
    writeFileSync(stamp, `${lockHash()}\n`);
    console.log(`npm dependencies installed in ${((Date.now() - started) / 1000).toFixed(1)} s.`);
}
