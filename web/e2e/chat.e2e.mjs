// End-to-end tests: real browsers (Debian's Chromium) against the real system that
// run.mjs starts. Each person is a separate browser context; every test uses fresh
// nicknames and closes its people, so the accounts go offline before the next test.
import { assert, assertEqual, DESKTOP, eventually, PHONE, sleep } from './harness.mjs'

/** @param {import('./harness.mjs').Runner} runner */
export function registerTests(runner) {
  runner.test('nickname screen validates; nobody to match, then a retry matches', async ({ person }) => {
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
    // Alone in the system: MATCH answers code 4, shown kindly with a retry.
    await ada.match()
    await ada.waitNotice(/Nobody else is free to chat right now/)
    assert(await ada.testId('notice-action').isVisible(), 'the notice offers a retry')
    assertEqual(await ada.page.getByTestId('session-window').count(), 0, 'no window without a partner')
    await ada.shot('nobody-to-match')

    const ben = await person('Ben')
    await ben.login()
    await ada.testId('notice-action').click()
    await ada.sessionId('Ben')
    await ada.waitNotice(/You are now chatting with Ben/)
    const id = await ben.sessionId('Ada') // opened by PUSH_SIGNAL NewSession
    await ben.waitNotice(/Ada matched with you/)
    assertEqual(id, await ada.sessionId('Ben'), 'both windows show the same session')
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

  runner.test('three people: two windows at once on one WebSocket; logout and a closed page end chats', async ({
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

    // Dee closes her page without logging out: the server ends the chat all the same
    // (or, with a reconnect grace period configured, says she dropped off).
    await dee.close()
    await eventually(async () => {
      const win = cy.win('Dee')
      return (await win.getByTestId('session-ended').isVisible()) || (await win.getAttribute('data-partner-away')) === 'true'
    }, 'Cy to see that Dee left')
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

  runner.test('reconnects after the socket is cut; a reload keeps the account; a bad token goes back to the nickname screen', async ({
    person,
  }) => {
    const ivy = await person('Ivy')
    const jon = await person('Jon')
    await ivy.login()
    await jon.login()
    await ivy.match()
    await ivy.sessionId('Jon')
    await ivy.send('Jon', 'before the cut')
    await jon.waitMessage('Ivy', 'before the cut')

    // Cut Ivy's connection from inside the page (the socket closes, the TCP connection
    // goes). The client must open a new socket and RECONNECT.
    const [firstSocket] = ivy.sockets
    await ivy.page.evaluate(() => window.chatDebug.dropConnection())
    await eventually(async () => firstSocket.isClosed(), 'the first socket to close')
    await eventually(async () => ivy.sockets.length === 2 && (await ivy.status()) === 'Connected', 'Ivy reconnected')
    assertEqual(ivy.openSockets().length, 1, 'one open WebSocket after reconnecting')
    assertEqual((await ivy.testId('my-name').textContent()).trim(), 'Ivy', 'same account')
    // Closing a socket ends its sessions (unless the server keeps them for a grace
    // period): the window comes back ended, or goes on.
    await ivy.waitNotice(/back online/)
    await ivy.shot('reconnected')
    if ((await ivy.win('Jon').getAttribute('data-ended')) === 'true') {
      await eventually(async () => jon.win('Ivy').getByTestId('session-ended').isVisible(), 'Jon told that Ivy left')
      // The reconnected account works: a new match, messages both ways.
      await ivy.match()
      await eventually(async () => (await ivy.page.getByTestId('session-window').count()) === 2, 'a new window')
    }
    const live = ivy.page.locator('[data-testid="session-window"][data-ended="false"]')
    const liveSid = Number(await live.getAttribute('data-session-id'))
    await live.getByTestId('message-input').fill('after the cut')
    await live.getByTestId('send-button').click()
    const jonLive = jon.page.locator(`[data-testid="session-window"][data-session-id="${liveSid}"]`)
    await eventually(
      async () => (await jonLive.getByTestId('message').filter({ hasText: 'after the cut' }).count()) === 1,
      'Jon to get the message sent after the reconnect',
    )
    await jonLive.getByTestId('message-input').fill('got it')
    await jonLive.getByTestId('message-input').press('Enter')
    await eventually(
      async () => (await live.getByTestId('message').filter({ hasText: 'got it' }).count()) === 1,
      'Ivy to get the answer',
    )

    // A reload keeps the account (token in sessionStorage): straight back in, no nickname.
    await ivy.page.reload()
    await ivy.waitStatus('Connected')
    assertEqual((await ivy.testId('my-name').textContent()).trim(), 'Ivy', 'the same name after a reload')

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

  runner.test('reconnects with backoff while the broker restarts', async ({ person, system }) => {
    const kim = await person('Kim')
    // While the broker is down, Chromium logs each refused connection attempt.
    kim.allowedErrors.push(/WebSocket connection to .* failed/)
    await kim.login()
    await system.stopBroker()
    await kim.waitStatus('Reconnecting…')
    await kim.shot('reconnecting')
    await sleep(1500)
    await system.startBroker()
    await kim.waitStatus('Connected', 20000)
    assertEqual(kim.openSockets().length, 1, 'one open WebSocket after the broker came back')
    assertEqual((await kim.testId('my-name').textContent()).trim(), 'Kim', 'the same account')
    await kim.testId('match-button').isEnabled()
  })
}

export { DESKTOP, PHONE }
