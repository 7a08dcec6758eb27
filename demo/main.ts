/**
 * `npm run demo`: the Dropbox emulator (in this process), the connector (a child process
 * running `src/server.ts` with real configuration, exactly as in production) and the stand-in
 * main app (in this process), on loopback. Keys are generated into the demo folder on the
 * first run and reused. With DROPBOX_APP_KEY and DROPBOX_APP_SECRET set, the real Dropbox is
 * used instead of the emulator.
 *
 * Env: DEMO_PORT (main app, 3000), DEMO_CONNECTOR_PORT (8080, the connector's public listener),
 * DEMO_CONNECTOR_INTERNAL_PORT (8082, its internal listener: `/v1`, docs), DEMO_EMULATOR_PORT
 * (8081); 0 picks a free port. DEMO_DIR (./.demo). LOG_LEVEL for the connector (warn).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { FastifyInstance } from 'fastify'
import { type Emulator, startEmulator } from '../emulator/index.ts'
import { DEMO_IDENTITY_ISSUER, loadOrCreateDemoKeys } from './keys.ts'
import { buildMainApp, RETURN_PATH } from './main-app.ts'

const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url))
const BIND_HOST = '127.0.0.1'
/** Browsers see `localhost`: the host the Dropbox App Console accepts on plain http. */
const PUBLIC_HOST = 'localhost'
const EMULATOR_APP = { appKey: 'demo-app-key', appSecret: 'demo-app-secret' }

const env = process.env
const say = (line: string) => process.stdout.write(`${line}\n`)
const fail = (message: string): never => {
  process.stderr.write(`demo: ${message}\n`)
  process.exit(1)
}

function portFromEnv(name: string, fallback: number): number {
  const raw = env[name]?.trim()
  if (!raw) return fallback
  const port = Number(raw)
  if (!/^\d+$/.test(raw) || port > 65_535) fail(`${name} must be a port number, not "${raw}"`)
  return port
}

/**
 * Ports for DEMO_CONNECTOR_PORT=0 and DEMO_CONNECTOR_INTERNAL_PORT=0 are chosen before the
 * connector starts (they go into its redirect URI), and are free again until it binds them.
 * A port from `listen(0)` lies in the kernel's ephemeral range (Linux: 32768–60999), from which
 * any other process's `listen(0)` may take the same one in that window, as a CI run did; a
 * port below that range is only ever taken by a process that names it.
 */
const CHOSEN_PORTS = { from: 20_000, to: 32_767 }

function canListen(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', () => done(false))
    server.listen(port, BIND_HOST, () => server.close(() => done(true)))
  })
}

async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port =
      CHOSEN_PORTS.from + Math.floor(Math.random() * (CHOSEN_PORTS.to - CHOSEN_PORTS.from))
    if (await canListen(port)) return port
  }
  throw new Error(`no free port between ${CHOSEN_PORTS.from} and ${CHOSEN_PORTS.to}`)
}

const ports = {
  mainApp: portFromEnv('DEMO_PORT', 3000),
  connector: portFromEnv('DEMO_CONNECTOR_PORT', 8080),
  connectorInternal: portFromEnv('DEMO_CONNECTOR_INTERNAL_PORT', 8082),
  emulator: portFromEnv('DEMO_EMULATOR_PORT', 8081),
}
const demoDir = resolve(PROJECT_ROOT, env.DEMO_DIR || '.demo')
const realDropbox = Boolean(env.DROPBOX_APP_KEY || env.DROPBOX_APP_SECRET)
if (realDropbox && !(env.DROPBOX_APP_KEY && env.DROPBOX_APP_SECRET)) {
  fail('set both DROPBOX_APP_KEY and DROPBOX_APP_SECRET for the real Dropbox, or neither')
}

let emulator: Emulator | undefined
let mainApp: FastifyInstance | undefined
let connector: ChildProcess | undefined
let connectorExited: Promise<unknown> = Promise.resolve()
let stopping = false

async function stop(exitCode: number): Promise<void> {
  if (stopping) return
  stopping = true
  connector?.kill('SIGTERM')
  await Promise.allSettled([connectorExited, mainApp?.close(), emulator?.close()])
  process.exit(exitCode)
}
process.on('SIGINT', () => void stop(0))
process.on('SIGTERM', () => void stop(0))

async function listenFailed(error: unknown, what: string, variable: string): Promise<never> {
  const code = (error as NodeJS.ErrnoException).code
  process.stderr.write(
    code === 'EADDRINUSE'
      ? `demo: the ${what} port is in use; choose another with ${variable}=<port> (0 = any free port)\n`
      : `demo: cannot start the ${what}: ${(error as Error).message}\n`,
  )
  await stop(1)
  throw error
}

async function main(): Promise<void> {
  const keys = await loadOrCreateDemoKeys(demoDir)

  // The connector's URL goes into the emulator's redirect URIs and the main app before it starts.
  const connectorPort = ports.connector || (await freePort())
  const connectorUrl = `http://${PUBLIC_HOST}:${connectorPort}`
  const redirectUri = `${connectorUrl}/connect/callback`
  // The main app calls `/v1` on the internal listener, server to server (contract §5).
  const internalPort = ports.connectorInternal || (await freePort())
  const connectorApiUrl = `http://${BIND_HOST}:${internalPort}`

  let dropboxEnv: Record<string, string> = {}
  if (!realDropbox) {
    emulator = await startEmulator({
      host: BIND_HOST,
      port: ports.emulator,
      apps: [{ ...EMULATOR_APP, redirectUris: [redirectUri] }],
    }).catch((error) => listenFailed(error, 'Dropbox emulator', 'DEMO_EMULATOR_PORT'))
    const emulatorUrl = `http://${PUBLIC_HOST}:${new URL(emulator.url).port}`
    dropboxEnv = {
      DROPBOX_APP_KEY: EMULATOR_APP.appKey,
      DROPBOX_APP_SECRET: EMULATOR_APP.appSecret,
      DROPBOX_REDIRECT_URI: redirectUri,
      DROPBOX_API_BASE_URL: emulatorUrl,
      DROPBOX_AUTHORIZE_URL: `${emulatorUrl}/oauth2/authorize`,
      DROPBOX_CONTENT_BASE_URL: emulator.contentUrl,
    }
  }

  const app = await buildMainApp({
    connectorUrl: connectorApiUrl,
    identity: { privateJwk: keys.identityPrivateJwk, issuer: DEMO_IDENTITY_ISSUER },
  })
  mainApp = app
  await app
    .listen({ host: BIND_HOST, port: ports.mainApp })
    .catch((error) => listenFailed(error, 'main app', 'DEMO_PORT'))
  const mainAppUrl = `http://${PUBLIC_HOST}:${(app.server.address() as { port: number }).port}`

  // The emulator forgets its tokens when it stops, so its vault starts empty on every run;
  // against the real Dropbox the connections are kept.
  const databasePath = join(demoDir, realDropbox ? 'connector.db' : 'connector-emulator.db')
  if (!realDropbox) {
    await Promise.all(
      ['', '-wal', '-shm'].map((suffix) => rm(`${databasePath}${suffix}`, { force: true })),
    )
  }
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'src/server.ts')], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: {
      ...env,
      ...dropboxEnv,
      HOST: BIND_HOST,
      PORT: String(connectorPort),
      INTERNAL_HOST: BIND_HOST,
      INTERNAL_PORT: String(internalPort),
      PUBLIC_BASE_URL: connectorUrl,
      DATABASE_PATH: databasePath,
      DATABASE_URL: '',
      VAULT_KEYS: keys.vaultKeys,
      IDENTITY_JWKS: keys.identityJwksPath,
      IDENTITY_ISSUER: DEMO_IDENTITY_ISSUER,
      IDENTITY_AUDIENCE: 'cloud-connector',
      // The one caller of the demo may call everything (contract §2).
      IDENTITY_CALLERS: JSON.stringify({
        'main-app': { kids: [keys.identityPrivateJwk.kid], operations: ['*'] },
      }),
      CONNECT_RETURN_URL: `${mainAppUrl}${RETURN_PATH}`,
      LOG_LEVEL: env.LOG_LEVEL || 'warn',
    },
  })
  connector = child
  connectorExited = new Promise((done) => child.once('exit', done))
  child.once('exit', (code, signal) => {
    if (stopping) return
    process.stderr.write(`demo: the connector exited (${signal ?? `code ${code}`}); stopping\n`)
    void stop(1)
  })
  await waitUntilReady(`${connectorUrl}/readyz`)
  await waitUntilReady(`${connectorApiUrl}/readyz`)

  say('')
  say('cloud-connector demo')
  say(`  main app (stand-in)  ${mainAppUrl}`)
  say(`  connector            ${connectorUrl}   (API, internal: ${connectorApiUrl}/docs)`)
  if (emulator) {
    say(
      `  Dropbox emulator     ${dropboxEnv.DROPBOX_API_BASE_URL}   (accounts: ${emulator
        .describe()
        .accounts.map((account) => account.email)
        .join(', ')})`,
    )
  } else {
    say(`  Dropbox              the real one, app ${env.DROPBOX_APP_KEY}`)
    say(`                       register this redirect URI in the App Console: ${redirectUri}`)
  }
  say(`  keys and data        ${demoDir} (${keys.created ? 'keys generated now' : 'keys reused'})`)
  say('')
  say(`Open ${mainAppUrl} in your browser. Ctrl+C stops everything.`)
}

async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (!stopping && Date.now() < deadline) {
    const status = await fetch(url).then(
      (response) => response.status,
      () => 0,
    )
    if (status === 200) return
    await new Promise((done) => setTimeout(done, 100))
  }
  if (!stopping) {
    process.stderr.write(`demo: the connector did not become ready at ${url}\n`)
    await stop(1)
  }
}

main().catch(async (error: unknown) => {
  if (!stopping) {
    process.stderr.write(`demo: ${error instanceof Error ? error.message : String(error)}\n`)
    await stop(1)
  }
})
