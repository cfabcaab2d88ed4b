// @vitest-environment happy-dom
import { afterEach, describe, expect, it } from 'vitest'
import { makeStore } from './fake-socket.js'
import { loginAs, mount, q, qa, settle, type, unmount } from './dom.js'

afterEach(unmount)

describe('the nickname screen', () => {
  it('explains an empty nickname', async () => {
    const t = makeStore()
    mount(t)
    q('login-button').click()
    await settle()
    expect(q('nickname-error').textContent).toMatch(/Please enter a nickname/)
    expect(t.sockets).toHaveLength(0)
  })

  it('explains a nickname that is too long', async () => {
    const t = makeStore()
    mount(t)
    await type(q('nickname-input'), 'n'.repeat(40))
    expect(q('nickname-error').textContent).toMatch(/At most 32 characters/)
    q('login-button').click()
    await settle()
    expect(q('nickname-error').textContent).toMatch(/40 characters long; the limit is 32/)
    expect(t.sockets).toHaveLength(0)
  })

  it('shows my name and the connection status once in', async () => {
    const t = makeStore()
    mount(t)
    await loginAs(t, 'alice')
    expect(q('my-name').textContent).toBe('alice')
    expect(q('status').textContent.trim()).toBe('Connected')
    expect(q('match-button')).not.toBeNull()
    expect(q('logout-button')).not.toBeNull()
  })
})

describe('a conversation window', () => {
  async function chatting() {
    const t = makeStore()
    mount(t)
    await loginAs(t, 'alice')
    q('match-button').click()
    await settle()
    t.socket().receive({ cmd: 'MATCH', partnerId: 23, partnerName: 'bob', sessionId: 5, code: 0 })
    await settle()
    return t
  }

  it('is titled with the partner and announced by a notice', async () => {
    await chatting()
    const win = q('session-window')
    expect(win.getAttribute('data-session-id')).toBe('5')
    expect(q('partner-name', win).textContent).toBe('bob')
    expect(q('notice').textContent).toMatch(/chatting with bob/)
  })

  it('shows markup in messages as text, never as HTML', async () => {
    const t = await chatting()
    t.socket().receive({
      cmd: 'PUSH_DIALOGUE',
      msgId: 1,
      senderId: 23,
      sessionId: 5,
      content: '<img src=x onerror="window.pwned=1"><b>bold?</b>',
    })
    await settle()
    const msg = q('message')
    expect(msg.querySelector('img')).toBeNull()
    expect(msg.querySelector('b')).toBeNull()
    expect(msg.textContent).toContain('<b>bold?</b>')
    expect(msg.getAttribute('data-mine')).toBe('false')
    expect(msg.getAttribute('data-msg-id')).toBe('1')
    expect(msg.hasAttribute('data-read')).toBe(false)
  })

  it('sends with Enter and marks own messages pending, sent, read', async () => {
    const t = await chatting()
    const input = q('message-input')
    await type(input, 'hi bob')
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true }))
    await settle()
    expect(input.value).toBe('')
    const frame = t.socket().lastSent('DIALOGUE')
    expect(frame.content).toBe('hi bob')
    let msg = q('message')
    expect(msg.getAttribute('data-mine')).toBe('true')
    expect(msg.getAttribute('data-read')).toBe('false')
    expect(msg.getAttribute('data-state')).toBe('pending')
    expect(msg.hasAttribute('data-msg-id')).toBe(false)

    t.socket().receive({ cmd: 'DIALOGUE', requestId: frame.requestId, msgId: 1, sessionId: 5, code: 0 })
    await settle()
    msg = q('message')
    expect(msg.getAttribute('data-msg-id')).toBe('1')
    expect(msg.getAttribute('data-state')).toBe('sent')

    t.socket().receive({ cmd: 'PUSH_VIEWED_ACK', sessionId: 5, accountId: 23, msgId: 1 })
    await settle()
    expect(q('message').getAttribute('data-read')).toBe('true')
  })

  it('sends with the button; Shift+Enter does not send', async () => {
    const t = await chatting()
    const input = q('message-input')
    await type(input, 'line one')
    input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', shiftKey: true, bubbles: true }))
    await settle()
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(0)
    q('send-button').click()
    await settle()
    expect(t.socket().sentCmd('DIALOGUE')).toHaveLength(1)
  })

  it('offers a retry for a failed message, which reuses the requestId', async () => {
    const t = await chatting()
    await type(q('message-input'), 'hello')
    q('send-button').click()
    await settle()
    const { requestId } = t.socket().lastSent('DIALOGUE')
    t.socket().receive({ cmd: 'DIALOGUE', requestId, sessionId: 5, code: 1, msg: 'content is not valid' })
    await settle()
    expect(q('message').getAttribute('data-state')).toBe('failed')
    q('retry-button').click()
    await settle()
    expect(t.socket().sentCmd('DIALOGUE').map((f) => f.requestId)).toEqual([requestId, requestId])
  })

  it('says when the partner left, disables the input and can be closed', async () => {
    const t = await chatting()
    expect(q('session-ended')).toBeNull()
    t.socket().receive({
      cmd: 'PUSH_SIGNAL',
      signalType: 'PartnerExit',
      senderId: 0,
      sessionId: 5,
      receiverId: 17,
      data: { accountId: 23 },
    })
    await settle()
    expect(q('session-ended').textContent).toMatch(/bob left the chat/)
    expect(q('message-input').disabled).toBe(true)
    expect(q('send-button').disabled).toBe(true)
    q('close-session').click()
    await settle()
    expect(qa('session-window')).toHaveLength(0)
  })

  it('shows a partner who dropped off as a quiet state of the window, not as a notice', async () => {
    const t = await chatting()
    t.store.dismissNotice()
    await settle()
    const signal = (signalType) =>
      t.socket().receive({ cmd: 'PUSH_SIGNAL', signalType, senderId: 0, sessionId: 5, receiverId: 17, data: { accountId: 23 } })
    signal('PartnerAway')
    await settle()
    const win = q('session-window')
    expect(win.getAttribute('data-partner-away')).toBe('true')
    expect(win.getAttribute('data-ended')).toBe('false')
    expect(q('partner-away', win).textContent).toMatch(/bob seems to have lost their connection/)
    expect(win.querySelector('.sw-sub').textContent).toMatch(/Away, may be back soon/)
    expect(q('notice')).toBeNull()
    expect(q('session-ended')).toBeNull()
    expect(q('message-input').disabled).toBe(false)
    signal('PartnerBack')
    await settle()
    expect(win.getAttribute('data-partner-away')).toBe('false')
    expect(q('partner-away')).toBeNull()
    expect(q('notice')).toBeNull()
  })

  it('keeps a message typed while disconnected pending, then sent after the reconnect', async () => {
    const t = await chatting()
    t.socket().drop()
    await settle()
    expect(q('status').textContent.trim()).toBe('Reconnecting…')
    await type(q('message-input'), 'typed offline')
    q('send-button').click()
    await settle()
    const msg = q('message')
    expect(msg.getAttribute('data-state')).toBe('pending')
    expect(msg.textContent).toMatch(/Waiting for the connection/)
    expect(q('retry-button')).toBeNull()

    await new Promise((resolve) => setTimeout(resolve, 700)) // the first reconnect attempt (0.5 s)
    t.socket().open()
    await settle()
    t.socket().receive({
      cmd: 'RECONNECT',
      code: 0,
      accountId: 17,
      nickName: 'alice',
      sessions: [{ sessionId: 5, partnerId: 23, partnerName: 'bob' }],
    })
    await settle()
    expect(q('status').textContent.trim()).toBe('Connected')
    const frame = t.socket().lastSent('DIALOGUE')
    expect(frame.content).toBe('typed offline')
    expect(q('message').textContent).toMatch(/Sending…/)
    t.socket().receive({ cmd: 'DIALOGUE', requestId: frame.requestId, msgId: 1, sessionId: 5, code: 0 })
    await settle()
    expect(q('message').getAttribute('data-state')).toBe('sent')
    expect(q('message').getAttribute('data-msg-id')).toBe('1')
    expect(q('session-window').getAttribute('data-ended')).toBe('false')
    expect(q('notice')?.textContent ?? '').not.toMatch(/back online|ended/)
  })

  it('shows an unread counter on a window that is not in view', async () => {
    const t = await chatting()
    t.store.setWindowVisible(5, false)
    t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId: 1, senderId: 23, sessionId: 5, content: 'psst' })
    t.socket().receive({ cmd: 'PUSH_DIALOGUE', msgId: 2, senderId: 23, sessionId: 5, content: 'hello?' })
    await settle()
    expect(q('unread-count').textContent.trim()).toBe('2')
    expect(document.title).toBe('(2) Stranger Chat')
  })
})
