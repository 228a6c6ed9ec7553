import { defineConfig } from 'vite'

// `npx vite` serves the UI with hot reload and forwards /api to a running capture app
// (ADMIN_API_URL, the capture port; 8000 by default), so the UI and the API share an origin as in production.
export default defineConfig({
  base: '/admin/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
  server: { proxy: { '/api': process.env.ADMIN_API_URL ?? 'http://127.0.0.1:8000' } },
})
