// Interest tags entered before matching (docs/protocol.md, MATCH `interests`): the rules
// the server applies, checked while the person types so that MATCH is never refused
// for them. Pure functions: no DOM, no socket.
import { trimAscii } from './protocol.js'

export const INTERESTS_MAX = 5
export const INTEREST_MAX_CHARS = 24

function hasControl(text) {
  for (const c of text) {
    const cp = c.codePointAt(0)
    if (cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)) return true
  }
  return false
}

/** The key two tags are compared by: the server compares them case-insensitively. */
export function interestKey(tag) {
  return tag.toLowerCase()
}

/**
 * Adds the tags in `raw` (one, or several separated by commas) to `tags`.
 * Duplicates (case-insensitive) are dropped quietly; a piece that breaks a rule is
 * kept in `rest`, for the person to fix, with `error` saying why.
 * @param {string[]} tags   the tags so far
 * @param {string} raw      what is in the input
 * @returns {{tags: string[], rest: string, error: string}}
 */
export function addInterests(tags, raw) {
  const result = [...tags]
  const rejected = []
  let error = ''
  let text = String(raw ?? '')
  if (typeof text.toWellFormed === 'function') text = text.toWellFormed()
  for (const piece of text.split(',')) {
    const tag = trimAscii(piece)
    if (tag === '') continue
    let why = ''
    if (hasControl(tag)) why = 'An interest cannot contain control characters.'
    else if ([...tag].length > INTEREST_MAX_CHARS) why = `An interest can be at most ${INTEREST_MAX_CHARS} characters long.`
    else if (result.some((t) => interestKey(t) === interestKey(tag))) continue
    else if (result.length >= INTERESTS_MAX) why = `You can add at most ${INTERESTS_MAX} interests.`
    if (why) {
      rejected.push(tag)
      if (!error) error = why
      continue
    }
    result.push(tag)
  }
  return { tags: result, rest: rejected.join(', '), error }
}

/**
 * What to say about the text still in the input before it becomes a tag: an
 * over-long piece, or a sixth tag. Empty when all is well.
 */
export function interestsHint(tags, draft) {
  const pieces = String(draft ?? '')
    .split(',')
    .map(trimAscii)
    .filter((p) => p !== '')
  if (pieces.some((p) => [...p].length > INTEREST_MAX_CHARS)) {
    return `An interest can be at most ${INTEREST_MAX_CHARS} characters long.`
  }
  const fresh = pieces.filter((p) => !tags.some((t) => interestKey(t) === interestKey(p)))
  if (fresh.length > 0 && tags.length + fresh.length > INTERESTS_MAX) {
    return `You can add at most ${INTERESTS_MAX} interests.`
  }
  return ''
}
