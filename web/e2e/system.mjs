// Starts a complete private chat system for the browser tests with chat-stack (the one
// implementation, deploy/stack/): its own PostgreSQL, nats-server, logic, dispatcher and
// one broker serving web/dist (or, with `front`, the whole cluster: two brokers behind
// nginx, which serves web/dist), from deploy/config/*.yaml with the overrides below.
// Everything is stopped by `chat-stack down`, which stops exactly the recorded pids.
import { execFile } from 'node:child_process'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import WebSocket from 'ws'

const run = promisify(execFile)
const here = path.dirname(fileURLToPath(import.meta.url))
export const WEB_DIR = path.resolve(here, '..')
export const REPO_ROOT = path.resolve(WEB_DIR, '..')
const BIN_DIR = path.join(REPO_ROOT, 'build', 'bin')
const CHAT_STACK = path.join(BIN_DIR, 'chat-stack')

// What differs from deploy/config/*.yaml. The production rates per connection and
// account stay: the client must live with them.
const OVERRIDES = [
  // Off: every test person, probe and reconnect comes from 127.0.0.1, and a suite run
  // creates more accounts and connections a minute than one real address would.
  'limits.accounts_per_minute_per_address=0',
  'limits.connections_per_minute_per_address=0',
  // None besides the broker's own origin, which serves the page under test.
  'http.allowed_origins=[]',
  'broker.heartbeat_interval=500ms',
  'presence.broker_timeout=3s',
  'presence.sweep_interval=500ms',
  // A dropped connection keeps its sessions 20 s, longer than any test takes to come
  // back (a cut, a broker restart) and short enough not to matter between tests.
  'presence.grace=20s',
]

/** Runs chat-stack with arguments; returns its stdout. */
async function chatStack(args, timeout = 120000) {
  try {
    const { stdout } = await run(CHAT_STACK, args, { cwd: REPO_ROOT, timeout, maxBuffer: 16 << 20 })
    return stdout
  } catch (err) {
    throw new Error(`chat-stack ${args.join(' ')} failed:\n${err.stderr || err.message}`)
  }
}

// ------------------------------------------------------------------ a smoke check

/** Opens a plain WebSocket, creates an account and closes again: the stack answers. */
export function createAccountOverWs(wsUrl, nickName = 'probe', timeoutMs = 3000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl)
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error('no CRT_ACCOUNT reply'))
    }, timeoutMs)
    ws.on('open', () => ws.send(JSON.stringify({ cmd: 'CRT_ACCOUNT', nickName })))
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data))
      if (frame.cmd !== 'CRT_ACCOUNT') return
      clearTimeout(timer)
      ws.once('close', () => resolve(frame))
      ws.close()
    })
    ws.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

/**
 * Returns once no account but a probe's own is online: the probe MATCHes until the
 * answer is "nobody" (code 13, waiting; 4 from a broker without the waiting pool), then
 * LOGOUTs, which ends its waiting and takes it offline before the reply.
 * Between tests this makes sure nobody from the last test can still be matched.
 */
export function waitForNobodyOnline(wsUrl, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl)
    let accountId = 0
    let matches = 0
    const timer = setTimeout(() => {
      ws.terminate()
      reject(new Error('the system did not become quiet'))
    }, timeoutMs)
    const send = (frame) => ws.send(JSON.stringify(frame))
    ws.on('open', () => send({ cmd: 'CRT_ACCOUNT', nickName: 'quiet-probe' }))
    ws.on('message', (data) => {
      const frame = JSON.parse(String(data))
      if (frame.cmd === 'PING') return send({ cmd: 'PONG', accountId })
      if (frame.cmd === 'CRT_ACCOUNT' && frame.code === 0) {
        accountId = frame.accountId
        return send({ cmd: 'MATCH', accountId })
      }
      if (frame.cmd === 'MATCH') {
        if (frame.code === 4 || frame.code === 13) return send({ cmd: 'LOGOUT', accountId })
        if (++matches > 100) return ws.terminate()
        return setTimeout(() => send({ cmd: 'MATCH', accountId }), frame.code === 0 ? 0 : 100)
      }
      if (frame.cmd === 'LOGOUT') {
        clearTimeout(timer)
        ws.once('close', () => resolve(matches))
        ws.close()
      }
      return undefined
    })
    ws.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
  })
}

// ------------------------------------------------------------------ the system

/**
 * Where the moderator page and its API are: logic-1's admin listener (`moderation_url` of
 * the first logic service in the system dir's state.json) and the token of
 * `moderation_token_file` (its first line). Both null when chat-stack started no admin listener.
 */
function adminAccess(systemDir) {
  const state = JSON.parse(readFileSync(path.join(systemDir, 'state.json'), 'utf8'))
  const logic = state.services.find((s) => s.kind === 'logic')
  const adminUrl = logic && logic.moderation_url ? logic.moderation_url.replace(/\/$/, '') : null
  const adminToken = state.moderation_token_file
    ? readFileSync(state.moderation_token_file, 'utf8').split('\n')[0].trim()
    : null
  return { adminUrl, adminToken }
}

/**
 * Starts the system. Returns {baseUrl, wsUrl, adminUrl, adminToken, logDir, brokers,
 * stopBroker(name), startBroker(name), stop()}; the broker name defaults to the first
 * broker's. adminUrl and adminToken: see adminAccess().
 * `front`: the cluster (chat-stack --cluster), and baseUrl/wsUrl are nginx's.
 * `overrides`: more `key=value` settings for this system, after OVERRIDES.
 */
export async function startSystem({ log = () => {}, front = false, overrides = [] } = {}) {
  for (const bin of ['chat-stack', 'chat', 'chat-logic', 'chat-dispatcher', 'chat-broker']) {
    if (!existsSync(path.join(BIN_DIR, bin))) {
      throw new Error(`${path.join(BIN_DIR, bin)} is missing: build the C++ first (cmake --build build)`)
    }
  }
  const webRoot = path.join(WEB_DIR, 'dist')
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    throw new Error(`${webRoot}/index.html is missing: run npm run build first`)
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-web-e2e-'))
  // As root, PostgreSQL runs as user postgres, who must pass through it.
  chmodSync(dir, 0o711)
  const logDir = path.join(dir, 'system')
  let stopped = false

  async function stop({ keepLogs = false } = {}) {
    if (stopped) return
    stopped = true
    await chatStack(['down', '--dir', logDir]).catch((err) => console.error(`[system] ${err.message}`))
    if (!keepLogs) rmSync(dir, { recursive: true, force: true })
  }

  try {
    const args = ['up', '--dir', logDir, '--fast', '--json', '--set', `broker.web_root=${webRoot}`]
    // The whole cluster of `dev.sh up --cluster`: PostgreSQL with failover, a locked
    // NATS cluster over TLS, two of each service, nginx in front.
    if (front) args.push('--cluster')
    for (const set of [...OVERRIDES, ...overrides]) args.push('--set', set)
    const state = JSON.parse(await chatStack(args))
    const brokers = state.services.filter((s) => s.kind === 'broker').map((s) => s.name)
    const baseUrl = state.url.replace(/\/$/, '')
    const wsUrl = `${baseUrl.replace(/^http/, 'ws')}/ws`
    // chat-stack waits for logic to answer through the broker (and for everything else).
    const startBroker = (name = brokers[0]) => chatStack(['start', '--dir', logDir, name])
    const stopBroker = (name = brokers[0]) => chatStack(['stop', '--dir', logDir, name])
    const { adminUrl, adminToken } = adminAccess(logDir)
    log(`system up: ${baseUrl}${adminUrl ? `, admin ${adminUrl}` : ''} (logs in ${logDir})`)
    return {
      baseUrl,
      wsUrl,
      adminUrl,
      adminToken,
      logDir,
      brokers,
      startBroker,
      stopBroker,
      pids: () => Object.fromEntries(state.services.map((s) => [s.name, s.pid])),
      stop,
    }
  } catch (err) {
    await stop({ keepLogs: true })
    err.message += `\n(logs kept in ${logDir})`
    throw err
  }
}
