// Live updates: a WebSocket with reconnect and backoff, plus a 10-second poll as a fallback.
import { eventsSocketUrl } from "./api.js";

const POLL_MS = 10_000;
const MAX_BACKOFF_MS = 30_000;

export class Live {
  constructor() {
    this.listeners = new Set();
    this.pollers = new Set();
    this.statusListeners = new Set();
    this.ws = null;
    this.attempt = 0;
    this.stopped = true;
    this.online = false;
    this.reconnectTimer = 0;
    this.pollTimer = 0;
    this.onVisible = () => {
      if (!document.hidden) this.poll();
    };
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
    this.pollTimer = setInterval(() => this.poll(), POLL_MS);
    document.addEventListener("visibilitychange", this.onVisible);
  }

  stop() {
    this.stopped = true;
    clearInterval(this.pollTimer);
    clearTimeout(this.reconnectTimer);
    document.removeEventListener("visibilitychange", this.onVisible);
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.setOnline(false);
  }

  connect() {
    if (this.stopped) return;
    let ws;
    try {
      ws = new WebSocket(eventsSocketUrl());
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.setOnline(true);
      this.poll(); // catch up on whatever happened while the socket was down
    };
    ws.onmessage = (e) => {
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (!msg || typeof msg.type !== "string") return;
      for (const fn of this.listeners) {
        try {
          fn(msg);
        } catch (err) {
          console.error(err);
        }
      }
    };
    ws.onerror = () => {};
    ws.onclose = () => {
      this.ws = null;
      this.setOnline(false);
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** this.attempt);
    this.attempt = Math.min(this.attempt + 1, 10);
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(() => this.connect(), delay);
  }

  setOnline(online) {
    if (this.online === online) return;
    this.online = online;
    for (const fn of this.statusListeners) fn(online);
  }

  poll() {
    if (this.stopped || document.hidden) return;
    for (const fn of this.pollers) {
      try {
        fn();
      } catch (err) {
        console.error(err);
      }
    }
  }

  /** Subscribes to live events `{type, data}`; returns the unsubscribe function. */
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Registers a refresh function run every 10 s and after a reconnect. */
  onPoll(fn) {
    this.pollers.add(fn);
    return () => this.pollers.delete(fn);
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }
}

/** Calls `fn` at most once per `ms`, trailing. */
export function debounce(fn, ms = 150) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}
