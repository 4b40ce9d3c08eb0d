import { expect } from "chai";
import { spawnSync } from "child_process";
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { readyFileCheck } from "../components/celery/containers";

/** Runs a CMD-SHELL health check as ECS's agent does (`sh -c`); its exit code. */
function shellCheck(command: string): number | null {
    return spawnSync("sh", ["-c", command], { stdio: "ignore" }).status;
}

describe("dag-sync's health check (readyFileCheck), run by a real shell", () => {
    let dir: string;
    let file: string;
    beforeEach(() => {
        dir = mkdtempSync(path.join(tmpdir(), "ready-file-"));
        file = path.join(dir, "dags-synced");
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    it("passes while the ready file was touched less than the maximum age ago", () => {
        writeFileSync(file, "");
        expect(shellCheck(readyFileCheck(file, 120))).to.equal(0);
        const aMinuteAgo = Date.now() / 1000 - 60;
        utimesSync(file, aMinuteAgo, aMinuteAgo);
        expect(shellCheck(readyFileCheck(file, 120))).to.equal(0);
    });

    it("fails once the last sync is older than the maximum age", () => {
        writeFileSync(file, "");
        const longAgo = Date.now() / 1000 - 121;
        utimesSync(file, longAgo, longAgo);
        expect(shellCheck(readyFileCheck(file, 120))).to.equal(1);
    });

    it("fails before the first sync, when there is no ready file", () => {
        expect(shellCheck(readyFileCheck(file, 120))).to.not.equal(0);
    });

    it("starts no interpreter: only the shell, test, date and stat", () => {
        expect(readyFileCheck("/tmp/dags-synced", 240)).to.not.match(/python/);
        expect(readyFileCheck("/tmp/dags-synced", 240)).to.equal(
            "test -f /tmp/dags-synced && test $(( $(date +%s) - $(stat -c %Y /tmp/dags-synced) )) -lt 240",
        );
    });
});
