// Mounting the whole app on a fake socket for the component tests (happy-dom).
import { createApp, nextTick } from 'vue'
import App from '../src/App.vue'
import { storeKey } from '../src/lib/use-store.js'
import { flush, TOKEN } from './fake-socket.js'

let app = null
let host = null

export function mount(t) {
  host = document.createElement('div')
  document.body.appendChild(host)
  app = createApp(App).provide(storeKey, t.store)
  app.mount(host)
  return host
}

/** For afterEach. */
export function unmount() {
  if (app) app.unmount()
  if (host) host.remove()
  app = null
  host = null
}

// The whole document: dialogs are teleported to <body>, outside the app's element.
export const q = (sel, root = document) => root.querySelector(`[data-testid="${sel}"]`)
export const qa = (sel, root = document) => [...root.querySelectorAll(`[data-testid="${sel}"]`)]

export async function settle() {
  await flush()
  await nextTick()
}

export async function type(input, value) {
  input.value = value
  input.dispatchEvent(new Event('input'))
  await nextTick()
}

export function key(el, name, extra = {}) {
  el.dispatchEvent(new KeyboardEvent('keydown', { key: name, bubbles: true, cancelable: true, ...extra }))
}

export async function loginAs(t, name) {
  await type(q('nickname-input'), name)
  q('login-button').click()
  await settle()
  t.socket().open()
  await settle()
  t.socket().receive({ cmd: 'CRT_ACCOUNT', nickName: name, accountId: 17, token: TOKEN, code: 0 })
  await settle()
}
