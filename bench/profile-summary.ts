/**
 * `node bench/profile-summary.ts <file.cpuprofile> [fromSeconds toSeconds [requests]]`: where a
 * `--cpu-prof` profile (from `npm run bench -- --profile`) spent its time, self time grouped
 * by kind (socket and file writes, GC, the SQLite row read, each package, each of our files).
 * With a window (seconds since the profile started; the bench log shows when each phase ran)
 * and the phase's request count, the figures are microseconds per request.
 */
import { readFileSync } from 'node:fs'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string }
}
interface Profile {
  nodes: ProfileNode[]
  startTime: number
  samples: number[]
  timeDeltas: number[]
}

const WRITES = new Set([
  'writeUtf8String',
  'writeLatin1String',
  'writeString',
  'writev',
  'writeBuffer',
])

function kindOf({ functionName, url }: ProfileNode['callFrame']): string {
  if (WRITES.has(functionName)) return 'socket and file writes (syscalls)'
  if (functionName === '(garbage collector)') return 'garbage collector'
  if (functionName === '(idle)' || functionName === '(program)') return functionName
  if (url.includes('/node_modules/drizzle-orm/') || url.includes('/node_modules/better-sqlite3/'))
    return 'SQLite row read (drizzle + better-sqlite3)'
  const modules = url.split('/node_modules/')
  if (modules.length > 1) return `package ${modules.at(-1)?.split('/')[0]}`
  const project = /\/(src|bench|test)\/(.+)$/.exec(url)
  if (project) return `${project[1]}/${project[2]}`
  if (url.startsWith('node:')) return 'node internals'
  return 'native (JSON, crypto, wasm, …)'
}

const [file, from, to, requests] = process.argv.slice(2)
if (!file) {
  process.stderr.write(
    'usage: node bench/profile-summary.ts <file.cpuprofile> [from to [requests]]\n',
  )
  process.exit(2)
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile
const byId = new Map(profile.nodes.map((node) => [node.id, node]))
const window = from === undefined ? null : [Number(from) * 1e6, Number(to) * 1e6]
const kinds = new Map<string, number>()
let elapsed = 0
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0
  elapsed += delta
  if (window && (elapsed < (window[0] as number) || elapsed >= (window[1] as number))) return
  const node = byId.get(id)
  if (!node) return
  const kind = kindOf(node.callFrame)
  kinds.set(kind, (kinds.get(kind) ?? 0) + delta)
})
const busy = [...kinds].filter(([kind]) => kind !== '(idle)').reduce((sum, [, us]) => sum + us, 0)
const perRequest = requests ? Number(requests) : null
const rows = [...kinds].sort((a, b) => b[1] - a[1])
for (const [kind, us] of rows) {
  const share = kind === '(idle)' ? '' : `${((100 * us) / busy).toFixed(1).padStart(5)}%`
  const amount = perRequest
    ? `${(us / perRequest).toFixed(1).padStart(8)} µs/req`
    : `${(us / 1000).toFixed(0).padStart(8)} ms`
  process.stdout.write(`${amount}  ${share.padStart(6)}  ${kind}\n`)
}
process.stdout.write(
  `${perRequest ? `${(busy / perRequest).toFixed(1).padStart(8)} µs/req` : `${(busy / 1000).toFixed(0).padStart(8)} ms`}          busy in total\n`,
)
