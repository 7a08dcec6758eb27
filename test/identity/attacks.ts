/**
 * The attack table (docs/security.md, attacks 1-11; contract §2), shared by the verifier and
 * HTTP tests so both run every case. Times are relative to a fixed clock, `NOW`.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { generateKeyPair, SignJWT } from 'jose'
import { createIdentityKeys, type IdentityKeys, TEST_AUDIENCE } from '../fixtures/identity.ts'
import { b64url, ed25519With, forge, hmacWith } from './forge.ts'

export const NOW_MS = Date.UTC(2026, 10, 25, 12, 0, 0)
export const NOW = NOW_MS / 1000

export interface Case {
  name: string
  token: string
  /** The detail must name this check. */
  detail: RegExp
  /** Caller-supplied values the detail must never echo (besides the token itself). */
  echoes?: string[]
}

export interface AttackContext {
  keys: IdentityKeys
  /** A second live key, ES256, for rotation. */
  ecKeys: IdentityKeys
  cases: Case[]
  /** Requests the `jku`/`x5u` target received; must stay 0. */
  fetches: () => number
  close: () => Promise<void>
}

const HOSTILE_KIDS = ['../../../../etc/passwd', "' OR 1=1 --", 'kid"; DROP TABLE keys;--', '%00']

/** Claims valid at NOW, with overrides. */
export function claimsAt(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { iat: NOW, exp: NOW + 120, ...overrides }
}

async function listenCounting(): Promise<{ server: Server; url: string; count: () => number }> {
  let count = 0
  const server = createServer((_request, response) => {
    count++
    response.end('{"keys":[]}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}/jwks.json`, count: () => count }
}

export async function buildAttacks(): Promise<AttackContext> {
  const keys = await createIdentityKeys({ kid: 'main-app-2026-11-25' })
  const ecKeys = await createIdentityKeys({ kid: 'main-app-ec', alg: 'ES256' })
  // An attacker's own key pair, also reusing our kid.
  const attacker = await createIdentityKeys({ kid: 'attacker' })
  const impostor = await createIdentityKeys({ kid: keys.kid })
  const p256UnderOurKid = await createIdentityKeys({ kid: keys.kid, alg: 'ES256' })
  const jkuTarget = await listenCounting()

  const kid = keys.kid
  const signOurs = ed25519With(keys.privateJwk)
  const x = keys.jwks.keys[0]?.x as string
  const valid = await keys.sign(claimsAt())
  const [validHeader, validPayload, validSignature] = valid.split('.') as [string, string, string]
  const claims = { sub: 'user-42', iss: 'https://main-app.test', aud: TEST_AUDIENCE, ...claimsAt() }

  const rsa = await generateKeyPair('RS256')
  const rs256 = await new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' })
    .sign(rsa.privateKey)

  const cases: Case[] = [
    // B1: algorithms.
    {
      name: 'alg none, empty signature',
      token: forge({ alg: 'none', kid }, claims),
      detail: /not a compact JWS/,
    },
    ...['none', 'None', 'noNE'].map((alg) => ({
      name: `alg ${alg} with a signature`,
      token: forge({ alg, kid }, claims, () => 'AAAA'),
      detail: /algorithm is not allowed/,
    })),
    {
      name: 'HS256 keyed with the public key bytes',
      token: forge(
        { alg: 'HS256', kid, typ: 'JWT' },
        claims,
        hmacWith(Buffer.from(x, 'base64url')),
      ),
      detail: /algorithm is not allowed/,
    },
    {
      name: 'HS256 keyed with the base64url "x"',
      token: forge({ alg: 'HS256', kid, typ: 'JWT' }, claims, hmacWith(x)),
      detail: /algorithm is not allowed/,
    },
    {
      name: 'HS256 keyed with the JWK JSON',
      token: forge({ alg: 'HS256', kid }, claims, hmacWith(JSON.stringify(keys.jwks.keys[0]))),
      detail: /algorithm is not allowed/,
    },
    { name: 'RS256 with a real RSA key', token: rs256, detail: /algorithm is not allowed/ },
    {
      name: 'ES256 under the kid of an Ed25519 key',
      token: await p256UnderOurKid.sign(claimsAt()),
      detail: /algorithm does not match the key/,
    },
    {
      name: 'EdDSA under the kid of the P-256 key',
      token: await attacker.sign(claimsAt(), { kid: ecKeys.kid }),
      detail: /algorithm does not match the key/,
    },
    // B2: issuer and keys.
    {
      name: 'wrong iss',
      token: await keys.sign(claimsAt({ iss: 'https://evil.example' })),
      detail: /issuer does not match/,
      echoes: ['https://evil.example'],
    },
    {
      name: 'unknown kid',
      token: await attacker.sign(claimsAt()),
      detail: /unknown key id/,
      echoes: ['attacker'],
    },
    ...HOSTILE_KIDS.map((hostile) => ({
      name: `hostile kid ${JSON.stringify(hostile)}`,
      token: forge({ alg: 'EdDSA', kid: hostile }, claims, () => validSignature),
      detail: /unknown key id/,
      echoes: [hostile],
    })),
    { name: 'no kid', token: await keys.sign(claimsAt(), { kid: undefined }), detail: /no key id/ },
    {
      name: 'kid that is not a string',
      token: forge({ alg: 'EdDSA', kid: 1 }, claims, () => validSignature),
      detail: /unknown key id/,
    },
    {
      name: 'kid "__proto__"',
      token: forge({ alg: 'EdDSA', kid: '__proto__' }, claims, () => validSignature),
      detail: /unknown key id/,
    },
    {
      name: 'jku to an attacker JWKS with an unknown kid',
      token: await attacker.sign(claimsAt(), { jku: jkuTarget.url }),
      detail: /unknown key id/,
      echoes: [jkuTarget.url],
    },
    {
      name: 'jku and x5u to an attacker with our kid',
      token: await impostor.sign(claimsAt(), { jku: jkuTarget.url, x5u: jkuTarget.url }),
      detail: /signature does not verify/,
    },
    {
      name: 'embedded jwk header with the signing key',
      token: await impostor.sign(claimsAt(), { jwk: impostor.jwks.keys[0] }),
      detail: /signature does not verify/,
    },
    {
      name: 'signature of another key with the same kid',
      token: await impostor.sign(claimsAt()),
      detail: /signature does not verify/,
    },
    {
      name: 'payload swapped under a valid signature',
      token: `${validHeader}.${b64url(JSON.stringify({ ...claims, sub: 'admin' }))}.${validSignature}`,
      detail: /signature does not verify/,
      echoes: ['admin'],
    },
    {
      name: 'truncated signature',
      token: valid.slice(0, -10),
      detail: /signature does not verify|well-formed/,
    },
    {
      name: 'truncated to two parts',
      token: `${validHeader}.${validPayload}`,
      detail: /not a compact JWS/,
    },
    { name: 'empty string', token: '', detail: /empty|missing/ },
    { name: 'garbage', token: 'not-a-jwt', detail: /not a compact JWS/ },
    {
      name: 'unknown critical header',
      token: forge({ alg: 'EdDSA', kid, crit: ['urn:evil'], 'urn:evil': 1 }, claims, signOurs),
      detail: /well-formed/,
    },
    {
      name: 'unencoded payload (b64: false)',
      token: forge({ alg: 'EdDSA', kid, b64: false, crit: ['b64'] }, claims, signOurs),
      detail: /well-formed/,
    },
    {
      name: 'our signature over a header with no alg',
      token: forge({ kid }, claims, signOurs),
      detail: /well-formed/,
    },
    // B3: audience.
    {
      name: 'wrong aud',
      token: await keys.sign(claimsAt({ aud: 'other-service' })),
      detail: /audience does not match/,
      echoes: ['other-service'],
    },
    {
      name: 'aud array containing ours',
      token: await keys.sign(claimsAt({ aud: [TEST_AUDIENCE, 'other-service'] })),
      detail: /audience must be a single value/,
    },
    {
      name: 'aud array of only ours',
      token: await keys.sign(claimsAt({ aud: [TEST_AUDIENCE] })),
      detail: /audience must be a single value/,
    },
    // Required claims.
    ...(await Promise.all(
      ['sub', 'exp', 'iat', 'iss', 'aud'].map(async (claim) => ({
        name: `missing ${claim}`,
        token: await keys.sign(claimsAt({ [claim]: undefined })),
        detail: new RegExp(`"${claim}" claim is missing`),
      })),
    )),
    {
      name: 'empty sub',
      token: await keys.sign(claimsAt({ sub: '' })),
      detail: /subject must be a non-empty string/,
    },
    {
      name: '256-character sub',
      token: await keys.sign(claimsAt({ sub: 'u'.repeat(256) })),
      detail: /at most 255 characters/,
    },
    {
      name: 'numeric sub',
      token: await keys.sign(claimsAt({ sub: 42 })),
      detail: /subject must be a non-empty string/,
    },
    {
      name: 'exp as a string',
      token: await keys.sign(claimsAt({ exp: String(NOW + 60) })),
      detail: /"exp" claim must be a number/,
    },
    // B4: time.
    {
      name: 'expired by 31 s',
      token: await keys.sign(claimsAt({ iat: NOW - 151, exp: NOW - 31 })),
      detail: /has expired/,
    },
    {
      name: 'iat 31 s in the future',
      token: await keys.sign(claimsAt({ iat: NOW + 31, exp: NOW + 151 })),
      detail: /issued in the future/,
    },
    {
      name: 'lifetime 301 s',
      token: await keys.sign(claimsAt({ iat: NOW - 1, exp: NOW + 300 })),
      detail: /lifetime exceeds 300 seconds/,
    },
    {
      name: 'nbf 31 s in the future',
      token: await keys.sign(claimsAt({ nbf: NOW + 31 })),
      detail: /not valid yet/,
    },
  ]
  return {
    keys,
    ecKeys,
    cases,
    fetches: jkuTarget.count,
    close: () => new Promise((resolve) => jkuTarget.server.close(() => resolve())),
  }
}

/** Tokens that must pass: the boundaries just inside each limit. */
export async function acceptedCases(context: AttackContext) {
  const { keys, ecKeys } = context
  return [
    { name: 'a plain assertion', token: await keys.sign(claimsAt()) },
    { name: 'the Ed25519 alg name', token: await keys.sign(claimsAt(), { alg: 'Ed25519' }) },
    { name: 'the rotated-in ES256 key', token: await ecKeys.sign(claimsAt()) },
    {
      name: 'expired by 29 s',
      token: await keys.sign(claimsAt({ iat: NOW - 149, exp: NOW - 29 })),
    },
    {
      name: 'iat 30 s in the future',
      token: await keys.sign(claimsAt({ iat: NOW + 30, exp: NOW + 90 })),
    },
    { name: 'lifetime 300 s', token: await keys.sign(claimsAt({ iat: NOW - 1, exp: NOW + 299 })) },
    { name: '255-character sub', token: await keys.sign(claimsAt({ sub: 'u'.repeat(255) })) },
  ]
}
