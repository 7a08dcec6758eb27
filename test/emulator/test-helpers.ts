/** Shared by the emulator's own tests (not a test file itself). */
import { createHash, randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import { type Emulator, type EmulatorOptions, startEmulator } from '../../emulator/index.ts'

export const APP_KEY = 'test-app-key'
export const APP_SECRET = 'test-app-secret'
export const REDIRECT_URI = 'http://localhost:8080/connect/callback'
export const BASIC = `Basic ${Buffer.from(`${APP_KEY}:${APP_SECRET}`).toString('base64')}`

export async function startTestEmulator(
  t: TestContext,
  options: EmulatorOptions = {},
): Promise<Emulator> {
  const emulator = await startEmulator(options)
  t.after(() => emulator.close())
  return emulator
}

export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(48).toString('base64url')
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') }
}

export function authorizeUrl(emulator: Emulator, params: Record<string, string>): string {
  return `${emulator.url}/oauth2/authorize?${new URLSearchParams(params)}`
}

export interface Tokens {
  access_token: string
  refresh_token?: string
  expires_in: number
  scope: string
  account_id: string
  uid: string
  token_type: string
}

/** The service's flow over raw HTTP: PKCE + offline, consent, exchange with HTTP Basic. */
export async function connect(
  emulator: Emulator,
  accountId: string,
  options: { scope?: string; accessType?: 'offline' | 'online' } = {},
): Promise<Tokens> {
  const { verifier, challenge } = pkcePair()
  const location = await emulator.consent(
    authorizeUrl(emulator, {
      client_id: APP_KEY,
      response_type: 'code',
      redirect_uri: REDIRECT_URI,
      state: 'st',
      code_challenge: challenge,
      code_challenge_method: 'S256',
      token_access_type: options.accessType ?? 'offline',
      scope: options.scope ?? 'account_info.read files.metadata.read',
    }),
    { accountId, decision: 'allow' },
  )
  const code = new URL(location).searchParams.get('code') ?? ''
  const response = await tokenRequest(emulator, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: REDIRECT_URI,
    code_verifier: verifier,
  })
  if (response.status !== 200)
    throw new Error(`exchange failed: ${response.status} ${response.text}`)
  return response.json as Tokens
}

export interface RawAnswer {
  status: number
  contentType: string | null
  headers: Headers
  text: string
  json: unknown
}

async function raw(response: Response): Promise<RawAnswer> {
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    headers: response.headers,
    text,
    json,
  }
}

export async function tokenRequest(
  emulator: Emulator,
  params: Record<string, string>,
  { auth = BASIC, query = false }: { auth?: string | null; query?: boolean } = {},
): Promise<RawAnswer> {
  const encoded = new URLSearchParams(params).toString()
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' }
  if (auth !== null) headers.authorization = auth
  const url = `${emulator.url}/oauth2/token${query ? `?${encoded}` : ''}`
  return raw(await fetch(url, { method: 'POST', headers, ...(query ? {} : { body: encoded }) }))
}

/** A `/2/<fn>` call; `body` undefined sends nothing (a Void route), a string is sent as is. */
export async function rpc(
  emulator: Emulator,
  fn: string,
  {
    token,
    body,
    headers = {},
  }: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  const all: Record<string, string> = { ...headers }
  if (token !== undefined) all.authorization = `Bearer ${token}`
  if (body !== undefined && all['content-type'] === undefined)
    all['content-type'] = 'application/json'
  return raw(
    await fetch(`${emulator.url}/2/${fn}`, {
      method: 'POST',
      headers: all,
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    }),
  )
}

/** error_summary pads with 0-3 dots; tests compare the rest exactly. */
export function withoutDots<T>(json: T): T {
  if (json !== null && typeof json === 'object' && 'error_summary' in json) {
    return { ...json, error_summary: String(json.error_summary).replace(/\/\.*$/, '/') }
  }
  return json
}
