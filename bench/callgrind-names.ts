/**
 * `node bench/callgrind-names.ts <dump> [--inclusive] [--callers | --callees]`: `callgrind_annotate` of a dump kept by
 * `INSTRUCTIONS_KEEP=1 npm run bench:instructions`, with V8's machine code named.
 *
 * callgrind knows the node binary's symbols but sees JIT-compiled JavaScript as bare addresses.
 * With `--perf-basic-prof` (which bench/instructions.ts adds when it keeps the dumps) V8 writes
 * `/tmp/perf-<pid>.map`, one `<start> <size> <name>` line per code object; each address is
 * replaced by the name of the code object that holds it, e.g. `JS:*parseHeaders file:…:524`.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { promisify } from 'node:util'

interface CodeObject {
  start: bigint
  end: bigint
  name: string
}

async function readPerfMap(file: string): Promise<CodeObject[]> {
  const objects: CodeObject[] = []
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const [start, size, ...name] = line.split(' ')
    if (!start || !size || name.length === 0) continue
    const from = BigInt(`0x${start}`)
    objects.push({ start: from, end: from + BigInt(`0x${size}`), name: name.join(' ') })
  }
  return objects.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0))
}

/** The code object holding `address`: the last one starting at or before it, if it reaches. */
function nameAt(objects: CodeObject[], address: bigint): string | undefined {
  let low = 0
  let high = objects.length - 1
  while (low <= high) {
    const middle = (low + high) >> 1
    if ((objects[middle] as CodeObject).start <= address) low = middle + 1
    else high = middle - 1
  }
  const candidate = objects[high]
  return candidate && address < candidate.end ? candidate.name : undefined
}

const [dump, ...flags] = process.argv.slice(2)
if (!dump) {
  process.stderr.write(
    'usage: node bench/callgrind-names.ts <callgrind dump> [--inclusive] [--callers | --callees]\n',
  )
  process.exit(2)
}
// Dumps are named `<service>.<pid>.<n>` (bench/instructions.ts).
const pid = basename(dump).split('.')[1]
const objects = await readPerfMap(`/tmp/perf-${pid}.map`)
const { stdout } = await promisify(execFile)(
  'callgrind_annotate',
  [
    '--threshold=99',
    ...(flags.includes('--inclusive') ? ['--inclusive=yes'] : []),
    // Each function with its callers above it (who concatenates strings?), or its callees below.
    ...(flags.includes('--callers') ? ['--tree=caller'] : []),
    ...(flags.includes('--callees') ? ['--tree=calling'] : []),
    dump,
  ],
  { maxBuffer: 256 * 1024 * 1024 },
)
process.stdout.write(
  stdout.replace(/0x([0-9a-f]{16})/g, (raw, hex: string) => {
    const name = nameAt(objects, BigInt(`0x${hex}`))
    return name ? `[${name}]` : raw
  }),
)
