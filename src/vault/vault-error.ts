/**
 * Why the vault refused something. Messages name rows, purposes and key ids, never a
 * plaintext, a ciphertext or key material, so they are safe to log. As `internal_error`s
 * they reach callers only as a masked 500.
 */
import { ServiceError } from '../errors.ts'

export type VaultErrorReason =
  | 'invalid_keys'
  | 'unknown_key'
  | 'tampered'
  | 'binding_mismatch'
  | 'malformed_envelope'
  | 'database'

export class VaultError extends ServiceError {
  readonly reason: VaultErrorReason

  constructor(reason: VaultErrorReason, message: string, options: { cause?: unknown } = {}) {
    super('internal_error', message, options)
    this.name = 'VaultError'
    this.reason = reason
  }
}

/** A driver error as the operator needs it (message and code), for wrapping in a `VaultError`. */
export function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error'
  const code = (error as { code?: unknown }).code
  return typeof code === 'string' ? `${error.message} (${code})` : error.message
}
