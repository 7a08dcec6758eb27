/**
 * Imported before any package by every entry point (server, vault CLI). Node 24 re-reads
 * drizzle-orm's 175 KB `exports` map for each of the ~450 relative imports inside the package;
 * measured here that costs ~146 MB of RSS that is never given back and ~0.3 s of start-up.
 * drizzle-orm is `"type": "module"` and its relative imports name their `.js` files, so they
 * can resolve as plain URLs. Everything else resolves the normal way. The vault is loaded by a
 * dynamic import after this hook is registered, which is what makes an early import enough.
 */
import { registerHooks } from 'node:module'

registerHooks({
  resolve(specifier, context, nextResolve) {
    if (
      specifier.startsWith('.') &&
      specifier.endsWith('.js') &&
      context.parentURL?.includes('/node_modules/drizzle-orm/')
    ) {
      return {
        url: new URL(specifier, context.parentURL).href,
        format: 'module',
        shortCircuit: true,
      }
    }
    return nextResolve(specifier, context)
  },
})
