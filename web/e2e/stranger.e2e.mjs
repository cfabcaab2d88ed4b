// Browser tests of the stranger-chat features (docs/protocol.md: MATCH with interests and
// codes 13-15, CANCEL_MATCH, LEAVE, BLOCK, REPORT, TYPING) in real Chromium against the
// real system, through the data-testids of the SPEC. Every person of a test has an
// address of their own (X-Forwarded-For, believed because the suite's broker trusts
// 127.0.0.1 as a proxy): reports count per person and bans hit one address, as they
// would in production, and the ban of the last test reaches nobody else.
import { assert, assertEqual, eventually, sleep } from './harness.mjs'

export const STRANGER_OVERRIDES = ['http.trusted_proxies=[127.0.0.1]']

const PHONE_SMALL = { width: 375, height: 740 }
let nextAddress = 1

/** A fresh address for each person: 10.77.x.y. */
function freshAddress() {
  const n = nextAddress++
  return `10.77.${Math.floor(n / 250)}.${(n % 250) + 1}`
}

/** Adds interest tags the way a person does: typing, then Enter. */
async function addInterests(p, text) {
  const input = p.testId('interests-input')
  await input.fill(text)
  await input.press('Enter')
}

async function chips(p) {
  return p.testId('interest-chip').evaluateAll((nodes) => nodes.map((n) => n.textContent.trim()))
}

async function visible(p, id, scope = p.page) {
  const loc = scope.getByTestId(id)
  return (await loc.count()) > 0 && (await loc.first().isVisible())
}

async function waitVisible(p, id, what, scope = p.page, timeoutMs = 8000) {
  await eventually(async () => visible(p, id, scope), `${p.name}: ${what}`, timeoutMs)
}

async function waitGone(p, id, what, scope = p.page, timeoutMs = 8000) {
  await eventually(async () => (await scope.getByTestId(id).count()) === 0, `${p.name}: ${what}`, timeoutMs)
}

/** The text of the first element `loc` finds, '' (at once) when there is none. */
async function textOf(loc) {
  return (await loc.count()) ? ((await loc.first().textContent()) || '').replace(/\s+/g, ' ').trim() : ''
}

function sentFrames(p, cmd) {
  return p.sent.filter((f) => f.cmd === cmd)
}

/** Opens a page for each name and logs them in, in order. */
async function loggedIn(open, person, ...names) {
  const people = []
  for (const name of names) people.push(await open(person, name))
  for (const p of people) await p.login()
  return people
}

/** `a` presses Match while `b` is online and free: both get the same window. */
async function pair(a, b) {
  await a.match()
  const sid = await a.sessionId(b.name)
  assertEqual(await b.sessionId(a.name), sid, `${a.name} and ${b.name} share one session`)
  return sid
}

/** The ended block of a window says `re`, and its input is disabled. */
async function waitEnded(p, partner, re) {
  const win = p.win(partner)
  await eventually(
    async () => re.test(await textOf(win.getByTestId('session-ended'))),
    `${p.name}'s window with ${partner} to say ${re}`,
  )
  assertEqual(await win.getAttribute('data-ended'), 'true', `${p.name}'s window with ${partner} is ended`)
  assert(await win.getByTestId('message-input').isDisabled(), `${p.name}'s input to ${partner} is disabled`)
}

/** Opens the report dialog of the window with `partner`, reports with `reason`, checks the thanks. */
async function report(p, partner, reason, text = '') {
  const win = p.win(partner)
  await win.getByTestId('report-button').click()
  await waitVisible(p, 'report-reason', 'the report dialog')
  await p.testId('report-reason').selectOption(reason)
  if (text) await p.testId('report-text').fill(text)
  await p.testId('report-submit').click()
  await eventually(
    async () =>
      /Thanks — we've received your report and you won't be matched with them again/.test(
        await textOf(p.testId('report-confirmation')),
      ),
    `${p.name}: the report's confirmation`,
  )
  await p.testId('report-done').click()
  await waitGone(p, 'report-confirmation', 'the dialog to close')
}

/** @param {import('./harness.mjs').Runner} runner */
export function registerStrangerTests(runner) {
  // A person with an address of their own (see the top of this file).
  const open = (person, name, viewport) => person(name, viewport, { address: freshAddress() })

  runner.test('interests: chips with limits; the waiter is matched with the next person who shares one, both see it', async ({
    person,
  }) => {
    const [ann, bo] = await loggedIn(open, person, 'Ann', 'Bo')

    // Enter and comma make chips; a duplicate in other letter case is dropped quietly.
    await addInterests(ann, '  Music ')
    await ann.testId('interests-input').fill('chess,')
    await addInterests(ann, 'MUSIC')
    assertEqual(await chips(ann), ['Music', 'chess'], 'two chips, no duplicate')
    // Over 24 characters: a hint, and the text stays in the box to be fixed.
    await ann.testId('interests-input').fill('x'.repeat(25))
    await eventually(
      async () => /at most 24 characters/.test(await textOf(ann.testId('interests-hint'))),
      'a hint for a 25-character interest',
    )
    await ann.testId('interests-input').press('Enter')
    assertEqual(await ann.testId('interests-input').inputValue(), 'x'.repeat(25), 'the long one stays in the box')
    assertEqual((await chips(ann)).length, 2, 'and is no chip')
    // Five at most.
    await addInterests(ann, 'go, films, tea, jazz')
    assertEqual(await chips(ann), ['Music', 'chess', 'go', 'films', 'tea'], 'five chips')
    assertEqual(await ann.testId('interests-input').inputValue(), 'jazz', 'the sixth stays in the box')
    assert(/at most 5 interests/.test(await ann.testId('interests-hint').textContent()), 'a hint for the sixth')
    await ann.shot('interests-limit')
    // Chips can be removed (by keyboard too).
    await ann.testId('interests-input').fill('')
    for (const tag of ['tea', 'films', 'go']) {
      await ann.page.getByRole('button', { name: `Remove the interest ${tag}` }).press('Enter')
    }
    assertEqual(await chips(ann), ['Music', 'chess'], 'three chips removed')

    // Bo is online but asked for nothing: no shared interest, so Ann waits for one.
    await ann.match()
    await waitVisible(ann, 'waiting-indicator', 'the waiting indicator')
    assertEqual(sentFrames(ann, 'MATCH').at(-1).interests, ['Music', 'chess'], 'MATCH carries the interests')
    assertEqual(await ann.page.getByTestId('session-window').count(), 0, 'no window yet')
    assert(!/nobody/i.test(await ann.notice()), 'no "nobody available" message')
    await ann.shot('waiting-with-interests')

    await addInterests(bo, 'Chess, go')
    await bo.match()
    const sid = await bo.sessionId('Ann') // the MATCH reply
    assertEqual(await ann.sessionId('Bo'), sid, 'Ann got the same session (NewSession)')
    await waitGone(ann, 'waiting-indicator', 'the waiting indicator to go')
    for (const [p, partner] of [
      [ann, 'Bo'],
      [bo, 'Ann'],
    ]) {
      const common = p.win(partner).getByTestId('common-interests')
      await eventually(async () => (await common.count()) === 1, `${p.name} to see the common interests`)
      assertEqual(await textOf(common), 'You both like chess', `${p.name}'s common interests`)
    }
    const push = ann.received.find((f) => f.cmd === 'PUSH_SIGNAL' && f.signalType === 'NewSession')
    assertEqual(push.data.commonInterests, ['chess'], 'NewSession carries the common interests')
    await ann.page.mouse.move(0, 0)
    await ann.shot('common-interests')

    // Without shared interests there is no common-interests line at all. Bo drops his
    // interests, so he takes anyone at once: Cy (he has a chat with Ann already).
    const cy = await open(person, 'Cy')
    await cy.login()
    for (const tag of ['go', 'Chess']) await bo.page.getByRole('button', { name: `Remove the interest ${tag}` }).click()
    assertEqual(await chips(bo), [], 'Bo has no interests left')
    await bo.match()
    assertEqual(sentFrames(bo, 'MATCH').at(-1).interests, undefined, 'a MATCH without interests')
    const cySid = await cy.sessionId('Bo')
    assertEqual(await bo.sessionId('Cy'), cySid, 'Bo and Cy matched')
    assertEqual(await cy.win('Bo').getByTestId('common-interests').count(), 0, 'no line for no common interest')
  })

  runner.test('cancel-match: waiting ends, and someone coming online is not matched with me', async ({ person }) => {
    const dee = await open(person, 'Dee')
    await dee.login()
    await dee.match()
    await waitVisible(dee, 'waiting-indicator', 'the waiting indicator')
    await dee.testId('cancel-match-button').click()
    await waitGone(dee, 'waiting-indicator', 'the waiting indicator to go')
    assertEqual(sentFrames(dee, 'CANCEL_MATCH').at(-1), { cmd: 'CANCEL_MATCH', accountId: sentFrames(dee, 'MATCH')[0].accountId }, 'CANCEL_MATCH sent')
    const reply = await eventually(async () => dee.received.find((f) => f.cmd === 'CANCEL_MATCH'), 'the CANCEL_MATCH reply')
    assertEqual(reply.code, 0, 'CANCEL_MATCH answered 0')
    assert(await dee.testId('interests-input').isVisible(), 'the interests are back')
    assert(await dee.testId('match-button').isEnabled(), 'Match is ready again')
    assertEqual(await dee.notice(), '', 'no notice')

    // Had Dee still been waiting, Eve coming online would have been matched with her.
    const eve = await open(person, 'Eve')
    await eve.login()
    await sleep(2000)
    assertEqual(await dee.page.getByTestId('session-window').count(), 0, 'Dee has no window')
    assertEqual(await eve.page.getByTestId('session-window').count(), 0, 'Eve has no window')
  })

  runner.test('typing: the partner sees the indicator while I type; it goes on send, on an emptied box and when I stop', async ({
    person,
  }) => {
    const [fay, gus] = await loggedIn(open, person, 'Fay', 'Gus')
    await pair(fay, gus)
    const fayInput = fay.win('Gus').getByTestId('message-input')
    const gusWin = gus.win('Fay')
    assertEqual(await gusWin.getByTestId('typing-indicator').count(), 0, 'no indicator before typing')

    await fayInput.pressSequentially('hello th', { delay: 40 })
    await waitVisible(gus, 'typing-indicator', 'Fay typing', gusWin)
    assert(/Fay is typing/.test(await gusWin.getByTestId('typing-indicator').textContent()), 'the indicator names Fay')
    await gus.page.mouse.move(0, 0)
    await gus.shot('partner-typing')
    await fayInput.pressSequentially('ere', { delay: 40 })
    await fayInput.press('Enter')
    await gus.waitMessage('Fay', 'hello there')
    await waitGone(gus, 'typing-indicator', 'the indicator to go with the message', gusWin)

    // Typing, then emptying the box.
    await fayInput.pressSequentially('wai', { delay: 40 })
    await waitVisible(gus, 'typing-indicator', 'Fay typing again', gusWin)
    await sleep(1100) // a change of state within the second would be held back (at most 3/s)
    await fayInput.fill('')
    await waitGone(gus, 'typing-indicator', 'the indicator to go when the box is emptied', gusWin, 3000)

    // Typing, then stopping: ~4 s later Fay's client says so.
    await sleep(1100)
    await fayInput.pressSequentially('hmm', { delay: 40 })
    await waitVisible(gus, 'typing-indicator', 'Fay typing a third time', gusWin)
    const shown = Date.now()
    await waitGone(gus, 'typing-indicator', 'the indicator to go after Fay stops', gusWin, 9000)
    assert(Date.now() - shown >= 2500, `it stayed while Fay might still type (${Date.now() - shown} ms)`)

    const typing = sentFrames(fay, 'TYPING')
    assert(typing.length >= 6 && typing.length <= 10, `a handful of TYPING frames, not one per key (${typing.length})`)
    const pushes = gus.received.filter((f) => f.cmd === 'PUSH_TYPING')
    assertEqual(pushes.map((f) => f.typing).slice(0, 2), [true, false], 'Gus got true, then false')
    assert(!fay.received.some((f) => f.cmd === 'TYPING' && f.code === 12), 'never over the relay limit (no code 12)')
  })

  runner.test('leave-button ends the chat on both sides; the partner sees the exit', async ({ person }) => {
    const [hal, ivy] = await loggedIn(open, person, 'Hal', 'Ivy')
    const sid = await pair(hal, ivy)
    await hal.send('Ivy', 'bye now')
    await ivy.waitMessage('Hal', 'bye now')

    await hal.win('Ivy').getByTestId('leave-button').click()
    await waitEnded(hal, 'Ivy', /You left this chat/)
    await waitEnded(ivy, 'Hal', /Hal left the chat/)
    assertEqual(sentFrames(hal, 'LEAVE'), [{ cmd: 'LEAVE', sessionId: sid }], 'one LEAVE')
    assertEqual(hal.received.find((f) => f.cmd === 'LEAVE').code, 0, 'LEAVE answered 0')
    assertEqual(await hal.win('Ivy').getByTestId('leave-button').count(), 0, 'no Leave on an ended chat')
    assert(await hal.win('Ivy').getByTestId('next-button').isEnabled(), 'Next is offered')
    await hal.page.mouse.move(0, 0)
    await hal.shot('left-the-chat')
    await ivy.shot('partner-left-by-leave')
  })

  runner.test('next-button leaves, waits with the same interests, and matches the next person', async ({ person }) => {
    const jo = await open(person, 'Jo')
    const kit = await open(person, 'Kit')
    const lu = await open(person, 'Lu') // page open, not logged in yet
    await jo.login()
    await kit.login()
    await addInterests(jo, 'films')
    await jo.match()
    await waitVisible(jo, 'waiting-indicator', 'Jo waiting for someone who likes films')
    await addInterests(kit, 'films')
    await kit.match()
    await jo.sessionId('Kit')
    await kit.sessionId('Jo')

    await jo.win('Kit').getByTestId('next-button').click()
    await waitEnded(kit, 'Jo', /Jo left the chat/)
    // Jo's window goes; Kit is not offered again (they just talked), so Jo waits.
    await eventually(async () => (await jo.win('Kit').count()) === 0, "Jo's window with Kit to close")
    await waitVisible(jo, 'waiting-indicator', 'Jo waiting again')
    const matches = sentFrames(jo, 'MATCH')
    assertEqual(matches.length, 2, 'Next sent a second MATCH')
    assertEqual(matches[1].interests, ['films'], 'with the remembered interests')
    const order = jo.sent.filter((f) => ['LEAVE', 'MATCH'].includes(f.cmd)).map((f) => f.cmd)
    assertEqual(order, ['MATCH', 'LEAVE', 'MATCH'], 'LEAVE, then MATCH')
    await jo.shot('next-waiting')

    await lu.login()
    await addInterests(lu, 'Films')
    await lu.match()
    await jo.sessionId('Lu')
    await lu.sessionId('Jo')
    await waitGone(jo, 'waiting-indicator', 'the waiting indicator to go')
    assertEqual(
      await textOf(jo.win('Lu').getByTestId('common-interests')),
      'You both like films',
      'matched again by the same interest',
    )
  })

  runner.test('block-button asks first (Escape cancels), then ends the chat', async ({ person }) => {
    const [max, nia] = await loggedIn(open, person, 'Max', 'Nia')
    const sid = await pair(max, nia)

    const button = max.win('Nia').getByTestId('block-button')
    await button.click()
    const dialog = max.page.getByRole('dialog')
    await eventually(async () => dialog.isVisible(), 'the confirmation dialog')
    assert(/Block Nia\?/.test(await dialog.textContent()), 'it names Nia')
    await max.shot('block-confirm')
    await max.page.keyboard.press('Escape')
    await eventually(async () => (await dialog.count()) === 0, 'Escape closes it')
    assertEqual(sentFrames(max, 'BLOCK').length, 0, 'nothing sent')
    assertEqual(await max.win('Nia').getAttribute('data-ended'), 'false', 'the chat goes on')

    await button.click()
    await max.testId('block-confirm').click()
    await waitEnded(max, 'Nia', /You blocked Nia/)
    await waitEnded(nia, 'Max', /Max left the chat/)
    assertEqual(sentFrames(max, 'BLOCK'), [{ cmd: 'BLOCK', sessionId: sid }], 'one BLOCK')
    assertEqual(max.received.find((f) => f.cmd === 'BLOCK').code, 0, 'BLOCK answered 0')
    assert(!nia.received.some((f) => JSON.stringify(f).includes('block')), 'Nia is not told why')
    assertEqual(await max.win('Nia').getByTestId('block-button').count(), 0, 'nothing more to block')
  })

  runner.test('report by keyboard: the dialog takes the focus, Escape closes it, reason and note go out, thanks', async ({
    person,
  }) => {
    const [oz, pia] = await loggedIn(open, person, 'Oz', 'Pia')
    const sid = await pair(oz, pia)
    await pia.send('Oz', 'something rude')
    await oz.waitMessage('Pia', 'something rude')

    const activeTestId = () => oz.page.evaluate(() => document.activeElement?.getAttribute('data-testid') || '')
    const reportButton = oz.win('Pia').getByTestId('report-button')
    await reportButton.focus()
    await oz.page.keyboard.press('Enter')
    await eventually(async () => (await activeTestId()) === 'report-reason', 'the reason select to have the focus')
    const labels = await oz.testId('report-reason').evaluate((el) => [...el.options].map((o) => [o.value, o.text]))
    assertEqual(
      labels.map(([v]) => v),
      ['', 'spam', 'harassment', 'sexual', 'hate', 'underage', 'other'],
      'the reasons of the protocol',
    )
    assert(labels.slice(1).every(([v, t]) => t.length > v.length), 'readable labels')
    assert(await oz.testId('report-submit').isDisabled(), 'no report without a reason')
    // Tab stays inside the dialog.
    for (let i = 0; i < 6; i++) {
      await oz.page.keyboard.press('Tab')
      const inside = await oz.page.evaluate(() => Boolean(document.activeElement?.closest('[role="dialog"]')))
      assert(inside, `Tab ${i + 1} stays in the dialog`)
    }
    await oz.page.keyboard.press('Escape')
    await waitGone(oz, 'report-reason', 'Escape to close the dialog')
    assertEqual(await activeTestId(), 'report-button', 'the focus is back on Report')
    assertEqual(sentFrames(oz, 'REPORT').length, 0, 'nothing sent')

    await oz.page.keyboard.press('Enter')
    await eventually(async () => (await activeTestId()) === 'report-reason', 'the dialog again')
    await oz.testId('report-reason').selectOption('harassment')
    await oz.testId('report-text').fill('x'.repeat(501))
    await eventually(async () => oz.testId('report-submit').isDisabled(), 'no report with 501 characters')
    await oz.testId('report-text').fill('kept insulting me')
    await oz.shot('report-dialog')
    await oz.testId('report-submit').click()
    await eventually(
      async () => /Thanks — we've received your report/.test(await textOf(oz.testId('report-confirmation'))),
      'the confirmation',
    )
    assertEqual(
      sentFrames(oz, 'REPORT'),
      [{ cmd: 'REPORT', sessionId: sid, reason: 'harassment', text: 'kept insulting me' }],
      'one REPORT with reason and note',
    )
    await oz.shot('report-thanks')
    await oz.page.keyboard.press('Escape')
    await waitGone(oz, 'report-confirmation', 'the dialog to close')
    await waitEnded(oz, 'Pia', /we've received your report/)
    await waitEnded(pia, 'Oz', /Oz left the chat/)
  })

  runner.test('keyboard and phone (375×740): every control by Tab; nothing overflows; buttons wrap', async ({ person }) => {
    const qi = await open(person, 'Qi', PHONE_SMALL)
    const ray = await open(person, 'Ray')
    await qi.login()
    await ray.login()
    await addInterests(qi, 'photography, hiking, board games')
    const reached = new Set()
    await qi.page.evaluate(() => document.activeElement?.blur())
    for (let i = 0; i < 12; i++) {
      await qi.page.keyboard.press('Tab')
      reached.add(await qi.page.evaluate(() => document.activeElement?.getAttribute('data-testid') || document.activeElement?.tagName))
    }
    for (const id of ['interests-input', 'match-button', 'logout-button', 'interest-remove']) {
      assert(reached.has(id), `${id} is reached by Tab (${[...reached]})`)
    }
    // Match from the keyboard.
    await qi.testId('match-button').focus()
    await qi.page.keyboard.press('Enter')
    await waitVisible(qi, 'waiting-indicator', 'Qi waiting (Ray shares no interest)')
    await noOverflow(qi, 'waiting')
    await qi.shot('phone-waiting')
    await addInterests(ray, 'hiking')
    await ray.match()
    await qi.sessionId('Ray')

    const win = qi.page.getByTestId('session-window')
    const ids = []
    await win.getByTestId('message-input').focus()
    for (let i = 0; i < 12; i++) {
      await qi.page.keyboard.press('Shift+Tab')
      ids.push(await qi.page.evaluate(() => document.activeElement?.getAttribute('data-testid') || ''))
    }
    for (const id of ['leave-button', 'next-button', 'block-button', 'report-button']) {
      assert(ids.includes(id), `${id} is reached by Tab (${ids})`)
    }
    await noOverflow(qi, 'chatting')
    const boxes = await win.locator('.sw-actions .btn').evaluateAll((nodes) =>
      nodes.map((n) => n.getBoundingClientRect()).map((r) => [r.left, r.right]),
    )
    assert(boxes.every(([l, r]) => l >= 0 && r <= PHONE_SMALL.width), `the actions fit (${JSON.stringify(boxes)})`)
    await qi.shot('phone-chat-actions')
    await win.getByTestId('report-button').click()
    await waitVisible(qi, 'report-reason', 'the report dialog')
    await noOverflow(qi, 'report dialog')
    await qi.shot('phone-report-dialog')
    await qi.page.keyboard.press('Escape')
  }, { timeoutMs: 90000 })

  // Last: it bans an address (only the troll's own, see the top of this file).
  runner.test('banned-notice: three people report one, whose matching then pauses, also for a new account from that address', async ({
    person,
  }) => {
    const trollAddress = freshAddress()
    const troll = await person('Troll', undefined, { address: trollAddress })
    await troll.login()
    const reporters = await loggedIn(open, person, 'Sam', 'Tia', 'Uma')
    for (let i = 0; i < 3; i++) {
      await eventually(async () => troll.testId('match-button').isEnabled(), 'Match to be ready')
      await troll.match()
      // The troll takes anyone online; whoever it is reports them.
      const partner = await eventually(async () => {
        for (const r of reporters) if (!r.reported && (await r.page.getByTestId('session-window').count()) > 0) return r
        return false
      }, `the troll's match number ${i + 1}`)
      await troll.sessionId(partner.name)
      await report(partner, 'Troll', ['spam', 'harassment', 'hate'][i], `report ${i + 1}`)
      partner.reported = true
      await waitEnded(troll, partner.name, new RegExp(`${partner.name} left the chat`))
    }

    await troll.match()
    await waitVisible(troll, 'banned-notice', 'the banned notice')
    const reply = troll.received.filter((f) => f.cmd === 'MATCH').at(-1)
    assertEqual(reply.code, 14, 'MATCH answered 14')
    const until = new Date(reply.until)
    assert(until.getTime() > Date.now(), `until lies ahead (${reply.until})`)
    const text = await textOf(troll.testId('banned-notice'))
    assert(/You can't meet new people until .+\. Reports from several people paused matching for your account\./.test(text), text)
    const shownTime = await troll.page.evaluate(
      (iso) => new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso)),
      reply.until,
    )
    assert(text.includes(shownTime), `the time in the person's locale (${shownTime}) is in "${text}"`)
    assert(await troll.testId('match-button').isDisabled(), 'Match is disabled')
    await troll.shot('banned')

    // A new account from the same address fares the same.
    await troll.testId('logout-button').click()
    await eventually(async () => troll.testId('nickname-input').isVisible(), 'the nickname screen')
    const again = await person('Troll2', undefined, { address: trollAddress })
    await again.login()
    await again.match()
    await waitVisible(again, 'banned-notice', 'the banned notice for a new account from the address')
    // ...while others from elsewhere still match.
    const [sam] = reporters
    await sam.match()
    const samReply = await eventually(async () => sam.received.find((f) => f.cmd === 'MATCH'), "Sam's MATCH reply")
    assert(samReply.code === 0 || samReply.code === 13, `Sam still matches (code ${samReply.code})`)
    assertEqual(await sam.testId('banned-notice').count(), 0, 'Sam is not banned')
  }, { timeoutMs: 120000 })
}

/** Nothing on the page is wider than the viewport (no horizontal scrolling). */
async function noOverflow(p, when) {
  const result = await p.page.evaluate(() => {
    const width = document.documentElement.clientWidth
    const wide = []
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect()
      if (r.width > 0 && (r.right > width + 0.5 || r.left < -0.5) && getComputedStyle(el).position !== 'fixed') {
        wide.push(`${el.tagName.toLowerCase()}.${el.className}`)
      }
    }
    return { scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5) }
  })
  assert(result.scroll <= result.width, `${when}: the page scrolls sideways (${result.scroll} > ${result.width})`)
  assertEqual(result.wide, [], `${when}: elements wider than the screen`)
}
