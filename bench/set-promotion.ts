/**
 * `node bench/set-promotion.ts` (~25 s): why the server no longer keeps a Set of unsent
 * responses (issue 18). A plain Node HTTP server is loaded by 50 keep-alive connections for 10 s,
 * once as is and once with every response added to a long-lived Set on arrival and deleted
 * once sent, as src/server.ts did for its shutdown. V8's `--trace-gc` lines give what each
 * scavenge leaves in the old generation and how long it takes.
 *
 * Measured on Node 24.21 (2026-12-03): without the Set 0.15 MB per scavenge at 1.7 ms; with it
 * 6.0 MB at 10.9 ms, although each response leaves the Set within milliseconds.
 */
import { createServer, type ServerResponse } from 'node:http'
import { Pool } from 'undici'
import { childOutput } from './child-output.ts'

const SECONDS = 10

async function serve(withSet: boolean): Promise<void> {
  const unsent = new Set<ServerResponse>()
  const server = createServer((_request, response) => {
    setImmediate(() => response.end('{"ok":true}'))
  })
  if (withSet) {
    server.on('request', (_request, response: ServerResponse) => {
      unsent.add(response)
      response.once('close', () => unsent.delete(response))
    })
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  const pool = new Pool(`http://127.0.0.1:${address.port}`, { connections: 50 })
  const end = Date.now() + SECONDS * 1000
  let requests = 0
  await Promise.all(
    Array.from({ length: 50 }, async () => {
      while (Date.now() < end) {
        const answer = await pool.request({ path: '/', method: 'GET' })
        await answer.body.text()
        requests++
      }
    }),
  )
  await pool.close()
  server.close()
  process.stdout.write(`requests ${requests}\n`)
}

interface Scavenges {
  count: number
  meanMs: number
  oldGrowthMb: number
  requests: number
}

/** The child's scavenges after its first 2 s, from `--trace-gc`. */
async function run(withSet: boolean): Promise<Scavenges> {
  const output = await childOutput(
    import.meta.filename,
    ['--trace-gc'],
    withSet ? 'child-with-set' : 'child',
  )
  const times: number[] = []
  const growth: number[] = []
  let previous: number | null = null
  for (const line of output.split('\n')) {
    const gc =
      / ([\d.]+) ms: (Scavenge|Mark-Compact) [\d.]+ \([\d.]+\) -> ([\d.]+) .*?MB, ([\d.]+) \//.exec(
        line,
      )
    if (!gc || Number(gc[1]) < 2000) continue
    if (gc[2] === 'Mark-Compact') {
      previous = null
      continue
    }
    const after = Number(gc[3])
    times.push(Number(gc[4]))
    if (previous !== null) growth.push(after - previous)
    previous = after
  }
  const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length
  return {
    count: times.length,
    meanMs: mean(times),
    oldGrowthMb: mean(growth),
    requests: Number(/requests (\d+)/.exec(output)?.[1] ?? 0),
  }
}

const role = process.argv[2]
if (role === 'child' || role === 'child-with-set') {
  await serve(role === 'child-with-set')
} else {
  for (const withSet of [false, true]) {
    const result = await run(withSet)
    process.stdout.write(
      `${withSet ? 'responses in a Set' : 'no Set            '}  ${result.requests} requests, ` +
        `${result.count} scavenges, ${result.meanMs.toFixed(2)} ms each, ` +
        `${result.oldGrowthMb.toFixed(2)} MB left in the old generation per scavenge\n`,
    )
  }
}
