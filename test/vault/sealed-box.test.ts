import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { test } from 'node:test'
import { inspect, promisify } from 'node:util'
import sodium from 'libsodium-wrappers'
import { parseVaultKeys } from '../../src/config.ts'
import { KeyRing } from '../../src/vault/crypto/key-ring.ts'
import { openSecret, type SecretBinding, sealSecret } from '../../src/vault/crypto/sealed-box.ts'
import { VaultError, type VaultErrorReason } from '../../src/vault/vault-error.ts'
import { vaultKey, vaultKeysEnv } from './vault-test-kit.ts'

const BINDING: SecretBinding = {
  purpose: 'refresh_token',
  rowId: 'conn-1',
  userId: 'user-1',
  provider: 'dropbox',
}
const SECRET = 'refresh-token-plaintext-7c1e'

function refusal(reason: VaultErrorReason, message: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof VaultError)
    assert.equal(error.reason, reason)
    assert.equal(error.code, 'internal_error')
    assert.match(error.message, message)
    assert.ok(!error.message.includes(SECRET), 'the message must not carry the secret')
    return true
  }
}

test('a secret round-trips, and each seal is a fresh standard sealed box', async () => {
  const ring = await KeyRing.create([vaultKey('k1')])
  const first = sealSecret(ring, SECRET, BINDING)
  const second = sealSecret(ring, SECRET, BINDING)
  assert.equal(first.keyId, 'k1')
  assert.notEqual(first.ciphertext, second.ciphertext)
  assert.ok(!first.ciphertext.includes(Buffer.from(SECRET).toString('base64').slice(0, 12)))
  const envelope = JSON.stringify({ v: 1, ...BINDING, secret: SECRET })
  // crypto_box_SEALBYTES: ephemeral public key (32) + MAC (16).
  assert.equal(Buffer.from(first.ciphertext, 'base64').length, Buffer.byteLength(envelope) + 48)
  assert.equal(openSecret(ring, first, BINDING), SECRET)
  assert.equal(openSecret(ring, second, BINDING), SECRET)
})

test('a ciphertext presented for another row, user, provider or purpose is refused', async () => {
  const ring = await KeyRing.create([vaultKey('k1')])
  const sealed = sealSecret(ring, SECRET, BINDING)
  const others: Array<[Partial<SecretBinding>, RegExp]> = [
    [{ rowId: 'conn-2' }, /sealed for another rowId/],
    [{ userId: 'user-2' }, /sealed for another userId/],
    [{ provider: 'onedrive' as SecretBinding['provider'] }, /sealed for another provider/],
    [{ purpose: 'access_token' }, /sealed for another purpose/],
    [{ purpose: 'code_verifier', rowId: 'session-1' }, /another purpose, rowId/],
  ]
  for (const [change, message] of others) {
    assert.throws(
      () => openSecret(ring, sealed, { ...BINDING, ...change }),
      refusal('binding_mismatch', message),
    )
  }
})

test('a tampered, truncated or non-base64 ciphertext is refused', async () => {
  const ring = await KeyRing.create([vaultKey('k1')])
  const sealed = sealSecret(ring, SECRET, BINDING)
  const bytes = Buffer.from(sealed.ciphertext, 'base64')
  for (const index of [0, 31, 32, 47, 60, bytes.length - 1]) {
    const flipped = Buffer.from(bytes)
    flipped[index] = (flipped[index] ?? 0) ^ 0x01
    assert.throws(
      () => openSecret(ring, { ...sealed, ciphertext: flipped.toString('base64') }, BINDING),
      refusal('tampered', /does not open with key "k1"/),
    )
  }
  assert.throws(
    () =>
      openSecret(
        ring,
        { ...sealed, ciphertext: bytes.subarray(0, 40).toString('base64') },
        BINDING,
      ),
    refusal('tampered', /too short/),
  )
  assert.throws(
    () => openSecret(ring, { ...sealed, ciphertext: `${sealed.ciphertext.slice(1)}!` }, BINDING),
    refusal('tampered', /not base64/),
  )
})

test('a ciphertext under a key id the ring lacks is refused with a clear error', async () => {
  const old = await KeyRing.create([vaultKey('retired')])
  const sealed = sealSecret(old, SECRET, BINDING)
  const ring = await KeyRing.create([vaultKey('k2')])
  assert.throws(
    () => openSecret(ring, sealed, BINDING),
    refusal(
      'unknown_key',
      /^Cannot open the refresh_token of row conn-1: key id "retired" is not in VAULT_KEYS/,
    ),
  )
  // Same bytes claimed under a key we do hold: it was not sealed to it.
  assert.throws(
    () => openSecret(ring, { ...sealed, keyId: 'k2' }, BINDING),
    refusal('tampered', /sealed to another key/),
  )
})

test('the first key seals and every key opens', async () => {
  const keyA = vaultKey('a')
  const keyB = vaultKey('b')
  const sealedUnderA = sealSecret(await KeyRing.create([keyA]), SECRET, BINDING)
  const ring = await KeyRing.create([keyB, keyA])
  assert.equal(ring.activeKeyId, 'b')
  assert.equal(openSecret(ring, sealedUnderA, BINDING), SECRET)
  assert.equal(sealSecret(ring, SECRET, BINDING).keyId, 'b')
})

test('the key ring takes VAULT_KEYS as config parses it, and refuses bad rings by key id only', async () => {
  const current = vaultKey('v20261125a')
  const parsed = parseVaultKeys(vaultKeysEnv([current, vaultKey('v20260101a')]))
  assert.deepEqual(parsed.problems, [])
  const ring = await KeyRing.create(parsed.keys)
  assert.equal(ring.activeKeyId, 'v20261125a')
  assert.deepEqual(ring.keyIds, ['v20261125a', 'v20260101a'])

  const short = { kid: 'short', secretKey: new Uint8Array(16).fill(7) }
  const cases: Array<[Parameters<typeof KeyRing.create>[0], RegExp]> = [
    [[], /no key: VAULT_KEYS needs at least one/],
    [[short], /key "short" must be exactly 32 bytes/],
    [[current, current], /key id "v20261125a" appears twice/],
    [[{ kid: 'bad kid', secretKey: new Uint8Array(32).fill(1) }], /key 1 has an invalid key id/],
    [[{ kid: 'zero', secretKey: new Uint8Array(32) }], /key "zero" is all zero bytes/],
  ]
  for (const [specs, message] of cases) {
    await assert.rejects(KeyRing.create(specs), (error: unknown) => {
      assert.ok(error instanceof VaultError)
      assert.equal(error.reason, 'invalid_keys')
      assert.match(error.message, message)
      return true
    })
  }
})

test('the ring never shows key material, public key included', async () => {
  await sodium.ready
  const key = vaultKey('k1')
  const publicKey = sodium.crypto_scalarmult_base(key.secretKey)
  const ring = await KeyRing.create([key])
  const shown = [
    JSON.stringify(ring),
    inspect(ring, { showHidden: true, depth: null }),
    String(Object.keys(ring)),
  ].join('\n')
  for (const material of [key.secretKey, publicKey]) {
    const buffer = Buffer.from(material)
    for (const encoded of [buffer.toString('base64'), buffer.toString('hex')]) {
      assert.ok(!shown.includes(encoded))
    }
    assert.ok(!shown.includes(String(Array.from(material.subarray(0, 8)))))
  }
  assert.ok(!('publicKey' in ring) && !('secretKey' in ring))
})

test('closing the ring wipes the keys and refuses further use', async () => {
  const key = vaultKey('k1')
  const ring = await KeyRing.create([key])
  const sealed = sealSecret(ring, SECRET, BINDING)
  ring.destroy()
  assert.throws(() => openSecret(ring, sealed, BINDING), /the vault is closed/)
  // The caller's buffer is not ours to wipe.
  assert.ok(key.secretKey.some((byte) => byte !== 0))
})

const PYTHON = '/usr/bin/python3'
const execFileAsync = promisify(execFile)

async function python(script: string, input: Record<string, string>): Promise<string> {
  // Secrets go through stdin, never argv (visible to every local process).
  const child = execFileAsync(PYTHON, ['-c', script], { timeout: 10_000 })
  child.child.stdin?.end(JSON.stringify(input))
  try {
    return (await child).stdout
  } catch (error) {
    throw new Error(
      `PyNaCl interop needs ${PYTHON} with python3-nacl (apt-get install python3-nacl): ${String(error)}`,
    )
  }
}

test('PyNaCl opens our ciphertext: it is the standard sealed-box format', async () => {
  const key = vaultKey('k1')
  const ring = await KeyRing.create([key])
  const sealed = sealSecret(ring, SECRET, BINDING)
  const stdout = await python(
    [
      'import base64, json, sys',
      'from nacl.public import PrivateKey, SealedBox',
      'data = json.load(sys.stdin)',
      'box = SealedBox(PrivateKey(base64.b64decode(data["secret_key"])))',
      'sys.stdout.write(box.decrypt(base64.b64decode(data["ciphertext"])).decode())',
    ].join('\n'),
    {
      secret_key: Buffer.from(key.secretKey).toString('base64'),
      ciphertext: sealed.ciphertext,
    },
  )
  assert.deepEqual(JSON.parse(stdout), { v: 1, ...BINDING, secret: SECRET })
})

test('we open what PyNaCl seals to our public key, binding checks included', async () => {
  await sodium.ready
  const key = vaultKey('k1')
  const ring = await KeyRing.create([key])
  const envelope = JSON.stringify({ v: 1, ...BINDING, secret: SECRET })
  const stdout = await python(
    [
      'import base64, json, sys',
      'from nacl.public import PublicKey, SealedBox',
      'data = json.load(sys.stdin)',
      'box = SealedBox(PublicKey(base64.b64decode(data["public_key"])))',
      'sys.stdout.write(base64.b64encode(box.encrypt(data["envelope"].encode())).decode())',
    ].join('\n'),
    {
      public_key: Buffer.from(sodium.crypto_scalarmult_base(key.secretKey)).toString('base64'),
      envelope,
    },
  )
  const sealed = { keyId: 'k1', ciphertext: stdout.trim() }
  assert.equal(openSecret(ring, sealed, BINDING), SECRET)
  assert.throws(() => openSecret(ring, sealed, { ...BINDING, rowId: 'conn-2' }), /another rowId/)
})
