import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'sqlite',
  schema: './src/vault/schema.ts',
  out: './drizzle',
})
