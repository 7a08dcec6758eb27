/** The `vault_keys` readiness check (contract §5) sees every sealed table, the revocation queue too. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ManualClock, openStoreVault, tokenSet, vaultKey } from './vault-test-kit.ts'

test('readiness names a key id that only a queued revocation uses', async (t) => {
  const clock = new ManualClock()
  const { vault: old, reopen } = await openStoreVault(t, {
    keys: [vaultKey('queue-only')],
    clock: clock.now,
  })
  await old.revocations.enqueue({
    userId: 'user-1',
    provider: 'dropbox',
    reason: 'disconnected',
    tokens: tokenSet('queued'),
    dueAt: clock.now(),
  })
  await old.close()

  const replica = await reopen({ keys: [vaultKey('other')] })
  const check = replica.readinessChecks.find((candidate) => candidate.name === 'vault_keys')
  assert.ok(check)
  await assert.rejects(check.check(), /key ids missing from VAULT_KEYS: queue-only$/)
})
