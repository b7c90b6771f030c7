// Entry point: sign-in and the hash router (#/messages, #/message/ID, #/problems, #/po,
// #/po/PO, #/mappings/SYSTEM, #/health, #/audit).
import { ApiError, can, h, mount, session, signIn, signOut, stopTimers, toast, unsaved } from "./api.js";
import { messageView, messagesView, poView, problemsView } from "./messages.js";
import { mappingsView } from "./mappings.js";
import { healthView } from "./health.js";
import { poListView } from "./po.js";
import { auditView } from "./audit.js";

const view = document.getElementById("view");

function signInView(message) {
  const key = h("input#key", { type: "password", autocomplete: "current-password", placeholder: "API key", required: true });
  const error = h("p.err#signin-error", message || "");
  const form = h("form.card.signin", {
    onsubmit: async (ev) => {
      ev.preventDefault();
      try {
        await signIn(key.value.trim());
        if (!location.hash || location.hash === "#/signin") location.hash = "#/messages";
        route();
      } catch (e) {
        error.textContent = e instanceof ApiError && e.status === 401 ? "That key is not valid." : String(e.message || e);
      }
    },
  }, h("h1", "Sign in"), h("label", "API key", key), h("p", h("button.primary", { type: "submit" }, "Sign in")), error);
  mount(view, h("section.card.signin", form));
  key.focus();
}

function chrome() {
  const signedIn = Boolean(session.role);
  document.getElementById("nav").hidden = !signedIn;
  const who = document.getElementById("who");
  who.hidden = !signedIn;
  who.textContent = signedIn ? `${session.name} · ${session.role}` : "";
  who.dataset.role = session.role || "";
  document.getElementById("signout").hidden = !signedIn;
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", location.hash.startsWith(a.getAttribute("href")));
    if (a.dataset.role) a.hidden = !can(a.dataset.role); // links for a role and up only
  }
}

let here = location.hash;
export async function route() {
  here = location.hash;
  stopTimers();
  if (!session.role && session.key) {
    try { await signIn(session.key); } catch { signOut(); }
  }
  chrome();
  if (!session.role) return signInView();
  const hash = location.hash.slice(1) || "/messages";
  const [path, search] = hash.split("?");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(search || ""));
  // Each route renders into its own page element: a view still waiting for the server
  // when the address changes (a search submitted while the first list loads) writes into
  // its page, which is no longer shown, instead of over the newer view.
  const page = h("div.page");
  mount(view, page);
  const pages = {
    messages: () => messagesView(page, params),
    message: () => messageView(page, parts[1]),
    problems: () => problemsView(page),
    po: () => (parts[1] ? poView(page, parts[1]) : poListView(page, params)),
    audit: () => auditView(page, params),
    mappings: () => mappingsView(page, parts[1]),
    health: () => healthView(page),
  };
  try {
    await (pages[parts[0]] || pages.messages)();
  } catch (e) {
    if (!page.isConnected) return; // an older route's failure: a newer view is showing
    if (e instanceof ApiError && e.status === 401) { signOut(); return signInView("Your key is no longer accepted."); }
    mount(page, h("section.card", h("h1", "Something went wrong"), h("p.err", String(e.message || e))));
    toast(String(e.message || e), true);
  }
}

document.getElementById("signout").addEventListener("click", () => {
  if (unsaved.message && !confirm(unsaved.message)) return;
  unsaved.message = null;
  signOut(); location.hash = ""; route();
});
window.addEventListener("hashchange", () => {
  // unsaved edits (the mapping editor): ask first; staying puts the address back
  if (unsaved.message && location.hash !== here && !confirm(unsaved.message)) return history.replaceState(null, "", here);
  unsaved.message = null;
  route();
});
window.pohubCan = can; // for the console
route();
