/*
 * Switchboard customer chat widget: one <script> tag, no build step, no dependencies.
 *
 *   <script src="https://PORTAL/static/widget/chat-widget.js"
 *           data-stylesheet="https://PORTAL/static/widget/chat-widget.css"
 *           data-bank-name="Northbank" defer></script>
 *
 * On a page of a logged-in customer, the bank adds data-customer-assertion-url: an endpoint of its own site
 * that answers POST with {"assertion": "<JWT>"}, its signed word for who the customer is; the widget fetches a
 * fresh one for each new session, so the portal shows agents a verified customer (docs/protocol.md).
 *
 * It speaks only to the portal (docs/protocol.md, "The customer socket"): POST /api/widget/sessions for a
 * signed token, kept in localStorage so a reload resumes the conversation, then ws(s)://PORTAL/ws/customer/,
 * whose first frame carries the token (never the URL, which logs keep).
 * The portal's database is the truth: on every (re)connect the snapshot replaces what is shown, and messages
 * are deduplicated by id (and by client_id for our own). Every message carries its number in the conversation
 * (`seq`): one numbered past the next expected means an event was lost on the way, so the widget asks for what
 * it missed (`messages.sync`) on the same socket and shows each message once, without reconnecting.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  var config = {
    portal: new URL(script.dataset.portal || script.src, window.location.href).origin,
    stylesheet: script.dataset.stylesheet || null,
    bankName: script.dataset.bankName || "our team",
    customerAssertionUrl: script.dataset.customerAssertionUrl || null,
  };
  var STORAGE_KEY = "switchboard.widget.session";
  var MAX_TEXT = 2000;
  var PING_MS = 25000;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  // Close codes from the protocol: the stored token is no good, so the widget starts a new session. (4408, no
  // `auth` frame in time, is a slow network: an ordinary reconnect.)
  var CLOSE_BAD_TOKEN = 4401;
  var CLOSE_UNKNOWN_CONVERSATION = 4404;

  var STATUS_TEXT = {
    bot: "Virtual assistant · replies in seconds",
    queued: "Connecting you to a member of our team…",
    assigned: "", // filled with the agent's name
    resolved: "This conversation is closed",
  };
  var ERROR_TEXT = {
    text_too_long: "That message is too long — please keep it under 2,000 characters.",
    frame_too_large: "That message is too long to send.",
    conversation_closed: "This conversation has been closed.",
    malformed_frame: "Something went wrong sending that. Please try again.",
    invalid_field: "Something went wrong sending that. Please try again.",
    unknown_type: "Something went wrong sending that. Please try again.",
  };
  // invalid_field details the portal documents (docs/protocol.md, "Text, never commands"), said in words.
  var FIELD_ERROR_TEXT = [
    ["text: reads as a bot command", "Please write that in words: a message can't start with a slash (/)."],
    ["payload: not a button", "That choice isn't available any more. Please type your answer instead."],
  ];

  function errorText(frame) {
    if (frame.code === "invalid_field") {
      for (var i = 0; i < FIELD_ERROR_TEXT.length; i++) {
        if ((frame.detail || "").indexOf(FIELD_ERROR_TEXT[i][0]) === 0) return FIELD_ERROR_TEXT[i][1];
      }
    }
    return ERROR_TEXT[frame.code] || "Sorry, something went wrong. Please try again.";
  }

  // ---- small helpers -------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key.indexOf("on") === 0) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "c-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function formatTime(iso) {
    var date = iso ? new Date(iso) : new Date();
    return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function readCookie(name) {
    var match = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return match ? decodeURIComponent(match[1]) : null;
  }

  function loadSession() {
    try {
      var stored = JSON.parse(window.localStorage.getItem(STORAGE_KEY) || "null");
      // A conversation started anonymously is not resumed on a signed-in page, nor the reverse.
      return stored && stored.token && !!stored.verified === !!config.customerAssertionUrl ? stored : null;
    } catch (err) {
      return null;
    }
  }

  function saveSession(session) {
    try { window.localStorage.setItem(STORAGE_KEY, JSON.stringify(session)); } catch (err) { /* private mode */ }
  }

  function forgetSession() {
    try { window.localStorage.removeItem(STORAGE_KEY); } catch (err) { /* private mode */ }
  }

  // ---- the widget ----------------------------------------------------------------------------------

  function ChatWidget() {
    this.session = loadSession();
    this.socket = null;
    this.status = null;
    this.agent = null;
    this.rendered = {}; // message id -> element
    this.pending = {}; // client_id -> {text, payload, element}: sent but not yet acknowledged
    this.lastSeq = 0; // the highest seq shown with none missing before it
    this.held = {}; // seq -> message that came past a gap: shown once the gap is filled
    this.syncing = false; // a messages.sync is on its way
    this.attempt = 0;
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.starting = null; // the in-flight session request
    this.started = false; // connected once: from then on the reconnect loop owns the socket
    this.build();
  }

  ChatWidget.prototype.build = function () {
    var self = this;
    var root = el("div", { className: "sbw-root", "data-testid": "chat-widget" });
    if (config.stylesheet) {
      // Shown once styled: an unstyled launcher flashing on the host page looks broken.
      root.hidden = true;
      var reveal = function () { root.hidden = false; };
      document.head.appendChild(el("link", {
        rel: "stylesheet", href: config.stylesheet, onload: reveal, onerror: reveal,
      }));
    }
    this.launcherLabel = el("span", { className: "sbw-launcher__label", text: "Chat with us" });
    this.launcher = el("button", {
      type: "button", className: "sbw-launcher", "data-testid": "chat-launcher",
      "aria-expanded": "false", "aria-controls": "sbw-panel",
      onclick: function () { self.toggle(); },
    }, [
      el("span", { className: "sbw-launcher__icon", "aria-hidden": "true" }),
      this.launcherLabel,
    ]);

    this.statusLine = el("p", { className: "sbw-status", "data-testid": "chat-status", "aria-live": "polite" });
    this.log = el("ol", {
      className: "sbw-log", "data-testid": "chat-log", role: "log", "aria-live": "polite",
      "aria-label": "Conversation",
    });
    this.input = el("textarea", {
      className: "sbw-input", id: "sbw-input", rows: "1", maxlength: String(MAX_TEXT),
      placeholder: "Type your message…", "data-testid": "chat-input", "aria-label": "Your message",
      onkeydown: function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          self.submit();
        }
      },
      oninput: function () { self.onInput(); },
    });
    this.counter = el("span", { className: "sbw-counter", "aria-live": "polite", "data-testid": "chat-counter" });
    this.sendButton = el("button", {
      type: "submit", className: "sbw-send", "data-testid": "chat-send", "aria-label": "Send message",
    }, [el("span", { className: "sbw-send__icon", "aria-hidden": "true" })]);
    this.composer = el("form", {
      className: "sbw-composer", "data-testid": "chat-composer",
      onsubmit: function (event) { event.preventDefault(); self.submit(); },
    }, [this.input, this.counter, this.sendButton]);
    this.closedBar = el("div", { className: "sbw-closed", "data-testid": "chat-closed", hidden: true }, [
      el("p", { text: "This conversation is closed. Thank you for chatting with " + config.bankName + "." }),
      el("button", {
        type: "button", className: "sbw-new", "data-testid": "chat-new", text: "Start a new chat",
        onclick: function () { self.startNewChat(); },
      }),
    ]);

    this.panel = el("section", {
      className: "sbw-panel", id: "sbw-panel", role: "dialog", "aria-modal": "false",
      "aria-labelledby": "sbw-title", "data-testid": "chat-panel", hidden: true,
      onkeydown: function (event) { if (event.key === "Escape") self.close(); },
    }, [
      el("header", { className: "sbw-header" }, [
        el("div", { className: "sbw-avatar", "aria-hidden": "true", text: config.bankName.charAt(0) }),
        el("div", { className: "sbw-heading" }, [
          el("h2", { className: "sbw-title", id: "sbw-title", text: "Chat with " + config.bankName }),
          this.statusLine,
        ]),
        el("button", {
          type: "button", className: "sbw-close", "aria-label": "Close chat", "data-testid": "chat-close",
          onclick: function () { self.close(); },
        }, [el("span", { "aria-hidden": "true", text: "×" })]),
      ]),
      this.log,
      this.closedBar,
      this.composer,
    ]);

    root.append(this.panel, this.launcher);
    document.body.appendChild(root);
    this.clearLog();
    document.querySelectorAll("[data-switchboard-open]").forEach(function (button) {
      button.addEventListener("click", function () { self.open(); });
    });
    this.setStatus(null, null);
    // A customer who reloads mid-conversation finds it open where they left it.
    if (this.session && this.session.open) this.open();
  };

  // ---- panel ---------------------------------------------------------------------------------------

  ChatWidget.prototype.toggle = function () {
    if (this.panel.hidden) this.open(); else this.close();
  };

  ChatWidget.prototype.open = function () {
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    this.launcher.classList.add("sbw-launcher--open");
    this.launcherLabel.textContent = "Close chat";
    this.input.focus();
    this.remember({ open: true });
    // The first open connects; after that the socket's own reconnect loop keeps it up.
    if (!this.started) {
      this.started = true;
      this.connect();
    }
  };

  ChatWidget.prototype.close = function () {
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.classList.remove("sbw-launcher--open");
    this.launcherLabel.textContent = "Chat with us";
    this.remember({ open: false });
    this.launcher.focus();
  };

  ChatWidget.prototype.remember = function (fields) {
    if (!this.session) return;
    Object.keys(fields).forEach(function (key) { this.session[key] = fields[key]; }, this);
    saveSession(this.session);
  };

  // ---- session and socket --------------------------------------------------------------------------

  function postJson(url, body) {
    var headers = { "Content-Type": "application/json", Accept: "application/json" };
    var csrf = readCookie("csrftoken");
    if (csrf) headers["X-CSRFToken"] = csrf;
    return fetch(url, {
      method: "POST", headers: headers, body: JSON.stringify(body), credentials: "same-origin",
    }).then(function (response) {
      if (!response.ok) throw new Error("POST " + url + " failed: " + response.status);
      return response.json();
    });
  }

  // The bank's fresh assertion of who the customer is, or null on a page with no signed-in customer.
  function customerAssertion() {
    if (!config.customerAssertionUrl) return Promise.resolve(null);
    return postJson(config.customerAssertionUrl, {}).then(function (body) { return body.assertion; });
  }

  ChatWidget.prototype.startSession = function () {
    var self = this;
    if (this.starting) return this.starting;
    this.starting = customerAssertion().then(function (assertion) {
      return postJson(config.portal + "/api/widget/sessions", assertion ? { customer_assertion: assertion } : {});
    }).then(function (body) {
      self.session = {
        conversation_id: body.conversation_id, token: body.token, open: !self.panel.hidden,
        verified: !!(body.customer && body.customer.verified),
      };
      saveSession(self.session);
      return self.session;
    }).finally(function () {
      self.starting = null;
    });
    return this.starting;
  };

  ChatWidget.prototype.connect = function () {
    var self = this;
    clearTimeout(this.reconnectTimer);
    var ready = this.session ? Promise.resolve(this.session) : this.startSession();
    this.setConnection("connecting");
    ready.then(function (session) {
      self.openSocket(session.token);
    }).catch(function () {
      // Said once per outage, not on every retry.
      if (self.attempt === 0) self.notice("We couldn't reach our chat service. Retrying…", "error");
      self.scheduleReconnect();
    });
  };

  ChatWidget.prototype.openSocket = function (token) {
    var self = this;
    var socket = new WebSocket(config.portal.replace(/^http/, "ws") + "/ws/customer/");
    this.socket = socket;
    socket.addEventListener("open", function () {
      socket.send(JSON.stringify({ type: "auth", token: token })); // first, before any other frame
      self.pingTimer = setInterval(function () { self.sendFrame({ type: "ping" }); }, PING_MS);
    });
    socket.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (err) { return; }
      self.handle(frame);
    });
    socket.addEventListener("close", function (event) {
      clearInterval(self.pingTimer);
      if (self.socket !== socket) return; // replaced on purpose (a new chat)
      self.socket = null;
      if (event.code === CLOSE_BAD_TOKEN || event.code === CLOSE_UNKNOWN_CONVERSATION) {
        // The stored conversation is gone or the token expired: start afresh (what is pending goes along).
        forgetSession();
        self.session = null;
        self.clearLog();
        self.setConnection("connecting");
      } else {
        self.setConnection("offline");
      }
      self.scheduleReconnect();
    });
  };

  ChatWidget.prototype.scheduleReconnect = function () {
    var self = this;
    // Exponential backoff with jitter, so a portal restart is not met by every widget at once.
    var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, this.attempt));
    delay = delay / 2 + Math.random() * delay / 2;
    this.attempt += 1;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = setTimeout(function () { self.connect(); }, delay);
  };

  ChatWidget.prototype.sendFrame = function (frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  };

  // ---- frames from the portal ----------------------------------------------------------------------

  ChatWidget.prototype.handle = function (frame) {
    switch (frame.type) {
      case "conversation.snapshot": return this.onSnapshot(frame);
      case "message.ack": return this.onAck(frame);
      case "message.new": return this.receive(frame.message);
      case "messages.synced": return this.onSynced(frame);
      case "conversation.status": return this.onStatus(frame, true);
      case "error": return this.onError(frame);
      default: return undefined; // pong, and types a newer portal may add
    }
  };

  ChatWidget.prototype.onSnapshot = function (frame) {
    var self = this;
    // The portal accepts a socket before it checks the token: only the snapshot says we are really in.
    this.attempt = 0;
    this.setConnection("online");
    var unacked = this.pending;
    this.pending = {};
    this.clearLog();
    this.held = {};
    this.syncing = false;
    this.lastSeq = 0;
    (frame.messages || []).forEach(function (message) { self.addInOrder(message); });
    this.onStatus(frame.conversation || {}, false);
    // Whatever we sent that the portal never stored goes again, with the same client_id (stored once).
    Object.keys(unacked).forEach(function (clientId) {
      if (self.isStored(clientId)) return;
      self.sendMessage(unacked[clientId].text, unacked[clientId].payload, clientId);
    });
  };

  ChatWidget.prototype.isStored = function (clientId) {
    return !!this.log.querySelector('[data-client-id="' + CSS.escape(clientId) + '"][data-state="sent"]');
  };

  ChatWidget.prototype.onAck = function (frame) {
    var entry = this.pending[frame.client_id];
    delete this.pending[frame.client_id];
    if (entry && this.rendered[frame.message.id]) {
      entry.element.remove(); // already shown from another path (snapshot, another tab)
    } else if (entry) {
      this.markSent(entry.element, frame.message);
    }
    this.receive(frame.message); // counts its seq (and shows it, if it is not ours from this tab)
  };

  // ---- sequence numbers ----------------------------------------------------------------------------

  ChatWidget.prototype.receive = function (message) {
    if (!message) return;
    if (message.seq <= this.lastSeq) return this.addMessage(message); // seen before: addMessage dedupes
    if (message.seq === this.lastSeq + 1 && !this.syncing) return this.addInOrder(message);
    // A number skipped: the message(s) before this one were lost on the way. Ask for them by number.
    this.held[message.seq] = message;
    this.requestSync();
  };

  ChatWidget.prototype.addInOrder = function (message) {
    this.addMessage(message);
    this.lastSeq = Math.max(this.lastSeq, message.seq);
  };

  ChatWidget.prototype.requestSync = function () {
    // Offline, the reconnect's snapshot brings everything instead.
    if (!this.syncing) this.syncing = this.sendFrame({ type: "messages.sync", after_seq: this.lastSeq });
  };

  ChatWidget.prototype.onSynced = function (frame) {
    var self = this;
    this.syncing = false;
    (frame.messages || []).forEach(function (message) { self.addInOrder(message); });
    // What came live while the answer was on its way: in order, each once (it may have been in the answer).
    var held = this.held;
    this.held = {};
    Object.keys(held).map(Number).sort(function (a, b) { return a - b; }).forEach(function (seq) {
      self.receive(held[seq]);
    });
  };

  ChatWidget.prototype.onStatus = function (state, live) {
    var previous = this.status;
    this.setStatus(state.status, state.agent);
    // The portal posts its own system messages when an agent joins, closes or hands back; only the wait for a
    // person has none, so the widget says it inline as well as in the header.
    if (live && previous !== state.status && state.status === "queued") {
      this.notice(STATUS_TEXT.queued);
    }
  };

  ChatWidget.prototype.onError = function (frame) {
    if (frame.code === "conversation_closed") this.setStatus("resolved", this.agent);
    var entry = frame.client_id && this.pending[frame.client_id];
    if (entry && frame.code === "rate_limited") {
      // Sent faster than the portal takes: the message is kept and goes again, with its client_id, once the
      // portal says it may (docs/protocol.md, "Limits").
      this.resendLater(frame.client_id, frame.retry_after);
      return;
    }
    if (entry) {
      delete this.pending[frame.client_id];
      entry.element.dataset.state = "failed";
      entry.element.querySelector(".sbw-meta").textContent = "Not sent";
    }
    this.notice(errorText(frame), "error");
  };

  ChatWidget.prototype.resendLater = function (clientId, seconds) {
    var self = this;
    var entry = this.pending[clientId];
    entry.element.querySelector(".sbw-meta").textContent = "Waiting to send…";
    setTimeout(function () {
      var still = self.pending[clientId];
      if (!still) return; // stored meanwhile, or a new chat started
      still.element.querySelector(".sbw-meta").textContent = "Sending…";
      self.sendFrame(messageFrame(clientId, still));
    }, Math.max(1, seconds || 1) * 1000);
  };

  // ---- rendering -----------------------------------------------------------------------------------

  ChatWidget.prototype.clearLog = function () {
    this.log.textContent = "";
    this.rendered = {};
    // Not a message: the greeting that tells the customer what the chat is for, above every conversation.
    this.log.appendChild(el("li", { className: "sbw-intro" }, [
      el("strong", { text: "Hi, welcome to " + config.bankName + "." }),
      el("span", {
        text: " Ask our assistant about your card, a payment or opening hours — or ask for a person at any time.",
      }),
    ]));
  };

  ChatWidget.prototype.addMessage = function (message) {
    if (!message || this.rendered[message.id]) return;
    // Our own message echoed back (e.g. the ack was lost): promote the pending bubble instead of adding one.
    var entry = message.client_id && this.pending[message.client_id];
    if (entry) {
      delete this.pending[message.client_id];
      this.markSent(entry.element, message);
      return;
    }
    var item = this.bubble(message.sender, message.text, message);
    item.dataset.state = "sent";
    this.rendered[message.id] = item;
    this.append(item);
    if (message.sender === "bot" && message.buttons && message.buttons.length) {
      item.appendChild(this.quickReplies(message.buttons));
    }
  };

  ChatWidget.prototype.bubble = function (sender, text, message) {
    var who = sender === "agent" ? ((message && message.agent && message.agent.display_name) || "Agent")
      : sender === "bot" ? config.bankName + " assistant" : null;
    var item = el("li", {
      className: "sbw-message sbw-message--" + sender, "data-testid": "chat-message", "data-sender": sender,
      "data-message-id": message ? message.id : null, "data-client-id": message ? message.client_id : null,
    }, [
      who ? el("span", { className: "sbw-author", "data-testid": "chat-author", text: who }) : null,
      el("div", { className: "sbw-bubble", "data-testid": "chat-text", text: text }),
      sender === "system" ? null : el("span", {
        className: "sbw-meta", text: formatTime(message && message.created_at),
      }),
    ]);
    return item;
  };

  ChatWidget.prototype.markSent = function (element, message) {
    element.dataset.state = "sent";
    element.dataset.messageId = message.id;
    this.rendered[message.id] = element;
    element.querySelector(".sbw-meta").textContent = formatTime(message.created_at);
  };

  ChatWidget.prototype.quickReplies = function (buttons) {
    var self = this;
    var group = el("div", { className: "sbw-quick", role: "group", "aria-label": "Suggested replies" });
    buttons.forEach(function (button) {
      group.appendChild(el("button", {
        type: "button", className: "sbw-quick__button", "data-testid": "chat-button", text: button.title,
        "data-payload": button.payload,
        onclick: function () {
          if (self.isClosed()) return;
          group.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
          self.sendMessage(button.title, button.payload, null);
        },
      }));
    });
    return group;
  };

  ChatWidget.prototype.notice = function (text, tone) {
    var item = el("li", {
      className: "sbw-notice" + (tone ? " sbw-notice--" + tone : ""), "data-testid": "chat-notice",
      role: tone === "error" ? "alert" : null, text: text,
    });
    this.append(item);
  };

  ChatWidget.prototype.append = function (item) {
    var nearBottom = this.log.scrollHeight - this.log.scrollTop - this.log.clientHeight < 80;
    this.log.appendChild(item);
    if (nearBottom || item.dataset.sender === "customer") this.log.scrollTop = this.log.scrollHeight;
  };

  ChatWidget.prototype.setStatus = function (status, agent) {
    this.status = status;
    this.agent = agent || null;
    var text = STATUS_TEXT[status] || "We typically reply in a few seconds";
    if (status === "assigned") text = "Chatting with " + ((agent && agent.display_name) || "our team");
    this.statusLine.textContent = text;
    this.statusLine.dataset.status = status || "";
    this.panel.dataset.status = status || "";
    var closed = this.isClosed();
    this.closedBar.hidden = !closed;
    this.composer.hidden = closed;
    // A closed conversation's token is no use any more: the browser (maybe a shared one) stops keeping it. The
    // page still shows the conversation; the next visit starts a new one.
    if (closed) forgetSession();
  };

  ChatWidget.prototype.setConnection = function (state) {
    this.panel.dataset.connection = state;
    if (state === "offline") this.statusLine.textContent = "Reconnecting…";
    else if (state === "online") this.setStatus(this.status, this.agent);
  };

  ChatWidget.prototype.isClosed = function () {
    return this.status === "resolved";
  };

  // ---- sending -------------------------------------------------------------------------------------

  ChatWidget.prototype.onInput = function () {
    var length = this.input.value.length;
    this.counter.textContent = length > MAX_TEXT - 200 ? length + " / " + MAX_TEXT : "";
    // Grow with the text up to a few lines.
    this.input.style.height = "auto";
    this.input.style.height = Math.min(this.input.scrollHeight, 120) + "px";
  };

  ChatWidget.prototype.submit = function () {
    var text = this.input.value.trim();
    if (!text || this.isClosed()) return;
    if (text.length > MAX_TEXT) {
      this.notice(ERROR_TEXT.text_too_long, "error");
      return;
    }
    this.input.value = "";
    this.onInput();
    this.sendMessage(text, null, null);
  };

  ChatWidget.prototype.sendMessage = function (text, payload, clientId) {
    clientId = clientId || newClientId();
    var element = this.bubble("customer", text, { client_id: clientId });
    element.dataset.state = "pending";
    element.querySelector(".sbw-meta").textContent = "Sending…";
    this.pending[clientId] = { text: text, payload: payload, element: element };
    this.append(element);
    // Offline: the bubble stays pending and the snapshot handler resends it once the socket is back.
    this.sendFrame(messageFrame(clientId, this.pending[clientId]));
  };

  function messageFrame(clientId, entry) {
    var frame = { type: "message.send", client_id: clientId, text: entry.text };
    if (entry.payload) frame.payload = entry.payload;
    return frame;
  }

  ChatWidget.prototype.startNewChat = function () {
    var old = this.socket;
    this.socket = null;
    if (old) old.close();
    forgetSession();
    this.session = null;
    this.status = null;
    this.pending = {};
    this.clearLog();
    this.setStatus(null, null);
    this.connect();
    this.input.focus();
  };

  function boot() {
    window.SwitchboardWidget = new ChatWidget();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
