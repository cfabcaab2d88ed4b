// Checking a hand-made ban before it is sent (src/moderation/ban-form.js).
import { describe, expect, it } from 'vitest'
import { isAddress, validateBanForm } from '../src/moderation/ban-form.js'

const DAY = 86400
const form = (fields) => ({ accountId: '', address: '', duration: DAY, reason: 'spam', ...fields })

describe('validateBanForm', () => {
  it('builds the API body from an account id, an address or both, trimmed', () => {
    expect(validateBanForm(form({ accountId: ' 23 ' }))).toEqual({ ban: { accountId: 23, duration: DAY, reason: 'spam' } })
    expect(validateBanForm(form({ address: ' 10.0.0.2 ', reason: '  flood ' }))).toEqual({
      ban: { address: '10.0.0.2', duration: DAY, reason: 'flood' },
    })
    expect(validateBanForm(form({ accountId: '5', address: '2001:db8::1' })).ban).toEqual({
      accountId: 5,
      address: '2001:db8::1',
      duration: DAY,
      reason: 'spam',
    })
  })

  it('names the problem and the field to fix', () => {
    expect(validateBanForm(form({}))).toEqual({ error: 'Enter an account id, an address, or both.', field: 'accountId' })
    for (const accountId of ['abc', '0', '-3', '1.5', '99999999999999999999'])
      expect(validateBanForm(form({ accountId })).field, accountId).toBe('accountId')
    expect(validateBanForm(form({ address: 'example.com' }))).toMatchObject({ field: 'address', error: /not an IP address/ })
    expect(validateBanForm(form({ address: '10.0.0.2', duration: 5 }))).toMatchObject({ field: 'duration' })
    expect(validateBanForm(form({ address: '10.0.0.2', reason: '   ' }))).toMatchObject({ field: 'reason' })
    expect(validateBanForm(form({ address: '10.0.0.2', reason: 'x'.repeat(201) }))).toEqual({
      error: 'The reason is 201 characters long; the limit is 200.',
      field: 'reason',
    })
    expect(validateBanForm(form({ address: '10.0.0.2', reason: 'é'.repeat(200) })).ban).toBeDefined()
  })
})

describe('isAddress', () => {
  it('takes IPv4 and IPv6 addresses and refuses names, ports and out-of-range numbers', () => {
    for (const ok of ['127.0.0.1', '203.0.113.7', '::1', '2001:db8::1', '::ffff:10.0.0.1']) expect(isAddress(ok), ok).toBe(true)
    for (const bad of ['', 'localhost', '10.0.0', '10.0.0.256', '10.0.0.1:8080', '1:2', 'zz::1'])
      expect(isAddress(bad), bad).toBe(false)
  })
})
