/** The emulator's public types: other tests, the benchmark and the demo are written against them. */

export interface AppRegistration {
  appKey: string
  appSecret: string
  redirectUris: string[]
  /** The scopes ticked on the app's Permissions tab; default: every user scope Dropbox knows. */
  scopes?: string[]
}

export interface EmulatorOptions {
  /** Default 127.0.0.1. */
  host?: string
  /** Default 0: a free port. */
  port?: number
  /** The content host's port (downloads); default 0: a free port. */
  contentPort?: number
  /** Default: one app, `test-app-key` / `test-app-secret`, redirect `http://localhost:8080/connect/callback`. */
  apps?: AppRegistration[]
  /** Default 14400, as every Dropbox example shows. */
  accessTokenTtlSeconds?: number
  /** Default true: the standard accounts (see `seed.ts`). */
  seed?: boolean
}

export type Namespace = 'home' | 'root'

export interface FileSpec {
  /** A Dropbox path (`/Office/notes.txt`), relative to the namespace. Missing parents are created. */
  path: string
  type: 'file' | 'folder'
  /** Bytes; files only. Default 1024. */
  size?: number
  /** Default `home`. `root` is the team root of a team-space account. */
  namespace?: Namespace
  /** `client_modified`, ISO 8601; default the emulator's now. */
  clientModified?: string
  /** `server_modified`, ISO 8601; default the emulator's now. */
  serverModified?: string
}

export interface TeamSpec {
  id: string
  name: string
  /** The shared team root; accounts naming the same id share it. */
  rootNamespaceId: string
  /** The member folder in the team root that shows the home namespace, e.g. `/Carol Team`. */
  homePath: string
  teamMemberId?: string
}

export interface AccountSpec {
  accountId: string
  email: string
  givenName: string
  surname: string
  /** Default `${givenName} ${surname}`. */
  displayName?: string
  emailVerified?: boolean
  /** Default `US`; null leaves it out, as Dropbox does when it does not know. */
  country?: string | null
  /** Default `en`. */
  locale?: string
  /** The deprecated numeric `uid` of token responses; default derived from the account. */
  uid?: string
  homeNamespaceId: string
  /** Present: a team-space account (root namespace ≠ home namespace). */
  team?: TeamSpec
  files?: FileSpec[]
}

export type Fault =
  | {
      kind: 'rate_limit'
      retryAfter: number
      body: 'json' | 'text'
      reason?: 'too_many_requests' | 'too_many_write_operations'
    }
  | { kind: 'status'; status: 500 | 502 | 503 }
  /** Waits, then answers normally. */
  | { kind: 'delay'; ms: number }
  /** Never answers (until close). */
  | { kind: 'hang' }
  /** 200, application/json, and the first half of the real body. */
  | { kind: 'malformed_json' }
  /** Destroys the socket without an answer. */
  | { kind: 'reset' }
  /** Answers normally, but resets the connection after `afterBytes` bytes of the body. */
  | { kind: 'reset_mid_body'; afterBytes: number }
  /**
   * `401 expired_access_token` whatever the token: Dropbox may end an access token before its
   * `expires_in`, and this is how a freshly refreshed one is refused (API routes only).
   */
  | { kind: 'expired_access_token' }

export interface TokenRequestRecord {
  grantType: string
  /** Every parameter as received (query string and form body), secrets kept. */
  params: Record<string, string>
  clientAuth: 'basic' | 'param' | 'none'
}

export interface CallRecord {
  route: string
  /** Received headers, lower-case names. */
  headers: Record<string, string>
  /** Parsed JSON, the raw text when it is not JSON, or null when empty. */
  body: unknown
  /** The status answered; 0 when the connection was reset or is still hanging. */
  status: number
  /**
   * Streamed bodies (downloads): bytes written, and how the body ended — `complete`, `reset`
   * (a `reset_mid_body` fault), `cancelled` (the client closed the connection first) or
   * `open` (still going).
   */
  streamed?: { bytes: number; end: 'open' | 'complete' | 'reset' | 'cancelled' }
}

export interface EmulatorCounters {
  tokenRequests: { authorization_code: number; refresh_token: number }
  tokenRequestLog: TokenRequestRecord[]
  revocations: number
  /** Every `/2/*` call, oldest first; only the last 10,000 are kept. */
  calls: CallRecord[]
  /** Query parameters of each `GET /oauth2/authorize`. */
  authorizeRequests: Array<Record<string, string>>
}

export interface ConsentChoice {
  accountId: string
  decision: 'allow' | 'deny'
}

/** The control surface; `control-client.ts` offers the same methods, async, over HTTP. */
export interface EmulatorControl {
  registerApp(app: AppRegistration): void
  seedAccount(spec: AccountSpec): void
  addFiles(accountId: string, files: FileSpec[]): void
  deleteFile(accountId: string, path: string, namespace?: Namespace): void
  /**
   * Ends the access tokens of one account (all accounts when undefined). `olderThanMs`: only
   * those issued at least that long ago on the emulator's clock, as Dropbox ends a token at
   * its age, never the one it has just issued.
   */
  expireAccessTokens(accountId?: string, options?: { olderThanMs?: number }): void
  revokeRefreshTokens(accountId: string): void
  migrateToTeam(accountId: string, team?: Partial<TeamSpec>): void
  /** Every cursor of the account now answers `409 reset`. */
  resetCursors(accountId: string): void
  advanceClock(seconds: number): void
  injectFault(route: string, fault: Fault, times?: number): void
  clearFaults(): void
  counters(): EmulatorCounters
  resetCounters(): void
}
