/**
 * Operator commands (contract §7):
 *   node src/vault/cli.ts keygen [kid]   prints a new `kid:base64` VAULT_KEYS entry
 *   node src/vault/cli.ts rotate [--batch-size N]
 *                                        re-seals every secret to the first VAULT_KEYS key
 *   node src/vault/cli.ts backup <file>  online, consistent copy of DATABASE_PATH
 * `rotate` reads VAULT_KEYS and DATABASE_URL (PostgreSQL) or else DATABASE_PATH like the
 * service, and prints only counts and row ids: never a secret. Exit 1: some row failed to
 * open; 2: a usage or setup error.
 */
import '../module-resolution.ts'
import { existsSync } from 'node:fs'
import { parseArgs } from 'node:util'
import sodium from 'libsodium-wrappers'
import { KID_PATTERN, parseVaultKeys } from '../config.ts'

const USAGE = `usage:
  node src/vault/cli.ts keygen [kid]
  node src/vault/cli.ts rotate [--batch-size N]   (reads VAULT_KEYS, DATABASE_URL or DATABASE_PATH)
  node src/vault/cli.ts backup <file>             (reads DATABASE_PATH)`
const DEFAULT_DATABASE_PATH = './data/connector.db'

class UsageError extends Error {}

async function keygen(args: string[]): Promise<number> {
  const kid = args[0] ?? defaultKid(new Date())
  if (args.length > 1 || !KID_PATTERN.test(kid)) {
    throw new UsageError('the key id must be 1-64 characters of [A-Za-z0-9._-]')
  }
  await sodium.ready
  const secretKey = sodium.randombytes_buf(sodium.crypto_box_SECRETKEYBYTES)
  // Only the entry goes to stdout, so `npm run -s vault:keygen > key.txt` captures just it.
  process.stdout.write(`${kid}:${Buffer.from(secretKey).toString('base64')}\n`)
  sodium.memzero(secretKey)
  process.stderr.write(
    [
      '',
      `New vault key "${kid}". Keep it in your secret store, never in the repository.`,
      'To start using it: put it FIRST in VAULT_KEYS and keep the old keys after it',
      `  VAULT_KEYS=${kid}:<the key above>,<old entries…>`,
      'deploy that to every replica, run `npm run vault:rotate`, and remove an old key only',
      'once rotate reports failed: 0 and nothing is left under it.',
      '',
    ].join('\n'),
  )
  return 0
}

async function rotate(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { 'batch-size': { type: 'string', default: '100' } },
    strict: true,
  })
  const batchSize = Number(values['batch-size'])
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) {
    throw new UsageError('--batch-size must be an integer from 1 to 10000')
  }
  const { keys, problems } = parseVaultKeys(process.env.VAULT_KEYS ?? '')
  if (problems.length > 0) throw new UsageError(problems.join('; '))
  const databaseUrl = process.env.DATABASE_URL?.trim() || undefined
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new UsageError('DATABASE_URL must be a postgres:// or postgresql:// URL')
  }
  const databasePath = databaseUrl ? '' : existingDatabasePath()

  // Loaded here so `keygen` stays instant: the database stack takes a second to load.
  const { openVault } = await import('./open-vault.ts')
  const vault = await openVault({ databaseUrl, databasePath, keys, tokenCacheSize: 0 })
  try {
    const report = await vault.rotate({ batchSize })
    const { scanned, reencrypted, alreadyCurrent, failed, tables } = report
    process.stdout.write(
      `${JSON.stringify({ activeKeyId: keys[0]?.kid, scanned, reencrypted, alreadyCurrent, failed, tables })}\n`,
    )
    for (const failure of report.failures) {
      process.stderr.write(`failed: ${failure.table} ${failure.id}: ${failure.reason}\n`)
    }
    return failed > 0 ? 1 : 0
  } finally {
    await vault.close()
  }
}

/**
 * Copying the file alone is not a backup under WAL (recent commits live in `-wal`); SQLite's
 * online backup API gives a consistent snapshot while the service keeps running.
 */
async function backup(args: string[]): Promise<number> {
  const [destination] = args
  if (!destination || args.length > 1) throw new UsageError('backup needs one destination file')
  if (existsSync(destination)) throw new UsageError(`"${destination}" exists; not overwriting it`)
  const path = existingDatabasePath()
  const { default: Database } = await import('better-sqlite3')
  const sqlite = new Database(path, { fileMustExist: true, timeout: 5000 })
  try {
    const { totalPages } = await sqlite.backup(destination)
    process.stdout.write(`${JSON.stringify({ source: path, destination, pages: totalPages })}\n`)
    return 0
  } finally {
    sqlite.close()
  }
}

function existingDatabasePath(): string {
  const path = process.env.DATABASE_PATH?.trim() || DEFAULT_DATABASE_PATH
  // Opening would create an empty database: a typo in the path must not look like success.
  if (!existsSync(path)) throw new UsageError(`there is no database at "${path}"`)
  return path
}

/** `v20261125a`: sorts by date; pass an explicit kid for a second key on the same day. */
export function defaultKid(now: Date): string {
  return `v${now.toISOString().slice(0, 10).replaceAll('-', '')}a`
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv
  try {
    if (command === 'keygen') return await keygen(args)
    if (command === 'rotate') return await rotate(args)
    if (command === 'backup') return await backup(args)
    throw new UsageError(command ? `unknown command "${command}"` : 'no command')
  } catch (error) {
    if (error instanceof UsageError || (error instanceof TypeError && 'code' in error)) {
      process.stderr.write(`vault: ${error.message}\n${USAGE}\n`)
      return 2
    }
    process.stderr.write(`vault: ${error instanceof Error ? error.message : 'failed'}\n`)
    return 2
  }
}

if (import.meta.main) process.exitCode = await main(process.argv.slice(2))
