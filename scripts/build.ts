/**
 * `npm run build` (run by `prestart` and the Dockerfile): the service as one bundled ES module
 * in `dist/server/`, so a start parses one file instead of type-stripping `src/` and resolving
 * ~1,500 modules in `node_modules`. Tests and `node src/server.ts` keep running the sources.
 *
 * - `dist/server/` sits two levels below the root, like `src/vault/`: code that finds the
 *   migrations with `new URL('../../drizzle/…', import.meta.url)` resolves the same folder.
 * - Dynamic imports stay lazy (`splitting`): the PostgreSQL adapter is its own chunk.
 * - External: better-sqlite3 (a native addon) and @fastify/swagger-ui (serves files from its
 *   own package directory); both are production dependencies, resolved from node_modules.
 * - Identifiers are not minified: error names and stack frames stay readable (a linked source
 *   map is written for `node --enable-source-maps`).
 */
import { rm } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BUNDLE_DIR = 'dist/server'
export const BUNDLE_ENTRY = `${BUNDLE_DIR}/server.js`

export async function buildBundle(): Promise<void> {
  await rm(new URL(`../${BUNDLE_DIR}`, import.meta.url), { recursive: true, force: true })
  await build({
    absWorkingDir: ROOT,
    entryPoints: ['src/server.ts'],
    outdir: BUNDLE_DIR,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    external: ['better-sqlite3', '@fastify/swagger-ui'],
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    legalComments: 'none',
    // CommonJS packages inside an ES module bundle call `require` for Node built-ins.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
    },
    logLevel: 'warning',
  })
}

if (import.meta.main) await buildBundle()
