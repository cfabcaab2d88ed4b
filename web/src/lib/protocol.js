// Wire-level rules of docs/protocol.md that the client checks before sending, plus
// the reconnect backoff schedule. Pure functions: no DOM, no socket.

/** Response codes (docs/protocol.md, "Codes"). */
export const Code = Object.freeze({
  OK: 0,
  PARAM_ERROR: 1,
  INTERNAL_ERROR: 2,
  UNKNOWN_ERROR: 3,
  NO_DATA: 4,
  FORBIDDEN: 5,
  NOT_LOGGED_IN: 6,
  UNKNOWN_CMD: 7,
  SESSION_CLOSED: 8,
  BAD_TOKEN: 9,
  ALREADY_LOGGED_IN: 10,
  FRAME_TOO_LARGE: 11,
  RATE_LIMITED: 12,
  WAITING: 13,
  BANNED: 14,
  TOO_MANY_CONVERSATIONS: 15,
})

export const NICKNAME_MAX_CHARS = 32
export const CONTENT_MAX_BYTES = 4096
export const REQUEST_ID_MAX_BYTES = 64

// The server trims exactly these (ASCII whitespace), not every Unicode space.
const EDGE_SPACE = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g

export function trimAscii(text) {
  return text.replace(EDGE_SPACE, '')
}

function isControl(cp) {
  return cp < 0x20 || cp === 0x7f || (cp >= 0x80 && cp < 0xa0)
}

/**
 * Checks a nickname as the server will: 1-32 code points after trimming surrounding
 * whitespace, no control characters.
 * @returns {{ok: true, value: string} | {ok: false, error: string}}
 */
export function validateNickname(raw) {
  const value = trimAscii(String(raw ?? ''))
  if (value === '') return { ok: false, error: 'Please enter a nickname.' }
  const chars = [...value]
  if (chars.some((c) => isControl(c.codePointAt(0)))) {
    return { ok: false, error: 'A nickname cannot contain control characters.' }
  }
  if (chars.length > NICKNAME_MAX_CHARS) {
    return {
      ok: false,
      error: `That nickname is ${chars.length} characters long; the limit is ${NICKNAME_MAX_CHARS}.`,
    }
  }
  return { ok: true, value }
}

/** REPORT reasons, in the order the report dialog offers them, with their labels. */
export const REPORT_REASONS = Object.freeze([
  { value: 'spam', label: 'Spam or advertising' },
  { value: 'harassment', label: 'Harassment or bullying' },
  { value: 'sexual', label: 'Unwanted sexual content' },
  { value: 'hate', label: 'Hate speech' },
  { value: 'underage', label: 'May be under age' },
  { value: 'other', label: 'Something else' },
])
export const REPORT_TEXT_MAX_CHARS = 500

/**
 * Checks a REPORT before it is sent: a known reason, and an optional text of at most
 * 500 characters (code points) without U+0000. Blank text is left out.
 * @returns {{ok: true, reason: string, text: string} | {ok: false, error: string}}
 */
export function validateReport(reason, rawText) {
  if (!REPORT_REASONS.some((r) => r.value === reason)) return { ok: false, error: 'Please pick a reason.' }
  let text = String(rawText ?? '')
  if (typeof text.toWellFormed === 'function') text = text.toWellFormed()
  text = trimAscii(text)
  const chars = [...text].length
  if (chars > REPORT_TEXT_MAX_CHARS) {
    return { ok: false, error: `The note is ${chars} characters long; the limit is ${REPORT_TEXT_MAX_CHARS}.` }
  }
  if (text.includes('\u0000')) return { ok: false, error: 'The note contains a NUL character.' }
  return { ok: true, reason, text }
}

export function utf8Length(text) {
  return new TextEncoder().encode(text).length
}

/**
 * Checks a message: 1-4096 bytes of UTF-8, not only whitespace, no U+0000.
 * @returns {{ok: true, value: string} | {ok: false, error: string, empty?: boolean}}
 */
export function validateContent(raw) {
  // A lone surrogate (possible in a JS string) is not valid UTF-8: replace it the way
  // the browser's encoder would, so the server never sees an invalid frame.
  let value = String(raw ?? '')
  if (typeof value.toWellFormed === 'function') value = value.toWellFormed()
  if (trimAscii(value) === '') return { ok: false, empty: true, error: 'Type a message first.' }
  if (value.includes('\u0000')) return { ok: false, error: 'The message contains a NUL character.' }
  const bytes = utf8Length(value)
  if (bytes > CONTENT_MAX_BYTES) {
    return { ok: false, error: `Too long: ${bytes} of ${CONTENT_MAX_BYTES} bytes.` }
  }
  return { ok: true, value }
}

export const BACKOFF = Object.freeze({ baseMs: 500, factor: 2, maxMs: 15000, jitter: 0.2 })

/**
 * Resending a DIALOGUE the server could not take right now (code 12 RATE_LIMITED,
 * code 2 INTERNAL_ERROR, or no answer): 1 s, 2 s, 4 s, 8 s, then 15 s, same jitter.
 */
export const RESEND_BACKOFF = Object.freeze({ baseMs: 1000, factor: 2, maxMs: 15000, jitter: 0.2 })

/**
 * Delay before reconnect attempt number `attempt` (0 for the first): 0.5 s, 1 s, 2 s,
 * 4 s, 8 s, then 15 s for good, each spread by up to ±20 % so that many clients cut
 * off at once do not come back in lockstep. `random` returns [0, 1); 0.5 means no jitter.
 */
export function reconnectDelay(attempt, random = Math.random, opts = BACKOFF) {
  const exp = Math.min(opts.maxMs, opts.baseMs * opts.factor ** Math.max(0, attempt))
  const spread = 1 + opts.jitter * (2 * random() - 1)
  return Math.round(Math.min(opts.maxMs, exp * spread))
}
