import type { OpsConsole } from "../types.js";
import { consoleNodeHandler, type NodeHandler } from "./node.js";

/**
 * Express (4 or 5) middleware: `app.use(consoleMiddleware(opsConsole))`, before any body parser
 * (the console reads and limits bodies itself). Requests outside the console's `basePath` go on
 * to `next()`.
 */
export function consoleMiddleware(c: OpsConsole): NodeHandler {
  return consoleNodeHandler(c);
}
