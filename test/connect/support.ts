/** The connect tests' shared steps against the emulator: a consented session, complete, what Dropbox says. */
import assert from 'node:assert/strict'
import type { TokenSet } from '../../src/cloud/models.ts'
import { openVault } from '../../src/vault/open-vault.ts'
import type { Stack } from '../stack.ts'

export function complete(stack: Stack, userId: string, session: { id: string; returnUrl: URL }) {
  return stack.api(userId, 'POST', `/v1/connect/sessions/${session.id}/complete`, {
    completion: session.returnUrl.searchParams.get('completion'),
  })
}

export async function problem(response: Response) {
  return (await response.json()) as { code: string; detail: string }
}

/** A second handle on the stack's vault, closed after `use`. */
export async function withVault<T>(
  stack: Stack,
  use: (vault: Awaited<ReturnType<typeof openVault>>) => Promise<T>,
): Promise<T> {
  const vault = await openVault({
    databaseUrl: stack.config.databaseUrl,
    databasePath: stack.config.databasePath,
    keys: stack.config.vaultKeys,
  })
  try {
    return await use(vault)
  } finally {
    await vault.close()
  }
}

/** The tokens the connector holds for the user. */
export function storedTokens(stack: Stack, userId: string): Promise<TokenSet> {
  return withVault(stack, async (vault) => {
    const connection = await vault.connections.findByUser(userId, 'dropbox')
    assert.ok(connection, 'connected')
    return vault.connections.openTokens(connection)
  })
}

/** What Dropbox's token endpoint says to a refresh with `refreshToken` now. */
export async function refreshAnswer(stack: Stack, refreshToken: string) {
  const response = await fetch(`${stack.emulator.url}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from('test-app-key:test-app-secret').toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  })
  return { status: response.status, error: ((await response.json()) as { error?: string }).error }
}

export function auditEvents(stack: Pick<Stack, 'logs'>, name: string) {
  return stack.logs.parsed().filter((line) => line.audit === true && line.event === name)
}

export async function until(check: () => boolean, what: string) {
  const deadline = Date.now() + 10_000
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}
