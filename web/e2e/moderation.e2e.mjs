// The moderator page (/moderation on logic's admin listener, next to its admin API) in
// real Chromium against the real system: two people chat over plain WebSockets, one
// reports the other, and a moderator signs in, reads the report, bans from it, sees the
// ban hold (MATCH answers 14) and lifts it again.
import { assert, assertEqual, DESKTOP, eventually, PHONE } from './harness.mjs'
import { WsPerson } from './ws-person.mjs'

/** The text of the first element `loc` finds, '' (at once) when there is none. */
async function textOf(loc) {
  return (await loc.count()) ? ((await loc.first().textContent()) || '').replace(/\s+/g, ' ').trim() : ''
}

function requireAdmin(system) {
  assert(system.adminUrl, 'state.json names no admin_url for logic-1: chat-stack started no admin listener')
  assert(system.adminToken, 'state.json names no admin_token_file (or it is empty)')
}

/** Opens the moderator page in a browser context of its own; 401 answers are expected there. */
async function moderatorPage(person, system, name = 'Moderator', viewport = DESKTOP) {
  const mod = await person(name, viewport, { url: `${system.adminUrl}/moderation` })
  // Chromium logs every 401 answer ("Failed to load resource") as a console error.
  mod.allowedErrors.push(/status of 401/)
  return mod
}

async function signIn(mod, token) {
  await mod.testId('moderation-token-input').fill(token)
  await mod.testId('moderation-token-submit').click()
}

/** The report card whose reported person is `nickName`. */
function reportCardOf(mod, nickName) {
  return mod.page.getByTestId('report-card').filter({
    has: mod.page.getByTestId('report-reported').filter({ hasText: nickName }),
  })
}

/** @param {import('./harness.mjs').Runner} runner */
export function registerModerationTests(runner) {
  runner.test('moderation: a report is read, its author banned from the page (MATCH answers 14) and the ban lifted', async ({
    system,
    person,
  }) => {
    requireAdmin(system)
    const rita = await WsPerson.open(system.wsUrl, 'Rita')
    const troll = await WsPerson.open(system.wsUrl, 'Trolly McTroll')
    try {
      // They chat, and Rita reports him.
      const matched = await rita.match()
      assertEqual(matched.code, 0, 'Rita is matched')
      const sid = matched.sessionId
      assertEqual(await troll.matchedBy(rita), sid, 'both in one session')
      const lines = [
        [rita, 'hello there'],
        [troll, 'you are an idiot'],
        [rita, 'please stop that'],
        [troll, 'make me <b>loser</b>'],
      ]
      for (const [who, text] of lines) await who.say(sid, text)
      const reported = await rita.request({ cmd: 'REPORT', sessionId: sid, reason: 'harassment', text: 'insults right after hello' })
      assertEqual(reported.code, 0, 'REPORT answered 0')
      // One report is below the automatic threshold: he can still match (and waits: Rita blocked him).
      const before = await troll.match()
      assertEqual(before.code, 13, 'before any ban, MATCH makes him wait')
      await troll.request({ cmd: 'CANCEL_MATCH', accountId: troll.accountId })

      // A wrong token is refused, and the form stays.
      const mod = await moderatorPage(person, system)
      await signIn(mod, 'not-the-admin-token')
      await eventually(
        async () => /refused this token/.test(await textOf(mod.testId('moderation-error'))),
        'an error for the wrong token',
      )
      assert(await mod.testId('moderation-token-input').isVisible(), 'still at the token form')
      assertEqual(await mod.testId('stats-online').count(), 0, 'no numbers without the token')

      // The right one (by keyboard: Enter in the box) shows the page.
      await mod.testId('moderation-token-input').fill(system.adminToken)
      await mod.testId('moderation-token-input').press('Enter')
      await eventually(
        async () => Number(await textOf(mod.testId('stats-online'))) >= 2,
        'the numbers to count Rita and the troll online',
      )
      assertEqual(await mod.testId('moderation-error').count(), 0, 'the error went with the right token')
      const brokerIds = await mod.testId('stats-broker-row').evaluateAll((rows) => rows.map((r) => r.dataset.brokerId))
      assertEqual(brokerIds, system.brokers.map((name) => name.replace(/^broker-/, '')), 'one row per broker')

      // The report: who, why, and the conversation as it was, each line by its sender.
      const card = reportCardOf(mod, 'Trolly McTroll')
      await eventually(async () => (await card.count()) === 1, 'the report card of the troll')
      const reportId = await card.getAttribute('data-report-id')
      assert(/harassment/i.test(await textOf(card.getByTestId('report-reason'))), 'the reason')
      assertEqual(await textOf(card.getByTestId('report-text')), 'insults right after hello', 'the note')
      assert((await textOf(card.getByTestId('report-reporter'))).includes('Rita'), 'the reporter')
      assert((await textOf(card.getByTestId('report-reported'))).includes(`#${troll.accountId}`), "the troll's account id")
      const messages = await card.getByTestId('report-message').evaluateAll((nodes) =>
        nodes.map((n) => [n.dataset.side, n.querySelector('[data-testid="report-message-text"]').textContent]),
      )
      assertEqual(
        messages,
        lines.map(([who, text]) => [who === rita ? 'reporter' : 'reported', text]),
        'the messages, oldest first, as text',
      )
      await mod.shot('moderation-report')

      // Ban for an hour, the account only; the page asks once more first.
      await card.getByTestId('report-ban-duration').selectOption({ label: '1 hour' })
      assert(!(await card.getByTestId('report-ban-address').isChecked()), 'the address box starts unticked')
      await card.getByTestId('report-ban').click()
      const confirm = card.getByTestId('report-ban-confirm')
      await eventually(async () => confirm.isVisible(), 'the confirm step')
      await mod.shot('moderation-confirm')
      await confirm.click()

      const banRow = mod.page.getByTestId('ban-row').filter({ hasText: 'Trolly McTroll' })
      await eventually(async () => (await banRow.count()) === 1, 'the ban in the list')
      assertEqual(await banRow.getByTestId('ban-address').count(), 0, 'the address is not banned')
      assert((await textOf(banRow)).includes(`report ${reportId}: harassment`), 'the ban names the report')
      await eventually(async () => (await card.count()) === 0, 'the report gone from the open ones')
      await mod.testId('reports-filter').selectOption('resolved')
      const resolved = mod.page.locator(`[data-testid="report-card"][data-report-id="${reportId}"]`)
      await eventually(
        async () => /^Banned/.test(await textOf(resolved.getByTestId('report-resolution'))),
        'the report among the resolved, as banned',
      )

      // The ban holds: MATCH answers 14 with its end, about an hour ahead.
      const banned = await troll.match()
      assertEqual(banned.code, 14, 'a banned MATCH answers 14')
      const ahead = Date.parse(banned.until) - Date.now()
      assert(ahead > 55 * 60e3 && ahead < 65 * 60e3, `until is an hour ahead (${banned.until})`)
      await mod.shot('moderation-banned')

      // Lifted in the page, it no longer does.
      await banRow.getByTestId('ban-lift').click()
      await eventually(async () => (await banRow.count()) === 0, 'the ban gone from the list')
      const after = await troll.match()
      assert(after.code !== 14, `after the lift MATCH does not answer 14 (got ${JSON.stringify(after)})`)
      if (after.code === 13) await troll.request({ cmd: 'CANCEL_MATCH', accountId: troll.accountId })
    } finally {
      await troll.leave()
      await rita.leave()
    }
  })

  runner.test('moderation: the page and the API are on the admin listener only, never on the broker', async ({ system }) => {
    requireAdmin(system)
    for (const path of ['/moderation.html', '/api/stats']) {
      const response = await fetch(`${system.baseUrl}${path}`, { headers: { Authorization: `Bearer ${system.adminToken}` } })
      assertEqual(response.status, 404, `the broker's answer to ${path}`)
    }
    const page = await fetch(`${system.adminUrl}/moderation`)
    assertEqual(page.status, 200, 'the admin listener serves /moderation')
    assert(/\/assets\/moderation-[\w-]+\.js/.test(await page.text()), 'the built moderation.html')
    const anonymous = await fetch(`${system.adminUrl}/api/stats`)
    assertEqual(anonymous.status, 401, 'the API without the token')
    assert(/application\/json/.test(anonymous.headers.get('content-type') || ''), 'a JSON error')
    assertEqual(typeof (await anonymous.json()).error, 'string', 'with a message')
  })

  runner.test('moderation: on a phone the page fits the screen and works from the keyboard', async ({ system, person }) => {
    requireAdmin(system)
    const mod = await moderatorPage(person, system, 'Phone moderator', PHONE)
    // The token box has the focus from the start: type, Enter.
    await eventually(
      async () => mod.page.evaluate(() => document.activeElement?.dataset.testid === 'moderation-token-input'),
      'the focus in the token box',
    )
    await mod.page.keyboard.type(system.adminToken)
    await mod.page.keyboard.press('Enter')
    await eventually(async () => mod.testId('stats-online').isVisible(), 'the numbers')
    await mod.testId('reports-filter').selectOption('all')
    await eventually(async () => (await mod.testId('reports-empty').count()) + (await mod.testId('report-card').count()) > 0, 'the reports')
    const overflow = await mod.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)
    assert(overflow <= 0, `no sideways scrolling on a phone (${overflow} px too wide)`)
    await mod.shot('moderation-phone')
    await mod.testId('moderation-signout').click()
    await eventually(async () => mod.testId('moderation-token-input').isVisible(), 'back at the token form')
  })
}
