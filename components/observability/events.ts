/**
 * EventBridge events turned into metrics, without code: a rule sends matching events to one log
 * group per stack, and a metric filter counts them (EVENT_METRICS). Pure: the component creates one
 * rule and one metric filter per spec.
 */
import { EVENT_METRICS } from "./metrics";

export interface EventMetricSpec {
    key: string;
    description: string;
    /** The rule's event pattern. */
    pattern: Record<string, unknown>;
    /** The metric filter's pattern over the logged event (JSON). */
    filterPattern: string;
    metricName: string;
    /** Dimension name -> JSON selector into the event. */
    dimensions: Record<string, string>;
}

/**
 * The Celery layout's events. ECS sends "ECS Task State Change" (Fargate Spot interruptions stop tasks
 * with stopCode SpotInterruption) and "ECS Deployment State Change" (SERVICE_DEPLOYMENT_FAILED when the
 * deployment circuit breaker gives up and rolls back):
 * https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs_service_events.html (events-ref-ecs).
 */
export function celeryEventMetrics(clusterArn: string, servicePrefix: string): EventMetricSpec[] {
    return [
        {
            key: "spot-interruptions",
            description: "Fargate Spot interruptions of this cluster's tasks",
            pattern: {
                source: ["aws.ecs"],
                "detail-type": ["ECS Task State Change"],
                detail: { clusterArn: [clusterArn], stopCode: ["SpotInterruption"], lastStatus: ["STOPPED"] },
            },
            filterPattern: '{ $.detail.stopCode = "SpotInterruption" }',
            metricName: EVENT_METRICS.spotInterruptions,
            dimensions: { ClusterArn: "$.detail.clusterArn", Group: "$.detail.group" },
        },
        {
            key: "deployments-rolled-back",
            description: "ECS deployments of this cluster's services that failed and were rolled back",
            pattern: {
                source: ["aws.ecs"],
                "detail-type": ["ECS Deployment State Change"],
                resources: [{ prefix: servicePrefix }],
                detail: { eventName: ["SERVICE_DEPLOYMENT_FAILED"] },
            },
            filterPattern: '{ $.detail.eventName = "SERVICE_DEPLOYMENT_FAILED" }',
            metricName: EVENT_METRICS.deploymentsRolledBack,
            dimensions: { Service: "$.resources[0]" },
        },
    ];
}

/** MWAA's "MWAA Environment Status Change" event (source aws.airflow; EventBridge events-ref-airflow). */
export const MWAA_UNHEALTHY_STATUSES = ["UNAVAILABLE", "UPDATE_FAILED", "CREATE_FAILED"] as const;

export function mwaaEventMetrics(environmentArn: string): EventMetricSpec[] {
    return [
        {
            key: "environment-unhealthy",
            description: "MWAA status changes to an unhealthy status",
            pattern: {
                source: ["aws.airflow"],
                "detail-type": ["MWAA Environment Status Change"],
                resources: [environmentArn],
                detail: { status: [...MWAA_UNHEALTHY_STATUSES] },
            },
            filterPattern: `{ ${MWAA_UNHEALTHY_STATUSES.map((s) => `$.detail.status = "${s}"`).join(" || ")} }`,
            metricName: EVENT_METRICS.mwaaEnvironmentUnhealthy,
            dimensions: { EnvironmentArn: "$.resources[0]" },
        },
    ];
}
