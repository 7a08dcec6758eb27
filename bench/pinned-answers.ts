/**
 * `node bench/pinned-answers.ts` (~35 s): why a Dropbox answer is decoded in the continuation
 * that parses it, and its body read once (issue 18). 50 calls in flight, each waiting 100–180 ms
 * for an "upstream" (a timer) and then parsing a 190 KB `list_folder`-like body, as the
 * listing row does. The promises of a call are made when it starts; one that outlives two
 * scavenges is moved to the old generation, and whatever it is later resolved with stays
 * reachable for every scavenge until the next mark-compact (V8 reads old-to-new pointers as
 * roots without knowing whether the old object is still alive). So:
 *
 * - `pinned`: the body's holder and then the parsed body travel up four awaits, as
 *   `rpc → callWithRetries → #call → listFolder` did;
 * - `decoded`: the body is taken from its holder and parsed and mapped in one continuation;
 *   only the mapped listing travels up.
 *
 * Each runs in its own process with a 16 MB semi-space (the rate of the bench's listing row in
 * a process that does nothing else); `--trace-gc-nvp` gives what scavenges promote.
 */
import { childOutput } from './child-output.ts'

const CALLS = 6000
const IN_FLIGHT = 50

function listingBody(): Buffer {
  const entries = Array.from({ length: 500 }, (_, i) => ({
    '.tag': 'file',
    name: `file-${i}.txt`,
    id: `id:${'a'.repeat(20)}${i}`,
    path_lower: `/workspace/folder/file-${i}.txt`,
    path_display: `/Workspace/Folder/file-${i}.txt`,
    client_modified: '2026-01-01T00:00:00Z',
    server_modified: '2026-01-01T00:00:00Z',
    rev: '0123456789abcdef0',
    size: 1234 + i,
    content_hash: 'f'.repeat(64),
    is_downloadable: true,
  }))
  return Buffer.from(JSON.stringify({ entries, cursor: 'c'.repeat(200), has_more: false }))
}

type Raw = { entries: Array<Record<string, unknown>> }
const toListing = (raw: Raw) =>
  raw.entries.map((entry) => ({ name: entry.name, size: entry.size, rev: entry.rev }))

class Answer {
  #body: string | null
  constructor(body: string) {
    this.#body = body
  }
  peek(): string {
    return this.#body as string
  }
  take(): string {
    const body = this.#body as string
    this.#body = null
    return body
  }
}

async function child(mode: 'pinned' | 'decoded'): Promise<void> {
  const body = listingBody()
  const upstream = () =>
    new Promise<Answer>((resolve) =>
      setTimeout(() => resolve(new Answer(body.toString('utf8'))), 100 + Math.random() * 80),
    )
  const rpc =
    mode === 'pinned'
      ? () => upstream().then((answer) => JSON.parse(answer.peek()) as Raw)
      : () => upstream().then((answer) => toListing(JSON.parse(answer.take()) as Raw))
  const attempt = async () => await rpc()
  const withRetries = async () => await attempt()
  const call = async () => await withRetries()
  const listFolder = async () => {
    const result = await call()
    return mode === 'pinned' ? toListing(result as Raw) : (result as ReturnType<typeof toListing>)
  }
  let done = 0
  let sent = 0
  const cpu = process.cpuUsage()
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (done < CALLS) {
        sent += JSON.stringify(await listFolder()).length
        done++
      }
    }),
  )
  const used = process.cpuUsage(cpu)
  process.stdout.write(`cpu-per-call ${((used.user + used.system) / done).toFixed(0)} ${sent}\n`)
}

interface Collections {
  promotedMb: number
  scavenges: number
  markCompacts: number
  cpuUsPerCall: number
}

async function run(mode: 'pinned' | 'decoded'): Promise<Collections> {
  const output = await childOutput(
    import.meta.filename,
    ['--max-semi-space-size=16', '--trace-gc-nvp'],
    `child-${mode}`,
  )
  let promoted = 0
  let scavenges = 0
  let markCompacts = 0
  for (const line of output.split('\n')) {
    if (/ gc=s /.test(line)) {
      scavenges++
      promoted += Number(/ promoted=(\d+)/.exec(line)?.[1] ?? 0)
    } else if (/ gc=mc /.test(line)) {
      markCompacts++
    }
  }
  return {
    promotedMb: promoted / 1e6,
    scavenges,
    markCompacts,
    cpuUsPerCall: Number(/cpu-per-call (\d+)/.exec(output)?.[1] ?? Number.NaN),
  }
}

const role = process.argv[2]
if (role === 'child-pinned' || role === 'child-decoded') {
  await child(role === 'child-pinned' ? 'pinned' : 'decoded')
} else {
  for (const mode of ['pinned', 'decoded'] as const) {
    const result = await run(mode)
    process.stdout.write(
      `${mode.padEnd(8)} ${CALLS} calls: ${result.promotedMb.toFixed(0)} MB promoted by ` +
        `${result.scavenges} scavenges, ${result.markCompacts} mark-compacts, ` +
        `${result.cpuUsPerCall} µs of CPU per call\n`,
    )
  }
}
