import * as pulumi from "@pulumi/pulumi";

/** A bare custom resource for testing the harness itself. */
export class Resource extends pulumi.CustomResource {
    constructor(name: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        super("test:index:Probe", name, props, opts);
    }
}
