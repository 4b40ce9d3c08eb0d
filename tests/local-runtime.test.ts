import { expect } from "chai";
import * as path from "path";
import { localRuntime, PREVIOUS_AIRFLOW_VERSION } from "../scripts/local/runtime";

describe("npm run local: which Airflow it runs (LOCAL_AIRFLOW)", () => {
    const root = "/checkout";

    it("runs .venv and the mirrored stack's version by default", () => {
        expect(localRuntime(root, {})).to.deep.equal({ venvBin: path.join(root, ".venv", "bin"), ensureArgs: [] });
        expect(localRuntime(root, { LOCAL_AIRFLOW: "current" }).airflowVersion).to.equal(undefined);
    });

    it("runs the previous pinned Airflow from its own environment, installed on demand", () => {
        expect(localRuntime(root, { LOCAL_AIRFLOW: "previous" })).to.deep.equal({
            venvBin: path.join(root, ".venv-3.0.6", "bin"),
            ensureArgs: ["previous"],
            airflowVersion: PREVIOUS_AIRFLOW_VERSION,
        });
    });

    it("rejects any other value, naming the ones it takes", () => {
        expect(() => localRuntime(root, { LOCAL_AIRFLOW: "3.1.0" })).to.throw(
            'LOCAL_AIRFLOW must be "current" or "previous" (Airflow 3.0.6), got "3.1.0"',
        );
    });
});
