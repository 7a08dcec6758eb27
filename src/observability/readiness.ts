/** One thing `/readyz` asks: the vault, the database, or what a test injects. */
export interface ReadinessCheck {
  name: string
  /** Resolves when healthy; rejects when not (the reason goes to the log only). */
  check(): Promise<void>
  /** The fixed text `/readyz` shows when the check fails, never the error's message (contract §5). */
  failure?: string
}
