// The stranger-chat features of the store (docs/protocol.md: MATCH with interests and
// codes 13-15, CANCEL_MATCH, LEAVE, BLOCK, REPORT, TYPING, PUSH_TYPING), driven through
// a fake socket on fake timers.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flush, loggedIn, matched, TOKEN } from './fake-socket.js'

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

/** Starts a MATCH and answers it with `reply`; returns what match() resolved to. */
async function matchWith(t, reply) {
  const done = t.store.match()
  await flush()
  t.socket().receive({ cmd: 'MATCH', ...reply })
  return done
}

function newSession(t, { sessionId = 7, partnerId = 23, nickName = 'bob', commonInterests } = {}) {
  const data = { accountId: partnerId, nickName }
  if (commonInterests) data.commonInterests = commonInterests
  t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType: 'NewSession', senderId: partnerId, sessionId, receiverId: 17, data })
}

/** Answers the last request `cmd` the store sent. */
async function answer(t, cmd, reply) {
  await flush()
  t.socket().receive({ cmd, ...reply })
  await flush()
}

describe('MATCH with interests', () => {
  it('sends the interests, or none at all, and shows the common ones', async () => {
    const t = await loggedIn()
    await matchWith(t, { code: 13, msg: 'waiting' })
    expect(t.socket().lastSent('MATCH')).toEqual({ cmd: 'MATCH', accountId: 17 })
    const cancelled = t.store.cancelMatch()
    await answer(t, 'CANCEL_MATCH', { code: 0 })
    expect(await cancelled).toBe(true)

    t.store.setInterests(['Music', 'chess'])
    const ok = await matchWith(t, {
      code: 0,
      partnerId: 23,
      partnerName: 'bob',
      sessionId: 5,
      commonInterests: ['music'],
    })
    expect(ok).toBe(true)
    expect(t.socket().lastSent('MATCH')).toEqual({ cmd: 'MATCH', accountId: 17, interests: ['Music', 'chess'] })
    expect(t.store.findSession(5).commonInterests).toEqual(['music'])
  })

  it('keeps the common interests of a NewSession, and none when there are none', async () => {
    const t = await loggedIn()
    newSession(t, { sessionId: 7, commonInterests: ['chess', 'go'] })
    newSession(t, { sessionId: 8, partnerId: 24, nickName: 'carol', commonInterests: [] })
    newSession(t, { sessionId: 9, partnerId: 25, nickName: 'dan' })
    expect(t.store.findSession(7).commonInterests).toEqual(['chess', 'go'])
    expect(t.store.findSession(8).commonInterests).toEqual([])
    expect(t.store.findSession(9).commonInterests).toEqual([])
  })
})

describe('waiting for a match (code 13)', () => {
  it('waits without an error and without asking again; NewSession ends the waiting', async () => {
    const t = await loggedIn()
    expect(await matchWith(t, { code: 13, msg: 'waiting for someone to match' })).toBe(false)
    expect(t.store.state.waiting).toBe(true)
    expect(t.store.state.notice).toBeNull()
    vi.advanceTimersByTime(120000)
    expect(t.socket().sentCmd('MATCH')).toHaveLength(1)
    // a second match() while waiting sends nothing
    expect(await t.store.match()).toBe(false)
    expect(t.socket().sentCmd('MATCH')).toHaveLength(1)

    newSession(t, { sessionId: 7, commonInterests: ['music'] })
    expect(t.store.state.waiting).toBe(false)
    expect(t.store.findSession(7)).toMatchObject({ partnerName: 'bob', origin: 'incoming', ended: false })
  })

  it('CANCEL_MATCH ends the waiting on code 0 and on code 4 (already matched)', async () => {
    for (const code of [0, 4]) {
      const t = await loggedIn()
      await matchWith(t, { code: 13, msg: 'waiting' })
      const done = t.store.cancelMatch()
      expect(t.store.state.cancelling).toBe(true)
      await answer(t, 'CANCEL_MATCH', code === 0 ? { code } : { code, msg: 'not waiting' })
      expect(await done).toBe(true)
      expect(t.socket().lastSent('CANCEL_MATCH')).toEqual({ cmd: 'CANCEL_MATCH', accountId: 17 })
      expect(t.store.state).toMatchObject({ waiting: false, cancelling: false })
      expect(t.store.state.notice).toBeNull()
    }
  })

  it('keeps waiting when CANCEL_MATCH fails for a passing reason, and says so', async () => {
    const t = await loggedIn()
    await matchWith(t, { code: 13, msg: 'waiting' })
    const done = t.store.cancelMatch()
    await answer(t, 'CANCEL_MATCH', { code: 2, msg: 'logic did not answer' })
    expect(await done).toBe(false)
    expect(t.store.state.waiting).toBe(true)
    expect(t.store.state.notice).toMatchObject({ kind: 'error' })
  })

  it('shows the waiting again after a RECONNECT that says waiting:true, and not after waiting:false', async () => {
    for (const waiting of [true, false]) {
      const t = await loggedIn()
      await matchWith(t, { code: 13, msg: 'waiting' })
      t.socket().drop()
      vi.advanceTimersByTime(500)
      t.socket().open()
      await flush()
      expect(t.socket().sent).toEqual([{ cmd: 'RECONNECT', accountId: 17, token: TOKEN }])
      t.socket().receive({
        cmd: 'RECONNECT',
        code: 0,
        accountId: 17,
        nickName: 'alice',
        sessions: [{ sessionId: 5, partnerId: 23, partnerName: 'bob', commonInterests: ['chess'] }],
        waiting,
      })
      await flush()
      expect(t.store.state.waiting).toBe(waiting)
      expect(t.store.findSession(5)).toMatchObject({ origin: 'restored', commonInterests: ['chess'] })
    }
  })

  it('stops waiting on logout', async () => {
    const t = await loggedIn()
    await matchWith(t, { code: 13, msg: 'waiting' })
    const done = t.store.logout()
    await answer(t, 'LOGOUT', { code: 0 })
    await done
    expect(t.store.state.waiting).toBe(false)
  })
})

describe('banned (code 14) and the conversation cap (code 15)', () => {
  it('remembers until when matching is refused, matches nothing meanwhile, and lifts it on time', async () => {
    const t = await loggedIn()
    const until = new Date(Date.now() + 3600000)
    await matchWith(t, { code: 14, msg: 'banned', until: until.toISOString().replace(/\.\d+Z$/, 'Z') })
    expect(t.store.state.bannedUntil).toBe(Math.floor(until.getTime() / 1000) * 1000)
    expect(t.store.isBanned()).toBe(true)
    expect(t.store.state.notice).toBeNull() // the banned notice in the page says it all
    expect(await t.store.match()).toBe(false)
    expect(t.socket().sentCmd('MATCH')).toHaveLength(1)
    vi.advanceTimersByTime(3600000)
    expect(t.store.state.bannedUntil).toBe(0)
    await matchWith(t, { code: 13, msg: 'waiting' })
    expect(t.socket().sentCmd('MATCH')).toHaveLength(2)
  })

  it('without a readable until, pauses matching for a minute only', async () => {
    const t = await loggedIn()
    await matchWith(t, { code: 14, msg: 'banned' })
    expect(t.store.isBanned()).toBe(true)
    vi.advanceTimersByTime(60000)
    expect(t.store.isBanned()).toBe(false)
  })

  it('says kindly that there are too many open chats (15)', async () => {
    const t = await loggedIn()
    expect(await matchWith(t, { code: 15, msg: 'too many conversations' })).toBe(false)
    expect(t.store.state.notice).toMatchObject({ kind: 'warning' })
    expect(t.store.state.notice.text).toMatch(/Leave one of them first/)
    expect(t.store.state.waiting).toBe(false)
  })
})

describe('leave, next, block', () => {
  it('LEAVE ends the window as "you left"; a later PartnerExit does not change that', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    const done = t.store.leave(5)
    expect(s.busy).toBe('LEAVE')
    await answer(t, 'LEAVE', { sessionId: 5, code: 0 })
    expect(await done).toBe(true)
    expect(t.socket().lastSent('LEAVE')).toEqual({ cmd: 'LEAVE', sessionId: 5 })
    expect(s).toMatchObject({ ended: true, endReason: 'self', busy: '' })
    t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType: 'PartnerExit', senderId: 0, sessionId: 5, receiverId: 17, data: { accountId: 23 } })
    expect(s.endReason).toBe('self')
    expect(t.store.sendMessage(5, 'hello?')).toBe(false)
  })

  it('a LEAVE answered 8 ends the window gracefully', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    const done = t.store.leave(5)
    await answer(t, 'LEAVE', { sessionId: 5, code: 8, msg: 'session closed' })
    expect(await done).toBe(true)
    expect(s).toMatchObject({ ended: true, endReason: 'ended' })
    expect(t.store.state.notice?.kind).not.toBe('error')
  })

  it('a LEAVE without an answer leaves the chat open and says so', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    const done = t.store.leave(5)
    vi.advanceTimersByTime(10000)
    expect(await done).toBe(false)
    expect(s.ended).toBe(false)
    expect(t.store.state.notice).toMatchObject({ kind: 'error' })
  })

  it('Next: LEAVE, the window closes, then MATCH with the remembered interests', async () => {
    const t = await loggedIn()
    t.store.setInterests(['music'])
    await matched(t)
    const done = t.store.next(5)
    await answer(t, 'LEAVE', { sessionId: 5, code: 0 })
    expect(t.store.findSession(5)).toBeNull()
    expect(t.socket().lastSent('MATCH')).toEqual({ cmd: 'MATCH', accountId: 17, interests: ['music'] })
    t.socket().receive({ cmd: 'MATCH', code: 13, msg: 'waiting' })
    expect(await done).toBe(false)
    expect(t.store.state.waiting).toBe(true)
    // the order on the wire: LEAVE before the second MATCH
    const cmds = t.socket().sent.map((f) => f.cmd).filter((c) => c === 'LEAVE' || c === 'MATCH')
    expect(cmds).toEqual(['MATCH', 'LEAVE', 'MATCH'])
  })

  it('Next on a chat the partner already left sends no LEAVE', async () => {
    const t = await loggedIn()
    await matched(t)
    t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType: 'PartnerExit', senderId: 0, sessionId: 5, receiverId: 17, data: { accountId: 23 } })
    const done = t.store.next(5)
    await flush()
    expect(t.socket().sentCmd('LEAVE')).toHaveLength(0)
    t.socket().receive({ cmd: 'MATCH', code: 0, partnerId: 30, partnerName: 'carol', sessionId: 9 })
    expect(await done).toBe(true)
    expect(t.store.state.sessions.map((s) => s.id)).toEqual([9])
  })

  it('Next does nothing while banned', async () => {
    const t = await loggedIn()
    await matched(t)
    await matchWith(t, { code: 14, msg: 'banned', until: new Date(Date.now() + 60000).toISOString() })
    expect(await t.store.next(5)).toBe(false)
    expect(t.socket().sentCmd('LEAVE')).toHaveLength(0)
  })

  it('BLOCK ends the chat as blocked, also one the partner had left', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType: 'PartnerExit', senderId: 0, sessionId: 5, receiverId: 17, data: { accountId: 23 } })
    expect(s.endReason).toBe('left')
    const done = t.store.block(5)
    await answer(t, 'BLOCK', { sessionId: 5, code: 0 })
    expect(await done).toBe(true)
    expect(t.socket().lastSent('BLOCK')).toEqual({ cmd: 'BLOCK', sessionId: 5 })
    expect(s).toMatchObject({ ended: true, endReason: 'blocked' })
    expect(t.store.state.notice.text).toMatch(/You blocked bob/)
  })
})

describe('report', () => {
  it('refuses an unknown reason or a note over 500 characters without sending', async () => {
    const t = await loggedIn()
    await matched(t)
    expect(await t.store.report(5, 'rude', '')).toMatchObject({ ok: false })
    expect(await t.store.report(5, 'spam', 'x'.repeat(501))).toMatchObject({ ok: false, error: expect.stringMatching(/500/) })
    expect(t.socket().sentCmd('REPORT')).toHaveLength(0)
  })

  it('sends reason and note, and on code 0 ends the chat as reported', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    const done = t.store.report(5, 'harassment', '  kept insulting me ')
    expect(s.busy).toBe('REPORT')
    await answer(t, 'REPORT', { sessionId: 5, code: 0 })
    expect(await done).toEqual({ ok: true })
    expect(t.socket().lastSent('REPORT')).toEqual({ cmd: 'REPORT', sessionId: 5, reason: 'harassment', text: 'kept insulting me' })
    expect(s).toMatchObject({ ended: true, endReason: 'reported', busy: '' })
  })

  it('leaves out an empty note', async () => {
    const t = await loggedIn()
    await matched(t)
    const done = t.store.report(5, 'spam', '   ')
    await answer(t, 'REPORT', { sessionId: 5, code: 0 })
    await done
    expect(t.socket().lastSent('REPORT')).toEqual({ cmd: 'REPORT', sessionId: 5, reason: 'spam' })
  })

  it('keeps the chat open to try again after code 12 or 2; ends it gracefully on 8', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    let done = t.store.report(5, 'spam', '')
    await answer(t, 'REPORT', { sessionId: 5, code: 12, msg: 'slow down' })
    expect(await done).toMatchObject({ ok: false, error: expect.stringMatching(/try again/) })
    expect(s.ended).toBe(false)
    done = t.store.report(5, 'spam', '')
    await answer(t, 'REPORT', { sessionId: 5, code: 8, msg: 'session closed' })
    expect(await done).toMatchObject({ ok: false, closed: true })
    expect(s).toMatchObject({ ended: true, endReason: 'ended' })
  })
})

describe('typing', () => {
  function pushTyping(t, typing, { sessionId = 5, accountId = 23 } = {}) {
    t.socket().receive({ cmd: 'PUSH_TYPING', sessionId, accountId, typing })
  }

  it('shows the partner typing until typing:false', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    pushTyping(t, true)
    expect(s.partnerTyping).toBe(true)
    vi.advanceTimersByTime(2000)
    pushTyping(t, false)
    expect(s.partnerTyping).toBe(false)
  })

  it('hides it about 6 s after the last typing:true; a fresh one restarts the clock', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    pushTyping(t, true)
    vi.advanceTimersByTime(5000)
    pushTyping(t, true)
    vi.advanceTimersByTime(5999)
    expect(s.partnerTyping).toBe(true)
    vi.advanceTimersByTime(1)
    expect(s.partnerTyping).toBe(false)
  })

  it('hides it when their message arrives, and when the chat ends', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    pushTyping(t, true)
    t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId: 1, senderId: 23, sessionId: 5, content: 'hi' })
    expect(s.partnerTyping).toBe(false)
    pushTyping(t, true)
    t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType: 'PartnerExit', senderId: 0, sessionId: 5, receiverId: 17, data: { accountId: 23 } })
    expect(s.partnerTyping).toBe(false)
    pushTyping(t, true) // a late one for an ended chat
    expect(s.partnerTyping).toBe(false)
  })

  it('ignores our own typing and other sessions', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    pushTyping(t, true, { accountId: 17 })
    pushTyping(t, true, { sessionId: 99 })
    expect(s.partnerTyping).toBe(false)
  })

  it('sends TYPING true at the first key, false on send, after 4 s idle, and when the box is emptied', async () => {
    const t = await loggedIn()
    await matched(t)
    const typing = () => t.socket().sentCmd('TYPING').map((f) => f.typing)
    t.store.noteTyping(5, 'h')
    expect(t.socket().lastSent('TYPING')).toEqual({ cmd: 'TYPING', sessionId: 5, typing: true })
    t.store.noteTyping(5, 'he')
    t.store.noteTyping(5, 'hel')
    expect(typing()).toEqual([true])
    t.store.sendMessage(5, 'hel')
    expect(typing()).toEqual([true, false])

    vi.advanceTimersByTime(1000)
    t.store.noteTyping(5, 'a')
    vi.advanceTimersByTime(4000)
    expect(typing()).toEqual([true, false, true, false])

    vi.advanceTimersByTime(1000)
    t.store.noteTyping(5, 'b')
    t.store.noteTyping(5, '')
    expect(typing()).toEqual([true, false, true, false, true, false])
  })

  it('sends nothing into an ended chat or while disconnected; 8 in reply ends the chat', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.noteTyping(5, 'x')
    t.socket().receive({ cmd: 'TYPING', sessionId: 5, code: 8, msg: 'session closed' })
    expect(s).toMatchObject({ ended: true, endReason: 'ended' })
    vi.advanceTimersByTime(5000)
    t.store.noteTyping(5, 'xy')
    expect(t.socket().sentCmd('TYPING')).toHaveLength(1)

    const t2 = await loggedIn()
    await matched(t2)
    t2.socket().drop()
    t2.store.noteTyping(5, 'x')
    expect(t2.sockets[0].sentCmd('TYPING')).toHaveLength(0)
  })

  it('ignores a TYPING refused with 12: typing is best effort', async () => {
    const t = await loggedIn()
    const s = await matched(t)
    t.store.noteTyping(5, 'x')
    t.socket().receive({ cmd: 'TYPING', sessionId: 5, code: 12, msg: 'slow down' })
    expect(s.ended).toBe(false)
    expect(t.store.state.notice?.kind).not.toBe('error')
  })
})
