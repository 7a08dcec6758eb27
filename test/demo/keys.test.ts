import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadOrCreateDemoKeys } from '../../demo/keys.ts'
import { parseJwks, parseVaultKeys } from '../../src/config.ts'

test('the demo generates its keys once and reuses them', async (t) => {
  const dir = join(await mkdtemp(join(tmpdir(), 'cc-demo-keys-')), 'nested')
  t.after(() => rm(dir, { recursive: true, force: true }))

  const first = await loadOrCreateDemoKeys(dir)
  assert.equal(first.created, true)
  assert.deepEqual(parseVaultKeys(first.vaultKeys).problems, [])
  assert.equal(first.identityPrivateJwk.crv, 'Ed25519')
  assert.equal(typeof first.identityPrivateJwk.d, 'string')
  assert.equal((await stat(join(dir, 'keys.json'))).mode & 0o777, 0o600)

  // The connector gets only the public half.
  const jwksText = await readFile(first.identityJwksPath, 'utf8')
  const { jwks, problem } = parseJwks(first.identityJwksPath)
  assert.equal(problem, undefined)
  assert.equal(jwks?.keys[0]?.kid, first.identityPrivateJwk.kid)
  assert.ok(!jwksText.includes(first.identityPrivateJwk.d as string))

  const second = await loadOrCreateDemoKeys(dir)
  assert.equal(second.created, false)
  assert.equal(second.vaultKeys, first.vaultKeys)
  assert.deepEqual(second.identityPrivateJwk, first.identityPrivateJwk)
  assert.equal(await readFile(second.identityJwksPath, 'utf8'), jwksText)
})
