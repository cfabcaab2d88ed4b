// Starts a complete private chat system for the browser tests: a scratch database on
// the PostgreSQL named by CHAT_TEST_PG_URL (or a private cluster when it is unset), its
// own nats-server, then logic, dispatcher and broker from build/bin with configs in a
// temp dir. The broker serves web/dist. Everything is stopped by pid.
import { execFile, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, chmodSync, chownSync } from 'node:fs'
import net from 'node:net'
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
const PG_BIN = process.env.PG_BIN || '/usr/lib/postgresql/15/bin'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

/** A TCP port nothing listens on right now (the kernel picks it). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

async function httpStatus(url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    await res.arrayBuffer()
    return res.status
  } catch {
    return 0
  }
}

function alive(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] !== 'Z'
  } catch {
    return false
  }
}

async function stopPid(pid, name, timeoutMs = 10000) {
  if (!pid || !alive(pid)) return
  try {
    process.kill(pid, 'SIGTERM')
  } catch {
    return
  }
  const deadline = Date.now() + timeoutMs
  while (alive(pid) && Date.now() < deadline) await sleep(50)
  if (alive(pid)) {
    console.error(`[system] ${name} (pid ${pid}) ignored SIGTERM; sending SIGKILL`)
    try {
      process.kill(pid, 'SIGKILL')
    } catch {
      // gone meanwhile
    }
    while (alive(pid)) await sleep(50)
  }
}

function tail(file, lines = 25) {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n')
  } catch {
    return '(no log)'
  }
}

async function psql(pgUrl, sql) {
  const bin = existsSync(path.join(PG_BIN, 'psql')) ? path.join(PG_BIN, 'psql') : 'psql'
  await run(bin, ['-X', '-q', '-v', 'ON_ERROR_STOP=1', pgUrl, '-c', sql], { timeout: 30000 })
}

// ------------------------------------------------------------------ private PostgreSQL

/** A throwaway cluster, for runs without CHAT_TEST_PG_URL (dev.sh test sets it). */
async function startPrivatePostgres(dir) {
  if (!existsSync(path.join(PG_BIN, 'initdb'))) {
    throw new Error(
      `CHAT_TEST_PG_URL is unset and ${PG_BIN}/initdb does not exist. Run the tests through ` +
        './deploy/dev.sh test, or set CHAT_TEST_PG_URL=postgresql://postgres@127.0.0.1:PORT/postgres ' +
        '(a superuser with trust authentication).',
    )
  }
  const asRoot = process.getuid && process.getuid() === 0
  const data = path.join(dir, 'pg')
  mkdirSync(data, { mode: 0o700 })
  // initdb and postgres refuse to run as root: as root the cluster belongs to postgres.
  const wrap = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args])
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    chmodSync(dir, 0o755)
    chownSync(data, Number(stdout.trim()), Number(gid.trim()))
  }
  const [initCmd, initArgs] = wrap(path.join(PG_BIN, 'initdb'), [
    '-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8',
  ])
  await run(initCmd, initArgs, { cwd: '/', timeout: 60000 })
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort()
    const [cmd, args] = wrap(path.join(PG_BIN, 'pg_ctl'), [
      '-D', data, '-l', path.join(data, 'postgres.log'), '-w', '-t', '60',
      '-o', `-p ${port} -k '' -c listen_addresses=127.0.0.1`, 'start',
    ])
    try {
      await run(cmd, args, { cwd: '/', timeout: 90000 })
    } catch {
      continue
    }
    const stop = async () => {
      const [c, a] = wrap(path.join(PG_BIN, 'pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop'])
      await run(c, a, { cwd: '/', timeout: 60000 }).catch(() => {})
    }
    return { url: `postgresql://postgres@127.0.0.1:${port}/postgres`, stop }
  }
  throw new Error(`the private PostgreSQL did not start:\n${tail(path.join(data, 'postgres.log'))}`)
}

function natsServerBinary() {
  for (const dir of (process.env.PATH || '').split(':').concat(['/usr/sbin', '/usr/bin'])) {
    if (dir && existsSync(path.join(dir, 'nats-server'))) return path.join(dir, 'nats-server')
  }
  throw new Error('nats-server is not installed (apt-get install nats-server, or ./deploy/dev.sh up)')
}

// ------------------------------------------------------------------ configs

// Every key is spelled out (deploy/config/*.yaml documents them), so that the tests do
// not change behaviour when a default does.
function brokerYaml({ port, natsUrl, webRoot }) {
  return `broker:
  id: web-e2e
  address: 127.0.0.1
  port: ${port}
  threads: 2
  web_root: ${JSON.stringify(webRoot)}
  request_timeout: 5s
  heartbeat_interval: 500ms
limits:
  max_frame_bytes: 65536
  max_queued_frames: 4096
  # The production rates per connection and account: the client must live with them.
  messages_per_second: 20
  account_messages_per_second: 20
  # Off: every test person, probe and reconnect comes from 127.0.0.1, and a suite run
  # creates more accounts and connections a minute than one real address would.
  accounts_per_minute_per_address: 0
  connections_per_minute_per_address: 0
http:
  # None besides the broker's own origin, which serves the page under test.
  allowed_origins: []
ping:
  interval: 10s
  max_wait: 30s
nats:
  url: ${natsUrl}
log:
  level: info
`
}

function logicYaml({ natsUrl, pgUrl }) {
  // grace: a dropped connection keeps its sessions 20 s, longer than any test takes to
  // come back (a cut, a broker restart) and short enough not to matter between tests.
  return `logic:
  workers: 4
  dialogue_batch_max: 64
presence:
  broker_timeout: 3s
  sweep_interval: 500ms
  grace: 20s
  token_ttl: 720h
nats:
  url: ${natsUrl}
postgres:
  url: ${pgUrl}
log:
  level: info
`
}

function dispatcherYaml({ natsUrl, pgUrl }) {
  return `dispatcher:
  workers: 2
  batch_max: 500
  sweep_interval: 1s
  rebalance_interval: 1s
nats:
  url: ${natsUrl}
postgres:
  url: ${pgUrl}
log:
  level: info
`
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
 * answer is "nobody" (code 4), then LOGOUTs, which takes it offline before the reply.
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
        if (frame.code === 4) return send({ cmd: 'LOGOUT', accountId })
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
 * Starts the system. Returns {baseUrl, wsUrl, logDir, restartBroker(), stopBroker(),
 * startBroker(), stop()}.
 */
export async function startSystem({ log = () => {} } = {}) {
  for (const bin of ['chat', 'chat-logic', 'chat-dispatcher', 'chat-broker']) {
    if (!existsSync(path.join(BIN_DIR, bin))) {
      throw new Error(`${path.join(BIN_DIR, bin)} is missing: build the C++ first (cmake --build build)`)
    }
  }
  const webRoot = path.join(WEB_DIR, 'dist')
  if (!existsSync(path.join(webRoot, 'index.html'))) {
    throw new Error(`${webRoot}/index.html is missing: run npm run build first`)
  }

  const dir = mkdtempSync(path.join(os.tmpdir(), 'chat-web-e2e-'))
  const logDir = path.join(dir, 'logs')
  mkdirSync(logDir)
  const procs = new Map() // name -> {pid, child}
  const cleanups = []
  let stopped = false

  async function stop({ keepLogs = false } = {}) {
    if (stopped) return
    stopped = true
    for (const name of ['broker', 'dispatcher', 'logic', 'nats']) {
      const p = procs.get(name)
      if (p) await stopPid(p.pid, name)
    }
    for (const fn of cleanups.reverse()) await fn().catch((err) => console.error(`[system] cleanup: ${err.message}`))
    if (!keepLogs) rmSync(dir, { recursive: true, force: true })
  }

  function startProcess(name, cmd, args) {
    const logFile = path.join(logDir, `${name}.log`)
    const fd = openSync(logFile, 'a')
    const child = spawn(cmd, args, { cwd: REPO_ROOT, stdio: ['ignore', fd, fd], detached: true })
    closeSync(fd)
    child.unref()
    child.on('error', () => {})
    procs.set(name, { pid: child.pid, child, logFile })
    return child.pid
  }

  async function waitFor(what, name, check, timeoutMs = 20000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (await check()) return
      const p = procs.get(name)
      if (p && !alive(p.pid)) throw new Error(`${name} exited while waiting for ${what}:\n${tail(p.logFile)}`)
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${p ? tail(p.logFile) : ''}`)
      await sleep(100)
    }
  }

  try {
    // PostgreSQL: a scratch database on the given server, or a private cluster.
    let serverUrl = process.env.CHAT_TEST_PG_URL
    if (!serverUrl) {
      log('CHAT_TEST_PG_URL is unset: starting a private PostgreSQL cluster')
      const pg = await startPrivatePostgres(dir)
      serverUrl = pg.url
      cleanups.push(pg.stop)
    }
    const dbName = `chat_web_e2e_${process.pid}_${randomBytes(3).toString('hex')}`
    await psql(serverUrl, `CREATE DATABASE ${dbName}`)
    cleanups.push(() => psql(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`))
    const dbUrl = new URL(serverUrl)
    dbUrl.pathname = `/${dbName}`
    const pgUrl = dbUrl.toString()

    // NATS
    const natsPort = await freePort()
    const natsMonitor = await freePort()
    startProcess('nats', natsServerBinary(), ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(natsMonitor)])
    await waitFor('nats-server', 'nats', async () => (await httpStatus(`http://127.0.0.1:${natsMonitor}/healthz`)) === 200)
    const natsUrl = `nats://127.0.0.1:${natsPort}`

    // Configs and migrations
    const brokerPort = await freePort()
    const logicConfig = path.join(dir, 'logic.yaml')
    const dispatcherConfig = path.join(dir, 'dispatcher.yaml')
    const brokerConfig = path.join(dir, 'broker.yaml')
    writeFileSync(logicConfig, logicYaml({ natsUrl, pgUrl }))
    writeFileSync(dispatcherConfig, dispatcherYaml({ natsUrl, pgUrl }))
    writeFileSync(brokerConfig, brokerYaml({ port: brokerPort, natsUrl, webRoot }))
    await run(
      path.join(BIN_DIR, 'chat'),
      ['migrate', '--config', logicConfig, '--migrations', path.join(REPO_ROOT, 'migrations')],
      { cwd: REPO_ROOT, timeout: 60000 },
    )

    startProcess('logic', path.join(BIN_DIR, 'chat-logic'), ['--config', logicConfig])
    startProcess('dispatcher', path.join(BIN_DIR, 'chat-dispatcher'), ['--config', dispatcherConfig])

    const baseUrl = `http://127.0.0.1:${brokerPort}`
    const wsUrl = `ws://127.0.0.1:${brokerPort}/ws`

    async function startBroker() {
      startProcess('broker', path.join(BIN_DIR, 'chat-broker'), ['--config', brokerConfig])
      await waitFor('the broker /healthz', 'broker', async () => (await httpStatus(`${baseUrl}/healthz`)) === 200)
      await waitFor('a CRT_ACCOUNT answer', 'broker', async () => {
        try {
          return (await createAccountOverWs(wsUrl, 'probe')).code === 0
        } catch {
          return false
        }
      })
      for (const name of ['logic', 'dispatcher']) {
        if (!alive(procs.get(name).pid)) throw new Error(`${name} is not running:\n${tail(procs.get(name).logFile)}`)
      }
    }

    async function stopBroker() {
      const p = procs.get('broker')
      if (p) await stopPid(p.pid, 'broker')
    }

    await startBroker()
    log(`system up: ${baseUrl} (logs in ${logDir})`)
    return {
      baseUrl,
      wsUrl,
      logDir,
      startBroker,
      stopBroker,
      pids: () => Object.fromEntries([...procs].map(([k, v]) => [k, v.pid])),
      stop,
    }
  } catch (err) {
    await stop({ keepLogs: true })
    err.message += `\n(logs kept in ${logDir})`
    throw err
  }
}
