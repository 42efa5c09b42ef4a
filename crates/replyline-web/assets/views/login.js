// Login form: POST /auth/login, keeps the token for this tab.
import { t, getLang, setLang } from "../i18n.js";
import { h, field, errorText } from "../dom.js";

export function mount(ctx) {
  const email = h("input", { type: "email", name: "email", autocomplete: "username", required: true, testid: "login-email" });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: "current-password",
    required: true,
    testid: "login-password",
  });
  const error = h("p", { class: "form-error", role: "alert", testid: "login-error" });
  const submit = h("button", { type: "submit", class: "button primary wide", testid: "login-submit" }, t("auth.submit"));

  async function onSubmit(e) {
    e.preventDefault();
    error.textContent = "";
    if (!email.value.trim() || !password.value) {
      error.textContent = t("auth.fill_both");
      return;
    }
    submit.disabled = true;
    try {
      const res = await ctx.api.login(email.value.trim(), password.value);
      if (!res || !res.token) throw new Error(t("error.generic"));
      await ctx.onLogin(res.token, res.employee);
    } catch (err) {
      error.textContent = err.status === 401 ? t("auth.bad_credentials") : errorText(err);
      password.focus();
    } finally {
      submit.disabled = false;
    }
  }

  const other = getLang() === "ru" ? "en" : "ru";
  const el = h(
    "section",
    { class: "login" },
    h(
      "form",
      { class: "card login-card", novalidate: true, onSubmit, "aria-labelledby": "login-title" },
      h("div", { class: "login-brand" }, h("img", { src: "/assets/favicon.svg", alt: "", width: 40, height: 40 }), "Replyline"),
      h("h1", { id: "login-title" }, t("auth.title")),
      field(t("auth.email"), email),
      field(t("auth.password"), password),
      error,
      submit,
      h(
        "button",
        {
          type: "button",
          class: "button ghost lang",
          testid: "lang-switch",
          lang: other,
          "aria-label": t("lang.switch_to"),
          onClick: () => {
            setLang(other);
            document.documentElement.lang = other;
            const fresh = mount(ctx);
            el.replaceWith(fresh.el);
          },
        },
        t("lang.name_other"),
      ),
    ),
  );
  setTimeout(() => email.focus(), 0);
  return { el, title: t("auth.title") };
}
