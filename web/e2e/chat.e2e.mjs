// End-to-end tests: real browsers (Debian's Chromium) against the real system that
// run.mjs starts. Each person is a separate browser context; every test uses fresh
// nicknames and closes its people, so the accounts go offline before the next test.
import { assert, assertEqual, DESKTOP, eventually, PHONE, sleep } from './harness.mjs'

/** @param {import('./harness.mjs').Runner} runner */
export function registerTests(runner) {
  runner.test('nickname screen validates; alone, Match waits, and the next person online is matched', async ({ person }) => {
    const ada = await person('Ada')
    await ada.shot('nickname-screen')

    await ada.testId('login-button').click()
    await eventually(
      async () => /Please enter a nickname/.test(await ada.testId('nickname-error').textContent()),
      'an error for an empty nickname',
    )
    await ada.testId('nickname-input').fill('   ')
    await ada.testId('login-button').click()
    await eventually(
      async () => /Please enter a nickname/.test(await ada.testId('nickname-error').textContent()),
      'an error for a blank nickname',
    )
    await ada.testId('nickname-input').fill('x'.repeat(33))
    await ada.testId('login-button').click()
    await eventually(
      async () => /33 characters long; the limit is 32/.test(await ada.testId('nickname-error').textContent()),
      'an error for a 33-character nickname',
    )
    await ada.shot('nickname-too-long')
    assertEqual(ada.sockets.length, 0, 'no socket is opened for an invalid nickname')

    await ada.login()
    // Alone in the system: MATCH answers 13 and Ada waits, calmly, with no error.
    await ada.match()
    await eventually(async () => ada.testId('waiting-indicator').isVisible(), 'the waiting indicator')
    assert(await ada.testId('match-button').isDisabled(), 'no second MATCH while waiting')
    assertEqual(await ada.notice(), '', 'no notice: waiting is not an error')
    assertEqual(await ada.page.getByTestId('session-window').count(), 0, 'no window without a partner')
    await ada.shot('waiting-for-someone')

    // Ben coming online is someone suitable: the server matches the two by itself.
    const ben = await person('Ben')
    await ben.login()
    const id = await ada.sessionId('Ben') // opened by PUSH_SIGNAL NewSession
    await ada.waitNotice(/Ben matched with you/)
    await eventually(async () => (await ada.testId('waiting-indicator').count()) === 0, 'the waiting indicator to go')
    assertEqual(await ben.sessionId('Ada'), id, 'both windows show the same session')
    await ben.waitNotice(/Ada matched with you/)
    assertEqual(ada.sent.filter((f) => f.cmd === 'MATCH').length, 1, 'Ada asked once')
    await ben.shot('matched-by-someone')
  })

  runner.test('two people chat both ways with read receipts; markup stays text', async ({ person }) => {
    const ann = await person('Ann')
    const bo = await person('Bo')
    await ann.login()
    await bo.login()
    await ann.match()
    const sid = await ann.sessionId('Bo')
    assertEqual(await bo.sessionId('Ann'), sid, 'same session on both sides')

    // Enter sends; markup in a message is shown, never interpreted.
    const hello = 'Hi Bo! <b>not bold</b> <img src=x onerror="window.pwned=1">'
    await ann.send('Bo', hello, 'enter')
    const got = await bo.waitMessage('Ann', hello, { mine: false })
    assertEqual(got.read, null, 'partner messages carry no read mark')
    const boWin = bo.win('Ann')
    assertEqual(await boWin.locator('.bubble b, .bubble img').count(), 0, 'no element made from message markup')
    assertEqual(await bo.page.evaluate(() => window.pwned === undefined), true, 'no script ran')

    // Ann's message: sent, then read once Bo's window (in view, page focused) acks it.
    const mine = await ann.waitMessage('Bo', hello, { mine: true })
    assertEqual(mine.id, got.id, 'same msgId on both sides')
    await eventually(
      async () => (await ann.messages('Bo')).find((m) => m.text === hello).read === true,
      'Ann to see her message read',
    )

    // The button sends too; replies interleave both ways.
    await bo.send('Ann', 'Hello Ann, nice to meet you', 'button')
    await ann.waitMessage('Bo', 'Hello Ann, nice to meet you', { mine: false })
    for (let i = 1; i <= 3; i++) {
      await ann.send('Bo', `ann ${i}`)
      await bo.send('Ann', `bo ${i}`)
    }
    for (const p of [ann, bo]) {
      await eventually(async () => {
        const msgs = await p.messages(p === ann ? 'Bo' : 'Ann')
        return msgs.length === 8 && msgs.every((m) => m.id !== null)
      }, `${p.name} to have all 8 messages confirmed`)
    }
    const annView = await ann.messages('Bo')
    const boView = await bo.messages('Ann')
    const ids = annView.map((m) => m.id)
    assertEqual(ids, [...ids].sort((a, b) => a - b), 'messages are in msgId order')
    assertEqual(new Set(ids).size, ids.length, 'no msgId shown twice')
    assertEqual(
      annView.map((m) => [m.id, m.text, !m.mine]),
      boView.map((m) => [m.id, m.text, m.mine]),
      'both sides show the same conversation, mine and theirs swapped',
    )
    for (const [p, partner] of [
      [ann, 'Bo'],
      [bo, 'Ann'],
    ]) {
      await eventually(
        async () => (await p.messages(partner)).filter((m) => m.mine).every((m) => m.read === true),
        `${p.name}'s messages all read`,
      )
    }
    assertEqual(ann.sockets.length, 1, 'one WebSocket on Ann’s page')
    assertEqual(bo.sockets.length, 1, 'one WebSocket on Bo’s page')
    await ann.page.mouse.move(0, 0)
    await ann.shot('desktop-two-people-chatting')
    await bo.shot('desktop-partner-view')
  })

  runner.test('three people: two windows at once on one WebSocket; logout ends a chat, a closed page makes it away', async ({
    person,
  }) => {
    const cy = await person('Cy')
    const dee = await person('Dee')
    const eve = await person('Eve')
    for (const p of [cy, dee, eve]) await p.login()

    // Cy matches twice: MATCH never repeats a partner Cy already has an open chat with.
    await cy.match()
    await eventually(async () => (await cy.page.getByTestId('session-window').count()) === 1, 'the first window')
    await eventually(async () => !(await cy.testId('match-button').isDisabled()), 'the match button to be ready')
    await cy.match()
    await eventually(async () => (await cy.page.getByTestId('session-window').count()) === 2, 'the second window')
    const deeSid = await cy.sessionId('Dee')
    const eveSid = await cy.sessionId('Eve')
    assert(deeSid !== eveSid, 'two different sessions')
    assertEqual(await dee.sessionId('Cy'), deeSid, 'Dee has the session with Cy')
    assertEqual(await eve.sessionId('Cy'), eveSid, 'Eve has the session with Cy')

    // Both windows are on screen side by side at 1280x800.
    assert(await cy.win('Dee').isVisible(), 'the window with Dee is visible')
    assert(await cy.win('Eve').isVisible(), 'the window with Eve is visible')

    await cy.send('Dee', 'Hi Dee')
    await cy.send('Eve', 'Hi Eve')
    await dee.send('Cy', 'Hey Cy, Dee here')
    await eve.send('Cy', 'Eve says hi')
    await dee.waitMessage('Cy', 'Hi Dee', { mine: false })
    await eve.waitMessage('Cy', 'Hi Eve', { mine: false })
    await cy.waitMessage('Dee', 'Hey Cy, Dee here', { mine: false })
    await cy.waitMessage('Eve', 'Eve says hi', { mine: false })
    assertEqual((await cy.messages('Dee')).map((m) => m.text).includes('Eve says hi'), false, 'messages stay in their window')
    await eventually(
      async () => (await dee.messages('Cy')).find((m) => m.mine).read === true,
      'Dee to see Cy read her message',
    )
    for (const p of [cy, dee, eve]) {
      assertEqual(p.sockets.length, 1, `exactly one WebSocket on ${p.name}'s page`)
    }
    await cy.shot('desktop-two-windows')

    // Eve logs out: Cy's window says so, its input is disabled, it can be closed.
    await eve.testId('logout-button').click()
    await eventually(async () => eve.testId('nickname-input').isVisible(), 'Eve back on the nickname screen')
    const eveWin = cy.win('Eve')
    await eventually(async () => eveWin.getByTestId('session-ended').isVisible(), "Cy to see that Eve left")
    assert(/Eve left the chat/.test(await eveWin.getByTestId('session-ended').textContent()), 'the ended text')
    assert(await eveWin.getByTestId('message-input').isDisabled(), 'the input is disabled')
    assert(await eveWin.getByTestId('send-button').isDisabled(), 'the send button is disabled')
    await cy.shot('desktop-partner-left')
    await eveWin.getByTestId('close-session').click()
    await eventually(async () => (await cy.page.getByTestId('session-window').count()) === 1, 'the window to close')

    // Dee closes her page without logging out: within presence.grace (20 s here) she may
    // come back, so Cy's window stays open and shows her away, quietly.
    await dee.close()
    const deeWin = cy.win('Dee')
    await eventually(async () => (await deeWin.getAttribute('data-partner-away')) === 'true', 'Cy to see Dee away')
    assert(/Dee seems to have lost their connection/.test(await deeWin.getByTestId('partner-away').textContent()), 'the away note')
    assertEqual(await deeWin.getAttribute('data-ended'), 'false', 'the chat with Dee goes on')
    assertEqual(await deeWin.getByTestId('session-ended').count(), 0, 'no "ended" block')
    assert(await deeWin.getByTestId('message-input').isEnabled(), 'Cy can still write to Dee')
    assert(!/Dee/.test(await cy.notice()), 'no notice about Dee: the window shows it')
    await cy.page.mouse.move(0, 0)
    await cy.shot('desktop-partner-away')
    assertEqual(cy.sockets.length, 1, "still one WebSocket on Cy's page")
  })

  runner.test('phone: tabs, unread counter and no read receipt for a window out of view', async ({ person }) => {
    const fay = await person('Fay', PHONE)
    const gus = await person('Gus')
    const hal = await person('Hal')
    for (const p of [fay, gus, hal]) await p.login()
    await fay.shot('phone-empty')

    await fay.match()
    await eventually(async () => (await fay.page.getByTestId('session-window').count()) === 1, 'the first window')
    const first = (await fay.testId('partner-name').first().textContent()).trim()
    const second = first === 'Gus' ? 'Hal' : 'Gus'
    const firstP = first === 'Gus' ? gus : hal
    const secondP = first === 'Gus' ? hal : gus
    await fay.send(first, `hi ${first}`)
    await firstP.waitMessage('Fay', `hi ${first}`)
    await eventually(async () => !(await fay.testId('match-button').isDisabled()), 'the match button to be ready')
    await fay.match()
    await fay.sessionId(second)

    // Only the newest chat is on screen; the other is a tab.
    await eventually(async () => fay.win(second).isVisible(), `the window with ${second} on screen`)
    assertEqual(await fay.win(first).isVisible(), false, `the window with ${first} is not on screen`)
    const box = await fay.win(second).boundingBox()
    assert(box.width <= PHONE.width && box.x >= 0, 'the window fits the phone screen')

    // A message into the hidden chat: counted as unread, not acknowledged.
    await firstP.send('Fay', 'are you still there?')
    const tab = fay.page.getByTestId('session-tab').filter({ hasText: first })
    await eventually(async () => (await tab.locator('.badge').textContent()).trim() === '1', 'an unread badge of 1')
    await secondP.send('Fay', 'hello from the visible chat')
    await fay.waitMessage(second, 'hello from the visible chat')
    await eventually(
      async () => (await secondP.messages('Fay')).find((m) => m.mine).read === true,
      'the visible chat to be acked',
    )
    await sleep(600)
    const unreadSide = (await firstP.messages('Fay')).find((m) => m.text === 'are you still there?')
    assertEqual(unreadSide.read, false, 'no read receipt for a message in a window out of view')
    await fay.shot('phone-unread-tab')

    // Opening the tab shows the chat and sends the read receipt.
    await tab.click()
    await eventually(async () => fay.win(first).isVisible(), `the window with ${first} on screen`)
    await eventually(async () => (await tab.locator('.badge').count()) === 0, 'the badge to clear')
    await eventually(
      async () => (await firstP.messages('Fay')).find((m) => m.text === 'are you still there?').read === true,
      'the read receipt once the window is in view',
    )
    await fay.send(first, 'yes, sorry!')
    await firstP.waitMessage('Fay', 'yes, sorry!')
    await fay.shot('phone-chat')
    assertEqual(fay.sockets.length, 1, "one WebSocket on Fay's page")
  })

  runner.test('reconnects after the socket is cut; a reload keeps the account and its chats; a bad token goes back to the nickname screen', async ({
    person,
  }) => {
    const ivy = await person('Ivy')
    const jon = await person('Jon')
    await ivy.login()
    await jon.login()
    await ivy.match()
    const sid = await ivy.sessionId('Jon')
    await ivy.send('Jon', 'before the cut')
    await jon.waitMessage('Ivy', 'before the cut')

    // Cut Ivy's connection from inside the page (the socket closes, the TCP connection
    // goes). The client opens a new socket and RECONNECTs; within presence.grace the
    // chat goes on in the same window.
    const [firstSocket] = ivy.sockets
    await ivy.page.evaluate(() => window.chatDebug.dropConnection())
    await eventually(async () => firstSocket.isClosed(), 'the first socket to close')
    await eventually(async () => ivy.sockets.length === 2 && (await ivy.status()) === 'Connected', 'Ivy reconnected')
    assertEqual(ivy.openSockets().length, 1, 'one open WebSocket after reconnecting')
    assertEqual((await ivy.testId('my-name').textContent()).trim(), 'Ivy', 'same account')
    assertEqual(await ivy.sessionId('Jon'), sid, 'the same session, in the same window')
    assertEqual(await ivy.win('Jon').getAttribute('data-ended'), 'false', 'the chat goes on')
    assert(!/back online|ended/.test(await ivy.notice()), 'no notice about the reconnect')
    await ivy.shot('reconnected')

    await ivy.send('Jon', 'after the cut', 'button')
    await jon.waitMessage('Ivy', 'after the cut')
    await jon.send('Ivy', 'got it')
    await ivy.waitMessage('Jon', 'got it')
    const ivyView = await ivy.messages('Jon')
    assertEqual(ivyView.map((m) => m.text), ['before the cut', 'after the cut', 'got it'], 'the conversation')
    assertEqual(ivyView.map((m) => m.id), [1, 2, 3], 'msgIds 1, 2, 3')

    // A reload keeps the account (token in sessionStorage): straight back in, no
    // nickname, and the open chat comes back (RECONNECT lists it).
    await ivy.page.reload()
    await ivy.waitStatus('Connected')
    assertEqual((await ivy.testId('my-name').textContent()).trim(), 'Ivy', 'the same name after a reload')
    assertEqual(await ivy.sessionId('Jon'), sid, 'the chat with Jon is back after the reload')
    assertEqual(await ivy.win('Jon').getAttribute('data-ended'), 'false', 'and still open')
    await jon.send('Ivy', 'welcome back')
    await ivy.waitMessage('Jon', 'welcome back')

    // A token the server refuses (code 9) leads back to the nickname screen, with a message.
    await ivy.page.evaluate(() => {
      const saved = JSON.parse(sessionStorage.getItem('chat.account'))
      saved.token = '0'.repeat(64)
      sessionStorage.setItem('chat.account', JSON.stringify(saved))
    })
    await ivy.page.reload()
    await eventually(async () => ivy.testId('nickname-input').isVisible(), 'the nickname screen')
    assert(/expired/.test(await ivy.page.locator('.login-info').textContent()), 'a message says why')
    await ivy.shot('bad-token')
  })

  runner.test('a cut while the partner writes: window stays open, partner sees away then back, every message exactly once in msgId order', async ({
    person,
  }) => {
    const ivy = await person('Ivy')
    const jon = await person('Jon')
    await ivy.login()
    await jon.login()
    await ivy.match()
    const sid = await ivy.sessionId('Jon')
    await jon.sessionId('Ivy')
    await ivy.watch()
    await jon.watch()
    await ivy.send('Jon', 'hi Jon')
    await jon.waitMessage('Ivy', 'hi Jon')

    // Ivy's client receives and shows three messages but does not acknowledge them
    // (test hook): the server must push them again after her RECONNECT.
    await ivy.page.evaluate(() => window.chatDebug.holdAcks(true))
    for (let i = 1; i <= 3; i++) await jon.send('Ivy', `jon ${i}`)
    for (let i = 1; i <= 3; i++) await ivy.waitMessage('Jon', `jon ${i}`)

    // The line drops for 3 s; acks flow again once she is back.
    await ivy.page.evaluate(() => {
      window.chatDebug.dropConnection({ offlineMs: 3000 })
      window.chatDebug.holdAcks(false)
    })
    await ivy.waitStatus('Reconnecting…')
    const jonWin = jon.win('Ivy')
    await eventually(async () => (await jonWin.getAttribute('data-partner-away')) === 'true', 'Jon to see Ivy away')
    assert(await jonWin.getByTestId('partner-away').isVisible(), 'the away note in Jon’s window')
    assertEqual(await jonWin.getAttribute('data-ended'), 'false', 'the chat is not over for Jon')
    assert(!/away|lost|connection|left/i.test(await jon.notice()), 'no notice about Ivy’s drop on Jon’s page')
    // Jon keeps writing; his messages are stored and wait for Ivy.
    for (let i = 4; i <= 6; i++) {
      await jon.send('Ivy', `jon ${i}`)
      await jon.waitMessage('Ivy', `jon ${i}`, { mine: true })
    }
    assertEqual(await ivy.win('Jon').getAttribute('data-ended'), 'false', 'Ivy’s window stays open while she is away')
    await jon.page.mouse.move(0, 0)
    await jon.shot('partner-away-while-writing')
    await ivy.shot('cut-reconnecting')

    await ivy.waitStatus('Connected', 15000)
    await eventually(async () => (await jonWin.getAttribute('data-partner-away')) === 'false', 'Jon to see Ivy back')
    const expected = ['hi Jon', 'jon 1', 'jon 2', 'jon 3', 'jon 4', 'jon 5', 'jon 6']
    await eventually(async () => (await ivy.messages('Jon')).length === expected.length, 'Ivy to have all 7 messages')
    await sleep(300) // anything pushed twice would show now
    const ivyView = await ivy.messages('Jon')
    assertEqual(ivyView.map((m) => m.text), expected, 'every message once, in order')
    assertEqual(ivyView.map((m) => m.id), [1, 2, 3, 4, 5, 6, 7], 'msgIds 1-7 in order')
    assertEqual(await ivy.win('Jon').locator('[data-msg-id]').count(), 7, 'seven data-msg-id elements')
    assertEqual(
      (await jon.messages('Ivy')).map((m) => [m.id, m.text]),
      ivyView.map((m) => [m.id, m.text]),
      'both sides show the same conversation',
    )
    // The server did push the unacknowledged ones again, and the page showed them once.
    const pushed = ivy.pushedMsgIds(sid)
    for (const id of [2, 3, 4]) {
      assert(pushed.filter((x) => x === id).length >= 2, `msgId ${id} was pushed again after the RECONNECT (${pushed})`)
    }
    const ivySaw = await ivy.watched()
    assertEqual(ivySaw.duplicates, [], 'no msgId was ever shown twice on Ivy’s page')
    assertEqual(ivySaw.everEnded, false, 'Ivy never saw the chat end')
    assertEqual(ivySaw.statuses, ['Connected', 'Reconnecting…', 'Connected'], 'Ivy’s status: connected, reconnecting, connected')
    const jonSaw = await jon.watched()
    assertEqual(jonSaw.everEnded, false, 'Jon never saw the chat end')
    assertEqual(jonSaw.statuses, ['Connected'], 'Jon’s own connection never wavered')
    assertEqual(ivy.openSockets().length, 1, 'one open WebSocket on Ivy’s page')
    await ivy.page.mouse.move(0, 0)
    await ivy.shot('cut-all-messages-once')
    await jon.shot('partner-back')
  })

  runner.test('messages written while the line is down are sent after the reconnect: pending, then sent, stored once', async ({
    person,
  }) => {
    const kai = await person('Kai')
    const lea = await person('Lea')
    await kai.login()
    await lea.login()
    await kai.match()
    await kai.sessionId('Lea')
    await lea.sessionId('Kai')
    await kai.watch()
    await kai.send('Lea', 'hello Lea')
    await lea.waitMessage('Kai', 'hello Lea')

    // One message goes out in the very task that cuts the line: its DIALOGUE reply can
    // never arrive, so the client must send it again, with the same requestId.
    await kai.page.evaluate(() => {
      const win = [...document.querySelectorAll('[data-testid="session-window"]')][0]
      const input = win.querySelector('[data-testid="message-input"]')
      input.value = 'sent as the line dropped'
      input.dispatchEvent(new Event('input'))
      input.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }))
      if (!window.chatDebug.state.sessions[0].messages.some((m) => m.content === 'sent as the line dropped')) {
        throw new Error('the message was not sent')
      }
      window.chatDebug.dropConnection({ offlineMs: 2500 })
    })
    await kai.waitStatus('Reconnecting…')
    // The other is typed while disconnected: it waits, pending, in the window.
    await kai.send('Lea', 'typed while offline')
    const waiting = await kai.messages('Lea')
    const offline = waiting.find((m) => m.text === 'typed while offline')
    assertEqual([offline.state, offline.id], ['pending', null], 'the offline message is pending, without a msgId')
    const note = await kai.win('Lea').locator('.msg-note').last().textContent()
    assert(/Waiting for the connection/.test(note), `the note says it waits (${note})`)
    assertEqual(await kai.win('Lea').getByTestId('retry-button').count(), 0, 'no "Not sent" and no Retry')
    await kai.shot('pending-while-offline')

    await kai.waitStatus('Connected', 15000)
    for (const text of ['sent as the line dropped', 'typed while offline']) {
      const mine = await kai.waitMessage('Lea', text, { mine: true })
      const theirs = await lea.waitMessage('Kai', text, { mine: false })
      assertEqual(mine.id, theirs.id, `"${text}" has the same msgId on both sides`)
    }
    await sleep(300)
    const leaView = await lea.messages('Kai')
    assertEqual(
      leaView.map((m) => m.text),
      ['hello Lea', 'sent as the line dropped', 'typed while offline'],
      'Lea got each message exactly once, in the order typed',
    )
    assertEqual(leaView.map((m) => m.id), [1, 2, 3], 'msgIds 1-3 (stored once each)')
    const kaiView = await kai.messages('Lea')
    assertEqual(kaiView.map((m) => [m.id, m.text]), leaView.map((m) => [m.id, m.text]), 'the same on both sides')
    const saw = await kai.watched()
    assertEqual(saw.states['typed while offline'].slice(0, 2), ['pending', 'sent'], 'pending, then sent')
    assert(!saw.states['typed while offline'].includes('failed'), 'never shown as failed')
    assert(!saw.states['sent as the line dropped'].includes('failed'), 'the cut-off one never shown as failed')
    assertEqual(saw.everEnded, false, 'the chat never ended')
    await eventually(
      async () => (await kai.messages('Lea')).filter((m) => m.mine).every((m) => m.state === 'read'),
      'Lea to read both',
    )
    await kai.page.mouse.move(0, 0)
    await kai.shot('offline-messages-delivered')
  })

  runner.test('the broker restarts while two people chat: reconnect with backoff, windows stay, every message once', async ({
    person,
    system,
  }) => {
    const kim = await person('Kim')
    const lou = await person('Lou')
    // While the broker is down, Chromium logs each refused connection attempt.
    for (const p of [kim, lou]) p.allowedErrors.push(/WebSocket connection to .* failed/)
    await kim.login()
    await lou.login()
    await kim.match()
    const sid = await kim.sessionId('Lou')
    assertEqual(await lou.sessionId('Kim'), sid, 'one session')
    await kim.watch()
    await lou.watch()
    await kim.send('Lou', 'are you there?')
    await lou.waitMessage('Kim', 'are you there?')
    for (let i = 1; i <= 3; i++) await lou.send('Kim', `lou ${i}`)

    // SIGTERM: the broker closes every WebSocket with 1012 and reports them gone.
    await system.stopBroker()
    await kim.waitStatus('Reconnecting…')
    await lou.waitStatus('Reconnecting…')
    await kim.send('Lou', 'kim during the restart')
    await lou.send('Kim', 'lou during the restart')
    await kim.shot('broker-down-reconnecting')
    await sleep(1000)
    await system.startBroker()
    await kim.waitStatus('Connected', 20000)
    await lou.waitStatus('Connected', 20000)

    const expected = ['are you there?', 'lou 1', 'lou 2', 'lou 3', 'kim during the restart', 'lou during the restart']
    for (const [p, partner] of [
      [kim, 'Lou'],
      [lou, 'Kim'],
    ]) {
      await eventually(async () => {
        const msgs = await p.messages(partner)
        return msgs.length === expected.length && msgs.every((m) => m.id !== null)
      }, `${p.name} to have all ${expected.length} messages confirmed`)
    }
    await sleep(300)
    const kimView = await kim.messages('Lou')
    const louView = await lou.messages('Kim')
    const ids = kimView.map((m) => m.id)
    assertEqual(ids, [1, 2, 3, 4, 5, 6], 'msgIds 1-6, in order, each once')
    assertEqual(kimView.map((m) => m.text).sort(), [...expected].sort(), 'every message there, once')
    assertEqual(kimView.slice(0, 4).map((m) => m.text), expected.slice(0, 4), 'what was sent before the restart comes first')
    assertEqual(kimView.map((m) => [m.id, m.text]), louView.map((m) => [m.id, m.text]), 'both sides agree')
    for (const [p, partner] of [
      [kim, 'Lou'],
      [lou, 'Kim'],
    ]) {
      const win = p.win(partner)
      assertEqual(await win.getAttribute('data-session-id'), String(sid), `${p.name} keeps the same window`)
      assertEqual(await win.getAttribute('data-ended'), 'false', `${p.name}'s chat goes on`)
      await eventually(async () => (await win.getAttribute('data-partner-away')) === 'false', `${p.name} sees the partner present`)
      const saw = await p.watched()
      assertEqual(saw.duplicates, [], `no msgId ever shown twice to ${p.name}`)
      assertEqual(saw.everEnded, false, `${p.name} never saw the chat end`)
      assertEqual(saw.statuses[0], 'Connected', `${p.name} started connected`)
      assertEqual(saw.statuses[saw.statuses.length - 1], 'Connected', `${p.name} ends connected`)
      assert(saw.statuses.includes('Reconnecting…'), `${p.name} saw "Reconnecting…" (${saw.statuses})`)
      assert(!Object.values(saw.states).some((seq) => seq.includes('failed')), `no message of ${p.name} failed`)
      assertEqual(p.openSockets().length, 1, `one open WebSocket on ${p.name}'s page`)
    }
    assertEqual((await kim.testId('my-name').textContent()).trim(), 'Kim', 'the same account')
    await kim.page.mouse.move(0, 0)
    await kim.shot('broker-restarted-chat-goes-on')
  })

  runner.test('the partner logs out while I am disconnected: after my reconnect the window says they left', async ({
    person,
  }) => {
    const max = await person('Max')
    const nia = await person('Nia')
    await max.login()
    await nia.login()
    await max.match()
    await max.sessionId('Nia')
    await nia.sessionId('Max')
    await nia.send('Max', 'I have to go soon')
    await max.waitMessage('Nia', 'I have to go soon')

    await max.watch()
    await max.page.evaluate(() => window.chatDebug.dropConnection({ offlineMs: 3000 }))
    await max.waitStatus('Reconnecting…')
    await eventually(async () => (await nia.win('Max').getAttribute('data-partner-away')) === 'true', 'Nia to see Max away')
    await nia.send('Max', 'bye Max!')
    await nia.waitMessage('Max', 'bye Max!', { mine: true })
    await nia.testId('logout-button').click()
    await eventually(async () => nia.testId('nickname-input').isVisible(), 'Nia back on the nickname screen')
    assertEqual(await max.win('Nia').getAttribute('data-ended'), 'false', 'Max does not know yet')

    await max.waitStatus('Connected', 15000)
    const win = max.win('Nia')
    await eventually(
      async () => /Nia left the chat/.test(await win.getByTestId('session-ended').textContent()),
      'Max to see that Nia left',
    )
    const maxSaw = await max.watched()
    assert(!maxSaw.endedTexts.some((t) => /while you were disconnected/.test(t)), `never a vague ending (${maxSaw.endedTexts})`)
    assertEqual(await win.getAttribute('data-ended'), 'true', 'the window is ended')
    assert(await win.getByTestId('message-input').isDisabled(), 'the input is disabled')
    // Her last message, sent while Max was away, arrived with the resume.
    await max.waitMessage('Nia', 'bye Max!')
    assertEqual((await max.messages('Nia')).map((m) => m.text), ['I have to go soon', 'bye Max!'], 'both messages, once')
    await max.waitNotice(/Nia left the chat/)
    await sleep(2500) // the "ended while disconnected" notice would come now if unexplained
    assert(!/ended while/.test(await max.notice()), 'no vague "chat ended" notice')
    await max.page.mouse.move(0, 0)
    await max.shot('partner-left-while-disconnected')
  })
}

export { DESKTOP, PHONE }
