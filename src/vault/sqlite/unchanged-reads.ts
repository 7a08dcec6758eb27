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

/** Remembered rows at most; past that, all are dropped (the next calls read again). */
const MAX_ROWS = 10_000

export class UnchangedReads<Row> {
  readonly #changes: Database.Statement<[], [number, number]>
  readonly #rows = new Map<string, Row | undefined>()
  #seen: [number, number] = [-1, -1]

  constructor(sqlite: Database.Database) {
    this.#changes = sqlite
      .prepare<[], [number, number]>(
        'select (select data_version from pragma_data_version()), total_changes()',
      )
      .raw()
  }

  /** `read()`'s answer for `key`, from memory when nothing changed since it was read. */
  get(key: string, read: () => Row | undefined): Row | undefined {
    const now = this.#changes.get() as [number, number]
    if (now[0] !== this.#seen[0] || now[1] !== this.#seen[1]) {
      this.#rows.clear()
      this.#seen = now
    } else if (this.#rows.has(key)) {
      return this.#rows.get(key)
    }
    const row = read()
    if (this.#rows.size >= MAX_ROWS) this.#rows.clear()
    this.#rows.set(key, row)
    return row
  }
}
