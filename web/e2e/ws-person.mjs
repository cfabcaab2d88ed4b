// A person on a plain WebSocket (docs/protocol.md), for tests that need people chatting
// without a page of their own: it answers PINGs, keeps every other frame until a test
// takes it, and sends one request at a time.
import WebSocket from 'ws'

export class WsPerson {
  constructor(ws, name) {
    this.ws = ws
    this.name = name
    this.accountId = 0
    this.frames = [] // received, not yet taken by next()
    this.waiters = [] // {test, resolve}
    this.sentMessages = 0
    ws.on('message', (data) => this.receive(JSON.parse(String(data))))
  }

  /** Connects and creates an account named `name`. */
  static async open(wsUrl, name) {
    const ws = new WebSocket(wsUrl)
    await new Promise((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    const person = new WsPerson(ws, name)
    const created = await person.request({ cmd: 'CRT_ACCOUNT', nickName: name })
    if (created.code !== 0) throw new Error(`${name}: CRT_ACCOUNT answered ${JSON.stringify(created)}`)
    person.accountId = created.accountId
    return person
  }

  receive(frame) {
    if (frame.cmd === 'PING') {
      this.send({ cmd: 'PONG', accountId: this.accountId })
      return
    }
    const waiter = this.waiters.find((w) => w.test(frame))
    if (waiter) {
      this.waiters.splice(this.waiters.indexOf(waiter), 1)
      waiter.resolve(frame)
    } else {
      this.frames.push(frame)
    }
  }

  send(frame) {
    this.ws.send(JSON.stringify(frame))
  }

  /** The first frame, received or still to come, that passes `test`. */
  next(test, what, timeoutMs = 8000) {
    const index = this.frames.findIndex(test)
    if (index >= 0) return Promise.resolve(this.frames.splice(index, 1)[0])
    return new Promise((resolve, reject) => {
      const waiter = { test, resolve: null }
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(new Error(`${this.name}: no ${what} within ${timeoutMs} ms`))
      }, timeoutMs)
      waiter.resolve = (frame) => {
        clearTimeout(timer)
        resolve(frame)
      }
      this.waiters.push(waiter)
    })
  }

  /** Sends a request and returns its response (the frame with the same cmd). */
  request(frame) {
    const response = this.next((f) => f.cmd === frame.cmd, `${frame.cmd} response`)
    this.send(frame)
    return response
  }

  match() {
    return this.request({ cmd: 'MATCH', accountId: this.accountId })
  }

  /** Waits until someone matched with this person; returns the new session's id. */
  async matchedBy(partner) {
    const push = await this.next(
      (f) => f.cmd === 'PUSH_SIGNAL' && f.signalType === 'NewSession' && f.data?.accountId === partner.accountId,
      `NewSession with ${partner.name}`,
    )
    return push.sessionId
  }

  /** Sends a message; returns once it is stored (code 0). */
  async say(sessionId, content) {
    const requestId = `${this.accountId}:${++this.sentMessages}`
    const reply = await this.request({ cmd: 'DIALOGUE', requestId, senderId: this.accountId, sessionId, content })
    if (reply.code !== 0) throw new Error(`${this.name}: DIALOGUE answered ${JSON.stringify(reply)}`)
    return reply.msgId
  }

  /** Logs out (no longer online, nor waiting) and closes; never throws. */
  async leave() {
    if (this.ws.readyState === WebSocket.OPEN && this.accountId) {
      await this.request({ cmd: 'LOGOUT', accountId: this.accountId }).catch(() => {})
    }
    this.ws.close()
  }
}
