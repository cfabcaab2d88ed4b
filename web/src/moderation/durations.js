// How long a moderator can ban for (the API takes 60 s .. 365 days, in seconds).
const HOUR = 3600
const DAY = 24 * HOUR

export const BAN_DURATIONS = Object.freeze([
  { seconds: HOUR, label: '1 hour' },
  { seconds: DAY, label: '24 hours' },
  { seconds: 7 * DAY, label: '7 days' },
  { seconds: 30 * DAY, label: '30 days' },
  { seconds: 365 * DAY, label: '365 days' },
])

export const DEFAULT_BAN_SECONDS = DAY

export function durationLabel(seconds) {
  return BAN_DURATIONS.find((d) => d.seconds === seconds)?.label ?? `${seconds} s`
}
