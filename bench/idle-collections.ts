/**
 * Preloaded into the connector by bench/after-idle.ts only (`--import`, with `--expose-gc
 * --allow-natives-syntax`). The first SIGUSR2 takes the process through four full collections
 * with its event loop idle in between, as when traffic stops; the next one prints V8's
 * feedback for `process.nextTick` to stdout (the connector's log file), where the bench reads
 * the state of the tick-object literal (src/tick-object-shape.ts says why it matters).
 */
import { writeSync } from 'node:fs'

const debugPrint = new Function('f', '%DebugPrint(f)') as (value: unknown) => void
const gc = (globalThis as { gc?: () => void }).gc

let collected = false
process.on('SIGUSR2', async () => {
  if (collected) {
    writeSync(1, '=== nextTick feedback\n')
    debugPrint(process.nextTick)
    writeSync(1, '=== end\n')
    return
  }
  if (!gc) throw new Error('bench/idle-collections.ts needs --expose-gc')
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    gc()
  }
  collected = true
  writeSync(1, '=== collected\n')
})
