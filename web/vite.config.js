import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

const here = path.dirname(fileURLToPath(import.meta.url))

// `npm run dev` serves the client with hot reload and forwards the WebSocket to the
// broker of `./deploy/dev.sh up` (and /api to logic's admin listener, for /moderation.html);
// `npm run build` writes dist/: the broker serves the chat page (index.html), logic's
// admin listener the moderator page (moderation.html), both the shared assets.
export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets', // the broker caches /assets/* (hashed names) for a year
    // Two pages (Vite 8's name for rollupOptions; the old one is deprecated).
    rolldownOptions: {
      input: {
        index: path.resolve(here, 'index.html'),
        moderation: path.resolve(here, 'moderation.html'),
      },
      // What both pages load in chunks named for what they hold (Vue; our shared styles
      // and modules), not after whichever module the bundler met first.
      output: {
        codeSplitting: {
          groups: [
            { name: 'vendor', test: /node_modules/, priority: 2 },
            { name: 'shared', minShareCount: 2, priority: 1 },
          ],
        },
      },
    },
  },
  server: {
    proxy: {
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
      '/api': { target: 'http://127.0.0.1:18300' },
    },
  },
  test: {
    include: ['tests/**/*.test.js'],
    environment: 'node',
  },
})
