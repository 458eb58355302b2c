/*
 * 星河智能客服 · 坐席工作台 (the agent workspace), plain ES2017 without a build step.
 *
 * The page talks to the workspace server's JSON API (workspace/server.py) and follows its
 * live signals over Socket.IO (path /workspace/socket.io; the session cookie authenticates).
 * The server sends `Content-Security-Policy: default-src 'self'`, so there is no inline script,
 * style or handler anywhere: every listener is attached here. Text from the server is only ever
 * set with textContent (never innerHTML).
 */
(() => {
  "use strict";

  // ---- constants ---------------------------------------------------------------------------

  const SOCKET_PATH = "/workspace/socket.io";
  const HEARTBEAT_MS = 30 * 1000;          // the server counts an agent online for 2 minutes
  const OVERVIEW_POLL_MS = 20 * 1000;      // presence expiry has no signal of its own
  const REFRESH_DEBOUNCE_MS = 150;         // signals come in bursts (one per room)
  const MAX_REPLY_CHARS = 2000;            // desk.MAX_REPLY_CHARS
  const TOAST_MS = 6000;
  const ALERT_MS = 15000;
  // A transcript line (no id) and a live message (with an id) are the same line when they agree
  // on who, what and roughly when: the server stamps the live copy with its own clock.
  const SAME_MESSAGE_WINDOW_S = 5;

  const ROLE_NAMES = { agent: "坐席", supervisor: "班长" };
  const STATUS_NAMES = { online: "在线", busy: "忙碌", away: "离开", offline: "离线" };
  const BOT_NAME = "小河（机器人）";
  const ENDED_TEXT = {
    closed: "会话已结束",
    returned: "会话已交还机器人",
    cancelled: "客户已取消人工服务",
  };
  const EVENT_NAMES = {
    queued: "进入排队",
    accepted: "接入",
    transferred: "转接",
    taken_over: "班长接管",
    returned: "交还机器人",
    closed: "结束",
    cancelled: "客户取消",
    escalated: "超时提醒",
  };

  // ---- elements ----------------------------------------------------------------------------

  const $ = (id) => document.getElementById(id);
  const ui = {
    boot: $("boot"),
    loginView: $("login-view"),
    loginForm: $("login-form"),
    loginName: $("login-name"),
    loginPassword: $("login-password"),
    loginSubmit: $("login-submit"),
    loginError: $("login-error"),
    workspace: $("workspace"),
    connection: $("connection"),
    agentName: $("agent-name"),
    agentRole: $("agent-role"),
    agentLoad: $("agent-load"),
    statusSelect: $("status-select"),
    logout: $("logout"),
    supervisorToggle: $("supervisor-toggle"),
    queueList: $("queue-list"),
    queueCount: $("queue-count"),
    queueEmpty: $("queue-empty"),
    acceptNext: $("accept-next"),
    chatList: $("chat-list"),
    chatCount: $("chat-count"),
    chatEmpty: $("chat-empty"),
    chatView: $("chat-view"),
    chatPlaceholder: $("chat-placeholder"),
    chatHeader: $("chat-header"),
    chatCustomer: $("chat-customer"),
    chatVerified: $("chat-verified"),
    chatMember: $("chat-member"),
    chatPriority: $("chat-priority"),
    chatStatus: $("chat-status"),
    chatFacts: $("chat-facts"),
    chatEvents: $("chat-events"),
    chatEventsList: $("chat-events-list"),
    chatAccept: $("chat-accept"),
    chatTakeOver: $("chat-take-over"),
    chatDismiss: $("chat-dismiss"),
    chatBanner: $("chat-banner"),
    transcript: $("transcript"),
    composer: $("composer"),
    replyForm: $("reply-form"),
    replyBox: $("reply-box"),
    replyCounter: $("reply-counter"),
    sendButton: $("send-button"),
    handBack: $("hand-back"),
    transferOpen: $("transfer-open"),
    transferPanel: $("transfer-panel"),
    transferGroup: $("transfer-group"),
    transferAgent: $("transfer-agent"),
    transferAgents: $("transfer-agents"),
    transferNote: $("transfer-note"),
    transferError: $("transfer-error"),
    transferConfirm: $("transfer-confirm"),
    transferCancel: $("transfer-cancel"),
    closeOpen: $("close-open"),
    closePanel: $("close-panel"),
    closeResult: $("close-result"),
    closeNote: $("close-note"),
    closeConfirm: $("close-confirm"),
    closeCancel: $("close-cancel"),
    supervisorView: $("supervisor-view"),
    overviewRefresh: $("overview-refresh"),
    groupRows: $("group-rows"),
    agentRows: $("agent-rows"),
    activeList: $("active-list"),
    activeCount: $("active-count"),
    activeEmpty: $("active-empty"),
    toast: $("toast"),
  };

  // ---- state -------------------------------------------------------------------------------

  const state = {
    agent: null,          // the logged-in agent (API agent object)
    csrf: "",             // sent as X-CSRF-Token on every POST
    generation: 0,        // bumped at every login/logout: late answers of an old session are dropped
    socket: null,
    timers: [],
    queue: [],
    queueFetchedAt: 0,    // performance.now() of the last /api/queue answer (waits count on from it)
    chats: [],
    unread: new Set(),    // chat ids with customer messages the agent has not looked at
    overview: null,
    overviewFetchedAt: 0,
    open: null,           // the chat in the middle column, see openChat()
    openToken: 0,         // the latest openChat() call wins
    sending: false,
    expected: new Set(),  // chat ids this agent just changed: their chat_changed needs no notice
  };

  // ---- small helpers -----------------------------------------------------------------------

  /** An element with attributes (`text` sets textContent, `dataset` sets data-*) and children. */
  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    Object.keys(attrs || {}).forEach((key) => {
      const value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else if (key === "className") node.className = value;
      else if (key === "dataset") Object.keys(value).forEach((name) => { node.dataset[name] = String(value[name]); });
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach((child) => { if (child) node.appendChild(child); });
    return node;
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  /** Seconds as mm:ss (minutes keep counting past 59: a queue wait is never an hour long). */
  function mmss(seconds) {
    const total = Math.max(0, Math.floor(seconds));
    const minutes = Math.floor(total / 60);
    const rest = total % 60;
    return `${String(minutes).padStart(2, "0")}:${String(rest).padStart(2, "0")}`;
  }

  // Agents work on Shanghai time; the server's ISO times are naive Shanghai wall time too.
  const clockFormat = new Intl.DateTimeFormat("zh-CN", {
    hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai",
  });

  /** A message time (unix seconds) as HH:MM. */
  function timeOfDay(unixSeconds) {
    if (typeof unixSeconds !== "number" || !isFinite(unixSeconds)) return "";
    return clockFormat.format(new Date(unixSeconds * 1000));
  }

  /** A naive ISO time from the server ("2026-11-22T10:03:12.5") as "11-22 10:03", read as written. */
  function wallTime(iso) {
    const match = /^\d{4}-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(String(iso || ""));
    return match ? `${match[1]}-${match[2]} ${match[3]}:${match[4]}` : "";
  }

  function customerName(chat) {
    return (chat.customer && chat.customer.name) || "访客";
  }

  function isMine(chat) {
    return Boolean(chat && chat.agent && state.agent && chat.agent.id === state.agent.id);
  }

  function isSupervisor() {
    return Boolean(state.agent && state.agent.role === "supervisor");
  }

  function sameChat(chatId) {
    return Boolean(state.open && state.open.id === chatId);
  }

  // ---- notices (the #toast area; never alert()) -----------------------------------------------

  /**
   * A short notice at the bottom right. kind: info | success | error | alert.
   * `action` ({label, run}) adds a button, e.g. to open the chat an alert is about.
   */
  function toast(text, kind, action) {
    const item = el("div", { className: "toast-item", dataset: { kind: kind || "info" }, role: kind === "info" ? null : "alert" });
    item.appendChild(el("span", { className: "toast-text", text }));
    if (action) {
      const button = el("button", { type: "button", className: "toast-action", text: action.label });
      button.addEventListener("click", () => { item.remove(); action.run(); });
      item.appendChild(button);
    }
    const dismiss = el("button", { type: "button", className: "toast-close", "aria-label": "关闭提示", text: "×" });
    dismiss.addEventListener("click", () => item.remove());
    item.appendChild(dismiss);
    ui.toast.appendChild(item);
    // Keep the area short: the oldest notices go first.
    while (ui.toast.children.length > 4) ui.toast.firstElementChild.remove();
    window.setTimeout(() => item.remove(), kind === "alert" ? ALERT_MS : TOAST_MS);
  }

  /** Shows an API error to the agent; a lost session already brought the login form back. */
  function report(error) {
    if (error && error.code === "login_required") return;
    toast((error && error.message) || "操作失败，请稍后再试", "error");
  }

  // ---- the API -----------------------------------------------------------------------------

  class ApiError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code || "error";
      this.status = status;
    }
  }

  /** One JSON API call; errors come back as ApiError carrying the server's Chinese message. */
  async function api(method, path, payload) {
    const generation = state.generation;
    const options = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
    if (method !== "GET") {
      options.headers["Content-Type"] = "application/json";
      options.headers["X-CSRF-Token"] = state.csrf;
      options.body = JSON.stringify(payload || {});
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (networkError) {
      throw new ApiError("网络连接失败，请检查网络后再试", "network", 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch (notJson) {
      data = null;
    }
    if (!response.ok) {
      const message = (data && data.error) || `请求失败（${response.status}）`;
      const code = (data && data.code) || "error";
      // Any call can find the session gone (expired, logged out elsewhere): back to the login form.
      if (response.status === 401 && path !== "/api/login" && generation === state.generation && state.agent) {
        leaveWorkspace("登录已失效，请重新登录");
      }
      throw new ApiError(message, response.status === 401 && path !== "/api/login" ? "login_required" : code, response.status);
    }
    return data;
  }

  /** Runs an agent's action with its button disabled meanwhile; errors become notices. */
  async function act(button, work) {
    if (button) button.disabled = true;
    try {
      return await work();
    } catch (error) {
      report(error);
      return null;
    } finally {
      if (button) button.disabled = false;
      updateComposer();
    }
  }

  // ---- login and logout -------------------------------------------------------------------

  function showLogin(message) {
    show(ui.boot, false);
    show(ui.workspace, false);
    show(ui.loginView, true);
    ui.loginError.textContent = message || "";
    show(ui.loginError, Boolean(message));
    ui.loginSubmit.disabled = false;
    ui.loginPassword.value = "";
    (ui.loginName.value ? ui.loginPassword : ui.loginName).focus();
  }

  async function onLoginSubmit(event) {
    event.preventDefault();
    const login = ui.loginName.value.trim();
    const password = ui.loginPassword.value;
    if (!login || !password) {
      ui.loginError.textContent = "请输入账号和密码";
      show(ui.loginError, true);
      return;
    }
    ui.loginSubmit.disabled = true;
    show(ui.loginError, false);
    try {
      const data = await api("POST", "/api/login", { login, password });
      ui.loginPassword.value = "";
      enterWorkspace(data.agent, data.csrf_token);
    } catch (error) {
      ui.loginError.textContent = error.message;
      show(ui.loginError, true);
      ui.loginPassword.select();
    } finally {
      ui.loginSubmit.disabled = false;
    }
  }

  function enterWorkspace(agent, csrf) {
    state.generation += 1;
    state.agent = agent;
    state.csrf = csrf;
    show(ui.boot, false);
    show(ui.loginView, false);
    show(ui.workspace, true);
    ui.workspace.dataset.role = agent.role;
    show(ui.supervisorToggle, isSupervisor());
    show(ui.supervisorView, isSupervisor());
    ui.supervisorToggle.setAttribute("aria-pressed", String(isSupervisor()));
    renderAgent();
    renderOpenChat();
    connectSocket();
    refreshAll();
    state.timers.push(window.setInterval(tickClocks, 1000));
    state.timers.push(window.setInterval(sendHeartbeat, HEARTBEAT_MS));
    if (isSupervisor()) {
      state.timers.push(window.setInterval(() => scheduleRefresh("overview"), OVERVIEW_POLL_MS));
    }
  }

  /** Forgets everything of the session and shows the login form (message: why, if not asked for). */
  function leaveWorkspace(message) {
    state.generation += 1;
    state.timers.forEach((timer) => window.clearInterval(timer));
    state.timers = [];
    if (state.socket) {
      state.socket.off();
      state.socket.disconnect();
      state.socket = null;
    }
    Object.assign(state, {
      agent: null, csrf: "", queue: [], chats: [], overview: null, open: null, sending: false,
    });
    state.unread.clear();
    state.expected.clear();
    state.openToken += 1;
    ui.queueList.textContent = "";
    ui.chatList.textContent = "";
    ui.activeList.textContent = "";
    ui.groupRows.textContent = "";
    ui.agentRows.textContent = "";
    ui.transferAgents.textContent = "";
    ui.replyBox.value = "";
    document.title = "星河智能客服 · 坐席工作台";
    renderOpenChat();
    showLogin(message);
  }

  async function onLogout() {
    ui.logout.disabled = true;
    try {
      await api("POST", "/api/logout");
    } catch (error) {
      // The session is gone either way for this page; the server ends it on expiry.
    } finally {
      ui.logout.disabled = false;
    }
    if (state.agent) leaveWorkspace("");
  }

  // ---- the agent and their status ------------------------------------------------------------

  function renderAgent() {
    const agent = state.agent;
    if (!agent) return;
    ui.agentName.textContent = agent.name;
    ui.agentRole.textContent = ROLE_NAMES[agent.role] || agent.role;
    ui.statusSelect.value = agent.status in STATUS_NAMES ? agent.status : "offline";
    ui.statusSelect.dataset.status = ui.statusSelect.value;
    renderLoad();
  }

  /** "接待 2/5": the agent's open chats against what they may take at once. */
  function renderLoad() {
    if (!state.agent) return;
    ui.agentLoad.textContent = `接待 ${state.chats.length}/${state.agent.max_concurrent}`;
    ui.agentLoad.dataset.full = String(state.chats.length >= state.agent.max_concurrent);
  }

  async function onStatusChange() {
    const wanted = ui.statusSelect.value;
    const before = state.agent.status;
    ui.statusSelect.disabled = true;
    try {
      state.agent = await api("POST", "/api/status", { status: wanted });
      toast(`状态已切换为「${STATUS_NAMES[wanted]}」`, "success");
    } catch (error) {
      state.agent.status = before;  // the select shows what the server holds
      report(error);
    } finally {
      ui.statusSelect.disabled = false;
      renderAgent();
    }
  }

  // ---- live signals ------------------------------------------------------------------------

  function setConnection(kind, text) {
    ui.connection.dataset.state = kind;
    ui.connection.textContent = text;
  }

  function connectSocket() {
    if (typeof window.io !== "function") {
      setConnection("offline", "实时连接不可用");
      toast("实时连接组件没有加载，新消息需要手动刷新页面", "error");
      return;
    }
    setConnection("connecting", "正在连接…");
    const socket = window.io({ path: SOCKET_PATH });
    state.socket = socket;

    socket.on("connect", () => {
      setConnection("online", "实时连接正常");
      sendHeartbeat();
      // After a reconnect the server has forgotten the rooms: follow the open chat again and
      // catch up on whatever changed meanwhile.
      if (state.open) watch(state.open.id);
      refreshAll();
    });
    socket.on("disconnect", (reason) => {
      setConnection("offline", "连接中断，正在重新连接…");
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("connect_error", () => {
      setConnection("offline", "连接中断，正在重新连接…");
      // The server refuses a socket without a live session; the client then stops retrying.
      // Ask the API: a 401 brings the login form back, otherwise try again shortly.
      if (!socket.active) {
        const generation = state.generation;
        api("GET", "/api/me").then(() => {
          if (generation === state.generation && state.socket === socket) {
            window.setTimeout(() => { if (state.socket === socket) socket.connect(); }, 3000);
          }
        }).catch(() => {});
      }
    });

    socket.on("queue_changed", () => scheduleRefresh("queue", "overview"));
    socket.on("chat_changed", onChatChanged);
    socket.on("message", onLiveMessage);
    socket.on("customer_wrote", onCustomerWrote);
    socket.on("alert", onAlert);
  }

  function sendHeartbeat() {
    if (state.socket && state.socket.connected) state.socket.emit("heartbeat", {});
  }

  /** Follows one chat's messages live (the server keeps one watched chat per connection). */
  function watch(chatId) {
    const socket = state.socket;
    if (!socket || !socket.connected) return;  // the connect handler watches it once connected
    socket.emit("watch", { chat_id: chatId }, (ack) => {
      if ((!ack || !ack.ok) && sameChat(chatId)) {
        toast("无法实时跟踪这个会话，新消息可能不会自动出现", "error");
      }
    });
  }

  function onChatChanged(chat) {
    if (!chat || typeof chat.id !== "number") return;
    const wasMine = state.chats.some((c) => c.id === chat.id);
    const expected = state.expected.has(chat.id);
    if (wasMine && !expected) noticeChange(chat);
    if (!isMine(chat) || chat.status !== "active") state.unread.delete(chat.id);
    // Update the list at once so the agent sees it; the refetch below settles the order.
    state.chats = state.chats
      .map((c) => (c.id === chat.id ? chat : c))
      .filter((c) => isMine(c) && c.status === "active");
    if (isMine(chat) && chat.status === "active" && !wasMine) state.chats.push(chat);
    renderChats();
    if (sameChat(chat.id)) {
      state.open.chat = Object.assign({}, state.open.chat || {}, chat);
      renderOpenChat();
    }
    scheduleRefresh("chats", "queue", "overview");
  }

  /** Tells the agent when one of their chats changed without them doing it. */
  function noticeChange(chat) {
    const who = customerName(chat);
    if (chat.status === "active" && chat.agent && !isMine(chat)) {
      toast(`与${who}的会话已由${chat.agent.name}接待`, "alert");
    } else if (chat.status === "cancelled") {
      toast(`${who}已取消人工服务，会话已交还机器人`, "alert");
    } else if (chat.status === "closed") {
      toast(`与${who}的会话已结束：${chat.result_name || chat.status_name}`, "alert");
    } else if (chat.status === "returned") {
      toast(`与${who}的会话已交还机器人`, "alert");
    }
  }

  function onLiveMessage(data) {
    if (!data || !data.message || !sameChat(data.chat_id)) return;
    if (state.open.loading) {
      state.open.pending.push(data.message);  // placed after the transcript once it is loaded
      return;
    }
    appendMessage(data.message);
  }

  function onCustomerWrote(data) {
    if (!data || typeof data.chat_id !== "number") return;
    if (sameChat(data.chat_id) && !document.hidden) return;
    state.unread.add(data.chat_id);
    renderChats();
  }

  function onAlert(data) {
    if (!data || !data.text) return;
    const chatId = data.chat_id;
    const action = typeof chatId === "number" && !sameChat(chatId)
      ? { label: "查看", run: () => openChat(chatId) }
      : null;
    toast(data.text, "alert", action);
    if (data.kind === "overdue") scheduleRefresh("queue", "overview");
  }

  // ---- refreshing lists ----------------------------------------------------------------------

  const refreshWanted = new Set();
  let refreshTimer = 0;

  /** Coalesces refetches: one signal arrives once per room the agent is in. */
  function scheduleRefresh(...what) {
    what.forEach((name) => refreshWanted.add(name));
    if (refreshTimer) return;
    refreshTimer = window.setTimeout(() => {
      refreshTimer = 0;
      const names = Array.from(refreshWanted);
      refreshWanted.clear();
      if (names.includes("queue")) loadQueue();
      if (names.includes("chats")) loadChats();
      if (names.includes("overview")) loadOverview();
    }, REFRESH_DEBOUNCE_MS);
  }

  function refreshAll() {
    scheduleRefresh("queue", "chats", "overview");
  }

  async function loadQueue() {
    const generation = state.generation;
    try {
      const data = await api("GET", "/api/queue");
      if (generation !== state.generation) return;
      state.queue = data.queue || [];
      state.queueFetchedAt = performance.now();
      renderQueue();
    } catch (error) {
      if (generation === state.generation) report(error);
    }
  }

  async function loadChats() {
    const generation = state.generation;
    try {
      const data = await api("GET", "/api/chats");
      if (generation !== state.generation) return;
      state.chats = data.chats || [];
      const ids = new Set(state.chats.map((c) => c.id));
      Array.from(state.unread).forEach((id) => { if (!ids.has(id)) state.unread.delete(id); });
      renderChats();
    } catch (error) {
      if (generation === state.generation) report(error);
    }
  }

  async function loadOverview() {
    if (!isSupervisor()) return;
    const generation = state.generation;
    try {
      const data = await api("GET", "/api/supervisor/overview");
      if (generation !== state.generation) return;
      state.overview = data;
      state.overviewFetchedAt = performance.now();
      renderOverview();
    } catch (error) {
      if (generation === state.generation) report(error);
    }
  }

  /** Seconds since the last queue answer, to count waits on between fetches. */
  function sinceFetch(fetchedAt) {
    return fetchedAt ? (performance.now() - fetchedAt) / 1000 : 0;
  }

  /** Every second: the waiting times shown (queue, supervisor's longest waits). */
  function tickClocks() {
    const queueExtra = sinceFetch(state.queueFetchedAt);
    ui.queueList.querySelectorAll(".wait[data-waited]").forEach((node) => {
      node.textContent = mmss(Number(node.dataset.waited) + queueExtra);
    });
    const overviewExtra = sinceFetch(state.overviewFetchedAt);
    ui.groupRows.querySelectorAll(".wait[data-waited]").forEach((node) => {
      node.textContent = mmss(Number(node.dataset.waited) + overviewExtra);
    });
  }

  // ---- left column: the queue and my chats -----------------------------------------------------

  /** The customer line of a list item: masked name, badges. */
  function customerLine(chat) {
    return el("span", { className: "item-title" }, [
      el("span", { className: "customer-name", text: customerName(chat) }),
      chat.customer && chat.customer.verified ? el("span", { className: "badge badge-success badge-tiny", text: "已验证" }) : null,
      chat.priority === 0 ? el("span", { className: "badge badge-warning badge-tiny", text: "优先" }) : null,
      chat.escalated ? el("span", { className: "badge badge-danger badge-tiny", text: "超时" }) : null,
    ]);
  }

  function renderQueue() {
    ui.queueList.textContent = "";
    state.queue.forEach((chat) => {
      const open = el("button", { type: "button", className: "item-open", title: "查看对话（不接入）" }, [
        el("span", { className: "item-row" }, [
          customerLine(chat),
          el("span", { className: "wait", dataset: { waited: chat.waited_seconds || 0 }, title: "已等待", text: mmss(chat.waited_seconds || 0) }),
        ]),
        el("span", { className: "item-meta", text: [chat.channel_name, `${chat.group_name}组`, chat.reason_name].filter(Boolean).join(" · ") }),
      ]);
      open.addEventListener("click", () => openChat(chat.id));
      const accept = el("button", { type: "button", className: "button button-primary button-small accept", text: "接入" });
      accept.addEventListener("click", () => acceptChat(chat.id, accept));
      ui.queueList.appendChild(el("li", {
        className: "item queue-item",
        dataset: { chatId: chat.id, group: chat.skill_group, position: chat.position || "" },
        "aria-current": sameChat(chat.id) ? "true" : null,
      }, [open, accept]));
    });
    ui.queueCount.textContent = String(state.queue.length);
    show(ui.queueEmpty, state.queue.length === 0);
  }

  function renderChats() {
    ui.chatList.textContent = "";
    state.chats.forEach((chat) => {
      const unread = state.unread.has(chat.id);
      const open = el("button", { type: "button", className: "item-open" }, [
        el("span", { className: "item-row" }, [
          customerLine(chat),
          unread ? el("span", { className: "unread-dot", title: "有新消息", text: "新消息" }) : null,
        ]),
        el("span", { className: "item-meta", text: [chat.channel_name, `${chat.group_name}组`, chat.reason_name].filter(Boolean).join(" · ") }),
      ]);
      open.addEventListener("click", () => openChat(chat.id));
      ui.chatList.appendChild(el("li", {
        className: "item chat-item",
        dataset: { chatId: chat.id, unread: String(unread) },
        "aria-current": sameChat(chat.id) ? "true" : null,
      }, [open]));
    });
    ui.chatCount.textContent = String(state.chats.length);
    show(ui.chatEmpty, state.chats.length === 0);
    renderLoad();
    // The tab title shows unread chats, for an agent working in another window.
    const unread = state.unread.size;
    document.title = `${unread ? `(${unread}) ` : ""}星河智能客服 · 坐席工作台`;
  }

  async function acceptChat(chatId, button) {
    const chat = await act(button, () => api("POST", `/api/chats/${chatId}/accept`));
    scheduleRefresh("queue", "chats", "overview");
    if (chat) {
      toast(`已接入${customerName(chat)}`, "success");
      showChat(chat);
    }
  }

  async function acceptNext() {
    const chat = await act(ui.acceptNext, () => api("POST", "/api/queue/accept-next"));
    scheduleRefresh("queue", "chats", "overview");
    if (chat) {
      toast(`已接入${customerName(chat)}`, "success");
      showChat(chat);
    }
  }

  // ---- the open chat -----------------------------------------------------------------------

  /**
   * How the agent may use the open chat:
   * reply (their own active chat), watch (someone else's, read only), waiting (in a queue,
   * read only until accepted), ended.
   */
  function chatMode(chat) {
    if (!chat) return "none";
    if (chat.status === "waiting") return "waiting";
    if (chat.status !== "active") return "ended";
    return isMine(chat) ? "reply" : "watch";
  }

  /**
   * Opens a chat in the middle column: follows it live first, then loads its transcript, so
   * nothing the customer writes meanwhile is lost (it waits in `pending`).
   */
  async function openChat(chatId) {
    // Already open and loaded: nothing to fetch (every opening is written to the audit log).
    if (sameChat(chatId) && !state.open.loading && state.open.chat) {
      state.unread.delete(chatId);
      renderChats();
      if (chatMode(state.open.chat) === "reply") ui.replyBox.focus();
      return;
    }
    const token = ++state.openToken;
    if (!state.open || state.open.id !== chatId) {
      closePanels();
      ui.replyBox.value = "";
    }
    state.open = {
      id: chatId,
      chat: null,
      loading: true,
      pending: [],
      seen: new Set(),   // ids of live messages shown
      history: [],       // transcript lines not yet matched by a live copy
    };
    state.unread.delete(chatId);
    renderChats();
    renderQueue();
    renderOpenChat();
    watch(chatId);
    let chat;
    try {
      chat = await api("GET", `/api/chats/${chatId}`);
    } catch (error) {
      if (token !== state.openToken) return;
      report(error);
      state.open = null;
      renderOpenChat();
      renderChats();
      renderQueue();
      return;
    }
    if (token !== state.openToken) return;
    state.open.chat = chat;
    state.open.loading = false;
    ui.transcript.textContent = "";
    (chat.messages || []).forEach((message) => {
      state.open.history.push(message);
      ui.transcript.appendChild(messageNode(message));
    });
    const pending = state.open.pending;
    state.open.pending = [];
    pending.forEach(appendMessage);
    renderEvents(chat.events || []);
    renderOpenChat();
    scrollTranscript(true);
    if (chatMode(chat) === "reply") ui.replyBox.focus();
  }

  /** After accepting or taking over: the chat in the middle, now writable. */
  function showChat(chat) {
    if (sameChat(chat.id) && state.open.chat) {
      state.open.chat = Object.assign({}, state.open.chat, chat);
      renderOpenChat();
      renderChats();
      if (chatMode(state.open.chat) === "reply") ui.replyBox.focus();
    } else {
      openChat(chat.id);
    }
  }

  function dismissChat() {
    state.openToken += 1;
    state.open = null;
    closePanels();
    renderOpenChat();
    renderChats();
    renderQueue();
    renderOverview();
  }

  /** The header, banner and composer of the open chat, from its current state. */
  function renderOpenChat() {
    const open = state.open;
    const chat = open && open.chat;
    const mode = open ? (chat ? chatMode(chat) : "loading") : "none";
    ui.chatView.dataset.mode = mode;
    ui.chatView.dataset.chatId = open ? String(open.id) : "";
    show(ui.chatPlaceholder, !open);
    show(ui.chatHeader, Boolean(chat));
    show(ui.transcript, Boolean(open));
    show(ui.composer, Boolean(open));
    if (!open) {
      ui.transcript.textContent = "";
      show(ui.chatBanner, false);
      updateComposer();
      return;
    }
    if (!chat) {
      ui.transcript.textContent = "";
      ui.transcript.appendChild(el("p", { className: "transcript-note", text: "正在加载聊天记录…" }));
      setBanner("", "");
      updateComposer();
      return;
    }

    ui.chatCustomer.textContent = customerName(chat);
    const verified = Boolean(chat.customer && chat.customer.verified);
    ui.chatVerified.textContent = verified ? "已验证身份" : "未验证身份";
    ui.chatVerified.className = verified ? "badge badge-success" : "badge badge-muted";
    const level = chat.customer && chat.customer.member_level;
    ui.chatMember.textContent = level || "";
    show(ui.chatMember, Boolean(level));
    show(ui.chatPriority, chat.priority === 0);
    ui.chatStatus.textContent = chat.status_name || chat.status;
    ui.chatStatus.dataset.status = chat.status;

    ui.chatFacts.textContent = "";
    const facts = [
      ["渠道", chat.channel_name],
      ["技能组", chat.group_name],
      ["转人工原因", chat.reason_name],
      ["工单号", chat.ticket_id || "无"],
      ["排队等待", mmss(chat.waited_seconds || 0)],
      ["接待坐席", chat.agent ? chat.agent.name : "暂无"],
    ];
    if (chat.result_name) facts.push(["处理结果", chat.result_name]);
    if (chat.rating) facts.push(["客户评分", `${chat.rating}星`]);
    facts.forEach(([label, value]) => {
      ui.chatFacts.appendChild(el("div", { className: "fact" }, [
        el("dt", { text: label }),
        el("dd", { text: value || "—" }),
      ]));
    });

    show(ui.chatAccept, mode === "waiting");
    show(ui.chatTakeOver, isSupervisor() && (mode === "watch" || mode === "waiting"));

    if (mode === "ended") {
      const result = chat.result_name ? `（${chat.result_name}）` : "";
      setBanner(`${ENDED_TEXT[chat.status] || `会话${chat.status_name}`}${result}，聊天记录仅供查看。`, "ended");
    } else if (mode === "watch") {
      const other = chat.agent ? chat.agent.name : "其他坐席";
      setBanner(isSupervisor()
        ? `正在监听：此会话由${other}接待，您只能查看。`
        : `此会话现由${other}接待，您不能再回复。`, "watch");
    } else if (mode === "waiting") {
      const place = chat.position ? `，排第${chat.position}位` : "";
      setBanner(`客户正在${chat.group_name}组排队${place}。接入后才能回复。`, "waiting");
    } else {
      setBanner("", "");
    }
    updateComposer();
  }

  function setBanner(text, kind) {
    ui.chatBanner.textContent = text;
    ui.chatBanner.dataset.kind = kind;
    show(ui.chatBanner, Boolean(text));
  }

  /** The composer's buttons follow the chat's mode; only the agent's own active chat is writable. */
  function updateComposer() {
    const open = state.open;
    const writable = Boolean(open && open.chat && chatMode(open.chat) === "reply");
    ui.replyBox.disabled = !writable;
    ui.replyBox.placeholder = writable ? "输入回复，Enter 发送，Shift+Enter 换行" : "此会话不能回复";
    [ui.handBack, ui.transferOpen, ui.closeOpen].forEach((button) => { button.disabled = !writable; });
    ui.sendButton.disabled = !writable || state.sending || !ui.replyBox.value.trim();
    ui.transferConfirm.disabled = !writable;
    ui.closeConfirm.disabled = !writable;
    if (!writable) closePanels();
    updateCounter();
  }

  function updateCounter() {
    const length = ui.replyBox.value.length;
    ui.replyCounter.textContent = `${length}/${MAX_REPLY_CHARS}`;
    ui.replyCounter.dataset.near = String(length > MAX_REPLY_CHARS * 0.9);
  }

  function renderEvents(events) {
    ui.chatEventsList.textContent = "";
    events.forEach((event) => {
      ui.chatEventsList.appendChild(el("li", { dataset: { kind: event.kind } }, [
        el("span", { className: "event-time", text: wallTime(event.at) }),
        el("span", { className: "event-kind", text: EVENT_NAMES[event.kind] || event.kind }),
        el("span", { className: "event-detail", text: event.detail || "" }),
      ]));
    });
    show(ui.chatEvents, events.length > 0);
  }

  // ---- the transcript ----------------------------------------------------------------------

  function authorOf(message) {
    if (message.by === "bot") return BOT_NAME;
    if (message.by === "agent") return message.agent_name || "坐席";
    const chat = state.open && state.open.chat;
    return chat ? customerName(chat) : "客户";
  }

  function messageNode(message) {
    const by = ["customer", "bot", "agent"].includes(message.by) ? message.by : "bot";
    // Lines of the stored transcript were delivered, or they would not be in it.
    const delivery = by === "agent" ? (message.state || "sent") : null;
    const meta = el("div", { className: "message-meta" }, [
      el("span", { className: "message-author", text: authorOf(message) }),
      el("time", { className: "message-time", text: timeOfDay(message.at) }),
      by === "customer" && message.intent
        ? el("span", { className: "message-intent", title: "机器人识别的意图", text: message.intent })
        : null,
    ]);
    const bubble = el("div", { className: "message-text", text: message.text || "" });
    const children = [meta, bubble];
    if (delivery) {
      const stateLine = el("div", { className: "message-state" }, [
        el("span", {
          className: "state-label",
          title: message.error || null,
          text: delivery === "failed" ? "发送失败" : "已发送",
        }),
      ]);
      if (delivery === "failed" && message.text) {
        const retry = el("button", { type: "button", className: "link-button retry", text: "重发" });
        retry.addEventListener("click", () => sendText(message.text, retry));
        stateLine.appendChild(retry);
      }
      children.push(stateLine);
    }
    return el("div", {
      className: `message message-${by}`,
      dataset: Object.assign({ by }, delivery ? { state: delivery } : {}, message.id ? { messageId: message.id } : {}),
    }, children);
  }

  /** True when a live message is a line the loaded transcript already shows (consumed once). */
  function alreadyInHistory(message) {
    const history = state.open.history;
    const index = history.findIndex((line) => line.by === message.by && line.text === message.text &&
      typeof line.at === "number" && typeof message.at === "number" &&
      Math.abs(line.at - message.at) <= SAME_MESSAGE_WINDOW_S);
    if (index < 0) return false;
    history.splice(index, 1);
    return true;
  }

  /** Adds a live message to the open transcript once (the sender gets it by socket and by reply). */
  function appendMessage(message) {
    const open = state.open;
    if (!open || !message) return;
    if (message.id && open.seen.has(message.id)) return;
    if (message.id) open.seen.add(message.id);
    if (alreadyInHistory(message)) return;
    const nearBottom = isNearBottom();
    ui.transcript.appendChild(messageNode(message));
    scrollTranscript(nearBottom || message.by === "agent");
  }

  function isNearBottom() {
    const box = ui.transcript;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollTranscript(force) {
    if (force) ui.transcript.scrollTop = ui.transcript.scrollHeight;
  }

  // ---- replying ----------------------------------------------------------------------------

  async function sendText(text, button) {
    const open = state.open;
    const trimmed = (text || "").trim();
    if (!open || !open.chat || chatMode(open.chat) !== "reply" || !trimmed || state.sending) return false;
    if (trimmed.length > MAX_REPLY_CHARS) {
      toast(`消息太长了（最多${MAX_REPLY_CHARS}字）`, "error");
      return false;
    }
    const chatId = open.id;
    state.sending = true;
    updateComposer();
    if (button) button.disabled = true;
    try {
      const message = await api("POST", `/api/chats/${chatId}/messages`, { text: trimmed });
      if (sameChat(chatId)) appendMessage(message);
      if (message.state === "failed") toast(message.error || "消息没有送达客户，请重发", "error");
      return true;
    } catch (error) {
      report(error);
      return false;
    } finally {
      state.sending = false;
      if (button) button.disabled = false;
      updateComposer();
    }
  }

  async function onReplySubmit(event) {
    if (event) event.preventDefault();
    const text = ui.replyBox.value;
    const sent = await sendText(text);
    // Clear only what was sent: the agent may have typed on while it was on its way.
    if (sent && ui.replyBox.value === text) ui.replyBox.value = "";
    updateComposer();
    if (sent) ui.replyBox.focus();
  }

  function onReplyKeydown(event) {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME candidate is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      onReplySubmit(null);
    }
  }

  // ---- hand back, transfer, close, take over --------------------------------------------------

  function closePanels() {
    show(ui.transferPanel, false);
    show(ui.closePanel, false);
    ui.transferOpen.setAttribute("aria-expanded", "false");
    ui.closeOpen.setAttribute("aria-expanded", "false");
  }

  function togglePanel(panel, opener) {
    const opening = panel.hidden;
    closePanels();
    show(panel, opening);
    opener.setAttribute("aria-expanded", String(opening));
    return opening;
  }

  /** An action that ends this agent's part in the open chat; the chat then shows as ended. */
  async function finishChat(button, path, payload, done) {
    const chatId = state.open && state.open.id;
    if (!chatId) return;
    state.expected.add(chatId);
    window.setTimeout(() => state.expected.delete(chatId), 10000);
    const chat = await act(button, () => api("POST", `/api/chats/${chatId}/${path}`, payload));
    if (!chat) {
      state.expected.delete(chatId);
      return;
    }
    closePanels();
    done(chat);
    if (sameChat(chatId)) {
      state.open.chat = Object.assign({}, state.open.chat, chat);
      renderOpenChat();
    }
    state.chats = state.chats.filter((c) => c.id !== chatId || (isMine(chat) && chat.status === "active"));
    renderChats();
    scheduleRefresh("chats", "queue", "overview");
  }

  function onHandBack() {
    finishChat(ui.handBack, "hand-back", {}, () => toast("已交还机器人", "success"));
  }

  function openTransfer() {
    if (togglePanel(ui.transferPanel, ui.transferOpen)) {
      ui.transferGroup.value = "";
      ui.transferAgent.value = "";
      ui.transferNote.value = "";
      show(ui.transferError, false);
      ui.transferGroup.focus();
    }
  }

  function onTransferConfirm() {
    const group = ui.transferGroup.value;
    const agent = ui.transferAgent.value.trim();
    let problem = "";
    if (!group && !agent) problem = "请选择转给哪个技能组，或填写坐席工号";
    else if (group && agent) problem = "技能组和坐席只能选一个";
    else if (agent && state.agent && agent === state.agent.id) problem = "不能转给自己";
    ui.transferError.textContent = problem;
    show(ui.transferError, Boolean(problem));
    if (problem) return;
    const payload = group ? { to_group: group } : { to_agent: agent };
    payload.note = ui.transferNote.value.trim();
    finishChat(ui.transferConfirm, "transfer", payload, (chat) => {
      const target = chat.agent ? chat.agent.name : `${chat.group_name}组`;
      toast(`已转接给${target}`, "success");
    });
  }

  function openClose() {
    if (togglePanel(ui.closePanel, ui.closeOpen)) {
      ui.closeResult.value = "resolved";
      ui.closeNote.value = "";
      ui.closeResult.focus();
    }
  }

  function onCloseConfirm() {
    const result = ui.closeResult.value;
    finishChat(ui.closeConfirm, "close", { result, note: ui.closeNote.value.trim() }, (chat) => {
      toast(`会话已结束：${chat.result_name || "已结束"}`, "success");
    });
  }

  async function takeOver(chatId, button) {
    const chat = await act(button, () => api("POST", `/api/chats/${chatId}/take-over`));
    scheduleRefresh("queue", "chats", "overview");
    if (chat) {
      toast(`已接管与${customerName(chat)}的会话`, "success");
      showChat(chat);
    }
  }

  // ---- supervisor view ---------------------------------------------------------------------

  function renderOverview() {
    const overview = state.overview;
    if (!isSupervisor() || !overview) return;

    ui.groupRows.textContent = "";
    Object.keys(overview.groups || {}).forEach((group) => {
      const info = overview.groups[group];
      ui.groupRows.appendChild(el("tr", { dataset: { group, waiting: info.waiting } }, [
        el("th", { scope: "row", text: info.name }),
        el("td", { className: info.waiting ? "num num-alert" : "num", text: String(info.waiting) }),
        el("td", { className: "num" }, [
          info.waiting
            ? el("span", { className: "wait", dataset: { waited: info.longest_wait_seconds || 0 }, text: mmss(info.longest_wait_seconds || 0) })
            : el("span", { className: "muted", text: "—" }),
        ]),
        el("td", { className: info.online ? "num" : "num num-alert", text: String(info.online) }),
      ]));
    });

    ui.agentRows.textContent = "";
    ui.transferAgents.textContent = "";
    (overview.agents || []).forEach((agent) => {
      ui.agentRows.appendChild(el("tr", { dataset: { agentId: agent.id, status: agent.status } }, [
        el("th", { scope: "row" }, [
          el("span", { text: agent.name }),
          el("span", { className: "muted agent-id", text: ` ${agent.id}` }),
          agent.role === "supervisor" ? el("span", { className: "badge badge-muted badge-tiny", text: "班长" }) : null,
        ]),
        el("td", {}, [el("span", { className: "status-dot", dataset: { status: agent.status }, text: agent.status_name })]),
        el("td", { className: agent.active >= agent.max_concurrent ? "num num-alert" : "num", text: `${agent.active}/${agent.max_concurrent}` }),
      ]));
      // Colleagues who are online are the ones a chat can be handed to directly.
      if (agent.status === "online" && (!state.agent || agent.id !== state.agent.id)) {
        ui.transferAgents.appendChild(el("option", { value: agent.id, label: `${agent.name}（${agent.active}/${agent.max_concurrent}）` }));
      }
    });

    ui.activeList.textContent = "";
    const active = overview.active || [];
    active.forEach((chat) => {
      const listen = el("button", { type: "button", className: "button button-small watch", text: "监听" });
      listen.addEventListener("click", () => openChat(chat.id));
      const take = el("button", { type: "button", className: "button button-small take-over", text: "接管" });
      take.addEventListener("click", () => takeOver(chat.id, take));
      take.hidden = isMine(chat);
      ui.activeList.appendChild(el("li", {
        className: "item active-item",
        dataset: { chatId: chat.id, agentId: chat.agent ? chat.agent.id : "" },
        "aria-current": sameChat(chat.id) ? "true" : null,
      }, [
        el("div", { className: "item-info" }, [
          el("span", { className: "item-row" }, [customerLine(chat)]),
          el("span", {
            className: "item-meta",
            text: [`${chat.group_name}组`, chat.agent ? `坐席：${chat.agent.name}` : "", chat.channel_name].filter(Boolean).join(" · "),
          }),
        ]),
        el("div", { className: "item-actions" }, [listen, take]),
      ]));
    });
    ui.activeCount.textContent = String(active.length);
    show(ui.activeEmpty, active.length === 0);
  }

  function toggleSupervisorView() {
    const visible = ui.supervisorView.hidden;
    show(ui.supervisorView, visible);
    ui.supervisorToggle.setAttribute("aria-pressed", String(visible));
    ui.workspace.dataset.supervisorView = String(visible);
    if (visible) scheduleRefresh("overview");
  }

  // ---- wiring ------------------------------------------------------------------------------

  function bindEvents() {
    ui.loginForm.addEventListener("submit", onLoginSubmit);
    ui.logout.addEventListener("click", onLogout);
    ui.statusSelect.addEventListener("change", onStatusChange);
    ui.acceptNext.addEventListener("click", acceptNext);
    ui.chatAccept.addEventListener("click", () => { if (state.open) acceptChat(state.open.id, ui.chatAccept); });
    ui.chatTakeOver.addEventListener("click", () => { if (state.open) takeOver(state.open.id, ui.chatTakeOver); });
    ui.chatDismiss.addEventListener("click", dismissChat);
    ui.replyForm.addEventListener("submit", onReplySubmit);
    ui.replyBox.addEventListener("keydown", onReplyKeydown);
    ui.replyBox.addEventListener("input", updateComposer);
    ui.handBack.addEventListener("click", onHandBack);
    ui.transferOpen.addEventListener("click", openTransfer);
    ui.transferCancel.addEventListener("click", closePanels);
    ui.transferConfirm.addEventListener("click", onTransferConfirm);
    // Exactly one target: choosing a group clears the agent, typing an agent clears the group.
    ui.transferGroup.addEventListener("change", () => { if (ui.transferGroup.value) ui.transferAgent.value = ""; });
    ui.transferAgent.addEventListener("input", () => { if (ui.transferAgent.value) ui.transferGroup.value = ""; });
    ui.closeOpen.addEventListener("click", openClose);
    ui.closeCancel.addEventListener("click", closePanels);
    ui.closeConfirm.addEventListener("click", onCloseConfirm);
    ui.overviewRefresh.addEventListener("click", () => scheduleRefresh("overview", "queue"));
    ui.supervisorToggle.addEventListener("click", toggleSupervisorView);
    [ui.transferPanel, ui.closePanel].forEach((panel) => {
      panel.addEventListener("keydown", (event) => { if (event.key === "Escape") closePanels(); });
    });
    // Coming back to the tab clears the unread mark of the chat that is open.
    document.addEventListener("visibilitychange", () => {
      if (!document.hidden && state.open && state.unread.delete(state.open.id)) renderChats();
    });
  }

  /** On load: an existing session goes straight to the workspace, otherwise the login form. */
  async function start() {
    bindEvents();
    updateComposer();
    try {
      const data = await api("GET", "/api/me");
      enterWorkspace(data.agent, data.csrf_token);
    } catch (error) {
      showLogin(error.status === 401 ? "" : error.message);
    }
  }

  start();
})();
