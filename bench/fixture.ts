/**
 * What the scenarios need: 1,000 emulator accounts connected through the connector's real
 * connect flow (so any storage backend gets the same rows), assertions minted as the main
 * app mints them, and an emulator token of its own for the reference proxy.
 */
import { createPrivateKey, sign } from 'node:crypto'
import {
  ACCOUNT_IDS,
  accountIdFor,
  createControlClient,
  type EmulatorControlClient,
} from '../emulator/index.ts'
import type { IdentityKeys } from '../test/fixtures/identity.ts'
import { TEST_AUDIENCE, TEST_ISSUER } from '../test/fixtures/identity.ts'
import { BENCH_APP } from './processes.ts'

export const LISTING_ACCOUNT = ACCOUNT_IDS.alice
export const LISTING_USER = 'bench-lister'
export const STORM_ACCOUNT = accountIdFor('bench-storm')
export const STORM_USER = 'bench-storm'

export const userId = (i: number) => `bench-user-${String(i).padStart(4, '0')}`
const accountId = (i: number) => accountIdFor(`bench-${String(i).padStart(4, '0')}`)

/**
 * Signs assertions with node:crypto directly: minting tens of thousands for the fresh-assertion
 * pool through jose would take longer than the phase that spends them. Same JWS as jose's.
 */
export function createMinter(keys: IdentityKeys, lifetimeSeconds = 300) {
  if (keys.alg !== 'EdDSA') throw new Error('the bench mints EdDSA assertions')
  const privateKey = createPrivateKey({ key: keys.privateJwk as never, format: 'jwk' })
  const header = b64(JSON.stringify({ alg: 'EdDSA', kid: keys.kid, typ: 'JWT' }))
  let serial = 0
  return (sub: string): string => {
    const iat = Math.floor(Date.now() / 1000)
    // `jti` keeps every assertion distinct (Ed25519 signatures are deterministic).
    const payload = b64(
      JSON.stringify({
        sub,
        iss: TEST_ISSUER,
        aud: TEST_AUDIENCE,
        iat,
        exp: iat + lifetimeSeconds,
        jti: String(++serial),
      }),
    )
    const input = `${header}.${payload}`
    return `${input}.${sign(null, Buffer.from(input), privateKey).toString('base64url')}`
  }
}

function b64(text: string): string {
  return Buffer.from(text).toString('base64url')
}

export async function seedAccounts(control: EmulatorControlClient, users: number): Promise<void> {
  const specs = Array.from({ length: users }, (_, i) => ({
    accountId: accountId(i),
    email: `bench-${i}@example.com`,
    givenName: 'Bench',
    surname: `User ${i}`,
    homeNamespaceId: String(900_000 + i),
  }))
  specs.push({
    accountId: STORM_ACCOUNT,
    email: 'storm@example.com',
    givenName: 'Storm',
    surname: 'User',
    homeNamespaceId: '899999',
  })
  await inBatches(specs, 32, (spec) => control.seedAccount(spec))
}

/** Connects every user through the connector's HTTP connect flow, 16 at a time. */
export async function connectUsers(
  connectorUrl: string,
  emulatorUrl: string,
  mint: (sub: string) => string,
  users: number,
): Promise<void> {
  const control = createControlClient(emulatorUrl)
  const pairs: Array<[string, string]> = Array.from({ length: users }, (_, i) => [
    userId(i),
    accountId(i),
  ])
  pairs.push([LISTING_USER, LISTING_ACCOUNT], [STORM_USER, STORM_ACCOUNT])
  await inBatches(pairs, 16, ([user, account]) =>
    connectOne(connectorUrl, control, mint, user, account),
  )
}

async function connectOne(
  base: string,
  control: EmulatorControlClient,
  mint: (sub: string) => string,
  user: string,
  account: string,
): Promise<void> {
  const created = await fetch(`${base}/v1/connect/sessions`, {
    method: 'POST',
    headers: { 'x-identity-assertion': mint(user) },
  })
  if (created.status !== 201) throw new Error(`connect ${user}: sessions ${created.status}`)
  const session = (await created.json()) as { id: string; connect_url: string }
  const toDropbox = await fetch(session.connect_url, { redirect: 'manual' })
  const cookie = toDropbox.headers
    .getSetCookie()
    .map((header) => header.split(';')[0])
    .join('; ')
  const callback = await control.consent(toDropbox.headers.get('location') ?? '', {
    accountId: account,
    decision: 'allow',
  })
  const back = await fetch(callback, { redirect: 'manual', headers: { cookie } })
  await back.arrayBuffer()
  if (back.status !== 303) throw new Error(`connect ${user}: callback ${back.status}`)
  const completion = new URL(back.headers.get('location') ?? '').searchParams.get('completion')
  const completed = await fetch(`${base}/v1/connect/sessions/${session.id}/complete`, {
    method: 'POST',
    headers: { 'x-identity-assertion': mint(user), 'content-type': 'application/json' },
    body: JSON.stringify({ completion }),
  })
  await completed.arrayBuffer()
  if (completed.status !== 200) throw new Error(`connect ${user}: complete ${completed.status}`)
}

/** An access token for the reference proxy, granted to the bench app by the emulator's OAuth. */
export async function grantToken(
  emulatorUrl: string,
  redirectUri: string,
  account: string,
): Promise<string> {
  const control = createControlClient(emulatorUrl)
  const authorize = new URL(`${emulatorUrl}/oauth2/authorize`)
  authorize.search = new URLSearchParams({
    client_id: BENCH_APP.key,
    response_type: 'code',
    redirect_uri: redirectUri,
    token_access_type: 'offline',
    state: 'reference-proxy',
  }).toString()
  const location = new URL(
    await control.consent(authorize.toString(), { accountId: account, decision: 'allow' }),
  )
  const code = location.searchParams.get('code')
  if (!code) throw new Error(`no code in ${location}`)
  const response = await fetch(`${emulatorUrl}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${BENCH_APP.key}:${BENCH_APP.secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: redirectUri,
    }),
  })
  const body = (await response.json()) as { access_token?: string }
  if (!body.access_token) throw new Error(`token exchange failed: ${JSON.stringify(body)}`)
  return body.access_token
}

export async function inBatches<T>(
  items: readonly T[],
  width: number,
  run: (item: T) => Promise<unknown>,
): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T
      await run(item)
    }
  }
  await Promise.all(Array.from({ length: width }, worker))
}
