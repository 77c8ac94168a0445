/*
 * Switchboard agent inbox: the live queue, "Mine", and one open conversation with its handoff context packet.
 * Vanilla JS, no build step. It speaks the agent socket of docs/protocol.md over the login session cookie.
 *
 * The database is the truth: the inbox is rebuilt from `inbox.snapshot` on every (re)connect, and the open
 * conversation from `conversation.snapshot` (sent again after a reconnect); live frames are upserts on top.
 * Messages carry their number in the conversation (`seq`): one numbered past the next expected means an event
 * was lost on the way, and the inbox asks for what the open conversation missed (`messages.sync`) on the same
 * socket, showing each message once. Another conversation is read afresh (its snapshot) when it is opened.
 */
(function () {
  "use strict";

  var root = document.getElementById("inbox");
  // A supervisor (docs/roles.md) also sees other agents' conversations and can reassign or take them over.
  var me = { id: root.dataset.agentId, name: root.dataset.agentName, supervises: root.dataset.supervises === "true" };
  var MAX_TEXT = 2000;
  var PING_MS = 25000;
  var BACKOFF_MIN_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var CLOSE_NOT_AGENT = 4403;
  var PRIORITY_RANK = { urgent: 0, high: 1, normal: 2, low: 3 };
  var STATUS_LABEL = {
    bot: "With the bot", queued: "Waiting", assigned: "Assigned", resolved: "Resolved",
  };
  var ERROR_TEXT = {
    not_allowed: "That action isn't possible any more — another agent may have claimed this conversation.",
    unknown_conversation: "That conversation no longer exists.",
    text_too_long: "That reply is over 2,000 characters.",
  };

  var state = {
    handoffs: {}, // conversation_id -> Handoff (only queued, or assigned to me; to anyone, for a supervisor)
    agents: [], // {id, display_name} a supervisor can give a conversation to (inbox.snapshot)
    intents: [], // the bot's domain intents, what a resolving agent may say the customer needed (inbox.snapshot)
    selectedId: null,
    selected: null, // {conversation, context, handoff} of the open conversation
    renderedMessages: {}, // message id -> element, for the open conversation
    pending: {}, // client_id -> {text, element}
    lastSeq: 0, // of the open conversation: the highest seq shown with none missing before it
    held: {}, // seq -> message of the open conversation that came past a gap: shown once the gap is filled
    syncing: false, // a messages.sync for the open conversation is on its way
    unread: {}, // conversation_id -> true
  };
  var socket = null;
  var attempt = 0;
  var reconnectTimer = null;
  var leaving = false; // this page is logging out or navigating away
  window.addEventListener("beforeunload", function () { leaving = true; });
  var pingTimer = null;

  var dom = {
    connection: q("connection-status"),
    queueList: q("queue-list"),
    mineList: q("mine-list"),
    queueCount: q("queue-count"),
    mineCount: q("mine-count"),
    teamList: q("team-list"),
    teamCount: q("team-count"),
    takeOver: q("take-over-button"),
    reassignTo: q("reassign-select"),
    reassign: q("reassign-button"),
    empty: root.querySelector('[data-role="empty"]'),
    body: root.querySelector('[data-role="conversation"]'),
    title: q("conversation-title"),
    status: q("conversation-status"),
    priority: q("conversation-priority"),
    agent: q("conversation-agent"),
    claim: q("claim-button"),
    resolve: q("resolve-button"),
    handBack: q("handback-button"),
    labelForm: q("label-form"),
    labelIntent: q("label-intent"),
    labelResolve: q("label-resolve"),
    labelSkip: q("label-skip"),
    labelCancel: q("label-cancel"),
    toast: q("agent-error"),
    log: q("agent-log"),
    composer: q("agent-composer"),
    input: q("agent-input"),
    send: q("agent-send"),
    counter: q("agent-counter"),
    ctx: {
      reason: q("context-reason"),
      priority: q("context-priority"),
      customer: q("context-customer"),
      waiting: q("context-waiting"),
      topic: q("context-topic"),
      intent: q("context-intent"),
      note: q("context-note"),
      ranking: q("context-ranking"),
      entities: q("context-entities"),
      slots: q("context-slots"),
      transcript: q("context-transcript"),
    },
  };

  // ---- helpers -------------------------------------------------------------------------------------

  function q(testId) {
    return root.querySelector('[data-testid="' + testId + '"]');
  }

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
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function newClientId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "a-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  function waitingText(since) {
    return since ? durationText((Date.now() - new Date(since).getTime()) / 1000) : "—";
  }

  function durationText(totalSeconds) {
    var seconds = Math.max(0, Math.floor(totalSeconds));
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    if (hours) return hours + "h " + String(minutes).padStart(2, "0") + "m";
    if (minutes) return minutes + "m " + String(rest).padStart(2, "0") + "s";
    return rest + "s";
  }

  function formatTime(iso) {
    return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  }

  function percent(confidence) {
    return Math.round((Number(confidence) || 0) * 100) + "%";
  }

  function capitalise(text) {
    return text ? text.charAt(0).toUpperCase() + text.slice(1) : "";
  }

  function shortId(id) {
    return String(id).slice(0, 8);
  }

  // The protocol's agent object carries the display name (and an id where the portal sends one).
  function isMe(agent) {
    if (!agent) return false;
    return agent.id !== undefined ? String(agent.id) === String(me.id) : agent.display_name === me.name;
  }

  function isMine(handoff) {
    return handoff.status === "assigned" && isMe(handoff.agent);
  }

  function isVisible(handoff) {
    return handoff.status === "queued" || isMine(handoff) || (me.supervises && handoff.status === "assigned");
  }

  // Handoffs past their address's flood limit after all others (docs/protocol.md, "Limits"); then most urgent
  // first; within a priority, whoever has waited longest.
  function byPriorityThenWait(a, b) {
    if (a.over_limit !== b.over_limit) return a.over_limit ? 1 : -1;
    var rank = PRIORITY_RANK[a.priority] - PRIORITY_RANK[b.priority];
    if (rank) return rank;
    return new Date(a.queued_at).getTime() - new Date(b.queued_at).getTime();
  }

  function priorityBadge(priority, testId) {
    return el("span", {
      className: "badge badge--" + priority, "data-testid": testId, "data-priority": priority,
      text: capitalise(priority),
    });
  }

  // ---- socket --------------------------------------------------------------------------------------

  function connect() {
    clearTimeout(reconnectTimer);
    setConnection("connecting", "Connecting…");
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + window.location.host + root.dataset.socketPath);
    socket = ws;
    ws.addEventListener("open", function () {
      pingTimer = setInterval(function () { sendFrame({ type: "ping" }); }, PING_MS);
      // The inbox snapshot comes by itself; the open conversation we ask for again.
      if (state.selectedId) sendFrame({ type: "conversation.open", conversation_id: state.selectedId });
    });
    ws.addEventListener("message", function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (err) { return; }
      handle(frame);
    });
    ws.addEventListener("close", function (event) {
      clearInterval(pingTimer);
      socket = null;
      if (event.code === CLOSE_NOT_AGENT) {
        // The login session ended, or the role was taken away: the page itself will ask them to sign in. Not
        // when this page is the one logging out (its socket closes too): it is already on its way.
        setConnection("offline", "Signed out");
        if (!leaving) window.location.reload();
        return;
      }
      setConnection("offline", "Reconnecting…");
      var delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, attempt));
      attempt += 1;
      reconnectTimer = setTimeout(connect, delay / 2 + Math.random() * delay / 2);
    });
  }

  function sendFrame(frame) {
    if (!socket || socket.readyState !== WebSocket.OPEN) return false;
    socket.send(JSON.stringify(frame));
    return true;
  }

  function setConnection(stateName, text) {
    dom.connection.dataset.state = stateName;
    dom.connection.textContent = text;
    renderActions();
  }

  function handle(frame) {
    switch (frame.type) {
      case "inbox.snapshot":
        state.agents = frame.agents || [];
        state.intents = frame.intents || [];
        return onInboxSnapshot(frame.handoffs || []);
      case "handoff.updated": return onHandoffUpdated(frame.handoff);
      case "conversation.snapshot": return onConversationSnapshot(frame);
      case "message.new": return onMessageNew(frame);
      case "message.ack": return onMessageAck(frame);
      case "messages.synced": return onMessagesSynced(frame);
      case "conversation.status": return onConversationStatus(frame);
      case "error": return onError(frame);
      default: return undefined; // pong, and types a newer portal may add
    }
  }

  // ---- inbox lists ---------------------------------------------------------------------------------

  function onInboxSnapshot(handoffs) {
    // The portal accepts a socket before it checks the login: only the snapshot says we are really in.
    attempt = 0;
    setConnection("online", "Live");
    state.handoffs = {};
    handoffs.forEach(function (handoff) {
      if (isVisible(handoff)) state.handoffs[handoff.conversation_id] = handoff;
    });
    renderLists();
  }

  function onHandoffUpdated(handoff) {
    if (!handoff) return;
    var id = handoff.conversation_id;
    if (isVisible(handoff)) state.handoffs[id] = handoff;
    else delete state.handoffs[id];
    renderLists();
    if (id === state.selectedId && state.selected) {
      state.selected.handoff = handoff;
      state.selected.context = handoff.context;
      state.selected.conversation.status = handoff.status;
      state.selected.conversation.agent = handoff.agent;
      renderConversation();
    }
  }

  function renderLists() {
    var all = Object.keys(state.handoffs).map(function (id) { return state.handoffs[id]; });
    var queue = all.filter(function (h) { return h.status === "queued"; }).sort(byPriorityThenWait);
    var mine = all.filter(isMine).sort(byPriorityThenWait);
    fillList(dom.queueList, queue, "queue");
    fillList(dom.mineList, mine, "mine");
    dom.queueCount.textContent = queue.length;
    dom.mineCount.textContent = mine.length;
    if (dom.teamList) {
      var team = all.filter(function (h) { return h.status === "assigned" && !isMine(h); }).sort(byPriorityThenWait);
      fillList(dom.teamList, team, "team");
      dom.teamCount.textContent = team.length;
    }
    document.title = (queue.length ? "(" + queue.length + ") " : "") + "Inbox · Switchboard";
  }

  function fillList(list, handoffs, name) {
    list.textContent = "";
    handoffs.forEach(function (handoff) { list.appendChild(queueItem(handoff)); });
    root.querySelector('[data-empty-for="' + name + '"]').hidden = handoffs.length > 0;
  }

  function queueItem(handoff) {
    var id = handoff.conversation_id;
    var context = handoff.context || {};
    var selected = id === state.selectedId;
    var preview = lastCustomerText(context.transcript || []);
    var button = el("button", {
      type: "button", className: "qitem", "data-testid": "queue-item", "data-conversation-id": id,
      "data-status": handoff.status, "data-priority": handoff.priority, "aria-current": selected ? "true" : null,
      onclick: function () { select(id); },
    }, [
      el("span", { className: "qitem__top" }, [
        priorityBadge(handoff.priority, "queue-priority"),
        el("span", { className: "qitem__reason", "data-testid": "queue-reason", text: handoff.reason_label }),
        customerBadge(context.customer, "queue-customer"),
        handoff.over_limit
          ? el("span", {
            className: "badge badge--low", "data-testid": "queue-over-limit",
            title: "Its address has handed off more than the flood limit allows: listed after the others",
            text: "Flood limit",
          })
          : null,
        state.unread[id] ? el("span", { className: "qitem__unread", "aria-label": "New messages" }) : null,
      ]),
      el("span", { className: "qitem__preview", text: preview || topicLabel(context) || "No message" }),
      el("span", { className: "qitem__meta" }, [
        el("span", { className: "qitem__id", text: "#" + shortId(id) }),
        handoff.status === "queued"
          ? el("span", {
            className: "qitem__wait", "data-testid": "queue-waiting", "data-since": handoff.queued_at,
            text: waitingText(handoff.queued_at),
          })
          : el("span", { className: "qitem__wait qitem__wait--mine", text: "With you" }),
      ]),
    ]);
    return el("li", {}, [button]);
  }

  // Whether the bank vouched for who the customer is (context packet version 2; a version 1 packet, from
  // before verification existed, was anonymous).
  function customerBadge(customer, testId) {
    var verified = !!(customer && customer.verified);
    return el("span", {
      className: "badge " + (verified ? "badge--verified" : "badge--anonymous"), "data-testid": testId,
      "data-verified": verified ? "true" : "false",
      title: verified ? "The bank's site vouched for this customer: " + customer.id : "Not signed in at the bank",
      text: verified ? "Verified" : "Anonymous",
    });
  }

  function lastCustomerText(transcript) {
    for (var i = transcript.length - 1; i >= 0; i -= 1) {
      if (transcript[i].sender === "customer") return transcript[i].text;
    }
    return "";
  }

  function topicLabel(context) {
    return context.topic ? context.topic.replace(/_/g, " ") : "";
  }

  // ---- the open conversation -----------------------------------------------------------------------

  function select(id) {
    if (state.selectedId !== id) {
      state.selectedId = id;
      state.selected = null;
      state.pending = {};
      clearLog();
      hideToast();
      hideLabelForm();
    }
    delete state.unread[id];
    renderLists();
    dom.empty.hidden = true;
    dom.body.hidden = false;
    dom.title.textContent = "Conversation #" + shortId(id);
    sendFrame({ type: "conversation.open", conversation_id: id });
  }

  function onConversationSnapshot(frame) {
    var conversation = frame.conversation || {};
    if (conversation.id !== state.selectedId) return;
    var unacked = state.pending;
    state.pending = {};
    state.selected = {
      conversation: conversation,
      context: frame.context || null,
      handoff: state.handoffs[conversation.id] || (state.selected && state.selected.handoff) || null,
    };
    clearLog();
    (frame.messages || []).forEach(addInOrder);
    // Replies the portal never stored (the socket dropped) go again with the same client_id: stored once.
    Object.keys(unacked).forEach(function (clientId) {
      if (!dom.log.querySelector('[data-client-id="' + CSS.escape(clientId) + '"]')) {
        sendReply(unacked[clientId].text, clientId);
      }
    });
    renderConversation();
  }

  function onConversationStatus(frame) {
    if (frame.conversation_id !== state.selectedId || !state.selected) return;
    state.selected.conversation.status = frame.status;
    state.selected.conversation.agent = frame.agent;
    renderConversation();
  }

  function currentStatus() {
    return state.selected ? state.selected.conversation.status : null;
  }

  function currentAgent() {
    return state.selected ? state.selected.conversation.agent : null;
  }

  function renderConversation() {
    var sel = state.selected;
    if (!sel) return;
    var status = currentStatus();
    var agent = currentAgent();
    var handoff = sel.handoff || {};
    dom.status.textContent = STATUS_LABEL[status] || status;
    dom.status.dataset.status = status;
    var priority = handoff.priority || (sel.context && sel.context.priority);
    dom.priority.hidden = !priority;
    if (priority) {
      dom.priority.className = "badge badge--" + priority;
      dom.priority.dataset.priority = priority;
      dom.priority.textContent = capitalise(priority);
    }
    dom.agent.textContent = status === "assigned" && agent
      ? (isMe(agent) ? "Assigned to you" : "Assigned to " + agent.display_name)
      : "";
    renderActions();
    renderContext(sel.context, handoff);
  }

  function renderActions() {
    var status = currentStatus();
    var online = !!socket && socket.readyState === WebSocket.OPEN;
    var mine = status === "assigned" && isMe(currentAgent());
    dom.claim.hidden = status !== "queued";
    dom.resolve.hidden = !mine || !dom.labelForm.hidden;
    dom.handBack.hidden = !mine;
    if (!mine) hideLabelForm();
    [dom.claim, dom.resolve, dom.handBack, dom.labelSkip].forEach(function (b) { b.disabled = !online; });
    updateLabelForm();
    if (me.supervises) renderReassign(status, online, mine);
    dom.input.disabled = !mine;
    dom.send.disabled = !mine || !online;
    dom.input.placeholder = mine ? "Write to the customer…"
      : status === "queued" ? "Claim the conversation to reply"
        : status === "resolved" ? "This conversation is resolved"
          : status === "bot" ? "The assistant is handling this conversation"
            : "Another agent is handling this conversation";
  }

  function renderReassign(status, online, mine) {
    var open = status === "queued" || status === "assigned";
    var handoff = state.handoffs[state.selectedId];
    var current = handoff && handoff.agent; // the Handoff's agent carries the id; the conversation's does not
    dom.takeOver.hidden = !open || mine;
    var others = state.agents.filter(function (a) { return !current || String(a.id) !== String(current.id); });
    var chosen = dom.reassignTo.value;
    dom.reassignTo.textContent = "";
    others.forEach(function (a) {
      dom.reassignTo.appendChild(el("option", { value: String(a.id), text: a.display_name }));
    });
    if (others.some(function (a) { return String(a.id) === chosen; })) dom.reassignTo.value = chosen;
    dom.reassignTo.hidden = dom.reassign.hidden = !open || !others.length;
    [dom.takeOver, dom.reassign].forEach(function (b) { b.disabled = !online; });
  }

  function renderContext(context, handoff) {
    var ctx = context || {};
    var c = dom.ctx;
    var reason = ctx.reason || { code: handoff.reason, label: handoff.reason_label };
    c.reason.textContent = "";
    c.reason.dataset.reason = reason.code || "";
    c.reason.append(
      el("span", { className: "reason__label", text: reason.label || "—" }),
      el("code", { className: "reason__code", text: reason.code || "" })
    );
    c.customer.textContent = "";
    c.customer.appendChild(customerBadge(ctx.customer, "context-customer-badge"));
    if (ctx.customer && ctx.customer.verified) {
      c.customer.append(" ", el("code", { "data-testid": "context-customer-id", text: ctx.customer.id }));
    }
    var priority = handoff.priority || ctx.priority;
    c.priority.textContent = "";
    if (priority) c.priority.appendChild(priorityBadge(priority, "context-priority-badge"));
    var since = handoff.queued_at || ctx.queued_at;
    var queued = currentStatus() === "queued";
    c.waiting.dataset.since = queued ? since || "" : "";
    c.waiting.textContent = queued ? waitingText(since) : "Waited " + waitedText(ctx, handoff);
    c.topic.textContent = topicLabel(ctx) || "—";
    var intent = ctx.intent;
    c.intent.textContent = "";
    c.intent.dataset.intent = intent ? intent.name : "";
    if (intent) {
      c.intent.append(el("code", { text: intent.name }), " ", el("span", { className: "muted", text: percent(intent.confidence) }));
    } else {
      c.intent.textContent = "—";
    }
    root.querySelector('[data-role="note-row"]').hidden = !ctx.note;
    c.note.textContent = ctx.note || "";
    renderRanking(ctx.intent_ranking || []);
    renderPairs(c.entities, (ctx.entities || []).map(function (e) { return [e.entity, e.value]; }), "context-entity");
    var slots = ctx.slots || {};
    renderPairs(c.slots, Object.keys(slots).filter(function (k) { return slots[k] !== null; }).map(function (k) {
      return [k, slots[k]];
    }), "context-slot");
    renderTranscript(ctx.transcript || []);
  }

  function waitedText(ctx, handoff) {
    var since = handoff.queued_at || ctx.queued_at;
    var until = handoff.claimed_at || handoff.closed_at || null;
    if (!since) return "—";
    if (!until) return waitingText(since);
    return durationText((new Date(until) - new Date(since)) / 1000);
  }

  function renderRanking(ranking) {
    var list = dom.ctx.ranking;
    list.textContent = "";
    if (!ranking.length) {
      list.appendChild(el("li", { className: "muted", text: "No intent ranking (the bot did not classify)." }));
      return;
    }
    ranking.forEach(function (item, index) {
      var bar = el("span", { className: "ranking__fill" });
      bar.style.width = percent(item.confidence);
      list.appendChild(el("li", {
        className: "ranking__item" + (index === 0 ? " ranking__item--top" : ""),
        "data-testid": "context-ranking-item", "data-intent": item.name, "data-confidence": item.confidence,
      }, [
        el("span", { className: "ranking__name", text: item.name, title: item.name }),
        el("span", { className: "ranking__bar", "aria-hidden": "true" }, [bar]),
        el("span", { className: "ranking__value", text: percent(item.confidence) }),
      ]));
    });
  }

  function renderPairs(container, pairs, testId) {
    container.textContent = "";
    if (!pairs.length) {
      container.appendChild(el("div", { className: "muted", text: "None" }));
      return;
    }
    pairs.forEach(function (pair) {
      var value = typeof pair[1] === "object" ? JSON.stringify(pair[1]) : String(pair[1]);
      container.appendChild(el("div", { className: "pair", "data-testid": testId, "data-name": pair[0] }, [
        el("dt", { text: pair[0] }),
        el("dd", { text: value }),
      ]));
    });
  }

  function renderTranscript(transcript) {
    var list = dom.ctx.transcript;
    list.textContent = "";
    transcript.forEach(function (line) {
      list.appendChild(el("li", { className: "transcript__line transcript__line--" + line.sender }, [
        el("span", { className: "transcript__who", text: line.sender }),
        el("span", { className: "transcript__text", text: line.text }),
      ]));
    });
    if (!transcript.length) list.appendChild(el("li", { className: "muted", text: "Empty" }));
  }

  // ---- messages ------------------------------------------------------------------------------------

  function clearLog() {
    dom.log.textContent = "";
    state.renderedMessages = {};
    state.lastSeq = 0;
    state.held = {};
    state.syncing = false;
  }

  function onMessageNew(frame) {
    if (frame.conversation_id !== state.selectedId) {
      if (state.handoffs[frame.conversation_id]) {
        state.unread[frame.conversation_id] = true;
        renderLists();
      }
      return;
    }
    if (!state.selected) return; // its snapshot is on its way, and holds this message
    receive(frame.message);
  }

  function onMessageAck(frame) {
    if (frame.conversation_id !== state.selectedId) return;
    var entry = state.pending[frame.client_id];
    delete state.pending[frame.client_id];
    if (entry && state.renderedMessages[frame.message.id]) entry.element.remove();
    else if (entry) markSent(entry.element, frame.message);
    receive(frame.message); // counts its seq (and shows it, if it was not sent from this page)
  }

  // ---- sequence numbers of the open conversation ---------------------------------------------------

  function receive(message) {
    if (!message) return;
    if (message.seq <= state.lastSeq) return addMessage(message); // seen before: addMessage dedupes
    if (message.seq === state.lastSeq + 1 && !state.syncing) return addInOrder(message);
    // A number skipped: the message(s) before this one were lost on the way. Ask for them by number.
    state.held[message.seq] = message;
    if (!state.syncing) {
      state.syncing = sendFrame({
        type: "messages.sync", conversation_id: state.selectedId, after_seq: state.lastSeq,
      });
    }
  }

  function addInOrder(message) {
    addMessage(message);
    state.lastSeq = Math.max(state.lastSeq, message.seq);
  }

  function onMessagesSynced(frame) {
    if (frame.conversation_id !== state.selectedId || !state.syncing) return;
    state.syncing = false;
    (frame.messages || []).forEach(addInOrder);
    // What came live while the answer was on its way: in order, each once (it may have been in the answer).
    var held = state.held;
    state.held = {};
    Object.keys(held).map(Number).sort(function (a, b) { return a - b; }).forEach(function (seq) {
      receive(held[seq]);
    });
  }

  function addMessage(message) {
    if (!message || state.renderedMessages[message.id]) return;
    var entry = message.client_id && state.pending[message.client_id];
    if (entry) {
      delete state.pending[message.client_id];
      markSent(entry.element, message);
      return;
    }
    var item = messageItem(message.sender, message.text, message);
    item.dataset.state = "sent";
    state.renderedMessages[message.id] = item;
    appendToLog(item);
  }

  function messageItem(sender, text, message) {
    var who = sender === "customer" ? "Customer"
      : sender === "bot" ? "Assistant"
        : sender === "agent" ? ((message.agent && message.agent.display_name) || "Agent") : null;
    return el("li", {
      className: "msg msg--" + sender, "data-testid": "agent-message", "data-sender": sender,
      "data-message-id": message.id || null, "data-client-id": message.client_id || null,
    }, [
      who ? el("span", { className: "msg__who", text: who }) : null,
      el("div", { className: "msg__text", text: text }),
      el("span", { className: "msg__meta", text: message.created_at ? formatTime(message.created_at) : "Sending…" }),
      message.buttons && message.buttons.length
        ? el("span", { className: "msg__buttons", text: "Offered: " + message.buttons.map(function (b) { return b.title + " (" + b.payload + ")"; }).join(" · ") })
        : null,
      // A chosen button: what the bot acted on is its payload, not the title shown above.
      message.payload
        ? el("span", { className: "msg__buttons", "data-testid": "message-payload", text: "Button chosen; the bot was sent " + message.payload })
        : null,
    ]);
  }

  function markSent(element, message) {
    element.dataset.state = "sent";
    element.dataset.messageId = message.id;
    state.renderedMessages[message.id] = element;
    element.querySelector(".msg__meta").textContent = formatTime(message.created_at);
  }

  function appendToLog(item) {
    var nearBottom = dom.log.scrollHeight - dom.log.scrollTop - dom.log.clientHeight < 80;
    dom.log.appendChild(item);
    if (nearBottom || item.dataset.state === "pending") dom.log.scrollTop = dom.log.scrollHeight;
  }

  function sendReply(text, clientId) {
    clientId = clientId || newClientId();
    var item = messageItem("agent", text, { client_id: clientId, agent: { display_name: me.name } });
    item.dataset.state = "pending";
    state.pending[clientId] = { text: text, element: item };
    appendToLog(item);
    sendFrame({ type: "message.send", conversation_id: state.selectedId, client_id: clientId, text: text });
  }

  function submitReply() {
    var text = dom.input.value.trim();
    if (!text || dom.input.disabled) return;
    if (text.length > MAX_TEXT) {
      showToast(ERROR_TEXT.text_too_long);
      return;
    }
    dom.input.value = "";
    updateCounter();
    sendReply(text, null);
  }

  function updateCounter() {
    var length = dom.input.value.length;
    dom.counter.textContent = length > MAX_TEXT - 200 ? length + " / " + MAX_TEXT : "";
  }

  // ---- errors --------------------------------------------------------------------------------------

  function onError(frame) {
    var entry = frame.client_id && state.pending[frame.client_id];
    if (entry) {
      delete state.pending[frame.client_id];
      entry.element.dataset.state = "failed";
      entry.element.querySelector(".msg__meta").textContent = "Not sent";
    }
    showToast(ERROR_TEXT[frame.code] || frame.detail || "Something went wrong.");
  }

  var toastTimer = null;
  function showToast(text) {
    dom.toast.textContent = text;
    dom.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(hideToast, 8000);
  }

  function hideToast() {
    dom.toast.hidden = true;
  }

  // ---- the label at resolve -----------------------------------------------------------------------
  // Resolving asks what the customer actually needed (prefilled with the bot's top intent, when it is one the
  // agent may choose) and whether a person was needed: an agent-confirmed label for the managers' NLU inbox.

  function showLabelForm() {
    var context = state.selected && state.selected.context;
    var top = context && context.intent && context.intent.name;
    dom.labelIntent.textContent = "";
    dom.labelIntent.appendChild(el("option", { value: "", text: "Choose…" }));
    state.intents.forEach(function (intent) {
      dom.labelIntent.appendChild(el("option", { value: intent, text: intent.replace(/_/g, " ") }));
    });
    dom.labelIntent.value = state.intents.indexOf(top) >= 0 ? top : "";
    dom.labelForm.querySelectorAll('input[name="handoff_needed"]').forEach(function (r) { r.checked = false; });
    dom.labelForm.hidden = false;
    renderActions();
    dom.labelIntent.focus();
  }

  function hideLabelForm() {
    dom.labelForm.hidden = true;
  }

  function chosenLabel() {
    var needed = dom.labelForm.querySelector('input[name="handoff_needed"]:checked');
    if (!dom.labelIntent.value || !needed) return null;
    return { intent: dom.labelIntent.value, handoff_needed: needed.value === "yes" };
  }

  function updateLabelForm() {
    var online = !!socket && socket.readyState === WebSocket.OPEN;
    dom.labelResolve.disabled = !online || !chosenLabel();
  }

  function resolve(label) {
    var frame = { type: "conversation.resolve", conversation_id: state.selectedId };
    if (label) frame.label = label;
    sendFrame(frame);
    hideLabelForm();
    renderActions();
  }

  dom.labelForm.addEventListener("change", updateLabelForm);
  dom.labelForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var label = chosenLabel();
    if (label) resolve(label);
  });
  dom.labelSkip.addEventListener("click", function () { resolve(null); });
  dom.labelCancel.addEventListener("click", function () { hideLabelForm(); renderActions(); });

  // ---- wiring --------------------------------------------------------------------------------------

  function act(action) {
    hideToast();
    if (action === "resolve") {
      showLabelForm();
      return;
    }
    if (action === "take_over" || action === "reassign") {
      var to = action === "take_over" ? me.id : dom.reassignTo.value;
      sendFrame({ type: "conversation.reassign", conversation_id: state.selectedId, agent_id: Number(to) });
      return;
    }
    var type = { claim: "handoff.claim", hand_back: "conversation.hand_back" }[action];
    sendFrame({ type: type, conversation_id: state.selectedId });
  }

  [dom.claim, dom.resolve, dom.handBack, dom.takeOver, dom.reassign].filter(Boolean).forEach(function (button) {
    button.addEventListener("click", function () { act(button.dataset.action); });
  });
  dom.composer.addEventListener("submit", function (event) {
    event.preventDefault();
    submitReply();
  });
  dom.input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      submitReply();
    }
  });
  dom.input.addEventListener("input", updateCounter);

  // Waiting times tick live from queued_at, without a frame from the portal.
  setInterval(function () {
    root.querySelectorAll("[data-since]").forEach(function (node) {
      if (node.dataset.since) node.textContent = waitingText(node.dataset.since);
    });
  }, 1000);

  renderLists();
  connect();
})();
