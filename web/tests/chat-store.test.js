import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flush, loggedIn, makeStore, matched, MemoryStorage, TOKEN } from './fake-socket.js'

beforeEach(() => {
  vi.useFakeTimers()
})
afterEach(() => {
  vi.useRealTimers()
})

function messageIds(session) {
  return session.messages.map((m) => m.msgId)
}

describe('logging in', () => {
  it('creates the account on one socket and keeps the token in memory and sessionStorage', async () => {
    const t = await loggedIn()
    expect(t.sockets).toHaveLength(1)
    expect(t.socket().sent[0]).toEqual({ cmd: 'CRT_ACCOUNT', nickName: 'alice' })
    expect(t.store.state.screen).toBe('chat')
    expect(t.store.state.nickName).toBe('alice')
    expect(t.store.state.accountId).toBe(17)
    expect(t.store.state.connection).toBe('connected')
    expect(JSON.parse(t.storage.getItem('chat.account'))).toEqual({ accountId: 17, nickName: 'alice', token: TOKEN })
  })

  it('sends nothing for an invalid nickname and says why', async () => {
    const t = makeStore()
    expect(await t.store.login('   ')).toBe(false)
    expect(t.store.state.loginError).toBe('Please enter a nickname.')
    expect(await t.store.login('x'.repeat(33))).toBe(false)
    expect(t.store.state.loginError).toMatch(/limit is 32/)
    expect(t.sockets).toHaveLength(0)
    expect(t.store.state.screen).toBe('login')
  })

  it('shows the server refusal and stays on the nickname screen', async () => {
    const t = makeStore()
    const done = t.store.login('bob')
    await flush()
    t.socket().open()
    await flush()
    t.socket().receive({ cmd: 'CRT_ACCOUNT', code: 1, msg: 'nickName must not contain control characters' })
    expect(await done).toBe(false)
    expect(t.store.state.screen).toBe('login')
    expect(t.store.state.loginError).toMatch(/control characters/)
  })

  it('says so when the server cannot be reached, and does not reconnect without an account', async () => {
    const t = makeStore()
    const done = t.store.login('bob')
    await flush()
    t.socket().drop()
    expect(await done).toBe(false)
    expect(t.store.state.loginError).toMatch(/Cannot reach/)
    vi.advanceTimersByTime(60000)
    expect(t.sockets).toHaveLength(1)
  })
})

describe('PING', () => {
  it('answers PING with PONG carrying the account id', async () => {
    const t = await loggedIn()
    t.socket().receive({ cmd: 'PING', accountId: 17 })
    expect(t.socket().lastSent('PONG')).toEqual({ cmd: 'PONG', accountId: 17 })
  })
})

describe('matching', () => {
  it('opens a window titled with the partner on a MATCH reply, with a notice', async () => {
    const t = await loggedIn()
    const session = await matched(t)
    expect(t.socket().lastSent('MATCH')).toEqual({ cmd: 'MATCH', accountId: 17 })
    expect(session).toMatchObject({ id: 5, partnerId: 23, partnerName: 'bob', ended: false, origin: 'matched' })
    expect(t.store.state.activeSessionId).toBe(5)
    expect(t.store.state.notice.text).toMatch(/chatting with bob/)
  })

  it('shows "nobody to match" kindly, and the retry sends MATCH again', async () => {
    const t = await loggedIn()
    const done = t.store.match()
    await flush()
    t.socket().receive({ cmd: 'MATCH', code: 4, msg: 'nobody is available to match right now' })
    expect(await done).toBe(false)
    expect(t.store.state.notice).toMatchObject({ kind: 'info', action: 'retry-match' })
    expect(t.store.state.notice.text).toMatch(/Nobody else is free/)
    expect(t.store.state.sessions).toHaveLength(0)
    // the notice stays until acted upon
    vi.advanceTimersByTime(60000)
    expect(t.store.state.notice).not.toBeNull()
    const retry = t.store.runNoticeAction()
    await flush()
    expect(t.socket().sentCmd('MATCH')).toHaveLength(2)
    t.socket().receive({ cmd: 'MATCH', partnerId: 30, partnerName: 'carol', sessionId: 9, code: 0 })
    expect(await retry).toBe(true)
    expect(t.store.findSession(9).partnerName).toBe('carol')
  })

  it('opens a window when someone matches me (PUSH_SIGNAL NewSession)', async () => {
    const t = await loggedIn()
    t.socket().receive({
      cmd: 'PUSH_SIGNAL',
      signalType: 'NewSession',
      senderId: 23,
      sessionId: 7,
      receiverId: 17,
      data: { accountId: 23, nickName: 'bob' },
    })
    const session = t.store.findSession(7)
    expect(session).toMatchObject({ partnerId: 23, partnerName: 'bob', origin: 'incoming', ended: false })
    expect(t.store.state.notice.text).toMatch(/bob matched with you/)
    // a repeated signal does not open a second window
    t.socket().receive({
      cmd: 'PUSH_SIGNAL',
      signalType: 'NewSession',
      senderId: 23,
      sessionId: 7,
      receiverId: 17,
      data: { accountId: 23, nickName: 'bob' },
    })
    expect(t.store.state.sessions).toHaveLength(1)
  })

  it('holds several conversations on one socket', async () => {
    const t = await loggedIn()
    await matched(t, { sessionId: 5, partnerId: 23, partnerName: 'bob' })
    await matched(t, { sessionId: 6, partnerId: 24, partnerName: 'carol' })
    t.store.sendMessage(5, 'hi bob')
    t.store.sendMessage(6, 'hi carol')
    expect(t.sockets).toHaveLength(1)
    expect(t.socket().sentCmd('DIALOGUE').map((f) => f.sessionId)).toEqual([5, 6])
  })
})

describe('messages', () => {
  function push(t, msgId, content = `m${msgId}`, sessionId = 5, senderId = 23) {
    t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId, senderId, sessionId, content })
  }

  it('orders messages by msgId whatever order they arrive in', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    push(t, 3)
    push(t, 1)
    push(t, 2)
    expect(messageIds(s)).toEqual([1, 2, 3])
    expect(s.messages.every((m) => !m.mine)).toBe(true)
  })

  it('shows a msgId only once', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    push(t, 1, 'hello')
    push(t, 1, 'hello')
    expect(s.messages).toHaveLength(1)
  })

  it('goes pending -> sent (DIALOGUE code 0) -> read (PUSH_VIEWED_ACK covering it)', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    expect(t.store.sendMessage(5, 'hello <b>bob</b>')).toBe(true)
    const frame = t.socket().lastSent('DIALOGUE')
    expect(frame).toMatchObject({ cmd: 'DIALOGUE', senderId: 17, sessionId: 5, content: 'hello <b>bob</b>' })
    expect(typeof frame.requestId).toBe('string')
    expect(frame.requestId).toMatch(/^[\x21-\x7e]{1,64}$/)
    const m = s.messages[0]
    expect(m).toMatchObject({ mine: true, state: 'pending', msgId: null })
    expect(t.store.isRead(s, m)).toBe(false)

    t.socket().receive({ cmd: 'DIALOGUE', requestId: frame.requestId, msgId: 4, sessionId: 5, code: 0 })
    expect(m).toMatchObject({ state: 'sent', msgId: 4 })
    expect(t.store.isRead(s, m)).toBe(false)

    t.socket().receive({ cmd: 'PUSH_VIEWED_ACK', sessionId: 5, accountId: 23, msgId: 3 })
    expect(t.store.isRead(s, m)).toBe(false) // 3 does not cover 4
    t.socket().receive({ cmd: 'PUSH_VIEWED_ACK', sessionId: 5, accountId: 23, msgId: 6 })
    expect(t.store.isRead(s, m)).toBe(true) // 6 >= 4 covers it
    // an older ack arriving late does not take it back
    t.socket().receive({ cmd: 'PUSH_VIEWED_ACK', sessionId: 5, accountId: 23, msgId: 2 })
    expect(t.store.isRead(s, m)).toBe(true)
  })

  it('puts an own message in msgId order once its number is known', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'mine')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    push(t, 3, 'theirs 3')
    push(t, 1, 'theirs 1')
    // unconfirmed messages stay at the end
    expect(s.messages.map((m) => m.content)).toEqual(['theirs 1', 'theirs 3', 'mine'])
    t.socket().receive({ cmd: 'DIALOGUE', requestId, msgId: 2, sessionId: 5, code: 0 })
    expect(s.messages.map((m) => m.content)).toEqual(['theirs 1', 'mine', 'theirs 3'])
  })

  it('marks a send refused for good as failed; the manual retry uses the SAME requestId', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'hello')
    const first = t.socket().lastSent('DIALOGUE')
    t.socket().receive({ cmd: 'DIALOGUE', requestId: first.requestId, sessionId: 5, code: 1, msg: 'content is not valid' })
    const m = s.messages[0]
    expect(m.state).toBe('failed')
    expect(m.error).toMatch(/content is not valid/)
    vi.advanceTimersByTime(60000)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(1) // no automatic resend for code 1

    expect(t.store.retryMessage(5, m.key)).toBe(true)
    const second = t.socket().lastSent('DIALOGUE')
    expect(second).toEqual(first)
    expect(m.state).toBe('pending')
    t.socket().receive({ cmd: 'DIALOGUE', requestId: first.requestId, msgId: 1, sessionId: 5, code: 0 })
    expect(m).toMatchObject({ state: 'sent', msgId: 1 })
    expect(s.messages).toHaveLength(1)
  })

  it('resends a send that gets no reply in time, same requestId, and gives up after maxAutoResends', async () => {
    const t = await loggedIn({ requestTimeoutMs: 5000, maxAutoResends: 2 })
    const s = await matched(t)
    t.store.sendMessage(5, 'anyone?')
    const first = t.socket().lastSent('DIALOGUE')
    vi.advanceTimersByTime(4999)
    expect(s.messages[0].state).toBe('pending')
    vi.advanceTimersByTime(1) // no answer: resent after 1 s
    expect(s.messages[0].state).toBe('pending')
    vi.advanceTimersByTime(1000)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(2)
    vi.advanceTimersByTime(5000 + 2000) // again no answer: resent after 2 s
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(3)
    vi.advanceTimersByTime(5000) // the third silence: shown as not sent
    expect(s.messages[0].state).toBe('failed')
    expect(s.messages[0].error).toMatch(/did not answer in time/)
    vi.advanceTimersByTime(60000)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(3)
    t.store.retryMessage(5, s.messages[0].key)
    expect(t.socket().sentCmd('DIALOGUE').map((f) => f.requestId)).toEqual(Array(4).fill(first.requestId))
    // a late answer to any of them settles it
    t.socket().receive({ cmd: 'DIALOGUE', requestId: first.requestId, msgId: 1, sessionId: 5, code: 0 })
    expect(s.messages).toHaveLength(1)
    expect(s.messages[0]).toMatchObject({ state: 'sent', msgId: 1 })
  })

  it('gives every new message its own requestId', async () => {
    const t = await loggedIn()
    await matched(t)
    t.store.sendMessage(5, 'one')
    t.store.sendMessage(5, 'two')
    const ids = t.socket().sentCmd('DIALOGUE').map((f) => f.requestId)
    expect(new Set(ids).size).toBe(2)
  })

  it('does not send empty or oversized messages', async () => {
    const t = await loggedIn()
    await matched(t)
    expect(t.store.sendMessage(5, '   ')).toBe(false)
    expect(t.store.sendMessage(5, 'x'.repeat(4097))).toBe(false)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(0)
  })
})

describe('read receipts and unread counters', () => {
  function push(t, msgId, sessionId = 5) {
    t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId, senderId: 23, sessionId, content: `m${msgId}` })
  }

  it('counts unread messages of a window that is not in view and sends no VIEWED_ACK', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    push(t, 1)
    push(t, 2)
    vi.advanceTimersByTime(1000)
    expect(s.unread).toBe(2)
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(0)

    t.store.setWindowVisible(5, true)
    expect(s.unread).toBe(0)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('VIEWED_ACK')).toEqual([{ cmd: 'VIEWED_ACK', sessionId: 5, accountId: 17, msgId: 2 }])
  })

  it('acks the newest partner message at once while the window is in view, once per position', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.setWindowVisible(5, true)
    push(t, 1)
    push(t, 2)
    vi.advanceTimersByTime(100)
    expect(s.unread).toBe(0)
    expect(t.socket().sentCmd('VIEWED_ACK').map((f) => f.msgId)).toEqual([2])
    t.store.setWindowVisible(5, false)
    t.store.setWindowVisible(5, true)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(1)
  })

  it('does not ack while the page is hidden or unfocused, and catches up when it comes back', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.setWindowVisible(5, true)
    t.store.setPageActive(false)
    push(t, 1)
    vi.advanceTimersByTime(100)
    expect(s.unread).toBe(1)
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(0)
    t.store.setPageActive(true)
    vi.advanceTimersByTime(100)
    expect(s.unread).toBe(0)
    expect(t.socket().lastSent('VIEWED_ACK')).toMatchObject({ sessionId: 5, msgId: 1 })
  })

  it('keeps separate counters per window', async () => {
    const t = await loggedIn()
    const a = await matched(t, { sessionId: 5 })
    const b = await matched(t, { sessionId: 6, partnerId: 24, partnerName: 'carol' })
    t.store.setWindowVisible(6, true)
    push(t, 1, 5)
    push(t, 1, 6)
    push(t, 2, 5)
    vi.advanceTimersByTime(100)
    expect(a.unread).toBe(2)
    expect(b.unread).toBe(0)
    expect(t.socket().sentCmd('VIEWED_ACK')).toEqual([{ cmd: 'VIEWED_ACK', sessionId: 6, accountId: 17, msgId: 1 }])
  })
})

describe('delivery acknowledgements (ACK)', () => {
  function push(t, msgId, sessionId = 5) {
    t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId, senderId: 23, sessionId, content: `m${msgId}` })
  }

  it('acks received messages cumulatively per session, whether or not they were read', async () => {
    const t = await loggedIn()
    await matched(t)
    push(t, 1)
    push(t, 2)
    push(t, 3)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('ACK')).toEqual([{ cmd: 'ACK', sessionId: 5, msgId: 3 }])
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(0) // not in view: not read
    push(t, 3) // a duplicate moves nothing
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('ACK')).toHaveLength(1)
  })

  it('acks again after a reconnect, when the server redelivers what it has not seen acked', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    push(t, 1)
    t.socket().drop() // before the ACK went out
    vi.advanceTimersByTime(500)
    t.socket().open()
    await flush()
    t.socket().receive({
      cmd: 'RECONNECT',
      code: 0,
      accountId: 17,
      nickName: 'alice',
      sessions: [{ sessionId: 5, partnerId: 23, partnerName: 'bob' }],
    })
    await flush()
    push(t, 1) // redelivered
    push(t, 2)
    vi.advanceTimersByTime(100)
    expect(s.messages.map((m) => m.msgId)).toEqual([1, 2])
    expect(t.socket().sentCmd('ACK')).toEqual([{ cmd: 'ACK', sessionId: 5, msgId: 2 }])
  })

  it('shows a partner who dropped off (PartnerAway) and came back (PartnerBack)', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    const signal = (signalType) => ({
      cmd: 'PUSH_SIGNAL',
      signalType,
      senderId: 0,
      sessionId: 5,
      receiverId: 17,
      data: { accountId: 23 },
    })
    t.socket().receive(signal('PartnerAway'))
    expect(s).toMatchObject({ partnerAway: true, ended: false })
    expect(t.store.sendMessage(5, 'see you when you are back')).toBe(true)
    t.socket().receive(signal('PartnerBack'))
    expect(s.partnerAway).toBe(false)
    t.socket().receive(signal('PartnerAway'))
    t.socket().receive(signal('PartnerExit'))
    expect(s).toMatchObject({ partnerAway: false, ended: true })
  })
})

describe('PartnerExit', () => {
  it('ends the window, refuses new messages, and lets it be closed', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    expect(t.store.closeSession(5)).toBe(false) // an open chat cannot be closed
    t.socket().receive({
      cmd: 'PUSH_SIGNAL',
      signalType: 'PartnerExit',
      senderId: 0,
      sessionId: 5,
      receiverId: 17,
      data: { accountId: 23 },
    })
    expect(s).toMatchObject({ ended: true, endReason: 'left' })
    expect(t.store.state.notice.text).toMatch(/bob left the chat/)
    expect(t.store.sendMessage(5, 'still there?')).toBe(false)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(0)
    expect(t.store.closeSession(5)).toBe(true)
    expect(t.store.state.sessions).toHaveLength(0)
    expect(t.store.state.activeSessionId).toBe(0)
  })

  it('treats a DIALOGUE answered with code 8 as an ended chat', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'hello?')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    t.socket().receive({ cmd: 'DIALOGUE', requestId, sessionId: 5, code: 8, msg: 'session closed' })
    expect(s.ended).toBe(true)
    expect(s.messages[0].state).toBe('failed')
  })
})

describe('reconnecting', () => {
  async function twoSessions() {
    const t = await loggedIn()
    await matched(t, { sessionId: 5, partnerId: 23, partnerName: 'bob' })
    await matched(t, { sessionId: 6, partnerId: 24, partnerName: 'carol' })
    return t
  }

  it('opens a new socket after a drop and RECONNECTs with accountId and token', async () => {
    const t = await twoSessions()
    t.socket().drop()
    expect(t.store.state.connection).toBe('reconnecting')
    expect(t.sockets).toHaveLength(1)
    vi.advanceTimersByTime(499)
    expect(t.sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(t.sockets).toHaveLength(2)
    t.socket().open()
    await flush()
    expect(t.socket().sent).toEqual([{ cmd: 'RECONNECT', accountId: 17, token: TOKEN }])
    t.socket().receive({
      cmd: 'RECONNECT',
      accountId: 17,
      nickName: 'alice',
      sessions: [{ sessionId: 6, partnerId: 24, partnerName: 'carol' }],
      code: 0,
    })
    await flush()
    expect(t.store.state.connection).toBe('connected')
    expect(t.store.state.reconnectAttempt).toBe(0)
    // still-open sessions stay, the others are marked ended
    expect(t.store.findSession(6).ended).toBe(false)
    expect(t.store.findSession(5)).toMatchObject({ ended: true, endReason: 'ended' })
    expect(t.store.state.notice?.text ?? '').not.toMatch(/ended/)
    // no PartnerExit came with the resume to explain it: a notice says so, after a moment
    vi.advanceTimersByTime(2000)
    expect(t.store.findSession(5)).toMatchObject({ ended: true, endReason: 'lost' })
    expect(t.store.state.notice.text).toMatch(/One chat ended while the connection was down/)
  })

  it('opens windows for sessions it did not know (after a reload)', async () => {
    const t = await loggedIn()
    t.socket().drop()
    vi.advanceTimersByTime(500)
    t.socket().open()
    await flush()
    t.socket().receive({
      cmd: 'RECONNECT',
      code: 0,
      accountId: 17,
      nickName: 'alice',
      sessions: [{ sessionId: 11, partnerId: 40, partnerName: 'dave' }],
    })
    await flush()
    expect(t.store.findSession(11)).toMatchObject({ partnerName: 'dave', origin: 'restored', ended: false })
  })

  it('backs off exponentially while the server cannot be reached', async () => {
    const t = await loggedIn()
    t.socket().drop()
    const gaps = []
    for (let i = 0; i < 7; i++) {
      const before = t.sockets.length
      let waited = 0
      while (t.sockets.length === before) {
        vi.advanceTimersByTime(100)
        waited += 100
      }
      gaps.push(waited)
      t.socket().drop() // the new socket cannot connect either
      await flush()
    }
    expect(gaps).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000])
    expect(t.store.state.connection).toBe('reconnecting')
    expect(t.store.state.reconnectAttempt).toBe(8) // the eighth is planned
  })

  it('starts over on a new socket when RECONNECT fails for a passing reason', async () => {
    const t = await loggedIn()
    t.socket().drop()
    vi.advanceTimersByTime(500)
    t.socket().open()
    await flush()
    t.socket().receive({ cmd: 'RECONNECT', code: 2, msg: 'logic did not answer' })
    await flush()
    expect(t.sockets[1].closedWith).not.toBeNull()
    expect(t.store.state.connection).toBe('reconnecting')
    vi.advanceTimersByTime(1000) // the second delay of the schedule
    expect(t.sockets).toHaveLength(3)
    t.socket().open()
    await flush()
    expect(t.socket().sent).toEqual([{ cmd: 'RECONNECT', accountId: 17, token: TOKEN }])
  })

  it('goes back to the nickname screen when RECONNECT is refused with code 9', async () => {
    const t = await loggedIn()
    await matched(t)
    t.socket().drop()
    vi.advanceTimersByTime(500)
    t.socket().open()
    await flush()
    t.socket().receive({ cmd: 'RECONNECT', code: 9, msg: 'bad token' })
    await flush()
    expect(t.store.state.screen).toBe('login')
    expect(t.store.state.loginInfo).toMatch(/expired/)
    expect(t.store.state.sessions).toHaveLength(0)
    expect(t.storage.getItem('chat.account')).toBeNull()
    vi.advanceTimersByTime(60000)
    expect(t.sockets).toHaveLength(2) // no more attempts
  })

  it('picks up an account from sessionStorage on start (a reload)', async () => {
    const storage = new MemoryStorage()
    storage.setItem('chat.account', JSON.stringify({ accountId: 17, nickName: 'alice', token: TOKEN }))
    const t = makeStore({ storage })
    expect(t.store.start()).toBe(true)
    expect(t.store.state.screen).toBe('chat')
    expect(t.store.state.connection).toBe('connecting')
    t.socket().open()
    await flush()
    expect(t.socket().sent).toEqual([{ cmd: 'RECONNECT', accountId: 17, token: TOKEN }])
    t.socket().receive({ cmd: 'RECONNECT', code: 0, accountId: 17, nickName: 'alice', sessions: [] })
    await flush()
    expect(t.store.state.connection).toBe('connected')
  })

  it('PINGs while idle and replaces a connection that stopped answering', async () => {
    const t = await loggedIn({ keepaliveMs: 20000 })
    vi.advanceTimersByTime(20000)
    expect(t.socket().sentCmd('PING')).toEqual([{ cmd: 'PING' }])
    t.socket().receive({ cmd: 'PONG', accountId: 17 })
    vi.advanceTimersByTime(40000)
    expect(t.sockets).toHaveLength(1) // answered 40 s ago: still fine
    vi.advanceTimersByTime(20000) // 60 s of silence: dead
    expect(t.store.state.connection).toBe('reconnecting')
    vi.advanceTimersByTime(500)
    expect(t.sockets).toHaveLength(2)
    t.socket().open()
    await flush()
    expect(t.socket().sent).toEqual([{ cmd: 'RECONNECT', accountId: 17, token: TOKEN }])
  })

  it('does not fight another tab that took the account over (close code 4001)', async () => {
    const t = await loggedIn()
    t.socket().drop(4001)
    vi.advanceTimersByTime(60000)
    expect(t.sockets).toHaveLength(1)
    expect(t.store.state.connection).toBe('offline')
    expect(t.store.state.replaced).toBe(true)
  })
})

describe('logging out', () => {
  it('sends LOGOUT, forgets the account, and keeps the one socket for the next nickname', async () => {
    const t = await loggedIn()
    await matched(t)
    const done = t.store.logout()
    await flush()
    expect(t.socket().lastSent('LOGOUT')).toEqual({ cmd: 'LOGOUT', accountId: 17 })
    t.socket().receive({ cmd: 'LOGOUT', code: 0 })
    await done
    expect(t.store.state.screen).toBe('login')
    expect(t.store.state.sessions).toHaveLength(0)
    expect(t.storage.getItem('chat.account')).toBeNull()

    // the next login reuses the socket
    const again = t.store.login('carol')
    await flush()
    t.socket().receive({ cmd: 'CRT_ACCOUNT', nickName: 'carol', accountId: 30, token: TOKEN, code: 0 })
    expect(await again).toBe(true)
    expect(t.sockets).toHaveLength(1)
  })

  it('does not reconnect when the socket closes after logging out', async () => {
    const t = await loggedIn()
    const done = t.store.logout()
    await flush()
    t.socket().receive({ cmd: 'LOGOUT', code: 0 })
    await done
    t.socket().drop()
    vi.advanceTimersByTime(60000)
    expect(t.sockets).toHaveLength(1)
    expect(t.store.state.connection).toBe('offline')
  })
})

// ---------------------------------------------------------------------------------
// Surviving a dropped connection within presence.grace (docs/protocol.md, RECONNECT,
// ACK, Connection lifecycle): the person sees a "reconnecting" status and nothing else.

const BOB = { sessionId: 5, partnerId: 23, partnerName: 'bob' }
const CAROL = { sessionId: 6, partnerId: 24, partnerName: 'carol' }

/** Lets the next reconnect attempt run and answers its RECONNECT with `sessions`. */
async function reconnect(t, sessions = [BOB], waitMs = 500) {
  const before = t.sockets.length
  vi.advanceTimersByTime(waitMs)
  expect(t.sockets.length).toBe(before + 1)
  t.socket().open()
  await flush()
  expect(t.socket().lastSent('RECONNECT')).toEqual({ cmd: 'RECONNECT', accountId: 17, token: TOKEN })
  t.socket().receive({ cmd: 'RECONNECT', code: 0, accountId: 17, nickName: 'alice', sessions })
  await flush()
  expect(t.store.state.connection).toBe('connected')
}

function pushMsg(t, msgId, { sessionId = 5, senderId = 23, content = `m${msgId}` } = {}) {
  t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId, senderId, sessionId, content })
}

function signal(t, signalType, sessionId = 5, partnerId = 23) {
  t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType, senderId: 0, sessionId, receiverId: 17, data: { accountId: partnerId } })
}

describe('resume after RECONNECT', () => {
  it('keeps the window open and fills the gap from the resumed pushes, in msgId order, each msgId once', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.dismissNotice()
    pushMsg(t, 1)
    pushMsg(t, 2)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('ACK')).toEqual([{ cmd: 'ACK', sessionId: 5, msgId: 2 }])
    pushMsg(t, 3) // received, but the socket drops before its ACK goes out
    t.socket().drop()
    expect(t.store.state.connection).toBe('reconnecting')
    expect(s.ended).toBe(false)
    await reconnect(t)
    // the server pushes everything after the acknowledged position (2), in msgId order
    pushMsg(t, 3)
    pushMsg(t, 4)
    pushMsg(t, 5)
    expect(messageIds(s)).toEqual([1, 2, 3, 4, 5])
    expect(s.messages.map((m) => m.content)).toEqual(['m1', 'm2', 'm3', 'm4', 'm5'])
    expect(s).toMatchObject({ ended: false, endReason: '' })
    // a resume that starts lower than the client's position is harmless as well
    pushMsg(t, 1)
    pushMsg(t, 2)
    expect(messageIds(s)).toEqual([1, 2, 3, 4, 5])
    // nothing to notice: no notice, no "ended", just connected again
    vi.advanceTimersByTime(5000)
    expect(t.store.state.notice).toBeNull()
  })

  it('acks cumulatively, once per session and flush, only after the frames were handled', async () => {
    const t = await loggedIn()
    await matched(t)
    await matched(t, CAROL)
    for (let id = 1; id <= 20; id++) pushMsg(t, id)
    pushMsg(t, 1, { sessionId: 6, senderId: 24 })
    pushMsg(t, 2, { sessionId: 6, senderId: 24 })
    expect(t.socket().sentCmd('ACK')).toHaveLength(0) // batched: not one per message
    vi.advanceTimersByTime(60)
    expect(t.socket().sentCmd('ACK')).toEqual([
      { cmd: 'ACK', sessionId: 5, msgId: 20 },
      { cmd: 'ACK', sessionId: 6, msgId: 2 },
    ])
  })

  it('sends the acknowledged positions again after a reconnect (an ACK may be lost with the socket)', async () => {
    const t = await loggedIn()
    await matched(t)
    pushMsg(t, 1)
    pushMsg(t, 2)
    vi.advanceTimersByTime(100)
    t.socket().drop()
    await reconnect(t)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('ACK')).toEqual([{ cmd: 'ACK', sessionId: 5, msgId: 2 }])
  })

  it('turns a session the RECONNECT no longer lists into "partner left" when the resume pushes PartnerExit', async () => {
    const t = await loggedIn()
    const bob = await matched(t)
    const carol = await matched(t, CAROL)
    t.socket().drop()
    await reconnect(t, [CAROL]) // bob's session ended while we were away
    expect(bob).toMatchObject({ ended: true, endReason: 'ended' }) // over; why comes next
    expect(t.store.sendMessage(5, 'hello?')).toBe(false)
    // the resume: bob's last message, then the exit signal
    pushMsg(t, 1, { content: 'bye!' })
    signal(t, 'PartnerExit')
    expect(bob).toMatchObject({ ended: true, endReason: 'left' })
    expect(bob.messages.map((m) => m.content)).toEqual(['bye!'])
    expect(t.store.state.notice.text).toMatch(/bob left the chat/)
    vi.advanceTimersByTime(5000)
    expect(t.store.state.notice?.text ?? '').not.toMatch(/ended while/) // explained, no second notice
    expect(bob.endReason).toBe('left')
    expect(carol.ended).toBe(false)
    expect(t.store.closeSession(5)).toBe(true)
  })

  it('ends a window on PartnerExit pushed after the resume even if the RECONNECT still listed it', async () => {
    const t = await loggedIn()
    const bob = await matched(t)
    t.socket().drop()
    await reconnect(t, [BOB])
    signal(t, 'PartnerExit')
    expect(bob).toMatchObject({ ended: true, endReason: 'left' })
    signal(t, 'PartnerExit') // a second one changes nothing
    expect(bob.endReason).toBe('left')
  })

  it('shows the partner away and back as a state of the window, not as a notice', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.dismissNotice()
    signal(t, 'PartnerAway')
    expect(s).toMatchObject({ partnerAway: true, ended: false })
    expect(t.store.state.notice).toBeNull()
    signal(t, 'PartnerBack')
    expect(s.partnerAway).toBe(false)
    expect(t.store.state.notice).toBeNull()
  })

  it('forgets a partner-away state over its own reconnect (presence is not replayed by the resume)', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    signal(t, 'PartnerAway')
    t.socket().drop() // bob may come back while we are away: his PartnerBack would be lost
    await reconnect(t, [BOB])
    expect(s.partnerAway).toBe(false)
    signal(t, 'PartnerAway') // a new drop of his is shown again
    expect(s.partnerAway).toBe(true)
  })

  it('takes the partner\u2019s read position from the resume', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'did you read this?')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    t.socket().receive({ cmd: 'DIALOGUE', requestId, msgId: 1, sessionId: 5, code: 0 })
    t.socket().drop()
    await reconnect(t)
    t.socket().receive({ cmd: 'PUSH_VIEWED_ACK', sessionId: 5, accountId: 23, msgId: 1 })
    expect(t.store.isRead(s, s.messages[0])).toBe(true)
  })

  it('resends a read position that the drop swallowed', async () => {
    const t = await loggedIn()
    await matched(t)
    t.store.setWindowVisible(5, true)
    pushMsg(t, 1)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(1)
    t.socket().drop() // before its answer
    await reconnect(t)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('VIEWED_ACK')).toEqual([{ cmd: 'VIEWED_ACK', sessionId: 5, accountId: 17, msgId: 1 }])
    t.socket().receive({ cmd: 'VIEWED_ACK', sessionId: 5, msgId: 1, code: 0 })
    await flush()
    t.socket().drop() // confirmed this time: not sent again
    await reconnect(t, [BOB], 1000)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(0)
  })

  it('tries a read position again when the server said slow down (code 12)', async () => {
    const t = await loggedIn()
    await matched(t)
    t.store.setWindowVisible(5, true)
    pushMsg(t, 1)
    vi.advanceTimersByTime(100)
    t.socket().receive({ cmd: 'VIEWED_ACK', code: 12, msg: 'slow down' })
    await flush()
    vi.advanceTimersByTime(1999)
    expect(t.socket().sentCmd('VIEWED_ACK')).toHaveLength(1)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('VIEWED_ACK').map((f) => f.msgId)).toEqual([1, 1])
  })

  it('holds delivery ACKs while the test hook says so, and sends them when released', async () => {
    const t = await loggedIn()
    await matched(t)
    t.store.holdDeliveryAcks(true)
    pushMsg(t, 1)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('ACK')).toHaveLength(0)
    t.store.holdDeliveryAcks(false)
    vi.advanceTimersByTime(100)
    expect(t.socket().sentCmd('ACK')).toEqual([{ cmd: 'ACK', sessionId: 5, msgId: 1 }])
  })
})

describe('own messages across a reconnect', () => {
  it('keeps a message whose DIALOGUE got no reply pending, and resends it with the same requestId', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'in flight')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    t.socket().drop()
    expect(s.messages[0]).toMatchObject({ state: 'pending', error: '' }) // not "failed"
    vi.advanceTimersByTime(400)
    expect(s.messages[0].state).toBe('pending')
    await reconnect(t, [BOB], 100)
    expect(t.socket().sentCmd('DIALOGUE')).toEqual([
      { cmd: 'DIALOGUE', requestId, senderId: 17, sessionId: 5, content: 'in flight' },
    ])
    vi.advanceTimersByTime(9999) // the old socket's reply timer is gone; the new one runs
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(1)
    // it had been stored before the drop: the server answers with the original msgId
    t.socket().receive({ cmd: 'DIALOGUE', requestId, msgId: 1, sessionId: 5, code: 0 })
    expect(s.messages).toHaveLength(1)
    expect(s.messages[0]).toMatchObject({ state: 'sent', msgId: 1 })
  })

  it('queues a message typed while disconnected and sends it after the RECONNECT, before newer ones', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.socket().drop()
    expect(t.store.sendMessage(5, 'typed offline 1')).toBe(true)
    expect(t.store.sendMessage(5, 'typed offline 2')).toBe(true)
    expect(s.messages.map((m) => m.state)).toEqual(['pending', 'pending'])
    await reconnect(t)
    t.store.sendMessage(5, 'typed online')
    const sent = t.socket().sentCmd('DIALOGUE')
    expect(sent.map((f) => f.content)).toEqual(['typed offline 1', 'typed offline 2', 'typed online'])
    expect(new Set(sent.map((f) => f.requestId)).size).toBe(3)
    sent.forEach((f, i) => t.socket().receive({ cmd: 'DIALOGUE', requestId: f.requestId, msgId: i + 1, sessionId: 5, code: 0 }))
    expect(s.messages.map((m) => [m.msgId, m.state])).toEqual([
      [1, 'sent'],
      [2, 'sent'],
      [3, 'sent'],
    ])
  })

  it('resends across two reconnects with the same requestId, and shows the message once', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'persistent')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    t.socket().drop()
    await reconnect(t, [BOB], 500)
    t.socket().drop() // the resend's reply is lost too
    await reconnect(t, [BOB], 500)
    const all = t.sockets.flatMap((sock) => sock.sentCmd('DIALOGUE').map((f) => f.requestId))
    expect(all).toEqual([requestId, requestId, requestId])
    t.socket().receive({ cmd: 'DIALOGUE', requestId, msgId: 1, sessionId: 5, code: 0 })
    expect(s.messages).toHaveLength(1)
  })

  it('does not send a message typed offline into a chat that ended meanwhile', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'in flight')
    const inFlight = t.socket().lastSent('DIALOGUE')
    t.socket().drop()
    t.store.sendMessage(5, 'typed offline')
    await reconnect(t, []) // the session is over
    // the one sent before may have been stored: asking again tells; the other never went out
    expect(t.socket().sentCmd('DIALOGUE').map((f) => f.content)).toEqual(['in flight'])
    expect(s.messages.find((m) => m.content === 'typed offline')).toMatchObject({
      state: 'failed',
      error: 'Not sent: this chat has ended.',
    })
    t.socket().receive({ cmd: 'DIALOGUE', requestId: inFlight.requestId, msgId: 4, sessionId: 5, code: 0 })
    expect(s.messages.find((m) => m.content === 'in flight')).toMatchObject({ state: 'sent', msgId: 4 })
  })
})

describe('code 12 RATE_LIMITED and code 2 on DIALOGUE', () => {
  it('retries a rate-limited message automatically with backoff, the same requestId, in typing order', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.sendMessage(5, 'a')
    t.store.sendMessage(5, 'b')
    const [a, b] = t.socket().sentCmd('DIALOGUE')
    t.socket().receive({ cmd: 'DIALOGUE', requestId: a.requestId, sessionId: 5, code: 12, msg: 'slow down' })
    t.socket().receive({ cmd: 'DIALOGUE', requestId: b.requestId, msgId: 1, sessionId: 5, code: 0 })
    const ma = s.messages.find((m) => m.content === 'a')
    expect(ma).toMatchObject({ state: 'pending', error: '' }) // no "Not sent" for a passing refusal
    t.store.sendMessage(5, 'c') // waits behind 'a'
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(2)
    vi.advanceTimersByTime(999)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(2)
    vi.advanceTimersByTime(1)
    const again = t.socket().sentCmd('DIALOGUE').slice(2)
    expect(again.map((f) => f.content)).toEqual(['a', 'c'])
    expect(again[0]).toEqual(a) // same requestId, same everything
    // limited again: the next wait is longer (2 s)
    t.socket().receive({ cmd: 'DIALOGUE', requestId: a.requestId, sessionId: 5, code: 12, msg: 'slow down' })
    t.socket().receive({ cmd: 'DIALOGUE', requestId: again[1].requestId, sessionId: 5, code: 12, msg: 'slow down' })
    vi.advanceTimersByTime(1999)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(4)
    vi.advanceTimersByTime(1)
    expect(t.socket().sentCmd('DIALOGUE').slice(4).map((f) => f.content)).toEqual(['a', 'c'])
    t.socket().receive({ cmd: 'DIALOGUE', requestId: a.requestId, msgId: 2, sessionId: 5, code: 0 })
    t.socket().receive({ cmd: 'DIALOGUE', requestId: again[1].requestId, msgId: 3, sessionId: 5, code: 0 })
    expect(s.messages.map((m) => [m.content, m.msgId, m.state])).toEqual([
      ['b', 1, 'sent'],
      ['a', 2, 'sent'],
      ['c', 3, 'sent'],
    ])
    // success resets the backoff: the next refusal waits 1 s again
    t.store.sendMessage(5, 'd')
    const d = t.socket().lastSent('DIALOGUE')
    t.socket().receive({ cmd: 'DIALOGUE', requestId: d.requestId, sessionId: 5, code: 12, msg: 'slow down' })
    vi.advanceTimersByTime(1000)
    expect(t.socket().lastSent('DIALOGUE')).toEqual(d)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(8)
  })

  it('treats code 2 (INTERNAL_ERROR) the same way, and shows "Not sent" with Retry after maxAutoResends', async () => {
    const t = await loggedIn({ maxAutoResends: 3 })
    const s = await matched(t)
    t.store.sendMessage(5, 'x')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    const refuse = () => t.socket().receive({ cmd: 'DIALOGUE', requestId, sessionId: 5, code: 2, msg: 'logic did not answer' })
    refuse()
    vi.advanceTimersByTime(1000)
    refuse()
    vi.advanceTimersByTime(2000)
    refuse()
    vi.advanceTimersByTime(4000)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(4)
    expect(s.messages[0].state).toBe('pending')
    refuse()
    expect(s.messages[0]).toMatchObject({ state: 'failed', error: 'Not sent: logic did not answer.' })
    vi.advanceTimersByTime(60000)
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(4)
    expect(t.store.retryMessage(5, s.messages[0].key)).toBe(true)
    expect(t.socket().sentCmd('DIALOGUE').map((f) => f.requestId)).toEqual(Array(5).fill(requestId))
  })

  it('says kindly when MATCH or CRT_ACCOUNT is rate-limited', async () => {
    const t = await loggedIn()
    const done = t.store.match()
    await flush()
    t.socket().receive({ cmd: 'MATCH', code: 12, msg: 'slow down' })
    await done
    expect(t.store.state.notice).toMatchObject({ kind: 'info', action: 'retry-match' })
    expect(t.store.state.notice.text).toMatch(/Wait a moment/)

    const u = makeStore()
    const login = u.store.login('bob')
    await flush()
    u.socket().open()
    await flush()
    u.socket().receive({ cmd: 'CRT_ACCOUNT', code: 12, msg: 'too many new accounts from your address; retry later' })
    expect(await login).toBe(false)
    expect(u.store.state.loginError).toMatch(/wait a minute/)
  })
})

describe('close codes', () => {
  it('comes back promptly when the broker restarts (close 1012), then backs off as usual', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.socket().drop(1012)
    expect(t.store.state.connection).toBe('reconnecting')
    vi.advanceTimersByTime(124)
    expect(t.sockets).toHaveLength(1)
    vi.advanceTimersByTime(1) // 250 ms * random (0.5 here)
    expect(t.sockets).toHaveLength(2)
    t.socket().drop() // the broker is not back yet
    await flush()
    vi.advanceTimersByTime(499)
    expect(t.sockets).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(t.sockets).toHaveLength(3)
    t.socket().drop()
    await flush()
    vi.advanceTimersByTime(1000)
    expect(t.sockets).toHaveLength(4)
    t.socket().open()
    await flush()
    t.socket().receive({ cmd: 'RECONNECT', code: 0, accountId: 17, nickName: 'alice', sessions: [BOB] })
    await flush()
    expect(t.store.state.connection).toBe('connected')
    expect(s.ended).toBe(false)
  })

  it('a broker restart (1012) mid-chat: back at once, RECONNECT with the token, resumed; only "reconnecting" shows', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.dismissNotice()
    pushMsg(t, 1)
    vi.advanceTimersByTime(100) // its ACK goes out; the broker may or may not store it
    t.store.sendMessage(5, 'in flight')
    const { requestId } = t.socket().lastSent('DIALOGUE')
    t.socket().drop(1012) // the DIALOGUE's reply never comes on this socket
    expect(t.store.state.connection).toBe('reconnecting')
    expect(s.messages[1]).toMatchObject({ content: 'in flight', state: 'pending', error: '' })
    // No backoff: the new socket opens within the quarter second the jitter allows (125 ms here).
    vi.advanceTimersByTime(125)
    expect(t.sockets).toHaveLength(2)
    t.socket().open() // in production: nginx, on the other broker
    await flush()
    expect(t.socket().sent).toEqual([{ cmd: 'RECONNECT', accountId: 17, token: TOKEN }])
    expect(t.store.state.connection).toBe('reconnecting')
    t.socket().receive({ cmd: 'RECONNECT', code: 0, accountId: 17, nickName: 'alice', sessions: [BOB] })
    await flush()
    expect(t.store.state.connection).toBe('connected')
    expect(t.store.state.reconnectAttempt).toBe(0)
    // The unanswered message goes out again with its requestId (stored at most once) ...
    expect(t.socket().sentCmd('DIALOGUE')).toEqual([
      { cmd: 'DIALOGUE', requestId, senderId: 17, sessionId: 5, content: 'in flight' },
    ])
    // ... and the resume pushes what was not acknowledged: 1 again, and 2 sent meanwhile.
    pushMsg(t, 1)
    pushMsg(t, 2)
    t.socket().receive({ cmd: 'DIALOGUE', requestId, msgId: 3, sessionId: 5, code: 0 })
    expect(messageIds(s)).toEqual([1, 2, 3])
    expect(s.messages.map((m) => m.content)).toEqual(['m1', 'm2', 'in flight'])
    expect(s.messages[2].state).toBe('sent')
    vi.advanceTimersByTime(100)
    expect(t.socket().lastSent('ACK')).toEqual({ cmd: 'ACK', sessionId: 5, msgId: 2 })
    // Nothing else to notice: the window stays open, no notice, no error.
    vi.advanceTimersByTime(5000)
    expect(s).toMatchObject({ ended: false, endReason: '', partnerAway: false })
    expect(t.store.state.notice).toBeNull()
    expect(t.sockets).toHaveLength(2)
  })

  it('does not hammer a broker that closes with 1012 before the RECONNECT is answered', async () => {
    const t = await loggedIn()
    t.socket().drop(1012)
    vi.advanceTimersByTime(125)
    expect(t.sockets).toHaveLength(2)
    t.socket().open()
    await flush()
    t.socket().drop(1012) // accepted, then closed again: the usual backoff
    await flush()
    vi.advanceTimersByTime(499)
    expect(t.sockets).toHaveLength(2)
    vi.advanceTimersByTime(1)
    expect(t.sockets).toHaveLength(3)
  })

  it('stays away as long as dropConnection({offlineMs}) says (test hook)', async () => {
    const t = await loggedIn()
    t.store.dropConnection({ offlineMs: 3000 })
    expect(t.sockets[0].closedWith).toEqual({ code: 4000, reason: 'dropped for a test' })
    expect(t.store.state.connection).toBe('reconnecting')
    vi.advanceTimersByTime(2999)
    expect(t.sockets).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(t.sockets).toHaveLength(2)
  })
})
