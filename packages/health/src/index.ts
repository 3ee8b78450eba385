export {
  type CheckContext,
  type CheckOutcome,
  type CheckResult,
  type HealthCheck,
  type HealthReport,
  type HealthStatus,
  type ProbeKind,
  type SeedCheck,
} from "./types.js";
export { runHealthChecks, type RunHealthChecksOptions } from "./seed.js";
export { runCheck, executeChecks, aggregateStatus, CheckTimeoutError, DEFAULT_CHECK_TIMEOUT_MS } from "./run-checks.js";
export { scrubSecrets, describeError, REDACTED } from "./scrub.js";
export { createHealth, type Health, type HealthOptions, type HealthRequest, type DetailsPolicy, type ServiceInfo } from "./health.js";
export { bearerToken } from "./details.js";
export { notifyOnFailure, type StatusChange, type StatusChangeListener } from "./status-change.js";
export { toHealthJson, httpStatusOf, HEALTH_JSON_TYPE, type HealthJson, type HealthJsonCheck } from "./health-json.js";
export { toPrometheus, PROMETHEUS_CONTENT_TYPE, type PrometheusOptions } from "./prometheus.js";
export {
  DEFAULT_HEALTH_PATHS,
  type HealthHttpResponse,
  type HealthPaths,
  HealthPathsSchema,
  type HealthRoute,
  HealthRouteSchema,
  respondToHealthRequest,
  routeTable,
} from "./respond.js";
export {
  type ClosableServer,
  type Closer,
  gracefulShutdown,
  type GracefulShutdown,
  type GracefulShutdownOptions,
} from "./shutdown.js";
export {
  createFetchHandler,
  type FetchHandlerOptions,
  type HealthFetchHandler,
  healthRoute,
} from "./http/fetch.js";
export {
  healthMiddleware,
  healthNodeRoute,
  type NodeHealthMiddleware,
  type NodeMiddlewareOptions,
} from "./http/node.js";
export {
  fastifyHealth,
  type FastifyHealthOptions,
  type FastifyLike,
  type FastifyReplyLike,
  type FastifyRequestLike,
} from "./http/fastify.js";
export {
  pgCheck,
  prismaCheck,
  drizzleCheck,
  type SqlCheckOptions,
  type PgQueryable,
  type PrismaLike,
  type DrizzleLike,
} from "./checks/sql.js";
export { redisCheck, type RedisCheckOptions, type RedisPingable } from "./checks/redis.js";
export { httpCheck, type HttpCheckOptions } from "./checks/http.js";
export { eventLoopCheck, type EventLoopCheckOptions, type ClosableHealthCheck } from "./checks/event-loop.js";
export { heapCheck, type HeapCheckOptions } from "./checks/heap.js";
export { diskCheck, type DiskCheckOptions } from "./checks/disk.js";
export type { BaseCheckOptions } from "./checks/common.js";
