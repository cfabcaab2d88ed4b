// The moderator page (moderation.html), served by chat-logic's admin listener next to
// its /api/: same origin, so no CORS and the token never leaves that listener.
import { createApp } from 'vue'
import ModerationApp from './ModerationApp.vue'
import { createModeration, moderationKey } from './moderation.js'
import '../styles.css'
import './moderation.css'

const moderation = createModeration({
  fetch: window.fetch.bind(window), // unbound, Chromium throws "Illegal invocation"
  storage: window.sessionStorage,
})

createApp(ModerationApp).provide(moderationKey, moderation).mount('#app')
