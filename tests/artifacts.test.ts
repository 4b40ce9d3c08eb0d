import { expect } from "chai";
import { mkdirSync, mkdtempSync, writeFileSync } from "fs";
import { tmpdir } from "os";
import * as path from "path";
import { AirflowStorage } from "../components/storage";
import { dagFiles, fileHash, folderHash, pathSlug } from "../lib/artifacts";
import { ProgramRun, runWith } from "./harness/program";

const OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2";

/** A repository-like folder: dags/ with a package and junk, requirements.txt, plugins/. */
function fixture(withPlugins: boolean): { dagsDir: string; requirementsFile: string; pluginsDir: string } {
    const root = mkdtempSync(path.join(tmpdir(), "airflow-artifacts-"));
    const dagsDir = path.join(root, "dags");
    mkdirSync(path.join(dagsDir, "etl", "__pycache__"), { recursive: true });
    writeFileSync(path.join(dagsDir, "daily.py"), "# a DAG\n");
    writeFileSync(path.join(dagsDir, "etl", "load.py"), "# a module\n");
    writeFileSync(path.join(dagsDir, "etl", "__pycache__", "load.cpython-311.pyc"), "junk");
    writeFileSync(path.join(dagsDir, ".airflowignore"), "etl/\n");
    writeFileSync(path.join(dagsDir, "README.md"), "docs\n");
    writeFileSync(path.join(dagsDir, "requirements.txt"), "pandas==2.2.3\n");
    const pluginsDir = path.join(root, "plugins");
    mkdirSync(pluginsDir);
    if (withPlugins) writeFileSync(path.join(pluginsDir, "my_plugin.py"), "# plugin\n");
    return { dagsDir, requirementsFile: path.join(dagsDir, "requirements.txt"), pluginsDir };
}

function deployWith(layout: "celery" | "mwaa", withPlugins: boolean): Promise<ProgramRun> {
    return runWith("dev", {}, () => {
        const storage = new AirflowStorage("t", {
            environment: "dev",
            layout,
            network: {
                privateSubnetIds: ["subnet-a", "subnet-b"],
                databaseSecurityGroupId: "sg-db",
                brokerSecurityGroupId: "sg-broker",
                fileSystemSecurityGroupId: "sg-fs",
            },
            deploy: fixture(withPlugins),
        });
        return {
            dagKeys: storage.artifacts.dagKeys,
            requirementsVersion: storage.artifacts.requirementsVersion,
            pluginsVersion: storage.artifacts.pluginsVersion,
        };
    });
}

describe("artifact deployment", () => {
    for (const layout of ["celery", "mwaa"] as const) {
        it(`uploads the DAG files under dags/ on the ${layout} layout, without byte code, README or requirements`, async () => {
            const run = await deployWith(layout, true);
            const keys = run
                .ofType(OBJECT)
                .map((o) => o.inputs.key)
                .sort();
            expect(keys).to.deep.equal([
                "dags/.airflowignore",
                "dags/daily.py",
                "dags/etl/load.py",
                "plugins/plugins.zip",
                "requirements/requirements.txt",
            ]);
            expect(run.outputs.dagKeys).to.deep.equal(["dags/.airflowignore", "dags/daily.py", "dags/etl/load.py"]);
            for (const o of run.ofType(OBJECT)) {
                expect(o.inputs.bucket).to.equal("t-artifacts-id");
                expect(o.inputs.sourceHash, o.name).to.match(/^[0-9a-f]{32}$/);
                expect(o.options.dependencies, o.name).to.include(
                    run.get("aws:s3/bucketPolicy:BucketPolicy", "t-artifacts-policy").urn,
                );
            }
        });
    }

    it("exposes the requirements and plugins object versions for MWAA to pin", async () => {
        const run = await deployWith("mwaa", true);
        expect(run.outputs.requirementsVersion).to.equal(run.get(OBJECT, "t-requirements").state.versionId);
        expect(run.outputs.pluginsVersion).to.equal(run.get(OBJECT, "t-plugins").state.versionId);
        expect(run.get(OBJECT, "t-requirements").inputs.contentType).to.equal("text/plain");
        expect(run.get(OBJECT, "t-plugins").inputs.contentType).to.equal("application/zip");
    });

    it("uploads no plugins.zip when the plugins folder is empty", async () => {
        const run = await deployWith("mwaa", false);
        expect(run.has(OBJECT, "t-plugins")).to.equal(false);
        expect(run.outputs.pluginsVersion).to.equal(undefined);
    });

    it("changes an upload's source hash exactly when the file's content changes", () => {
        const a = fixture(false);
        const b = fixture(false);
        expect(fileHash(path.join(a.dagsDir, "daily.py"))).to.equal(fileHash(path.join(b.dagsDir, "daily.py")));
        expect(folderHash(a.dagsDir)).to.equal(folderHash(b.dagsDir));
        writeFileSync(path.join(b.dagsDir, "daily.py"), "# a changed DAG\n");
        expect(fileHash(path.join(a.dagsDir, "daily.py"))).to.not.equal(fileHash(path.join(b.dagsDir, "daily.py")));
        expect(folderHash(a.dagsDir)).to.not.equal(folderHash(b.dagsDir));
        expect(dagFiles(a.dagsDir)).to.deep.equal(dagFiles(b.dagsDir));
        expect(pathSlug("etl/load.py")).to.equal("etl-load-py");
    });
});
