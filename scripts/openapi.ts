/**
 * Generates the committed OpenAPI document from the routes' schemas.
 * `npm run openapi` writes it; a test fails when the committed file has drifted.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApp } from '../src/app.ts'
import { loadConfig } from '../src/config.ts'
import { createLogger } from '../src/observability/logger.ts'

export const OPENAPI_PATH = fileURLToPath(new URL('../openapi/openapi.json', import.meta.url))

/** Throwaway keys and a temp database: the document depends on the routes only. */
export async function generateOpenApiDocument(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-openapi-'))
  try {
    const config = loadConfig({
      VAULT_KEYS: `docs:${randomBytes(32).toString('base64')}`,
      IDENTITY_JWKS: JSON.stringify({
        keys: [
          {
            kty: 'OKP',
            crv: 'Ed25519',
            x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo',
            kid: 'docs',
          },
        ],
      }),
      IDENTITY_ISSUER: 'https://main-app.example',
      DROPBOX_APP_KEY: 'docs',
      DROPBOX_APP_SECRET: 'docs',
      CONNECT_RETURN_URL: 'https://main-app.example/integrations/dropbox/done',
      DATABASE_PATH: join(dir, 'docs.db'),
    })
    const app = await buildApp(config, { logger: createLogger('silent') })
    await app.ready()
    const document = app.swagger()
    await app.close()
    return `${JSON.stringify(document, null, 2)}\n`
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(OPENAPI_PATH, await generateOpenApiDocument())
  process.stdout.write(`wrote ${OPENAPI_PATH}\n`)
}
