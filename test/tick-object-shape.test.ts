/**
 * src/tick-object-shape.ts against the V8 behaviour it works around, in a plain Node process:
 * run ticks, go idle through a few full collections, run ticks again, then read the feedback of
 * `process.nextTick`'s tick-object literal with `%DebugPrint`. Without a kept tick object its
 * property definitions turn megamorphic (every tick through V8's runtime); with one they stay
 * monomorphic. When Node changes `nextTick`, one of these fails and says which way.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'

const MODULE = pathToFileURL(join(import.meta.dirname, '../src/tick-object-shape.ts')).href

function script(keep: boolean): string {
  return `
${keep ? `await (await import(${JSON.stringify(MODULE)})).tickObjectKept` : ''}
const ticks = (n) => new Promise((resolve) => {
  let left = n
  const step = () => (--left === 0 ? resolve() : process.nextTick(step))
  process.nextTick(step)
})
const idle = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
await ticks(50_000)
// V8 keeps an unused map through a couple of collections before it frees it.
for (let i = 0; i < 4; i++) {
  await idle(5)
  globalThis.gc()
}
await ticks(50_000)
new Function('f', '%DebugPrint(f)')(process.nextTick)
`
}

/** The states of the tick-object literal's property definitions in `nextTick`'s feedback. */
async function literalStates(keep: boolean): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-tick-'))
  try {
    const file = join(dir, 'ticks.mjs')
    await writeFile(file, script(keep))
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--allow-natives-syntax', '--expose-gc', file],
      { maxBuffer: 16 * 1024 * 1024 },
    )
    return [...stdout.matchAll(/slot #\d+ DefineKeyedOwnPropertyInLiteral (\w+)/g)].map(
      (match) => match[1] as string,
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

test('without a kept tick object, nextTick loses its fast path after idle collections', async () => {
  const states = await literalStates(false)
  assert.ok(states.length >= 5, `nextTick's literal changed: ${states.join(', ')}`)
  assert.ok(
    states.includes('MEGAMORPHIC'),
    `Node no longer loses nextTick's fast path (${states.join(', ')}): src/tick-object-shape.ts can go`,
  )
})

test('with src/tick-object-shape.ts, nextTick keeps its fast path', async () => {
  const states = await literalStates(true)
  assert.ok(states.length >= 5, `nextTick's literal changed: ${states.join(', ')}`)
  assert.deepEqual(
    states.filter((state) => state !== 'MONOMORPHIC'),
    [],
    `nextTick's literal: ${states.join(', ')}`,
  )
})
