/**
 * What the rest of the service needs from the vault. Callers see plaintext tokens only
 * through these interfaces; how rows are stored and sealed stays inside `src/vault/`.
 * Every method is async so a PostgreSQL adapter can sit behind the same port (contract §7, §11).
 */
import type { ReconnectReason } from '../cloud/errors.ts'
import type { Provider, RootInfo, TokenSet } from '../cloud/models.ts'
import type { GrantedTokens } from '../cloud/protocols.ts'

export type ConnectionStatus = 'connected' | 'reconnect_required'

/** A connection's metadata: never a token. */
export interface Connection {
  id: string
  userId: string
  provider: Provider
  accountId: string
  email: string | null
  scopes: string[]
  tokenType: string
  rootInfo: RootInfo
  status: ConnectionStatus
  /** With `reconnect_required`: why (contract §5); null while connected. */
  reconnectReason: ReconnectReason | null
  /** Bumped by every token or status change; the compare-and-swap handle. */
  version: number
  connectedAt: Date
  updatedAt: Date
}

/** What a connect stores: the connection's metadata as the upstream reported it, and its tokens. */
export type NewConnection = Pick<
  Connection,
  'userId' | 'provider' | 'accountId' | 'email' | 'scopes' | 'tokenType' | 'rootInfo'
> & { tokens: TokenSet }

export interface ConnectionVault {
  findByUser(userId: string, provider: Provider): Promise<Connection | null>
  /** Opens the sealed tokens; throws if a ciphertext fails its row binding or key lookup. */
  openTokens(connection: Connection): Promise<TokenSet>
  /**
   * Stores the user's one connection, atomically removing any earlier one.
   * Returns the earlier connection's tokens (if they still open) so the caller can revoke them.
   */
  replace(
    input: NewConnection,
  ): Promise<{ connection: Connection; previousTokens: TokenSet | null }>
  /**
   * Compare-and-swap: writes the new access token (and refresh token, expiry) only if the row
   * still has `expectedVersion`. Returns the updated connection, or null when it changed meanwhile.
   */
  updateTokens(
    connectionId: string,
    expectedVersion: number,
    tokens: TokenSet,
  ): Promise<Connection | null>
  updateRootInfo(connectionId: string, rootInfo: RootInfo): Promise<Connection | null>
  /**
   * Terminal until a new connect: a refresh got `invalid_grant` (`revoked`; only at
   * `expectedVersion`), or Dropbox answered `missing_scope` (any version).
   */
  markReconnectRequired(
    connectionId: string,
    expectedVersion: number | null,
    why: ReconnectReason,
  ): Promise<Connection | null>
  /** Deletes the user's connection and its secrets; returns its tokens for revocation. */
  remove(
    userId: string,
    provider: Provider,
  ): Promise<{ connection: Connection; tokens: TokenSet | null } | null>
}

export type ConnectSessionStatus =
  | 'created'
  | 'started'
  | 'authorized'
  | 'denied'
  | 'failed'
  | 'completing'
  | 'completed'
  | 'cancelled'

export interface ConnectSession {
  id: string
  userId: string
  provider: Provider
  status: ConnectSessionStatus
  /** The upstream error code when status is `failed` (e.g. `server_error`). */
  errorCode: string | null
  /** The hash of the completion secret (contract §3.3), set when the callback authorizes. */
  completionHash: string | null
  expiresAt: Date
  createdAt: Date
}

export interface ConnectSessionVault {
  /** Stores only the hash of the single-use connect token. */
  create(input: {
    userId: string
    provider: Provider
    connectTokenHash: string
    expiresAt: Date
  }): Promise<ConnectSession>
  findById(id: string): Promise<ConnectSession | null>
  /**
   * Atomically consumes a `created`, unexpired session's connect token and moves it to `started`,
   * storing the state hash, the flow-cookie hash and the sealed PKCE verifier.
   * Returns null when the token is unknown, used or expired: exactly one caller can win.
   */
  start(input: {
    connectTokenHash: string
    stateHash: string
    flowCookieHash: string
    codeVerifier: string
    now: Date
  }): Promise<ConnectSession | null>
  /** Finds a `started`, unexpired session by its state hash (no state change). */
  findStartedByState(
    stateHash: string,
    now: Date,
  ): Promise<(ConnectSession & { flowCookieHash: string }) | null>
  /**
   * Atomically moves a `started` session to `authorized` (sealing the code), `denied` or `failed`.
   * Returns null if it was not `started` any more (state replay).
   */
  finishCallback(
    id: string,
    outcome:
      | { status: 'authorized'; code: string; completionHash: string }
      | { status: 'denied' }
      | { status: 'failed'; errorCode: string },
  ): Promise<ConnectSession | null>
  /**
   * Atomically moves an `authorized`, unexpired session to `completing` and returns what it
   * holds (kept until `settleCompletion`): the opened code and verifier, or the grant a first
   * `complete` already exchanged them for (`keepGrant`). Null if it was not `authorized`:
   * exactly one request completes at a time.
   */
  claimAuthorization(id: string): Promise<ClaimedAuthorization | null>
  /**
   * Gives a `completing`, unexpired session back as `authorized`, keeping `grant` (sealed) in
   * place of the spent code: the account read failed transiently and a retry must not exchange
   * again (contract §3.4). False when the session moved on or expired: the grant is the
   * caller's to revoke.
   */
  keepGrant(id: string, grant: GrantedTokens): Promise<boolean>
  /**
   * Ends a `completing` session: `completed` (secrets erased), back to `authorized` after a
   * transient failure (completable again, contract §3.4), or `failed` with an error code.
   */
  settleCompletion(
    id: string,
    outcome:
      | { status: 'completed' }
      | { status: 'authorized' }
      | { status: 'failed'; errorCode: string },
  ): Promise<void>
  /**
   * Cancels a session that is neither completed nor being completed, and erases its secrets; a
   * kept grant goes to the revocation queue. Says whether it cancelled (a refusal's detail must
   * not claim a cancellation that did not happen).
   */
  cancel(id: string): Promise<{ cancelled: boolean; grant: EndedGrant | null }>
  /**
   * Deletes sessions that expired before `now`, after moving their kept grants to the
   * revocation queue (a session being completed keeps its grant a while longer).
   */
  purgeExpired(now: Date): Promise<{ deleted: number; grants: EndedGrant[] }>
}

export type ClaimedAuthorization = { code: string; codeVerifier: string } | { grant: GrantedTokens }

/**
 * A kept grant whose session ended: `queued` for revocation, or `lost` when its tokens did not
 * open (their vault key is not in VAULT_KEYS) and it stays alive at the provider.
 */
export interface EndedGrant {
  userId: string
  outcome: 'queued' | 'lost'
}

/**
 * The reason an ended kept grant is queued and audited under: it is a grant that never became
 * a connection (a new reason would rebuild SQLite's `revocations` table for its CHECK).
 */
export const ENDED_GRANT_REASON = 'failed_connect' satisfies RevocationReason

/**
 * Makes a token refresh single-flight across processes (contract §11): a lease on the connection
 * row, taken with one atomic conditional write and given back after the refresh commits. A
 * lease that is never given back (its holder was killed) simply expires. Both adapters
 * implement it on the `connections` row; see `src/cloud/token-refresher.ts` for the protocol.
 */
export interface RefreshLeases {
  /**
   * Takes the connection's refresh lease for `ttlMs` unless another holder has an unexpired one.
   * Returns the lease (to give back with `release`), or null; null also when the connection is gone.
   */
  tryAcquire(connectionId: string, ttlMs: number): Promise<string | null>
  /** Gives the lease back if it is still `lease`; a no-op otherwise. */
  release(connectionId: string, lease: string): Promise<void>
}

/** Why a grant is revoked; kept with a queued revocation for the audit trail (contract §7). */
export type RevocationReason = 'disconnected' | 'replaced' | 'failed_connect'

/** A queued revocation as one claimer sees it. */
export interface QueuedRevocation {
  id: string
  userId: string
  provider: Provider
  reason: RevocationReason
  /** Null when the sealed tokens do not open (their key left the ring): logged, never skipped. */
  tokens: TokenSet | null
  /** Attempts so far, this claim included. */
  attempts: number
  enqueuedAt: Date
  /** The claim's handle: `remove` and `retryLater` act only while it is still the claim. */
  claim: string
}

/**
 * The durable revocation queue (contract §7): grants Dropbox could not be told about, sealed
 * like every other secret and bound to their queue row. Any replica may drain it; a claim is a
 * conditional write that moves the entry's due time forward by a lease, so exactly one replica
 * works on an entry at a time, and an entry whose claimer died is due again when the lease ends.
 */
export interface RevocationQueue {
  enqueue(input: {
    userId: string
    provider: Provider
    reason: RevocationReason
    tokens: TokenSet
    dueAt: Date
  }): Promise<void>
  /** Claims up to `limit` entries due at `now` for `leaseMs`, oldest first. */
  claimDue(input: { now: Date; leaseMs: number; limit: number }): Promise<QueuedRevocation[]>
  /** Deletes the entry (confirmed, already dead, or given up) if its claim still holds it. */
  remove(entry: QueuedRevocation): Promise<void>
  /** Gives the entry back until `dueAt`, with the tokens as they are now (a refresh may have replaced them). */
  retryLater(
    entry: QueuedRevocation,
    input: { dueAt: Date; tokens: TokenSet | null },
  ): Promise<void>
  depth(): Promise<number>
}
