import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'
import { generateOpenApiDocument, OPENAPI_PATH } from '../scripts/openapi.ts'

test('the committed OpenAPI document matches the routes (run `npm run openapi` after a change)', async () => {
  const committed = await readFile(OPENAPI_PATH, 'utf8')
  assert.equal(committed, await generateOpenApiDocument())
})

test('the document is OpenAPI 3.1 and every route declares its responses', async () => {
  const document = JSON.parse(await generateOpenApiDocument()) as {
    openapi: string
    paths: Record<string, Record<string, { responses?: Record<string, unknown> }>>
  }
  assert.equal(document.openapi, '3.1.0')
  for (const [path, operations] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      assert.ok(
        Object.keys(operation.responses ?? {}).length > 0,
        `${method.toUpperCase()} ${path} has no responses`,
      )
    }
  }
})
