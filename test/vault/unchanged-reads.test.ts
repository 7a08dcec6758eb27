/**
 * The skipped per-request read (src/vault/sqlite/unchanged-reads.ts): a row is served from
 * memory only while nothing changed, whoever wrote — this connection by any path, or another
 * connection to the same file (another process, a replica, the rotation CLI).
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { UnchangedReads } from '../../src/vault/sqlite/unchanged-reads.ts'
import { tempDir } from '../helper.ts'

async function twoConnections(t: import('node:test').TestContext) {
  const path = join(await tempDir(t, 'cc-unchanged-'), 'x.db')
  const mine = new Database(path)
  mine.pragma('journal_mode = WAL')
  mine.exec('create table rows (k text primary key, v text)')
  mine.prepare('insert into rows values (?, ?)').run('a', 'one')
  const other = new Database(path)
  t.after(() => {
    mine.close()
    other.close()
  })
  let reads = 0
  const select = mine.prepare<[string], { v: string }>('select v from rows where k = ?')
  const cache = new UnchangedReads<{ v: string }>(mine)
  const read = (key: string, scope = 'rows') =>
    cache.get(scope, key, () => {
      reads++
      return scope === 'rows' ? select.get(key) : undefined
    })
  return { mine, other, read, reads: () => reads }
}

test('nothing changed: the row comes from memory, missing rows included', async (t) => {
  const { read, reads } = await twoConnections(t)
  assert.deepEqual(read('a'), { v: 'one' })
  assert.deepEqual(read('a'), { v: 'one' })
  assert.equal(read('b'), undefined)
  assert.equal(read('b'), undefined)
  assert.equal(reads(), 2)
})

test("another connection's commit is seen on the next read", async (t) => {
  const { other, read, reads } = await twoConnections(t)
  assert.deepEqual(read('a'), { v: 'one' })
  other.prepare('update rows set v = ? where k = ?').run('two', 'a')
  assert.deepEqual(read('a'), { v: 'two' })
  other.prepare('delete from rows where k = ?').run('a')
  assert.equal(read('a'), undefined)
  other.prepare('insert into rows values (?, ?)').run('a', 'three')
  assert.deepEqual(read('a'), { v: 'three' })
  assert.equal(reads(), 4)
})

test("this connection's own writes are seen, by any path", async (t) => {
  const { mine, read } = await twoConnections(t)
  assert.deepEqual(read('a'), { v: 'one' })
  mine.prepare('update rows set v = ? where k = ?').run('two', 'a')
  assert.deepEqual(read('a'), { v: 'two' })
  mine.transaction(() => mine.prepare('update rows set v = ? where k = ?').run('three', 'a'))()
  assert.deepEqual(read('a'), { v: 'three' })
})

test('a key is remembered per scope: the same key in another scope is its own row', async (t) => {
  const { read, reads } = await twoConnections(t)
  assert.deepEqual(read('a'), { v: 'one' })
  assert.equal(read('a', 'elsewhere'), undefined)
  assert.deepEqual(read('a'), { v: 'one' })
  assert.equal(read('a', 'elsewhere'), undefined)
  assert.equal(reads(), 2)
})
