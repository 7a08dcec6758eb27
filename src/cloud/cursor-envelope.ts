/**
 * Cursors bound to their connection (contract §4). The cursor a caller receives is
 * `1 | key tag (6) | MAC (22) | Dropbox's cursor`: the MAC (HMAC-SHA256, 128 bits) covers the
 * connection id, the account id and Dropbox's cursor, so a cursor of another user, of the same
 * user before a reconnect, edited, truncated or not issued here fails before any upstream call.
 * 29 characters on top of Dropbox's cursor, URL-safe, nothing secret inside.
 */
import { createHmac, timingSafeEqual } from 'node:crypto'
import { CURSOR_TAG_LENGTH, type CursorKey, type CursorKeys } from '../vault/cursor-keys.ts'
import { CloudError } from './errors.ts'
import type { CloudListing, DownloadRequest, ListFolderRequest } from './models.ts'
import type { CloudClient } from './protocols.ts'

export interface CursorBinding {
  connectionId: string
  accountId: string
}

const VERSION = '1'
const MAC_LENGTH = 22 // 16 bytes, base64url
const HEADER_LENGTH = VERSION.length + CURSOR_TAG_LENGTH + MAC_LENGTH

function mac(key: CursorKey, binding: CursorBinding, upstream: string): string {
  return createHmac('sha256', key.key)
    .update(`${binding.connectionId}\0${binding.accountId}\0${upstream}`)
    .digest()
    .subarray(0, 16)
    .toString('base64url')
}

export function invalidCursor(): CloudError {
  // One answer for every failure: which check failed is nobody's business but the log's.
  return new CloudError(
    'invalid_cursor',
    'The cursor was not issued for this connection, or was altered: list the folder again.',
  )
}

export class CursorEnvelope {
  readonly #keys: CursorKeys

  constructor(keys: CursorKeys) {
    this.#keys = keys
  }

  seal(upstream: string, binding: CursorBinding): string {
    const key = this.#keys.active
    return `${VERSION}${key.tag}${mac(key, binding, upstream)}${upstream}`
  }

  /** Dropbox's cursor inside `envelope`, or `invalid_cursor`. */
  open(envelope: string, binding: CursorBinding): string {
    if (envelope.length <= HEADER_LENGTH || !envelope.startsWith(VERSION)) throw invalidCursor()
    const key = this.#keys.byTag(envelope.slice(1, 1 + CURSOR_TAG_LENGTH))
    if (key === undefined) throw invalidCursor()
    const given = Buffer.from(envelope.slice(1 + CURSOR_TAG_LENGTH, HEADER_LENGTH))
    const upstream = envelope.slice(HEADER_LENGTH)
    const expected = Buffer.from(mac(key, binding, upstream))
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw invalidCursor()
    }
    return upstream
  }
}

/**
 * The client with sealed cursors out and opened cursors in; every other method is the client's
 * own, passed through (an operation added to `CloudClient` must be added here: the compiler
 * says so).
 */
export function withBoundCursors(
  client: CloudClient,
  envelope: CursorEnvelope,
  binding: CursorBinding,
): CloudClient {
  return new CursorBoundClient(client, envelope, binding)
}

/** A plain class, not a Proxy: a trap and a `bind` on every method read, per request, cost more. */
class CursorBoundClient implements CloudClient {
  readonly #client: CloudClient
  readonly #envelope: CursorEnvelope
  readonly #binding: CursorBinding

  constructor(client: CloudClient, envelope: CursorEnvelope, binding: CursorBinding) {
    this.#client = client
    this.#envelope = envelope
    this.#binding = binding
  }

  getCurrentAccount() {
    return this.#client.getCurrentAccount()
  }

  async listFolder(request: ListFolderRequest): Promise<CloudListing> {
    return this.#sealed(await this.#client.listFolder(request))
  }

  async listFolderContinue(cursor: string): Promise<CloudListing> {
    const upstream = this.#envelope.open(cursor, this.#binding)
    return this.#sealed(await this.#client.listFolderContinue(upstream))
  }

  getMetadata(path: string) {
    return this.#client.getMetadata(path)
  }

  download(request: DownloadRequest) {
    return this.#client.download(request)
  }

  #sealed(listing: CloudListing): CloudListing {
    return { ...listing, cursor: this.#envelope.seal(listing.cursor, this.#binding) }
  }
}
