export * from "./conformance.js";
export * from "./services.js";
export * from "./audit.js";
export * from "./flags.js";
export * from "./incidents.js";
export * from "./auth-events.js";
export * from "./counters.js";
export * from "./outbox.js";
