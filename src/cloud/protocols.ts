/**
 * The provider-agnostic ports. Routes and the
 * connect flow depend on these; only `src/dropbox/` implements them.
 */
import type {
  CloudAccount,
  CloudDownload,
  CloudEntry,
  CloudListing,
  DownloadRequest,
  ListFolderRequest,
  Provider,
  RootInfo,
  TokenSet,
} from './models.ts'

/** A client bound to one user's tokens; created per request, never shared across users. */
export interface CloudClient {
  getCurrentAccount(): Promise<CloudAccount>
  listFolder(request: ListFolderRequest): Promise<CloudListing>
  listFolderContinue(cursor: string): Promise<CloudListing>
  /** One entry by relative path; the workspace root itself is a folder with path `""`. */
  getMetadata(path: string): Promise<CloudEntry>
  /** A file's bytes as a stream; retried only before the answer's head arrives. */
  download(request: DownloadRequest): Promise<CloudDownload>
}

export interface GrantedTokens extends TokenSet {
  scopes: string[]
  tokenType: string
  accountId: string
}

export interface RefreshedTokens {
  accessToken: string
  accessTokenExpiresAt: Date
  /** Present only when the provider rotates refresh tokens; otherwise keep the old one. */
  refreshToken: string | null
}

/** The OAuth side of a provider. */
export interface CloudAuth {
  authorizeUrl(input: { state: string; codeChallenge: string }): string
  exchangeCode(input: { code: string; codeVerifier: string }): Promise<GrantedTokens>
  /** Throws `ReconnectRequiredError` on `invalid_grant`; upstream errors otherwise. */
  refresh(refreshToken: string): Promise<RefreshedTokens>
  /** Revokes the token's grant; never throws (see `RevokeOutcome`). */
  revoke(accessToken: string): Promise<RevokeOutcome>
  /** Reads the account a fresh token belongs to (used once, at connect time). */
  accountForToken(accessToken: string): Promise<CloudAccount>
}

/**
 * `token_rejected`: the provider refused this access token (expired, or already dead): refresh
 * and try again. `unreachable`: the provider could not be told (5xx, network, timeout, 429).
 */
export type RevokeOutcome = 'revoked' | 'token_rejected' | 'unreachable'

/** Where tokens come from for a bound client; refresh is single-flight behind it. */
export interface TokenSource {
  accessToken(): Promise<string>
  /** Called after the provider said the token expired: refresh (once) and return the new one. */
  accessTokenAfterExpiry(rejected: string): Promise<string>
  rootInfo(): RootInfo
  /** The provider reported a new root (e.g. the account joined a team): persist it. */
  updateRootInfo(rootInfo: RootInfo): Promise<void>
}

/** A user id in, a client bound to that user's stored tokens out. */
export interface CloudClientFactory {
  forUser(userId: string): Promise<CloudClient>
}

/** One cloud behind the protocol: its OAuth side and a client per token source. */
export interface CloudProvider {
  name: Provider
  auth: CloudAuth
  clientFor(tokens: TokenSource): CloudClient
  close(): Promise<void>
}
