/** Maps connect-session rows to the port's shape and seals/opens their secrets. */
import type { GrantedTokens } from '../cloud/protocols.ts'
import type { KeyRing } from './crypto/key-ring.ts'
import { rowBinding as binding, openSecret, sealSecret } from './crypto/sealed-box.ts'
import type { ConnectSession } from './ports.ts'
import type { ConnectSessionRow as SessionRow } from './store.ts'
import { VaultError } from './vault-error.ts'

/** Written when the flow no longer needs a secret: the row keeps nothing to protect. */
export const ERASED_SECRETS = { code: null, codeVerifier: null, grantedTokens: null, keyId: null }

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

/**
 * Keeps an exchanged code's tokens in the row (contract §3.4: a retried `complete` must not
 * exchange again) and drops the code and verifier, which nothing needs any more: the row's one
 * `key_id` is then the grant's.
 */
export function sealGrant(ring: KeyRing, session: SessionRow, grant: GrantedTokens) {
  const plain = JSON.stringify({
    ...grant,
    accessTokenExpiresAt: grant.accessTokenExpiresAt.getTime(),
  })
  const sealed = sealSecret(ring, plain, binding(session, 'granted_tokens'))
  return { grantedTokens: sealed.ciphertext, keyId: sealed.keyId, code: null, codeVerifier: null }
}

export function openGrant(ring: KeyRing, session: SessionRow): GrantedTokens {
  if (session.grantedTokens === null || session.keyId === null) {
    throw new VaultError('malformed_envelope', `Session ${session.id} keeps no granted tokens`)
  }
  const plain = openSecret(
    ring,
    { keyId: session.keyId, ciphertext: session.grantedTokens },
    binding(session, 'granted_tokens'),
  )
  // No cause: a parser's message could quote the tokens.
  const unreadable = () =>
    new VaultError('malformed_envelope', `Cannot read the granted tokens of session ${session.id}`)
  let fields: Record<string, unknown>
  try {
    fields = JSON.parse(plain) as Record<string, unknown>
  } catch {
    throw unreadable()
  }
  const { accessToken, refreshToken, accessTokenExpiresAt, scopes, tokenType, accountId } = fields
  if (
    typeof accessToken !== 'string' ||
    typeof refreshToken !== 'string' ||
    typeof accessTokenExpiresAt !== 'number' ||
    !Array.isArray(scopes) ||
    typeof tokenType !== 'string' ||
    typeof accountId !== 'string'
  ) {
    throw unreadable()
  }
  return {
    accessToken,
    refreshToken,
    accessTokenExpiresAt: new Date(accessTokenExpiresAt),
    scopes: scopes.map(String),
    tokenType,
    accountId,
  }
}

export function toSession(row: SessionRow): ConnectSession {
  return {
    id: row.id,
    userId: row.userId,
    provider: row.provider,
    status: row.status,
    errorCode: row.errorCode,
    completionHash: row.completionHash,
    expiresAt: row.expiresAt,
    createdAt: row.createdAt,
  }
}
