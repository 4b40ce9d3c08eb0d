/** An ECR repository, as an image URI names it. */
export interface EcrRepository {
    readonly account: string;
    readonly region: string;
    readonly name: string;
    /** The registry is in the China partition (`.amazonaws.com.cn`). */
    readonly china: boolean;
}

/**
 * The repository of an ECR image URI (`<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<name>:<tag>` or
 * `...@sha256:<digest>`), or undefined for any other registry. The one parser of ECR URIs: the
 * config's stricter patterns only decide what a key accepts.
 */
export function parseEcrImageUri(uri: string): EcrRepository | undefined {
    const m = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?\/([^:@]+)/.exec(uri);
    return m ? { account: m[1], region: m[2], name: m[4], china: m[3] === ".cn" } : undefined;
}

/** `arn:<partition>:ecr:<region>:<account>:repository/<name>`. */
export function ecrRepositoryArn(repository: EcrRepository, partition: string): string {
    return `arn:${partition}:ecr:${repository.region}:${repository.account}:repository/${repository.name}`;
}
