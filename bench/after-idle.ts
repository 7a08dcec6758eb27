/**
 * `node bench/after-idle.ts`: the connector's CPU per `/v1/me` request before and after it
 * idles through full collections, and the state V8 leaves `process.nextTick` in (~1 min).
 *
 * Without src/tick-object-shape.ts, a few full collections while no tick is queued turn the
 * tick-object literal in `nextTick` megamorphic for good (test/tick-object-shape.test.ts shows
 * it in a plain Node process); under valgrind that was ~10 % of A's instructions. This runs
 * the real connector at full speed: 20,000 requests to warm up, 3 × 20,000 measured (8 in
 * flight), SIGUSR2 to bench/idle-collections.ts, 3 × 20,000 again.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createControlClient } from '../emulator/index.ts'
import { buildBundle } from '../scripts/build.ts'
import { createIdentityKeys } from '../test/fixtures/identity.ts'
import { freePort, PROJECT_ROOT } from '../test/process.ts'
import { connectUsers, createMinter, seedAccounts, userId } from './fixture.ts'
import { requestAll } from './load.ts'
import {
  CONNECTOR_ENTRY,
  cpuMsOf,
  logBetween,
  type Service,
  startConnector,
  startEmulatorProcess,
} from './processes.ts'

const USERS = 20
const IN_FLIGHT = 8
const REQUESTS = 20_000
const ROUNDS = 3

/** REQUESTS of `/v1/me`, spread over the users' assertions. */
function load(url: string, assertions: string[]): Promise<void> {
  return requestAll({
    url,
    path: '/v1/me',
    count: REQUESTS,
    inFlight: IN_FLIGHT,
    headers: (i) => ({ 'x-identity-assertion': assertions[i % assertions.length] as string }),
  })
}

/** CPU µs per request, one figure per round. */
async function rounds(connector: Service, assertions: string[]): Promise<number[]> {
  const figures: number[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const before = await cpuMsOf(connector.pid)
    await load(connector.url, assertions)
    figures.push((((await cpuMsOf(connector.pid)) - before) * 1000) / REQUESTS)
  }
  return figures
}

if (CONNECTOR_ENTRY.startsWith('dist/')) await buildBundle()
const keys = await createIdentityKeys()
const mint = createMinter(keys)
const dir = await mkdtemp(join(tmpdir(), 'cc-after-idle-'))
const services: Service[] = []
try {
  const port = await freePort()
  const emulator = await startEmulatorProcess({
    redirectUri: `http://127.0.0.1:${port}/connect/callback`,
  })
  services.push(emulator)
  await seedAccounts(createControlClient(emulator.url), USERS)
  const connector = await startConnector({
    port,
    emulatorUrl: emulator.url,
    jwks: keys.jwks,
    dir,
    nodeArgs: [
      '--expose-gc',
      '--allow-natives-syntax',
      '--import',
      join(PROJECT_ROOT, 'bench/idle-collections.ts'),
    ],
  })
  services.push(connector)
  await connectUsers(connector.url, emulator.url, mint, USERS)
  const assertions = Array.from({ length: USERS }, (_, i) => mint(userId(i)))
  await load(connector.url, assertions)
  const warm = await rounds(connector, assertions)
  const log = join(dir, 'connector.log')
  process.kill(connector.pid, 'SIGUSR2')
  await logBetween(log, '=== collected', '\n')
  const idle = await rounds(connector, assertions)
  process.kill(connector.pid, 'SIGUSR2')
  const feedback = await logBetween(log, '=== nextTick feedback', '=== end')
  // The tick-object literal's property definitions, in `nextTick`'s feedback vector.
  const states = [...feedback.matchAll(/DefineKeyedOwnPropertyInLiteral (\w+)/g)].map(
    (match) => match[1] as string,
  )
  const format = (figures: number[]) => figures.map((f) => f.toFixed(1)).join(' / ')
  process.stdout.write(
    `connector CPU µs per /v1/me (${IN_FLIGHT} in flight, rounds of ${REQUESTS}):\n` +
      `  warm:                    ${format(warm)}\n` +
      `  after idle collections:  ${format(idle)} (the first round re-optimises)\n` +
      `nextTick's tick-object literal after those rounds: ${states.join(', ')}\n`,
  )
} finally {
  await Promise.all(services.map((service) => service.stop()))
  await rm(dir, { recursive: true, force: true })
}
