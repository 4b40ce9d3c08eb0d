import * as pulumi from "@pulumi/pulumi";

/** One IAM policy statement. Actions are always listed by name: never "*" or "service:*". */
export interface Statement {
    Sid?: string;
    Effect: "Allow" | "Deny";
    Action: string | string[];
    Resource?: pulumi.Input<string> | pulumi.Input<string>[] | pulumi.Output<string[]>;
    Principal?: Record<string, string | string[]>;
    Condition?: Record<string, Record<string, pulumi.Input<string> | pulumi.Input<string>[]>>;
}

/** A policy document as the JSON string IAM takes. */
export function policyDocument(statements: Statement[]): pulumi.Output<string> {
    return pulumi.jsonStringify({ Version: "2012-10-17", Statement: statements });
}

/** What pulling an image from one ECR repository takes (the token call has no resource: account-level). */
export function ecrPullStatements(repositoryArn: pulumi.Input<string>, sid = "PullImage"): Statement[] {
    return [
        { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
        {
            Sid: sid,
            Effect: "Allow",
            Action: ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
            Resource: repositoryArn,
        },
    ];
}

/** Denies every request to `resources` that does not come over TLS (a resource policy statement). */
export function denyInsecureTransport(action: string, resources: Statement["Resource"]): Statement {
    return {
        Sid: "DenyInsecureTransport",
        Effect: "Deny",
        Principal: { AWS: "*" },
        Action: action,
        Resource: resources,
        Condition: { Bool: { "aws:SecureTransport": "false" } },
    };
}
