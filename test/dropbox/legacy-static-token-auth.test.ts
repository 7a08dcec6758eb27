import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { cloudConfigFrom } from '../../src/cloud/config.ts'
import { CursorEnvelope } from '../../src/cloud/cursor-envelope.ts'
import { ReconnectRequiredError } from '../../src/cloud/errors.ts'
import { createCloudClientFactory, createCloudProvider } from '../../src/cloud/factory.ts'
import type { TokenSource } from '../../src/cloud/protocols.ts'
import { TokenRefresher } from '../../src/cloud/token-refresher.ts'
import { VaultTokenSource } from '../../src/cloud/token-source.ts'
import type { Config } from '../../src/config.ts'
import { LegacyStaticTokenAuth } from '../../src/dropbox/auth.ts'
import { createMetrics } from '../../src/observability/metrics.ts'
import { deriveCursorKeys } from '../../src/vault/cursor-keys.ts'
import { openVault } from '../../src/vault/open-vault.ts'
import { connect, startTestEmulator } from '../emulator/test-helpers.ts'
import { testConfig } from '../helper.ts'
import { startStack } from '../stack.ts'

const PERSONAL_ROOT = {
  type: 'user' as const,
  rootNamespaceId: '1001',
  homeNamespaceId: '1001',
  homePath: null,
}

function providerFor(t: TestContext, config: Config) {
  const provider = createCloudProvider(cloudConfigFrom(config), {
    metrics: createMetrics(),
    clock: Date.now,
    retryPolicy: { maxAttempts: 1, baseDelayMs: 1, deadlineMs: 2_000 },
  })
  t.after(() => provider.close())
  return provider
}

async function emulatorAndProvider(t: TestContext) {
  const emulator = await startTestEmulator(t)
  const config = await testConfig(t, { DROPBOX_API_BASE_URL: emulator.url })
  return { emulator, provider: providerFor(t, config) }
}

test('the legacy static-token auth still drives the Dropbox service with a fixed token', async (t) => {
  const { emulator, provider } = await emulatorAndProvider(t)
  const tokens = await connect(emulator, ACCOUNT_IDS.alice)
  const client = provider.clientFor(new LegacyStaticTokenAuth(tokens.access_token, PERSONAL_ROOT))
  const account = await client.getCurrentAccount()
  assert.equal(account.accountId, ACCOUNT_IDS.alice)
  const listing = await client.listFolder({ path: 'Office', recursive: false })
  assert.ok(listing.entries.some((entry) => entry.name === 'Reports'))
})

test('the legacy auth cannot refresh: a refused token is reconnect_required, not a loop', async (t) => {
  const { emulator, provider } = await emulatorAndProvider(t)
  const tokens = await connect(emulator, ACCOUNT_IDS.alice)
  emulator.expireAccessTokens(ACCOUNT_IDS.alice)
  emulator.resetCounters()
  const client = provider.clientFor(new LegacyStaticTokenAuth(tokens.access_token, PERSONAL_ROOT))
  await assert.rejects(client.getCurrentAccount(), ReconnectRequiredError)
  const counters = emulator.counters()
  assert.equal(counters.calls.length, 1, 'one call, no retry without a new token')
  assert.equal(counters.tokenRequests.refresh_token, 0)
})

test('the legacy auth refuses an empty token', () => {
  assert.throws(() => new LegacyStaticTokenAuth('  ', PERSONAL_ROOT), /needs a token/)
})

test('the factory binds clients to vault tokens, never to the legacy auth', async (t) => {
  const stack = await startStack(t)
  const provider = providerFor(t, stack.config)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const vault = await openVault({
    databaseUrl: stack.config.databaseUrl,
    databasePath: stack.config.databasePath,
    keys: stack.config.vaultKeys,
  })
  t.after(() => vault.close())
  const metrics = createMetrics()
  const sources: TokenSource[] = []
  const factory = createCloudClientFactory({
    provider: {
      ...provider,
      clientFor: (source) => {
        sources.push(source)
        return provider.clientFor(source)
      },
    },
    vault: vault.connections,
    refresher: new TokenRefresher({
      vault: vault.connections,
      auth: provider.auth,
      metrics,
      clock: Date.now,
    }),
    clock: Date.now,
    cursors: new CursorEnvelope(deriveCursorKeys([{ kid: 'k', secretKey: new Uint8Array(32) }])),
  })
  const client = await factory.forUser('user-1')
  assert.equal((await client.getCurrentAccount()).accountId, ACCOUNT_IDS.alice)
  assert.equal(sources.length, 1)
  assert.ok(sources[0] instanceof VaultTokenSource)
  assert.ok(!(sources[0] instanceof LegacyStaticTokenAuth))
})

test('no runtime module other than its own refers to LegacyStaticTokenAuth', async () => {
  const files = (await readdir('src', { recursive: true })).filter((file) => file.endsWith('.ts'))
  const users: string[] = []
  for (const file of files) {
    const text = await readFile(join('src', file), 'utf8')
    if (text.includes('LegacyStaticTokenAuth')) users.push(file)
  }
  assert.deepEqual(users, [join('dropbox', 'auth.ts')])
})
