import type { Connection, ConnectionVault } from '../vault/ports.ts'
import type { RootInfo } from './models.ts'
import type { TokenSource } from './protocols.ts'
import { needsRefresh, type TokenRefresher } from './token-refresher.ts'

/** The runtime token source: the user's connection in the vault, refreshed single-flight. */
export class VaultTokenSource implements TokenSource {
  #connection: Connection
  readonly #vault: ConnectionVault
  readonly #refresher: TokenRefresher
  readonly #clock: () => number

  constructor(
    connection: Connection,
    vault: ConnectionVault,
    refresher: TokenRefresher,
    clock: () => number,
  ) {
    this.#connection = connection
    this.#vault = vault
    this.#refresher = refresher
    this.#clock = clock
  }

  async accessToken(): Promise<string> {
    const tokens = await this.#vault.openTokens(this.#connection)
    if (!needsRefresh(tokens, this.#clock())) return tokens.accessToken
    return this.#afterRefresh(await this.#refresher.refreshSingleFlight(this.#connection))
  }

  async accessTokenAfterExpiry(rejected: string): Promise<string> {
    return this.#afterRefresh(await this.#refresher.refreshSingleFlight(this.#connection, rejected))
  }

  /** A refresh re-reads the root (see TokenRefresher): this call must use it too. */
  async #afterRefresh(accessToken: string): Promise<string> {
    const current = await this.#vault.findByUser(this.#connection.userId, this.#connection.provider)
    if (current?.id === this.#connection.id) this.#connection = current
    return accessToken
  }

  rootInfo(): RootInfo {
    return this.#connection.rootInfo
  }

  async updateRootInfo(rootInfo: RootInfo): Promise<void> {
    const updated = await this.#vault.updateRootInfo(this.#connection.id, rootInfo)
    this.#connection = updated ?? { ...this.#connection, rootInfo }
  }
}
