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

/**
 * Where the listeners' certificate comes from: a given ACM ARN, one issued for the stack's domain
 * (validated by DNS in its Route 53 zone), or none (HTTP only, which the config allows on internal
 * load balancers or with airflow:publicPlainHttp).
 */
export type CertificateSource = { kind: "arn"; arn: string } | { kind: "issued"; domain: string } | { kind: "none" };

export function certificateSource(args: {
    certificateArn?: string;
    domain?: { name: string; hostedZoneId?: string };
}): CertificateSource {
    if (args.certificateArn) return { kind: "arn", arn: args.certificateArn };
    if (args.domain) return { kind: "issued", domain: args.domain.name };
    return { kind: "none" };
}

/** The zone a domain's records go in is looked up by the domain's parent name: airflow.example.com -> example.com. */
export function parentZoneName(domain: string): string {
    const labels = domain.split(".");
    return labels.length > 2 ? labels.slice(1).join(".") : domain;
}

export interface LoadBalancerArgs {
    environment: string;
    airflowMajor: 2 | 3;
    webAccess: WebAccess;
    certificateArn?: string;
    /** The UI's DNS name: an alias record points it at the load balancer, and a certificate is issued for it. */
    domain?: { name: string; hostedZoneId?: string };
    flower: boolean;
    protectData: boolean;
    /** Bucket of the load balancer's access logs (prefix alb). Undefined: no access logs. */
    accessLogBucket?: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    privateSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    securityGroupId: pulumi.Input<string>;
    tags?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export interface LoadBalancer {
    alb: aws.lb.LoadBalancer;
    /** https://<domain> or https://<alb dns>, or http:// without a certificate. */
    url: pulumi.Output<string>;
    /** Whether the listeners serve HTTPS. */
    https: boolean;
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
            ...(args.accessLogBucket
                ? { accessLogs: { enabled: true, bucket: args.accessLogBucket, prefix: "alb" } }
                : {}),
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
    const zoneId = args.domain ? hostedZoneId(args.domain, parent) : undefined;
    const certificateArn = listenerCertificate(name, certificateSource(args), zoneId, args.tags, parent);
    const https = certificateArn !== undefined;
    const targetGroups = {
        api: targetGroup("api", "api-", PORTS.airflowWeb),
        flower: args.flower ? targetGroup("flower", "flwr-", PORTS.flower) : undefined,
    };
    for (const spec of listenerSpecs({ https, flower: args.flower })) {
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
                ...(spec.https ? { certificateArn, sslPolicy: SSL_POLICY } : {}),
                defaultActions,
                tags: withName(tags, `${name}-${spec.role}-listener`),
            },
            { parent },
        );
    }
    let host: pulumi.Output<string> = alb.dnsName;
    if (args.domain && zoneId) {
        const record = new aws.route53.Record(
            `${name}-alias-record`,
            {
                zoneId,
                name: args.domain.name,
                type: "A",
                aliases: [{ name: alb.dnsName, zoneId: alb.zoneId, evaluateTargetHealth: true }],
            },
            { parent },
        );
        host = record.fqdn.apply((fqdn) => fqdn.replace(/\.$/, ""));
    }
    const url = pulumi.interpolate`${https ? "https" : "http"}://${host}`;
    return { alb, url, https, targetGroups };
}

/** The zone of the domain: as given, or Route 53's public zone of the parent name. */
function hostedZoneId(domain: { name: string; hostedZoneId?: string }, parent: pulumi.Resource): pulumi.Output<string> {
    if (domain.hostedZoneId) return pulumi.output(domain.hostedZoneId);
    return aws.route53.getZoneOutput({ name: parentZoneName(domain.name), privateZone: false }, { parent }).zoneId;
}

/**
 * The listeners' certificate ARN. An issued certificate is validated by DNS: one CNAME in the zone,
 * then aws.acm.CertificateValidation waits until ACM has issued it, so the HTTPS listener never
 * references a pending certificate (https://docs.aws.amazon.com/acm/latest/userguide/dns-validation.html).
 */
function listenerCertificate(
    name: string,
    source: CertificateSource,
    zoneId: pulumi.Output<string> | undefined,
    tags: LoadBalancerArgs["tags"],
    parent: pulumi.Resource,
): pulumi.Output<string> | undefined {
    if (source.kind === "none") return undefined;
    if (source.kind === "arn") return pulumi.output(source.arn);
    const certificate = new aws.acm.Certificate(
        `${name}-certificate`,
        {
            domainName: source.domain,
            validationMethod: "DNS",
            keyAlgorithm: "EC_prime256v1",
            tags: withName(tags, `${name}-certificate`),
        },
        { parent },
    );
    const option = certificate.domainValidationOptions[0];
    const validationRecord = new aws.route53.Record(
        `${name}-certificate-validation-record`,
        {
            zoneId: zoneId!,
            name: option.resourceRecordName,
            type: option.resourceRecordType,
            records: [option.resourceRecordValue],
            ttl: 300,
            allowOverwrite: true,
        },
        { parent },
    );
    const validation = new aws.acm.CertificateValidation(
        `${name}-certificate-validation`,
        { certificateArn: certificate.arn, validationRecordFqdns: [validationRecord.fqdn] },
        { parent },
    );
    return validation.certificateArn;
}
