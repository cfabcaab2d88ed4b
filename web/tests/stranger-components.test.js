// @vitest-environment happy-dom
// The stranger-chat controls as rendered: interests chips, waiting and banned panels,
// the per-chat actions, the report dialog and the typing indicator.
import { afterEach, describe, expect, it } from 'vitest'
import { makeStore } from './fake-socket.js'
import { key, loginAs, mount, q, qa, settle, type, unmount } from './dom.js'

afterEach(unmount)

async function loggedInApp() {
  const t = makeStore()
  mount(t)
  await loginAs(t, 'alice')
  return t
}

async function chatting(reply = {}) {
  const t = await loggedInApp()
  q('match-button').click()
  await settle()
  t.socket().receive({ cmd: 'MATCH', partnerId: 23, partnerName: 'bob', sessionId: 5, code: 0, ...reply })
  await settle()
  t.store.dismissNotice()
  await settle()
  return t
}

const chips = () => qa('interest-chip').map((c) => c.textContent.trim())

describe('the interests input', () => {
  it('makes chips on Enter and comma, drops duplicates, hints at the limits, and MATCH sends them', async () => {
    const t = await loggedInApp()
    const input = q('interests-input')
    await type(input, ' Music ')
    key(input, 'Enter')
    await settle()
    await type(input, 'chess,')
    await settle()
    await type(input, 'music')
    key(input, 'Enter')
    await settle()
    expect(chips()).toEqual(['Music', 'chess'])
    expect(input.value).toBe('')

    await type(input, 'y'.repeat(25))
    await settle()
    expect(q('interests-hint').textContent).toMatch(/at most 24 characters/)
    expect(input.getAttribute('aria-invalid')).toBe('true')
    await type(input, 'a, b, c, d')
    key(input, 'Enter')
    await settle()
    expect(chips()).toHaveLength(5)
    expect(input.value).toBe('d')
    expect(q('interests-hint').textContent).toMatch(/at most 5 interests/)

    // remove buttons are labelled; removing one makes room
    const remove = qa('interest-remove')
    expect(remove[2].getAttribute('aria-label')).toBe('Remove the interest a')
    remove[2].click()
    await settle()
    key(input, 'Enter')
    await settle()
    expect(chips()).toEqual(['Music', 'chess', 'b', 'c', 'd'])

    q('match-button').click()
    await settle()
    expect(t.socket().lastSent('MATCH')).toEqual({ cmd: 'MATCH', accountId: 17, interests: ['Music', 'chess', 'b', 'c', 'd'] })
  })

  it('adds what was typed when the box loses the focus (say, to press Match)', async () => {
    const t = await loggedInApp()
    const input = q('interests-input')
    await type(input, 'jazz')
    input.dispatchEvent(new Event('blur'))
    await settle()
    expect(chips()).toEqual(['jazz'])
    q('match-button').click()
    await settle()
    expect(t.socket().lastSent('MATCH').interests).toEqual(['jazz'])
  })

  it('Backspace in an empty box takes the last chip back to edit', async () => {
    await loggedInApp()
    const input = q('interests-input')
    await type(input, 'go, tea')
    await settle()
    key(input, 'Backspace')
    await settle()
    expect(chips()).toEqual(['go'])
    expect(input.value).toBe('tea')
  })
})

describe('waiting and banned', () => {
  it('shows the waiting indicator on 13, with a cancel that sends CANCEL_MATCH', async () => {
    const t = await loggedInApp()
    q('match-button').click()
    await settle()
    t.socket().receive({ cmd: 'MATCH', code: 13, msg: 'waiting for someone to match' })
    await settle()
    expect(q('waiting-indicator').textContent).toMatch(/Looking for someone/)
    expect(q('interests-input')).toBeNull()
    expect(q('match-button').disabled).toBe(true)
    expect(q('notice')).toBeNull()
    q('cancel-match-button').click()
    await settle()
    expect(t.socket().lastSent('CANCEL_MATCH')).toEqual({ cmd: 'CANCEL_MATCH', accountId: 17 })
    t.socket().receive({ cmd: 'CANCEL_MATCH', code: 0 })
    await settle()
    expect(q('waiting-indicator')).toBeNull()
    expect(q('interests-input')).not.toBeNull()
    expect(q('match-button').disabled).toBe(false)
  })

  it('shows the banned notice with the local time on 14 and disables matching', async () => {
    const t = await loggedInApp()
    q('match-button').click()
    await settle()
    const until = new Date(Date.now() + 5 * 3600000)
    t.socket().receive({ cmd: 'MATCH', code: 14, msg: 'banned', until: until.toISOString() })
    await settle()
    const text = q('banned-notice').textContent.replace(/\s+/g, ' ')
    const local = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(until)
    expect(text).toContain(`You can't meet new people until ${local}.`)
    expect(text).toContain('Reports from several people paused matching for your account.')
    expect(q('banned-notice').querySelector('time').getAttribute('datetime')).toBe(until.toISOString())
    expect(q('match-button').disabled).toBe(true)
  })
})

describe('a conversation window, stranger-chat parts', () => {
  it('shows the common interests only when there are some', async () => {
    await chatting({ commonInterests: ['music', 'chess'] })
    expect(q('common-interests').textContent.trim()).toBe('You both like music, chess')
    unmount()
    await chatting({ commonInterests: [] })
    expect(q('common-interests')).toBeNull()
  })

  it('shows the typing indicator while the partner types', async () => {
    const t = await chatting()
    expect(q('typing-indicator')).toBeNull()
    t.socket().receive({ cmd: 'PUSH_TYPING', sessionId: 5, accountId: 23, typing: true })
    await settle()
    expect(q('typing-indicator').textContent).toMatch(/bob is typing/)
    t.socket().receive({ cmd: 'PUSH_TYPING', sessionId: 5, accountId: 23, typing: false })
    await settle()
    expect(q('typing-indicator')).toBeNull()
  })

  it('sends TYPING when the person types in the box', async () => {
    const t = await chatting()
    await type(q('message-input'), 'h')
    expect(t.socket().lastSent('TYPING')).toEqual({ cmd: 'TYPING', sessionId: 5, typing: true })
    await type(q('message-input'), '')
    expect(t.socket().lastSent('TYPING')).toEqual({ cmd: 'TYPING', sessionId: 5, typing: false })
  })

  it('Leave ends the window; Next is offered and gets the focus', async () => {
    const t = await chatting()
    q('leave-button').click()
    await settle()
    expect(t.socket().lastSent('LEAVE')).toEqual({ cmd: 'LEAVE', sessionId: 5 })
    t.socket().receive({ cmd: 'LEAVE', sessionId: 5, code: 0 })
    await settle()
    await settle()
    expect(q('session-ended').textContent).toMatch(/You left this chat/)
    expect(q('message-input').disabled).toBe(true)
    expect(q('leave-button')).toBeNull()
    expect(document.activeElement).toBe(q('next-button'))
  })

  it('Block asks first; Escape cancels, the confirm button blocks', async () => {
    const t = await chatting()
    q('block-button').click()
    await settle()
    const dialog = document.querySelector('[role="dialog"]')
    expect(dialog.getAttribute('aria-modal')).toBe('true')
    expect(dialog.textContent).toMatch(/Block bob\?/)
    expect(document.activeElement.textContent.trim()).toBe('Cancel') // the safe first control
    key(document.activeElement, 'Escape')
    await settle()
    expect(document.querySelector('[role="dialog"]')).toBeNull()
    expect(t.socket().sentCmd('BLOCK')).toHaveLength(0)

    q('block-button').click()
    await settle()
    q('block-confirm').click()
    await settle()
    expect(t.socket().lastSent('BLOCK')).toEqual({ cmd: 'BLOCK', sessionId: 5 })
    t.socket().receive({ cmd: 'BLOCK', sessionId: 5, code: 0 })
    await settle()
    expect(q('session-ended').textContent).toMatch(/You blocked bob/)
    expect(q('block-button')).toBeNull()
    expect(q('report-button')).toBeNull()
  })

  it('Report: focus on the reason, submit only with a reason, then thanks', async () => {
    const t = await chatting()
    q('report-button').click()
    await settle()
    await settle()
    const select = q('report-reason')
    expect(document.activeElement).toBe(select)
    expect([...select.options].map((o) => o.value)).toEqual(['', 'spam', 'harassment', 'sexual', 'hate', 'underage', 'other'])
    expect(q('report-submit').disabled).toBe(true)
    select.value = 'spam'
    select.dispatchEvent(new Event('change'))
    await type(q('report-text'), 'selling things')
    await settle()
    expect(q('report-submit').disabled).toBe(false)
    q('report-submit').closest('form').dispatchEvent(new Event('submit', { cancelable: true }))
    await settle()
    expect(t.socket().lastSent('REPORT')).toEqual({ cmd: 'REPORT', sessionId: 5, reason: 'spam', text: 'selling things' })
    t.socket().receive({ cmd: 'REPORT', sessionId: 5, code: 0 })
    await settle()
    await settle()
    expect(q('report-confirmation').textContent).toMatch(
      /Thanks — we've received your report and you won't be matched with them again/,
    )
    expect(document.activeElement).toBe(q('report-done'))
    q('report-done').click()
    await settle()
    expect(q('report-confirmation')).toBeNull()
    expect(q('session-ended').textContent).toMatch(/we've received your report/)
  })

  it('the report dialog keeps Tab inside and gives the focus back on Escape', async () => {
    await chatting()
    const opener = q('report-button')
    opener.focus()
    opener.click()
    await settle()
    await settle()
    const dialog = document.querySelector('[role="dialog"]')
    const controls = [...dialog.querySelectorAll('button:not([disabled]), select, textarea')]
    expect(document.activeElement).toBe(controls[0])
    // Shift+Tab on the first goes to the last, Tab on the last back to the first.
    key(controls[0], 'Tab', { shiftKey: true })
    expect(document.activeElement).toBe(controls[controls.length - 1])
    key(document.activeElement, 'Tab')
    expect(document.activeElement).toBe(controls[0])
    expect(dialog.getAttribute('aria-labelledby')).toBe(dialog.querySelector('h2').id)
    key(document.activeElement, 'Escape')
    await settle()
    expect(document.querySelector('[role="dialog"]')).toBeNull()
    expect(document.activeElement).toBe(q('report-button'))
  })

  it('Report answered 12 keeps the dialog open with the reason to try again', async () => {
    const t = await chatting()
    q('report-button').click()
    await settle()
    const select = q('report-reason')
    select.value = 'other'
    select.dispatchEvent(new Event('change'))
    await settle()
    q('report-submit').closest('form').dispatchEvent(new Event('submit', { cancelable: true }))
    await settle()
    t.socket().receive({ cmd: 'REPORT', sessionId: 5, code: 12, msg: 'slow down' })
    await settle()
    expect(q('report-error').textContent).toMatch(/try again/)
    expect(q('report-reason').value).toBe('other')
    expect(q('report-submit').disabled).toBe(false)
    expect(q('session-window').getAttribute('data-ended')).toBe('false')
  })
})
