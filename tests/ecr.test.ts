// lib/ecr.ts, the one parser of ECR image URIs (config/aws.ts's region check reads it too).
import { expect } from "chai";
import { parseEcrImageUri } from "../lib/ecr";

describe("parseEcrImageUri's partition", () => {
    const cases: [string, boolean][] = [
        ["123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/jobs:1.0", true],
        ["123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/jobs:1.2", false],
    ];
    for (const [uri, china] of cases) {
        it(`reads ${china ? "a China" : "a non-China"} registry from ${uri}`, () => {
            expect(parseEcrImageUri(uri)).to.deep.include({ china, account: "123456789012" });
        });
    }
});
