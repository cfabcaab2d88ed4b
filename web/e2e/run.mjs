// Browser end-to-end tests: builds the client if its sources changed, starts a private
// chat system (system.mjs), drives Debian's Chromium with playwright-core, prints one
// line per test and "N passed, N failed". Exits non-zero on any failure.
//
//   node e2e/run.mjs                  all tests
//   E2E_ONLY=reconnect node e2e/run.mjs   tests whose name matches
//   E2E_KEEP_LOGS=1 node e2e/run.mjs      keep the service logs even when all pass
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { registerTests } from './chat.e2e.mjs'
import { DESKTOP, launchBrowser, Person, Runner } from './harness.mjs'
import { REPO_ROOT, startSystem, waitForNobodyOnline, WEB_DIR } from './system.mjs'

const SHOTS_DIR = path.join(REPO_ROOT, 'test-output', 'web-e2e', 'screenshots')

function newestMtime(target) {
  const st = statSync(target)
  if (!st.isDirectory()) return st.mtimeMs
  let newest = st.mtimeMs
  for (const entry of readdirSync(target)) newest = Math.max(newest, newestMtime(path.join(target, entry)))
  return newest
}

/** dist/ must be the build of the current sources: the tests load it from the broker. */
function buildIfStale() {
  const index = path.join(WEB_DIR, 'dist', 'index.html')
  const sources = ['src', 'public', 'index.html', 'vite.config.js', 'package-lock.json']
    .map((p) => path.join(WEB_DIR, p))
    .filter(existsSync)
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return
  console.log('e2e: building the client (dist/ is missing or older than the sources)')
  execFileSync(process.execPath, [path.join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
    cwd: WEB_DIR,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

async function main() {
  const started = Date.now()
  buildIfStale()
  rmSync(SHOTS_DIR, { recursive: true, force: true })
  console.log(`e2e: screenshots go to ${path.relative(process.cwd(), SHOTS_DIR) || SHOTS_DIR}`)

  const system = await startSystem({ log: (m) => console.log(`e2e: ${m}`) })
  // The services run in process groups of their own: a Ctrl-C must stop them here.
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      console.log(`e2e: ${signal}: stopping the services`)
      system.stop().finally(() => process.exit(130))
    })
  }
  let browser = null
  let result = { passed: 0, failed: 1 }
  let keepLogs = false
  try {
    browser = await launchBrowser()
    console.log(`e2e: Chromium ${browser.version()}`)
    const shots = { dir: SHOTS_DIR, n: 0 }
    await waitForNobodyOnline(system.wsUrl) // the start-up probe has gone offline
    const runner = new Runner()
    registerTests(runner)
    result = await runner.run(() => {
      const people = []
      return {
        people,
        system,
        person: async (name, viewport = DESKTOP) => {
          const p = await Person.open({ browser, baseUrl: system.baseUrl, name, viewport, shots })
          people.push(p)
          return p
        },
        cleanup: async () => {
          for (const p of people) await p.close()
          // Nobody from this test may still be online (and matchable) in the next one.
          await waitForNobodyOnline(system.wsUrl)
        },
      }
    })
    keepLogs = result.failed > 0 || Boolean(process.env.E2E_KEEP_LOGS)
  } catch (err) {
    keepLogs = true
    console.log(`e2e: ${err.stack || err}`)
  } finally {
    if (browser) await browser.close().catch(() => {})
    await system.stop({ keepLogs })
  }
  if (keepLogs) console.log(`e2e: service logs kept in ${system.logDir}`)
  const took = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`e2e: screenshots in ${SHOTS_DIR}`)
  console.log(`${result.passed} passed, ${result.failed} failed (browser e2e, ${took} s)`)
  process.exitCode = result.failed > 0 ? 1 : 0
}

main().catch((err) => {
  console.error(`e2e: ${err.stack || err}`)
  console.log('0 passed, 1 failed (browser e2e could not start)')
  process.exitCode = 1
})
