/**
 * Secrets at rest (contract §7): a standard `crypto_box_seal` of a small versioned envelope that
 * names the row it belongs to. Sealed boxes carry no associated data, so the binding lives
 * inside the plaintext and opening refuses a ciphertext copied into another row or purpose.
 */
import type { Provider } from '../../cloud/models.ts'
import { VaultError } from '../vault-error.ts'
import type { KeyRing } from './key-ring.ts'

export type SecretPurpose =
  | 'access_token'
  | 'refresh_token'
  | 'code_verifier'
  | 'authorization_code'
  | 'granted_tokens'
  | 'readiness_probe'

/** The row a secret belongs to; every field must match on open. */
export interface SecretBinding {
  purpose: SecretPurpose
  /** Connection id or connect-session id. */
  rowId: string
  userId: string
  provider: Provider
}

/** The one place a stored row becomes a binding: every secret of every table is bound so. */
export function rowBinding(
  row: { id: string; userId: string; provider: Provider },
  purpose: SecretPurpose,
): SecretBinding {
  return { purpose, rowId: row.id, userId: row.userId, provider: row.provider }
}

/** A ciphertext as stored: base64 text, with the id of the key it is sealed to. */
export interface SealedSecret {
  keyId: string
  ciphertext: string
}

const ENVELOPE_VERSION = 1
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

export function sealSecret(ring: KeyRing, secret: string, binding: SecretBinding): SealedSecret {
  const envelope = {
    v: ENVELOPE_VERSION,
    purpose: binding.purpose,
    rowId: binding.rowId,
    userId: binding.userId,
    provider: binding.provider,
    secret,
  }
  const plaintext = encoder.encode(JSON.stringify(envelope))
  try {
    const { keyId, ciphertext } = ring.seal(plaintext)
    return { keyId, ciphertext: Buffer.from(ciphertext).toString('base64') }
  } finally {
    plaintext.fill(0)
  }
}

export function openSecret(ring: KeyRing, sealed: SealedSecret, binding: SecretBinding): string {
  const where = `the ${binding.purpose} of row ${binding.rowId}`
  if (!BASE64.test(sealed.ciphertext)) {
    throw new VaultError('tampered', `Cannot open ${where}: the ciphertext is not base64`)
  }
  let plaintext: Uint8Array
  try {
    plaintext = ring.open(sealed.keyId, Buffer.from(sealed.ciphertext, 'base64'))
  } catch (error) {
    if (error instanceof VaultError) {
      throw new VaultError(error.reason, `Cannot open ${where}: ${error.message}`)
    }
    throw error
  }
  try {
    const envelope = parseEnvelope(plaintext)
    if (!envelope) {
      throw new VaultError('malformed_envelope', `Cannot open ${where}: unreadable envelope`)
    }
    const mismatched = (['purpose', 'rowId', 'userId', 'provider'] as const).filter(
      (field) => envelope[field] !== binding[field],
    )
    if (mismatched.length > 0) {
      throw new VaultError(
        'binding_mismatch',
        `Refusing ${where}: it was sealed for another ${mismatched.join(', ')}`,
      )
    }
    return envelope.secret
  } finally {
    plaintext.fill(0)
  }
}

interface Envelope {
  v: number
  purpose: string
  rowId: string
  userId: string
  provider: string
  secret: string
}

function parseEnvelope(plaintext: Uint8Array): Envelope | null {
  let parsed: unknown
  try {
    parsed = JSON.parse(decoder.decode(plaintext))
  } catch {
    return null
  }
  if (typeof parsed !== 'object' || parsed === null) return null
  const fields = parsed as Record<string, unknown>
  if (fields.v !== ENVELOPE_VERSION) return null
  for (const name of ['purpose', 'rowId', 'userId', 'provider', 'secret']) {
    if (typeof fields[name] !== 'string') return null
  }
  return fields as unknown as Envelope
}
