import { createApp } from 'vue'
import App from './App.vue'
import { createChatStore } from './lib/chat-store.js'
import { storeKey } from './lib/use-store.js'
import './styles.css'

const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:'
const store = createChatStore({
  createSocket: (url) => new WebSocket(url),
  url: `${scheme}//${location.host}/ws`,
  storage: window.sessionStorage,
})

// The page counts as "in view" only when it is visible and has the focus: messages
// that arrive while the person looks elsewhere stay unread and are not acked.
function updatePageActive() {
  store.setPageActive(document.visibilityState === 'visible' && document.hasFocus())
}
document.addEventListener('visibilitychange', updatePageActive)
window.addEventListener('focus', updatePageActive)
window.addEventListener('blur', updatePageActive)
updatePageActive()

window.addEventListener('online', () => store.setNetworkOnline(true))
window.addEventListener('offline', () => store.setNetworkOnline(false))
store.setNetworkOnline(navigator.onLine !== false)

// For tests and for poking around from the console: chatDebug.dropConnection() cuts
// the WebSocket as a network failure would (no LOGOUT), so the client must reconnect;
// dropConnection({ offlineMs: 3000 }) keeps it away for 3 s first. holdAcks(true)
// stops acknowledging received messages (ACK), so the server sends them again after
// the next RECONNECT, which the client must not show twice.
window.chatDebug = Object.freeze({
  dropConnection: (options) => store.dropConnection(options),
  holdAcks: (held) => store.holdDeliveryAcks(held),
  get state() {
    return store.state
  },
})

createApp(App).provide(storeKey, store).mount('#app')
store.start()
