import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// `npm run dev` serves the client with hot reload and forwards the WebSocket to the
// broker of `./deploy/dev.sh up`; `npm run build` writes dist/, which the broker serves.
export default defineConfig({
  plugins: [vue()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsDir: 'assets', // the broker caches /assets/* (hashed names) for a year
  },
  server: {
    proxy: {
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
  test: {
    include: ['tests/**/*.test.js'],
    environment: 'node',
  },
})
