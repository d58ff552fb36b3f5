// The demo page: WalletAuth (from /auth/client.js) does the work; this file only draws the state.
(function () {
  "use strict";
  var auth = WalletAuth.create({ basePath: "/auth" });
  var $ = function (id) { return document.getElementById(id); };

  var CHAINS = { 1: "Ethereum", 10: "OP Mainnet", 137: "Polygon", 8453: "Base", 42161: "Arbitrum One", 11155111: "Sepolia" };
  var mfaOn = false;

  // The outcome of an OAuth linking: the server sends the browser back here with
  // ?oauth_linked=<provider> or ?oauth_error=<code>. Read it once, then drop it from the address
  // bar so that a reload or a bookmark does not show it again.
  var OAUTH_ERRORS = {
    already_linked: "Linking failed: that account is linked to another user.",
    unauthenticated: "Linking failed: you were not signed in. Sign in, then try again.",
    state_invalid: "Linking failed: the request expired or was not started from this page. Try again.",
    access_denied: "Linking cancelled: access was not granted at the provider.",
    provider_error: "Linking failed: the provider did not answer as expected. Try again later.",
    unknown_provider: "Linking failed: that provider is not configured on this server.",
  };
  var oauthNotice = (function () {
    var q = new URLSearchParams(location.search), linked = q.get("oauth_linked"), code = q.get("oauth_error");
    if (linked === null && code === null) return null;
    q.delete("oauth_linked");
    q.delete("oauth_error");
    var rest = q.toString();
    history.replaceState(history.state, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
    // Only what this page would say itself: a link may carry any text in these parameters, so
    // an unknown error code gets a plain message, and "linked" is shown only for a provider that
    // the server lists as linked (loadOAuth checks).
    if (linked) return { ok: true, provider: linked, text: "Linked your " + providerName(linked) + " account." };
    var known = code !== null && Object.prototype.hasOwnProperty.call(OAUTH_ERRORS, code);
    return { ok: false, text: known ? OAUTH_ERRORS[code] : "Linking failed. Try again." };
  })();
  function providerName(p) {
    return { github: "GitHub", google: "Google" }[p] || String(p).charAt(0).toUpperCase() + String(p).slice(1);
  }

  function showError(msg, code) {
    $("error").textContent = msg || "";
    $("error-box").hidden = !msg;
    $("install").hidden = code !== "no_wallet";
  }
  function say(id, msg) {
    $(id).textContent = msg || "";
    $(id).hidden = !msg;
  }

  // How long the current access token has left; the client renews it at ~80% of its life.
  function showToken() {
    var t = auth.accessToken();
    if (!t) return;
    try {
      var exp = JSON.parse(atob(t.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).exp;
      var s = Math.max(0, Math.round(exp - Date.now() / 1000));
      $("token-info").textContent = "Access token valid for " + s + " s more; it renews automatically.";
    } catch (_) { /* not a JWT */ }
  }

  async function loadMe() {
    var res;
    try { res = await auth.fetch("/api/me"); } catch (_) { return showError("Could not reach the server."); }
    var body = await res.json().catch(function () { return null; });
    if (!res.ok) {
      showError((body && body.error && body.error.message) || "GET /api/me answered " + res.status);
      return;
    }
    $("me").textContent = JSON.stringify(body, null, 2);
    var name = CHAINS[body.chainId];
    $("chain").textContent = "on " + (name ? name + " (chain " + body.chainId + ")" : "chain " + body.chainId);
  }

  function render(user, state) {
    state = state || auth.state();
    $("signed-out").hidden = state !== "signed_out";
    $("second-factor").hidden = state !== "second_factor";
    $("signed-in").hidden = state !== "signed_in";
    document.body.dataset.state = state.replace("_", "-");
    if (state === "second_factor") {
      factorMode(false);
      $("factor-code").focus();
    }
    resetMFA();
    resetProfile();
    if (!user) return;
    $("address").textContent = auth.address() || (user.wallets && user.wallets[0] && user.wallets[0].address) || "";
    $("me").textContent = "…";
    $("chain").textContent = "";
    $("sensitive-result").textContent = "";
    showToken();
    loadMe();
    loadMFA();
    loadProfile();
  }

  async function busy(button, label, fn) {
    var old = button.innerHTML;
    button.disabled = true;
    button.textContent = label;
    showError("");
    try { await fn(); } catch (_) { /* shown by the error handler */ }
    button.disabled = false;
    button.innerHTML = old;
  }

  // --- the second step of a sign-in -------------------------------------------------------------

  var factorRecovery = false;
  function factorMode(recovery) {
    factorRecovery = recovery;
    var input = $("factor-code");
    $("factor-label").textContent = recovery ? "Enter one of your recovery codes" : "Enter the 6-digit code from your authenticator app";
    $("factor-toggle").textContent = recovery ? "Use the authenticator app instead" : "Use a recovery code instead";
    input.inputMode = recovery ? "text" : "numeric";
    input.placeholder = recovery ? "xxxx-xxxx-xxxx-xxxx" : "123456";
    input.value = "";
  }
  $("factor-toggle").addEventListener("click", function () { factorMode(!factorRecovery); $("factor-code").focus(); });
  $("factor-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    var code = $("factor-code").value;
    busy($("factor-submit"), "Checking…", function () {
      return (factorRecovery ? auth.submitRecoveryCode(code) : auth.submitCode(code)).catch(function (err) {
        $("factor-code").select();
        throw err;
      });
    });
  });
  $("factor-cancel").addEventListener("click", function () { showError(""); auth.signOut(); });

  // --- two-factor panel -------------------------------------------------------------------------

  function show(view) {
    ["mfa-off", "mfa-enrol", "mfa-codes-view", "mfa-on"].forEach(function (id) { $(id).hidden = id !== view; });
  }
  function resetMFA() {
    show(null);
    $("mfa-status").textContent = "…";
    $("mfa-codes").textContent = "";
    $("mfa-qr").removeAttribute("src");
    $("mfa-secret").textContent = "";
    say("mfa-message", "");
    hideStepUp();
  }

  async function loadMFA() {
    var s;
    try { s = await auth.mfa.status(); } catch (err) { return say("mfa-message", err.message); }
    mfaOn = s.totp;
    $("mfa").dataset.mfa = s.totp ? "on" : "off";
    $("mfa-status").textContent = s.totp
      ? "On: sign-ins ask for a code from your authenticator app. " + s.recoveryCodesLeft + " recovery code" + (s.recoveryCodesLeft === 1 ? "" : "s") + " left."
      : "Off: your wallet alone signs you in.";
    if ($("mfa-codes-view").hidden) show(s.totp ? "mfa-on" : "mfa-off");
  }

  $("mfa-enable").addEventListener("click", async function () {
    say("mfa-message", "");
    var btn = this;
    btn.disabled = true;
    try {
      var e = await auth.mfa.enrol();
      $("mfa-qr").src = "data:image/png;base64," + e.qrPng;
      $("mfa-secret").textContent = e.secret.replace(/(.{4})(?=.)/g, "$1 ");
      $("mfa-confirm-code").value = "";
      show("mfa-enrol");
      $("mfa-confirm-code").focus();
    } catch (err) {
      say("mfa-message", err.message);
    }
    btn.disabled = false;
  });
  $("mfa-enrol-cancel").addEventListener("click", function () { say("mfa-message", ""); loadMFA(); show("mfa-off"); });
  $("mfa-confirm-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    say("mfa-message", "");
    $("mfa-confirm").disabled = true;
    try {
      var r = await auth.mfa.confirm($("mfa-confirm-code").value);
      var list = $("mfa-codes");
      list.textContent = "";
      r.recoveryCodes.forEach(function (c) {
        var li = document.createElement("li");
        li.textContent = c;
        list.appendChild(li);
      });
      $("mfa-qr").removeAttribute("src");
      $("mfa-secret").textContent = "";
      $("sensitive-result").textContent = "";
      show("mfa-codes-view");
      loadMFA();
    } catch (err) {
      say("mfa-message", err.message);
      $("mfa-confirm-code").select();
    }
    $("mfa-confirm").disabled = false;
  });
  $("mfa-codes-done").addEventListener("click", function () {
    $("mfa-codes").textContent = ""; // shown once
    show(mfaOn ? "mfa-on" : "mfa-off");
  });

  $("mfa-disable").addEventListener("click", async function () {
    var btn = this, others = $("mfa-signout-others").checked;
    say("mfa-message", "");
    btn.disabled = true;
    try {
      var r = await withStepUp($("mfa-on"), function () { return auth.mfa.disable({ signOutOthers: others }); });
      await loadMFA();
      say("mfa-message", "Two-factor authentication is off." +
        (others ? " Signed out " + r.signedOut + " other device" + (r.signedOut === 1 ? "" : "s") + "." : ""));
    } catch (err) {
      if (err.code !== "cancelled") say("mfa-message", err.message);
    }
    btn.disabled = false;
  });

  // --- a sensitive action, and step-up ----------------------------------------------------------

  async function sensitive() {
    var res = await auth.fetch("/api/sensitive", { method: "POST" });
    var body = await res.json().catch(function () { return null; });
    if (res.ok) return body;
    var e = (body && body.error) || {};
    throw Object.assign(new Error(e.message || "POST /api/sensitive answered " + res.status), { code: e.code, status: res.status });
  }
  $("sensitive").addEventListener("click", async function () {
    var btn = this;
    btn.disabled = true;
    $("sensitive-result").textContent = "";
    try {
      var body = await withStepUp($("sensitive-row"), sensitive);
      $("sensitive-result").textContent = "Done: the server answered " + JSON.stringify(body);
    } catch (err) {
      if (err.code !== "cancelled") $("sensitive-result").textContent = err.message;
    }
    btn.disabled = false;
  });

  // withStepUp runs action; if the server wants a fresher second factor (403
  // insufficient_assurance) it asks for a code below the anchor, steps up and runs it again.
  async function withStepUp(anchor, action) {
    try {
      return await action();
    } catch (err) {
      if (err.code !== "insufficient_assurance") throw err;
      if (!mfaOn) throw new Error("This needs a second factor: turn on two-factor authentication first.");
      await askStepUp(anchor);
      return action();
    }
  }

  var stepUpRecovery = false, stepUpWait = null;
  function stepUpMode(recovery) {
    stepUpRecovery = recovery;
    $("stepup-label").textContent = recovery ? "Confirm it is you: enter one of your recovery codes"
      : "Confirm it is you: enter the 6-digit code from your authenticator app";
    $("stepup-toggle").textContent = recovery ? "Use the authenticator app instead" : "Use a recovery code instead";
    $("stepup-code").inputMode = recovery ? "text" : "numeric";
    $("stepup-code").placeholder = recovery ? "xxxx-xxxx-xxxx-xxxx" : "123456";
    $("stepup-code").value = "";
  }
  function askStepUp(anchor) {
    hideStepUp();
    anchor.insertAdjacentElement("afterend", $("stepup"));
    stepUpMode(false);
    say("stepup-error", "");
    $("stepup").hidden = false;
    $("stepup-code").focus();
    return new Promise(function (resolve, reject) { stepUpWait = { resolve: resolve, reject: reject }; });
  }
  function hideStepUp() {
    $("stepup").hidden = true;
    if (stepUpWait) stepUpWait.reject(Object.assign(new Error("cancelled"), { code: "cancelled" }));
    stepUpWait = null;
  }
  $("stepup-toggle").addEventListener("click", function () { stepUpMode(!stepUpRecovery); $("stepup-code").focus(); });
  $("stepup-cancel").addEventListener("click", hideStepUp);
  $("stepup").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var code = $("stepup-code").value;
    say("stepup-error", "");
    $("stepup-submit").disabled = true;
    try {
      await auth.mfa.stepUp(stepUpRecovery ? { recoveryCode: code } : code);
      var wait = stepUpWait;
      stepUpWait = null;
      $("stepup").hidden = true;
      loadMe(); // the session is aal2 now
      if (stepUpRecovery) loadMFA(); // one recovery code fewer
      if (wait) wait.resolve();
    } catch (err) {
      say("stepup-error", err.message);
      $("stepup-code").select();
    }
    $("stepup-submit").disabled = false;
  });

  // --- profile panel ---------------------------------------------------------------------------

  var pendingContact = null; // {kind, value} waiting for its code
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function small(text, onClick) {
    var b = el("button", "small", text);
    b.type = "button";
    b.addEventListener("click", function () {
      b.disabled = true;
      Promise.resolve(onClick()).finally(function () { b.disabled = false; });
    });
    return b;
  }
  function resetProfile() {
    $("profile-id").textContent = "…";
    $("wallets").textContent = "";
    $("public-metadata").textContent = "…";
    $("unsafe-metadata").value = "";
    $("unsafe-message").textContent = "";
    $("contacts").textContent = "";
    $("contacts-empty").hidden = true;
    say("wallet-message", "");
    say("contact-message", "");
    $("oauth-accounts").textContent = "";
    $("oauth-none").hidden = true;
    say("oauth-message", "");
    pendingContact = null;
    $("contact-verify-form").hidden = true;
  }

  async function loadProfile() {
    var r;
    try { r = await auth.profile.user(); } catch (err) { return say("wallet-message", err.message); }
    var u = r.user;
    $("profile-id").textContent = u.id;
    drawWallets(u.wallets || []);
    $("public-metadata").textContent = JSON.stringify(u.publicMetadata || {}, null, 2);
    showUnsafe(u.unsafeMetadata);
    loadContacts();
    loadOAuth();
  }

  // Linked accounts: one row per configured provider, with the linked account or a link button.
  async function loadOAuth() {
    var r = { providers: [], accounts: [] };
    try { r = await auth.profile.oauth(); } catch (err) {
      if (err.status !== 404) return say("oauth-message", err.message); // 404: no provider configured
    }
    var list = $("oauth-accounts"), providers = r.providers || [];
    list.textContent = "";
    $("oauth-none").hidden = providers.length > 0;
    providers.forEach(function (p) {
      var acc = (r.accounts || []).find(function (a) { return a.provider === p; });
      var li = el("li");
      li.dataset.provider = p;
      li.dataset.linked = String(!!acc);
      li.append(el("span", "provider", providerName(p)));
      if (acc) {
        var who = [acc.username, acc.email].filter(Boolean).join(" · ") || "account " + acc.subject;
        li.append(el("span", "value", who));
        li.lastChild.title = "Linked " + new Date(acc.linkedAt).toLocaleString();
      } else {
        li.append(el("span", "value muted", "Not linked"));
      }
      var actions = el("span", "actions");
      if (acc) actions.append(small("Unlink", function () { return unlinkOAuth(p); }));
      else actions.append(small("Link " + providerName(p), function () { say("oauth-message", ""); auth.profile.linkOAuth(p); }));
      li.append(actions);
      list.append(li);
    });
    var linkedNow = oauthNotice && oauthNotice.provider && (r.accounts || []).some(function (a) { return a.provider === oauthNotice.provider; });
    if (oauthNotice && oauthNotice.provider && !linkedNow) oauthNotice = null; // not so: say nothing
    if (oauthNotice) {
      say("oauth-message", oauthNotice.text);
      $("oauth-message").classList.toggle("error-text", !oauthNotice.ok);
      $("oauth-message").scrollIntoView({ block: "nearest" }); // the page loaded at its top
      oauthNotice = null;
    }
  }
  async function unlinkOAuth(p) {
    if (!confirm("Unlink your " + providerName(p) + " account?")) return;
    say("oauth-message", "");
    $("oauth-message").classList.remove("error-text");
    try {
      await auth.profile.unlinkOAuth(p);
      say("oauth-message", "Unlinked your " + providerName(p) + " account.");
    } catch (err) {
      say("oauth-message", err.message);
    }
    await loadOAuth();
  }

  function showUnsafe(obj) {
    var text = JSON.stringify(obj || {}, null, 2);
    $("unsafe-metadata").value = text;
    $("unsafe-metadata").rows = Math.min(12, Math.max(3, text.split("\n").length));
  }

  function drawWallets(wallets) {
    var list = $("wallets"), current = (auth.address() || "").toLowerCase();
    list.textContent = "";
    wallets.forEach(function (w) {
      var li = el("li");
      li.dataset.address = w.address;
      var a = el("span", "value mono", w.address.slice(0, 10) + "…" + w.address.slice(-8));
      a.title = w.address;
      li.append(a);
      if (CHAINS[w.chainId]) li.append(el("span", "badge", CHAINS[w.chainId]));
      var actions = el("span", "actions");
      if (w.address.toLowerCase() === current) li.append(el("span", "badge ok", "this session"));
      else if (wallets.length > 1) actions.append(small("Unlink", function () { return unlinkWallet(w.address); }));
      li.append(actions);
      list.append(li);
    });
  }
  async function unlinkWallet(addr) {
    if (!confirm("Unlink " + addr + "? Sessions signed in with it are signed out.")) return;
    say("wallet-message", "");
    try {
      var r = await auth.profile.unlinkWallet(addr);
      if (auth.user()) drawWallets(r.user.wallets);
      say("wallet-message", "Unlinked " + addr + "." + (r.signedOut ? " Signed out " + r.signedOut + " session" + (r.signedOut === 1 ? "" : "s") + " that used it." : ""));
    } catch (err) {
      say("wallet-message", err.message);
    }
  }
  $("wallet-link").addEventListener("click", async function () {
    var btn = this;
    say("wallet-message", "");
    btn.disabled = true;
    btn.textContent = "Check your wallet…";
    try {
      var r = await auth.profile.linkWallet();
      drawWallets(r.user.wallets);
      var added = r.user.wallets[r.user.wallets.length - 1];
      say("wallet-message", "Linked " + (added ? added.address : "the wallet") + ".");
    } catch (err) {
      say("wallet-message", err.message);
    }
    btn.disabled = false;
    btn.textContent = "Link another wallet";
  });

  $("unsafe-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var out = $("unsafe-message"), obj;
    out.classList.remove("error-text");
    out.textContent = "";
    try { obj = JSON.parse($("unsafe-metadata").value || "{}"); } catch (e) {
      out.classList.add("error-text");
      out.textContent = "Not valid JSON: " + e.message;
      return;
    }
    $("unsafe-save").disabled = true;
    try {
      var r = await auth.profile.setUnsafeMetadata(obj);
      showUnsafe(r.unsafeMetadata);
      out.textContent = "Saved.";
    } catch (err) {
      out.classList.add("error-text");
      out.textContent = "Not saved (" + (err.status || err.code) + "): " + err.message;
    }
    $("unsafe-save").disabled = false;
  });

  async function loadContacts() {
    var r;
    try { r = await auth.profile.contacts(); } catch (err) { return say("contact-message", err.message); }
    var list = $("contacts"), contacts = r.contacts || [];
    list.textContent = "";
    $("contacts-empty").hidden = contacts.length > 0;
    contacts.forEach(function (c) {
      var li = el("li");
      li.dataset.kind = c.kind;
      li.dataset.value = c.value;
      li.dataset.verified = String(!!c.verified);
      li.append(el("span", "value", (c.kind === "phone" ? "☎ " : "✉ ") + c.value));
      li.append(el("span", c.verified ? "badge ok" : "badge", c.verified ? "verified" : "not verified"));
      if (c.primary) li.append(el("span", "badge primary", "primary"));
      var actions = el("span", "actions");
      var waiting = pendingContact && pendingContact.kind === c.kind && pendingContact.value === c.value;
      if (!c.verified && !waiting) actions.append(small("Enter code", function () { askCode(c.kind, c.value, ""); }));
      if (c.verified && !c.primary) actions.append(small("Make primary", function () {
        return contactCall(function () { return auth.profile.setPrimaryContact(c.kind, c.value); }, "");
      }));
      actions.append(small("Remove", function () {
        if (!confirm("Remove " + c.value + "?")) return;
        if (pendingContact && pendingContact.kind === c.kind && pendingContact.value === c.value) hideCode(false);
        return contactCall(function () { return auth.profile.removeContact(c.kind, c.value); }, "Removed " + c.value + ".");
      }));
      li.append(actions);
      list.append(li);
    });
  }
  // contactCall runs a change of the contacts — with a step-up first when the server asks for one
  // (with MFA on, where its codes may go changes only with a fresh factor) — and shows the result.
  async function contactCall(call, done) {
    say("contact-message", "");
    try {
      await withStepUp($("contacts"), call);
      say("contact-message", done);
    } catch (err) {
      if (err.code !== "cancelled") say("contact-message", err.message);
    }
    await loadContacts();
  }
  function askCode(kind, value, msg) {
    pendingContact = { kind: kind, value: value };
    $("contact-verify-label").textContent = "Enter the 6-digit code from the " + (kind === "phone" ? "text message" : "email");
    $("contact-code").value = "";
    $("contact-verify-form").hidden = false;
    Array.prototype.forEach.call($("contacts").querySelectorAll("li"), function (li) { // its "Enter code" is redundant now
      var b = li.dataset.kind === kind && li.dataset.value === value && li.querySelector(".actions button");
      if (b && b.textContent === "Enter code") b.remove();
    });
    say("contact-message", msg);
    $("contact-code").focus();
  }
  function hideCode(reload) {
    pendingContact = null;
    $("contact-verify-form").hidden = true;
    if (reload) loadContacts(); // "Enter code" comes back
  }
  $("contact-kind").addEventListener("change", function () {
    var phone = this.value === "phone";
    $("contact-value").type = phone ? "tel" : "email";
    $("contact-value").placeholder = phone ? "+14155550100" : "you@example.com";
  });
  $("contact-add-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    var kind = $("contact-kind").value, value = $("contact-value").value.trim();
    say("contact-message", "");
    $("contact-add").disabled = true;
    try {
      await auth.profile.addContact(kind, value);
      $("contact-value").value = "";
      await loadContacts();
      // The server may have normalised the value (a phone number to E.164): use its spelling,
      // from the newest unverified contact of that kind.
      var shown = Array.prototype.filter.call($("contacts").children, function (x) { return x.dataset.kind === kind && x.dataset.verified === "false"; });
      var stored = shown.length ? shown[shown.length - 1].dataset.value : value;
      askCode(kind, stored, "A code was sent to " + stored + ".");
    } catch (err) {
      say("contact-message", err.message);
    }
    $("contact-add").disabled = false;
  });
  $("contact-verify-form").addEventListener("submit", async function (ev) {
    ev.preventDefault();
    if (!pendingContact) return;
    var p = pendingContact;
    $("contact-verify").disabled = true;
    try {
      await withStepUp($("contact-verify-form"), function () {
        return auth.profile.verifyContact(p.kind, p.value, $("contact-code").value);
      });
      pendingContact = null;
      $("contact-verify-form").hidden = true;
      say("contact-message", p.value + " is verified.");
      await loadContacts();
    } catch (err) {
      if (err.code !== "cancelled") say("contact-message", err.message);
      $("contact-code").select();
    }
    $("contact-verify").disabled = false;
  });
  $("contact-resend").addEventListener("click", async function () {
    if (!pendingContact) return;
    var p = pendingContact;
    try {
      await auth.profile.resendContact(p.kind, p.value);
      say("contact-message", "A new code was sent to " + p.value + "; the old one no longer works.");
    } catch (err) {
      say("contact-message", err.message);
    }
  });
  $("contact-verify-cancel").addEventListener("click", function () { hideCode(true); say("contact-message", ""); });

  auth.on("change", function (user, state) { render(user, state); });
  auth.on("error", function (err) { showError(err.message, err.code); });
  $("signin").addEventListener("click", function () {
    busy($("signin"), "Check your wallet…", auth.signIn);
  });
  $("signout").addEventListener("click", function () {
    busy($("signout"), "Signing out…", auth.signOut);
  });

  setInterval(showToken, 1000);

  auth.ready.then(function () {
    if (!auth.user()) render(null); // a restored session has drawn itself through "change"
    if (oauthNotice && !oauthNotice.ok && !auth.user()) { // the profile panel is hidden: use the page's error box
      showError(oauthNotice.text);
      oauthNotice = null;
    }
    document.body.dataset.ready = "true";
  });
})();
