// An in-memory admin API (the contract of chat-logic's admin listener) behind a fake
// fetch: it checks the Bearer token, keeps reports and bans, records every request, and
// can be told to fail the next matching request.

export const ADMIN_TOKEN = 'moderator-secret'

export function sampleReport(overrides = {}) {
  return {
    id: 7,
    createdAt: '2026-12-07T23:40:01.123Z',
    reason: 'harassment',
    text: 'kept insulting me',
    sessionId: 5,
    reporter: { accountId: 17, nickName: 'alice', address: '10.0.0.1' },
    reported: { accountId: 23, nickName: 'troll', address: '10.0.0.2', reportCount: 2, bannedUntil: null },
    messages: [
      { msgId: 1, senderId: 17, content: 'hi', at: '2026-12-07T23:39:00.000Z' },
      { msgId: 2, senderId: 23, content: 'go away, idiot', at: '2026-12-07T23:39:10.000Z' },
    ],
    resolvedAt: null,
    resolution: null,
    note: '',
    ...overrides,
  }
}

export function sampleStats() {
  return {
    online: 12,
    waiting: 3,
    openConversations: 4,
    brokers: [
      { brokerId: 'b1', online: 7, waiting: 2, openConversations: 3 },
      { brokerId: 'b2', online: 5, waiting: 1, openConversations: 2 },
    ],
  }
}

const NOW = '2026-12-08T10:00:00.000Z'

/** A fetch Response, as much of it as the wrapper uses; each answer a fresh copy, as over HTTP. */
function answer(status, body) {
  const json = JSON.stringify(body)
  return {
    ok: status >= 200 && status < 300,
    status,
    statusText: '',
    json: async () => JSON.parse(json),
  }
}

export function fakeAdminServer({ reports = [sampleReport()], bans = [], stats = sampleStats() } = {}) {
  const server = {
    token: ADMIN_TOKEN,
    stats,
    reports: reports.map((r) => structuredClone(r)),
    bans: bans.map((b) => structuredClone(b)),
    requests: [], // {method, url, headers, body}
    failures: [], // {method, pattern, status, body}
    nextBanId: 100,

    /** The next request matching method and pattern answers `status` with `body` instead. */
    failNext(method, pattern, status, body = { error: `failed with ${status}` }) {
      server.failures.push({ method, pattern, status, body })
    },

    /** Requests other than the polled GETs, as "METHOD url" plus the body. */
    changes() {
      return server.requests.filter((r) => r.method !== 'GET').map(({ method, url, body }) => ({ method, url, body }))
    },

    fetch: async (url, init = {}) => {
      const method = init.method ?? 'GET'
      const body = init.body === undefined ? undefined : JSON.parse(init.body)
      server.requests.push({ method, url, headers: { ...init.headers }, body })
      const failure = server.failures.findIndex((f) => f.method === method && f.pattern.test(url))
      if (failure >= 0) {
        const [f] = server.failures.splice(failure, 1)
        return answer(f.status, f.body)
      }
      if (init.headers?.Authorization !== `Bearer ${server.token}`) return answer(401, { error: 'wrong admin token' })
      return route(method, url, body)
    },
  }

  function route(method, url, body) {
    const { pathname, searchParams } = new URL(url, 'http://admin.test')
    let m
    if (method === 'GET' && pathname === '/api/stats') return answer(200, server.stats)
    if (method === 'GET' && pathname === '/api/reports') {
      const state = searchParams.get('state') ?? 'open'
      const wanted = server.reports.filter((r) => state === 'all' || (state === 'open') === (r.resolvedAt === null))
      return answer(200, { reports: wanted })
    }
    if (method === 'POST' && (m = pathname.match(/^\/api\/reports\/(\d+)\/resolve$/))) {
      const report = server.reports.find((r) => r.id === Number(m[1]))
      if (!report) return answer(404, { error: 'no such report' })
      if (report.resolvedAt) return answer(409, { error: 'already resolved' })
      Object.assign(report, { resolvedAt: NOW, resolution: body.resolution, note: body.note ?? '' })
      return answer(200, { report })
    }
    if (method === 'GET' && pathname === '/api/bans') return answer(200, { bans: server.bans })
    if (method === 'POST' && pathname === '/api/bans') {
      const ban = {
        id: server.nextBanId++,
        accountId: body.accountId ?? null,
        nickName: body.accountId ? `user${body.accountId}` : null,
        address: body.address ?? null,
        until: new Date(Date.parse(NOW) + body.duration * 1000).toISOString(),
        reason: body.reason,
        createdAt: NOW,
      }
      server.bans.unshift(ban)
      return answer(201, { ban })
    }
    if (method === 'POST' && (m = pathname.match(/^\/api\/bans\/(\d+)\/lift$/))) {
      const ban = server.bans.find((b) => b.id === Number(m[1]))
      if (!ban) return answer(404, { error: 'no active ban with that id' })
      server.bans = server.bans.filter((b) => b !== ban)
      return answer(200, { ban: { ...ban, until: NOW } })
    }
    return answer(404, { error: `no such path: ${method} ${pathname}` })
  }

  return server
}
