import assert from 'node:assert/strict'
import { test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { Deadline, whenStopped } from '../../src/cloud/deadline.ts'

test('a deadline expires once, with a TimeoutError, telling each watcher still watching', async () => {
  const deadline = new Deadline(30)
  const told: string[] = []
  deadline.watch(() => told.push('first'))
  const forget = deadline.watch(() => told.push('forgotten'))
  deadline.watch(() => told.push('third'))
  forget()
  assert.equal(deadline.aborted, false)
  assert.equal(deadline.reason, undefined)
  await sleep(80)
  assert.equal(deadline.aborted, true)
  const reason: unknown = deadline.reason
  assert.ok(reason instanceof DOMException && reason.name === 'TimeoutError')
  assert.deepEqual(told, ['first', 'third'])
  // Once past, a new watcher is told at once; nobody is told twice.
  deadline.watch(() => told.push('late'))
  assert.deepEqual(told, ['first', 'third', 'late'])
})

test('its AbortSignal is made on first read and aborts with the same reason', async () => {
  const early = new Deadline(30)
  const signal = early.signal
  assert.equal(early.signal, signal)
  assert.equal(signal.aborted, false)
  await sleep(80)
  assert.equal(signal.aborted, true)
  assert.equal(signal.reason, early.reason)

  const late = new Deadline(10)
  await sleep(50)
  assert.equal(late.signal.aborted, true)
  assert.equal(late.signal.reason, late.reason)
})

test('a cleared deadline never expires', async () => {
  const deadline = new Deadline(20)
  let told = false
  deadline.watch(() => {
    told = true
  })
  const signal = deadline.signal
  deadline.clear()
  await sleep(60)
  assert.equal(told, false)
  assert.equal(deadline.aborted, false)
  assert.equal(signal.aborted, false)
})

test('whenStopped treats a deadline and an AbortSignal alike: told once, at once if stopped', async () => {
  const told: string[] = []
  const caller = new AbortController()
  whenStopped(caller.signal, () => told.push('signal'))
  const forget = whenStopped(caller.signal, () => told.push('forgotten'))
  forget()
  caller.abort()
  caller.abort()
  whenStopped(caller.signal, () => told.push('signal, already aborted'))

  const deadline = new Deadline(10)
  whenStopped(deadline, () => told.push('deadline'))
  await sleep(40)
  whenStopped(deadline, () => told.push('deadline, already past'))

  // No stop at all: nothing to be told, and forgetting is harmless.
  whenStopped(undefined, () => told.push('never'))()
  assert.deepEqual(told, [
    'signal',
    'signal, already aborted',
    'deadline',
    'deadline, already past',
  ])
})
