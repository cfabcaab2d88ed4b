import { describe, expect, it } from 'vitest'
import { addInterests, interestsHint } from '../src/lib/interests.js'
import { validateReport } from '../src/lib/protocol.js'

describe('interest tags', () => {
  it('trims, splits on commas and skips empty pieces', () => {
    expect(addInterests([], '  music ')).toEqual({ tags: ['music'], rest: '', error: '' })
    expect(addInterests(['music'], 'chess, ,go,, ')).toEqual({ tags: ['music', 'chess', 'go'], rest: '', error: '' })
    expect(addInterests(['music'], '   ')).toEqual({ tags: ['music'], rest: '', error: '' })
  })

  it('ignores duplicates case-insensitively, keeping the first spelling', () => {
    expect(addInterests(['Music'], 'music, MUSIC, chess, Chess').tags).toEqual(['Music', 'chess'])
    expect(addInterests(['Music'], 'MUSIC').error).toBe('')
  })

  it('takes at most 5; the rest stays in the box with a hint', () => {
    const four = ['a', 'b', 'c', 'd']
    expect(addInterests(four, 'e, f, g')).toEqual({
      tags: ['a', 'b', 'c', 'd', 'e'],
      rest: 'f, g',
      error: 'You can add at most 5 interests.',
    })
    // a duplicate of one of the five is no sixth tag
    expect(addInterests([...four, 'e'], 'A').error).toBe('')
  })

  it('counts characters, not bytes or UTF-16 units: 24 is the limit', () => {
    const ok = '🎸'.repeat(24) // 48 UTF-16 units, 96 bytes, 24 characters
    expect(addInterests([], ok).tags).toEqual([ok])
    const long = 'x'.repeat(25)
    expect(addInterests([], `chess, ${long}`)).toEqual({
      tags: ['chess'],
      rest: long,
      error: 'An interest can be at most 24 characters long.',
    })
  })

  it('refuses control characters', () => {
    const r = addInterests([], 'a\u0007b')
    expect(r.tags).toEqual([])
    expect(r.error).toMatch(/control characters/)
  })

  it('hints while typing: a piece too long, or one tag too many', () => {
    expect(interestsHint([], 'x'.repeat(24))).toBe('')
    expect(interestsHint([], 'x'.repeat(25))).toMatch(/at most 24 characters/)
    expect(interestsHint(['a', 'b', 'c', 'd', 'e'], 'f')).toMatch(/at most 5 interests/)
    expect(interestsHint(['a', 'b', 'c', 'd', 'e'], 'A')).toBe('') // a duplicate adds nothing
    expect(interestsHint(['a', 'b', 'c', 'd', 'e'], '')).toBe('')
  })
})

describe('report checks', () => {
  it('needs a known reason and at most 500 characters of note', () => {
    expect(validateReport('spam', '')).toEqual({ ok: true, reason: 'spam', text: '' })
    expect(validateReport('harassment', '  rude  ')).toEqual({ ok: true, reason: 'harassment', text: 'rude' })
    expect(validateReport('', 'x').ok).toBe(false)
    expect(validateReport('rude', 'x').ok).toBe(false)
    expect(validateReport('other', '😀'.repeat(500)).ok).toBe(true)
    expect(validateReport('other', 'x'.repeat(501))).toMatchObject({ ok: false, error: expect.stringMatching(/501.*500/) })
    expect(validateReport('other', 'a\u0000b').ok).toBe(false)
  })
})
