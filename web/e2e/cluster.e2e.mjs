// Browser tests of the cluster (run.mjs starts `chat-stack up --cluster` for them:
// PostgreSQL with failover, a locked NATS cluster over TLS, two of each service). The page comes from nginx and its WebSocket goes through nginx to
// whichever broker has fewer connections (least_conn), so two people who log in one
// after the other land on different brokers.
import { assert, assertEqual, eventually, sleep } from './harness.mjs'

/** @param {import('./harness.mjs').Runner} runner */
export function registerClusterTests(runner) {
  runner.test('through nginx: two people on different brokers chat; a rolling restart of one broker moves its person to the other without a lost or doubled message', async ({
    person,
    system,
  }) => {
    const ana = await person('Ana')
    const ben = await person('Ben')
    await ana.login()
    await ben.login()
    await ana.match()
    const sid = await ana.sessionId('Ben')
    assertEqual(await ben.sessionId('Ana'), sid, 'one session')
    await ana.watch()
    await ben.watch()
    await ana.send('Ben', 'hello from one broker')
    await ben.waitMessage('Ana', 'hello from one broker')
    await ben.send('Ana', 'hello from the other')
    await ana.waitMessage('Ben', 'hello from the other')

    // SIGTERM broker b1, as in a rolling upgrade: whoever is on it is told 1012 and
    // reconnects through nginx to b2 at once, while b1 is still down.
    await system.stopBroker(system.brokers[0])
    await sleep(500)
    const moved = []
    for (const p of [ana, ben]) if ((await p.watched()).statuses.includes('Reconnecting…')) moved.push(p)
    assertEqual(moved.length, 1, 'exactly one of them was on the stopped broker (they were on different brokers)')
    const [mover] = moved
    const stayer = mover === ana ? ben : ana
    await mover.waitStatus('Connected', 10000)
    await mover.send(stayer.name, 'written after the move')
    await stayer.send(mover.name, 'written while b1 is down')
    await stayer.waitMessage(mover.name, 'written after the move')
    await mover.waitMessage(stayer.name, 'written while b1 is down')
    await system.startBroker(system.brokers[0])

    const expected = ['hello from one broker', 'hello from the other', 'written after the move', 'written while b1 is down']
    for (const [p, partner] of [
      [ana, 'Ben'],
      [ben, 'Ana'],
    ]) {
      await eventually(async () => {
        const msgs = await p.messages(partner)
        return msgs.length === expected.length && msgs.every((m) => m.id !== null)
      }, `${p.name} to have all ${expected.length} messages confirmed`)
      const saw = await p.watched()
      assertEqual(saw.duplicates, [], `no msgId ever shown twice to ${p.name}`)
      assertEqual(saw.everEnded, false, `${p.name} never saw the chat end`)
      assertEqual(saw.statuses[saw.statuses.length - 1], 'Connected', `${p.name} ends connected`)
      assert(!Object.values(saw.states).some((seq) => seq.includes('failed')), `no message of ${p.name} failed`)
      assertEqual(p.openSockets().length, 1, `one open WebSocket on ${p.name}'s page`)
    }
    const anaView = await ana.messages('Ben')
    assertEqual(anaView.map((m) => m.id), [1, 2, 3, 4], 'msgIds 1-4, in order, each once')
    assertEqual(anaView.map((m) => m.text).sort(), [...expected].sort(), 'every message there, once')
    assertEqual(anaView.slice(0, 2).map((m) => m.text), expected.slice(0, 2), 'what was sent before the restart comes first')
    assertEqual(anaView.map((m) => [m.id, m.text]), (await ben.messages('Ana')).map((m) => [m.id, m.text]), 'both sides agree')
    const stayed = await stayer.watched()
    assert(!stayed.statuses.includes('Reconnecting…'), `${stayer.name} on the other broker never reconnected`)
    await mover.shot('moved-to-the-other-broker')
  })
}
