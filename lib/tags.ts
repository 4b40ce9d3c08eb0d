import * as pulumi from "@pulumi/pulumi";

/** The given tags plus a Name tag, as the `tags` input of an AWS resource. */
export function withName(
    tags: pulumi.Input<Record<string, pulumi.Input<string>>> | undefined,
    name: string,
): pulumi.Output<Record<string, string>> {
    return pulumi.output(tags ?? {}).apply((t): Record<string, string> => ({ ...t, Name: name }));
}
