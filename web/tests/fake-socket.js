// A stand-in for the browser's WebSocket: records what the store sends and lets a
// test play the broker's part (open, frames, close) synchronously.
import { createChatStore } from '../src/lib/chat-store.js'

export class FakeSocket {
  constructor(url) {
    this.url = url
    this.readyState = 0 // CONNECTING
    this.sent = []
    this.closedWith = null
  }

  send(data) {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open')
    this.sent.push(JSON.parse(data))
  }

  close(code = 1000, reason = '') {
    if (this.readyState === 3) return
    this.closedWith = { code, reason }
    this.readyState = 3
    if (this.onclose) this.onclose({ code, reason })
  }

  // ---- the broker's side
  open() {
    this.readyState = 1
    if (this.onopen) this.onopen({})
  }

  receive(frame) {
    if (this.onmessage) this.onmessage({ data: JSON.stringify(frame) })
  }

  drop(code = 1006) {
    if (this.readyState === 3) return
    this.readyState = 3
    if (this.onclose) this.onclose({ code, reason: '' })
  }

  /** Frames sent with this cmd, oldest first. */
  sentCmd(cmd) {
    return this.sent.filter((f) => f.cmd === cmd)
  }

  lastSent(cmd) {
    const frames = this.sentCmd(cmd)
    return frames[frames.length - 1]
  }
}

export class MemoryStorage {
  constructor() {
    this.map = new Map()
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null
  }
  setItem(k, v) {
    this.map.set(k, String(v))
  }
  removeItem(k) {
    this.map.delete(k)
  }
}

/** Lets promise chains inside the store run (they await the fake socket's events). */
export async function flush() {
  for (let i = 0; i < 10; i++) await Promise.resolve()
}

export const TOKEN = 'ab'.repeat(32)

/** A store wired to fake sockets; `sockets` lists every socket it created. */
export function makeStore(overrides = {}) {
  const sockets = []
  const storage = overrides.storage || new MemoryStorage()
  const store = createChatStore({
    createSocket: (url) => {
      const s = new FakeSocket(url)
      sockets.push(s)
      return s
    },
    url: 'ws://test/ws',
    storage,
    random: () => 0.5, // no jitter: the backoff schedule is exact
    keepaliveMs: 3600000, // out of the way unless a test is about it
    ...overrides,
  })
  return { store, sockets, storage, socket: () => sockets[sockets.length - 1] }
}

/** A store logged in as alice (account 17). */
export async function loggedIn(overrides = {}) {
  const t = makeStore(overrides)
  const done = t.store.login('  alice ')
  await flush()
  t.socket().open()
  await flush()
  t.socket().receive({ cmd: 'CRT_ACCOUNT', nickName: 'alice', accountId: 17, token: TOKEN, code: 0 })
  await done
  return t
}

/** Opens a session by a MATCH reply and returns it. */
export async function matched(t, { sessionId = 5, partnerId = 23, partnerName = 'bob' } = {}) {
  const done = t.store.match()
  await flush()
  t.socket().receive({ cmd: 'MATCH', partnerId, partnerName, sessionId, code: 0 })
  await done
  return t.store.findSession(sessionId)
}
