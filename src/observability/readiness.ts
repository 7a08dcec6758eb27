/** One thing `/readyz` asks: the vault, the database, or what a test injects. */
export interface ReadinessCheck {
  name: string
  /** Resolves when healthy; rejects (with a non-secret message) when not. */
  check(): Promise<void>
}
