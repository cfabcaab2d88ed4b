// The moderator's session on the page: the admin token (kept in sessionStorage, so it
// goes with the tab), the one error shown at the top, and a revision number that every
// list watches, so a change made in one panel (a ban from a report) reloads the others.
import { inject, reactive } from 'vue'
import { createAdminApi } from './admin-api.js'

export const TOKEN_STORAGE_KEY = 'moderation.token'
export const moderationKey = Symbol('moderation')

/** What a 401 says, at sign-in or later (the token file may have been replaced). */
export function refusedMessage(serverMessage) {
  return `The server refused this token${serverMessage ? ` (${serverMessage})` : ''}. Enter the current admin token.`
}

/**
 * @param {{ fetch: typeof fetch, storage: Storage }} options
 */
export function createModeration({ fetch, storage }) {
  const state = reactive({
    token: storage.getItem(TOKEN_STORAGE_KEY) || '',
    error: '',
    signingIn: false,
    revision: 0,
  })
  let api = state.token ? createAdminApi({ token: state.token, fetch }) : null

  function signOut(message = '') {
    storage.removeItem(TOKEN_STORAGE_KEY)
    api = null
    state.token = ''
    state.error = message
  }

  /** Checks the token with a cheap call before keeping it; false (and an error) if refused. */
  async function signIn(rawToken) {
    const token = String(rawToken ?? '').trim()
    if (!token) {
      state.error = 'Please enter the admin token.'
      return false
    }
    state.signingIn = true
    state.error = ''
    const candidate = createAdminApi({ token, fetch })
    try {
      await candidate.stats()
    } catch (err) {
      state.error = err.status === 401 ? refusedMessage(err.message) : err.message
      return false
    } finally {
      state.signingIn = false
    }
    storage.setItem(TOKEN_STORAGE_KEY, token)
    api = candidate
    state.token = token
    return true
  }

  /** Shows the error of a failed call; a 401 ends the session and returns to the form. */
  function fail(err, usedApi) {
    if (usedApi !== api) return // signed out (or in again) meanwhile: the answer is stale
    if (err.status === 401) signOut(refusedMessage(err.message))
    else state.error = err.message
  }

  /** A read in the background (loading, polling): its result, or undefined if it failed. */
  async function load(fn) {
    const used = api
    if (!used) return undefined
    try {
      return await fn(used)
    } catch (err) {
      fail(err, used)
      return undefined
    }
  }

  /**
   * Something the moderator did: the previous error goes, and every list reloads after it
   * (also after a failure: part of it may have happened). Its result, or undefined.
   */
  async function act(fn) {
    state.error = ''
    try {
      return await load(fn)
    } finally {
      state.revision += 1
    }
  }

  return {
    state,
    signIn,
    signOut,
    load,
    act,
    dismissError: () => {
      state.error = ''
    },
  }
}

export function useModeration() {
  const moderation = inject(moderationKey)
  if (!moderation) throw new Error('useModeration() outside the moderation app')
  return moderation
}
