/**
 * `npm run build` (run by `prestart` and the Dockerfile): the service as one bundled ES module
 * in `dist/server/`, so a start parses one file instead of type-stripping `src/` and resolving
 * ~1,500 modules in `node_modules`. Tests and `node src/server.ts` keep running the sources.
 *
 * - `import.meta.url` in a source file becomes that file's own URL, computed from the bundle's
 *   place at run time: code that finds the migrations with `new URL('../../../drizzle/…',
 *   import.meta.url)` resolves the same folder from the bundle as from the sources.
 * - Dynamic imports stay lazy (`splitting`): the PostgreSQL adapter is its own chunk.
 * - External: better-sqlite3 (a native addon) and @fastify/swagger-ui (serves files from its
 *   own package directory); both are production dependencies, resolved from node_modules.
 * - Identifiers are not minified: error names and stack frames stay readable (a linked source
 *   map is written for `node --enable-source-maps`).
 */
import { readFile, rm } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build, type Plugin } from 'esbuild'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
export const BUNDLE_DIR = 'dist/server'
export const BUNDLE_ENTRY = `${BUNDLE_DIR}/server.js`

/** Rewrites `import.meta.url` in `src/` to the source file's URL, relative to the bundle. */
const sourceUrls: Plugin = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.ts$/ }, async ({ path }) => {
      if (!path.startsWith(join(ROOT, 'src'))) return undefined
      const text = await readFile(path, 'utf8')
      if (!text.includes('import.meta.url')) return undefined
      const fromBundle = relative(join(ROOT, BUNDLE_DIR), path).split('\\').join('/')
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' }
    })
  },
}

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
    plugins: [sourceUrls],
    // CommonJS packages inside an ES module bundle call `require` for Node built-ins.
    banner: {
      js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);",
    },
    logLevel: 'warning',
  })
}

if (import.meta.main) await buildBundle()
