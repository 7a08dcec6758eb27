/** Maps connect-session rows to the port's shape and seals/opens their secrets. */
import type { KeyRing } from './crypto/key-ring.ts'
import { rowBinding as binding, openSecret, sealSecret } from './crypto/sealed-box.ts'
import type { ConnectSession } from './ports.ts'
import type { ConnectSessionRow as SessionRow } from './store.ts'
import { VaultError } from './vault-error.ts'

/** Written when the flow no longer needs a secret: the row keeps nothing to protect. */
export const ERASED_SECRETS = { code: null, codeVerifier: null, keyId: null }

export function sealVerifier(ring: KeyRing, session: SessionRow, verifier: string) {
  return sealSecret(ring, verifier, binding(session, 'code_verifier'))
}

export function openSessionSecret(
  ring: KeyRing,
  session: SessionRow,
  purpose: 'authorization_code' | 'code_verifier',
): string {
  const ciphertext = purpose === 'authorization_code' ? session.code : session.codeVerifier
  if (ciphertext === null || session.keyId === null) {
    throw new VaultError('malformed_envelope', `Session ${session.id} has no ${purpose} stored`)
  }
  return openSecret(ring, { keyId: session.keyId, ciphertext }, binding(session, purpose))
}

/**
 * Seals the code; the verifier is re-sealed too when it sits under an older key, because the
 * row's single `key_id` must open every secret in it.
 */
export function sealCode(ring: KeyRing, session: SessionRow, code: string) {
  const sealedCode = sealSecret(ring, code, binding(session, 'authorization_code'))
  const changes: { code: string; keyId: string; codeVerifier?: string } = {
    code: sealedCode.ciphertext,
    keyId: sealedCode.keyId,
  }
  if (session.keyId !== sealedCode.keyId) {
    const verifier = openSessionSecret(ring, session, 'code_verifier')
    changes.codeVerifier = sealVerifier(ring, session, verifier).ciphertext
  }
  return changes
}

export function toSession(row: SessionRow): ConnectSession {
  return {
    id: row.id,
    userId: row.userId,
    provider: row.provider,
    status: row.status,
    errorCode: row.errorCode,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
  }
}
