// Showing the API's values: times (ISO-8601, UTC) in the moderator's own time zone,
// report reasons by the labels the reporters chose from.
import { REPORT_REASONS } from '../lib/protocol.js'

export function formatTime(iso) {
  if (!iso) return ''
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return String(iso)
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}

export function reasonLabel(reason) {
  return REPORT_REASONS.find((r) => r.value === reason)?.label ?? reason
}

/** A person as the API names them: the nickname, or a stand-in once retention deleted the account. */
export function nickName(person) {
  return person?.nickName ?? '(deleted account)'
}
