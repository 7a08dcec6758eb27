/**
 * Audit events (contract §9): one log line per security-relevant event, with a stable `event`
 * name that operators alert on. Fields name who and what, never a secret: callers pass ids,
 * reasons and counts only, and the logger's redaction still applies on top.
 */
import type { Logger } from 'pino'

export type AuditEvent =
  | 'identity_rejected'
  | 'operation_not_allowed'
  | 'connect_session_created'
  | 'connect_completed'
  | 'session_user_mismatch'
  | 'completion_mismatch'
  | 'callback_rejected'
  | 'connection_replaced'
  | 'disconnected'
  | 'reconnect_required'
  | 'revocation_succeeded'
  | 'revocation_queued'
  | 'revocation_failed'

/** Who acted and on whose behalf, when known: the assertion's `sub` and the calling service. */
export interface AuditFields {
  user?: string
  caller?: string
  [field: string]: string | number | boolean | null | undefined
}

/** Refusals are warnings so that they stand out; everything else is info. */
const WARNINGS: ReadonlySet<AuditEvent> = new Set([
  'identity_rejected',
  'operation_not_allowed',
  'session_user_mismatch',
  'completion_mismatch',
  'callback_rejected',
  'revocation_failed',
])

export type Audit = (event: AuditEvent, fields?: AuditFields) => void

export function createAudit(logger: Logger): Audit {
  return (event, fields = {}) => {
    const line = { audit: true, event, ...fields }
    if (WARNINGS.has(event)) logger.warn(line, event)
    else logger.info(line, event)
  }
}
