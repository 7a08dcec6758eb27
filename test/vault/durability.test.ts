/**
 * SIGKILL a process in the middle of token writes, again and again: every restart must find
 * an intact database where each user still has one connection holding one complete token set,
 * at least as new as the last write the killed process reported committed (contract §7, attack 31).
 */
import assert from 'node:assert/strict'
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { openVault } from '../../src/vault/open-vault.ts'
import { generationOf, newConnection, tokensFor, USERS } from './fixtures/token-generations.ts'
import { tempDir, vaultKey, vaultKeysEnv } from './vault-test-kit.ts'

const KILLS = 20
/** Writers loading ahead: start-up costs more than a run, so it overlaps with earlier runs. */
const WARM_WRITERS = 2
const WRITER = new URL('./fixtures/token-writer.ts', import.meta.url)

interface Writer {
  child: ChildProcessWithoutNullStreams
  loaded: Promise<void>
  firstCommit: Promise<void>
  /** Commits in the order the writer reported them. */
  commits: Array<{ user: string; generation: number }>
  closed: Promise<unknown>
  stderr: () => string
}

function spawnWriter(path: string, env: NodeJS.ProcessEnv): Writer {
  const child = spawn(process.execPath, [WRITER.pathname, path], { env })
  const commits: Writer['commits'] = []
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  const loaded = Promise.withResolvers<void>()
  const firstCommit = Promise.withResolvers<void>()
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (line === 'loaded') return loaded.resolve()
    const [user, generation] = line.split(' ')
    commits.push({ user: user ?? '', generation: Number(generation) })
    firstCommit.resolve()
  })
  const closed = once(child, 'close')
  void closed.then(() => firstCommit.resolve())
  return {
    child,
    loaded: loaded.promise,
    firstCommit: firstCommit.promise,
    commits,
    closed,
    stderr: () => stderr,
  }
}

function integrityCheck(path: string): unknown {
  const sqlite = new Database(path)
  try {
    return sqlite.pragma('integrity_check', { simple: true })
  } finally {
    sqlite.close()
  }
}

test('token writes survive SIGKILL at random points: old or new set, never torn or lost', async (t) => {
  const dir = await tempDir(t)
  const path = join(dir, 'connector.db')
  const keys = [vaultKey('durability')]
  const env = { ...process.env, VAULT_KEYS: vaultKeysEnv(keys) }

  const setup = await openVault({ databasePath: path, keys, tokenCacheSize: 0 })
  for (const user of USERS) await setup.connections.replace(newConnection(user, tokensFor(user, 0)))
  await setup.close()

  const committed = new Map(USERS.map((user) => [user, 0]))
  let totalCommits = 0
  const warm = Array.from({ length: WARM_WRITERS }, () => spawnWriter(path, env))
  t.after(() => {
    for (const writer of warm) writer.child.kill('SIGKILL')
  })

  for (let kill = 1; kill <= KILLS; kill++) {
    const writer = warm.shift() as Writer
    // Writers load while others run, but touch the database only after `go`.
    if (kill + warm.length < KILLS) warm.push(spawnWriter(path, env))
    await writer.loaded
    writer.child.stdin.write('go\n')
    // Mostly mid-writes; every fourth run dies earlier, while opening the database.
    const midWrites = kill % 4 !== 0
    if (midWrites) await writer.firstCommit
    const delayMs = Math.floor(Math.random() * (midWrites ? 100 : 40))
    await new Promise((resolve) => setTimeout(resolve, delayMs))
    writer.child.kill('SIGKILL')
    await writer.closed
    assert.equal(writer.child.signalCode, 'SIGKILL', `writer died on its own: ${writer.stderr()}`)

    const context = `kill ${kill} (${midWrites ? 'mid-writes' : 'early'}, +${delayMs} ms, ${writer.commits.length} commits)`
    assert.equal(integrityCheck(path), 'ok', context)
    for (const { user, generation } of writer.commits) committed.set(user, generation)
    totalCommits += writer.commits.length

    const vault = await openVault({ databasePath: path, keys, tokenCacheSize: 0 })
    try {
      for (const user of USERS) {
        const connection = await vault.connections.findByUser(user, 'dropbox')
        assert.ok(connection, `${context}: ${user} lost its connection`)
        const generation = generationOf(await vault.connections.openTokens(connection))
        const reported = committed.get(user) ?? 0
        // The writer may die between a commit and its report, so one unreported step is fine.
        assert.ok(
          generation === reported || generation === reported + 1,
          `${context}: ${user} holds generation ${generation}, last reported ${reported}`,
        )
        committed.set(user, generation)
      }
    } finally {
      await vault.close()
    }
  }
  assert.ok(totalCommits >= KILLS, `only ${totalCommits} commits in ${KILLS} runs`)
  t.diagnostic(`${KILLS} kills, ${totalCommits} reported commits`)
})
