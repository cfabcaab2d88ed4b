import { inject } from 'vue'

export const storeKey = Symbol('chat-store')

/** The chat store the app was created with (see main.js). */
export function useStore() {
  const store = inject(storeKey)
  if (!store) throw new Error('useStore() called outside the chat app')
  return store
}
