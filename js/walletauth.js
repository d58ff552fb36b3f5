/* walletauth client: "Sign in with Ethereum" for any page. Dependency-free, no build step.
 * Served by the walletauth handler at <basePath>/client.js.
 *
 * One tag and one element make a working button (its text toggles to "Sign out"):
 *   <script src="/auth/client.js" defer></script>
 *   <button data-walletauth>Sign in with Ethereum</button>
 *   <p data-walletauth-error></p>        (optional: where errors go; created after the button if absent)
 *
 * Or the JS API (create() returns the same client for the same basePath):
 *   const auth = WalletAuth.create({ basePath: "/auth" });     // default: where this script came from
 *   auth.on("change", (user) => ...);   // user object, or null when signed out
 *   auth.on("error", (err) => ...);     // err.message is ready to show; err.code names the cause
 *   await auth.ready;                   // the session restored from cookies (or not) on page load
 *   await auth.signIn();                // resolves with the /verify response
 *   const res = await auth.fetch("/api/me");  // adds Authorization: Bearer <accessToken>
 *   auth.accessToken(); auth.user(); auth.address(); await auth.signOut();
 * Wallets are found with EIP-6963 (WalletAuth.wallets() lists them), falling back to window.ethereum.
 */
(function () {
  "use strict";
  var MSG = {
    no_wallet: "No Ethereum wallet found. Install MetaMask or another wallet.",
    rejected: "You rejected the request in your wallet.",
    pending: "Your wallet already has a request open. Look for its window and finish or close it.",
    network: "Could not reach the server. Check your connection and try again.",
  };
  var script = document.currentScript;
  var scriptBase = script && script.src ? script.src.replace(/\/client\.js(?:[?#].*)?$/, "") : "/auth";

  // EIP-6963: collect every wallet that announces itself, now and later.
  var announced = [];
  window.addEventListener("eip6963:announceProvider", function (e) {
    var d = e.detail;
    if (!d || !d.provider || !d.info) return;
    if (!announced.some(function (w) { return w.info.uuid === d.info.uuid; })) announced.push(d);
  });
  function requestProviders() { window.dispatchEvent(new Event("eip6963:requestProvider")); }
  requestProviders();

  function AuthError(code, message, status) {
    var e = new Error(message);
    e.name = "WalletAuthError";
    e.code = code;
    e.status = status || 0;
    return e;
  }

  function walletError(err) {
    if (err && err.code === 4001) return AuthError("rejected", MSG.rejected);
    if (err && err.code === -32002) return AuthError("wallet_busy", MSG.pending);
    return AuthError("wallet_error", "Your wallet reported an error: " + ((err && err.message) || String(err)));
  }

  function toHex(text) {
    var bytes = new TextEncoder().encode(text), hex = "0x";
    for (var i = 0; i < bytes.length; i++) hex += bytes[i].toString(16).padStart(2, "0");
    return hex;
  }

  function claims(token) {
    try { return JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))); } catch (_) { return {}; }
  }
  // Token lifetime in ms from the JWT's own iat/exp (server clock), else from expiresAt (our clock).
  function lifetime(token, expiresAt) {
    var c = claims(token), ms = c.exp > c.iat ? (c.exp - c.iat) * 1000 : Date.parse(expiresAt) - Date.now();
    return isFinite(ms) && ms > 0 ? ms : 30000;
  }

  var clients = {};

  function create(opts) {
    opts = opts || {};
    var base = new URL(String(opts.basePath || scriptBase), location.href).href.replace(/\/+$/, "");
    if (clients[base]) return clients[base];
    var token = null, expires = 0, user = null, address = null, timer = null, refreshing = null;
    var handlers = { change: [], error: [] };
    var self = {};

    function emit(kind, arg) {
      handlers[kind].forEach(function (fn) {
        try { fn(arg, self); } catch (e) { setTimeout(function () { throw e; }); }
      });
    }
    function fail(err) { emit("error", err); throw err; }

    async function api(method, path, body, okStatuses) {
      var res, init = { method: method, credentials: "same-origin", headers: { Accept: "application/json" } };
      if (body !== undefined) {
        init.headers["Content-Type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      if (token && path !== "/refresh") init.headers.Authorization = "Bearer " + token;
      try { res = await window.fetch(base + path, init); } catch (_) { throw AuthError("network", MSG.network); }
      if (res.status === 204) return null;
      var data = null;
      try { data = await res.json(); } catch (_) { /* not JSON */ }
      if (res.ok) return data;
      var e = (data && data.error) || {};
      throw AuthError(e.code || "http_" + res.status, e.message || "The server answered " + res.status + ".", res.status);
    }

    function setUser(u, addr) {
      var changed = !user || user.id !== u.id || (addr && addr !== address);
      user = u;
      if (addr) address = addr;
      if (changed) emit("change", user);
    }
    function setToken(accessToken, expiresAt) {
      var ms = lifetime(accessToken, expiresAt);
      token = accessToken;
      expires = Date.now() + ms;
      clearTimeout(timer);
      timer = setTimeout(renew, Math.max(ms * 0.8, 2000));
    }
    function clearSession() {
      var had = user !== null || token !== null;
      clearTimeout(timer);
      token = user = address = null;
      expires = 0;
      if (had) emit("change", null);
    }

    // POST /refresh; concurrent callers share one request. 401 means the session is over.
    function refresh() {
      if (!refreshing) {
        refreshing = api("POST", "/refresh", {}).then(function (r) {
          setToken(r.accessToken, r.expiresAt);
          return r;
        }).catch(function (err) {
          if (err.status === 401) clearSession();
          throw err;
        }).finally(function () { refreshing = null; });
      }
      return refreshing;
    }
    function renew() {
      refresh().catch(function (err) {
        if (err.status === 401) return;
        emit("error", err);
        timer = setTimeout(renew, 10000); // network or server trouble: try again soon
      });
    }

    async function pickProvider() {
      if (opts.provider) return opts.provider;
      if (!announced.length) {
        requestProviders();
        await new Promise(function (r) { setTimeout(r, 150); });
      }
      var want = opts.rdns || "io.metamask";
      var hit = announced.find(function (w) { return w.info.rdns === want; }) || announced[0];
      return hit ? hit.provider : window.ethereum || null;
    }

    async function signIn() {
      var provider = await pickProvider();
      if (!provider || typeof provider.request !== "function") return fail(AuthError("no_wallet", MSG.no_wallet));
      try {
        var ask = function (method, params) {
          return provider.request(params ? { method: method, params: params } : { method: method })
            .catch(function (e) { throw walletError(e); });
        };
        var accounts = await ask("eth_requestAccounts");
        if (!accounts || !accounts.length) throw AuthError("no_account", "Your wallet shared no account. Unlock it and try again.");
        var addr = accounts[0];
        var chainId = parseInt(await ask("eth_chainId"), 16);
        var challenge = await api("POST", "/nonce", { address: addr, chainId: chainId });
        if (!challenge || !challenge.message) throw AuthError("invalid_response", "The server sent no message to sign.");
        var signature = await ask("personal_sign", [toHex(challenge.message), addr]);
        var res = await api("POST", "/verify", { message: challenge.message, signature: signature });
        if (res.status === "complete") {
          setToken(res.accessToken, res.expiresAt);
          setUser(res.user, addr);
        }
        return res;
      } catch (err) {
        return fail(err);
      }
    }

    async function signOut() {
      try { await api("POST", "/logout", {}); } catch (err) { emit("error", err); }
      clearSession();
    }

    // fetch with the access token; after a 401 it renews the token once and retries.
    async function authFetch(url, init) {
      init = Object.assign({ credentials: "same-origin" }, init);
      if (refreshing) await refreshing.catch(function () {});
      var send = function () {
        var h = new Headers(init.headers || {});
        if (token) h.set("Authorization", "Bearer " + token);
        return window.fetch(url, Object.assign({}, init, { headers: h }));
      };
      var res = await send();
      if (res.status === 401 && token && (init.body == null || typeof init.body === "string")) {
        try { await refresh(); } catch (_) { return res; }
        res = await send();
      }
      return res;
    }

    // Page load: the access cookie may still be good (GET /session); either way get a fresh token.
    async function restore() {
      var s = null;
      try { s = await api("GET", "/session"); } catch (err) { if (err.status !== 401) emit("error", err); }
      try { await refresh(); } catch (err) { if (err.status !== 401) emit("error", err); return; }
      if (!s) s = await api("GET", "/session");
      var sa = s.session && s.session.address;
      var w = s.user && s.user.wallets && s.user.wallets[0];
      if (s && s.user) setUser(s.user, sa || (w && w.address));
    }

    // Background tabs throttle timers: renew as soon as the tab is seen again, if it is due.
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible" && token && expires - Date.now() < 10000) renew();
    });

    self.basePath = base;
    self.signIn = signIn;
    self.signOut = signOut;
    self.refresh = refresh;
    self.fetch = authFetch;
    self.accessToken = function () { return token; };
    self.user = function () { return user; };
    self.address = function () { return address; };
    self.on = function (kind, fn) {
      if (!handlers[kind]) throw new Error("WalletAuth: unknown event " + kind);
      handlers[kind].push(fn);
      return self;
    };
    self.ready = restore().catch(function (err) { emit("error", err); });
    clients[base] = self;
    return self;
  }

  // Buttons: every [data-walletauth] element signs in or out with the page's first client.
  function bindButtons() {
    var els = document.querySelectorAll("[data-walletauth]");
    if (!els.length) return;
    var auth = clients[Object.keys(clients)[0]] || create();
    els.forEach(function (el) {
      var signInText = el.getAttribute("data-signin-text") || el.textContent.trim() || "Sign in with Ethereum";
      var signOutText = el.getAttribute("data-signout-text") || "Sign out";
      var errBox = document.querySelector("[data-walletauth-error]");
      if (!errBox) {
        errBox = document.createElement("span");
        errBox.setAttribute("data-walletauth-error", "");
        errBox.setAttribute("role", "alert");
        errBox.style.cssText = "margin-left:.5em;color:#b42318";
        el.insertAdjacentElement("afterend", errBox);
      }
      var render = function () {
        el.textContent = auth.user() ? signOutText : signInText;
        el.setAttribute("data-walletauth-state", auth.user() ? "signed-in" : "signed-out");
      };
      auth.on("change", function () { errBox.textContent = ""; render(); });
      auth.on("error", function (err) { errBox.textContent = err.message; });
      el.addEventListener("click", async function (ev) {
        ev.preventDefault();
        if (el.disabled) return;
        el.disabled = true;
        errBox.textContent = "";
        el.textContent = auth.user() ? "Signing out…" : "Check your wallet…";
        try { await (auth.user() ? auth.signOut() : auth.signIn()); } catch (_) { /* shown via "error" */ }
        el.disabled = false;
        render();
      });
      render();
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", bindButtons);
  else bindButtons();

  window.WalletAuth = {
    create: create,
    wallets: function () { return announced.slice(); },
    messages: MSG,
  };
})();
