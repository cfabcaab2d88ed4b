// Mounting the moderator page on a fake admin server for the component tests (happy-dom).
import { createApp, nextTick } from 'vue'
import ModerationApp from '../src/moderation/ModerationApp.vue'
import { createModeration, moderationKey, TOKEN_STORAGE_KEY } from '../src/moderation/moderation.js'
import { ADMIN_TOKEN } from './fake-admin-server.js'
import { MemoryStorage } from './fake-socket.js'

let app = null
let host = null

/** Mounts the page; `signedIn` puts the right token in the storage first, as after a sign-in. */
export function mountModeration(server, { signedIn = false, storage = new MemoryStorage() } = {}) {
  if (signedIn) storage.setItem(TOKEN_STORAGE_KEY, ADMIN_TOKEN)
  const moderation = createModeration({ fetch: server.fetch, storage })
  host = document.createElement('div')
  document.body.appendChild(host)
  app = createApp(ModerationApp).provide(moderationKey, moderation)
  app.mount(host)
  return { moderation, storage }
}

/** For afterEach. */
export function unmountModeration() {
  if (app) app.unmount()
  if (host) host.remove()
  app = null
  host = null
}

/** Lets the fake server's answers arrive and Vue render them. */
export async function settle() {
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 20; i++) await Promise.resolve()
    await nextTick()
  }
}

export const q = (id, root = document) => root.querySelector(`[data-testid="${id}"]`)
export const qa = (id, root = document) => [...root.querySelectorAll(`[data-testid="${id}"]`)]
export const text = (el) => (el?.textContent ?? '').replace(/\s+/g, ' ').trim()

export async function type(input, value) {
  input.value = value
  input.dispatchEvent(new Event('input', { bubbles: true }))
  await nextTick()
}

export async function choose(select, value) {
  select.value = String(value)
  select.dispatchEvent(new Event('change', { bubbles: true }))
  await nextTick()
}

export async function tick(checkbox, checked = true) {
  checkbox.checked = checked
  checkbox.dispatchEvent(new Event('change', { bubbles: true }))
  await nextTick()
}

export async function click(el) {
  el.click()
  await settle()
}

/** The report card with this id. */
export const card = (id) => document.querySelector(`[data-testid="report-card"][data-report-id="${id}"]`)
