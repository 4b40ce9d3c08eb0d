import { expect } from "chai";
import { readdirSync, readFileSync } from "fs";
import * as path from "path";
import { parse } from "yaml";
import { ROOT } from "./harness/program";

// actionlint (run by .ci/run) checks that the workflows are valid; these tests check what they promise.

const DIR = path.join(ROOT, ".github", "workflows");
const files = readdirSync(DIR).filter((f) => f.endsWith(".yml"));
const text = (file: string) => readFileSync(path.join(DIR, file), "utf8");
const workflow = (file: string) => parse(text(file));

interface Step {
    uses?: string;
    run?: string;
    with?: Record<string, unknown>;
}

function steps(file: string): Step[] {
    return Object.values<{ steps?: Step[] }>(workflow(file).jobs).flatMap((job) => job.steps ?? []);
}

describe("GitHub workflows", () => {
    it("pin every action to a major version or a commit SHA", () => {
        const uses = files.flatMap((f) => [
            ...steps(f).map((s) => s.uses),
            ...Object.values<{ uses?: string }>(workflow(f).jobs).map((j) => j.uses),
        ]);
        const actions = uses.filter((u): u is string => !!u && !u.startsWith("./"));
        expect(actions).to.have.length.greaterThan(10);
        for (const action of actions) expect(action).to.match(/^[\w.-]+\/[\w.-]+@(v\d+|[0-9a-f]{40})$/);
    });

    it("grant no permission by default and each job only what it uses", () => {
        for (const file of files) {
            expect(workflow(file).permissions, file).to.deep.equal({});
            for (const [name, job] of Object.entries<{ permissions?: Record<string, string>; steps?: Step[] }>(
                workflow(file).jobs,
            )) {
                expect(job.permissions, `${file} ${name}`).to.be.an("object");
                const assumesRole =
                    (job.steps ?? []).some((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@")) ||
                    "uses" in job;
                expect(job.permissions?.["id-token"] === "write", `${file} ${name} id-token`).to.equal(assumesRole);
                const comments = (job.steps ?? []).some((s) => s.with?.["comment-on-pr"] === true);
                expect(job.permissions?.["pull-requests"] === "write", `${file} ${name} pull-requests`).to.equal(
                    comments,
                );
                expect(Object.values(job.permissions ?? {}).filter((p) => p === "write")).to.have.length.at.most(2);
            }
        }
    });

    it("reach AWS only by assuming a role with OIDC, named by a repository variable, with no secret anywhere", () => {
        const aws = files.flatMap(steps).filter((s) => s.uses?.startsWith("aws-actions/configure-aws-credentials@"));
        expect(aws).to.have.length(2);
        for (const step of aws) {
            expect(step.with?.["role-to-assume"]).to.match(/^\$\{\{ vars\[/);
            expect(step.with).not.to.have.any.keys("aws-access-key-id", "aws-secret-access-key", "aws-session-token");
        }
        for (const file of files) expect(text(file), file).not.to.include("secrets.");
    });

    it("preview dev, staging and prod on pull requests from this repository, diff as a PR comment, with the policy pack", () => {
        const preview = workflow("pull-request.yml").jobs.preview;
        expect(preview.strategy.matrix.include.map((m: { stack: string }) => m.stack)).to.deep.equal([
            "dev",
            "staging",
            "prod",
        ]);
        expect(preview.if).to.equal("github.event.pull_request.head.repo.full_name == github.repository");
        const pulumi = (preview.steps as Step[]).find((s) => s.uses?.startsWith("pulumi/actions@"));
        expect(pulumi?.with).to.include({
            command: "preview",
            "stack-name": "${{ matrix.stack }}",
            "cloud-url": "${{ vars.PULUMI_BACKEND_URL }}",
            policyPacks: "policy",
            "comment-on-pr": true,
        });
        expect(preview.concurrency.group).to.include("${{ matrix.stack }}");
    });

    it("give every pull request, forks included, the offline plan as a job summary and an artifact, without credentials", () => {
        const job = workflow("pull-request.yml").jobs["offline-plan"];
        expect(job.if).to.equal(undefined);
        expect(job.permissions).to.deep.equal({ contents: "read" });
        const run = (job.steps as Step[]).map((s) => s.run ?? "").join("\n");
        expect(run).to.include("npm run --silent plan -- $plan --json");
        expect(run).to.include('>> "$GITHUB_STEP_SUMMARY"');
        const upload = (job.steps as Step[]).find((s) => s.uses?.startsWith("actions/upload-artifact@"));
        expect(upload?.with?.path).to.include("plan-*.json");
        const checks = workflow("pull-request.yml").jobs.checks;
        expect((checks.steps as Step[]).map((s) => s.run).filter(Boolean)).to.deep.equal(["bash .ci/run"]);
    });

    it("deploy dev then staging from main, and prod only by hand, after staging, in the prod environment", () => {
        const deploy = workflow("deploy.yml");
        expect(Object.keys(deploy.on)).to.deep.equal(["push", "workflow_dispatch"]);
        expect(deploy.on.push.branches).to.deep.equal(["main"]);
        const { dev, staging, prod } = deploy.jobs;
        expect([dev.needs, staging.needs, prod.needs]).to.deep.equal(["checks", "dev", "staging"]);
        expect(dev.if).to.equal("github.ref == 'refs/heads/main'");
        expect(prod.if).to.equal("github.event_name == 'workflow_dispatch'");
        expect([dev, staging, prod].map((j) => j.with)).to.deep.equal([
            { stack: "dev", "role-variable": "AWS_ROLE_ARN_DEV" },
            { stack: "staging", "role-variable": "AWS_ROLE_ARN_STAGING" },
            { stack: "prod", "role-variable": "AWS_ROLE_ARN_PROD" },
        ]);
        const up = workflow("pulumi-up.yml").jobs.up;
        expect(up.environment).to.equal("${{ inputs.stack }}");
        expect(up.concurrency).to.deep.equal({ group: "pulumi-${{ inputs.stack }}", "cancel-in-progress": false });
        const pulumi = (up.steps as Step[]).find((s) => s.uses?.startsWith("pulumi/actions@"));
        expect(pulumi?.with).to.include({ command: "up", policyPacks: "policy" });
    });

    it("run the Pulumi CLI release of the @pulumi/pulumi version the program pins", () => {
        const pinned = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).dependencies["@pulumi/pulumi"];
        const versions = files
            .flatMap(steps)
            .flatMap((s) => (s.with?.["pulumi-version"] ? [s.with["pulumi-version"]] : []));
        expect(versions).to.have.length(2);
        for (const v of versions) expect(v).to.equal(pinned);
    });

    it("document every repository variable they read in README.md", () => {
        const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
        const names = new Set<string>();
        for (const file of files) {
            for (const [, name] of text(file).matchAll(/vars\.([A-Z0-9_]+)/g)) names.add(name);
            for (const [, name] of text(file).matchAll(/\b(AWS_(?:PREVIEW_)?ROLE_ARN_[A-Z]+)\b/g)) names.add(name);
        }
        expect([...names].sort()).to.deep.equal([
            "AWS_PREVIEW_ROLE_ARN_DEV",
            "AWS_PREVIEW_ROLE_ARN_PROD",
            "AWS_PREVIEW_ROLE_ARN_STAGING",
            "AWS_REGION",
            "AWS_ROLE_ARN_DEV",
            "AWS_ROLE_ARN_PROD",
            "AWS_ROLE_ARN_STAGING",
            "PULUMI_BACKEND_URL",
        ]);
        for (const name of names) expect(readme, name).to.include(`| \`${name}\` |`);
    });
});
