/**
 * E, micro: the per-request crypto of the connector in isolation, in this process, with and
 * without its caches. Each figure is a loop over already-prepared inputs for ~0.5 s.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { importJWK, type JWK, jwtVerify } from 'jose'
import { accountIdFor } from '../emulator/index.ts'
import { CursorEnvelope } from '../src/cloud/cursor-envelope.ts'
import { allows, type Caller, createCallers } from '../src/identity/callers.ts'
import { createIdentityVerifier } from '../src/identity/verifier.ts'
import { deriveCursorKeys } from '../src/vault/cursor-keys.ts'
import { openVault } from '../src/vault/open-vault.ts'
import type { IdentityKeys } from '../test/fixtures/identity.ts'
import { TEST_AUDIENCE, TEST_ISSUER } from '../test/fixtures/identity.ts'

export interface MicroResult {
  name: string
  opsPerSecond: number
}

const BUDGET_MS = 500

/** Runs `op(i)` with i = 0, 1, … until the budget is spent; returns operations per second. */
async function measure(op: (i: number) => Promise<unknown> | unknown, limit = Infinity) {
  for (let i = 0; i < 200; i++) await op(i) // warm-up, outside the count
  let done = 0
  const startedAt = performance.now()
  while (done < limit && performance.now() - startedAt < BUDGET_MS) {
    for (let j = 0; j < 100 && done < limit; j++) await op(200 + done++)
  }
  return done / ((performance.now() - startedAt) / 1000)
}

export async function microBenchmarks(
  keys: IdentityKeys,
  mint: (sub: string) => string,
): Promise<MicroResult[]> {
  const results: MicroResult[] = []
  const add = (name: string, opsPerSecond: number) => results.push({ name, opsPerSecond })

  const pool = Array.from({ length: 20_000 }, (_, i) => mint(`micro-${i % 1000}`))
  const options = { jwks: keys.jwks, issuer: TEST_ISSUER, audience: TEST_AUDIENCE }
  const jwk = keys.jwks.keys[0] as JWK
  const key = await importJWK(jwk, jwk.alg)
  const joseOptions = { issuer: TEST_ISSUER, audience: TEST_AUDIENCE, algorithms: ['EdDSA'] }
  add(
    'jose jwtVerify (R1 floor), key imported once',
    await measure((i) => jwtVerify(pool[i % pool.length] as string, key, joseOptions)),
  )
  const cached = await createIdentityVerifier(options)
  add(
    'identity verify, fresh assertions (cache on, every one a miss)',
    await measure((i) => cached.verify(pool[i] as string), pool.length - 200),
  )
  const repeated = pool[0] as string
  add(
    'identity verify, repeated assertion (cache hit)',
    await measure(() => cached.verify(repeated)),
  )
  const uncached = await createIdentityVerifier({ ...options, cacheSize: 0 })
  add(
    'identity verify, repeated assertion, cache off',
    await measure(() => uncached.verify(repeated)),
  )

  // Contract §2 and §4: the permission check and the cursor envelope, on every /v1 call and
  // every listing page (issue 15: "a few µs at most").
  const callers = createCallers({
    'main-app': { kids: ['main-1'], operations: ['*'] },
    reports: { kids: ['rep-1', 'rep-2'], operations: ['me', 'workspace.read'] },
  })
  add(
    'permission check (caller by kid, operation allowed)',
    await measure((i) => allows(callers.callerFor(i % 2 ? 'rep-2' : 'main-1') as Caller, 'me')),
  )
  const envelope = new CursorEnvelope(
    deriveCursorKeys([{ kid: 'micro', secretKey: new Uint8Array(randomBytes(32)) }]),
  )
  const binding = {
    connectionId: '0a3c54d2-6f1e-4b8e-9a51-3d2f0c9e7b11',
    accountId: accountIdFor('micro'),
  }
  // A Dropbox cursor is ~100–300 characters of base64url.
  const upstreamCursor = `AAH${randomBytes(180).toString('base64url')}`
  add(
    'cursor envelope seal (HMAC-SHA256)',
    await measure(() => envelope.seal(upstreamCursor, binding)),
  )
  const sealed = envelope.seal(upstreamCursor, binding)
  add(
    'cursor envelope open (HMAC-SHA256 + compare)',
    await measure(() => envelope.open(sealed, binding)),
  )

  const dir = await mkdtemp(join(tmpdir(), 'cc-bench-micro-'))
  try {
    for (const size of [0, 1000]) {
      const vault = await openVault({
        databasePath: join(dir, `vault-${size}.db`),
        keys: [{ kid: 'micro', secretKey: new Uint8Array(randomBytes(32)) }],
        tokenCacheSize: size,
      })
      const { connection } = await vault.connections.replace({
        userId: 'micro',
        provider: 'dropbox',
        accountId: accountIdFor('micro'),
        email: null,
        scopes: ['account_info.read'],
        tokenType: 'bearer',
        rootInfo: { type: 'user', rootNamespaceId: '1', homeNamespaceId: '1', homePath: null },
        tokens: {
          accessToken: `sl.${randomBytes(80).toString('base64url')}`,
          accessTokenExpiresAt: new Date(Date.now() + 3_600_000),
          refreshToken: randomBytes(48).toString('base64url'),
        },
      })
      if (size === 0) {
        add(
          'vault findByUser (the per-request connection row read)',
          await measure(() => vault.connections.findByUser('micro', 'dropbox')),
        )
      }
      add(
        size === 0
          ? 'vault openTokens, cache off (row read + 2 sealed-box opens)'
          : 'vault openTokens, token cache on (hit)',
        await measure(() => vault.connections.openTokens(connection)),
      )
      await vault.close()
    }
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return results
}
