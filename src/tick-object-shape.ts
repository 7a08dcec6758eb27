/**
 * Imported first by the server: keeps one of Node's `process.nextTick` tick objects alive for
 * the life of the process, so that `nextTick` stays on V8's fast path.
 *
 * Node builds every tick object with an object literal with computed keys (`{ [async_id_symbol]:
 * …, callback, args }`, lib/internal/process/task_queues.js). V8 keeps the hidden classes (maps)
 * of such an object only while some object uses them, and a few full collections at a moment
 * when no tick is queued (at start-up, or whenever the service goes idle) free them. The next
 * tick builds new ones, and the literal's feedback, which has no polymorphic state, turns
 * megamorphic for good: from then on every tick defines its five properties through V8's
 * runtime. In the connector that was ~40,000 of the ~395,000 instructions of a `/v1/me`
 * request (bench/instructions.ts, docs/performance.md); one kept tick object keeps the maps
 * alive, and `test/tick-object-shape.test.ts` shows both sides in a plain Node process.
 */
import { executionAsyncResource } from 'node:async_hooks'

/**
 * Held by `process`, not by a module variable: bundled, an unused module variable becomes a
 * local of the bundle's top-level code and is collected once that has run (measured: no effect).
 */
const KEPT = Symbol('a nextTick tick object, kept for its maps')

/** Resolves with the kept tick object (the resource this module's nextTick callback ran in). */
export const tickObjectKept: Promise<object> = new Promise((resolve) => {
  process.nextTick(() => {
    const tick = executionAsyncResource()
    Object.defineProperty(process, KEPT, { value: tick })
    resolve(tick)
  })
})
