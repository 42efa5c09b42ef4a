//! Search over messages and contacts the caller may see (GET /api/v1/search): the query words
//! are highlighted; a message opens its chat scrolled to it, a contact opens their latest chat.
import { t } from "../i18n.js";
import { h, clear, fmtDateTime, errorText } from "../dom.js";
import { list } from "../api.js";
import { highlightWords } from "../widgets.js";

const KIND_KEY = { client: "chat.client", employee: "chat.employee", note: "chat.note" };

function contactTitle(c) {
  return (c && (c.name || c.address)) || t("chat.unknown_contact");
}

export function mount(ctx, params = {}) {
  let q = params.q || "";
  let seq = 0;
  const input = h("input", { type: "search", testid: "search-input", id: "search-q", value: q, autocomplete: "off", placeholder: t("search.placeholder"), maxlength: 200 });
  const status = h("p", { class: "status", role: "status", "aria-live": "polite", testid: "search-status" });
  const messagesEl = h("ul", { class: "search-results", testid: "search-messages" });
  const contactsEl = h("ul", { class: "search-results", testid: "search-contacts" });
  const messagesBox = h("section", { class: "card", hidden: true, "aria-labelledby": "search-m" }, h("h2", { id: "search-m" }, t("search.messages")), messagesEl);
  const contactsBox = h("section", { class: "card", hidden: true, "aria-labelledby": "search-c" }, h("h2", { id: "search-c" }, t("search.contacts")), contactsEl);

  async function openContact(c) {
    try {
      const convs = list(await ctx.api.contactConversations(c.id));
      const last = convs[convs.length - 1];
      if (last) ctx.navigate(`/chat/${encodeURIComponent(last.id)}`);
    } catch (e) {
      status.textContent = errorText(e);
    }
  }

  function messageRow(m) {
    const href = `#/chat/${encodeURIComponent(m.conversation_id)}/m/${encodeURIComponent(m.id)}`;
    return h(
      "li",
      {},
      h(
        "a",
        { class: "search-hit", href, testid: "search-message", "data-message-id": String(m.id), "data-conversation-id": String(m.conversation_id) },
        h(
          "span",
          { class: "hit-head" },
          h("strong", {}, contactTitle(m.contact)),
          h("span", { class: "muted small" }, ` · ${KIND_KEY[m.kind] ? t(KIND_KEY[m.kind]) : t("chat.automatic")} · ${fmtDateTime(m.created_at)}`),
        ),
        h("span", { class: "hit-text", testid: "search-snippet" }, highlightWords(m.snippet || m.text || "", q)),
      ),
    );
  }

  function contactRow(c) {
    return h(
      "li",
      {},
      h(
        "button",
        { type: "button", class: "search-hit", testid: "search-contact", "data-contact-id": String(c.id), onClick: () => openContact(c) },
        h("span", { class: "hit-head" }, h("strong", {}, highlightWords(contactTitle(c), q))),
        h("span", { class: "muted small" }, highlightWords(c.address || "", q)),
        c.note ? h("span", { class: "hit-text small" }, highlightWords(c.note, q)) : null,
      ),
    );
  }

  async function run() {
    const my = ++seq;
    clear(messagesEl);
    clear(contactsEl);
    messagesBox.hidden = true;
    contactsBox.hidden = true;
    if (!q) {
      status.textContent = t("search.hint");
      return;
    }
    status.textContent = t("search.searching");
    try {
      const r = (await ctx.api.search(q, 50)) || {};
      if (my !== seq) return;
      const msgs = list(r.messages);
      const contacts = list(r.contacts);
      for (const m of msgs) messagesEl.append(messageRow(m));
      for (const c of contacts) contactsEl.append(contactRow(c));
      messagesBox.hidden = msgs.length === 0;
      contactsBox.hidden = contacts.length === 0;
      status.textContent = msgs.length || contacts.length ? t("search.found", { m: msgs.length, c: contacts.length }) : t("search.nothing", { q });
    } catch (e) {
      if (my === seq) status.textContent = errorText(e);
    }
  }

  const form = h(
    "form",
    {
      class: "search-form",
      role: "search",
      onSubmit: (e) => {
        e.preventDefault();
        const v = input.value.trim();
        ctx.navigate(`/search/${encodeURIComponent(v)}`);
      },
    },
    h("label", { for: input.id, class: "sr-only" }, t("search.label")),
    input,
    h("button", { type: "submit", class: "button primary", testid: "search-submit" }, t("search.submit")),
  );
  const el = h("section", { class: "page search-page", testid: "search-page" }, h("div", { class: "page-head" }, h("h1", {}, t("search.title"))), form, status, messagesBox, contactsBox);
  run();
  return {
    el,
    title: t("search.title"),
    update(p) {
      q = (p && p.q) || "";
      if (input.value.trim() !== q) input.value = q;
      run();
    },
  };
}
