/** The TypeScript client against the connector and the Dropbox emulator on loopback (contract §3, §5, §6). */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { createServer, type Socket } from 'node:net'
import { type TestContext, test } from 'node:test'
import { ACCOUNT_IDS } from '../../../emulator/index.ts'
import { TEST_ISSUER } from '../../../test/fixtures/identity.ts'
import { freePort } from '../../../test/process.ts'
import { type Stack, startStack } from '../../../test/stack.ts'
import {
  CloudAuthError,
  CloudConnector,
  CloudConnectorError,
  CompletionMismatch,
  ConnectorTimeout,
  ConnectorUnreachable,
  createIdentitySigner,
  ERRORS_BY_CODE,
  errorClass,
  InvalidCursor,
  InvalidIdentity,
  InvalidPath,
  NotAFile,
  NotAFolder,
  NotConnected,
  PathNotFound,
  RangeNotSatisfiable,
  ReconnectRequired,
  SessionProblem,
  SessionUserMismatch,
  UpstreamRateLimited,
  type UserClient,
} from '../src/index.ts'

const OPENAPI = JSON.parse(
  readFileSync(new URL('../../../openapi/openapi.json', import.meta.url), 'utf8'),
) as unknown

/** Every `code` a problem answer of the OpenAPI document can carry. */
function problemCodes(node: unknown, codes = new Set<string>()): Set<string> {
  if (typeof node !== 'object' || node === null) return codes
  const code = (node as { properties?: { code?: { const?: unknown; enum?: unknown[] } } })
    .properties?.code
  if (typeof code?.const === 'string') codes.add(code.const)
  for (const value of code?.enum ?? []) if (typeof value === 'string') codes.add(value)
  for (const child of Object.values(node)) problemCodes(child, codes)
  return codes
}

test('every problem code the service documents has its own error class', () => {
  const codes = [...problemCodes(OPENAPI)]
  assert.ok(codes.length >= 20, `found ${codes.length} codes: the walk reads the document`)
  const missing = codes.filter((code) => !Object.hasOwn(ERRORS_BY_CODE, code))
  assert.deepEqual(missing, [], 'codes without a class in src/errors.ts')
  for (const code of codes) assert.equal(errorClass(code, 500), ERRORS_BY_CODE[code])
})

async function connectorFor(stack: Stack, issuer = TEST_ISSUER): Promise<CloudConnector> {
  const signer = await createIdentitySigner({ privateJwk: stack.identity.privateJwk, issuer })
  return new CloudConnector({ baseUrl: stack.internalUrl, signer, timeoutMs: 5000 })
}

/** The browser's part: connect URL → consent page → callback; the return URL's query. */
async function consent(stack: Stack, connectUrl: string, accountId: string, decision = 'allow') {
  const browser = stack.browser()
  const toDropbox = await browser.get(connectUrl)
  assert.equal(toDropbox.status, 302)
  const back = await stack.emulator.consent(toDropbox.headers.get('location') as string, {
    accountId,
    decision: decision as 'allow' | 'deny',
  })
  const toMainApp = await browser.get(back)
  assert.equal(toMainApp.status, 303)
  return new URL(toMainApp.headers.get('location') as string).searchParams
}

async function connect(stack: Stack, client: UserClient, accountId = ACCOUNT_IDS.alice) {
  const session = await client.startConnect()
  const query = await consent(stack, session.connect_url, accountId)
  assert.equal(query.get('status'), 'authorized')
  return client.complete(session.id, query.get('completion') ?? undefined)
}

let users = 0
const nextUser = () => `ts-user-${++users}`

test('the whole journey: connect, me, pages, iterator, errors, disconnect', async (t) => {
  const stack = await startStack(t)
  const client = (await connectorFor(stack)).forUser(nextUser())

  assert.equal((await client.connection()).status, 'not_connected')
  const notConnected = await client.me().catch((error: unknown) => error)
  assert.ok(notConnected instanceof NotConnected && notConnected instanceof CloudAuthError)
  assert.equal(notConnected.status, 409)
  assert.equal(notConnected.code, 'not_connected')

  const connection = await connect(stack, client)
  assert.equal(connection.status, 'connected')
  assert.equal(connection.account_id, ACCOUNT_IDS.alice)
  assert.equal((await client.me()).email, 'alice@example.com')

  const first = await client.listFolder('Big', { limit: 100 })
  assert.ok(first.has_more && first.entries.length > 0 && first.entries.length < 500)
  const second = await client.listFolderContinue(first.cursor)
  assert.equal(second.path, null)

  const all = []
  for await (const entry of client.entries('Big', { limit: 100 })) all.push(entry)
  assert.equal(all.length, 500)
  assert.equal(new Set(all.map((entry) => entry.id)).size, 500)
  const recursive = []
  for await (const entry of client.entries('Office', { recursive: true }))
    recursive.push(entry.path)
  assert.ok(recursive.includes('Office/Reports/Q1.pdf'))

  await assert.rejects(client.listFolder('../x'), InvalidPath)
  await assert.rejects(client.listFolder('Nothing here'), PathNotFound)
  await assert.rejects(client.listFolder('Office/notes.txt'), NotAFolder)
  await assert.rejects(client.listFolderContinue('not-a-cursor'), InvalidCursor)

  await client.disconnect()
  assert.equal((await client.connection()).status, 'not_connected')
  await assert.rejects(client.listFolder(''), NotConnected)
  await client.disconnect() // nothing to disconnect is fine
})

test('a session finished by another user is refused and cancelled', async (t) => {
  const stack = await startStack(t)
  const connector = await connectorFor(stack)
  const starter = connector.forUser(nextUser())
  const other = connector.forUser(nextUser())
  const session = await starter.startConnect()
  const query = await consent(stack, session.connect_url, ACCOUNT_IDS.alice)
  const completion = query.get('completion') ?? undefined
  await assert.rejects(other.complete(session.id, completion), SessionUserMismatch)
  await assert.rejects(starter.complete(session.id, completion), SessionProblem)
  assert.equal((await starter.connection()).status, 'not_connected')
})

test('a wrong completion secret is refused', async (t) => {
  const stack = await startStack(t)
  const client = (await connectorFor(stack)).forUser(nextUser())
  const session = await client.startConnect()
  await consent(stack, session.connect_url, ACCOUNT_IDS.alice)
  await assert.rejects(client.complete(session.id, 'wrong'), CompletionMismatch)
})

test('a revoked grant is ReconnectRequired; a rate limit carries retryAfter', async (t) => {
  const stack = await startStack(t)
  const connector = await connectorFor(stack)
  const bob = connector.forUser(nextUser())
  await connect(stack, bob, ACCOUNT_IDS.bob)
  stack.emulator.injectFault(
    '/2/users/get_current_account',
    { kind: 'rate_limit', retryAfter: 7, body: 'json' },
    5,
  )
  const limited = await bob.me().catch((error: unknown) => error)
  stack.emulator.clearFaults()
  assert.ok(limited instanceof UpstreamRateLimited)
  assert.equal(limited.retryAfter, 7)
  assert.equal(limited.status, 429)

  stack.emulator.revokeRefreshTokens(ACCOUNT_IDS.bob)
  stack.emulator.expireAccessTokens(ACCOUNT_IDS.bob)
  await assert.rejects(bob.me(), ReconnectRequired)
  assert.equal((await bob.connection()).status, 'reconnect_required')
})

test('identity refused, connector unreachable, connector silent', async (t) => {
  const stack = await startStack(t)
  const wrongIssuer = await connectorFor(stack, 'someone-else')
  const refused = await wrongIssuer
    .forUser('u')
    .connection()
    .catch((error: unknown) => error)
  assert.ok(refused instanceof InvalidIdentity)
  assert.equal(refused.status, 401)

  const signer = await createIdentitySigner({
    privateJwk: stack.identity.privateJwk,
    issuer: TEST_ISSUER,
  })
  const closed = new CloudConnector({ baseUrl: `http://127.0.0.1:${await freePort()}`, signer })
  const unreachable = await closed
    .forUser('u')
    .me()
    .catch((error: unknown) => error)
  assert.ok(
    unreachable instanceof ConnectorUnreachable && !(unreachable instanceof ConnectorTimeout),
  )
  assert.ok(unreachable instanceof CloudConnectorError && unreachable.status === undefined)

  const silent = await silentServer(t)
  const slow = new CloudConnector({ baseUrl: silent, signer, timeoutMs: 300 })
  await assert.rejects(slow.forUser('u').me(), ConnectorTimeout)
})

test('the signer refuses keys the connector would refuse', async () => {
  const { generateKeyPair, exportJWK } = await import('jose')
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const privateJwk = { ...(await exportJWK(privateKey)), kid: 'es' }
  const signer = await createIdentitySigner({ privateJwk, issuer: 'i' })
  assert.equal(signer.algorithm, 'ES256')
  const [header, payload] = (await signer.assertion('u-1')).split('.') as [string, string]
  assert.deepEqual(JSON.parse(Buffer.from(header, 'base64url').toString()), {
    alg: 'ES256',
    kid: 'es',
  })
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString())
  assert.equal(claims.exp - claims.iat, 60)
  assert.equal(claims.aud, 'cloud-connector')
  await assert.rejects(
    createIdentitySigner({
      privateJwk: { ...(await exportJWK(publicKey)), kid: 'p' },
      issuer: 'i',
    }),
    /private/,
  )
  await assert.rejects(
    createIdentitySigner({ privateJwk: { kty: 'oct', k: 'c2VjcmV0', kid: 'x' }, issuer: 'i' }),
    /EdDSA/,
  )
  await assert.rejects(
    createIdentitySigner({ privateJwk, issuer: 'i', lifetimeSeconds: 301 }),
    RangeError,
  )
})

async function es256Jwk() {
  const { generateKeyPair, exportJWK } = await import('jose')
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  return { ...(await exportJWK(privateKey)), kid: 'es' }
}

test('the signer sends a user’s assertion again for half its lifetime, then mints anew', async () => {
  // ES256 signatures are randomised: two mints never give the same token, so a repeat is a reuse.
  const privateJwk = await es256Jwk()
  let now = Date.UTC(2026, 11, 3, 12, 0, 0, 500)
  const signer = await createIdentitySigner({ privateJwk, issuer: 'i', clock: () => now })
  const first = await signer.assertion('u-1')
  const other = await signer.assertion('u-2')
  assert.notEqual(other, first)
  now += 29_000 // 29.5 s after the assertion’s iat
  assert.equal(await signer.assertion('u-1'), first)
  now += 500 // 30 s after iat: 30 s of its 60 s are left, the least an assertion is sent with
  const second = await signer.assertion('u-1')
  assert.notEqual(second, first)
  const claims = JSON.parse(Buffer.from(second.split('.')[1] as string, 'base64url').toString())
  assert.equal(claims.iat, Math.floor(now / 1000))
  // A clock set back before the assertion's iat gets a new one, not the old one for longer.
  now -= 1000
  assert.notEqual(await signer.assertion('u-1'), second)
  // Concurrent first calls share one signature.
  const burst = await Promise.all(Array.from({ length: 5 }, () => signer.assertion('u-3')))
  assert.equal(new Set(burst).size, 1)
})

test('the signer keeps assertions for 1,000 users and mints per call when reuse is 0', async () => {
  const privateJwk = await es256Jwk()
  const signer = await createIdentitySigner({ privateJwk, issuer: 'i' })
  const firsts = []
  for (let user = 0; user <= 1000; user++) firsts.push(await signer.assertion(`u-${user}`))
  // The 1,001st user pushed out the first one kept.
  assert.notEqual(await signer.assertion('u-0'), firsts[0])
  assert.equal(await signer.assertion('u-1000'), firsts[1000])
  const perCall = await createIdentitySigner({ privateJwk, issuer: 'i', reuseSeconds: 0 })
  assert.notEqual(await perCall.assertion('u-1'), await perCall.assertion('u-1'))
  for (const reuseSeconds of [-1, 1.5, 31]) {
    await assert.rejects(
      createIdentitySigner({ privateJwk, issuer: 'i', reuseSeconds }),
      RangeError,
    )
  }
  await createIdentitySigner({ privateJwk, issuer: 'i', lifetimeSeconds: 300, reuseSeconds: 150 })
})

test('metadata and a streamed download', async (t) => {
  const stack = await startStack(t)
  const client = (await connectorFor(stack)).forUser(nextUser())
  await connect(stack, client)
  const notes = await client.metadata('Office/notes.txt')
  assert.equal(notes.size, 512)
  assert.equal((await client.metadata('')).path, '')
  await assert.rejects(client.metadata('Office/missing.txt'), PathNotFound)

  const download = await client.download('Photos/beach.jpg')
  assert.equal(download.status, 200)
  assert.equal(download.entry?.name, 'beach.jpg')
  let bytes = 0
  let chunks = 0
  for await (const chunk of download.body) {
    bytes += chunk.byteLength
    chunks++
  }
  assert.equal(bytes, 2_097_152)
  assert.ok(chunks > 1, 'arrives in chunks')

  const whole = Buffer.from(
    await new Response((await client.download('Office/notes.txt')).body).arrayBuffer(),
  )
  const part = await client.download('Office/notes.txt', { range: [10, 19] })
  assert.equal(part.status, 206)
  assert.deepEqual(Buffer.from(await new Response(part.body).arrayBuffer()), whole.subarray(10, 20))
  await assert.rejects(client.download('Office'), NotAFile)
  await assert.rejects(client.download('Office/notes.txt', { range: [600, 700] }), (error) => {
    assert.ok(error instanceof RangeNotSatisfiable)
    assert.deepEqual([error.status, error.code, error.size], [416, 'range_not_satisfiable', 512])
    return true
  })
})

/** A server that accepts connections and never answers. */
async function silentServer(t: TestContext): Promise<string> {
  const sockets: Socket[] = []
  const server = createServer((socket) => sockets.push(socket))
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done))
  t.after(() => {
    for (const socket of sockets) socket.destroy()
    server.close()
  })
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`
}
