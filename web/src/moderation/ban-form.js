// Checking the hand-made ban before it is sent: the same limits as the API (at least
// an account or an address, reason 1..200 characters), said in words a moderator can act on.
import { BAN_DURATIONS } from './durations.js'

export const BAN_REASON_MAX_CHARS = 200

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
// Loose on purpose: the server has the last word; this catches typos such as a name or a port.
const IPV6 = /^[0-9a-f:.]+$/i

export function isAddress(text) {
  return IPV4.test(text) || (text.includes(':') && text.split(':').length >= 3 && IPV6.test(text))
}

/**
 * @param {{ accountId: string, address: string, duration: number, reason: string }} form  as typed
 * @returns {{ ban: object } | { error: string, field: string }}  the API's body, or the first problem
 *   and the field to fix
 */
export function validateBanForm(form) {
  const accountText = String(form.accountId ?? '').trim()
  const address = String(form.address ?? '').trim()
  const reason = String(form.reason ?? '').trim()
  if (!accountText && !address) return { error: 'Enter an account id, an address, or both.', field: 'accountId' }
  let accountId
  if (accountText) {
    accountId = /^\d+$/.test(accountText) ? Number(accountText) : NaN
    if (!Number.isSafeInteger(accountId) || accountId <= 0)
      return { error: 'The account id is a whole number above 0.', field: 'accountId' }
  }
  if (address && !isAddress(address))
    return { error: `"${address}" is not an IP address (such as 203.0.113.7 or 2001:db8::1).`, field: 'address' }
  if (!BAN_DURATIONS.some((d) => d.seconds === form.duration))
    return { error: 'Choose how long the ban lasts.', field: 'duration' }
  if (!reason) return { error: 'Give a reason: other moderators will read it.', field: 'reason' }
  const chars = [...reason].length
  if (chars > BAN_REASON_MAX_CHARS)
    return { error: `The reason is ${chars} characters long; the limit is ${BAN_REASON_MAX_CHARS}.`, field: 'reason' }
  const ban = { duration: form.duration, reason }
  if (accountId !== undefined) ban.accountId = accountId
  if (address) ban.address = address
  return { ban }
}
