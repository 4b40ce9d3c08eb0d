/* eslint-disable @typescript-eslint/no-explicit-any -- the engine's property maps are untyped */
// Stand-in provider plugins for the real Pulumi CLI and engine (npm run test:cli): `aws`, `awsx` and
// `random`, at the versions package.json pins, answering the engine's calls the way the mock harness
// (tools/harness/mocks.ts, one source for both) answers the mock runtime. They touch no cloud: outputs
// are the inputs plus computed ids and ARNs, deterministic for each URN; the data sources the program
// invokes are answered, any other invoke fails loudly. They are installed only into the isolated
// PULUMI_HOME of the CLI tests (tools/cli/plugins.ts), never into a user's ~/.pulumi.
//
//   node tools/cli/providers/standin.ts <aws|awsx|random> <version> <engine address>
// The SDK's modules one by one, not its index: the index loads the automation API, the TypeScript
// compiler and npm's arborist (for function serialization), which a stand-in never uses; each
// stand-in process started 0.5 s of CPU sooner for it, three of them on every preview and up.
import type * as pulumi from "@pulumi/pulumi";
import { output } from "@pulumi/pulumi/output";
import * as provider from "@pulumi/pulumi/provider";
import { ComponentResource } from "@pulumi/pulumi/resource";
import { appendFileSync } from "fs";
import { isDeepStrictEqual } from "util";
import { AirflowMocks, DEFAULT_MOCK_REGION, unwrapSecrets } from "../../harness/mocks";

export const STANDIN_NOTICE = "stand-in provider for tests (airflow-on-aws tools/cli): creates nothing in any cloud";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** The type and name a URN ends with: urn:pulumi:<stack>::<project>::<parent$...$type>::<name>. */
export function parseUrn(urn: string): { type: string; name: string } {
    const parts = urn.split("::");
    const name = parts.slice(3).join("::");
    const types = parts[2].split("$");
    return { type: types[types.length - 1], name };
}

function containsUnknown(value: any): boolean {
    if (value === UNKNOWN) return true;
    if (Array.isArray(value)) return value.some(containsUnknown);
    if (value && typeof value === "object") return Object.values(value).some(containsUnknown);
    return false;
}

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const ASSET_SIGS = new Set(["c44067f5952c0a294b673a41bacd8c17", "0def7320c3a5731c473e5ecbe6d01bc7"]);

/**
 * Assets and archives reduced to their kind: the engine sends a Diff the new asset without its path
 * or hash, and the old one with both. The stand-in compares and derives values from the other inputs
 * (the program passes a content hash of its own, `sourceHash`, where content matters).
 */
export function withoutAssetContents(value: any): any {
    if (Array.isArray(value)) return value.map(withoutAssetContents);
    if (value && typeof value === "object") {
        if (ASSET_SIGS.has(value[SIG_KEY])) return { [SIG_KEY]: value[SIG_KEY] };
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, withoutAssetContents(v)]));
    }
    return value;
}

/** The state a resource has once created from these (checked) inputs: the inputs plus computed outputs. */
export function stateOf(mocks: AirflowMocks, urn: string, inputs: Record<string, any>): Record<string, any> {
    const { type, name } = parseUrn(urn);
    return { ...inputs, ...mocks.computed(type, name, withoutAssetContents(unwrapSecrets(inputs, "", []))) };
}

export function standInProvider(pkg: string, version: string, mocks: AirflowMocks): provider.Provider {
    const idOf = (urn: string) => `${parseUrn(urn).name}-id`;
    return {
        version,
        // Describes itself in `pulumi about` and plugin listings: never taken for the real provider.
        schema: JSON.stringify({ name: pkg, version, description: STANDIN_NOTICE }),
        async check(_urn, _olds, news) {
            return { inputs: news };
        },
        async diff(_id, urn, olds, news) {
            if (containsUnknown(news)) return { changes: true };
            const expected = withoutAssetContents(unwrapSecrets(stateOf(mocks, urn, news), "", []));
            const changes = !isDeepStrictEqual(expected, withoutAssetContents(unwrapSecrets(olds, "", [])));
            if (changes && process.env.STANDIN_DEBUG) {
                appendFileSync(
                    process.env.STANDIN_DEBUG,
                    `stand-in diff ${urn}: ${JSON.stringify({ expected, olds })}\n`,
                );
            }
            return { changes };
        },
        async create(urn, inputs) {
            return { id: idOf(urn), outs: stateOf(mocks, urn, inputs) };
        },
        async read(id, _urn, props) {
            return { id, props };
        },
        async update(_id, urn, _olds, news) {
            return { outs: stateOf(mocks, urn, news) };
        },
        async delete() {
            return;
        },
        async invoke(token, inputs) {
            // Throws for a data source the mocks do not answer: the engine shows the message and fails.
            return {
                outputs: mocks.call({ token, inputs: unwrapSecrets(inputs, "", []) } as pulumi.runtime.MockCallArgs),
            };
        },
        async construct(name, type, inputs, options) {
            // A remote component (awsx.ecr.Image): registered with its outputs, and no children, as
            // the mock runtime sees it.
            if (type !== "awsx:ecr:Image") throw new Error(`the stand-in awsx provider does not model ${type}`);
            const component = new (class extends ComponentResource {
                constructor() {
                    super(type, name, {}, options);
                }
                done(outputs: pulumi.Inputs) {
                    this.registerOutputs(outputs);
                }
            })();
            const outputs = output(inputs).apply((resolved) =>
                mocks.computed(type, name, unwrapSecrets(resolved, "", [])),
            );
            const state: Record<string, pulumi.Output<any>> = {};
            for (const key of ["imageUri"]) state[key] = outputs.apply((o) => o[key]);
            component.done(state);
            return { urn: component.urn, state };
        },
    };
}

if (require.main === module) {
    const [pkg, version, ...args] = process.argv.slice(2);
    if (!["aws", "awsx", "random"].includes(pkg) || !version) {
        console.error(`usage: standin.ts <aws|awsx|random> <version> <engine address>`);
        process.exit(2);
    }
    const mocks = new AirflowMocks();
    mocks.reset(process.env.STANDIN_AWS_REGION || DEFAULT_MOCK_REGION);
    void provider.main(standInProvider(pkg, version, mocks), args);
}
