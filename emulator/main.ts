/**
 * `npm run emulator`: a standalone Dropbox emulator for the demo, the benchmark and manual
 * tries. Env: EMULATOR_PORT (default 8765; 0 = a free port), EMULATOR_CONTENT_PORT (default
 * 8766; the content host, for downloads), EMULATOR_HOST (127.0.0.1),
 * EMULATOR_APP_KEY, EMULATOR_APP_SECRET, EMULATOR_REDIRECT_URIS (comma-separated).
 */
import { DEFAULT_APP } from './apps.ts'
import { startEmulator } from './index.ts'

const env = process.env
const port = Number(env.EMULATOR_PORT ?? 8765)
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(
    `EMULATOR_PORT must be a port number, not ${JSON.stringify(env.EMULATOR_PORT)}\n`,
  )
  process.exit(1)
}
const contentPort = Number(env.EMULATOR_CONTENT_PORT ?? 8766)
if (!Number.isInteger(contentPort) || contentPort < 0 || contentPort > 65_535) {
  process.stderr.write(
    `EMULATOR_CONTENT_PORT must be a port number, not ${JSON.stringify(env.EMULATOR_CONTENT_PORT)}\n`,
  )
  process.exit(1)
}
const app = {
  appKey: env.EMULATOR_APP_KEY || DEFAULT_APP.appKey,
  appSecret: env.EMULATOR_APP_SECRET || DEFAULT_APP.appSecret,
  redirectUris: env.EMULATOR_REDIRECT_URIS
    ? env.EMULATOR_REDIRECT_URIS.split(',')
        .map((uri) => uri.trim())
        .filter(Boolean)
    : DEFAULT_APP.redirectUris,
}

let emulator: Awaited<ReturnType<typeof startEmulator>>
try {
  emulator = await startEmulator({
    host: env.EMULATOR_HOST || '127.0.0.1',
    port,
    contentPort,
    apps: [app],
  })
} catch (error) {
  process.stderr.write(`dropbox emulator: cannot start: ${(error as Error).message}\n`)
  process.exit(1)
}

const { url } = emulator
// A secret given through the environment is not echoed; the built-in test secret is.
const secret = env.EMULATOR_APP_SECRET ? '(from EMULATOR_APP_SECRET)' : app.appSecret
const lines = [
  `Dropbox emulator listening on ${url}`,
  `  authorize  ${url}/oauth2/authorize`,
  `  token      ${url}/oauth2/token`,
  `  API        ${url}/2/`,
  `  content    ${emulator.contentUrl}/2/ (files/download)`,
  `  control    ${url}/__emulator/ (state, counters, inject-fault, …)`,
  `App: key ${app.appKey}, secret ${secret}`,
  `  redirect URIs: ${app.redirectUris.join(', ')}`,
  'Accounts:',
  ...emulator.describe().accounts.map(({ accountId, displayName, email, rootInfo }) => {
    const kind = rootInfo['.tag'] === 'team' ? 'team space' : 'personal'
    return `  ${accountId}  ${displayName} <${email}>  ${kind}, root ${rootInfo.root_namespace_id}, home ${rootInfo.home_namespace_id}`
  }),
]
process.stdout.write(`${lines.join('\n')}\n`)

let closing = false
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (closing) return
    closing = true
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
}
