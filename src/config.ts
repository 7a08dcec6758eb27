/**
 * The environment (contract §8), validated once at boot. Every problem is collected so an
 * operator sees the whole list in one run instead of fixing one variable per restart.
 */
import { readFileSync } from 'node:fs'
import { normalizeWorkspaceRoot, PathRuleError } from './dropbox/workspace-paths.ts'
import { type CallersConfig, parseCallers } from './identity/callers.ts'
import { isLoopbackHost, maskCredentials } from './url-safety.ts'

export interface VaultKeySpec {
  kid: string
  /** 32-byte X25519 secret key. */
  secretKey: Uint8Array
}

export interface JsonWebKeySet {
  keys: Array<Record<string, unknown>>
}

export interface Config {
  /** The public listener: browsers and the platform (contract §5). */
  port: number
  host: string
  /** The internal listener: `/v1`, metrics, docs. Equal to `port`: one listener serves both. */
  internalPort: number
  internalHost: string
  publicBaseUrl: string
  databasePath: string
  databaseUrl: string | undefined
  vaultKeys: VaultKeySpec[]
  identity: { jwks: JsonWebKeySet; issuer: string; audience: string }
  /** `IDENTITY_CALLERS`; undefined: every key may call everything (contract §2). */
  callers: CallersConfig | undefined
  cloudProvider: 'dropbox'
  dropbox: {
    appKey: string
    appSecret: string
    redirectUri: string
    scopes: string[]
    apiBaseUrl: string
    /** `DROPBOX_CONTENT_BASE_URL`: the content host, for downloads (contract §8). */
    contentBaseUrl: string
    authorizeUrl: string
    /** `DROPBOX_FORCE_REAPPROVE`: the consent page always shows the account picker (contract §3.2). */
    forceReapprove: boolean
  }
  connectReturnUrl: string
  workspaceRoot: string
  upstreamTimeoutMs: number
  /** `UPSTREAM_MAX_RESPONSE_BYTES`: a buffered upstream JSON answer above it is a 502 (contract §6). */
  upstreamMaxResponseBytes: number
  /**
   * `REFRESH_LEASE_MS`: how long one replica may hold a connection's refresh lease (contract §11).
   * Longer than any refresh takes; a replica killed mid-refresh blocks the others this long.
   */
  refreshLeaseMs: number
  logLevel: string
}

export class ConfigError extends Error {
  readonly problems: string[]
  constructor(problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

type Env = Record<string, string | undefined>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
/** Key ids (vault and identity): safe in file names, logs and headers. */
export const KID_PATTERN = /^[A-Za-z0-9._-]{1,64}$/

class Reader {
  readonly problems: string[] = []
  readonly env: Env
  /** `ALLOW_INSECURE_HTTP=true` lifts the https rule for non-loopback hosts (contract §8). */
  allowInsecureHttp = false
  constructor(env: Env) {
    this.env = env
  }

  private raw(name: string): string | undefined {
    const value = this.env[name]
    return value === undefined || value.trim() === '' ? undefined : value.trim()
  }

  optional(name: string, fallback: string): string {
    return this.raw(name) ?? fallback
  }

  required(name: string): string {
    const value = this.raw(name)
    if (value === undefined) this.problems.push(`${name} is required`)
    return value ?? ''
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.raw(name)
    if (value === undefined) return fallback
    const parsed = Number(value)
    if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max} (got "${value}")`)
      return fallback
    }
    return parsed
  }

  /** Error texts show the value with any credentials masked (contract §8). */
  url(name: string, fallback: string | undefined, protocols: string[]): string {
    const value = fallback === undefined ? this.required(name) : this.optional(name, fallback)
    if (value === '') return value
    let parsed: URL
    try {
      parsed = new URL(value)
    } catch {
      this.problems.push(`${name} must be an absolute URL (got "${maskCredentials(value)}")`)
      return value
    }
    if (!protocols.includes(parsed.protocol)) {
      this.problems.push(`${name} must use ${protocols.join(' or ')} (got "${parsed.protocol}")`)
    }
    return value
  }

  /** A URL browsers or this service follow: https unless loopback or explicitly allowed. */
  webUrl(name: string, fallback: string | undefined): string {
    const value = this.url(name, fallback, ['http:', 'https:'])
    if (value === '' || this.allowInsecureHttp) return value
    try {
      const parsed = new URL(value)
      if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
        this.problems.push(
          `${name} must use https: unless its host is loopback (set ALLOW_INSECURE_HTTP=true to allow http)`,
        )
      }
    } catch {
      // already reported by url()
    }
    return value
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.raw(name)
    if (value === undefined) return fallback
    if (value === 'true') return true
    if (value === 'false') return false
    this.problems.push(`${name} must be true or false (got "${value}")`)
    return fallback
  }

  fail(problem: string) {
    this.problems.push(problem)
  }
}

/** `kid:base64(32-byte X25519 secret key)`, comma-separated; the first encrypts (contract §7). */
export function parseVaultKeys(value: string): { keys: VaultKeySpec[]; problems: string[] } {
  const keys: VaultKeySpec[] = []
  const problems: string[] = []
  const seen = new Set<string>()
  value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .forEach((entry, index) => {
      const separator = entry.indexOf(':')
      const kid = separator === -1 ? '' : entry.slice(0, separator)
      const encoded = separator === -1 ? '' : entry.slice(separator + 1)
      // Never echo the entry: it is key material.
      if (!KID_PATTERN.test(kid)) {
        problems.push(
          `VAULT_KEYS entry ${index + 1} must look like "kid:base64key" with a kid of [A-Za-z0-9._-]`,
        )
        return
      }
      const secretKey = Buffer.from(encoded, 'base64')
      if (secretKey.length !== 32 || !/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) {
        problems.push(`VAULT_KEYS key "${kid}" must be base64 of exactly 32 bytes`)
        return
      }
      if (seen.has(kid)) {
        problems.push(`VAULT_KEYS has the key id "${kid}" twice`)
        return
      }
      seen.add(kid)
      keys.push({ kid, secretKey: new Uint8Array(secretKey) })
    })
  if (keys.length === 0 && problems.length === 0) problems.push('VAULT_KEYS has no key')
  return { keys, problems }
}

/** `IDENTITY_JWKS`: inline JSON, or the path of a JSON file. */
export function parseJwks(value: string): { jwks?: JsonWebKeySet; problem?: string } {
  let text = value
  if (!value.startsWith('{')) {
    try {
      text = readFileSync(value, 'utf8')
    } catch {
      return { problem: `IDENTITY_JWKS is neither inline JSON nor a readable file ("${value}")` }
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    return { problem: 'IDENTITY_JWKS is not valid JSON' }
  }
  const keys = (parsed as { keys?: unknown }).keys
  if (!Array.isArray(keys) || keys.length === 0) {
    return { problem: 'IDENTITY_JWKS must be a JWKS object with a non-empty "keys" array' }
  }
  for (const [index, key] of keys.entries()) {
    if (typeof key !== 'object' || key === null)
      return { problem: `IDENTITY_JWKS key ${index + 1} is not an object` }
    const jwk = key as Record<string, unknown>
    if ('d' in jwk)
      return {
        problem: `IDENTITY_JWKS key ${index + 1} is a private key: publish only public keys`,
      }
    if (typeof jwk.kid !== 'string' || jwk.kid === '') {
      return { problem: `IDENTITY_JWKS key ${index + 1} has no "kid"` }
    }
    const ed25519 = jwk.kty === 'OKP' && jwk.crv === 'Ed25519'
    const p256 = jwk.kty === 'EC' && jwk.crv === 'P-256'
    if (!ed25519 && !p256) {
      return {
        problem: `IDENTITY_JWKS key "${jwk.kid}" must be an Ed25519 (OKP) or P-256 (EC) public key`,
      }
    }
  }
  return { jwks: { keys: keys as Array<Record<string, unknown>> } }
}

export function loadConfig(env: Env = process.env): Config {
  const read = new Reader(env)
  read.allowInsecureHttp = read.boolean('ALLOW_INSECURE_HTTP', false)

  const publicBaseUrl = read.webUrl('PUBLIC_BASE_URL', 'http://localhost:8080').replace(/\/+$/, '')

  const vaultKeysText = read.required('VAULT_KEYS')
  const vault = vaultKeysText === '' ? { keys: [], problems: [] } : parseVaultKeys(vaultKeysText)
  for (const problem of vault.problems) read.fail(problem)

  const jwksText = read.required('IDENTITY_JWKS')
  const jwks = jwksText === '' ? {} : parseJwks(jwksText)
  if (jwks.problem) read.fail(jwks.problem)

  const callersText = read.optional('IDENTITY_CALLERS', '')
  let callers: CallersConfig | undefined
  if (callersText !== '' && jwks.jwks) {
    const kids = new Set(jwks.jwks.keys.map((key) => String(key.kid)))
    const parsed = parseCallers(callersText, kids)
    for (const problem of parsed.problems) read.fail(problem)
    callers = parsed.callers
  }

  const cloudProvider = read.optional('CLOUD_PROVIDER', 'dropbox')
  if (cloudProvider !== 'dropbox')
    read.fail(`CLOUD_PROVIDER must be "dropbox" (got "${cloudProvider}")`)

  const scopes = read
    .optional('DROPBOX_SCOPES', 'account_info.read files.metadata.read files.content.read')
    .split(/\s+/)
  if (scopes.some((scope) => !/^[A-Za-z0-9._]+$/.test(scope))) {
    read.fail('DROPBOX_SCOPES must be space-separated scope names like "files.metadata.read"')
  }

  const workspaceRoot = readWorkspaceRoot(env.WORKSPACE_ROOT, read)

  const logLevel = read.optional('LOG_LEVEL', 'info')
  if (!LOG_LEVELS.includes(logLevel)) read.fail(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`)

  const databaseUrl = env.DATABASE_URL?.trim()
    ? read.url('DATABASE_URL', '', ['postgres:', 'postgresql:'])
    : undefined

  const port = read.integer('PORT', 8080, 0, 65535)
  const host = read.optional('HOST', '0.0.0.0')
  const config: Config = {
    port,
    host,
    internalPort: read.integer('INTERNAL_PORT', 8081, 0, 65535),
    internalHost: read.optional('INTERNAL_HOST', host),
    publicBaseUrl,
    databasePath: read.optional('DATABASE_PATH', './data/connector.db'),
    databaseUrl,
    vaultKeys: vault.keys,
    identity: {
      jwks: jwks.jwks ?? { keys: [] },
      issuer: read.required('IDENTITY_ISSUER'),
      audience: read.optional('IDENTITY_AUDIENCE', 'cloud-connector'),
    },
    callers,
    cloudProvider: 'dropbox',
    dropbox: {
      appKey: read.required('DROPBOX_APP_KEY'),
      appSecret: read.required('DROPBOX_APP_SECRET'),
      // Derived only when unset, so a bad PUBLIC_BASE_URL is reported once, not twice.
      redirectUri: env.DROPBOX_REDIRECT_URI?.trim()
        ? read.webUrl('DROPBOX_REDIRECT_URI', '')
        : `${publicBaseUrl}/connect/callback`,
      scopes,
      apiBaseUrl: read
        .webUrl('DROPBOX_API_BASE_URL', 'https://api.dropboxapi.com')
        .replace(/\/+$/, ''),
      contentBaseUrl: read
        .webUrl('DROPBOX_CONTENT_BASE_URL', 'https://content.dropboxapi.com')
        .replace(/\/+$/, ''),
      authorizeUrl: read.webUrl(
        'DROPBOX_AUTHORIZE_URL',
        'https://www.dropbox.com/oauth2/authorize',
      ),
      forceReapprove: read.boolean('DROPBOX_FORCE_REAPPROVE', true),
    },
    connectReturnUrl: read.webUrl('CONNECT_RETURN_URL', undefined),
    workspaceRoot,
    upstreamTimeoutMs: read.integer('UPSTREAM_TIMEOUT_MS', 10_000, 100, 600_000),
    upstreamMaxResponseBytes: read.integer(
      'UPSTREAM_MAX_RESPONSE_BYTES',
      16 * 1024 * 1024,
      1024,
      1024 * 1024 * 1024,
    ),
    refreshLeaseMs: read.integer('REFRESH_LEASE_MS', 30_000, 100, 600_000),
    logLevel,
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)
  return config
}

/** `WORKSPACE_ROOT` (contract §4, §8): normalised; blank means the Dropbox root. */
function readWorkspaceRoot(value: string | undefined, read: Reader): string {
  // Only whitespace would silently mean the Dropbox root: a typo must not widen the workspace.
  if (value !== undefined && value !== '' && value.trim() === '') {
    read.fail('WORKSPACE_ROOT is only whitespace: leave it unset (or "/") for the Dropbox root')
    return ''
  }
  try {
    return normalizeWorkspaceRoot(read.optional('WORKSPACE_ROOT', ''))
  } catch (error) {
    if (!(error instanceof PathRuleError)) throw error
    read.fail(`WORKSPACE_ROOT is not a valid workspace folder: ${error.message}`)
    return ''
  }
}
