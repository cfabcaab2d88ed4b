// Browser end-to-end tests: builds the client if its sources changed, starts a private
// chat system for each suite (system.mjs), drives Debian's Chromium with playwright-core, prints one
// line per test and "N passed, N failed". Exits non-zero on any failure.
//
//   node e2e/run.mjs                  all tests
//   E2E_ONLY=reconnect node e2e/run.mjs   tests whose name matches
//   E2E_KEEP_LOGS=1 node e2e/run.mjs      keep the service logs even when all pass
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs'
import path from 'node:path'
import { registerTests } from './chat.e2e.mjs'
import { registerClusterTests } from './cluster.e2e.mjs'
import { registerModerationTests } from './moderation.e2e.mjs'
import { registerStrangerTests, STRANGER_OVERRIDES } from './stranger.e2e.mjs'
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

/** dist/ must be the build of the current sources: the tests load it from the broker (and logic). */
function buildIfStale() {
  const index = path.join(WEB_DIR, 'dist', 'index.html')
  const sources = ['src', 'public', 'index.html', 'moderation.html', 'vite.config.js', 'package-lock.json']
    .map((p) => path.join(WEB_DIR, p))
    .filter(existsSync)
  if (existsSync(index) && statSync(index).mtimeMs >= Math.max(...sources.map(newestMtime))) return
  console.log('e2e: building the client (dist/ is missing or older than the sources)')
  execFileSync(process.execPath, [path.join(WEB_DIR, 'node_modules', 'vite', 'bin', 'vite.js'), 'build'], {
    cwd: WEB_DIR,
    stdio: ['ignore', 'ignore', 'inherit'],
  })
}

// Each suite gets a system of its own: the chat tests one broker serving the page, the
// cluster tests the whole cluster of `dev.sh up --cluster` (two brokers behind nginx).
// The stranger-chat suite has one broker of its own: its bans must not reach the others;
// so has the moderation suite, whose moderator bans and lifts by hand.
const SUITES = [
  { name: 'one broker', register: registerTests, front: false },
  { name: 'stranger chat: matching, typing, leave, block, report', register: registerStrangerTests, front: false, overrides: STRANGER_OVERRIDES },
  { name: 'moderation: the admin page on logic', register: registerModerationTests, front: false },
  { name: 'the cluster, through nginx', register: registerClusterTests, front: true },
]

let stopCurrent = null
// The services run in process groups of their own: a Ctrl-C must stop them here.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    console.log(`e2e: ${signal}: stopping the services`)
    Promise.resolve(stopCurrent && stopCurrent()).finally(() => process.exit(130))
  })
}

/** Runs one suite on a system of its own; returns {passed, failed}. */
async function runSuite(suite, browser, shots) {
  const runner = new Runner()
  suite.register(runner)
  if (!runner.tests.some((t) => !process.env.E2E_ONLY || new RegExp(process.env.E2E_ONLY, 'i').test(t.name)))
    return { passed: 0, failed: 0 }
  console.log(`e2e: suite "${suite.name}"`)
  const system = await startSystem({
    log: (m) => console.log(`e2e: ${m}`),
    front: suite.front,
    overrides: suite.overrides,
  })
  stopCurrent = () => system.stop({ keepLogs: true })
  let result = { passed: 0, failed: 1 }
  let keepLogs = false
  try {
    await waitForNobodyOnline(system.wsUrl) // the start-up probe has gone offline
    result = await runner.run(() => {
      const people = []
      return {
        people,
        system,
        person: async (name, viewport = DESKTOP, { address = '', url } = {}) => {
          const p = await Person.open({ browser, baseUrl: system.baseUrl, name, viewport, shots, address, url })
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
    await system.stop({ keepLogs })
    stopCurrent = null
  }
  if (keepLogs) console.log(`e2e: service logs kept in ${system.logDir}`)
  return result
}

async function main() {
  const started = Date.now()
  buildIfStale()
  rmSync(SHOTS_DIR, { recursive: true, force: true })
  console.log(`e2e: screenshots go to ${path.relative(process.cwd(), SHOTS_DIR) || SHOTS_DIR}`)
  let browser = null
  const total = { passed: 0, failed: 0 }
  try {
    browser = await launchBrowser()
    console.log(`e2e: Chromium ${browser.version()}`)
    const shots = { dir: SHOTS_DIR, n: 0 }
    for (const suite of SUITES) {
      const result = await runSuite(suite, browser, shots)
      total.passed += result.passed
      total.failed += result.failed
    }
  } catch (err) {
    total.failed += 1
    console.log(`e2e: ${err.stack || err}`)
  } finally {
    if (browser) await browser.close().catch(() => {})
  }
  const took = ((Date.now() - started) / 1000).toFixed(1)
  console.log(`e2e: screenshots in ${SHOTS_DIR}`)
  console.log(`${total.passed} passed, ${total.failed} failed (browser e2e, ${took} s)`)
  process.exitCode = total.failed > 0 ? 1 : 0
}

main().catch((err) => {
  console.error(`e2e: ${err.stack || err}`)
  console.log('0 passed, 1 failed (browser e2e could not start)')
  process.exitCode = 1
})
