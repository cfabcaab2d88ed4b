import { describe, expect, it } from 'vitest'
import { reconnectDelay, validateContent, validateNickname } from '../src/lib/protocol.js'

describe('nickname validation', () => {
  it('refuses an empty or blank nickname', () => {
    expect(validateNickname('')).toEqual({ ok: false, error: 'Please enter a nickname.' })
    expect(validateNickname('   \t ').ok).toBe(false)
    expect(validateNickname(undefined).ok).toBe(false)
  })

  it('trims surrounding whitespace and keeps the rest', () => {
    expect(validateNickname('  alice smith \n')).toEqual({ ok: true, value: 'alice smith' })
  })

  it('allows 32 characters and refuses 33, counted after trimming', () => {
    expect(validateNickname('a'.repeat(32)).ok).toBe(true)
    expect(validateNickname(`  ${'a'.repeat(32)}  `).ok).toBe(true)
    const tooLong = validateNickname('a'.repeat(33))
    expect(tooLong.ok).toBe(false)
    expect(tooLong.error).toMatch(/33 characters.*limit is 32/)
  })

  it('counts code points, not UTF-16 units or bytes', () => {
    expect(validateNickname('😀'.repeat(32)).ok).toBe(true) // 64 UTF-16 units
    expect(validateNickname('ü'.repeat(32)).ok).toBe(true) // 64 bytes
    expect(validateNickname('😀'.repeat(33)).ok).toBe(false)
  })

  it('refuses control characters', () => {
    expect(validateNickname('al\u0007ice').error).toMatch(/control characters/)
    expect(validateNickname('al\nice').ok).toBe(false)
    expect(validateNickname('a\u0085b').ok).toBe(false)
  })

  it('trims only ASCII whitespace, as the server does', () => {
    expect(validateNickname('\u00a0bob\u00a0')).toEqual({ ok: true, value: '\u00a0bob\u00a0' })
  })
})

describe('content validation', () => {
  it('refuses empty and whitespace-only messages', () => {
    expect(validateContent('').ok).toBe(false)
    expect(validateContent(' \n\t ').empty).toBe(true)
  })

  it('allows up to 4096 bytes of UTF-8', () => {
    expect(validateContent('x'.repeat(4096)).ok).toBe(true)
    expect(validateContent('x'.repeat(4097)).ok).toBe(false)
    expect(validateContent('é'.repeat(2048)).ok).toBe(true) // 4096 bytes
    expect(validateContent('é'.repeat(2049)).error).toMatch(/4098 of 4096 bytes/)
  })

  it('refuses U+0000', () => {
    expect(validateContent('a\u0000b').ok).toBe(false)
  })

  it('keeps markup as it is (it is shown as text, never interpreted)', () => {
    expect(validateContent('<b>hi</b>')).toEqual({ ok: true, value: '<b>hi</b>' })
  })
})

describe('reconnect backoff', () => {
  it('doubles from 0.5 s up to a 15 s cap', () => {
    const noJitter = () => 0.5
    const schedule = Array.from({ length: 8 }, (_, i) => reconnectDelay(i, noJitter))
    expect(schedule).toEqual([500, 1000, 2000, 4000, 8000, 15000, 15000, 15000])
  })

  it('spreads each delay by at most 20 %, never above the cap', () => {
    expect(reconnectDelay(0, () => 0)).toBe(400)
    expect(reconnectDelay(0, () => 0.999999)).toBe(600)
    expect(reconnectDelay(3, () => 0)).toBe(3200)
    expect(reconnectDelay(10, () => 0.999999)).toBe(15000)
    expect(reconnectDelay(10, () => 0)).toBe(12000)
  })
})
