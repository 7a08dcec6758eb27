/**
 * Builds the app for tests exactly as the server does, with a temp dir, captured logs and
 * a valid environment made of throwaway keys.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import { type AppDeps, buildApp } from '../src/app.ts'
import { type Config, loadConfig } from '../src/config.ts'
import { createLogger } from '../src/observability/logger.ts'
import { freshDatabase, testsUsePostgres } from './postgres.ts'

/** The RFC 8037 example Ed25519 public key: valid, and nobody's secret. */
export const EXAMPLE_JWKS = {
  keys: [
    {
      kty: 'OKP',
      crv: 'Ed25519',
      x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
      kid: 'example',
    },
  ],
}

export function randomVaultKeys(...kids: string[]): string {
  return (kids.length ? kids : ['test-1'])
    .map((kid) => `${kid}:${randomBytes(32).toString('base64')}`)
    .join(',')
}

export function testEnv(
  overrides: Record<string, string | undefined> = {},
): Record<string, string | undefined> {
  return {
    VAULT_KEYS: randomVaultKeys(),
    IDENTITY_JWKS: JSON.stringify(EXAMPLE_JWKS),
    IDENTITY_ISSUER: 'https://main-app.test',
    DROPBOX_APP_KEY: 'test-app-key',
    DROPBOX_APP_SECRET: 'test-app-secret',
    CONNECT_RETURN_URL: 'https://main-app.test/integrations/dropbox/done',
    LOG_LEVEL: 'debug',
    ...overrides,
  }
}

export async function tempDir(t: TestContext, prefix = 'cc-test-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/**
 * A valid config on a fresh store: an SQLite file in a temp dir, or with `TEST_DATABASE=postgres`
 * a fresh PostgreSQL database (see `test/postgres.ts`), so every suite runs on both adapters.
 */
export async function testConfig(
  t: TestContext,
  overrides: Record<string, string | undefined> = {},
): Promise<Config> {
  const dir = await tempDir(t)
  const database =
    testsUsePostgres() && !('DATABASE_URL' in overrides)
      ? { DATABASE_URL: await freshDatabase() }
      : {}
  return loadConfig(
    testEnv({ DATABASE_PATH: join(dir, 'connector.db'), ...database, ...overrides }),
  )
}

/** Every log line the app writes, as raw JSON text, so tests can search them for secrets. */
export class LogCapture extends Writable {
  readonly lines: string[] = []
  override _write(chunk: Buffer, _encoding: string, done: () => void) {
    this.lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
    done()
  }
  get text(): string {
    return this.lines.join('\n')
  }
  parsed(): Array<Record<string, unknown>> {
    return this.lines.map((line) => JSON.parse(line) as Record<string, unknown>)
  }
}

export interface TestApp {
  app: FastifyInstance
  config: Config
  logs: LogCapture
}

export async function buildTestApp(
  t: TestContext,
  options: {
    config?: Config
    env?: Record<string, string | undefined>
    deps?: AppDeps
    /** Extra routes for probing app-wide behaviour (error handling, logging). */
    extraRoutes?: (app: FastifyInstance) => void
  } = {},
): Promise<TestApp> {
  const config = options.config ?? (await testConfig(t, options.env))
  const logs = new LogCapture()
  const app = await buildApp(config, {
    logger: createLogger(config.logLevel, logs),
    strictProblemCodes: true,
    ...options.deps,
  })
  t.after(() => app.close())
  options.extraRoutes?.(app)
  await app.ready()
  return { app, config, logs }
}
