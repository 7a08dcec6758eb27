/**
 * A local Dropbox: OAuth (`/oauth2/authorize`, `/oauth2/token`), `/2/users/get_current_account`,
 * `/2/files/list_folder(/continue)`, `/2/files/get_metadata`, `/2/auth/token/revoke`, plus a
 * control API under `/__emulator/`; and, on a second port as Dropbox's content host,
 * `/2/files/download`. Behaviour follows Dropbox's documentation and observed answers; where
 * those are silent it is the stricter choice, marked in a comment.
 */
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { RootInfo } from './accounts.ts'
import { DEFAULT_APP } from './apps.ts'
import { consent } from './consent.ts'
import { STANDARD_ACCOUNTS } from './seed.ts'
import { requestHandler } from './server.ts'
import { createState, type EmulatorState } from './state.ts'
import type {
  AccountSpec,
  AppRegistration,
  ConsentChoice,
  EmulatorControl,
  EmulatorCounters,
  EmulatorOptions,
  Fault,
  FileSpec,
  Namespace,
  TeamSpec,
} from './types.ts'

export { createControlClient, type EmulatorControlClient } from './control-client.ts'
export { accountIdFor, teamIdFor, teamMemberIdFor } from './ids.ts'
export { dropboxFetch } from './sdk-fetch.ts'
export { ACCOUNT_IDS, EXAMPLE_TEAM, STANDARD_ACCOUNTS } from './seed.ts'
export type * from './types.ts'

export interface Emulator extends EmulatorControl {
  /** e.g. `http://127.0.0.1:41234`; serves `/oauth2/authorize`, `/oauth2/token`, `/2/…`, `/__emulator/…`. */
  readonly url: string
  /** The content host (`content.dropboxapi.com`) on its own port: `/2/files/download`. */
  readonly contentUrl: string
  close(): Promise<void>
  /**
   * A browser on the consent page, over real HTTP: GETs the authorize URL (a dropbox.com
   * origin is rewritten to the emulator), submits the form and returns the redirect's
   * `Location`. Throws with the error page's text when the request was invalid. Without a
   * `redirect_uri` it returns the displayed answer as a query string (`code=…&state=…`).
   */
  consent(authorizeUrl: string, choice: ConsentChoice): Promise<string>
  /** Registered apps and accounts (also `GET /__emulator/state`). */
  describe(): EmulatorDescription
}

export interface EmulatorDescription {
  url: string
  contentUrl: string
  now: string
  apps: Array<{ appKey: string; redirectUris: string[]; scopes: string[] }>
  accounts: Array<{ accountId: string; email: string; displayName: string; rootInfo: RootInfo }>
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const ttl = options.accessTokenTtlSeconds ?? 14_400
  if (!Number.isInteger(ttl) || ttl < 1)
    throw new TypeError('accessTokenTtlSeconds must be an integer ≥ 1')
  const state = createState(ttl)
  for (const app of options.apps ?? [DEFAULT_APP]) state.apps.register(app)
  if (options.seed !== false) for (const spec of STANDARD_ACCOUNTS) state.accounts.seed(spec)
  const emulator = new LocalEmulator(state)
  await emulator.listen(options.host ?? '127.0.0.1', options.port ?? 0, options.contentPort ?? 0)
  return emulator
}

class LocalEmulator implements Emulator {
  readonly #state: EmulatorState
  readonly #held = new Set<ServerResponse>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #server: Server
  readonly #contentServer: Server
  #url = ''
  #contentUrl = ''

  constructor(state: EmulatorState) {
    this.#state = state
    const hooks = { state, control: this, held: this.#held, timers: this.#timers }
    this.#server = createServer(
      { keepAliveTimeout: 5_000 },
      requestHandler({ ...hooks, host: 'api' }),
    )
    this.#contentServer = createServer(
      { keepAliveTimeout: 5_000 },
      requestHandler({ ...hooks, host: 'content' }),
    )
  }

  get url(): string {
    return this.#url
  }

  get contentUrl(): string {
    return this.#contentUrl
  }

  async listen(host: string, port: number, contentPort: number): Promise<void> {
    this.#url = await listenOn(this.#server, host, port)
    try {
      this.#contentUrl = await listenOn(this.#contentServer, host, contentPort)
    } catch (error) {
      await closeServer(this.#server)
      throw error
    }
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    await Promise.all([closeServer(this.#server), closeServer(this.#contentServer)])
  }

  consent(authorizeUrl: string, choice: ConsentChoice): Promise<string> {
    return consent(this.#url, authorizeUrl, choice)
  }

  registerApp(app: AppRegistration): void {
    this.#state.apps.register(app)
  }

  seedAccount(spec: AccountSpec): void {
    this.#state.accounts.seed(spec)
  }

  addFiles(accountId: string, files: FileSpec[]): void {
    if (!Array.isArray(files)) throw new TypeError('addFiles: files must be an array')
    this.#state.accounts.addFiles(accountId, files)
  }

  deleteFile(accountId: string, path: string, namespace?: Namespace): void {
    this.#state.accounts.deleteFile(accountId, path, namespace)
  }

  expireAccessTokens(accountId?: string, options: { olderThanMs?: number } = {}): void {
    if (accountId !== undefined) this.#state.accounts.require(accountId)
    const { olderThanMs = 0 } = options
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0)
      throw new TypeError('expireAccessTokens: olderThanMs must be a number ≥ 0')
    this.#state.tokens.expireAccessTokens(accountId, olderThanMs)
  }

  revokeRefreshTokens(accountId: string): void {
    this.#state.accounts.require(accountId)
    this.#state.tokens.revokeRefreshTokens(accountId)
  }

  migrateToTeam(accountId: string, team?: Partial<TeamSpec>): void {
    this.#state.accounts.migrateToTeam(accountId, team)
  }

  resetCursors(accountId: string): void {
    this.#state.accounts.resetCursors(accountId)
  }

  advanceClock(seconds: number): void {
    this.#state.clock.advance(seconds)
  }

  injectFault(route: string, fault: Fault, times?: number): void {
    this.#state.faults.inject(route, fault, times)
  }

  clearFaults(): void {
    this.#state.faults.clear()
  }

  counters(): EmulatorCounters {
    return this.#state.counters.snapshot()
  }

  resetCounters(): void {
    this.#state.counters.reset()
  }

  describe(): EmulatorDescription {
    return {
      url: this.#url,
      contentUrl: this.#contentUrl,
      now: new Date(this.#state.clock.now()).toISOString(),
      apps: this.#state.apps.list().map((app) => ({
        appKey: app.appKey,
        redirectUris: [...app.redirectUris],
        scopes: [...app.scopes],
      })),
      accounts: this.#state.accounts.list().map((account) => ({
        accountId: account.accountId,
        email: account.email,
        displayName: account.displayName,
        rootInfo: account.rootInfo,
      })),
    }
  }
}

function listenOn(server: Server, host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      const address = server.address() as AddressInfo
      const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address
      resolve(`http://${shownHost}:${address.port}`)
    })
  })
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve()
  return new Promise((resolve) => {
    server.close(() => resolve())
    server.closeAllConnections()
  })
}
