// Takes the README's screenshots from a real run: two people chat, one on a desktop
// browser (1280x800), the other on a phone-sized one (390 px wide).
//
//   npm run screenshots      writes ../docs/screenshot-desktop.png and ../docs/screenshot-phone.png
import path from 'node:path'
import { DESKTOP, eventually, launchBrowser, Person, PHONE, sleep } from './harness.mjs'
import { REPO_ROOT, startSystem } from './system.mjs'

const DOCS = path.join(REPO_ROOT, 'docs')

const conversation = [
  ['Maya', 'Hi! First time here. Where are you writing from?'],
  ['Leo', 'Hey Maya :) Lisbon. It is way too hot to go outside today'],
  ['Maya', 'Ha, jealous. It has rained in Oslo for nine days straight.'],
  ['Leo', 'Nine days?! What do you even do all day?'],
  ['Maya', 'Bake bread, read, talk to strangers on the internet apparently'],
  ['Leo', 'Fair. What are you reading?'],
  ['Maya', 'A book about the history of maps. Much better than it sounds, I promise.'],
]

const system = await startSystem()
const browser = await launchBrowser()
try {
  const shots = { dir: path.join(REPO_ROOT, 'test-output', 'web-e2e', 'docs-shots'), n: 0 }
  const maya = await Person.open({ browser, baseUrl: system.baseUrl, name: 'Maya', viewport: DESKTOP, shots })
  const leo = await Person.open({ browser, baseUrl: system.baseUrl, name: 'Leo', viewport: PHONE, shots })
  await maya.login()
  await leo.login()
  await maya.match()
  await maya.sessionId('Leo')
  await leo.sessionId('Maya')
  for (const [who, text] of conversation) {
    const [from, to] = who === 'Maya' ? [maya, leo] : [leo, maya]
    await from.send(to.name, text)
    await to.waitMessage(from.name, text)
    await sleep(150)
  }
  await eventually(
    async () => (await maya.messages('Leo')).filter((m) => m.mine).every((m) => m.read),
    'all of Maya’s messages read',
  )
  // Leo is typing his answer.
  await leo.win('Maya').getByTestId('message-input').fill('Maps! Okay, tell me the best')
  for (const p of [maya, leo]) {
    if (await p.testId('notice').count()) await p.page.getByRole('button', { name: 'Dismiss' }).click()
    await p.page.mouse.move(0, 0)
  }
  await maya.win('Leo').getByTestId('message-input').blur()
  await sleep(300)
  await maya.page.screenshot({ path: path.join(DOCS, 'screenshot-desktop.png') })
  await leo.page.screenshot({ path: path.join(DOCS, 'screenshot-phone.png') })
  for (const p of [maya, leo]) {
    if (p.consoleErrors.length) throw new Error(`console errors on ${p.name}'s page: ${p.consoleErrors.join('; ')}`)
  }
  console.log(`wrote ${path.join(DOCS, 'screenshot-desktop.png')} and screenshot-phone.png`)
} finally {
  await browser.close()
  await system.stop()
}
