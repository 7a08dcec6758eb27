/**
 * The per-request connection read, skipped while the database has not changed (issue 18). The
 * read exists to see another process's refresh, disconnect or reconnect on the next call; SQLite
 * can say cheaply whether anything at all changed since the last look:
 * - `data_version` moves when another connection (another process, a replica sharing the file,
 *   the rotation CLI) commits;
 * - `total_changes()` moves when this connection writes, by any path.
 * While both stand still, a row read earlier is still the row in the file; when either moves,
 * every remembered row is dropped and read again.
 */
import type Database from 'better-sqlite3'

/** Remembered rows at most, per scope; past that, the scope's are dropped (the next calls read again). */
const MAX_ROWS = 10_000

export class UnchangedReads<Row> {
  // Two statements rather than one `select` of both: the table-valued `pragma_data_version()`
  // costs a virtual-table scan, 12,300 machine instructions per check against 7,800 for the pair
  // (valgrind, issue 18). Separate reads are safe: a commit between them or before the row read
  // moves `data_version` for the next check, which then drops what was read.
  readonly #dataVersion: Database.Statement<[], number>
  readonly #ownChanges: Database.Statement<[], number>
  /**
   * Scope, then key: the caller's own strings, not one joined per call, which the map would
   * hash anew each time (~1,600 machine instructions a request; a key string kept by the
   * caller is hashed once). `null`: read, and no such row.
   */
  readonly #scopes = new Map<string, Map<string, Row | null>>()
  #seenVersion = -1
  #seenChanges = -1

  constructor(sqlite: Database.Database) {
    this.#dataVersion = sqlite.prepare<[], number>('PRAGMA data_version').pluck()
    this.#ownChanges = sqlite.prepare<[], number>('select total_changes()').pluck()
  }

  /** `read()`'s answer for `key` in `scope`, from memory when nothing changed since it was read. */
  get(scope: string, key: string, read: () => Row | undefined): Row | undefined {
    const version = this.#dataVersion.get() as number
    const changes = this.#ownChanges.get() as number
    let rows: Map<string, Row | null> | undefined
    if (version !== this.#seenVersion || changes !== this.#seenChanges) {
      this.#scopes.clear()
      this.#seenVersion = version
      this.#seenChanges = changes
    } else {
      rows = this.#scopes.get(scope)
      const remembered = rows?.get(key)
      if (remembered !== undefined) return remembered ?? undefined
    }
    const row = read()
    if (rows === undefined) {
      rows = new Map()
      this.#scopes.set(scope, rows)
    } else if (rows.size >= MAX_ROWS) {
      rows.clear()
    }
    rows.set(key, row ?? null)
    return row
  }
}
