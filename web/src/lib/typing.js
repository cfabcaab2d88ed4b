// "Typing…" in both directions (docs/protocol.md, TYPING and PUSH_TYPING).
//
// Outgoing, per conversation: typing:true when the person starts, again every
// refreshMs while they go on (the partner's client hides the indicator ~6 s after the
// last true), typing:false after idleMs without a keystroke, on send and when the box
// is emptied. The broker drops a repeat of the same state within 1 s and answers code
// 12 beyond 4 frames a second, so a state is only sent when it changes (or is due for
// its refresh), and never more than MAX_PER_SECOND times a second: a change that
// would exceed it goes out when the second is over, if it still holds then.

export const TYPING_REFRESH_MS = 3000
export const TYPING_IDLE_MS = 4000
/** How long the partner's "typing" shows without a fresh typing:true. */
export const TYPING_SHOW_MS = 6000
export const MAX_PER_SECOND = 3

/**
 * @param {object} o
 * @param {(typing: boolean) => boolean} o.send   sends TYPING; false if it could not
 * @param {Function} o.setTimer
 * @param {Function} o.clearTimer
 * @param {() => number} o.now
 */
export function createTypingSender({ send, setTimer, clearTimer, now, refreshMs = TYPING_REFRESH_MS, idleMs = TYPING_IDLE_MS }) {
  let want = false // what the person is doing
  let sent = false // what the partner was last told
  let sentAt = 0
  let recent = [] // times of the frames sent within the last second
  let idleTimer = null
  let laterTimer = null

  function clearTimers() {
    if (idleTimer !== null) clearTimer(idleTimer)
    if (laterTimer !== null) clearTimer(laterTimer)
    idleTimer = null
    laterTimer = null
  }

  function sync() {
    if (laterTimer !== null) return // a frame is already planned; it sends the state of then
    const t = now()
    const due = want !== sent || (want && t - sentAt >= refreshMs)
    if (!due) return
    recent = recent.filter((at) => t - at < 1000)
    if (recent.length >= MAX_PER_SECOND) {
      laterTimer = setTimer(() => {
        laterTimer = null
        sync()
      }, 1000 - (t - recent[0]))
      return
    }
    if (send(want)) {
      sent = want
      sentAt = t
      recent.push(t)
    }
  }

  function stop() {
    want = false
    if (idleTimer !== null) clearTimer(idleTimer)
    idleTimer = null
    sync()
  }

  return {
    /** A keystroke; `hasText` is false when the box is empty afterwards. */
    input(hasText) {
      if (!hasText) return stop()
      want = true
      if (idleTimer !== null) clearTimer(idleTimer)
      idleTimer = setTimer(() => {
        idleTimer = null
        stop()
      }, idleMs)
      return sync()
    },
    /** The message was sent, or the person stopped. */
    stop,
    /** The connection or the conversation is gone: the partner's side times out by itself. */
    reset() {
      clearTimers()
      want = false
      sent = false
      recent = []
    },
  }
}
