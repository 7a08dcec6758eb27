/**
 * Database files readable by the service's user only (contract §9). SQLite creates the `-wal`
 * and `-shm` files with the mode of the database file, so creating (or tightening) the main
 * file first covers all three; backups are tightened after they are written.
 */
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs'

export const DATABASE_FILE_MODE = 0o600

export function ensurePrivateFile(path: string): void {
  if (path === ':memory:' || path === '') return
  if (!existsSync(path)) closeSync(openSync(path, 'a', DATABASE_FILE_MODE))
  chmodSync(path, DATABASE_FILE_MODE)
  for (const suffix of ['-wal', '-shm']) {
    if (existsSync(`${path}${suffix}`)) chmodSync(`${path}${suffix}`, DATABASE_FILE_MODE)
  }
}
