// Entry point: session, header (who am I, language, bell), hash router and live updates.
import { t, getLang, setLang } from "./i18n.js";
import { api, getToken, setToken, clearToken, list } from "./api.js";
import { h, clear, append, startTicker, errorText, icon } from "./dom.js";
import { Live, debounce } from "./live.js";
import * as loginView from "./views/login.js";
import * as inboxView from "./views/inbox.js";
import * as notificationsView from "./views/notifications.js";
import * as channelsView from "./views/channels.js";
import * as employeesView from "./views/employees.js";
import * as callsView from "./views/calls.js";
import * as settingsView from "./views/settings.js";
import * as routingView from "./views/routing.js";
import * as profileView from "./views/profile.js";
import * as auditView from "./views/audit.js";
import * as firstRun from "./views/firstrun.js";
import { confirmDialog } from "./dom.js";
import * as searchView from "./views/search.js";
import * as quickRepliesView from "./views/quick_replies.js";
import { Alerts } from "./alerts.js";
import { HealthBanners } from "./health.js";

const state = {
  me: null,
  live: null,
  alerts: null,
  view: null,
  routeKey: "",
  directory: null,
  directoryAt: 0,
  unread: 0,
  serverInfo: null,
  health: null,
};

const header = document.getElementById("top");
const main = document.getElementById("main");
const announcer = document.getElementById("announcer");

/** Employees, channels and groups, cached for 30 s; lists the caller may not read come back empty. */
async function directory(force = false) {
  if (!force && state.directory && Date.now() - state.directoryAt < 30_000) return state.directory;
  const [employees, channels, groups] = await Promise.all([
    api.employees().then(list).catch(() => []),
    api.channels().then(list).catch(() => []),
    api.groups().then(list).catch(() => []),
  ]);
  const empById = new Map(employees.map((e) => [String(e.id), e]));
  if (state.me && !empById.has(String(state.me.id))) empById.set(String(state.me.id), state.me);
  const chById = new Map(channels.map((c) => [String(c.id), c]));
  const grById = new Map(groups.map((g) => [String(g.id), g]));
  state.directory = { employees, channels, groups, empById, chById, grById };
  state.directoryAt = Date.now();
  return state.directory;
}

export function employeeName(e) {
  if (!e) return "";
  return e.name || e.display_name || e.email || String(e.id);
}

function isAdmin() {
  return state.me && state.me.role === "admin";
}

const ctx = {
  get me() {
    return state.me;
  },
  api,
  directory,
  invalidateDirectory() {
    state.directory = null;
  },
  employeeName,
  isAdmin,
  navigate(path) {
    if (location.hash === `#${path}`) route();
    else location.hash = path;
  },
  announce(text) {
    announcer.textContent = "";
    setTimeout(() => (announcer.textContent = text), 50);
  },
  refreshBell: () => refreshBell(),
  /** This server's setup (company name, configured deliveries), fetched once; null if unavailable. */
  server() {
    if (!state.serverInfo) state.serverInfo = api.server().catch(() => null);
    return state.serverInfo;
  },
  /** Reloads the caller (after a profile change) and redraws the header. */
  async refreshMe() {
    state.me = await api.me();
    if (state.directory) state.directory.empById.set(String(state.me.id), state.me);
    renderHeader();
  },
  /** The alerts of the session (alerts.js): markRead(conversationId) when a chat is opened. */
  get alerts() {
    return state.alerts;
  },
  onLogin: (token, employee) => startSession(token, employee),
};

// ---- session ----------------------------------------------------------------------------------

async function startSession(token, employee) {
  if (token) setToken(token);
  state.me = employee || (await api.me());
  state.live = new Live();
  state.live.on(onLiveEvent);
  state.alerts = new Alerts(ctx, { isViewing: (id) => !!(state.view && state.view.viewing && state.view.viewing(id)) });
  state.alerts.start();
  state.live.onPoll(() => {
    refreshBell();
    if (state.view && state.view.refresh) state.view.refresh();
  });
  state.live.onStatus(renderLiveStatus);
  state.live.start();
  state.health = new HealthBanners(ctx, document.getElementById("health"));
  state.health.start();
  renderHeader();
  refreshBell();
  if (!location.hash || location.hash === "#/login") location.hash = "/inbox";
  else route();
}

async function logout() {
  if (state.live) state.live.stop();
  state.live = null;
  if (state.alerts) state.alerts.stop();
  state.alerts = null;
  if (state.health) state.health.stop();
  state.health = null;
  state.me = null;
  state.directory = null;
  const hadToken = !!getToken();
  clearToken();
  if (hadToken) api.logout();
  destroyView();
  renderHeader();
  location.hash = "/login";
  route();
}

window.addEventListener("replyline:unauthorized", () => {
  if (state.me) logout();
});

const refreshViewSoon = debounce(() => {
  if (state.view && state.view.refresh) state.view.refresh();
}, 200);

function onLiveEvent(msg) {
  if (state.alerts) state.alerts.onEvent(msg);
  if (state.health) state.health.onEvent(msg);
  if (msg.type === "channel.updated") ctx.invalidateDirectory();
  if (msg.type === "notification.created") {
    refreshBell();
    ctx.announce(t("notifications.new"));
  }
  if (state.view && state.view.onEvent) state.view.onEvent(msg);
  else refreshViewSoon();
}

// ---- header -----------------------------------------------------------------------------------

const NAV = [
  { key: "nav.inbox", href: "/inbox", testid: "menu-inbox", match: ["inbox", "chat"] },
  { key: "nav.search", href: "/search", testid: "menu-search", match: ["search"] },
  { key: "nav.quick_replies", href: "/quick-replies", testid: "menu-quick-replies", match: ["quick-replies"] },
  { key: "nav.notifications", href: "/notifications", testid: "menu-notifications", match: ["notifications"] },
  { key: "nav.calls", href: "/calls", testid: "menu-calls", match: ["calls"], admin: true },
  { key: "nav.channels", href: "/admin/channels", testid: "menu-channels", match: ["admin/channels"], admin: true },
  { key: "nav.employees", href: "/admin/employees", testid: "menu-employees", match: ["admin/employees"], admin: true },
  { key: "nav.audit", href: "/admin/audit", testid: "menu-audit", match: ["admin/audit"], admin: true },
];

let bellCount = null;
let liveDot = null;

function renderHeader() {
  clear(header);
  header.hidden = !state.me;
  if (!state.me) return;
  const path = currentPath();
  const nav = h(
    "nav",
    { class: "nav", "aria-label": t("nav.label") },
    h(
      "ul",
      {},
      NAV.filter((n) => !n.admin || isAdmin()).map((n) => {
        const active = n.match.some((m) => path === m || path.startsWith(`${m}/`));
        return h(
          "li",
          {},
          h("a", { href: `#${n.href}`, testid: n.testid, "aria-current": active ? "page" : false }, t(n.key)),
        );
      }),
    ),
  );
  bellCount = h("span", { class: "badge", testid: "bell-count", hidden: !state.unread }, String(state.unread));
  const bell = h(
    "button",
    {
      type: "button",
      class: "icon-button bell",
      testid: "bell",
      "aria-label": t("bell.label", { n: state.unread }),
      onClick: () => ctx.navigate("/notifications"),
    },
    icon("bell", 22),
    bellCount,
  );
  liveDot = h("span", {
    class: `live-dot ${state.live && state.live.online ? "on" : ""}`,
    testid: "live-status",
    role: "img",
    "aria-label": state.live && state.live.online ? t("live.online") : t("live.offline"),
    title: state.live && state.live.online ? t("live.online") : t("live.offline"),
  });
  const me = state.me;
  append(header, [
    h("a", { class: "brand", href: "#/inbox", "aria-label": "Replyline" }, h("img", { src: "/assets/favicon.svg", alt: "", width: 24, height: 24 }), "Replyline"),
    nav,
    h(
      "div",
      { class: "header-tools" },
      liveDot,
      bell,
      h(
        "a",
        { class: "me", testid: "me", href: "#/profile", title: t("profile.open"), "aria-label": `${employeeName(me)}, ${t(`role.${me.role}`)}: ${t("profile.open")}` },
        h("span", { class: "me-name", testid: "me-name" }, employeeName(me)),
        h("span", { class: "me-role" }, t(`role.${me.role}`)),
      ),
      langSwitch(),
      h("button", { type: "button", class: "button ghost", testid: "logout", onClick: logout }, t("auth.logout")),
    ),
  ]);
}

function langSwitch() {
  const other = getLang() === "ru" ? "en" : "ru";
  return h(
    "button",
    {
      type: "button",
      class: "button ghost lang",
      testid: "lang-switch",
      lang: other,
      "aria-label": t("lang.switch_to"),
      title: t("lang.switch_to"),
      onClick: async () => {
        // the page is drawn again in the other language: unsaved edits would be lost
        if (state.view && state.view.isDirty && state.view.isDirty() && !(await confirmUnsaved())) return;
        setLang(other);
        applyLang();
        renderHeader();
        route(true);
      },
    },
    other.toUpperCase(),
  );
}

function renderLiveStatus(online) {
  if (!liveDot) return;
  liveDot.classList.toggle("on", online);
  const label = online ? t("live.online") : t("live.offline");
  liveDot.setAttribute("aria-label", label);
  liveDot.title = label;
}

async function refreshBell() {
  if (!state.me) return;
  try {
    const items = list(await api.notifications({ unread: true })).filter((n) => !n.read_at);
    state.unread = items.length;
  } catch {
    return;
  }
  if (bellCount) {
    bellCount.textContent = String(state.unread);
    bellCount.hidden = state.unread === 0;
    bellCount.parentElement.setAttribute("aria-label", t("bell.label", { n: state.unread }));
  }
}

function applyLang() {
  document.documentElement.lang = getLang();
  setTitle("Replyline");
}

/** The tab title; the alerts put the unread count in front of it. */
function setTitle(text) {
  if (state.alerts) state.alerts.setTitle(text);
  else document.title = text;
}

// ---- router -----------------------------------------------------------------------------------

function currentPath() {
  return location.hash.replace(/^#\/?/, "").replace(/\/+$/, "");
}

function destroyView() {
  if (state.view && state.view.destroy) state.view.destroy();
  state.view = null;
}

function resolve(path) {
  const p = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (p.length === 0 || (p[0] === "inbox" && p.length === 1)) return { mod: inboxView, params: {} };
  if (p[0] === "chat" && p.length === 2) return { mod: inboxView, params: { chat: p[1] } };
  if (p[0] === "chat" && p.length === 4 && p[2] === "m") return { mod: inboxView, params: { chat: p[1], message: p[3] } };
  if (p[0] === "search" && p.length <= 2) return { mod: searchView, params: { q: p[1] || "" } };
  if (p[0] === "quick-replies" && p.length === 1) return { mod: quickRepliesView, params: {} };
  if (p[0] === "notifications" && p.length === 1) return { mod: notificationsView, params: {} };
  if (p[0] === "profile" && p.length === 1) return { mod: profileView, params: {} };
  if (p[0] === "admin" && p[1] === "channels" && p.length === 3) return { mod: channelsView, params: { id: p[2] }, admin: true };
  if (p[0] === "admin" && p[1] === "audit" && p.length === 2) return { mod: auditView, params: {}, admin: true };
  if (p[0] === "admin" && p[1] === "channels" && p.length === 2) return { mod: channelsView, params: {}, admin: true };
  if (p[0] === "admin" && p[1] === "employees" && p.length === 2) return { mod: employeesView, params: {}, admin: true };
  if (p[0] === "calls" && p.length === 1) return { mod: callsView, params: { page: "hub" }, admin: true };
  if (p[0] === "calls" && p[1] === "messenger" && p.length === 2) return { mod: callsView, params: { page: "channels" }, admin: true };
  if (p[0] === "calls" && p[1] === "messenger" && p[2] === "routing" && p.length === 3) return { mod: routingView, params: { focus: "rules" }, admin: true };
  if (p[0] === "calls" && p[1] === "messenger" && p[2] === "groups" && p.length === 3) return { mod: routingView, params: { focus: "groups" }, admin: true };
  if (p[0] === "calls" && p[1] === "messenger" && p.length === 3) return { mod: settingsView, params: { id: p[2] }, admin: true };
  return null;
}

function route(force = false) {
  const path = currentPath();
  if (!state.me) {
    destroyView();
    state.routeKey = "login";
    renderHeader();
    const view = loginView.mount(ctx);
    state.view = view;
    main.replaceChildren(view.el);
    setTitle(`${t("auth.title")} — Replyline`);
    return;
  }
  if (path === "login" || path === "") {
    location.hash = "/inbox";
    return;
  }
  if (!force && path === state.routeKey && state.view) return;
  if (!force && !leavingConfirmed && state.view && state.view.isDirty && state.view.isDirty()) {
    confirmLeave();
    return;
  }
  leavingConfirmed = false;
  const match = resolve(path);
  // The split inbox keeps its list when another chat (or none) is opened.
  if (!force && match && state.view && state.view.mod === match.mod && state.view.update) {
    state.routeKey = path;
    renderHeader();
    state.view.update(match.params);
    setTitle(`${state.view.title || ""} — Replyline`);
    return;
  }
  destroyView();
  state.routeKey = path;
  renderHeader();
  let view;
  if (!match) {
    view = simplePage(t("error.page_not_found"), t("error.page_not_found_hint"));
  } else if (match.admin && !isAdmin()) {
    view = simplePage(t("error.forbidden"), t("error.admin_only"));
  } else {
    try {
      view = match.mod.mount(ctx, match.params);
    } catch (e) {
      console.error(e);
      view = simplePage(t("error.generic"), errorText(e));
    }
  }
  state.view = view;
  if (match) view.mod = match.mod;
  main.replaceChildren(view.el);
  firstRun.mountAbove(ctx, main, view.el);
  main.classList.toggle("wide", !!view.wide);
  setTitle(`${view.title || ""} — Replyline`);
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    heading.focus({ preventScroll: true });
  }
  window.scrollTo(0, 0);
}

// Leaving a page with unsaved edits asks first: the hash goes back to the page, and only a
// confirmed «Уйти без сохранения» follows the link.
let leavingConfirmed = false;
function confirmUnsaved() {
  return confirmDialog({ title: t("unsaved.title"), text: t("unsaved.text"), confirm: t("unsaved.leave"), cancel: t("unsaved.stay"), testid: "unsaved-dialog" });
}
async function confirmLeave() {
  const target = location.hash;
  history.replaceState(null, "", `#/${state.routeKey}`);
  const leave = await confirmUnsaved();
  if (!leave) return;
  leavingConfirmed = true;
  location.hash = target;
}

function simplePage(title, text) {
  return {
    title,
    el: h("section", { class: "page narrow" }, h("h1", {}, title), h("p", {}, text), h("p", {}, h("a", { href: "#/inbox" }, t("nav.back_to_inbox")))),
  };
}

window.addEventListener("hashchange", () => route());

// The skip link must not touch the hash: the hash is the route.
document.querySelector(".skip-link").addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

async function boot() {
  applyLang();
  startTicker();
  if (getToken()) {
    try {
      await startSession();
      return;
    } catch (e) {
      if (e.status === 401) clearToken();
      state.me = null;
    }
  }
  route();
}

boot();
