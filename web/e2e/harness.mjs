// A small test runner and a "person" (one browser context on the chat page) for the
// end-to-end tests. playwright-core has no expect(): checks poll with eventually().
import { mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export const DESKTOP = { width: 1280, height: 800 }
export const PHONE = { width: 390, height: 844 }

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

export class AssertionError extends Error {}

export function assert(condition, message) {
  if (!condition) throw new AssertionError(message)
}

export function assertEqual(actual, expected, message) {
  // JSON.stringify turns every Set and Map into "{}": such a comparison could never fail.
  for (const v of [actual, expected])
    if (v instanceof Set || v instanceof Map) throw new Error(`assertEqual cannot compare a ${v.constructor.name}: ${message}`)
  const a = JSON.stringify(actual)
  const e = JSON.stringify(expected)
  if (a !== e) throw new AssertionError(`${message}: expected ${e}, got ${a}`)
}

/** Polls `check` until it returns something other than false/undefined or throws no more. */
export async function eventually(check, message, timeoutMs = 8000) {
  const started = Date.now()
  const deadline = started + timeoutMs
  let last = null
  for (;;) {
    try {
      const result = await check()
      if (result !== false && result !== undefined) {
        if (process.env.E2E_TRACE && Date.now() - started > 500) {
          console.log(`      (waited ${Date.now() - started} ms for: ${message})`)
        }
        return result
      }
      last = null
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new AssertionError(`${message} (not within ${timeoutMs} ms)${last ? `: ${last.message}` : ''}`)
    }
    await sleep(50)
  }
}

export function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', args: CHROMIUM_ARGS })
}

const exact = (text) => new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`)

/**
 * One person: a fresh browser context (own storage) with the chat page open (or `url`,
 * such as the moderator page on logic's admin listener). With
 * `address`, every request (the WebSocket upgrade too) says X-Forwarded-For: address,
 * which a broker that trusts 127.0.0.1 as a proxy takes for the person's own address.
 */
export class Person {
  constructor({ browser, baseUrl, name, viewport = DESKTOP, shots, address = '' }) {
    Object.assign(this, { browser, baseUrl, name, viewport, shots, address })
    this.sockets = [] // every WebSocket the page opened
    this.received = [] // every JSON frame the page received, in order, over all its sockets
    this.sent = [] // every JSON frame the page sent, in order
    this.consoleErrors = []
    this.allowedErrors = []
  }

  static async open(options) {
    const person = new Person(options)
    person.context = await options.browser.newContext({
      viewport: person.viewport,
      deviceScaleFactor: person.viewport.width < 600 ? 2 : 1,
      isMobile: false,
      hasTouch: person.viewport.width < 600,
      extraHTTPHeaders: person.address ? { 'X-Forwarded-For': person.address } : undefined,
    })
    const page = await person.context.newPage()
    person.page = page
    page.on('websocket', (ws) => {
      person.sockets.push(ws)
      const record = (list) => ({ payload }) => {
        try {
          list.push(JSON.parse(String(payload)))
        } catch {
          // not JSON: nothing the tests look at
        }
      }
      ws.on('framereceived', record(person.received))
      ws.on('framesent', record(person.sent))
    })
    page.on('console', (msg) => {
      if (msg.type() === 'error') person.consoleErrors.push(msg.text())
    })
    page.on('pageerror', (err) => person.consoleErrors.push(`uncaught: ${err.message}`))
    await page.goto(options.url ?? `${options.baseUrl}/`)
    return person
  }

  /** Console errors that no test declared expected. */
  unexpectedErrors() {
    return this.consoleErrors.filter((e) => !this.allowedErrors.some((re) => re.test(e)))
  }

  testId(id) {
    return this.page.getByTestId(id)
  }

  async login() {
    await this.testId('nickname-input').fill(this.name)
    await this.testId('login-button').click()
    await this.waitStatus('Connected')
    assertEqual((await this.testId('my-name').textContent()).trim(), this.name, `${this.name}'s own name`)
  }

  async status() {
    return (await this.testId('status').textContent()).trim()
  }

  async waitStatus(text, timeoutMs = 8000) {
    await eventually(async () => (await this.status()) === text, `${this.name}'s status to read "${text}"`, timeoutMs)
  }

  /** The conversation window with `partner`. */
  win(partner) {
    return this.page
      .getByTestId('session-window')
      .filter({ has: this.page.getByTestId('partner-name').filter({ hasText: exact(partner) }) })
  }

  async sessionId(partner) {
    await eventually(async () => (await this.win(partner).count()) === 1, `${this.name} to have a window with ${partner}`)
    return Number(await this.win(partner).getAttribute('data-session-id'))
  }

  async match() {
    await this.testId('match-button').click()
  }

  /** Types a message into the window with `partner` and sends it by Enter or the button. */
  async send(partner, text, via = 'enter') {
    const win = this.win(partner)
    const input = win.getByTestId('message-input')
    await input.fill(text)
    if (via === 'enter') await input.press('Enter')
    else await win.getByTestId('send-button').click()
  }

  /** The messages of the window with `partner`, in screen order. */
  async messages(partner) {
    return this.win(partner)
      .getByTestId('message')
      .evaluateAll((nodes) =>
        nodes.map((n) => ({
          id: n.hasAttribute('data-msg-id') ? Number(n.getAttribute('data-msg-id')) : null,
          mine: n.getAttribute('data-mine') === 'true',
          state: n.getAttribute('data-state'),
          read: n.hasAttribute('data-read') ? n.getAttribute('data-read') === 'true' : null,
          text: n.querySelector('.msg-text').textContent,
        })),
      )
  }

  async waitMessage(partner, text, { mine } = {}) {
    return eventually(async () => {
      const found = (await this.messages(partner)).find((m) => m.text === text && (mine === undefined || m.mine === mine))
      return found && found.id !== null ? found : false
    }, `${this.name} to see "${text}" from/to ${partner}`)
  }

  async notice() {
    const n = this.testId('notice')
    return (await n.count()) ? (await n.textContent()).trim() : ''
  }

  async waitNotice(re) {
    return eventually(async () => re.test(await this.notice()), `${this.name} to get a notice matching ${re}`)
  }

  /**
   * Starts recording, inside the page, everything the person could have seen between
   * two checks: each status text, any "chat ended" block and its texts, any msgId
   * shown twice in a window (even for one frame), and the data-state sequence of each
   * own message (by text). Read it back with watched().
   */
  async watch() {
    await this.page.evaluate(() => {
      const log = { statuses: [], everEnded: false, endedTexts: [], duplicates: [], states: {} }
      window.__watch = log
      const check = () => {
        const status = document.querySelector('[data-testid="status"]')
        const text = status ? status.textContent.trim() : ''
        if (log.statuses[log.statuses.length - 1] !== text) log.statuses.push(text)
        for (const ended of document.querySelectorAll('[data-testid="session-ended"]')) {
          log.everEnded = true
          const t = ended.textContent.trim()
          if (!log.endedTexts.includes(t)) log.endedTexts.push(t)
        }
        for (const win of document.querySelectorAll('[data-testid="session-window"]')) {
          const seen = new Set()
          for (const m of win.querySelectorAll('[data-testid="message"]')) {
            const id = m.getAttribute('data-msg-id')
            if (id !== null) {
              const key = `${win.getAttribute('data-session-id')}:${id}`
              if (seen.has(id) && !log.duplicates.includes(key)) log.duplicates.push(key)
              seen.add(id)
            }
            if (m.getAttribute('data-mine') === 'true') {
              const seq = (log.states[m.querySelector('.msg-text').textContent] ||= [])
              const state = m.getAttribute('data-state')
              if (seq[seq.length - 1] !== state) seq.push(state)
            }
          }
        }
      }
      // Callbacks run after each render (Vue patches the DOM in a microtask), so every
      // state the screen was in is seen.
      new MutationObserver(check).observe(document.body, {
        subtree: true,
        childList: true,
        characterData: true,
        attributes: true,
      })
      check()
    })
  }

  async watched() {
    return this.page.evaluate(() => JSON.parse(JSON.stringify(window.__watch)))
  }

  /** msgIds of the PUSH_DIALOGUE frames received for a session, in arrival order. */
  pushedMsgIds(sessionId) {
    return this.received.filter((f) => f.cmd === 'PUSH_DIALOGUE' && f.sessionId === sessionId).map((f) => f.msgId)
  }

  /** WebSockets of this page that are still open. */
  openSockets() {
    return this.sockets.filter((ws) => !ws.isClosed())
  }

  async shot(name) {
    mkdirSync(this.shots.dir, { recursive: true })
    const file = path.join(this.shots.dir, `${String(++this.shots.n).padStart(2, '0')}-${name}.png`)
    await this.page.screenshot({ path: file })
    return file
  }

  async close() {
    await this.context.close().catch(() => {})
  }
}

/** Runs tests one after another; prints one line per test and a summary. */
export class Runner {
  constructor() {
    this.tests = []
  }

  test(name, fn, { timeoutMs = 60000 } = {}) {
    this.tests.push({ name, fn, timeoutMs })
  }

  async run(makeContext) {
    let passed = 0
    let failed = 0
    const only = process.env.E2E_ONLY ? new RegExp(process.env.E2E_ONLY, 'i') : null
    for (const t of this.tests) {
      if (only && !only.test(t.name)) continue
      const started = Date.now()
      const ctx = makeContext()
      let error = null
      let timer = null
      try {
        await Promise.race([
          t.fn(ctx),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${t.timeoutMs} ms`)), t.timeoutMs)
          }),
        ])
        for (const p of ctx.people) {
          const errors = p.unexpectedErrors()
          if (errors.length) throw new AssertionError(`console errors on ${p.name}'s page:\n  ${errors.join('\n  ')}`)
        }
      } catch (err) {
        error = err
      } finally {
        clearTimeout(timer)
      }
      if (error) {
        for (const p of ctx.people) await p.shot(`FAILED-${p.name}`).catch(() => {})
      }
      await ctx.cleanup()
      const took = ((Date.now() - started) / 1000).toFixed(1)
      if (error) {
        failed += 1
        console.log(`  ✗ ${t.name} (${took} s)\n      ${String(error.stack || error).split('\n').join('\n      ')}`)
      } else {
        passed += 1
        console.log(`  ✓ ${t.name} (${took} s)`)
      }
    }
    return { passed, failed }
  }
}
