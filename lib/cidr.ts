import * as ipaddr from "ipaddr.js";

/**
 * The `index`-th block of prefix length `newPrefix` inside the IPv4 network `cidr`,
 * e.g. subnet("10.40.0.0/16", 19, 2) is "10.40.64.0/19".
 */
export function subnet(cidr: string, newPrefix: number, index: number): string {
    const [addr, prefix] = ipaddr.IPv4.parseCIDR(cidr);
    if (newPrefix < prefix || newPrefix > 32) {
        throw new RangeError(`cannot carve a /${newPrefix} out of ${cidr}`);
    }
    const count = 2 ** (newPrefix - prefix);
    if (!Number.isInteger(index) || index < 0 || index >= count) {
        throw new RangeError(`${cidr} has ${count} blocks of /${newPrefix}; block ${index} does not exist`);
    }
    const base = addr.toByteArray().reduce((acc, byte) => acc * 256 + byte, 0);
    let start = base + index * 2 ** (32 - newPrefix);
    const bytes: number[] = [];
    for (let i = 0; i < 4; i++) {
        bytes.unshift(start % 256);
        start = Math.floor(start / 256);
    }
    return `${ipaddr.fromByteArray(bytes).toString()}/${newPrefix}`;
}

/**
 * The subnet plan of a VPC: private subnets take 1/8 of the VPC each (blocks 0-2), public subnets
 * 1/64 each, carved from the 7th eighth (block 6), so that the 8th eighth stays free for later use.
 */
export function subnetPlan(vpcCidr: string, azCount: number): { public: string[]; private: string[] } {
    const prefix = Number(vpcCidr.split("/")[1]);
    const publicPool = subnet(vpcCidr, prefix + 3, 6);
    const azs = [...Array(azCount).keys()];
    return {
        private: azs.map((i) => subnet(vpcCidr, prefix + 3, i)),
        public: azs.map((i) => subnet(publicPool, prefix + 6, i)),
    };
}
