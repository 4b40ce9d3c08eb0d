import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { WebAccess } from "../../config";
import { withName } from "../../lib/tags";
import { PORTS } from "../network";

/** The TLS policy of HTTPS listeners: TLS 1.3 and 1.2 only. */
export const SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";

/** One listener: its port, protocol and what it does with requests. */
export interface ListenerSpec {
    role: "https" | "http" | "flower";
    port: number;
    https: boolean;
    action: { forward: "api" | "flower" } | { redirectToHttps: number };
}

/**
 * The load balancer's listeners. With a certificate: HTTPS to the UI and HTTP redirecting to it;
 * without: HTTP to the UI. Flower gets its own port, HTTPS when there is a certificate.
 */
export function listenerSpecs(args: { https: boolean; flower: boolean }): ListenerSpec[] {
    const specs: ListenerSpec[] = args.https
        ? [
              { role: "https", port: PORTS.https, https: true, action: { forward: "api" } },
              { role: "http", port: PORTS.http, https: false, action: { redirectToHttps: PORTS.https } },
          ]
        : [{ role: "http", port: PORTS.http, https: false, action: { forward: "api" } }];
    if (args.flower)
        specs.push({ role: "flower", port: PORTS.flower, https: args.https, action: { forward: "flower" } });
    return specs;
}

/** A target group's health check: path and accepted codes (Flower answers 401 behind basic auth). */
export function targetGroupHealth(target: "api" | "flower", airflowMajor: 2 | 3): { path: string; matcher: string } {
    if (target === "flower") return { path: "/healthcheck", matcher: "200-401" };
    return { path: airflowMajor === 3 ? "/api/v2/monitor/health" : "/health", matcher: "200" };
}

export interface LoadBalancerArgs {
    environment: string;
    airflowMajor: 2 | 3;
    webAccess: WebAccess;
    certificateArn?: string;
    flower: boolean;
    protectData: boolean;
    vpcId: pulumi.Input<string>;
    publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupId: pulumi.Input<string>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface LoadBalancer {
    alb: aws.lb.LoadBalancer;
    targetGroups: { api: aws.lb.TargetGroup; flower?: aws.lb.TargetGroup };
}

/** The application load balancer, its target groups and listeners (`<name>-alb`, `<name>-<role>-tg`, ...). */
export function createLoadBalancer(name: string, args: LoadBalancerArgs, parent: pulumi.Resource): LoadBalancer {
    const { tags } = args;
    const internal = args.webAccess === "internal";
    const alb = new aws.lb.LoadBalancer(
        `${name}-alb`,
        {
            name: `${name}`.slice(0, 32),
            loadBalancerType: "application",
            internal,
            subnets: internal ? args.privateSubnetIds : args.publicSubnetIds,
            securityGroups: [args.securityGroupId],
            dropInvalidHeaderFields: true,
            enableDeletionProtection: args.protectData,
            idleTimeout: 120,
            tags: withName(tags, `${name}-alb`),
        },
        { parent },
    );
    const targetGroup = (target: "api" | "flower", prefix: string, port: number) => {
        const health = targetGroupHealth(target, args.airflowMajor);
        return new aws.lb.TargetGroup(
            `${name}-${target}-tg`,
            {
                namePrefix: prefix,
                port,
                protocol: "HTTP",
                targetType: "ip",
                vpcId: args.vpcId,
                deregistrationDelay: 30,
                healthCheck: {
                    path: health.path,
                    matcher: health.matcher,
                    interval: 30,
                    timeout: 10,
                    healthyThreshold: 2,
                    unhealthyThreshold: 5,
                },
                tags: withName(tags, `${name}-${target}-tg`),
            },
            { parent },
        );
    };
    const targetGroups = {
        api: targetGroup("api", "api-", PORTS.airflowWeb),
        flower: args.flower ? targetGroup("flower", "flwr-", PORTS.flower) : undefined,
    };
    for (const spec of listenerSpecs({ https: !!args.certificateArn, flower: args.flower })) {
        const action = spec.action;
        const defaultActions: aws.types.input.lb.ListenerDefaultAction[] =
            "forward" in action
                ? [{ type: "forward", targetGroupArn: targetGroups[action.forward]!.arn }]
                : [
                      {
                          type: "redirect",
                          redirect: { protocol: "HTTPS", port: String(action.redirectToHttps), statusCode: "HTTP_301" },
                      },
                  ];
        new aws.lb.Listener(
            `${name}-${spec.role}-listener`,
            {
                loadBalancerArn: alb.arn,
                port: spec.port,
                protocol: spec.https ? "HTTPS" : "HTTP",
                ...(spec.https ? { certificateArn: args.certificateArn, sslPolicy: SSL_POLICY } : {}),
                defaultActions,
                tags: withName(tags, `${name}-${spec.role}-listener`),
            },
            { parent },
        );
    }
    return { alb, targetGroups };
}
