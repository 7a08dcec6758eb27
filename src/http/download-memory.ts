/**
 * Keeps a long download's memory flat. Every chunk read from the upstream socket is a fresh
 * Buffer whose bytes live outside the V8 heap; a pass-through stream creates almost no heap
 * garbage, so V8 only collects those buffers once 64 MiB of them have piled up (its external
 * allocation soft limit). A young-generation collection (a scavenge, well under a millisecond:
 * the chunks are young and dead) after every 16 MiB streamed returns them instead, for the
 * whole process rather than per download. `--expose-gc` is set at load, before any code reads
 * it; if a runtime refuses, streams still work and memory follows V8's own schedule.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const COLLECT_EVERY_BYTES = 16 * 2 ** 20

type Gc = (options?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void

function exposeGc(): Gc | null {
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as unknown
    return typeof gc === 'function' ? (gc as Gc) : null
  } catch {
    return null
  }
}

const gc = exposeGc()
let streamed = 0

/** Counts `bytes` that went through; collects the young generation when enough did. */
export function streamedBytes(bytes: number): void {
  if (gc === null) return
  streamed += bytes
  if (streamed < COLLECT_EVERY_BYTES) return
  streamed = 0
  gc({ type: 'minor' })
}
