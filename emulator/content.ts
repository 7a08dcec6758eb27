/**
 * File bytes without storing any: byte `o` of a file is a function of the file's seed and `o`,
 * so a seeded multi-GiB file costs no memory and any range is produced directly. The content
 * is printable text (the demo opens it in a browser): 64 KiB blocks of lines naming the file
 * and its revision, each block starting with its own number in hex, so no two blocks of a file
 * are equal and a range that is off by whole blocks does not go unnoticed.
 */
import { createHash } from 'node:crypto'

export const BLOCK_SIZE = 64 * 1024
const STAMP_SIZE = 16
const CACHE_SIZE = 64

/** Base blocks by seed, most recently used last; a handful of files is read at a time. */
const baseBlocks = new Map<string, Buffer>()

function baseBlock(seed: string): Buffer {
  const cached = baseBlocks.get(seed)
  if (cached !== undefined) {
    baseBlocks.delete(seed)
    baseBlocks.set(seed, cached)
    return cached
  }
  const block = Buffer.alloc(BLOCK_SIZE)
  let offset = 0
  for (let line = 1; offset < BLOCK_SIZE; line++) {
    offset += block.write(`${seed} · line ${line}\n`, offset, 'utf8')
  }
  baseBlocks.set(seed, block)
  if (baseBlocks.size > CACHE_SIZE) baseBlocks.delete(baseBlocks.keys().next().value as string)
  return block
}

/** Dropbox hashes content in 4 MiB blocks (content_hash, dropbox.com/developers/reference/content-hash). */
const HASH_BLOCK_SIZE = 4 * 1024 * 1024
const HASH_CACHE_SIZE = 100_000
const hashes = new Map<string, string>()

/**
 * `content_hash` of the bytes a download serves: SHA-256 over the SHA-256 digests of each
 * 4 MiB block, so a client that checks what it downloaded finds it intact. Computed once per
 * file version (a large file costs its hashing time once, not memory).
 */
export function contentHash(seed: string, size: number): string {
  const key = `${size}/${seed}`
  const cached = hashes.get(key)
  if (cached !== undefined) return cached
  const outer = createHash('sha256')
  for (let start = 0; start < size; start += HASH_BLOCK_SIZE) {
    const block = createHash('sha256')
    for (const chunk of contentChunks(seed, start, Math.min(size, start + HASH_BLOCK_SIZE)))
      block.update(chunk)
    outer.update(block.digest())
  }
  const hash = outer.digest('hex')
  hashes.set(key, hash)
  if (hashes.size > HASH_CACHE_SIZE) hashes.delete(hashes.keys().next().value as string)
  return hash
}

/** The seed of a file version: a new revision has new bytes. */
export function contentSeed(file: { name: string; rev: string }): string {
  return `${file.name} rev ${file.rev}`
}

/** Bytes `[start, end)` of the content with this seed; `end - start` should stay small. */
export function contentSlice(seed: string, start: number, end: number): Buffer {
  const chunks: Buffer[] = []
  for (const chunk of contentChunks(seed, start, end)) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** Bytes `[start, end)` as fresh buffers of at most one block each. */
export function* contentChunks(seed: string, start: number, end: number): Generator<Buffer> {
  const base = baseBlock(seed)
  let offset = start
  while (offset < end) {
    const block = Math.floor(offset / BLOCK_SIZE)
    const blockStart = block * BLOCK_SIZE
    const chunkEnd = Math.min(end, blockStart + BLOCK_SIZE)
    const chunk = Buffer.allocUnsafe(chunkEnd - offset)
    base.copy(chunk, 0, offset - blockStart, chunkEnd - blockStart)
    const stampEnd = blockStart + STAMP_SIZE
    if (offset < stampEnd) {
      const stamp = Buffer.from(`${block.toString(16).padStart(STAMP_SIZE - 1, '0')}\n`, 'latin1')
      stamp.copy(chunk, 0, offset - blockStart, Math.min(STAMP_SIZE, chunkEnd - blockStart))
    }
    yield chunk
    offset = chunkEnd
  }
}
