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
import { createIdentityVerifier } from '../src/identity/verifier.ts'
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
