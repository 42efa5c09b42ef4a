//! Alerts (SPEC §5): a beep, a desktop notification and the unread count in the tab title when
//! a client writes in a chat that is mine, waiting in my queue or observed by me, and when I am
//! mentioned. Each switchable in the profile (`alert_sound`, `alert_desktop`, `alert_title`).
import { t } from "./i18n.js";

const DEFAULT_PREFS = { alert_sound: true, alert_desktop: true, alert_title: true };
const RECHECK_MS = 5000;
const MAX_RECHECK = 20;

/** Whether a client message in `conv` concerns `me`: assigned to me, in my queue, or observed. */
export function concernsMe(conv, me) {
  if (!conv || !me || conv.status === "closed") return false;
  const myId = String(me.id);
  if (conv.assignee_id) {
    if (String(conv.assignee_id) === myId) return true;
  } else if ((me.channel_ids || []).map(String).includes(String(conv.channel_id))) {
    return true;
  }
  return (conv.observer_ids || []).map(String).includes(myId);
}

/** Whether a live `message.created` event is a client's message. */
export function isClientMessage(data) {
  return !!data && (data.direction === "in" || data.kind === "client");
}

/** A short beep through WebAudio (no sound file). Browsers may refuse it before a user gesture. */
function beep() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return false;
  try {
    const ctx = new Ctx();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.type = "sine";
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.0001, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.2, ctx.currentTime + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.35);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.4);
    osc.onended = () => ctx.close && ctx.close();
    return true;
  } catch {
    return false;
  }
}

/** The desktop Notification API state: "granted", "denied", "default" or "unsupported". */
export function desktopPermission() {
  return typeof window.Notification === "function" ? window.Notification.permission || "default" : "unsupported";
}

/** Asks the browser for desktop notifications (must run from a click). */
export async function askDesktopPermission() {
  if (typeof window.Notification !== "function" || !window.Notification.requestPermission) return desktopPermission();
  try {
    return await window.Notification.requestPermission();
  } catch {
    return desktopPermission();
  }
}

/**
 * The alerts of one session. `ctx` gives `me`, `api` and `navigate`; `isViewing(id)` tells
 * whether the chat is open in front of the person (no alert then). `onChange()` runs when the
 * count changes (the header re-renders the title).
 */
export class Alerts {
  constructor(ctx, { isViewing = () => false } = {}) {
    this.ctx = ctx;
    this.isViewing = isViewing;
    this.prefs = { ...DEFAULT_PREFS };
    this.unread = new Map(); // conversation id -> alerted client messages not seen yet
    this.seen = new Set(); // message ids already alerted
    this.baseTitle = document.title || "Replyline";
    this.onPrefs = (e) => this.setPrefs(e.detail || {});
    window.addEventListener("replyline:preferences", this.onPrefs);
    // A chat taken by a colleague sends no more events here (it is no longer visible), so the
    // counted chats are checked again every few seconds.
    this.recheckTimer = setInterval(() => this.recheckAll(), RECHECK_MS);
  }

  async start() {
    try {
      this.setPrefs(await this.ctx.api.preferences());
    } catch {
      /* defaults: everything on */
    }
    await this.seed();
  }

  stop() {
    window.removeEventListener("replyline:preferences", this.onPrefs);
    clearInterval(this.recheckTimer);
    this.unread.clear();
    this.render();
  }

  setPrefs(p) {
    for (const k of Object.keys(DEFAULT_PREFS)) {
      if (typeof p[k] === "boolean") this.prefs[k] = p[k];
    }
    this.render();
  }

  /** The counts of unread client messages in chats that concern me (from the list API). */
  async seed() {
    try {
      const page = await this.ctx.api.conversationsPage({ status: "open", limit: 200 });
      for (const c of page.items) {
        const n = Number(c.unread) || 0;
        if (n > 0 && concernsMe(c, this.ctx.me) && !this.isViewing(String(c.id))) this.unread.set(String(c.id), n);
      }
    } catch {
      /* no list: start from zero */
    }
    this.render();
  }

  /** The number shown in the tab title. */
  count() {
    let n = 0;
    for (const v of this.unread.values()) n += v;
    return n;
  }

  /** Sets the page's own title; the count is put in front of it. */
  setTitle(text) {
    this.baseTitle = text;
    this.render();
  }

  render() {
    const n = this.count();
    document.title = this.prefs.alert_title && n > 0 ? `(${n}) ${this.baseTitle}` : this.baseTitle;
  }

  /** The person opened the chat: its messages are seen. */
  markRead(conversationId) {
    if (this.unread.delete(String(conversationId))) this.render();
  }

  /** A live event: decides whether it alerts. */
  async onEvent(msg) {
    const d = msg.data || {};
    if (msg.type === "message.created" && isClientMessage(d)) return this.onClientMessage(d);
    if (msg.type === "conversation.updated") return this.recheck(String(d.conversation_id ?? d.id ?? ""));
    // Admins receive every notification event: only one's own mentions alert.
    if (msg.type === "notification.created" && d.reason === "mention" && String(d.manager_id) === String(this.ctx.me.id)) return this.onMention(d);
    return false;
  }

  /** Checks the counted chats again (at most MAX_RECHECK of them). */
  recheckAll() {
    if (document.hidden) return;
    for (const cid of [...this.unread.keys()].slice(0, MAX_RECHECK)) this.recheck(cid);
  }

  /** A counted chat that was taken by someone else, or closed, no longer counts. */
  async recheck(cid) {
    if (!cid || !this.unread.has(cid)) return false;
    try {
      const conv = await this.ctx.api.conversation(cid);
      if (concernsMe(conv, this.ctx.me)) return false;
    } catch {
      /* no longer visible */
    }
    this.markRead(cid);
    return true;
  }

  async onClientMessage(d) {
    const mid = String(d.id ?? "");
    if (mid && this.seen.has(mid)) return false;
    if (mid) this.seen.add(mid);
    const cid = String(d.conversation_id ?? "");
    if (!cid || this.isViewing(cid)) return false;
    let conv;
    try {
      conv = await this.ctx.api.conversation(cid);
    } catch {
      return false;
    }
    if (!concernsMe(conv, this.ctx.me)) return false;
    this.unread.set(cid, (this.unread.get(cid) || 0) + 1);
    const who = (conv.contact && (conv.contact.name || conv.contact.address)) || t("chat.unknown_contact");
    let text = "";
    if (mid) {
      try {
        const msgs = await this.ctx.api.messages(cid);
        const m = (Array.isArray(msgs) ? msgs : (msgs && msgs.items) || []).find((x) => String(x.id) === mid);
        text = (m && m.text) || "";
      } catch {
        /* the title is enough */
      }
    }
    this.fire(t("alerts.client_wrote", { name: who }), text, cid);
    return true;
  }

  onMention(d) {
    const cid = String(d.conversation_id ?? "");
    this.fire(t("alerts.mentioned"), d.text || "", cid);
    return true;
  }

  fire(title, body, conversationId) {
    this.render();
    if (this.prefs.alert_sound) beep();
    if (this.prefs.alert_desktop && desktopPermission() === "granted") {
      try {
        const n = new window.Notification(title, { body: String(body).slice(0, 200), tag: `replyline-${conversationId}` });
        if (n && "onclick" in n) {
          n.onclick = () => {
            window.focus();
            if (conversationId) this.ctx.navigate(`/chat/${encodeURIComponent(conversationId)}`);
          };
        }
      } catch {
        /* some browsers only allow notifications from a service worker */
      }
    }
    this.ctx.announce(title);
  }
}
