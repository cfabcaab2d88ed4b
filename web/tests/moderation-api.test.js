// The admin API wrapper: what it sends (paths, methods, the Bearer token, bodies) and
// how failures come back (AdminApiError with the status and the server's message).
import { describe, expect, it } from 'vitest'
import { AdminApiError, createAdminApi } from '../src/moderation/admin-api.js'
import { ADMIN_TOKEN, fakeAdminServer, sampleReport } from './fake-admin-server.js'

function apiOn(server, token = ADMIN_TOKEN) {
  return createAdminApi({ token, fetch: server.fetch })
}

/** The error a promise rejects with (fails the test if it resolves). */
async function rejection(promise) {
  try {
    await promise
  } catch (err) {
    return err
  }
  throw new Error('expected the call to fail')
}

describe('the admin API wrapper', () => {
  it('sends the token as a Bearer token, same-origin, and returns the answer', async () => {
    const server = fakeAdminServer()
    const stats = await apiOn(server).stats()
    expect(stats.online).toBe(12)
    expect(server.requests).toHaveLength(1)
    const [request] = server.requests
    expect(request.url).toBe('/api/stats')
    expect(request.method).toBe('GET')
    expect(request.headers.Authorization).toBe(`Bearer ${ADMIN_TOKEN}`)
  })

  it('asks for reports by state and returns the list', async () => {
    const server = fakeAdminServer({ reports: [sampleReport(), sampleReport({ id: 8, resolvedAt: 'x', resolution: 'dismissed' })] })
    const api = apiOn(server)
    expect((await api.reports()).map((r) => r.id)).toEqual([7])
    expect((await api.reports('resolved')).map((r) => r.id)).toEqual([8])
    expect((await api.reports('all')).map((r) => r.id)).toEqual([7, 8])
    expect(server.requests.map((r) => r.url)).toEqual([
      '/api/reports?state=open',
      '/api/reports?state=resolved',
      '/api/reports?state=all',
    ])
    const err = await rejection(api.reports('pending'))
    expect(err).toBeInstanceOf(AdminApiError)
    expect(server.requests).toHaveLength(3) // an unknown state is not sent
  })

  it('posts JSON bodies: resolve, ban (only the fields given), lift without a body', async () => {
    const server = fakeAdminServer()
    const api = apiOn(server)
    const report = await api.resolveReport(7, 'dismissed')
    expect(report.resolution).toBe('dismissed')
    const ban = await api.createBan({ accountId: 23, address: undefined, duration: 3600, reason: 'spam' })
    await api.createBan({ address: '10.0.0.9', duration: 60, reason: 'flood' })
    await api.liftBan(ban.id)
    expect(server.changes()).toEqual([
      { method: 'POST', url: '/api/reports/7/resolve', body: { resolution: 'dismissed' } },
      { method: 'POST', url: '/api/bans', body: { accountId: 23, duration: 3600, reason: 'spam' } },
      { method: 'POST', url: '/api/bans', body: { address: '10.0.0.9', duration: 60, reason: 'flood' } },
      { method: 'POST', url: `/api/bans/${ban.id}/lift`, body: undefined },
    ])
    const post = server.requests.find((r) => r.url === '/api/bans')
    expect(post.headers['Content-Type']).toBe('application/json')
    expect(server.requests.at(-1).headers['Content-Type']).toBeUndefined()
  })

  it('turns an error answer into an AdminApiError with the status and the server message', async () => {
    const server = fakeAdminServer()
    const wrong = await rejection(apiOn(server, 'not-the-token').stats())
    expect(wrong).toBeInstanceOf(AdminApiError)
    expect(wrong.status).toBe(401)
    expect(wrong.message).toBe('wrong admin token')

    const api = apiOn(server)
    await api.resolveReport(7, 'dismissed')
    const again = await rejection(api.resolveReport(7, 'banned'))
    expect([again.status, again.message]).toEqual([409, 'already resolved'])

    server.failNext('GET', /\/api\/bans/, 503, { error: 'PostgreSQL is unreachable' })
    const down = await rejection(api.bans())
    expect([down.status, down.message]).toEqual([503, 'PostgreSQL is unreachable'])
  })

  it('says something useful when the error body is not the API\'s, the answer is not JSON, or nothing answers', async () => {
    const notJson = async () => {
      throw new SyntaxError('Unexpected token <')
    }
    const htmlError = async () => ({ ok: false, status: 502, statusText: 'Bad Gateway', json: notJson })
    const bad = await rejection(createAdminApi({ token: 't', fetch: htmlError }).stats())
    expect([bad.status, bad.message]).toEqual([502, 'The server answered 502 Bad Gateway.'])

    const htmlOk = async () => ({ ok: true, status: 200, statusText: 'OK', json: notJson })
    const odd = await rejection(createAdminApi({ token: 't', fetch: htmlOk }).bans())
    expect(odd.message).toMatch(/GET \/api\/bans was not JSON/)

    const offline = async () => {
      throw new TypeError('Failed to fetch')
    }
    const gone = await rejection(createAdminApi({ token: 't', fetch: offline }).stats())
    expect(gone).toBeInstanceOf(AdminApiError)
    expect([gone.status, gone.message]).toEqual([0, 'Could not reach the server (Failed to fetch).'])
  })
})
