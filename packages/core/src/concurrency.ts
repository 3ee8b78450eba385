/**
 * Maps `items` through `fn` with at most `limit` calls in flight, results in input order. Use it
 * wherever the number of items follows tenants or records: an unbounded `Promise.all` there opens
 * as many connections, sockets and promises as there are tenants.
 *
 * Rejects with the first error once the calls already in flight have settled; no new call starts
 * after a rejection. Catch inside `fn` to keep going past failures.
 * @throws RangeError when `limit` is not a positive integer.
 */
export async function mapLimit<T, R>(items: Iterable<T>, limit: number, fn: (item: T, index: number) => Promise<R> | R): Promise<R[]> {
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw new RangeError(`[ops/core] invalid limit: expected a positive integer, got ${String(limit)}`);
  const list = Array.isArray(items) ? (items as T[]) : [...items];
  const out = new Array<R>(list.length);
  let next = 0;
  let failed = false;
  let error: unknown;
  const lane = async (): Promise<void> => {
    while (!failed && next < list.length) {
      const i = next++;
      try {
        out[i] = await fn(list[i]!, i);
      } catch (err) {
        if (!failed) error = err;
        failed = true;
      }
    }
  };
  const lanes: Array<Promise<void>> = [];
  for (let i = 0; i < Math.min(limit, list.length); i++) lanes.push(lane());
  // At most `limit` lanes, whatever the number of items.
  await Promise.all(lanes);
  if (failed) throw error;
  return out;
}
