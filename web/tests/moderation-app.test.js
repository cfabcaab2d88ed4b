// @vitest-environment happy-dom
// The moderator page as rendered, on a fake admin server: sign-in and 401s, the live
// numbers, the report actions (which endpoints, which bodies, in which order), the ban
// form's checks and lifting a ban.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { TOKEN_STORAGE_KEY } from '../src/moderation/moderation.js'
import { ADMIN_TOKEN, fakeAdminServer, sampleReport } from './fake-admin-server.js'
import { card, choose, click, mountModeration, q, qa, settle, text, tick, type, unmountModeration } from './moderation-dom.js'

afterEach(() => {
  unmountModeration()
  vi.useRealTimers()
})

async function signedIn(server = fakeAdminServer()) {
  const page = mountModeration(server, { signedIn: true })
  await settle()
  return { server, ...page }
}

describe('signing in', () => {
  it('starts at the token form; a wrong token is refused with an error and not kept', async () => {
    const server = fakeAdminServer()
    const { storage } = mountModeration(server)
    await settle()
    expect(q('moderation-token-input')).not.toBeNull()
    expect(q('stats-online')).toBeNull()
    expect(server.requests).toHaveLength(0)

    await type(q('moderation-token-input'), 'guess')
    await click(q('moderation-token-submit'))
    expect(text(q('moderation-error'))).toMatch(/The server refused this token \(wrong admin token\)/)
    expect(q('moderation-token-input')).not.toBeNull()
    expect(storage.getItem(TOKEN_STORAGE_KEY)).toBeNull()
    expect(server.requests[0].headers.Authorization).toBe('Bearer guess')
  })

  it('asks for a token when the box is empty, without a request', async () => {
    const server = fakeAdminServer()
    mountModeration(server)
    await type(q('moderation-token-input'), '   ')
    await click(q('moderation-token-submit'))
    expect(text(q('moderation-error'))).toBe('Please enter the admin token.')
    expect(server.requests).toHaveLength(0)
  })

  it('keeps the right token in the session storage and shows the page; Sign out forgets it', async () => {
    const server = fakeAdminServer()
    const { storage } = mountModeration(server)
    await type(q('moderation-token-input'), `  ${ADMIN_TOKEN}\n`)
    await click(q('moderation-token-submit'))
    expect(q('moderation-error')).toBeNull()
    expect(storage.getItem(TOKEN_STORAGE_KEY)).toBe(ADMIN_TOKEN)
    expect(text(q('stats-online'))).toBe('12')

    await click(q('moderation-signout'))
    expect(q('moderation-token-input')).not.toBeNull()
    expect(q('stats-online')).toBeNull()
    expect(storage.getItem(TOKEN_STORAGE_KEY)).toBeNull()
  })

  it('goes back to the form with an error when a later answer is 401 (the token was replaced)', async () => {
    const { server, storage } = await signedIn()
    expect(q('report-card')).not.toBeNull()
    server.token = 'a-new-token'
    await click(q('report-dismiss'))
    expect(q('moderation-token-input')).not.toBeNull()
    expect(text(q('moderation-error'))).toMatch(/refused this token/)
    expect(storage.getItem(TOKEN_STORAGE_KEY)).toBeNull()
  })
})

describe('the live numbers', () => {
  it('shows the totals and one row per broker, read again every 5 s until signed out', async () => {
    vi.useFakeTimers()
    const { server } = await signedIn()
    expect([q('stats-online'), q('stats-waiting'), q('stats-conversations')].map(text)).toEqual(['12', '3', '4'])
    const rows = qa('stats-broker-row')
    expect(rows.map((r) => r.getAttribute('data-broker-id'))).toEqual(['b1', 'b2'])
    expect([...rows[0].children].map(text)).toEqual(['b1', '7', '2', '3'])

    server.stats = { online: 2, waiting: 0, openConversations: 1, brokers: [{ brokerId: 'b1', online: 2, waiting: 0, openConversations: 1 }] }
    await vi.advanceTimersByTimeAsync(4900)
    expect(text(q('stats-online'))).toBe('12')
    await vi.advanceTimersByTimeAsync(100)
    await settle()
    expect(text(q('stats-online'))).toBe('2')
    expect(qa('stats-broker-row')).toHaveLength(1)

    await click(q('moderation-signout'))
    const asked = server.requests.length
    await vi.advanceTimersByTimeAsync(20000)
    expect(server.requests.length).toBe(asked)
  })

  it('shows an API failure at the top and keeps the page', async () => {
    const server = fakeAdminServer()
    server.failNext('GET', /\/api\/bans/, 503, { error: 'PostgreSQL is unreachable' })
    await signedIn(server)
    expect(text(q('moderation-error'))).toBe('PostgreSQL is unreachable')
    expect(q('report-card')).not.toBeNull()
    expect(text(q('stats-online'))).toBe('12')
  })
})

describe('a report', () => {
  it('shows reason, note, time, both people and the messages, marked by side', async () => {
    await signedIn(fakeAdminServer({ reports: [sampleReport({ reported: { ...sampleReport().reported, bannedUntil: '2026-12-09T00:00:00Z' } })] }))
    const c = card(7)
    expect(text(q('report-reason', c))).toBe('Harassment or bullying')
    expect(text(q('report-text', c))).toBe('kept insulting me')
    expect(q('report-time', c).getAttribute('datetime')).toBe('2026-12-07T23:40:01.123Z')
    const reported = q('report-reported', c)
    expect(text(q('report-person-name', reported))).toBe('troll')
    expect(text(reported)).toMatch(/#23/)
    expect(text(reported)).toMatch(/10\.0\.0\.2/)
    expect(text(q('report-count', reported))).toBe('2')
    expect(q('report-banned-until', reported)).not.toBeNull()
    const reporter = q('report-reporter', c)
    expect(text(reporter)).toMatch(/alice.*#17.*10\.0\.0\.1/)
    expect(q('report-count', reporter)).toBeNull()
    const messages = qa('report-message', c)
    expect(messages.map((m) => [m.getAttribute('data-side'), text(q('report-message-text', m))])).toEqual([
      ['reporter', 'hi'],
      ['reported', 'go away, idiot'],
    ])
  })

  it('names a deleted account and cannot ban an unknown address', async () => {
    const reported = { accountId: 23, nickName: null, address: null, reportCount: 1, bannedUntil: null }
    await signedIn(fakeAdminServer({ reports: [sampleReport({ reported })] }))
    expect(text(q('report-person-name', q('report-reported')))).toBe('(deleted account)')
    expect(q('report-ban-address').disabled).toBe(true)
  })

  it('Dismiss resolves it as dismissed, and the open list is then empty', async () => {
    const { server } = await signedIn()
    await click(q('report-dismiss'))
    expect(server.changes()).toEqual([{ method: 'POST', url: '/api/reports/7/resolve', body: { resolution: 'dismissed' } }])
    expect(q('report-card')).toBeNull()
    expect(q('reports-empty')).not.toBeNull()
  })

  it('Ban asks first; confirmed, it bans the account and address, then resolves as banned', async () => {
    const { server } = await signedIn()
    await choose(q('report-ban-duration'), 7 * 86400)
    await tick(q('report-ban-address'))
    await click(q('report-ban'))
    expect(server.changes()).toEqual([]) // only asked
    expect(q('report-ban')).toBeNull()
    expect(text(q('report-ban-question'))).toBe('Ban troll (#23) and 10.0.0.2 for 7 days?')
    expect(document.activeElement).toBe(q('report-ban-confirm'))

    await click(q('report-ban-confirm'))
    expect(server.changes()).toEqual([
      {
        method: 'POST',
        url: '/api/bans',
        body: { accountId: 23, address: '10.0.0.2', duration: 604800, reason: 'report 7: harassment' },
      },
      { method: 'POST', url: '/api/reports/7/resolve', body: { resolution: 'banned' } },
    ])
    expect(q('report-card')).toBeNull()
    expect(qa('ban-row').map((r) => r.getAttribute('data-ban-id'))).toEqual(['100'])
  })

  it('bans the account alone when the address box is not ticked (24 hours unless chosen)', async () => {
    const { server } = await signedIn()
    await click(q('report-ban'))
    await click(q('report-ban-confirm'))
    expect(server.changes()[0].body).toEqual({ accountId: 23, duration: 86400, reason: 'report 7: harassment' })
  })

  it('Cancel (or Escape) sends nothing and brings the Ban button back', async () => {
    const { server } = await signedIn()
    await click(q('report-ban'))
    await click(q('report-ban-cancel'))
    expect(q('report-ban-confirm')).toBeNull()
    expect(document.activeElement).toBe(q('report-ban'))
    await click(q('report-ban'))
    q('report-ban-confirm').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }))
    await settle()
    expect(q('report-ban-confirm')).toBeNull()
    expect(server.changes()).toEqual([])
  })

  it('is not resolved when the ban fails; the error is shown and the report stays open', async () => {
    const server = fakeAdminServer()
    server.failNext('POST', /\/api\/bans$/, 404, { error: 'unknown account 23' })
    await signedIn(server)
    await click(q('report-ban'))
    await click(q('report-ban-confirm'))
    expect(server.changes().map((c) => c.url)).toEqual(['/api/bans'])
    expect(text(q('moderation-error'))).toBe('unknown account 23')
    expect(card(7)).not.toBeNull()
    expect(q('report-ban')).not.toBeNull()
  })

  it('the filter shows resolved reports, with how they ended and no actions', async () => {
    const resolved = sampleReport({ id: 9, resolvedAt: '2026-12-08T01:00:00Z', resolution: 'banned', note: 'clear case' })
    const { server } = await signedIn(fakeAdminServer({ reports: [sampleReport(), resolved] }))
    expect(qa('report-card').map((c) => c.getAttribute('data-report-id'))).toEqual(['7'])
    await choose(q('reports-filter'), 'resolved')
    await settle()
    expect(server.requests.at(-1).url).toBe('/api/reports?state=resolved')
    expect(qa('report-card').map((c) => c.getAttribute('data-report-id'))).toEqual(['9'])
    expect(text(q('report-resolution', card(9)))).toMatch(/^Banned .* — clear case$/)
    expect(q('report-dismiss', card(9))).toBeNull()
    expect(q('report-ban', card(9))).toBeNull()
    await choose(q('reports-filter'), 'all')
    await settle()
    expect(qa('report-card')).toHaveLength(2)
  })
})

describe('bans', () => {
  const active = {
    id: 3,
    accountId: 41,
    nickName: 'spammer',
    address: '10.9.9.9',
    until: '2026-12-09T00:00:00Z',
    reason: 'links',
    createdAt: '2026-12-07T00:00:00Z',
  }

  it('lists the active bans; Lift lifts one and it goes', async () => {
    const { server } = await signedIn(fakeAdminServer({ bans: [active] }))
    const row = q('ban-row')
    expect(row.getAttribute('data-ban-id')).toBe('3')
    expect(text(row)).toMatch(/spammer #41 and 10\.9\.9\.9/)
    expect(text(row)).toMatch(/links/)
    await click(q('ban-lift', row))
    expect(server.changes()).toEqual([{ method: 'POST', url: '/api/bans/3/lift', body: undefined }])
    expect(q('ban-row')).toBeNull()
    expect(q('bans-empty')).not.toBeNull()
  })

  it('the form says what is wrong inline, focuses the field and sends nothing while it is wrong', async () => {
    const { server } = await signedIn()
    await click(q('ban-submit'))
    expect(text(q('ban-form-error'))).toBe('Enter an account id, an address, or both.')
    expect(document.activeElement).toBe(q('ban-account-input'))

    await type(q('ban-account-input'), 'twelve')
    expect(q('ban-form-error')).toBeNull() // typing clears it
    await click(q('ban-submit'))
    expect(text(q('ban-form-error'))).toMatch(/whole number/)
    expect(q('ban-account-input').getAttribute('aria-invalid')).toBe('true')

    await type(q('ban-account-input'), '')
    await type(q('ban-address-input'), 'bad.host')
    await click(q('ban-submit'))
    expect(text(q('ban-form-error'))).toMatch(/not an IP address/)
    expect(document.activeElement).toBe(q('ban-address-input'))

    await type(q('ban-address-input'), '10.1.2.3')
    await click(q('ban-submit'))
    expect(text(q('ban-form-error'))).toMatch(/Give a reason/)
    expect(document.activeElement).toBe(q('ban-reason-input'))
    expect(server.changes()).toEqual([])
  })

  it('a valid form bans, shows the ban in the list and empties the form', async () => {
    const { server } = await signedIn()
    await type(q('ban-account-input'), '41')
    await type(q('ban-address-input'), '10.1.2.3')
    await choose(q('ban-duration'), 3600)
    await type(q('ban-reason-input'), 'flooding')
    await click(q('ban-submit'))
    expect(server.changes()).toEqual([
      { method: 'POST', url: '/api/bans', body: { accountId: 41, address: '10.1.2.3', duration: 3600, reason: 'flooding' } },
    ])
    expect(q('ban-form-error')).toBeNull()
    expect(qa('ban-row')).toHaveLength(1)
    expect(q('ban-account-input').value).toBe('')
    expect(q('ban-reason-input').value).toBe('')
  })

  it('keeps the form as typed when the server refuses, with its message', async () => {
    const server = fakeAdminServer()
    server.failNext('POST', /\/api\/bans$/, 404, { error: 'unknown account 999' })
    await signedIn(server)
    await type(q('ban-account-input'), '999')
    await type(q('ban-reason-input'), 'test')
    await click(q('ban-submit'))
    expect(text(q('moderation-error'))).toBe('unknown account 999')
    expect(q('ban-account-input').value).toBe('999')
    expect(q('ban-row')).toBeNull()
  })
})
