/**
 * The vault keys (`VAULT_KEYS`, contract §7): the first seals, every one opens. Public keys are
 * derived in memory and stay in private fields: with a sealed box, whoever holds a public key
 * can mint ciphertexts that pass the row-binding check, so it is never stored, logged or returned.
 */
import sodium from 'libsodium-wrappers'
import { KID_PATTERN, type VaultKeySpec } from '../../config.ts'
import { VaultError } from '../vault-error.ts'

/** X25519 (`crypto_box_SECRETKEYBYTES`). */
const SECRET_KEY_BYTES = 32

interface KeyPair {
  publicKey: Uint8Array
  secretKey: Uint8Array
}

export class KeyRing {
  readonly activeKeyId: string
  readonly keyIds: readonly string[]
  readonly #pairs: Map<string, KeyPair>
  #destroyed = false

  private constructor(activeKeyId: string, pairs: Map<string, KeyPair>) {
    this.activeKeyId = activeKeyId
    this.keyIds = [...pairs.keys()]
    this.#pairs = pairs
  }

  /** Validates every key up front so a bad ring refuses to start instead of failing later. */
  static async create(specs: readonly VaultKeySpec[]): Promise<KeyRing> {
    await sodium.ready
    const problems = keyRingProblems(specs)
    if (problems.length > 0) {
      throw new VaultError('invalid_keys', `Invalid vault keys: ${problems.join('; ')}`)
    }
    const pairs = new Map<string, KeyPair>()
    for (const { kid, secretKey } of specs) {
      // A private copy, so the caller's buffer can be reused and ours wiped on close.
      const secret = new Uint8Array(secretKey)
      pairs.set(kid, { secretKey: secret, publicKey: sodium.crypto_scalarmult_base(secret) })
    }
    const first = specs[0] as VaultKeySpec
    return new KeyRing(first.kid, pairs)
  }

  has(keyId: string): boolean {
    return this.#pairs.has(keyId)
  }

  /** Seals to the active key; the caller stores the key id beside the ciphertext. */
  seal(plaintext: Uint8Array): { keyId: string; ciphertext: Uint8Array } {
    const pair = this.#pair(this.activeKeyId)
    return {
      keyId: this.activeKeyId,
      ciphertext: sodium.crypto_box_seal(plaintext, pair.publicKey),
    }
  }

  open(keyId: string, ciphertext: Uint8Array): Uint8Array {
    const pair = this.#pair(keyId)
    if (ciphertext.length < sodium.crypto_box_SEALBYTES) {
      throw new VaultError('tampered', 'the ciphertext is too short to be a sealed box')
    }
    try {
      return sodium.crypto_box_seal_open(ciphertext, pair.publicKey, pair.secretKey)
    } catch {
      throw new VaultError(
        'tampered',
        `the ciphertext does not open with key "${keyId}" (tampered or sealed to another key)`,
      )
    }
  }

  /** Wipes the key material; the ring is unusable afterwards. */
  destroy(): void {
    this.#destroyed = true
    for (const pair of this.#pairs.values()) {
      sodium.memzero(pair.secretKey)
      sodium.memzero(pair.publicKey)
    }
    this.#pairs.clear()
  }

  #pair(keyId: string): KeyPair {
    if (this.#destroyed) throw new VaultError('invalid_keys', 'the vault is closed')
    const pair = this.#pairs.get(keyId)
    if (!pair) {
      throw new VaultError(
        'unknown_key',
        `key id "${keyId}" is not in VAULT_KEYS (was it removed before rotation finished?)`,
      )
    }
    return pair
  }

  toJSON(): { activeKeyId: string; keyIds: readonly string[] } {
    return { activeKeyId: this.activeKeyId, keyIds: this.keyIds }
  }
}

/** Messages name key ids only: never key material. */
export function keyRingProblems(specs: readonly VaultKeySpec[]): string[] {
  if (specs.length === 0)
    return ['no key: VAULT_KEYS needs at least one (never a plaintext fallback)']
  const problems: string[] = []
  const seen = new Set<string>()
  specs.forEach(({ kid, secretKey }, index) => {
    if (typeof kid !== 'string' || !KID_PATTERN.test(kid)) {
      problems.push(`key ${index + 1} has an invalid key id (use 1-64 of [A-Za-z0-9._-])`)
      return
    }
    if (seen.has(kid)) problems.push(`key id "${kid}" appears twice`)
    seen.add(kid)
    if (!(secretKey instanceof Uint8Array) || secretKey.length !== SECRET_KEY_BYTES) {
      problems.push(`key "${kid}" must be exactly ${SECRET_KEY_BYTES} bytes`)
    } else if (secretKey.every((byte) => byte === 0)) {
      problems.push(`key "${kid}" is all zero bytes`)
    }
  })
  return problems
}
