// The TYPING sender alone, on fake timers: what goes out when, and never more than
// the broker relays (docs/protocol.md, TYPING).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createTypingSender } from '../src/lib/typing.js'

beforeEach(() => vi.useFakeTimers())
afterEach(() => vi.useRealTimers())

function makeSender() {
  const frames = [] // [ms since start, typing]
  const started = Date.now()
  let online = true
  const sender = createTypingSender({
    send: (typing) => {
      if (!online) return false
      frames.push([Date.now() - started, typing])
      return true
    },
    setTimer: (fn, ms) => setTimeout(fn, ms),
    clearTimer: (t) => clearTimeout(t),
    now: () => Date.now(),
  })
  return { sender, frames, setOnline: (v) => (online = v) }
}

/** A keystroke every `everyMs` for `forMs`. */
function keepTyping(sender, forMs, everyMs = 200) {
  for (let t = 0; t < forMs; t += everyMs) {
    sender.input(true)
    vi.advanceTimersByTime(everyMs)
  }
}

describe('the TYPING sender', () => {
  it('sends true at the first key, refreshes every 3 s while typing, false after 4 s idle', () => {
    const { sender, frames } = makeSender()
    keepTyping(sender, 7000)
    expect(frames).toEqual([
      [0, true],
      [3000, true],
      [6000, true],
    ])
    vi.advanceTimersByTime(3799) // the last key was at 6800
    expect(frames).toHaveLength(3)
    vi.advanceTimersByTime(1)
    expect(frames[3]).toEqual([10800, false])
    vi.advanceTimersByTime(60000)
    expect(frames).toHaveLength(4)
  })

  it('sends false at once when the message is sent or the box emptied, and nothing if never typing', () => {
    const { sender, frames } = makeSender()
    sender.stop()
    sender.input(false)
    expect(frames).toEqual([])
    sender.input(true)
    vi.advanceTimersByTime(500)
    sender.stop() // sent
    expect(frames).toEqual([
      [0, true],
      [500, false],
    ])
    vi.advanceTimersByTime(1000)
    sender.input(true)
    vi.advanceTimersByTime(300)
    sender.input(false) // box emptied
    expect(frames.slice(2)).toEqual([
      [1500, true],
      [1800, false],
    ])
    vi.advanceTimersByTime(10000) // no idle false after a false
    expect(frames).toHaveLength(4)
  })

  it('never sends more than 3 frames a second; a change held back goes out when the second is over', () => {
    const { sender, frames } = makeSender()
    // Someone sending short messages quickly: type, send, type, send ...
    for (let i = 0; i < 5; i++) {
      sender.input(true)
      vi.advanceTimersByTime(50)
      sender.stop()
      vi.advanceTimersByTime(50)
    }
    vi.advanceTimersByTime(2000)
    for (let i = 0; i < frames.length; i++) {
      const inSecond = frames.filter(([t]) => t > frames[i][0] - 1000 && t <= frames[i][0])
      expect(inSecond.length).toBeLessThanOrEqual(3)
    }
    // The partner saw typing from 100 ms; the person stopped at 450 ms (sent their last
    // message): that goes out as soon as the second is over, once.
    expect(frames).toEqual([
      [0, true],
      [50, false],
      [100, true],
      [1000, false],
    ])
  })

  it('a held-back state that is already what the partner sees is not sent again', () => {
    const { sender, frames } = makeSender()
    for (let i = 0; i < 3; i++) {
      sender.input(true)
      vi.advanceTimersByTime(50)
      sender.stop()
      vi.advanceTimersByTime(50)
    }
    sender.input(true) // at 300 ms: true was sent at 100, false is held back, now true again
    vi.advanceTimersByTime(1000)
    expect(frames).toEqual([
      [0, true],
      [50, false],
      [100, true],
    ])
  })

  it('does not repeat a state within 1 s, however fast the keys come', () => {
    const { sender, frames } = makeSender()
    keepTyping(sender, 2900, 20)
    expect(frames).toEqual([[0, true]])
  })

  it('after a reset (connection lost) starts over with true at the next key', () => {
    const { sender, frames, setOnline } = makeSender()
    sender.input(true)
    setOnline(false)
    sender.reset()
    vi.advanceTimersByTime(5000)
    expect(frames).toEqual([[0, true]]) // no idle false into a dead socket
    setOnline(true)
    sender.input(true)
    expect(frames).toEqual([
      [0, true],
      [5000, true],
    ])
  })
})
