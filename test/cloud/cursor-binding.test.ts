/**
 * Cursors bound to their connection (contract §4), over real HTTP against the emulator: a cursor
 * of another user, from before a reconnect, truncated, bit-flipped or not issued here is a 400
 * `invalid_cursor` that never reaches Dropbox; key rotation keeps issued cursors valid while the
 * old key is in the ring.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { CursorEnvelope } from '../../src/cloud/cursor-envelope.ts'
import { parseVaultKeys } from '../../src/config.ts'
import { deriveCursorKeys } from '../../src/vault/cursor-keys.ts'
import { randomVaultKeys } from '../helper.ts'
import { type Stack, startStack } from '../stack.ts'

async function listOnePage(stack: Stack, user: string): Promise<string> {
  const response = await stack.api(user, 'GET', '/v1/workspace/list?path=&limit=1')
  assert.equal(response.status, 200)
  const body = (await response.json()) as { cursor: string; has_more: boolean }
  return body.cursor
}

async function assertRefused(stack: Stack, user: string, cursor: string, what: string) {
  stack.emulator.resetCounters()
  const response = await stack.api(
    user,
    'GET',
    `/v1/workspace/list?cursor=${encodeURIComponent(cursor)}`,
  )
  assert.equal(response.status, 400, what)
  assert.equal(response.headers.get('cache-control'), 'no-store', what)
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff', what)
  const body = (await response.json()) as { code: string; detail: string }
  assert.equal(body.code, 'invalid_cursor', what)
  assert.ok(!body.detail.includes(cursor), `${what}: the cursor is echoed`)
  assert.equal(stack.emulator.counters().calls.length, 0, `${what}: reached Dropbox`)
}

function flip(text: string, index: number): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  const char = text[index] as string
  const other = alphabet[(alphabet.indexOf(char) + 1) % alphabet.length] as string
  return text.slice(0, index) + other + text.slice(index + 1)
}

test('a cursor works only for the connection it was issued to', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  assert.equal((await stack.connect('user-2', ACCOUNT_IDS.bob)).status, 200)
  const cursor = await listOnePage(stack, 'user-1')
  // Short enough for a query string: Dropbox's cursor plus 29 characters.
  assert.match(cursor, /^1[A-Za-z0-9_-]{28}/)

  const continued = await stack.api(
    'user-1',
    'GET',
    `/v1/workspace/list?cursor=${encodeURIComponent(cursor)}`,
  )
  assert.equal(continued.status, 200)
  assert.equal(continued.headers.get('cache-control'), 'no-store')

  await assertRefused(stack, 'user-2', cursor, "another user's cursor")
  const dropboxCursor = cursor.slice(29)
  await assertRefused(stack, 'user-1', dropboxCursor, "Dropbox's own cursor, not issued here")
  await assertRefused(stack, 'user-1', cursor.slice(0, -1), 'truncated by one character')
  await assertRefused(stack, 'user-1', cursor.slice(0, 29), 'truncated to the header')
  for (const index of [0, 3, 10, 27, 29, cursor.length - 1]) {
    await assertRefused(stack, 'user-1', flip(cursor, index), `bit-flipped at ${index}`)
  }

  // After a reconnect (another account, then the same one again) the old cursors are dead.
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.carol)).status, 200)
  await assertRefused(stack, 'user-1', cursor, 'a cursor from before a reconnect')
  const carols = await listOnePage(stack, 'user-1')
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.carol)).status, 200)
  await assertRefused(stack, 'user-1', carols, 'a cursor from before reconnecting the same account')
})

test('cursors survive a key rotation while the old key is in the ring', () => {
  const [old, fresh] = [randomVaultKeys('old'), randomVaultKeys('new')]
  const ring = (text: string) => deriveCursorKeys(parseVaultKeys(text).keys)
  const binding = { connectionId: 'c-1', accountId: ACCOUNT_IDS.alice }
  const before = new CursorEnvelope(ring(old)).seal('AAHupstream', binding)
  assert.equal(new CursorEnvelope(ring(`${fresh},${old}`)).open(before, binding), 'AAHupstream')
  assert.throws(() => new CursorEnvelope(ring(fresh)).open(before, binding), /not issued/)
  const after = new CursorEnvelope(ring(`${fresh},${old}`)).seal('AAHupstream', binding)
  assert.notEqual(after.slice(1, 7), before.slice(1, 7), 'new cursors use the new key')
  assert.throws(
    () => new CursorEnvelope(ring(old)).open(before, { ...binding, accountId: ACCOUNT_IDS.bob }),
    /not issued/,
  )
})
