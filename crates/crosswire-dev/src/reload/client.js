// Live reload for pages served by `crosswire dev`. The proxy inserts this
// function before </body> and calls it with {path, port, id}: where the
// reload channel is, and which build served the page.
(settings) => {
  if (window.__crosswireDev) return;
  window.__crosswireDev = true;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const host = settings.port ? `${location.hostname}:${settings.port}` : location.host;
  const url = `${scheme}//${host}${settings.path}`;
  let retries = 0;
  let overlay = null;
  let badge = null;

  // The error overlay lives in a shadow root, so the app's styles cannot
  // reach into it and its styles cannot leak into the app.
  function showError(error) {
    hideBadge();
    if (!overlay) {
      overlay = document.createElement("crosswire-error-overlay");
      const root = overlay.attachShadow({ mode: "open" });
      root.innerHTML = `<style>
        :host { position: fixed; inset: 0; z-index: 2147483647; background: rgba(0,0,0,.66);
                display: flex; align-items: flex-start; justify-content: center; padding: 5vh 16px;
                font: 14px/1.5 system-ui, sans-serif; }
        .box { background: #181a1f; color: #e6e6e6; border-top: 4px solid #e5484d; border-radius: 8px;
               max-width: 960px; width: 100%; max-height: 90vh; overflow: auto; padding: 16px 20px;
               box-shadow: 0 12px 40px rgba(0,0,0,.5); }
        header { display: flex; align-items: baseline; gap: 12px; }
        h2 { margin: 0; font-size: 16px; color: #ff6b6b; }
        p { margin: 4px 0 12px; color: #a0a4ab; font-size: 13px; }
        button { margin-left: auto; background: none; border: 0; color: #a0a4ab; font-size: 20px; cursor: pointer; }
        pre { margin: 0; white-space: pre-wrap; font: 13px/1.45 ui-monospace, monospace; }
      </style>
      <div class="box" role="alertdialog" aria-label="Dev server error">
        <header><h2></h2><button title="Hide until the next change">&times;</button></header>
        <p></p>
        <pre></pre>
      </div>`;
      root.querySelector("button").onclick = () => hideError();
    }
    const root = overlay.shadowRoot;
    root.querySelector("h2").textContent = error.title || "Build failed";
    root.querySelector("p").textContent = error.note || "";
    root.querySelector("pre").textContent = error.message;
    if (!overlay.isConnected) document.documentElement.append(overlay);
  }

  function hideError() {
    overlay?.remove();
  }

  function showBadge() {
    if (!badge) {
      badge = document.createElement("crosswire-dev-badge");
      badge.textContent = "rebuilding\u2026";
      badge.style.cssText = "position:fixed;right:12px;bottom:12px;z-index:2147483647;" +
        "padding:4px 10px;border-radius:12px;background:#181a1f;color:#e6e6e6;" +
        "font:12px/1.4 system-ui,sans-serif;opacity:.85;pointer-events:none";
    }
    if (!badge.isConnected) document.documentElement.append(badge);
  }

  function hideBadge() {
    badge?.remove();
  }

  function connect() {
    const socket = new WebSocket(url, "crosswire-reload");
    socket.onopen = () => { retries = 0; };
    socket.onmessage = (event) => {
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      switch (message.type) {
        // Another build than the page's: it missed a reload while away.
        case "hello": if (message.id !== settings.id) location.reload(); break;
        case "reload": location.reload(); break;
        case "building": showBadge(); break;
        case "error": showError(message); break;
        case "ok": hideError(); hideBadge(); break;
      }
    };
    // The dev server restarted or went away: try again, backing off, and
    // let the hello of the next connection decide whether to reload.
    socket.onclose = () => {
      const delay = Math.min(2000, 100 * 2 ** retries++);
      setTimeout(connect, delay);
    };
  }

  connect();
}
