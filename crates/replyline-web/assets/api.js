// The only module that talks to the server. Every endpoint the UI uses is listed here.
import { setServerNow } from "./dom.js";

const TOKEN_KEY = "replyline.token";
const BASE = "/api/v1";

/** An HTTP error answered by the API: {"error": {"code", "message", "field"?}}. */
export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code || "";
    this.field = field || "";
  }
}

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || "";
  } catch {
    return "";
  }
}

export function setToken(token) {
  try {
    sessionStorage.setItem(TOKEN_KEY, token);
  } catch {
    /* private mode: the cookie session still works */
  }
}

export function clearToken() {
  try {
    sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* ignore */
  }
}

/** Headers sent on every request (the CSRF marker, and the bearer token when we have one). */
function headers(hasBody) {
  const h = { Accept: "application/json", "X-Requested-With": "replyline" };
  const token = getToken();
  if (token) h.Authorization = `Bearer ${token}`;
  if (hasBody) h["Content-Type"] = "application/json";
  return h;
}

async function request(method, path, body, opts) {
  return (await send(method, path, body, opts)).data;
}

/** A GET of a list with cursor paging: {items, next}. */
async function requestPage(path) {
  const { data, res } = await send("GET", path);
  return { items: list(data), next: res.headers.get("x-next-cursor") || "" };
}

async function send(method, path, body, { auth = true } = {}) {
  let res;
  // a FormData body (a file) goes as multipart/form-data: the browser sets its boundary
  const form = typeof FormData !== "undefined" && body instanceof FormData;
  try {
    res = await fetch(BASE + path, {
      method,
      headers: headers(body !== undefined && !form),
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
    });
  } catch (e) {
    throw new ApiError(0, "network", e && e.message ? e.message : "network error");
  }
  setServerNow(res.headers.get("x-replyline-now"));
  let data = null;
  const text = await res.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = (data && data.error) || {};
    if (res.status === 401 && auth) {
      window.dispatchEvent(new CustomEvent("replyline:unauthorized"));
    }
    const apiError = new ApiError(res.status, err.code, err.message, err.field);
    // 429: errors.js says how many seconds to wait
    apiError.retryAfter = Number(res.headers.get("retry-after")) || 0;
    throw apiError;
  }
  return { data, res };
}

function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

const enc = encodeURIComponent;

export const api = {
  // auth
  login: (email, password) => request("POST", "/auth/login", { email, password }, { auth: false }),
  /** Best effort: lets the server drop its session cookie if it has this endpoint. */
  logout: () => request("POST", "/auth/logout", {}, { auth: false }).catch(() => null),
  me: () => request("GET", "/me"),
  server: () => request("GET", "/server"),

  // employees
  employees: () => request("GET", "/employees"),
  employee: (id) => request("GET", `/employees/${enc(id)}`),
  createEmployee: (body) => request("POST", "/employees", body),
  updateEmployee: (id, body) => request("PATCH", `/employees/${enc(id)}`, body),
  deactivateEmployee: (id) => request("DELETE", `/employees/${enc(id)}`),

  // channels and their settings
  channels: () => request("GET", "/channels"),
  channel: (id) => request("GET", `/channels/${enc(id)}`),
  createChannel: (body) => request("POST", "/channels", body),
  deleteChannel: (id) => request("DELETE", `/channels/${enc(id)}`),
  settings: (id) => request("GET", `/channels/${enc(id)}/settings`),
  saveSettings: (id, patch) => request("PUT", `/channels/${enc(id)}/settings`, patch),
  /** The channel's queue («Очередь сотрудников»): {employee_ids: [...]}. */
  channelMembers: (id) => request("GET", `/channels/${enc(id)}/members`),
  saveChannelMembers: (id, employeeIds) => request("PUT", `/channels/${enc(id)}/members`, { employee_ids: employeeIds }),

  // groups of employees and routing rules
  groups: () => request("GET", "/groups"),
  createGroup: (body) => request("POST", "/groups", body),
  updateGroup: (id, body) => request("PATCH", `/groups/${enc(id)}`, body),
  deleteGroup: (id) => request("DELETE", `/groups/${enc(id)}`),
  routingRules: () => request("GET", "/routing-rules"),
  /** Replaces the whole ordered list (first match wins): a bare JSON array. */
  saveRoutingRules: (rules) => request("PUT", "/routing-rules", rules),

  // conversations
  conversations: (params) => request("GET", `/conversations${query(params)}`),
  openConversation: (body) => request("POST", "/conversations", body),
  conversation: (id) => request("GET", `/conversations/${enc(id)}`),
  messages: (id) => request("GET", `/conversations/${enc(id)}/messages`),
  sendMessage: (id, text) => request("POST", `/conversations/${enc(id)}/messages`, { text }),
  /** A file with its caption (multipart `file` + `text`). */
  sendFile: (id, file, caption) => {
    const form = new FormData();
    form.append("file", file, file.name || "file");
    if (caption) form.append("text", caption);
    return request("POST", `/conversations/${enc(id)}/messages`, form);
  },
  /** An approved WhatsApp template: {name, language, parameters}. */
  sendTemplate: (id, template) => request("POST", `/conversations/${enc(id)}/messages`, { template }),
  /** The channel's WhatsApp templates (the server's cache; `refresh` reads them from Meta again). */
  templates: (channelId, refresh = false) => request("GET", `/channels/${enc(channelId)}/templates${refresh ? "?refresh=true" : ""}`),
  addNote: (id, text) => request("POST", `/conversations/${enc(id)}/notes`, { text }),
  assign: (id, employeeId) =>
    request("POST", `/conversations/${enc(id)}/assign`, { employee_id: employeeId || null }),
  close: (id) => request("POST", `/conversations/${enc(id)}/close`, {}),
  timeline: (id) => request("GET", `/conversations/${enc(id)}/events`),

  // workspace (issue 10): paging, read marks, labels, observers, contacts, search, quick replies
  /** One page of the conversation list: {items, next} (next = the X-Next-Cursor header or ""). */
  conversationsPage: (params) => requestPage(`/conversations${query(params)}`),
  markConversationRead: (id, messageId) =>
    request("POST", `/conversations/${enc(id)}/read`, messageId ? { message_id: messageId } : {}),
  setLabels: (id, labels) => request("PUT", `/conversations/${enc(id)}/labels`, { labels }),
  labels: () => request("GET", "/labels"),
  transfer: (id, body) => request("POST", `/conversations/${enc(id)}/assign`, body),
  addNoteWithMentions: (id, text, mentions) =>
    request("POST", `/conversations/${enc(id)}/notes`, mentions && mentions.length ? { text, mentions } : { text }),
  leave: (id) => request("POST", `/conversations/${enc(id)}/leave`, {}),
  contact: (id) => request("GET", `/contacts/${enc(id)}`),
  updateContact: (id, body) => request("PATCH", `/contacts/${enc(id)}`, body),
  contactConversations: (id) => request("GET", `/contacts/${enc(id)}/conversations`),
  search: (q, limit) => request("GET", `/search${query({ q, limit })}`),
  quickReplies: () => request("GET", "/quick-replies"),
  createQuickReply: (body) => request("POST", "/quick-replies", body),
  updateQuickReply: (id, body) => request("PATCH", `/quick-replies/${enc(id)}`, body),
  deleteQuickReply: (id) => request("DELETE", `/quick-replies/${enc(id)}`),
  renderQuickReply: (id, conversationId) =>
    request("GET", `/quick-replies/${enc(id)}/render${query({ conversation_id: conversationId })}`),
  preferences: () => request("GET", "/me/preferences"),
  demo: () => request("GET", "/demo"),
  demoCustomerMessage: () => request("POST", "/demo/customer-message", {}),

  // profile, channel credentials, audit (engineer D2)
  updateMe: (body) => request("PATCH", "/me", body),
  savePreferences: (body) => request("PUT", "/me/preferences", body),
  updateChannel: (id, body) => request("PATCH", `/channels/${enc(id)}`, body),
  /** One page of the audit log (admins): {items, next}; `before` is the previous page's cursor. */
  auditPage: (params) => requestPage(`/audit${query(params)}`),

  // notifications
  notifications: (params) => request("GET", `/notifications${query(params)}`),
  markRead: (id) => request("POST", `/notifications/${enc(id)}/read`, {}),
};

/** The live-events WebSocket URL; the token goes in the query (browsers cannot set headers). */
export function eventsSocketUrl() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const token = getToken();
  const q = token ? `?token=${enc(token)}` : "";
  return `${scheme}://${location.host}${BASE}/events/ws${q}`;
}

/** Normalises list answers: a bare array, or {items: [...]}, or {data: [...]}. */
export function list(data) {
  if (Array.isArray(data)) return data;
  if (data && Array.isArray(data.items)) return data.items;
  if (data && Array.isArray(data.data)) return data.data;
  return [];
}
