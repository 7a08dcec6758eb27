/**
 * The `vault_keys` readiness check (contract §5): a replica started with the wrong key ring
 * (a key id of the stored rows missing from `VAULT_KEYS`) is not ready, instead of serving
 * `500`s for every user whose row it cannot open. The adapters pass the query; the rule is here.
 */
import type { ReadinessCheck } from '../observability/readiness.ts'

export const MISSING_KEY_FAILURE = 'stored rows are sealed under a key id missing from VAULT_KEYS'

/** Key ids of every sealed row: connections, connect sessions and queued revocations alike. */
export const STORED_KEY_IDS_SQL =
  'select key_id from connections union select key_id from connect_sessions where key_id is not null union select key_id from revocations'

export function keyRingCheck(
  storedKeyIds: () => Promise<string[]>,
  ring: { has(kid: string): boolean },
): ReadinessCheck {
  return {
    name: 'vault_keys',
    failure: MISSING_KEY_FAILURE,
    check: async () => {
      const missing = (await storedKeyIds()).filter((kid) => !ring.has(kid))
      // The ids are not secret; the log names them so the operator knows which key to add.
      if (missing.length > 0)
        throw new Error(`key ids missing from VAULT_KEYS: ${missing.join(', ')}`)
    },
  }
}
