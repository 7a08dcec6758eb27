/**
 * Ids for the request log: a random prefix drawn once per process, then a counter. `randomUUID`
 * per request cost ~2,100 machine instructions of a `/v1/me` (`npm run bench:instructions`,
 * issue 18); this costs a few hundred. 72 random bits per process keep ids apart across replicas
 * and restarts, and within a process the counter orders them.
 */
import { randomBytes } from 'node:crypto'

export function createRequestIds(): () => string {
  const prefix = randomBytes(9).toString('base64url')
  let sequence = 0
  return () => `${prefix}-${(++sequence).toString(36)}`
}
