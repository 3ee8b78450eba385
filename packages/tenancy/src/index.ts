export {
  currentScope,
  currentTenant,
  requireScopeKey,
  requireTenant,
  runUnscoped,
  TenantScope,
} from "./tenant-scope.js";
export { type LeakAttempt, type LeakGuardOptions, reportLeak } from "./leak-guard.js";
export {
  SCOPED_STORE_NAMES,
  type ScopedStoreName,
  type ScopedStores,
  scopeStores,
  type ScopeStoresOptions,
  type TenantScopedStore,
} from "./scoped-stores.js";
export {
  agreeing,
  firstOf,
  fromHeader,
  fromJwtClaim,
  fromPathSegment,
  fromSubdomain,
  type JwtClaimOptions,
  type PathSegmentOptions,
  resolveTenant,
  type SubdomainOptions,
  type TenantRequest,
  type TenantResolver,
} from "./resolvers.js";
export { type JwtClaims, type JwtVerification, verifyJwt } from "./jwt.js";
export {
  fetchTenantRequest,
  nodeTenantRequest,
  tenantMiddleware,
  type TenantMiddlewareOptions,
  withTenantFetch,
  withTenantNode,
} from "./middleware.js";
export {
  GLOBAL_SCOPE_SETTING,
  type GlobalRowAccess,
  OPS_RLS_TABLES,
  OPS_TABLE_NAMES,
  rlsSql,
  type RlsSqlOptions,
  rlsStatements,
  type RlsTable,
  TENANT_SETTING,
} from "./rls-sql.js";
export {
  SET_TENANT_SQL,
  type SqlPool,
  type SqlQueryable,
  tenantSettingValue,
  withCurrentTenant,
  withTenant,
  withTenantConnection,
  type WithTenantOptions,
} from "./with-tenant.js";
export {
  type PrismaTenantClient,
  type PrismaTenantTx,
  type PrismaTransactionOptions,
  tenantExtension,
  type TenantExtensionOptions,
} from "./prisma.js";
export {
  currentKeyspace,
  escapeRedisGlob,
  type KeyspaceOptions,
  type RedisScanClient,
  type RedisSubscriber,
  tenantKeyspace,
  TenantKeyspace,
  tenantOfKey,
} from "./redis-keys.js";
