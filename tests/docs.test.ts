import { expect } from "chai";
import { readFileSync } from "fs";
import * as path from "path";
import { renderPulumiYaml, renderReadme } from "../scripts/config-docs";
import { ROOT } from "./harness/program";

describe("configuration documentation", () => {
    it("Pulumi.yaml declares every config key with the type, default and description the loader uses", () => {
        const current = readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8");
        expect(current, "Pulumi.yaml is stale: run npm run docs").to.equal(renderPulumiYaml(current));
    });

    it("README.md lists every config key with the default and allowed values the loader uses", () => {
        const current = readFileSync(path.join(ROOT, "README.md"), "utf8");
        expect(current, "README.md is stale: run npm run docs").to.equal(renderReadme(current));
    });

    it("README.md documents every stack output the program exports", async () => {
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        const index = readFileSync(path.join(ROOT, "index.ts"), "utf8");
        const block = index.slice(
            index.indexOf("const outputs"),
            index.indexOf("\n};", index.indexOf("const outputs")),
        );
        const exported = [...block.matchAll(/^ {4}(\w+)[,:]/gm)].map((m) => m[1]);
        expect(exported.length).to.be.greaterThan(0);
        for (const name of exported) expect(readme, `output ${name}`).to.include(`| \`${name}\` |`);
    });
});
