import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

/**
 * The dashboard is built once into dist-web/ and served by the API at /dashboard/ (src/api/dashboard.ts).
 * Preact's JSX goes through Vite's own oxc transform: no framework plugin needed.
 */
const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/dashboard/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: fileURLToPath(new URL('../dist-web', import.meta.url)),
    emptyOutDir: true,
    // The CSP allows no inline script: keep Vite from adding its modulepreload polyfill, and every asset a file.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    target: 'es2022',
    // No source maps: they would publish the dashboard's sources (issue 20); the server refuses *.map too.
    sourcemap: false,
  },
});
