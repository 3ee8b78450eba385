import type { Health } from "@ops/health";
import { json } from "../http.js";
import type { RouteDef } from "../router.js";

/** Health detail (every check with its status and timing). */
export function healthRoutes(health: Health): RouteDef[] {
  return [
    {
      method: "GET",
      path: "/health",
      permission: "read",
      // Backends and their state are the app's, not one tenant's.
      global: true,
      async handler() {
        return json(await health.check("readiness"));
      },
    },
  ];
}
