/**
 * The whole system on loopback for integration tests: the Dropbox emulator, the connector
 * listening on a real port, identity keys for the main app, and a cookie-jar "browser".
 */
import assert from 'node:assert/strict'
import type { TestContext } from 'node:test'
import { type Emulator, startEmulator } from '../emulator/index.ts'
import type { App, AppDeps } from '../src/app.ts'
import type { Config } from '../src/config.ts'
import { listen } from '../src/http/listeners.ts'
import { createIdentityKeys, type IdentityKeys, identityEnv } from './fixtures/identity.ts'
import { buildTestApp, type LogCapture } from './helper.ts'
import { freePort } from './process.ts'

export interface Stack {
  app: App
  config: Config
  /** The public listener: browsers (contract §5). */
  baseUrl: string
  /** The internal listener: `/v1`, metrics, docs. */
  internalUrl: string
  emulator: Emulator
  logs: LogCapture
  identity: Awaited<ReturnType<typeof createIdentityKeys>>
  /** Every assertion minted, so secret sweeps can look for them. */
  mintedAssertions: string[]
  assertionFor(userId: string): Promise<string>
  api(userId: string | null, method: string, path: string, body?: unknown): Promise<Response>
  browser(): Browser
  /**
   * Create → /connect → consent (`accountId`) → callback: the session id and the main app's
   * return URL with its completion secret; authorized, not completed.
   */
  authorize(
    userId: string,
    accountId: string,
  ): Promise<{ id: string; returnUrl: URL; completion: string }>
  /** The whole connect flow for `userId` choosing `accountId` on the consent page. */
  connect(userId: string, accountId: string): Promise<Response>
}

/** The `completion` secret of the callback's 303 to the main app's return URL (contract §3.3). */
export function completionOf(toMainApp: Response): string {
  const location = new URL(toMainApp.headers.get('location') as string)
  const completion = location.searchParams.get('completion')
  assert.ok(
    completion,
    `no completion in ${location.pathname}${location.search.replace(/completion=[^&]*/, '')}`,
  )
  return completion
}

export class Browser {
  readonly cookies = new Map<string, string>()

  async get(url: string): Promise<Response> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    const response = await fetch(url, { redirect: 'manual', headers: cookie ? { cookie } : {} })
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';')
      const [name, ...value] = (pair ?? '').split('=')
      if (!name) continue
      if (/max-age=0|expires=thu, 01 jan 1970/i.test(header)) this.cookies.delete(name)
      else this.cookies.set(name, value.join('='))
    }
    return response
  }
}

/**
 * A Dropbox emulator whose one registered app redirects to the connector at `publicBaseUrl`,
 * closed when the test ends.
 */
export async function startEmulatorFor(
  t: TestContext,
  publicBaseUrl: string,
  options: { appKey?: string; appSecret?: string; accessTokenTtlSeconds?: number } = {},
): Promise<Emulator> {
  const emulator = await startEmulator({
    apps: [
      {
        appKey: options.appKey ?? 'test-app-key',
        appSecret: options.appSecret ?? 'test-app-secret',
        redirectUris: [`${publicBaseUrl}/connect/callback`],
      },
    ],
    accessTokenTtlSeconds: options.accessTokenTtlSeconds,
  })
  t.after(() => emulator.close())
  return emulator
}

/** The connector's environment for talking to `emulator` instead of Dropbox. */
export function emulatorEnv(emulator: Emulator) {
  return {
    DROPBOX_API_BASE_URL: emulator.url,
    DROPBOX_CONTENT_BASE_URL: emulator.contentUrl,
    DROPBOX_AUTHORIZE_URL: `${emulator.url}/oauth2/authorize`,
  }
}

export async function startStack(
  t: TestContext,
  options: {
    env?: Record<string, string | undefined>
    deps?: AppDeps
    /** More keys published in IDENTITY_JWKS beside the stack's own (other callers). */
    identityKeys?: IdentityKeys[]
    /** IDENTITY_CALLERS, given the stack's own key. */
    callers?: (main: IdentityKeys) => Record<string, { kids: string[]; operations: string[] }>
  } = {},
): Promise<Stack> {
  const port = await freePort()
  const internalPort = await freePort()
  const baseUrl = `http://127.0.0.1:${port}`
  const internalUrl = `http://127.0.0.1:${internalPort}`
  const emulator = await startEmulatorFor(t, baseUrl)
  const identity = await createIdentityKeys()
  const { app, config, logs } = await buildTestApp(t, {
    env: {
      PUBLIC_BASE_URL: baseUrl,
      ...identityEnv(identity, ...(options.identityKeys ?? [])),
      ...(options.callers ? { IDENTITY_CALLERS: JSON.stringify(options.callers(identity)) } : {}),
      ...emulatorEnv(emulator),
      UPSTREAM_TIMEOUT_MS: '2000',
      ...options.env,
    },
    deps: options.deps,
  })
  await listen(app, { port, host: '127.0.0.1', internalPort, internalHost: '127.0.0.1' })

  const mintedAssertions: string[] = []
  // Assertions are minted at the connector's clock, so tests that move time stay signed in.
  const clock = options.deps?.clock ?? Date.now
  const assertionFor = async (userId: string) => {
    const iat = Math.floor(clock() / 1000)
    const token = await identity.sign({ sub: userId, iat, exp: iat + 120 })
    mintedAssertions.push(token)
    return token
  }
  const api = async (userId: string | null, method: string, path: string, body?: unknown) => {
    const headers: Record<string, string> = {}
    if (userId !== null) headers['x-identity-assertion'] = await assertionFor(userId)
    if (body !== undefined) headers['content-type'] = 'application/json'
    return fetch(`${internalUrl}${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    })
  }

  const stack: Stack = {
    app,
    config,
    baseUrl,
    internalUrl,
    emulator,
    logs,
    identity,
    mintedAssertions,
    assertionFor,
    api,
    browser: () => new Browser(),
    async authorize(userId, accountId) {
      const created = await api(userId, 'POST', '/v1/connect/sessions')
      assert.equal(created.status, 201)
      const session = (await created.json()) as { id: string; connect_url: string }
      const browser = new Browser()
      const toDropbox = await browser.get(session.connect_url)
      assert.equal(toDropbox.status, 302)
      const back = await emulator.consent(toDropbox.headers.get('location') as string, {
        accountId,
        decision: 'allow',
      })
      const toMainApp = await browser.get(back)
      assert.equal(toMainApp.status, 303)
      return {
        id: session.id,
        returnUrl: new URL(toMainApp.headers.get('location') as string),
        completion: completionOf(toMainApp),
      }
    },
    async connect(userId, accountId) {
      const session = await stack.authorize(userId, accountId)
      return api(userId, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
        completion: session.completion,
      })
    },
  }
  return stack
}
