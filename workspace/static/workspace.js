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
  const CUSTOMER_TYPING_MS = 6000;         // the web chat repeats its typing signal every 1.5 s
  const TICKET_POLL_MS = 60 * 1000;       // the overdue badge (tickets have no live signal)
  const TICKET_LIST_LIMIT = 200;           // the server's worklist answers at most this many
  const MAX_TICKET_NOTE_CHARS = 1000;      // desk.update_ticket
  const TOAST_MS = 6000;
  const ALERT_MS = 15000;
  // A transcript line (no id) and a live message (with an id) are the same line when they agree
  // on who, what and roughly when: the server stamps the live copy with its own clock.
  const SAME_MESSAGE_WINDOW_S = 5;

  const ROLE_NAMES = { agent: "坐席", supervisor: "班长" };
  const STATUS_NAMES = { online: "在线", busy: "忙碌", away: "离开", offline: "离线" };
  // The skill groups and their names, as the server has them (login and /api/me send them).
  let GROUP_NAMES = {};
  // What an agent may set on a ticket ("queued" belongs to the live queue).
  const TICKET_STATUS_NAMES = { open: "待处理", in_progress: "处理中", resolved: "已解决", closed: "已关闭" };
  const OPEN_TICKET_STATUSES = ["open", "queued", "in_progress"];
  const PRIORITY_BADGES = { urgent: "badge-danger", high: "badge-warning", normal: "badge-muted", low: "badge-muted" };
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
    unanswered: "电话未接通",
    call_connected: "电话已接通",
    call_ended: "通话结束",
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
    customerTyping: $("customer-typing"),
    assistPanel: $("assist-panel"),
    assistAlerts: $("assist-alerts"),
    assistSummary: $("assist-summary"),
    assistFor: $("assist-for"),
    assistSuggestions: $("assist-suggestions"),
    assistNoSuggestions: $("assist-no-suggestions"),
    assistCustomer: $("assist-customer"),
    assistCustomerBody: $("assist-customer-body"),
    assistRepliesSection: $("assist-replies-section"),
    assistReplies: $("assist-replies"),
    lookupForm: $("lookup-form"),
    lookupId: $("lookup-id"),
    refundForm: $("refund-form"),
    refundOrder: $("refund-order"),
    refundReason: $("refund-reason"),
    refundDetail: $("refund-detail"),
    refundOverride: $("refund-override"),
    refundOverrideField: $("refund-override-field"),
    refundCheck: $("refund-check"),
    newTicketForm: $("new-ticket-form"),
    newTicketCategory: $("new-ticket-category"),
    newTicketSummary: $("new-ticket-summary"),
    actionResult: $("action-result"),
    draftWarnings: $("draft-warnings"),
    replyWarnings: $("reply-warnings"),
    replyWarningList: $("reply-warning-list"),
    replyWarningCancel: $("reply-warning-cancel"),
    replyWarningConfirm: $("reply-warning-confirm"),
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
    metricsRange: $("metrics-range"),
    metricsFigures: $("metrics-figures"),
    metricsChannelRows: $("metrics-channel-rows"),
    metricsLists: $("metrics-lists"),
    metricsPeriods: document.querySelectorAll(".metrics-periods .button"),
    rightsCustomer: $("rights-customer"),
    rightsExport: $("rights-export"),
    rightsErase: $("rights-erase"),
    rightsResult: $("rights-result"),
    groupRows: $("group-rows"),
    agentRows: $("agent-rows"),
    activeList: $("active-list"),
    activeCount: $("active-count"),
    activeEmpty: $("active-empty"),
    toast: $("toast"),
    // tabs
    tabList: $("view-tabs"),
    tabChats: $("tab-chats"),
    tabTickets: $("tab-tickets"),
    ticketOverdueCount: $("ticket-overdue-count"),
    // canned replies
    cannedBar: $("canned-bar"),
    cannedList: $("canned-list"),
    cannedManage: $("canned-manage"),
    cannedEditor: $("canned-editor"),
    cannedForm: $("canned-form"),
    cannedFormTitle: $("canned-form-title"),
    cannedTitle: $("canned-title"),
    cannedTitleCount: $("canned-title-count"),
    cannedGroup: $("canned-group"),
    cannedText: $("canned-text"),
    cannedTextCount: $("canned-text-count"),
    cannedError: $("canned-error"),
    cannedSave: $("canned-save"),
    cannedCancelEdit: $("canned-cancel-edit"),
    cannedEditorList: $("canned-editor-list"),
    cannedEditorEmpty: $("canned-editor-empty"),
    // tickets
    ticketView: $("ticket-view"),
    ticketFilters: $("ticket-filters"),
    ticketFilterStatus: $("ticket-filter-status"),
    ticketFilterPriority: $("ticket-filter-priority"),
    ticketFilterGroup: $("ticket-filter-group"),
    ticketFilterOverdue: $("ticket-filter-overdue"),
    ticketFilterMine: $("ticket-filter-mine"),
    ticketRefresh: $("ticket-refresh"),
    ticketListInfo: $("ticket-list-info"),
    ticketList: $("ticket-list"),
    ticketEmpty: $("ticket-empty"),
    ticketDetail: $("ticket-detail"),
    ticketPlaceholder: $("ticket-placeholder"),
    ticketLoading: $("ticket-loading"),
    ticketCard: $("ticket-card"),
    ticketBack: $("ticket-back"),
    ticketTitle: $("ticket-title"),
    ticketStatusBadge: $("ticket-status-badge"),
    ticketPriorityBadge: $("ticket-priority-badge"),
    ticketOverdueBadge: $("ticket-overdue-badge"),
    ticketFacts: $("ticket-facts"),
    ticketSummary: $("ticket-summary"),
    ticketContext: $("ticket-context"),
    ticketEvents: $("ticket-events"),
    ticketStatus: $("ticket-status"),
    ticketNote: $("ticket-note"),
    ticketForCustomer: $("ticket-for-customer"),
    ticketUpdate: $("ticket-update"),
    ticketAssign: $("ticket-assign"),
    ticketAssignConfirm: $("ticket-assign-confirm"),
    ticketReplyForm: $("ticket-reply-form"),
    ticketReply: $("ticket-reply"),
    ticketReplyCounter: $("ticket-reply-counter"),
    ticketReplySend: $("ticket-reply-send"),
    ticketNoReply: $("ticket-no-reply"),
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
    metricsDays: 1,
    open: null,           // the chat in the middle column, see openChat()
    openToken: 0,         // the latest openChat() call wins
    sending: false,
    expected: new Set(),  // chat ids this agent just changed: their chat_changed needs no notice
    agents: [],           // colleagues (GET /api/agents): transfer targets, ticket assignees, names
    canned: [],           // 快捷回复 (GET /api/canned)
    cannedEditing: null,  // the id of the canned reply in the editor's form, null when adding
    tab: "chats",         // the middle area: chats | tickets
    tickets: [],          // the ticket worklist as last fetched with the filters
    ticketListToken: 0,   // the latest list request wins (filters change quickly)
    ticket: null,         // the ticket open in the detail pane (full ticket object)
    ticketToken: 0,       // the latest openTicket() call wins
    ticketOpening: null,  // the id of the ticket being fetched, marked in the list meanwhile
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

  const dateTimeFormat = new Intl.DateTimeFormat("zh-CN", {
    month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hour12: false, timeZone: "Asia/Shanghai",
  });

  /** A message time (unix seconds) as "11/22 10:03", for lines that may be days old. */
  function dateAndTime(unixSeconds) {
    if (typeof unixSeconds !== "number" || !isFinite(unixSeconds)) return "";
    return dateTimeFormat.format(new Date(unixSeconds * 1000));
  }

  /** A naive Shanghai wall time from the server as epoch milliseconds (NaN if unreadable). */
  function shanghaiMillis(iso) {
    const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(String(iso || ""));
    if (!match) return NaN;
    const [year, month, day, hour, minute, second] = match.slice(1).map((part) => Number(part || 0));
    return Date.UTC(year, month - 1, day, hour - 8, minute, second);  // Shanghai is UTC+8 all year
  }

  /** A span of time in words: "45分钟", "3小时20分钟", "2天". */
  function duration(ms) {
    const minutes = Math.max(1, Math.floor(ms / 60000));
    if (minutes < 60) return `${minutes}分钟`;
    const hours = Math.floor(minutes / 60);
    if (hours < 48) return `${hours}小时${minutes % 60 ? `${minutes % 60}分钟` : ""}`;
    return `${Math.floor(hours / 24)}天`;
  }

  function groupNames(groups) {
    return (groups || []).map((group) => GROUP_NAMES[group] || group).join("、");
  }

  /** A colleague's name by id (the id itself when not known, e.g. before /api/agents answered). */
  function agentName(agentId) {
    if (!agentId) return "";
    const found = state.agents.find((agent) => agent.id === agentId);
    return found ? found.name : agentId;
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
      options.headers["X-CSRF-Token"] = state.csrf;
      if (method !== "DELETE") {
        options.headers["Content-Type"] = "application/json";
        options.body = JSON.stringify(payload || {});
      }
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
      const error = new ApiError(message, response.status === 401 && path !== "/api/login" ? "login_required" : code, response.status);
      error.data = data;
      throw error;
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
      enterWorkspace(data.agent, data.csrf_token, data.skill_groups);
    } catch (error) {
      ui.loginError.textContent = error.message;
      show(ui.loginError, true);
      ui.loginPassword.select();
    } finally {
      ui.loginSubmit.disabled = false;
    }
  }

  /** Every group as an option after the select's first one ("请选择", "通用"). */
  function fillGroupOptions(select) {
    const chosen = select.value;
    while (select.options.length > 1) select.remove(1);
    Object.keys(GROUP_NAMES).forEach((group) => select.appendChild(el("option", { value: group, text: GROUP_NAMES[group] })));
    select.value = chosen in GROUP_NAMES ? chosen : "";
  }

  function enterWorkspace(agent, csrf, groups) {
    GROUP_NAMES = groups || {};
    fillGroupOptions(ui.transferGroup);
    fillGroupOptions(ui.cannedGroup);
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
    prepareTicketFilters();
    showTab("chats");
    renderOpenChat();
    connectSocket();
    refreshAll();
    loadAgents();
    loadCanned();
    loadOverdueCount();
    state.timers.push(window.setInterval(tickClocks, 1000));
    state.timers.push(window.setInterval(sendHeartbeat, HEARTBEAT_MS));
    state.timers.push(window.setInterval(onTicketPoll, TICKET_POLL_MS));
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
      agents: [], canned: [], cannedEditing: null, tickets: [], ticket: null, ticketOpening: null,
    });
    state.unread.clear();
    state.expected.clear();
    state.openToken += 1;
    state.ticketToken += 1;
    state.ticketListToken += 1;
    ui.queueList.textContent = "";
    ui.chatList.textContent = "";
    ui.activeList.textContent = "";
    ui.groupRows.textContent = "";
    ui.agentRows.textContent = "";
    ui.replyBox.value = "";
    renderTransferAgents();
    renderCanned();
    resetCannedForm();
    renderCannedEditor();
    show(ui.cannedEditor, false);
    ui.cannedManage.setAttribute("aria-expanded", "false");
    ui.ticketFilters.reset();
    ui.ticketList.textContent = "";
    ui.ticketListInfo.textContent = "";
    closeTicket();
    setOverdueCount(0);
    showTab("chats");
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
    socket.on("ticket_changed", onTicketChanged);
    socket.on("customer_typing", onCustomerTyping);
    socket.on("assist", onAssist);
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
    if (data.message.by === "customer") show(ui.customerTyping, false);
    if (state.open.loading) {
      state.open.pending.push(data.message);  // placed after the transcript once it is loaded
      return;
    }
    appendMessage(data.message);
  }

  /** The web customer of the open chat is typing; a signal that stops coming fades by itself. */
  function onCustomerTyping(data) {
    if (!data || !sameChat(data.chat_id)) return;
    window.clearTimeout(state.customerTypingTimer);
    show(ui.customerTyping, Boolean(data.on));
    if (data.on) state.customerTypingTimer = window.setTimeout(() => show(ui.customerTyping, false), CUSTOMER_TYPING_MS);
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
      if (names.includes("overview")) { loadOverview(); loadMetrics(); }
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

  /** The service's figures for the chosen period (today, 7 or 30 days), from the analytics facts. */
  async function loadMetrics() {
    if (!isSupervisor()) return;
    const generation = state.generation;
    try {
      const data = await api("GET", `/api/supervisor/metrics?days=${state.metricsDays}`);
      if (generation !== state.generation || data.days !== state.metricsDays) return;
      renderMetrics(data);
    } catch (error) {
      if (generation === state.generation) report(error);
    }
  }

  function renderMetrics(data) {
    ui.metricsRange.textContent = data.from === data.to ? data.to : `${data.from} 至 ${data.to}`;
    ui.metricsFigures.textContent = "";
    data.figures.forEach((figure) => {
      ui.metricsFigures.appendChild(el("div", { dataset: { figure: figure.key } }, [
        el("dt", { text: figure.title }),
        el("dd", { text: figure.value }),
      ]));
    });
    ui.metricsChannelRows.textContent = "";
    data.by_channel.forEach((row) => {
      ui.metricsChannelRows.appendChild(el("tr", {}, [
        el("th", { scope: "row", text: row.channel }),
        el("td", { className: "num", text: String(row.conversations) }),
        el("td", { className: "num", text: row.containment }),
        el("td", { className: "num", text: row.handoff_rate }),
      ]));
    });
    const lists = [
      ["转人工原因", data.handoff_reasons.map((r) => `${r.reason} ${r.count}`)],
      ["高频意图", data.top_intents.map((r) => `${r.intent} ${r.count}`)],
      ["知识库没答上", data.unanswered.map((r) => `${r.question}（${r.count}）`)],
    ].filter(([, items]) => items.length).map(([title, items]) => `${title}：${items.join("，")}`);
    ui.metricsLists.textContent = lists.join("　");
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
    showTab("chats");
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
      show(ui.customerTyping, false);
      show(ui.assistPanel, false);
      show(ui.draftWarnings, false);
      hideReplyWarnings();
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
    loadAssist(chatId, token);
  }

  // ---- 坐席辅助: summary, knowledge suggestions, alerts, the customer 360 ----------------------------

  async function loadAssist(chatId, token) {
    let data;
    try {
      data = await api("GET", `/api/chats/${chatId}/assist`);
    } catch (error) {
      if (token === state.openToken) report(error);
      return;
    }
    if (token !== state.openToken || !sameChat(chatId)) return;
    renderSummary(data.summary || []);
    renderCustomer(data.customer, chatId);
    renderSuggestions(data);
    renderReplies(data.replies || []);
    show(ui.refundOverrideField, isSupervisor());
    show(ui.actionResult, false);
    show(ui.assistPanel, true);
  }

  /** A text the agent may insert: its title and an 插入 button (off where the agent cannot write). */
  function insertable(title, text, extra) {
    const insert = el("button", { type: "button", className: "button button-small suggestion-insert", text: "插入" });
    insert.disabled = !(state.open && state.open.chat && chatMode(state.open.chat) === "reply" && state.open.chat.channel !== "phone");
    insert.addEventListener("click", () => insertReply(text));
    return el("li", extra || {}, [
      el("div", { className: "suggestion-title" }, [el("span", { text: title }), insert]),
      el("p", { className: "suggestion-passage", text }),
    ]);
  }

  function renderReplies(replies) {
    ui.assistReplies.textContent = "";
    replies.forEach((reply) => ui.assistReplies.appendChild(insertable(reply.label, reply.text)));
    show(ui.assistRepliesSection, replies.length > 0);
  }

  function showActionResult(text, kind) {
    ui.actionResult.textContent = text;
    ui.actionResult.dataset.kind = kind || "";
    show(ui.actionResult, true);
  }

  /** 办理: the same business rules as the bot, on the server; the answer or the refusal shows here. */
  async function chatAction(path, payload, button, describe) {
    const chatId = state.open && state.open.id;
    if (!chatId) return;
    if (button) button.disabled = true;
    try {
      const result = await api("POST", `/api/chats/${chatId}/${path}`, payload);
      if (sameChat(chatId)) showActionResult(describe(result), "ok");
    } catch (error) {
      if (sameChat(chatId)) showActionResult(error.message, "error");
    } finally {
      if (button) button.disabled = false;
    }
  }

  function onLookup(event) {
    event.preventDefault();
    const id = ui.lookupId.value.trim();
    if (!id) return;
    const isOrder = /^xh/i.test(id);
    chatAction("lookup", isOrder ? { order_id: id } : { booking_ref: id }, null, (found) => found.text);
  }

  function refundPayload() {
    return {
      order_id: ui.refundOrder.value.trim(),
      reason: ui.refundReason.value,
      detail: ui.refundDetail.value.trim(),
      override: ui.refundOverride.value.trim(),
    };
  }

  function onRefundCheck() {
    chatAction("refund-check", refundPayload(), ui.refundCheck, (check) =>
      `订单 ${check.order_id}（${check.amount}元）：${check.explanation}${check.supervisor_may_grant ? "。班长可以特批" : ""}`);
  }

  function onRefundSubmit(event) {
    event.preventDefault();
    chatAction("refund", refundPayload(), null, (filed) =>
      `已提交退货：订单 ${filed.order_id}，${filed.amount}元，工单 ${filed.ticket_id}${filed.override ? "（班长特批）" : ""}`);
  }

  function onNewTicket(event) {
    event.preventDefault();
    const summary = ui.newTicketSummary.value.trim();
    chatAction("tickets", { category: ui.newTicketCategory.value, summary }, null, (opened) => {
      ui.newTicketSummary.value = "";
      return `已建工单 ${opened.ticket_id}（${opened.category_name}）`;
    });
  }

  const SUMMARY_SECTIONS = { who: "客户", why: "原因", wanted: "诉求", did: "已办", mood: "情绪" };

  function renderSummary(lines) {
    ui.assistSummary.textContent = "";
    lines.forEach((line) => {
      ui.assistSummary.appendChild(el("li", {
        dataset: { section: line.section, event: line.event === null ? "" : String(line.event) },
        title: line.event === null ? "来自业务数据" : `来自对话第${line.event + 1}个事件`,
      }, [
        el("span", { className: "summary-section", text: SUMMARY_SECTIONS[line.section] || line.section }),
        el("span", { text: line.text }),
      ]));
    });
  }

  /** Suggestions and alerts for the customer's latest message (pushed again for each new one). */
  function renderSuggestions(data) {
    ui.assistAlerts.textContent = "";
    (data.alerts || []).forEach((alert) => {
      ui.assistAlerts.appendChild(el("li", { dataset: { kind: alert.kind } }, [
        el("strong", { text: alert.label }),
        el("span", { className: "alert-advice", text: alert.advice }),
      ]));
    });
    ui.assistFor.textContent = data.for_text ? `（针对“${data.for_text.slice(0, 20)}”）` : "";
    ui.assistSuggestions.textContent = "";
    (data.suggestions || []).forEach((suggestion) => {
      const item = insertable(suggestion.title, suggestion.insert, { dataset: { documentId: suggestion.document_id } });
      item.querySelector(".suggestion-passage").textContent = suggestion.passage;
      ui.assistSuggestions.appendChild(item);
    });
    show(ui.assistNoSuggestions, !(data.suggestions || []).length);
  }

  /** One click puts the answer in the reply box, to edit; nothing is sent without the agent. */
  function insertReply(text) {
    const current = ui.replyBox.value.trim();
    ui.replyBox.value = current ? `${current}\n${text}` : text;
    scheduleDraftCheck();
    updateComposer();
    ui.replyBox.focus();
  }

  /**
   * A masked phone number and a "显示号码" button: the number in clear only on this explicit request,
   * which the workspace writes to the audit log.
   */
  function phoneWithReveal(masked, path) {
    const number = el("span", { className: "phone-number", text: masked });
    const reveal = el("button", { type: "button", className: "button button-small reveal-phone", text: "显示号码", title: "显示完整号码（会记入审计日志）" });
    reveal.addEventListener("click", async () => {
      reveal.disabled = true;
      try {
        number.textContent = (await api("POST", path)).phone;
        reveal.remove();
      } catch (error) {
        toast(error.message, "error");
        reveal.disabled = false;
      }
    });
    return el("span", { className: "phone" }, [number, reveal]);
  }

  // ---- a customer's rights: export and erasure (supervisors; both written to the audit log) ----

  function rightsCustomerId() {
    const id = ui.rightsCustomer.value.trim();
    if (!id) ui.rightsResult.textContent = "请先填写客户编号";
    return id;
  }

  async function exportCustomer() {
    const id = rightsCustomerId();
    if (!id) return;
    try {
      const document = await api("GET", `/api/supervisor/customers/${encodeURIComponent(id)}/export`);
      const blob = new Blob([JSON.stringify(document, null, 2)], { type: "application/json" });
      const link = el("a", { href: URL.createObjectURL(blob), download: `customer-${id}.json` });
      link.click();
      URL.revokeObjectURL(link.href);
      ui.rightsResult.textContent = `已导出客户 ${id} 的信息`;
    } catch (error) {
      ui.rightsResult.textContent = error.message;
    }
  }

  async function eraseCustomer() {
    const id = rightsCustomerId();
    if (!id) return;
    const reason = window.prompt(`删除客户 ${id} 的全部对话并匿名化其个人信息，不能撤销。请写明依据（如客户的申请、工单号）：`);
    if (!reason) return;
    const confirm = window.prompt(`请再输入一遍客户编号 ${id} 确认删除：`);
    if (confirm === null) return;
    try {
      const erased = await api("POST", `/api/supervisor/customers/${encodeURIComponent(id)}/erase`, { confirm: confirm.trim(), reason });
      ui.rightsResult.textContent = `已删除客户 ${id} 的 ${erased.conversations.length} 个对话，匿名化 ${erased.tickets} 个工单、${erased.live_chats} 次人工服务`;
    } catch (error) {
      ui.rightsResult.textContent = error.message;
    }
  }

  function renderCustomer(customer, chatId) {
    ui.assistCustomerBody.textContent = "";
    show(ui.assistCustomer, Boolean(customer));
    if (!customer) return;
    const profile = customer.profile;
    const block = (title, items) => el("div", { className: "customer-block" }, [
      el("h4", { text: title }),
      items.length ? el("ul", {}, items.map((text) => el("li", { text }))) : el("p", { className: "empty-note", text: "无" }),
    ]);
    ui.assistCustomerBody.append(
      el("p", { text: `${profile.name} · ${profile.member_level}会员 · 积分${profile.points} · 钱包${profile.wallet_balance}${profile.wallet_frozen ? "（已冻结）" : ""}` }),
      el("p", {}, [phoneWithReveal(profile.phone, `/api/chats/${chatId}/reveal-phone`)]),
      block("最近订单", customer.orders.map((o) => `${o.id} ${o.items} ${o.amount} ${o.status_name}（${o.placed_on}下单）`)),
      block("退款", customer.refunds.map((r) => `${r.order_id} ${r.amount} ${r.reason} ${r.status_name}`)),
      block("机票", customer.bookings.map((b) => `${b.ref} ${b.flight} ${b.departs} ${b.status_name}`)),
      block("未结工单", customer.tickets.map((t) => `${t.id} ${t.category} ${t.status_name}，时限${t.sla_due}`)),
      block("以前的人工服务", customer.earlier_chats.map((c) => `${c.closed} ${c.agent || ""} ${c.result}${c.rating ? `，${c.rating}分` : ""}`)),
    );
  }

  function onAssist(data) {
    if (!data || !sameChat(data.chat_id)) return;
    renderSuggestions(data);
    (data.alerts || []).forEach((alert) => toast(`${alert.label}：${alert.advice}`, "alert"));
  }

  /** After accepting or taking over: the chat in the middle, now writable. */
  function showChat(chat) {
    showTab("chats");
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
    renderCanned();
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
    // A phone caller talks with the agent on the agent line: the chat is theirs to transfer or
    // close with a result, but there is no text to send.
    const typed = writable && open.chat.channel !== "phone";
    ui.replyBox.disabled = !typed;
    ui.replyBox.placeholder = typed
      ? "输入回复，Enter 发送，Shift+Enter 换行"
      : (writable ? "电话客户请在电话里直接沟通；通话结束后选择处理结果并结束" : "此会话不能回复");
    [ui.handBack, ui.transferOpen, ui.closeOpen].forEach((button) => { button.disabled = !writable; });
    ui.sendButton.disabled = !typed || state.sending || !ui.replyBox.value.trim();
    ui.transferConfirm.disabled = !writable;
    ui.closeConfirm.disabled = !writable;
    ui.cannedList.querySelectorAll("button.canned").forEach((button) => { button.disabled = !typed; });
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

  function hideReplyWarnings() {
    state.confirming = null;
    show(ui.replyWarnings, false);
  }

  /** The server found something to check in the draft: list it; the agent edits or confirms. */
  function showReplyWarnings(text, warnings) {
    state.confirming = text;
    ui.replyWarningList.textContent = "";
    warnings.forEach((warning) => {
      ui.replyWarningList.appendChild(el("li", { text: `${warning.label}：${warning.advice}` }));
    });
    show(ui.replyWarnings, true);
    ui.replyWarningConfirm.focus();
  }

  async function sendText(text, button, confirmed) {
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
      const message = await api("POST", `/api/chats/${chatId}/messages`, { text: trimmed, confirmed: Boolean(confirmed) });
      hideReplyWarnings();
      show(ui.draftWarnings, false);
      if (sameChat(chatId)) appendMessage(message);
      if (message.state === "failed") toast(message.error || "消息没有送达客户，请重发", "error");
      return true;
    } catch (error) {
      if (error.code === "confirm" && error.data && sameChat(chatId)) {
        showReplyWarnings(trimmed, error.data.warnings || []);
      } else {
        report(error);
      }
      return false;
    } finally {
      state.sending = false;
      if (button) button.disabled = false;
      updateComposer();
    }
  }

  // The customer sees "客服…正在输入" while the agent types: at most one signal every 3 s, and
  // an end 4 s after the last key or when the reply goes.
  const typing = { chatId: null, lastSent: 0, stopTimer: null };

  function signalTyping(on) {
    const chatId = state.open && state.open.id;
    if (!state.socket || !state.socket.connected || !chatId) return;
    if (on) {
      const now = Date.now();
      if (typing.chatId !== chatId || now - typing.lastSent > 3000) {
        state.socket.emit("typing", { chat_id: chatId, on: true });
        typing.chatId = chatId;
        typing.lastSent = now;
      }
      clearTimeout(typing.stopTimer);
      typing.stopTimer = setTimeout(() => signalTyping(false), 4000);
    } else if (typing.chatId) {
      state.socket.emit("typing", { chat_id: typing.chatId, on: false });
      typing.chatId = null;
      typing.lastSent = 0;
      clearTimeout(typing.stopTimer);
    }
  }

  /** While the agent types (600 ms after the last key): what the server would hold this draft for. */
  function scheduleDraftCheck() {
    window.clearTimeout(state.draftTimer);
    const chatId = state.open && state.open.id;
    const text = ui.replyBox.value.trim();
    if (!chatId || !text) {
      show(ui.draftWarnings, false);
      return;
    }
    state.draftTimer = window.setTimeout(async () => {
      let result;
      try {
        result = await api("POST", `/api/chats/${chatId}/check-draft`, { text });
      } catch (error) {
        return;  // the check at sending still applies
      }
      if (!sameChat(chatId) || ui.replyBox.value.trim() !== text) return;
      const warnings = result.warnings || [];
      ui.draftWarnings.textContent = warnings.map((w) => `⚠ ${w.label}`).join("　");
      show(ui.draftWarnings, warnings.length > 0);
    }, 600);
  }

  function onReplyInput() {
    if (state.confirming) hideReplyWarnings();  // an edited draft is checked again when sent
    scheduleDraftCheck();
    updateComposer();
    if (ui.replyBox.value.trim()) signalTyping(true);
  }

  async function onReplySubmit(event) {
    if (event) event.preventDefault();
    signalTyping(false);
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
      loadAgents();  // who is online and has room changes by the minute
    }
  }

  /**
   * The colleagues a chat can be handed to: everyone but the agent, with groups, status and load;
   * only those online with room for one more can be chosen (the server refuses the others).
   */
  function renderTransferAgents() {
    const select = ui.transferAgent;
    // Rebuilding a select the agent has open would close it under their pointer.
    if (document.activeElement === select && !ui.transferPanel.hidden) return;
    const chosen = select.value;
    select.textContent = "";
    select.appendChild(el("option", { value: "", text: "不转给个人" }));
    const me = state.agent ? state.agent.id : null;
    const choosable = (agent) => agent.status === "online" && agent.active < agent.max_concurrent;
    state.agents
      .filter((agent) => agent.id !== me)
      .map((agent, index) => ({ agent, index }))
      .sort((a, b) => (Number(choosable(b.agent)) - Number(choosable(a.agent))) || (a.index - b.index))
      .forEach(({ agent }) => {
        const full = agent.active >= agent.max_concurrent;
        const parts = [
          `${agent.name}（${groupNames(agent.skill_groups) || "无技能组"}）`,
          agent.status_name || STATUS_NAMES[agent.status] || agent.status,
          `接待${agent.active}/${agent.max_concurrent}${full ? " 已满" : ""}`,
        ];
        if (agent.role === "supervisor") parts.push("班长");
        select.appendChild(el("option", {
          value: agent.id,
          text: parts.join(" · "),
          disabled: !choosable(agent),
          dataset: { status: agent.status },
        }));
      });
    const still = Array.from(select.options).find((option) => option.value === chosen && !option.disabled);
    select.value = still ? chosen : "";
  }

  async function loadAgents() {
    const generation = state.generation;
    try {
      const data = await api("GET", "/api/agents");
      if (generation !== state.generation) return;
      state.agents = data.agents || [];
      renderTransferAgents();
      // Names in the ticket list and history come from here.
      if (state.tickets.length) renderTickets();
      if (state.ticket) renderTicket(state.ticket, false);
    } catch (error) {
      if (generation === state.generation) report(error);
    }
  }

  function onTransferConfirm() {
    const group = ui.transferGroup.value;
    const agent = ui.transferAgent.value;
    let problem = "";
    if (!group && !agent) problem = "请选择转给哪个技能组，或选择一位坐席";
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

  // ---- 快捷回复 (canned replies) -----------------------------------------------------------------

  async function loadCanned() {
    const generation = state.generation;
    try {
      const data = await api("GET", "/api/canned");
      if (generation !== state.generation) return;
      state.canned = data.canned || [];
      renderCanned();
      renderCannedEditor();
    } catch (error) {
      if (generation === state.generation) report(error);
    }
  }

  /**
   * The row above the reply box: the open chat's group first, then the common ones, then the rest
   * (a supervisor sees every group's). One click inserts the text; the agent edits, then sends.
   */
  function renderCanned() {
    ui.cannedList.textContent = "";
    const group = state.open && state.open.chat ? state.open.chat.skill_group : null;
    const rank = (reply) => {
      if (group && reply.skill_group === group) return 0;
      return reply.skill_group ? 2 : 1;
    };
    const writable = Boolean(state.open && state.open.chat && chatMode(state.open.chat) === "reply");
    state.canned
      .map((reply, index) => ({ reply, index }))
      .sort((a, b) => (rank(a.reply) - rank(b.reply)) || (a.index - b.index))
      .forEach(({ reply }) => {
        const button = el("button", {
          type: "button",
          className: "canned",
          dataset: { cannedId: reply.id, group: reply.skill_group || "" },
          title: reply.text,
          disabled: !writable,
        }, [
          reply.skill_group ? el("span", { className: "canned-group", text: reply.group_name || GROUP_NAMES[reply.skill_group] }) : null,
          el("span", { className: "canned-name", text: reply.title }),
        ]);
        button.addEventListener("click", () => insertCanned(reply));
        ui.cannedList.appendChild(button);
      });
    show(ui.cannedBar, state.canned.length > 0);
  }

  /** Puts a canned reply's text into the reply box where the cursor is (never sends it). */
  function insertCanned(reply) {
    const box = ui.replyBox;
    if (box.disabled || !reply || !reply.text) return;
    const length = box.value.length;
    const start = typeof box.selectionStart === "number" ? box.selectionStart : length;
    const end = typeof box.selectionEnd === "number" ? box.selectionEnd : length;
    if (length - (end - start) + reply.text.length > MAX_REPLY_CHARS) {
      toast(`插入后会超过${MAX_REPLY_CHARS}字，请先删减回复框里的内容`, "error");
      return;
    }
    box.focus();
    box.setRangeText(reply.text, start, end, "end");
    updateComposer();
  }

  // ---- the supervisor's canned reply editor -------------------------------------------------------

  function toggleCannedEditor() {
    const opening = ui.cannedEditor.hidden;
    show(ui.cannedEditor, opening);
    ui.cannedManage.setAttribute("aria-expanded", String(opening));
    if (opening) {
      resetCannedForm();
      loadCanned();
      ui.cannedTitle.focus();
    }
  }

  function renderCannedEditor() {
    ui.cannedEditorList.textContent = "";
    if (!isSupervisor()) return;
    state.canned.forEach((reply) => {
      const edit = el("button", { type: "button", className: "button button-small canned-edit", text: "编辑" });
      edit.addEventListener("click", () => editCanned(reply));
      const remove = el("button", { type: "button", className: "button button-ghost button-small canned-delete", text: "删除" });
      remove.addEventListener("click", () => deleteCanned(reply, remove));
      ui.cannedEditorList.appendChild(el("li", {
        className: "item canned-item",
        dataset: { cannedId: reply.id, group: reply.skill_group || "" },
        "aria-current": state.cannedEditing === reply.id ? "true" : null,
      }, [
        el("div", { className: "item-info" }, [
          el("span", { className: "item-title" }, [
            el("span", { className: "canned-item-title", text: reply.title }),
            el("span", { className: "badge badge-muted badge-tiny", text: reply.skill_group ? reply.group_name : "通用" }),
          ]),
          el("span", { className: "canned-item-text", text: reply.text }),
        ]),
        el("div", { className: "item-actions" }, [edit, remove]),
      ]));
    });
    show(ui.cannedEditorEmpty, state.canned.length === 0);
  }

  function updateCannedCounts() {
    ui.cannedTitleCount.textContent = `${ui.cannedTitle.value.length}/32`;
    ui.cannedTextCount.textContent = `${ui.cannedText.value.length}/1000`;
  }

  function setCannedError(message) {
    ui.cannedError.textContent = message || "";
    show(ui.cannedError, Boolean(message));
  }

  /** The form back to adding a new reply. */
  function resetCannedForm() {
    state.cannedEditing = null;
    ui.cannedForm.reset();
    ui.cannedFormTitle.textContent = "新增快捷回复";
    ui.cannedSave.textContent = "添加";
    show(ui.cannedCancelEdit, false);
    setCannedError("");
    updateCannedCounts();
    ui.cannedEditorList.querySelectorAll("li[aria-current]").forEach((li) => li.removeAttribute("aria-current"));
  }

  function editCanned(reply) {
    state.cannedEditing = reply.id;
    ui.cannedTitle.value = reply.title;
    ui.cannedText.value = reply.text;
    ui.cannedGroup.value = reply.skill_group || "";
    ui.cannedFormTitle.textContent = `编辑快捷回复「${reply.title}」`;
    ui.cannedSave.textContent = "保存修改";
    show(ui.cannedCancelEdit, true);
    setCannedError("");
    updateCannedCounts();
    renderCannedEditor();
    ui.cannedTitle.focus();
  }

  async function onCannedSubmit(event) {
    event.preventDefault();
    const title = ui.cannedTitle.value.trim();
    const text = ui.cannedText.value.trim();
    let problem = "";
    if (!title || !text) problem = "标题和内容都不能为空";
    else if (title.length > 32 || text.length > 1000) problem = "标题最多32字，内容最多1000字";
    setCannedError(problem);
    if (problem) return;
    const editing = state.cannedEditing;
    const payload = { title, text, skill_group: ui.cannedGroup.value };
    ui.cannedSave.disabled = true;
    try {
      if (editing) await api("PUT", `/api/canned/${editing}`, payload);
      else await api("POST", "/api/canned", payload);
    } catch (error) {
      if (error.code !== "login_required") setCannedError(error.message);
      report(error);
      return;
    } finally {
      ui.cannedSave.disabled = false;
    }
    toast(editing ? `已保存快捷回复「${title}」` : `已添加快捷回复「${title}」`, "success");
    resetCannedForm();
    loadCanned();
  }

  /** Deleting takes a second click on the same button (it asks first, for a few seconds). */
  async function deleteCanned(reply, button) {
    if (button.dataset.confirming !== "true") {
      button.dataset.confirming = "true";
      button.textContent = "确认删除？";
      button.className = "button button-danger button-small canned-delete";
      window.setTimeout(() => {
        if (!button.isConnected || button.dataset.confirming !== "true") return;
        button.dataset.confirming = "false";
        button.textContent = "删除";
        button.className = "button button-ghost button-small canned-delete";
      }, 4000);
      return;
    }
    button.dataset.confirming = "false";
    const done = await act(button, () => api("DELETE", `/api/canned/${reply.id}`));
    if (!done) return;
    toast(`已删除快捷回复「${reply.title}」`, "success");
    if (state.cannedEditing === reply.id) resetCannedForm();
    loadCanned();
  }

  // ---- the middle area's tabs: 会话 and 工单 --------------------------------------------------------

  function showTab(name) {
    const tickets = name === "tickets";
    const changed = state.tab !== name;
    state.tab = tickets ? "tickets" : "chats";
    ui.tabChats.setAttribute("aria-selected", String(!tickets));
    ui.tabTickets.setAttribute("aria-selected", String(tickets));
    ui.tabChats.tabIndex = tickets ? -1 : 0;
    ui.tabTickets.tabIndex = tickets ? 0 : -1;
    show(ui.chatView, !tickets);
    show(ui.ticketView, tickets);
    ui.workspace.dataset.tab = state.tab;
    return changed;
  }

  function openTicketsTab() {
    showTab("tickets");
    // Opening the tab (or clicking it again) fetches the list and the overdue count afresh.
    loadTickets();
    loadOverdueCount();
    if (!state.agents.length) loadAgents();
  }

  function onTabKeydown(event) {
    if (!["ArrowLeft", "ArrowRight", "Home", "End"].includes(event.key)) return;
    event.preventDefault();
    const toTickets = event.key === "End" || (event.key !== "Home" && state.tab === "chats");
    if (toTickets) {
      openTicketsTab();
      ui.tabTickets.focus();
    } else {
      showTab("chats");
      ui.tabChats.focus();
    }
  }

  /** A colleague changed a ticket: the list and the open ticket follow (what this agent typed stays). */
  function onTicketChanged(change) {
    if (!change || (state.agent && change.by === state.agent.id)) return;
    loadOverdueCount();
    if (state.tab !== "tickets") return;
    loadTickets();
    if (state.ticket && state.ticket.id === change.id) openTicket(change.id);
  }

  /** Every minute: the overdue badge, and the list when it is on screen. */
  function onTicketPoll() {
    loadOverdueCount();
    if (state.tab === "tickets" && !document.hidden) loadTickets();
  }

  function setOverdueCount(count) {
    ui.ticketOverdueCount.textContent = count >= TICKET_LIST_LIMIT ? `${TICKET_LIST_LIMIT}+` : String(count);
    ui.ticketOverdueCount.dataset.count = String(count);
    show(ui.ticketOverdueCount, count > 0);
    ui.tabTickets.title = count > 0 ? `有${count}个工单已超过处理时限` : "";
  }

  /** The number of open tickets past their SLA (the agent's groups; all for supervisors). */
  async function loadOverdueCount() {
    const generation = state.generation;
    try {
      const data = await api("GET", "/api/tickets?status=&priority=&group=&overdue=1&mine=");
      if (generation !== state.generation) return;
      setOverdueCount((data.tickets || []).length);
    } catch (error) {
      // A poll that fails says nothing every minute; a lost session already showed the login form.
    }
  }

  // ---- 工单 (tickets): the worklist --------------------------------------------------------------

  /** Agents filter by their own groups only (the server answers nothing for the others). */
  function prepareTicketFilters() {
    const groups = isSupervisor() ? Object.keys(GROUP_NAMES) : ((state.agent && state.agent.skill_groups) || []);
    const chosen = ui.ticketFilterGroup.value;
    ui.ticketFilterGroup.textContent = "";
    ui.ticketFilterGroup.appendChild(el("option", { value: "", text: isSupervisor() ? "全部" : "我的全部技能组" }));
    groups.forEach((group) => {
      ui.ticketFilterGroup.appendChild(el("option", { value: group, text: GROUP_NAMES[group] || group }));
    });
    ui.ticketFilterGroup.value = groups.includes(chosen) ? chosen : "";
  }

  function ticketQuery() {
    const params = new URLSearchParams();
    params.set("status", ui.ticketFilterStatus.value);
    params.set("priority", ui.ticketFilterPriority.value);
    params.set("group", ui.ticketFilterGroup.value);
    params.set("overdue", ui.ticketFilterOverdue.checked ? "1" : "");
    params.set("mine", ui.ticketFilterMine.checked ? "1" : "");
    return params.toString();
  }

  async function loadTickets() {
    const generation = state.generation;
    const token = ++state.ticketListToken;
    ui.ticketView.dataset.loading = "true";
    try {
      const data = await api("GET", `/api/tickets?${ticketQuery()}`);
      if (generation !== state.generation || token !== state.ticketListToken) return;
      state.tickets = data.tickets || [];
      renderTickets();
    } catch (error) {
      if (generation === state.generation && token === state.ticketListToken) report(error);
    } finally {
      if (token === state.ticketListToken) ui.ticketView.dataset.loading = "false";
    }
  }

  function priorityBadge(ticket, tiny) {
    return el("span", {
      className: `badge ${PRIORITY_BADGES[ticket.priority] || "badge-muted"}${tiny ? " badge-tiny" : ""} ticket-priority`,
      dataset: { priority: ticket.priority },
      text: `${ticket.priority_name || ticket.priority}优先级`,
    });
  }

  function statusBadge(ticket, tiny) {
    return el("span", {
      className: `badge badge-status ticket-status${tiny ? " badge-tiny" : ""}`,
      dataset: { status: ticket.status },
      text: ticket.status_name || ticket.status,
    });
  }

  function renderTickets() {
    ui.ticketList.textContent = "";
    const openId = state.ticket ? state.ticket.id : state.ticketOpening;
    state.tickets.forEach((ticket) => {
      const assignee = ticket.assignee_id ? `处理人：${agentName(ticket.assignee_id)}` : "未分配";
      const open = el("button", { type: "button", className: "item-open" }, [
        el("span", { className: "item-row" }, [
          el("span", { className: "item-title" }, [
            el("span", { className: "ticket-id", text: ticket.id }),
            ticket.overdue ? el("span", { className: "badge badge-danger badge-tiny overdue-mark", text: "已超时" }) : null,
          ]),
          statusBadge(ticket, true),
        ]),
        el("span", { className: "item-row" }, [
          el("span", {
            className: "item-meta",
            text: [ticket.category_name, `${ticket.group_name}组`, ticket.customer && ticket.customer.name].filter(Boolean).join(" · "),
          }),
          priorityBadge(ticket, true),
        ]),
        el("span", { className: "item-meta ticket-due" }, [
          el("span", { className: "ticket-due-time", text: `时限 ${wallTime(ticket.sla_due)}` }),
          el("span", { text: ` · ${assignee}` }),
        ]),
      ]);
      open.addEventListener("click", () => openTicket(ticket.id));
      ui.ticketList.appendChild(el("li", {
        className: `item ticket-item${ticket.overdue ? " overdue" : ""}`,
        dataset: { ticketId: ticket.id, status: ticket.status, priority: ticket.priority, overdue: String(Boolean(ticket.overdue)) },
        "aria-current": openId === ticket.id ? "true" : null,
      }, [open]));
    });
    const count = state.tickets.length;
    const overdue = state.tickets.filter((ticket) => ticket.overdue).length;
    ui.ticketListInfo.textContent = count
      ? `共${count}个工单${overdue ? `，其中${overdue}个已超时` : ""}${count >= TICKET_LIST_LIMIT ? `（只显示前${TICKET_LIST_LIMIT}个，请缩小筛选范围）` : ""}`
      : "";
    show(ui.ticketEmpty, count === 0);
  }

  function markOpenTicket(ticketId) {
    ui.ticketList.querySelectorAll("li[data-ticket-id]").forEach((li) => {
      if (li.dataset.ticketId === ticketId) li.setAttribute("aria-current", "true");
      else li.removeAttribute("aria-current");
    });
  }

  // ---- 工单: one ticket -------------------------------------------------------------------------

  async function openTicket(ticketId) {
    const token = ++state.ticketToken;
    const generation = state.generation;
    const another = !state.ticket || state.ticket.id !== ticketId;
    state.ticketOpening = ticketId;
    markOpenTicket(ticketId);
    ui.ticketView.dataset.open = "true";
    if (another) {
      state.ticket = null;
      show(ui.ticketCard, false);
      show(ui.ticketPlaceholder, false);
      show(ui.ticketLoading, true);
    }
    try {
      const ticket = await api("GET", `/api/tickets/${encodeURIComponent(ticketId)}`);
      if (token !== state.ticketToken || generation !== state.generation) return;
      renderTicket(ticket, another);
      if (another) ui.ticketDetail.scrollTop = 0;
    } catch (error) {
      if (token !== state.ticketToken || generation !== state.generation) return;
      report(error);
      if (another) closeTicket();
    } finally {
      if (token === state.ticketToken) {
        state.ticketOpening = null;
        show(ui.ticketLoading, false);
      }
    }
  }

  function closeTicket() {
    state.ticketToken += 1;
    state.ticket = null;
    state.ticketOpening = null;
    ui.ticketView.dataset.open = "false";
    show(ui.ticketCard, false);
    show(ui.ticketLoading, false);
    show(ui.ticketPlaceholder, true);
    markOpenTicket(null);
  }

  /** How far the ticket is from its SLA, in words ("" once it is no longer open). */
  function dueText(ticket) {
    const left = shanghaiMillis(ticket.sla_due) - Date.now();
    if (ticket.overdue) return isFinite(left) && left < 0 ? `已超时${duration(-left)}` : "已超时";
    if (!OPEN_TICKET_STATUSES.includes(ticket.status) || !isFinite(left)) return "";
    return left > 0 ? `还剩${duration(left)}` : "即将超时";
  }

  /**
   * The ticket in the detail pane. `fresh`: a newly opened ticket, or one an action just changed;
   * then the forms start over. Otherwise (names arrived, a refresh) what the agent typed stays.
   */
  function renderTicket(ticket, fresh) {
    state.ticket = ticket;
    ui.ticketView.dataset.open = "true";
    show(ui.ticketPlaceholder, false);
    show(ui.ticketLoading, false);
    show(ui.ticketCard, true);
    ui.ticketCard.dataset.ticketId = ticket.id;
    ui.ticketCard.dataset.status = ticket.status;
    ui.ticketCard.classList.toggle("overdue", Boolean(ticket.overdue));
    markOpenTicket(ticket.id);

    ui.ticketTitle.textContent = `工单 ${ticket.id}`;
    ui.ticketStatusBadge.textContent = ticket.status_name || ticket.status;
    ui.ticketStatusBadge.dataset.status = ticket.status;
    const priority = priorityBadge(ticket, false);
    ui.ticketPriorityBadge.className = priority.className;
    ui.ticketPriorityBadge.dataset.priority = ticket.priority;
    ui.ticketPriorityBadge.textContent = priority.textContent;
    show(ui.ticketOverdueBadge, Boolean(ticket.overdue));

    const customer = ticket.customer || {};
    const due = dueText(ticket);
    const facts = [
      ["类别", ticket.category_name],
      ["技能组", ticket.group_name],
      ["客户", customer.id ? [customer.name || "已验证客户", customer.member_level].filter(Boolean).join(" · ") : "未验证身份"],
      ["处理时限", `${wallTime(ticket.sla_due)}${due ? `（${due}）` : ""}`, ticket.overdue ? "overdue" : ""],
      ["处理人", ticket.assignee_id ? agentName(ticket.assignee_id) : "未分配"],
      ["创建时间", wallTime(ticket.created_at)],
      ["最近更新", wallTime(ticket.updated_at)],
    ];
    if (ticket.order_id) facts.splice(3, 0, ["订单号", ticket.order_id]);
    if (ticket.booking_ref) facts.splice(3, 0, ["预订号", ticket.booking_ref]);
    ui.ticketFacts.textContent = "";
    facts.forEach(([label, value, kind]) => {
      ui.ticketFacts.appendChild(el("div", { className: kind ? `fact fact-${kind}` : "fact" }, [
        el("dt", { text: label }),
        el("dd", { text: value || "—" }),
      ]));
    });
    if (ticket.phone) {
      ui.ticketFacts.appendChild(el("div", { className: "fact" }, [
        el("dt", { text: "联系电话" }),
        el("dd", {}, [phoneWithReveal(ticket.phone, `/api/tickets/${encodeURIComponent(ticket.id)}/reveal-phone`)]),
      ]));
    }
    ui.ticketSummary.textContent = ticket.summary || "（没有摘要）";

    renderTicketContext(ticket);
    renderTicketEvents(ticket.events || []);
    renderTicketActions(ticket, fresh);
  }

  /** The conversation the ticket came from, as a small read-only transcript. */
  function renderTicketContext(ticket) {
    const lines = ticket.context || [];
    const who = (ticket.customer && ticket.customer.name) || "客户";
    ui.ticketContext.textContent = "";
    if (!lines.length) {
      ui.ticketContext.appendChild(el("p", { className: "transcript-note", text: "没有记录来源对话" }));
      return;
    }
    lines.forEach((line) => {
      const by = line.by === "customer" ? "customer" : "bot";
      ui.ticketContext.appendChild(el("div", { className: `message message-${by}`, dataset: { by } }, [
        el("div", { className: "message-meta" }, [
          el("span", { className: "message-author", text: by === "customer" ? who : BOT_NAME }),
          el("time", { className: "message-time", text: dateAndTime(line.at) }),
          by === "customer" && line.intent
            ? el("span", { className: "message-intent", title: "机器人识别的意图", text: line.intent })
            : null,
        ]),
        el("div", { className: "message-text", text: line.text || "" }),
      ]));
    });
    ui.ticketContext.scrollTop = ui.ticketContext.scrollHeight;
  }

  function renderTicketEvents(events) {
    ui.ticketEvents.textContent = "";
    if (!events.length) {
      ui.ticketEvents.appendChild(el("li", { className: "muted", text: "暂无处理记录" }));
      return;
    }
    events.forEach((event) => {
      ui.ticketEvents.appendChild(el("li", { dataset: { forCustomer: String(Boolean(event.for_customer)) } }, [
        el("div", { className: "ticket-event-head" }, [
          el("span", { className: "event-time", text: wallTime(event.at) }),
          el("span", { className: "event-kind", text: event.status_name || "" }),
          el("span", { className: "muted", text: event.agent_id ? agentName(event.agent_id) : "系统" }),
          event.for_customer ? el("span", { className: "badge badge-tiny", text: "客户可见" }) : null,
        ]),
        event.note ? el("div", { className: "ticket-event-note", text: event.note }) : null,
      ]));
    });
  }

  /** The assignee choices: a supervisor may pick anyone; an agent only themselves. */
  function renderAssignChoices(ticket, keepChoice) {
    const select = ui.ticketAssign;
    const before = select.value;
    select.textContent = "";
    const me = state.agent;
    const current = ticket.assignee_id || "";
    const option = (agent, note) => el("option", {
      value: agent.id,
      text: `${agent.name}（${[groupNames(agent.skill_groups), agent.status_name].filter(Boolean).join(" · ")}）${note || ""}`,
    });
    if (isSupervisor()) {
      const inGroup = state.agents.filter((agent) => (agent.skill_groups || []).includes(ticket.skill_group));
      const others = state.agents.filter((agent) => !(agent.skill_groups || []).includes(ticket.skill_group));
      [[`${ticket.group_name}组`, inGroup], ["其他坐席", others]].forEach(([label, agents]) => {
        if (!agents.length) return;
        const group = el("optgroup", { label });
        agents.forEach((agent) => group.appendChild(option(agent, agent.id === current ? " · 当前" : "")));
        select.appendChild(group);
      });
      if (current && !state.agents.some((agent) => agent.id === current)) {
        select.appendChild(el("option", { value: current, text: `${agentName(current)}（当前）` }));
      }
    } else if (me) {
      if (current && current !== me.id) {
        // Shown so the agent sees who has it; only a supervisor gives it to someone else.
        select.appendChild(el("option", { value: current, text: `${agentName(current)}（当前处理人）`, disabled: true }));
      }
      select.appendChild(el("option", { value: me.id, text: `我自己（${me.name}）${current === me.id ? " · 当前" : ""}` }));
    }
    select.appendChild(el("option", { value: "", text: current ? "取消分配" : "取消分配（目前未分配）" }));
    const valid = (value) => Array.from(select.options).some((o) => o.value === value && !o.disabled);
    if (keepChoice && valid(before)) select.value = before;
    else if (valid(current)) select.value = current;
    else if (current) select.value = current;  // the disabled "current" line of an agent's view
    else select.value = "";
    ui.ticketAssign.title = isSupervisor() ? "" : "坐席只能把工单分给自己；分给别人请找班长";
  }

  function renderTicketActions(ticket, fresh) {
    if (fresh) {
      ui.ticketStatus.value = TICKET_STATUS_NAMES[ticket.status] ? ticket.status : "in_progress";
      ui.ticketNote.value = "";
      ui.ticketForCustomer.checked = false;
      ui.ticketReply.value = "";
    }
    renderAssignChoices(ticket, !fresh);
    show(ui.ticketReplyForm, Boolean(ticket.can_reply));
    show(ui.ticketNoReply, !ticket.can_reply);
    updateTicketReplyCounter();
  }

  function updateTicketReplyCounter() {
    const length = ui.ticketReply.value.length;
    ui.ticketReplyCounter.textContent = `${length}/${MAX_REPLY_CHARS}`;
    ui.ticketReplyCounter.dataset.near = String(length > MAX_REPLY_CHARS * 0.9);
  }

  /** One action on the open ticket: it answers with the whole ticket, shown at once; the list follows. */
  async function ticketAction(button, path, payload, done) {
    const ticket = state.ticket;
    if (!ticket) return;
    const ticketId = ticket.id;
    const updated = await act(button, () => api("POST", `/api/tickets/${encodeURIComponent(ticketId)}/${path}`, payload));
    if (!updated) return;
    if (state.ticket && state.ticket.id === ticketId) renderTicket(updated, true);
    done(updated);
    loadTickets();
    loadOverdueCount();
  }

  function onTicketUpdate() {
    const status = ui.ticketStatus.value;
    const note = ui.ticketNote.value.trim();
    if (!note) {
      toast("请写一句处理说明", "error");
      ui.ticketNote.focus();
      return;
    }
    if (note.length > MAX_TICKET_NOTE_CHARS) {
      toast(`处理说明最多${MAX_TICKET_NOTE_CHARS}字`, "error");
      return;
    }
    const forCustomer = ui.ticketForCustomer.checked;
    ticketAction(ui.ticketUpdate, "status", { status, note, for_customer: forCustomer }, (ticket) => {
      toast(`工单${ticket.id}已更新为「${ticket.status_name}」${forCustomer ? "，客户查询时可以看到说明" : ""}`, "success");
    });
  }

  function onTicketAssign() {
    const ticket = state.ticket;
    if (!ticket) return;
    const agentId = ui.ticketAssign.value;
    if (agentId === (ticket.assignee_id || "")) {
      toast(agentId ? "处理人没有变化" : "这个工单目前没有分配", "info");
      return;
    }
    ticketAction(ui.ticketAssignConfirm, "assign", { agent_id: agentId }, (updated) => {
      toast(updated.assignee_id ? `已分配给${agentName(updated.assignee_id)}` : "已取消分配", "success");
    });
  }

  function onTicketReply() {
    const ticket = state.ticket;
    const text = ui.ticketReply.value.trim();
    if (!ticket || !ticket.can_reply) return;
    if (!text) {
      toast("消息不能为空", "error");
      ui.ticketReply.focus();
      return;
    }
    if (text.length > MAX_REPLY_CHARS) {
      toast(`消息太长了（最多${MAX_REPLY_CHARS}字）`, "error");
      return;
    }
    ticketAction(ui.ticketReplySend, "reply", { text }, () => toast("回复已发送给客户", "success"));
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
    });
    // The overview lists the same agent objects as /api/agents: the transfer choices stay current.
    if (overview.agents) {
      state.agents = overview.agents;
      renderTransferAgents();
    }

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
    ui.replyBox.addEventListener("input", onReplyInput);
    ui.replyWarningCancel.addEventListener("click", () => { hideReplyWarnings(); ui.replyBox.focus(); });
    ui.lookupForm.addEventListener("submit", onLookup);
    ui.refundForm.addEventListener("submit", onRefundSubmit);
    ui.refundCheck.addEventListener("click", onRefundCheck);
    ui.newTicketForm.addEventListener("submit", onNewTicket);
    ui.replyWarningConfirm.addEventListener("click", async () => {
      const text = state.confirming;
      if (!text) return;
      const sent = await sendText(text, ui.replyWarningConfirm, true);
      if (sent && ui.replyBox.value.trim() === text) ui.replyBox.value = "";
      updateComposer();
    });
    ui.handBack.addEventListener("click", onHandBack);
    ui.transferOpen.addEventListener("click", openTransfer);
    ui.transferCancel.addEventListener("click", closePanels);
    ui.transferConfirm.addEventListener("click", onTransferConfirm);
    // Exactly one target: choosing a group clears the agent, choosing an agent clears the group.
    ui.transferGroup.addEventListener("change", () => { if (ui.transferGroup.value) ui.transferAgent.value = ""; });
    ui.transferAgent.addEventListener("change", () => { if (ui.transferAgent.value) ui.transferGroup.value = ""; });
    ui.closeOpen.addEventListener("click", openClose);
    ui.closeCancel.addEventListener("click", closePanels);
    ui.closeConfirm.addEventListener("click", onCloseConfirm);
    ui.overviewRefresh.addEventListener("click", () => scheduleRefresh("overview", "queue"));
    ui.metricsPeriods.forEach((button) => button.addEventListener("click", () => {
      state.metricsDays = Number(button.dataset.days);
      ui.metricsPeriods.forEach((other) => other.setAttribute("aria-pressed", String(other === button)));
      loadMetrics();
    }));
    ui.rightsExport.addEventListener("click", exportCustomer);
    ui.rightsErase.addEventListener("click", eraseCustomer);
    ui.supervisorToggle.addEventListener("click", toggleSupervisorView);
    [ui.transferPanel, ui.closePanel].forEach((panel) => {
      panel.addEventListener("keydown", (event) => { if (event.key === "Escape") closePanels(); });
    });
    // 快捷回复 and their editor
    ui.cannedManage.addEventListener("click", toggleCannedEditor);
    ui.cannedForm.addEventListener("submit", onCannedSubmit);
    ui.cannedCancelEdit.addEventListener("click", () => { resetCannedForm(); ui.cannedTitle.focus(); });
    ui.cannedTitle.addEventListener("input", updateCannedCounts);
    ui.cannedText.addEventListener("input", updateCannedCounts);
    // 会话 / 工单
    ui.tabChats.addEventListener("click", () => showTab("chats"));
    ui.tabTickets.addEventListener("click", openTicketsTab);
    ui.tabList.addEventListener("keydown", onTabKeydown);
    ui.ticketFilters.addEventListener("submit", (event) => { event.preventDefault(); loadTickets(); });
    [ui.ticketFilterStatus, ui.ticketFilterPriority, ui.ticketFilterGroup, ui.ticketFilterOverdue, ui.ticketFilterMine]
      .forEach((input) => input.addEventListener("change", loadTickets));
    ui.ticketRefresh.addEventListener("click", () => { loadTickets(); loadOverdueCount(); });
    ui.ticketBack.addEventListener("click", closeTicket);
    ui.ticketUpdate.addEventListener("click", onTicketUpdate);
    ui.ticketAssignConfirm.addEventListener("click", onTicketAssign);
    ui.ticketReplySend.addEventListener("click", onTicketReply);
    ui.ticketReply.addEventListener("input", updateTicketReplyCounter);
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
      enterWorkspace(data.agent, data.csrf_token, data.skill_groups);
    } catch (error) {
      showLogin(error.status === 401 ? "" : error.message);
    }
  }

  start();
})();
