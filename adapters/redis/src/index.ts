export { redisStores, REDIS_CAPABILITIES, type RedisStores, type RedisStoresOptions } from "./stores.js";
export { RedisKeys } from "./keys.js";
export { RedisFlagStore } from "./flag-store.js";
export { RedisChangeRequestStore } from "./change-request-store.js";
export { RedisCounterStore } from "./counter-store.js";
export { RedisOutboxStore } from "./outbox-store.js";
export { RedisIncidentStore } from "./incident-store.js";
export { RedisAuthEventStore } from "./auth-event-store.js";
export { mapRedisError } from "./errors.js";
