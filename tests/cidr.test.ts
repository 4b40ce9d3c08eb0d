import { expect } from "chai";
import { subnet, subnetPlan } from "../lib/cidr";

describe("subnet plan", () => {
    it("carves the n-th block of a prefix out of a network", () => {
        expect(subnet("10.40.0.0/16", 19, 0)).to.equal("10.40.0.0/19");
        expect(subnet("10.40.0.0/16", 19, 2)).to.equal("10.40.64.0/19");
        expect(subnet("10.40.192.0/19", 22, 1)).to.equal("10.40.196.0/22");
        expect(subnet("192.168.0.0/21", 24, 7)).to.equal("192.168.7.0/24");
    });

    it("refuses blocks that do not exist", () => {
        expect(() => subnet("10.40.0.0/16", 19, 8)).to.throw(
            RangeError,
            "10.40.0.0/16 has 8 blocks of /19; block 8 does not exist",
        );
        expect(() => subnet("10.40.0.0/16", 15, 0)).to.throw(RangeError, "cannot carve a /15 out of 10.40.0.0/16");
    });

    it("gives large private and small public subnets that never overlap", () => {
        expect(subnetPlan("10.40.0.0/16", 3)).to.deep.equal({
            private: ["10.40.0.0/19", "10.40.32.0/19", "10.40.64.0/19"],
            public: ["10.40.192.0/22", "10.40.196.0/22", "10.40.200.0/22"],
        });
        // The smallest VPC allowed still leaves /27 public subnets, above AWS's /28 minimum.
        expect(subnetPlan("10.1.0.0/21", 2).public).to.deep.equal(["10.1.6.0/27", "10.1.6.32/27"]);
    });
});
