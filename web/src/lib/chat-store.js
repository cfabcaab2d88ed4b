// The whole client side of docs/protocol.md as plain state plus actions. It knows
// nothing about the DOM: the socket, storage and timers are passed in, so the tests
// drive it with a fake socket and fake timers, and the Vue components only render
// `state` and call the actions.
import { reactive } from 'vue'
import { Code, reconnectDelay, RESEND_BACKOFF, validateContent, validateNickname, validateReport } from './protocol.js'
import { createTypingSender, TYPING_SHOW_MS } from './typing.js'

const SOCKET_OPEN = 1
const STORAGE_KEY = 'chat.account'

/**
 * @param {object} options
 * @param {(url: string) => WebSocket} options.createSocket  makes a WebSocket-like object
 * @param {string} options.url                  ws://host/ws
 * @param {Storage} [options.storage]           sessionStorage (keeps the token across reloads)
 * @param {Function} [options.setTimer]         setTimeout
 * @param {Function} [options.clearTimer]       clearTimeout
 * @param {() => number} [options.now]          Date.now
 * @param {() => number} [options.random]       Math.random (backoff jitter, request ids)
 * @param {number} [options.requestTimeoutMs]   how long a request may stay unanswered
 * @param {number} [options.noticeMs]           how long a notice stays up
 * @param {number} [options.ackDelayMs]         ACKs and VIEWED_ACKs are coalesced over this long
 * @param {number} [options.keepaliveMs]        the client PINGs this often; a socket silent
 *                                              for 2.5 times as long is taken for dead
 * @param {number} [options.maxAutoResends]     how often a message the server could not take
 *                                              (codes 2, 12, no answer) is resent on its own
 *                                              before it shows "Not sent" with a Retry button
 * @param {number} [options.lostNoticeMs]       after a RECONNECT, how long to wait for the
 *                                              resumed PartnerExit signals before saying that
 *                                              chats ended for an unknown reason
 * @param {number} [options.typingShowMs]       the partner's "typing" shows this long
 *                                              without a fresh typing:true
 */
export function createChatStore(options) {
  const {
    createSocket,
    url,
    storage = null,
    setTimer = (fn, ms) => setTimeout(fn, ms),
    clearTimer = (t) => clearTimeout(t),
    now = () => Date.now(),
    random = Math.random,
    requestTimeoutMs = 10000,
    noticeMs = 8000,
    ackDelayMs = 60,
    keepaliveMs = 20000,
    maxAutoResends = 8,
    lostNoticeMs = 2000,
    typingShowMs = TYPING_SHOW_MS,
  } = options

  const state = reactive({
    screen: 'login', // 'login' | 'chat'
    accountId: 0,
    nickName: '',
    loginBusy: false,
    loginError: '', // why the last login attempt failed
    loginInfo: '', // shown on the nickname screen, e.g. after a refused RECONNECT
    connection: 'offline', // 'connecting' | 'connected' | 'reconnecting' | 'offline'
    networkOnline: true,
    reconnectAttempt: 0, // attempts since the connection dropped
    nextRetryAt: 0, // epoch ms of the next reconnect attempt, 0 when none is planned
    replaced: false, // the account was taken over by another connection (close 4001)
    matching: false, // a MATCH is in flight
    waiting: false, // MATCH answered 13: the server matches us as soon as it can
    cancelling: false, // a CANCEL_MATCH is in flight
    interests: [], // tags sent with MATCH (and with the MATCH of "Next")
    bannedUntil: 0, // epoch ms: MATCH answered 14, matching is refused until then
    loggingOut: false,
    notice: null, // {id, text, kind: 'info'|'success'|'warning'|'error', action}
    sessions: [], // conversations, in the order they opened
    activeSessionId: 0, // the conversation shown on a narrow screen
    pageActive: true, // page visible and focused
  })

  let token = ''
  let socket = null
  let openWaiters = [] // {resolve, reject} waiting for the current socket to open
  const waiting = new Map() // cmd -> [{resolve, reject, timer, dead}] in send order
  const dialogues = new Map() // requestId -> {sessionId, key}: every DIALOGUE ever sent
  const dialogueTimers = new Map() // requestId -> timer while a reply is outstanding
  // The outbox is every own message still 'pending' with no DIALOGUE in flight: typed
  // while disconnected, cut off by a drop, or refused for a passing reason. It goes out
  // in the order typed once connected and no resend backoff is running.
  let resendTimer = null // backoff after code 12 / code 2 / no answer
  let resendAttempt = 0
  let ackRetryTimer = null // a VIEWED_ACK that did not get through is tried again
  let lostNoticeTimer = null
  let deliveryAcksHeld = false // test hook: no delivery ACKs while set
  let offlineUntil = 0 // test hook: dropConnection({offlineMs}) keeps the client away
  const closedSessions = new Set() // windows the person closed: late pushes stay out
  let reconnectTimer = null
  let reconnecting = false // a reconnect attempt is in progress
  let noticeTimer = null
  let noticeSeq = 0
  let messageSeq = 0
  let requestSeq = 0
  let ackTimer = null
  let keepaliveTimer = null
  let lastFrameAt = 0
  let banTimer = null
  const typingSenders = new Map() // sessionId -> our TYPING state for that conversation
  const partnerTypingTimers = new Map() // sessionId -> hides the partner's "typing"
  const requestPrefix = Array.from({ length: 4 }, () =>
    Math.floor(random() * 0x10000).toString(16).padStart(4, '0'),
  ).join('')

  // ------------------------------------------------------------------ helpers

  function findSession(sessionId) {
    return state.sessions.find((s) => s.id === sessionId) || null
  }

  function isConnected() {
    return state.connection === 'connected' && socket !== null && socket.readyState === SOCKET_OPEN
  }

  function send(frame) {
    if (!socket || socket.readyState !== SOCKET_OPEN) return false
    socket.send(JSON.stringify(frame))
    return true
  }

  function notify(text, { kind = 'info', action = null, sticky = false } = {}) {
    if (noticeTimer !== null) clearTimer(noticeTimer)
    noticeTimer = null
    state.notice = { id: ++noticeSeq, text, kind, action }
    if (!sticky) {
      const id = state.notice.id
      noticeTimer = setTimer(() => {
        noticeTimer = null
        if (state.notice && state.notice.id === id) state.notice = null
      }, noticeMs)
    }
  }

  function dismissNotice() {
    if (noticeTimer !== null) clearTimer(noticeTimer)
    noticeTimer = null
    state.notice = null
  }

  function saveAccount() {
    if (!storage) return
    try {
      storage.setItem(
        STORAGE_KEY,
        JSON.stringify({ accountId: state.accountId, nickName: state.nickName, token }),
      )
    } catch {
      // Storage may be full or disabled; the token still lives in memory.
    }
  }

  function loadAccount() {
    if (!storage) return null
    try {
      const saved = JSON.parse(storage.getItem(STORAGE_KEY) || 'null')
      if (saved && Number.isInteger(saved.accountId) && saved.accountId > 0 && typeof saved.token === 'string') {
        return saved
      }
    } catch {
      // A damaged entry is as good as none.
    }
    return null
  }

  function forgetAccount() {
    token = ''
    state.accountId = 0
    state.nickName = ''
    if (storage) {
      try {
        storage.removeItem(STORAGE_KEY)
      } catch {
        // Nothing to clean up then.
      }
    }
  }

  // ------------------------------------------------------------------ socket

  function openSocket() {
    const ws = createSocket(url)
    socket = ws
    ws.onopen = () => {
      if (socket !== ws) return
      lastFrameAt = now()
      startKeepalive()
      const waiters = openWaiters
      openWaiters = []
      waiters.forEach((w) => w.resolve())
    }
    ws.onmessage = (event) => {
      if (socket !== ws) return
      lastFrameAt = now()
      handleFrame(event.data)
    }
    ws.onerror = () => {
      // A close event always follows; that is where the drop is handled.
    }
    ws.onclose = (event) => {
      if (socket !== ws) return
      socket = null
      handleClose(event || {})
    }
  }

  /** Resolves once the page's one socket is open, opening it if there is none. */
  function ensureSocket() {
    if (socket && socket.readyState === SOCKET_OPEN) return Promise.resolve()
    return new Promise((resolve, reject) => {
      openWaiters.push({ resolve, reject })
      if (!socket) openSocket()
    })
  }

  /** Gives up on the socket at once, without waiting for a close handshake. */
  function abandonSocket(code) {
    const ws = socket
    if (!ws) return
    socket = null
    try {
      ws.close(code, 'abandoned')
    } catch {
      // already closing
    }
    handleClose({ code })
  }

  // Our own PINGs keep an idle connection alive whatever the server's ping settings,
  // and a connection that answers nothing at all (a half-open TCP connection after a
  // network change) is noticed and replaced.
  function startKeepalive() {
    if (keepaliveTimer !== null) clearTimer(keepaliveTimer)
    keepaliveTimer = setTimer(() => {
      keepaliveTimer = null
      if (!socket || socket.readyState !== SOCKET_OPEN) return
      if (now() - lastFrameAt > keepaliveMs * 2.5) {
        abandonSocket(4000)
        return
      }
      send({ cmd: 'PING' })
      startKeepalive()
    }, keepaliveMs)
  }

  function handleClose(event) {
    if (keepaliveTimer !== null) clearTimer(keepaliveTimer)
    keepaliveTimer = null
    const waiters = openWaiters
    openWaiters = []
    waiters.forEach((w) => w.reject(new Error('closed')))
    for (const [, queue] of waiting) {
      for (const entry of queue) {
        if (entry.timer !== null) clearTimer(entry.timer)
        if (!entry.dead) entry.reject(new Error('closed'))
      }
    }
    waiting.clear()
    // Messages whose DIALOGUE got no reply stay pending: they go out again, with the
    // same requestId, after the RECONNECT (stored at most once, docs/protocol.md).
    for (const [, timer] of dialogueTimers) clearTimer(timer)
    dialogueTimers.clear()
    if (resendTimer !== null) clearTimer(resendTimer)
    resendTimer = null
    // The broker forgets typing with the connection; the partner's side times out.
    for (const sender of typingSenders.values()) sender.reset()

    if (!state.accountId || state.loggingOut) {
      state.connection = 'offline'
      return
    }
    if (event.code === 4001) {
      // Another connection took this account over (RECONNECT elsewhere). Coming back
      // on our own would throw that one out in turn: wait for the person to decide.
      state.replaced = true
      state.connection = 'offline'
      notify('This chat was opened in another tab or window.', {
        kind: 'warning',
        action: 'reconnect',
        sticky: true,
      })
      return
    }
    if (event.code === 1012 && state.connection === 'connected') {
      // The broker is restarting ("service restart"): come back at once, spread over a
      // quarter second so that its clients do not all knock in the same millisecond.
      // (Only from a working connection: a broker that keeps closing gets the backoff.)
      scheduleReconnect(Math.round(250 * random()))
      return
    }
    scheduleReconnect()
  }

  // ------------------------------------------------------------------ requests

  /** Sends a request answered by a response with the same cmd (not DIALOGUE). */
  function request(cmd, body, timeoutMs = requestTimeoutMs) {
    return new Promise((resolve, reject) => {
      if (!send({ cmd, ...body })) {
        reject(new Error('closed'))
        return
      }
      const entry = { resolve, reject, timer: null, dead: false }
      // A request that timed out stays in the queue, dead, so that its late response
      // is swallowed instead of answering the next request with the same cmd.
      entry.timer = setTimer(() => {
        entry.timer = null
        entry.dead = true
        reject(new Error('timeout'))
      }, timeoutMs)
      if (!waiting.has(cmd)) waiting.set(cmd, [])
      waiting.get(cmd).push(entry)
    })
  }

  function handleResponse(frame) {
    const queue = waiting.get(frame.cmd)
    if (!queue || queue.length === 0) return
    const entry = queue.shift()
    if (entry.timer !== null) clearTimer(entry.timer)
    if (!entry.dead) entry.resolve(frame)
  }

  // ------------------------------------------------------------------ frames

  function handleFrame(data) {
    let frame
    try {
      frame = JSON.parse(data)
    } catch {
      return
    }
    if (!frame || typeof frame !== 'object' || typeof frame.cmd !== 'string') return
    switch (frame.cmd) {
      case 'PING':
        send({ cmd: 'PONG', accountId: state.accountId || frame.accountId || 0 })
        return
      case 'PONG':
        return
      case 'PUSH_DIALOGUE':
        onPushDialogue(frame)
        return
      case 'PUSH_SIGNAL':
        if (frame.signalType === 'NewSession') onNewSession(frame)
        else if (frame.signalType === 'PartnerExit') onPartnerExit(frame)
        else if (frame.signalType === 'PartnerAway') onPartnerAway(frame, true)
        else if (frame.signalType === 'PartnerBack') onPartnerAway(frame, false)
        return
      case 'PUSH_VIEWED_ACK':
        onPushViewedAck(frame)
        return
      case 'PUSH_TYPING':
        onPushTyping(frame)
        return
      case 'TYPING':
        onTypingRefused(frame)
        return
      case 'DIALOGUE':
        onDialogueReply(frame)
        return
      default:
        handleResponse(frame)
    }
  }

  // ------------------------------------------------------------------ sessions

  /** The shared interests of a MATCH reply, NewSession or RECONNECT entry, if any. */
  function interestList(value) {
    return Array.isArray(value) ? value.filter((v) => typeof v === 'string' && v !== '') : []
  }

  function addSession({ id, partnerId, partnerName, origin, commonInterests }) {
    let session = findSession(id)
    if (session) {
      if (partnerName && session.partnerName !== partnerName) session.partnerName = partnerName
      if (partnerId && !session.partnerId) session.partnerId = partnerId
      if (interestList(commonInterests).length) session.commonInterests = interestList(commonInterests)
      return session
    }
    session = reactive({
      id,
      partnerId: partnerId || 0,
      partnerName: partnerName || 'Stranger',
      origin, // 'matched' | 'incoming' | 'restored'
      openedAt: now(),
      commonInterests: interestList(commonInterests),
      ended: false,
      // 'left' (the partner) | 'self' (LEAVE) | 'blocked' | 'reported' | 'ended' (over,
      // reason not known yet) | 'lost' (ended while we were away)
      endReason: '',
      busy: '', // 'LEAVE' | 'BLOCK' | 'REPORT' while that request is in flight
      partnerTyping: false,
      messages: [],
      unread: 0,
      partnerAway: false, // the partner's connection dropped; they may come back
      lastSeen: 0, // newest partner msgId the person has seen
      lastAckSent: 0, // newest msgId we sent a VIEWED_ACK for
      viewedAcked: 0, // newest msgId the server confirmed a VIEWED_ACK for
      delivered: 0, // newest partner msgId received
      deliveryAcked: 0, // newest msgId we sent a delivery ACK for
      peerReadUpTo: 0, // the partner has read our messages up to this msgId
      visible: false, // the window is on screen (set by the view)
    })
    state.sessions.push(session)
    if (!state.activeSessionId || !findSession(state.activeSessionId)) state.activeSessionId = id
    return state.sessions[state.sessions.length - 1]
  }

  function endSession(session, reason) {
    if (session.ended) return
    session.ended = true
    session.endReason = reason
    session.partnerAway = false
    setPartnerTyping(session, false)
    const sender = typingSenders.get(session.id)
    if (sender) sender.reset()
    typingSenders.delete(session.id)
  }

  function closeSession(sessionId) {
    const index = state.sessions.findIndex((s) => s.id === sessionId)
    if (index < 0 || !state.sessions[index].ended) return false
    state.sessions.splice(index, 1)
    closedSessions.add(sessionId)
    if (state.activeSessionId === sessionId) {
      const next = state.sessions[Math.min(index, state.sessions.length - 1)]
      state.activeSessionId = next ? next.id : 0
    }
    return true
  }

  function setActiveSession(sessionId) {
    if (findSession(sessionId)) state.activeSessionId = sessionId
  }

  function onNewSession(frame) {
    const data = frame.data || {}
    if (!Number.isInteger(frame.sessionId) || closedSessions.has(frame.sessionId)) return
    // Someone matched us: if we were waiting (MATCH answered 13), this is the match.
    state.waiting = false
    const known = findSession(frame.sessionId)
    const session = addSession({
      id: frame.sessionId,
      partnerId: data.accountId || frame.senderId,
      partnerName: data.nickName,
      origin: 'incoming',
      commonInterests: data.commonInterests,
    })
    if (!known) notify(`${session.partnerName} matched with you. Say hello!`, { kind: 'success' })
  }

  // The partner's connection dropped (PartnerAway) or came back (PartnerBack); the
  // session stays open meanwhile and messages wait for them on the server.
  function onPartnerAway(frame, away) {
    const session = findSession(frame.sessionId)
    if (!session || session.ended) return
    session.partnerAway = away
  }

  function onPartnerExit(frame) {
    const session = findSession(frame.sessionId)
    if (!session) return
    // A session the RECONNECT reply no longer listed was marked over ('ended', or 'lost'
    // a while later); the PartnerExit that the resume pushes says what happened to it.
    // One we ended ourselves (LEAVE, BLOCK, REPORT) keeps saying so.
    if (session.ended && session.endReason !== 'ended' && session.endReason !== 'lost') return
    if (session.ended) session.endReason = 'left'
    else endSession(session, 'left')
    notify(`${session.partnerName} left the chat.`, { kind: 'info' })
  }

  // ------------------------------------------------------------------ typing

  function setPartnerTyping(session, typing) {
    const timer = partnerTypingTimers.get(session.id)
    if (timer !== undefined) clearTimer(timer)
    partnerTypingTimers.delete(session.id)
    session.partnerTyping = typing
    if (!typing) return
    // Best effort: a lost typing:false must not leave "typing…" up for good.
    partnerTypingTimers.set(
      session.id,
      setTimer(() => {
        partnerTypingTimers.delete(session.id)
        session.partnerTyping = false
      }, typingShowMs),
    )
  }

  function onPushTyping(frame) {
    const session = findSession(frame.sessionId)
    if (!session || session.ended || frame.accountId === state.accountId) return
    setPartnerTyping(session, frame.typing === true)
  }

  // TYPING is answered only when refused. 8: the conversation is over (its PartnerExit
  // may still be on the way and then says why). 12 and the rest: typing is best effort.
  function onTypingRefused(frame) {
    const session = findSession(frame.sessionId)
    if (session && frame.code === Code.SESSION_CLOSED) endSession(session, 'ended')
  }

  function typingSender(sessionId) {
    let sender = typingSenders.get(sessionId)
    if (!sender) {
      sender = createTypingSender({
        send: (typing) => {
          const session = findSession(sessionId)
          if (!session || session.ended || !isConnected()) return false
          return send({ cmd: 'TYPING', sessionId, typing })
        },
        setTimer,
        clearTimer,
        now,
      })
      typingSenders.set(sessionId, sender)
    }
    return sender
  }

  /** The person edited the message box of a conversation; `text` is what it holds now. */
  function noteTyping(sessionId, text) {
    const session = findSession(sessionId)
    if (!session || session.ended) return
    typingSender(sessionId).input(String(text ?? '').trim() !== '')
  }

  // ------------------------------------------------------------------ messages

  /** Orders confirmed messages by msgId; unconfirmed ones follow in the order typed. */
  function compareMessages(a, b) {
    const aHas = a.msgId !== null
    const bHas = b.msgId !== null
    if (aHas && bHas) return a.msgId - b.msgId || a.seq - b.seq
    if (aHas !== bHas) return aHas ? -1 : 1
    return a.seq - b.seq
  }

  function sortMessages(session) {
    session.messages.sort(compareMessages)
  }

  function messageFor(requestId) {
    const ref = dialogues.get(requestId)
    if (!ref) return null
    const session = findSession(ref.sessionId)
    return session ? session.messages.find((m) => m.key === ref.key) || null : null
  }

  function isRead(session, message) {
    return message.mine && message.msgId !== null && message.msgId <= session.peerReadUpTo
  }

  function newestPartnerMsgId(session) {
    let newest = 0
    for (const m of session.messages) if (!m.mine && m.msgId > newest) newest = m.msgId
    return newest
  }

  function recountUnread(session) {
    session.unread = session.messages.filter((m) => !m.mine && m.msgId > session.lastSeen).length
  }

  function onPushDialogue(frame) {
    if (!Number.isInteger(frame.sessionId) || !Number.isInteger(frame.msgId)) return
    if (closedSessions.has(frame.sessionId)) return
    // A message can only come from a partner; should it beat its NewSession signal,
    // the window opens now and takes the partner's name when the signal arrives.
    const session =
      findSession(frame.sessionId) ||
      addSession({ id: frame.sessionId, partnerId: frame.senderId, origin: 'incoming' })
    if (frame.senderId !== state.accountId && frame.msgId > session.delivered) session.delivered = frame.msgId
    if (frame.senderId !== state.accountId) setPartnerTyping(session, false) // their message is here
    scheduleAcks() // a redelivered message is acked again, or it comes back next time
    if (session.messages.some((m) => m.msgId === frame.msgId)) return // shown already
    session.messages.push(
      reactive({
        key: `m${++messageSeq}`,
        seq: messageSeq,
        msgId: frame.msgId,
        mine: frame.senderId === state.accountId,
        content: String(frame.content ?? ''),
        state: 'sent',
        requestId: null,
        error: '',
        at: now(),
      }),
    )
    sortMessages(session)
    if (isViewed(session)) markSeen(session)
    else recountUnread(session)
  }

  function onPushViewedAck(frame) {
    const session = findSession(frame.sessionId)
    if (!session || !Number.isInteger(frame.msgId)) return
    if (frame.msgId > session.peerReadUpTo) session.peerReadUpTo = frame.msgId
  }

  function nextRequestId() {
    return `${state.accountId}-${requestPrefix}-${++requestSeq}`
  }

  /**
   * Sends a message into a session. Returns false (and sends nothing) when the text
   * is not a valid message or the conversation has ended. While disconnected the
   * message waits, pending, and goes out after the RECONNECT.
   */
  function sendMessage(sessionId, text) {
    const session = findSession(sessionId)
    if (!session || session.ended) return false
    const checked = validateContent(text)
    if (!checked.ok) return false
    const requestId = nextRequestId()
    session.messages.push(
      reactive({
        key: `m${++messageSeq}`,
        seq: messageSeq,
        msgId: null,
        mine: true,
        content: checked.value,
        state: 'pending',
        requestId,
        error: '',
        tries: 0, // DIALOGUEs sent for it so far
        resends: 0, // automatic resends after a passing refusal
        at: now(),
      }),
    )
    const message = session.messages[session.messages.length - 1]
    dialogues.set(requestId, { sessionId, key: message.key })
    const sender = typingSenders.get(sessionId)
    if (sender) sender.stop()
    pumpOutbox()
    return true
  }

  /** Sends a failed message again with the same requestId, so it is stored at most once. */
  function retryMessage(sessionId, key) {
    const session = findSession(sessionId)
    if (!session || session.ended) return false
    const message = session.messages.find((m) => m.key === key)
    if (!message || !message.mine || message.state !== 'failed') return false
    message.state = 'pending'
    message.error = ''
    message.resends = 0
    pumpOutbox()
    return true
  }

  /** Own messages waiting to be sent, oldest first (the order they were typed). */
  function outbox() {
    const waiting = []
    for (const session of state.sessions) {
      for (const m of session.messages) {
        if (m.mine && m.state === 'pending' && !dialogueTimers.has(m.requestId)) waiting.push({ session, m })
      }
    }
    return waiting.sort((a, b) => a.m.seq - b.m.seq)
  }

  /** Sends what waits in the outbox, unless disconnected or backing off. */
  function pumpOutbox() {
    if (!isConnected() || resendTimer !== null) return
    for (const { session, m } of outbox()) {
      if (session.ended && m.tries === 0) {
        // Typed while disconnected into a chat that ended meanwhile: never stored.
        failMessage(m, 'Not sent: this chat has ended.')
        continue
      }
      // A message sent before may have been stored even if its chat has ended since:
      // the same requestId gets the original msgId back, or code 8.
      transmit(session, m)
    }
  }

  function transmit(session, message) {
    send({
      cmd: 'DIALOGUE',
      requestId: message.requestId,
      senderId: state.accountId,
      sessionId: session.id,
      content: message.content,
    })
    message.tries += 1
    const requestId = message.requestId
    dialogueTimers.set(
      requestId,
      setTimer(() => {
        dialogueTimers.delete(requestId)
        const msg = messageFor(requestId)
        if (msg && msg.state === 'pending') resendLater(msg, 'the server did not answer in time')
      }, requestTimeoutMs),
    )
  }

  function failMessage(message, error) {
    message.state = 'failed'
    message.error = error
  }

  /**
   * The server could not take the message right now: it stays pending and the outbox
   * goes out again after a backoff, with the same requestId. New messages queue behind
   * it, so they keep their order. After maxAutoResends it is shown as not sent.
   */
  function resendLater(message, reason) {
    if (message.resends >= maxAutoResends) {
      failMessage(message, `Not sent: ${reason}.`)
      return
    }
    message.resends += 1
    if (resendTimer !== null) return
    const delay = reconnectDelay(resendAttempt, random, RESEND_BACKOFF)
    resendAttempt += 1
    resendTimer = setTimer(() => {
      resendTimer = null
      pumpOutbox()
    }, delay)
  }

  function onDialogueReply(frame) {
    const requestId = frame.requestId === undefined ? undefined : String(frame.requestId)
    if (requestId === undefined) return
    const timer = dialogueTimers.get(requestId)
    if (timer !== undefined) {
      clearTimer(timer)
      dialogueTimers.delete(requestId)
    }
    const message = messageFor(requestId)
    if (!message) return
    const session = findSession(dialogues.get(requestId).sessionId)
    if (frame.code === Code.OK && Number.isInteger(frame.msgId)) {
      // Even a reply that comes after we gave up counts: the message is stored.
      message.msgId = frame.msgId
      message.state = 'sent'
      message.error = ''
      // A resent message got through: whatever held it back has passed.
      if (message.resends > 0) resendAttempt = 0
      sortMessages(session)
      return
    }
    if (message.state === 'sent') return // an error after success changes nothing
    if (frame.code === Code.RATE_LIMITED || frame.code === Code.INTERNAL_ERROR) {
      // Nothing was stored; retrying later with the same requestId is safe.
      if (message.state === 'pending') resendLater(message, frame.msg || 'the server is busy')
      return
    }
    if (frame.code === Code.SESSION_CLOSED) {
      failMessage(message, 'Not sent: this chat has ended.')
      endSession(session, session.endReason || 'left')
    } else {
      failMessage(message, `Not sent: ${frame.msg || 'the server refused it'}.`)
    }
  }

  // ------------------------------------------------------------------ read receipts

  function isViewed(session) {
    return state.screen === 'chat' && state.pageActive && session.visible
  }

  /** The person has seen the session: clear its counter, ack its newest message. */
  function markSeen(session) {
    const newest = newestPartnerMsgId(session)
    if (newest > session.lastSeen) session.lastSeen = newest
    recountUnread(session)
    scheduleAcks()
  }

  function scheduleAcks() {
    if (ackTimer !== null) return
    ackTimer = setTimer(() => {
      ackTimer = null
      flushAcks()
    }, ackDelayMs)
  }

  // Runs ackDelayMs after messages arrived (they are rendered by then): one cumulative
  // ACK and at most one VIEWED_ACK per session, however many messages came meanwhile.
  function flushAcks() {
    if (!isConnected()) return
    for (const session of state.sessions) {
      // Delivery: cumulative, not answered when valid (docs/protocol.md, ACK).
      if (session.delivered > session.deliveryAcked && !deliveryAcksHeld) {
        session.deliveryAcked = session.delivered
        send({ cmd: 'ACK', sessionId: session.id, msgId: session.delivered })
      }
      if (session.ended || session.lastSeen <= session.lastAckSent) continue
      const msgId = session.lastSeen
      session.lastAckSent = msgId
      request('VIEWED_ACK', { sessionId: session.id, accountId: state.accountId, msgId }).then(
        (reply) => {
          if (reply.code === Code.OK) {
            if (msgId > session.viewedAcked) session.viewedAcked = msgId
          } else if (reply.code === Code.RATE_LIMITED || reply.code === Code.INTERNAL_ERROR) {
            viewedAckLost(session, msgId, true)
          }
          // 4 or 8: the position is not one the server takes; nothing to retry.
        },
        (err) => viewedAckLost(session, msgId, err.message !== 'closed'),
      )
    }
  }

  /** A VIEWED_ACK did not get through: send the position again (after a reconnect, or soon). */
  function viewedAckLost(session, msgId, retrySoon) {
    if (session.lastAckSent === msgId) session.lastAckSent = session.viewedAcked
    if (!retrySoon || ackRetryTimer !== null) return
    ackRetryTimer = setTimer(() => {
      ackRetryTimer = null
      scheduleAcks()
    }, 2000)
  }

  /** Test hook: while held, received messages are not acknowledged (ACK), as if unread by the client. */
  function holdDeliveryAcks(held) {
    deliveryAcksHeld = Boolean(held)
    if (!deliveryAcksHeld) scheduleAcks()
  }

  /** Called by a conversation window when it comes into or goes out of view. */
  function setWindowVisible(sessionId, visible) {
    const session = findSession(sessionId)
    if (!session) return
    session.visible = Boolean(visible)
    if (isViewed(session)) markSeen(session)
  }

  /** Called when the page becomes visible and focused, or stops being so. */
  function setPageActive(active) {
    state.pageActive = Boolean(active)
    if (!state.pageActive) return
    for (const session of state.sessions) if (isViewed(session)) markSeen(session)
  }

  // ------------------------------------------------------------------ account

  /** Creates an account with a nickname (CRT_ACCOUNT) on the page's socket. */
  async function login(rawName) {
    if (state.loginBusy) return false
    const checked = validateNickname(rawName)
    if (!checked.ok) {
      state.loginError = checked.error
      return false
    }
    state.loginBusy = true
    state.loginError = ''
    try {
      if (!socket || socket.readyState !== SOCKET_OPEN) state.connection = 'connecting'
      await ensureSocket()
      const reply = await request('CRT_ACCOUNT', { nickName: checked.value })
      if (reply.code === Code.RATE_LIMITED) {
        state.loginError = 'Too many new nicknames from your network just now. Please wait a minute and try again.'
        return false
      }
      if (reply.code !== Code.OK) {
        state.loginError = reply.msg ? `The server said: ${reply.msg}` : 'That did not work. Please try again.'
        return false
      }
      token = reply.token
      state.accountId = reply.accountId
      state.nickName = reply.nickName || checked.value
      state.loginInfo = ''
      state.replaced = false
      state.sessions.splice(0)
      state.activeSessionId = 0
      state.connection = 'connected'
      state.screen = 'chat'
      saveAccount()
      return true
    } catch {
      state.loginError = 'Cannot reach the chat server right now. Please try again in a moment.'
      if (!socket) state.connection = 'offline'
      return false
    } finally {
      state.loginBusy = false
    }
  }

  // ------------------------------------------------------------------ matching

  function isBanned() {
    return state.bannedUntil > now()
  }

  // Longest delay a browser timer takes (about 24.8 days); a longer ban re-arms.
  const MAX_TIMER_MS = 2 ** 31 - 1

  function armBanTimer() {
    if (banTimer !== null) clearTimer(banTimer)
    banTimer = null
    const left = state.bannedUntil - now()
    if (left <= 0) {
      state.bannedUntil = 0
      return
    }
    banTimer = setTimer(armBanTimer, Math.min(left, MAX_TIMER_MS))
  }

  /** MATCH answered 14: matching stays off until `until` (ISO-8601). */
  function setBanned(until) {
    const at = Date.parse(until)
    // Without a readable time, try again in a minute: the server repeats it if it holds.
    state.bannedUntil = Number.isFinite(at) ? at : now() + 60000
    armBanTimer()
  }

  /** The interest tags the next MATCH sends (already checked, see interests.js). */
  function setInterests(tags) {
    state.interests = Array.isArray(tags) ? tags.filter((t) => typeof t === 'string') : []
  }

  /**
   * Asks for a partner (MATCH, with the interests if there are any). True when a
   * conversation opened; false otherwise, including "waiting" (code 13): the partner
   * then comes by PUSH_SIGNAL NewSession.
   */
  async function match() {
    if (state.matching || state.waiting || !state.accountId || isBanned()) return false
    if (!isConnected()) {
      notify('You are not connected right now; matching will work once you are back.', { kind: 'warning' })
      return false
    }
    state.matching = true
    if (state.notice && state.notice.action === 'retry-match') dismissNotice()
    const body = { accountId: state.accountId }
    if (state.interests.length > 0) body.interests = [...state.interests]
    try {
      const reply = await request('MATCH', body)
      if (reply.code === Code.OK) {
        const known = findSession(reply.sessionId)
        const session = addSession({
          id: reply.sessionId,
          partnerId: reply.partnerId,
          partnerName: reply.partnerName,
          origin: 'matched',
          commonInterests: reply.commonInterests,
        })
        state.activeSessionId = session.id
        if (!known) notify(`You are now chatting with ${session.partnerName}.`, { kind: 'success' })
        return true
      }
      if (reply.code === Code.WAITING) {
        // Not a failure: the server keeps us in its pool and matches us when it can.
        state.waiting = true
        return false
      }
      if (reply.code === Code.BANNED) {
        setBanned(reply.until)
      } else if (reply.code === Code.TOO_MANY_CONVERSATIONS) {
        notify('You already have as many chats open as you can. Leave one of them first, then match again.', {
          kind: 'warning',
        })
      } else if (reply.code === Code.RATE_LIMITED) {
        notify('That was a lot of requests at once. Wait a moment, then try again.', {
          kind: 'info',
          action: 'retry-match',
          sticky: true,
        })
      } else if (reply.code === Code.NO_DATA) {
        // Only a broker from before the waiting pool answers this.
        notify('Nobody else is free to chat right now. Give it a moment and try again.', {
          kind: 'info',
          action: 'retry-match',
          sticky: true,
        })
      } else {
        notify(`Matching did not work: ${reply.msg || 'unknown error'}.`, {
          kind: 'error',
          action: 'retry-match',
          sticky: true,
        })
      }
      return false
    } catch {
      notify('Matching did not get an answer. Please try again.', {
        kind: 'error',
        action: 'retry-match',
        sticky: true,
      })
      return false
    } finally {
      state.matching = false
    }
  }

  /** Stops waiting for a partner (CANCEL_MATCH). */
  async function cancelMatch() {
    if (!state.waiting || state.cancelling) return false
    if (!isConnected()) {
      notify('You are not connected right now. Try again once you are back.', { kind: 'warning' })
      return false
    }
    state.cancelling = true
    try {
      const reply = await request('CANCEL_MATCH', { accountId: state.accountId })
      // 4: not waiting any more. Either way nothing is looked for now; should a match
      // have just been made, its NewSession opens the window as usual.
      if (reply.code === Code.OK || reply.code === Code.NO_DATA) {
        state.waiting = false
        return true
      }
      notify(`Could not stop looking: ${reply.msg || 'unknown error'}. Please try again.`, { kind: 'error' })
      return false
    } catch {
      notify('Stopping did not get an answer. Please try again.', { kind: 'error' })
      return false
    } finally {
      state.cancelling = false
    }
  }

  // ------------------------------------------------------------------ leave, block, report

  /**
   * LEAVE, BLOCK or REPORT: each ends the conversation. Code 0, and 8 (already over or
   * not ours), end the window; `reason` says how it ends on code 0. Returns the reply,
   * or {code: -1} when there was none.
   */
  async function endingRequest(session, cmd, body, reason) {
    session.busy = cmd
    try {
      const reply = await request(cmd, { sessionId: session.id, ...body })
      if (reply.code === Code.OK) {
        endSession(session, reason)
        session.endReason = reason // also when the partner had left first
      } else if (reply.code === Code.SESSION_CLOSED) {
        endSession(session, 'ended')
      }
      return reply
    } catch (err) {
      return { cmd, code: -1, msg: err.message === 'closed' ? 'the connection dropped' : 'no answer in time' }
    } finally {
      session.busy = ''
    }
  }

  function canAsk(session) {
    if (!session || session.busy) return false
    if (isConnected()) return true
    notify('You are not connected right now. Try again once you are back.', { kind: 'warning' })
    return false
  }

  /** Ends one conversation (LEAVE); the partner gets PartnerExit. True once it is over. */
  async function leave(sessionId) {
    const session = findSession(sessionId)
    if (session && session.ended) return true
    if (!canAsk(session)) return false
    const reply = await endingRequest(session, 'LEAVE', {}, 'self')
    if (reply.code === Code.OK || reply.code === Code.SESSION_CLOSED) return true
    notify(`Could not leave the chat: ${reply.msg || 'unknown error'}. Please try again.`, { kind: 'error' })
    return false
  }

  /** "Next": leaves the conversation, closes its window and matches again with the same interests. */
  async function next(sessionId) {
    if (isBanned()) return false
    if (!(await leave(sessionId))) return false
    closeSession(sessionId)
    return match()
  }

  /** Blocks the partner (BLOCK): the conversation ends and the two are never matched again. */
  async function block(sessionId) {
    const session = findSession(sessionId)
    if (!canAsk(session)) return false
    const reply = await endingRequest(session, 'BLOCK', {}, 'blocked')
    if (reply.code === Code.OK) {
      notify(`You blocked ${session.partnerName}. You will not be matched with them again.`, { kind: 'success' })
      return true
    }
    if (reply.code !== Code.SESSION_CLOSED) {
      notify(`Could not block: ${reply.msg || 'unknown error'}. Please try again.`, { kind: 'error' })
    }
    return false
  }

  /**
   * Reports the partner (REPORT), which blocks them too.
   * @returns {Promise<{ok: boolean, error?: string, closed?: boolean}>}  `closed`: the
   *   conversation is not one that can be reported any more (code 8)
   */
  async function report(sessionId, reason, text) {
    const checked = validateReport(reason, text)
    if (!checked.ok) return { ok: false, error: checked.error }
    const session = findSession(sessionId)
    if (!session) return { ok: false, closed: true, error: 'This chat is gone.' }
    if (session.busy) return { ok: false, error: 'One moment, the last request is still on its way.' }
    if (!isConnected()) return { ok: false, error: 'You are not connected right now. Try again once you are back.' }
    const body = { reason: checked.reason }
    if (checked.text !== '') body.text = checked.text
    const reply = await endingRequest(session, 'REPORT', body, 'reported')
    if (reply.code === Code.OK) return { ok: true }
    if (reply.code === Code.SESSION_CLOSED) {
      return { ok: false, closed: true, error: 'This chat can no longer be reported: it is not open on the server.' }
    }
    if (reply.code === Code.RATE_LIMITED || reply.code === Code.INTERNAL_ERROR || reply.code === -1) {
      return { ok: false, error: `The report did not get through (${reply.msg || 'the server is busy'}). Please try again.` }
    }
    return { ok: false, error: `The report was refused: ${reply.msg || 'unknown error'}.` }
  }

  /** Leaves (LOGOUT): partners are told, the token is revoked, back to the nickname screen. */
  async function logout() {
    if (!state.accountId || state.loggingOut) return
    state.loggingOut = true
    cancelReconnect()
    try {
      if (isConnected()) await request('LOGOUT', { accountId: state.accountId }, 5000)
    } catch {
      // Closing the socket below ends the sessions on the server all the same.
    }
    forgetAccount()
    resetChat()
    // The socket stays open, unbound, for the next nickname: one socket per page.
    if (!socket || socket.readyState !== SOCKET_OPEN) state.connection = 'offline'
    state.loggingOut = false
  }

  function resetChat() {
    state.sessions.splice(0)
    state.activeSessionId = 0
    state.matching = false
    state.waiting = false
    state.cancelling = false
    state.bannedUntil = 0
    if (banTimer !== null) clearTimer(banTimer)
    banTimer = null
    for (const sender of typingSenders.values()) sender.reset()
    typingSenders.clear()
    for (const timer of partnerTypingTimers.values()) clearTimer(timer)
    partnerTypingTimers.clear()
    state.replaced = false
    state.reconnectAttempt = 0
    state.nextRetryAt = 0
    state.screen = 'login'
    dismissNotice()
    dialogues.clear()
    closedSessions.clear()
    for (const [, timer] of dialogueTimers) clearTimer(timer)
    dialogueTimers.clear()
    for (const t of [resendTimer, ackRetryTimer, lostNoticeTimer]) if (t !== null) clearTimer(t)
    resendTimer = null
    ackRetryTimer = null
    lostNoticeTimer = null
    resendAttempt = 0
  }

  // ------------------------------------------------------------------ reconnect

  function cancelReconnect() {
    if (reconnectTimer !== null) clearTimer(reconnectTimer)
    reconnectTimer = null
    state.nextRetryAt = 0
  }

  /** Plans the next attempt: the backoff schedule, or `promptMs` for a broker restart. */
  function scheduleReconnect(promptMs = null) {
    if (reconnectTimer !== null || reconnecting || !state.accountId) return
    state.connection = 'reconnecting'
    let delay
    if (promptMs === null) {
      delay = reconnectDelay(state.reconnectAttempt, random)
      state.reconnectAttempt += 1
    } else {
      delay = promptMs
    }
    if (offlineUntil > now()) delay = Math.max(delay, offlineUntil - now())
    state.nextRetryAt = now() + delay
    reconnectTimer = setTimer(() => {
      reconnectTimer = null
      reconnectNow()
    }, delay)
  }

  /** One RECONNECT attempt on a new socket; another is scheduled if it fails. */
  async function reconnectNow() {
    if (reconnecting || !state.accountId || !token) return
    cancelReconnect()
    reconnecting = true
    state.replaced = false
    if (state.connection !== 'connecting') state.connection = 'reconnecting'
    let reply = null
    try {
      await ensureSocket()
      reply = await request('RECONNECT', { accountId: state.accountId, token })
    } catch {
      reply = null
    }
    reconnecting = false
    if (!state.accountId) return // logged out meanwhile
    if (reply && reply.code === Code.OK) {
      applyReconnect(reply)
      return
    }
    if (reply && reply.code === Code.BAD_TOKEN) {
      forgetAccount()
      resetChat()
      state.loginInfo = 'Your previous chat session has expired. Pick a nickname to start again.'
      state.connection = socket ? 'connected' : 'offline'
      return
    }
    if (socket) {
      // Refused for a reason that may pass (the server is busy), or no answer in time:
      // start over on a new connection after the backoff (handleClose schedules it).
      abandonSocket(4000)
      return
    }
    scheduleReconnect()
  }

  function applyReconnect(reply) {
    const wasDown = state.reconnectAttempt > 0 || state.connection === 'reconnecting'
    state.connection = 'connected'
    state.reconnectAttempt = 0
    state.nextRetryAt = 0
    offlineUntil = 0
    if (reply.nickName) state.nickName = reply.nickName
    // Still in the waiting pool: the server resumed our waiting, show it again.
    state.waiting = reply.waiting === true
    saveAccount()
    const open = new Map()
    for (const s of Array.isArray(reply.sessions) ? reply.sessions : []) {
      if (Number.isInteger(s.sessionId)) open.set(s.sessionId, s)
    }
    // Sessions no longer open ended while we were away. The resume that follows this
    // reply pushes a PartnerExit for each (docs/protocol.md, Connection lifecycle),
    // which says the partner left; those it does not explain become 'lost' after a
    // moment, with a notice.
    const lost = []
    for (const session of state.sessions) {
      if (!open.has(session.id) && !session.ended) {
        endSession(session, 'ended')
        lost.push(session)
      }
    }
    for (const s of open.values()) {
      const session = addSession({
        id: s.sessionId,
        partnerId: s.partnerId,
        partnerName: s.partnerName,
        origin: 'restored',
        commonInterests: s.commonInterests,
      })
      // Presence changes that happened while we were away are not replayed: the partner
      // is taken as present until a new PartnerAway says otherwise; typing neither.
      session.partnerAway = false
      setPartnerTyping(session, false)
    }
    // The resume pushes again whatever we had not acknowledged; positions go out again
    // as an ACK or VIEWED_ACK may have been lost with the socket (the server ignores
    // positions that do not move forward).
    for (const session of state.sessions) {
      session.deliveryAcked = 0
      session.lastAckSent = session.viewedAcked
      if (!session.ended && isViewed(session)) markSeen(session)
    }
    scheduleAcks()
    // Messages typed while disconnected, or whose DIALOGUE got no reply, go out now in
    // the order typed, with their requestIds.
    resendAttempt = 0
    pumpOutbox()
    if (lostNoticeTimer !== null) clearTimer(lostNoticeTimer)
    lostNoticeTimer = null
    if (lost.length === 0) return
    lostNoticeTimer = setTimer(() => {
      lostNoticeTimer = null
      const unexplained = lost.filter((s) => s.endReason === 'ended')
      for (const s of unexplained) s.endReason = 'lost'
      if (unexplained.length === 0 || !wasDown || !unexplained.some((s) => findSession(s.id))) return
      notify(
        unexplained.length === 1
          ? 'One chat ended while the connection was down.'
          : `${unexplained.length} chats ended while the connection was down.`,
        { kind: 'warning' },
      )
    }, lostNoticeMs)
  }

  function setNetworkOnline(online) {
    state.networkOnline = Boolean(online)
    // The network is back: do not sit out the rest of a long backoff.
    if (online && reconnectTimer !== null) reconnectNow()
  }

  /** Picks up an account kept in sessionStorage (a reload): RECONNECT with its token. */
  function start() {
    const saved = loadAccount()
    if (!saved) return false
    token = saved.token
    state.accountId = saved.accountId
    state.nickName = saved.nickName || ''
    state.screen = 'chat'
    state.connection = 'connecting'
    reconnectNow()
    return true
  }

  /**
   * Test hook: drops the socket as a network failure would (no LOGOUT). With
   * `offlineMs` the client stays away that long, as if the network were gone.
   */
  function dropConnection({ offlineMs = 0 } = {}) {
    offlineUntil = offlineMs > 0 ? now() + offlineMs : 0
    if (socket) socket.close(4000, 'dropped for a test')
  }

  function runNoticeAction() {
    const action = state.notice && state.notice.action
    dismissNotice()
    if (action === 'retry-match') return match()
    if (action === 'reconnect') return reconnectNow()
    return undefined
  }

  return {
    state,
    // actions
    start,
    login,
    match,
    cancelMatch,
    setInterests,
    leave,
    next,
    block,
    report,
    noteTyping,
    logout,
    sendMessage,
    retryMessage,
    closeSession,
    setActiveSession,
    setWindowVisible,
    setPageActive,
    setNetworkOnline,
    reconnectNow,
    dismissNotice,
    runNoticeAction,
    dropConnection,
    holdDeliveryAcks,
    // queries
    isRead,
    isBanned,
    findSession,
    get socketCount() {
      return socket ? 1 : 0
    },
  }
}
