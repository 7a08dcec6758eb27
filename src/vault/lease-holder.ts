/**
 * Who holds a refresh lease: `host/pid/incarnation/attempt`. Operators can read it in the row;
 * the SQLite adapter also uses it to take over, without waiting for the expiry, a lease whose
 * holder is a process of this machine that no longer runs (the usual crash-and-restart of a
 * single-machine deployment). Replicas on other machines cannot be probed: their leases expire.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'

/** Tells this process apart from an earlier one that had the same pid (a restarted container). */
const INCARNATION = randomUUID().slice(0, 8)
const HOST = hostname().replaceAll('/', '_')

export function newLeaseHolder(): string {
  return `${HOST}/${process.pid}/${INCARNATION}/${randomUUID()}`
}

/** True only when the holder certainly is a dead process of this machine. */
export function isDeadLocalHolder(holder: string): boolean {
  const [host, pidText, incarnation] = holder.split('/')
  const pid = Number(pidText)
  if (host !== HOST || !Number.isInteger(pid) || pid <= 0) return false
  if (pid === process.pid) return incarnation !== INCARNATION
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    // EPERM: it runs, under another user. Only "no such process" is proof of death.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}
