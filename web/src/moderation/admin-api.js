// The admin API of chat-logic (its admin listener, which also serves this page): one
// function per endpoint, same-origin, the moderator's token as a Bearer token. Every
// failure becomes an AdminApiError with the HTTP status (0: the server was not reached)
// and the server's own {"error": "..."} message when it sent one.

export class AdminApiError extends Error {
  constructor(message, status) {
    super(message)
    this.name = 'AdminApiError'
    this.status = status
  }
}

export const REPORT_STATES = Object.freeze(['open', 'resolved', 'all'])

/** The message of an error answer: the server's own, or one made from the status. */
async function errorMessage(response) {
  try {
    const body = await response.json()
    if (body && typeof body.error === 'string' && body.error) return body.error
  } catch {
    // not JSON (a proxy's HTML page, say): fall through
  }
  return `The server answered ${response.status}${response.statusText ? ` ${response.statusText}` : ''}.`
}

/**
 * @param {{ token: string, fetch?: typeof fetch }} options  `fetch` is for tests; in the
 *   browser pass it bound (`window.fetch.bind(window)`), or Chromium throws "Illegal invocation".
 */
export function createAdminApi({ token, fetch = globalThis.fetch }) {
  async function request(method, path, body) {
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json' }
    if (body !== undefined) headers['Content-Type'] = 'application/json'
    let response
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
      })
    } catch (err) {
      throw new AdminApiError(`Could not reach the server (${err.message}).`, 0)
    }
    if (!response.ok) throw new AdminApiError(await errorMessage(response), response.status)
    try {
      return await response.json()
    } catch {
      throw new AdminApiError(`The server's answer to ${method} ${path} was not JSON.`, response.status)
    }
  }

  return Object.freeze({
    /** {online, waiting, openConversations, brokers: [...]} */
    stats: () => request('GET', '/api/stats'),

    /** The reports in `state` (open, resolved or all), newest first. */
    async reports(state = 'open') {
      if (!REPORT_STATES.includes(state)) throw new AdminApiError(`Unknown report state "${state}".`, 400)
      return (await request('GET', `/api/reports?state=${state}`)).reports
    },

    /** Marks a report resolved ("dismissed" or "banned"); returns the report as it is now. */
    async resolveReport(id, resolution, note) {
      const body = note ? { resolution, note } : { resolution }
      return (await request('POST', `/api/reports/${encodeURIComponent(id)}/resolve`, body)).report
    },

    /** The active bans, newest first. */
    async bans() {
      return (await request('GET', '/api/bans')).bans
    },

    /** Bans an account, an address or both: {accountId?, address?, duration (s), reason}. */
    async createBan({ accountId, address, duration, reason }) {
      const body = { duration, reason }
      if (accountId !== undefined && accountId !== null) body.accountId = accountId
      if (address) body.address = address
      return (await request('POST', '/api/bans', body)).ban
    },

    /** Ends an active ban now. */
    async liftBan(id) {
      return (await request('POST', `/api/bans/${encodeURIComponent(id)}/lift`)).ban
    },
  })
}
