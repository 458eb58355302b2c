/*
 * 星河智能客服 web chat widget.  Embed with one tag (config object optional):
 *
 *   <script>window.XingheChatConfig = { title: "星河智能客服", customerToken: "<site-signed JWT>" };</script>
 *   <script src="https://<rasa host>/webhooks/webchat/widget.js" async></script>
 *
 * The server, stylesheet and Socket.IO client all come from the script's own
 * address.  Protocol: docs/webchat.md.  No framework: plain DOM, text is always
 * set with textContent (never innerHTML), links only http(s).
 */
(function () {
  "use strict";
  if (window.XingheChat) return;

  var script = document.currentScript;
  var base = script.src.replace(/widget\.js(\?.*)?$/, "");
  var config = Object.assign({
    title: "星河智能客服",
    subtitle: "小河 · 7×24小时在线",
    greeting: "您好，我是星河智能客服小河，请问有什么可以帮您？",
    server: new URL(base).origin,
    socketPath: "/webchat/socket.io",
    customerToken: null,
    storageKey: "xinghe-webchat-token",
    maxChars: 500,
    openOnLoad: false
  }, window.XingheChatConfig || {});

  var TEXT = {
    open: "打开在线客服", close: "收起聊天窗口", send: "发送", placeholder: "请输入您的问题，按 Enter 发送",
    typing: "小河正在输入…", online: "在线", connecting: "正在连接…",
    agentTyping: function (name) { return "人工客服" + name + "正在输入…"; },
    reconnecting: "连接已断开，正在重新连接…", expired: "会话已过期，已为您开始新的对话。",
    loginInvalid: "登录信息已失效，已切换为访客身份。", end: "评价",
    rateTitle: "本次服务您满意吗？", rateSubmit: "提交评价", rateComment: "还有什么想告诉我们的？（选填）",
    rated: function (n) { return "感谢您的评价（" + n + "星）！"; },
    agent: "人工客服",
    handoff: {
      queued: "已为您转接人工客服，正在排队…",
      agent_joined: function (name) { return "人工客服" + (name ? "「" + name + "」" : "") + "已接入"; },
      agent_left: "人工客服已离开对话"
    },
    unread: function (n) { return n + "条未读消息"; }
  };

  var SPEAKER = { user: "我说：", bot: "小河说：", agent: "人工客服说：" };
  var state = { open: false, unread: 0, socket: null, seen: {}, customerToken: config.customerToken,
                withAgent: false, typingOn: false, typingSentAt: 0, typingIdle: 0 };
  var TYPING_REPEAT_MS = 1500, TYPING_IDLE_MS = 4000;  // the agent's screen forgets a signal after 6 s

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "onclick") node.addEventListener("click", attrs[key]);
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  // A speech-bubble icon drawn as SVG (an emoji would depend on the visitor's fonts).
  function chatIcon() {
    var ns = "http://www.w3.org/2000/svg";
    var svg = document.createElementNS(ns, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "28");
    svg.setAttribute("height", "28");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(ns, "path");
    path.setAttribute("fill", "currentColor");
    path.setAttribute("d", "M12 3C6.5 3 2 6.6 2 11c0 2.4 1.3 4.6 3.4 6.1L4.6 21l4.3-2.3c1 .2 2 .3 3.1.3 " +
      "5.5 0 10-3.6 10-8s-4.5-8-10-8zm-4 9.3a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6zm4 0a1.3 1.3 0 110-2.6 " +
      "1.3 1.3 0 010 2.6zm4 0a1.3 1.3 0 110-2.6 1.3 1.3 0 010 2.6z");
    svg.appendChild(path);
    return svg;
  }

  function safeUrl(url) {
    return typeof url === "string" && /^(https?:\/\/|\/)/i.test(url) ? url : null;
  }

  // Text with http(s) URLs turned into links, built from text nodes only.
  function richText(text) {
    var span = el("span", { "class": "xh-text" });
    String(text).split(/(https?:\/\/[^\s，。！？、）)]+)/).forEach(function (part, i) {
      if (i % 2) span.appendChild(el("a", { href: part, target: "_blank", rel: "noopener noreferrer", text: part }));
      else if (part) span.appendChild(document.createTextNode(part));
    });
    return span;
  }

  // --- DOM ----------------------------------------------------------------------
  var root = el("div", { "class": "xh-root", "data-testid": "xh-root" });
  var badge = el("span", { "class": "xh-badge", hidden: "", "data-testid": "xh-unread" });
  var launcher = el("button", {
    type: "button", "class": "xh-launcher", "aria-label": TEXT.open, "aria-expanded": "false",
    "aria-controls": "xh-panel", "data-testid": "xh-launcher"
  }, [chatIcon(), badge]);
  var status = el("span", { "class": "xh-status", "data-testid": "xh-status", text: TEXT.connecting });
  var rateButton = el("button", { type: "button", "class": "xh-header-btn", "data-testid": "xh-rate-open", text: TEXT.end });
  var closeButton = el("button", { type: "button", "class": "xh-header-btn", "aria-label": TEXT.close, text: "×" });
  var log = el("div", {
    "class": "xh-log", role: "log", "aria-live": "polite", "aria-relevant": "additions",
    "aria-label": "聊天记录", tabindex: "0", "data-testid": "xh-log"
  });
  var typingText = el("span", { text: TEXT.typing });
  var typing = el("div", { "class": "xh-typing", hidden: "", "aria-live": "polite", "data-testid": "xh-typing" },
    [el("span", { "class": "xh-dots", "aria-hidden": "true" }, [el("i"), el("i"), el("i")]), typingText]);
  var notice = el("div", { "class": "xh-notice", role: "alert", hidden: "", "data-testid": "xh-notice" });
  var quickReplies = el("div", { "class": "xh-quick", role: "group", "aria-label": "快捷回复" });
  var input = el("textarea", {
    "class": "xh-input", rows: "1", placeholder: TEXT.placeholder, "aria-label": "输入消息",
    maxlength: String(config.maxChars), "data-testid": "xh-input"
  });
  var sendButton = el("button", { type: "submit", "class": "xh-send", "data-testid": "xh-send", text: TEXT.send });
  var form = el("form", { "class": "xh-form" }, [input, sendButton]);
  var rating = buildRating();
  var panel = el("section", {
    id: "xh-panel", "class": "xh-panel", role: "dialog", "aria-label": config.title, hidden: "", "data-testid": "xh-panel"
  }, [
    el("header", { "class": "xh-header" }, [
      el("div", { "class": "xh-avatar", "aria-hidden": "true", text: "河" }),
      el("div", { "class": "xh-titles" }, [el("h2", { "class": "xh-title", text: config.title }), status]),
      rateButton, closeButton
    ]),
    log, typing, rating, notice, quickReplies, form
  ]);
  root.appendChild(panel);
  root.appendChild(launcher);

  function buildRating() {
    var stars = el("div", { "class": "xh-stars", role: "radiogroup", "aria-label": TEXT.rateTitle });
    var comment = el("textarea", { "class": "xh-comment", rows: "2", maxlength: "500", placeholder: TEXT.rateComment, "aria-label": TEXT.rateComment });
    var submit = el("button", { type: "button", "class": "xh-send", disabled: "", "data-testid": "xh-rate-submit", text: TEXT.rateSubmit });
    var box = el("div", { "class": "xh-rating", hidden: "", "data-testid": "xh-rating" },
      [el("p", { "class": "xh-rating-title", text: TEXT.rateTitle }), stars, comment, submit]);
    var chosen = 0;
    var buttons = [1, 2, 3, 4, 5].map(function (n) {
      var star = el("button", {
        type: "button", role: "radio", "aria-checked": "false", "aria-label": n + "星",
        "class": "xh-star", "data-testid": "xh-star-" + n, text: "★"
      });
      star.addEventListener("click", function () { choose(n); });
      star.addEventListener("keydown", function (e) {
        if (e.key === "ArrowRight" || e.key === "ArrowUp") { e.preventDefault(); choose(Math.min(5, n + 1)); }
        if (e.key === "ArrowLeft" || e.key === "ArrowDown") { e.preventDefault(); choose(Math.max(1, n - 1)); }
      });
      stars.appendChild(star);
      return star;
    });
    function choose(n) {
      chosen = n;
      buttons.forEach(function (b, i) {
        b.setAttribute("aria-checked", String(i + 1 === n));
        b.classList.toggle("xh-on", i < n);
        b.tabIndex = i + 1 === n ? 0 : -1;
      });
      buttons[n - 1].focus();
      submit.disabled = false;
    }
    submit.addEventListener("click", function () {
      state.socket.emit("rate", { score: chosen, comment: comment.value }, function (ack) {
        if (ack && ack.ok) { box.hidden = true; input.focus(); } else if (ack) showNotice(ack.notice);
      });
    });
    box.show = function () { box.hidden = false; (buttons[chosen ? chosen - 1 : 4]).focus(); };
    return box;
  }

  // --- rendering -----------------------------------------------------------------
  function buttonNode(button, cls) {
    var url = safeUrl(button.url);
    if (url) return el("a", { "class": cls, href: url, target: "_blank", rel: "noopener noreferrer", text: button.title });
    return el("button", {
      type: "button", "class": cls, text: button.title,
      onclick: function () { send(button.payload, button.title); }
    });
  }

  function card(element) {
    var image = safeUrl(element.image_url);
    var link = safeUrl(element.url);
    return el("article", { "class": "xh-card" }, [
      image ? el("img", { src: image, alt: element.title, loading: "lazy" }) : null,
      el("h3", { text: element.title }),
      element.subtitle ? el("p", { text: element.subtitle }) : null,
      link ? el("a", { href: link, target: "_blank", rel: "noopener noreferrer", text: "查看详情" }) : null,
      (element.buttons || []).length ? el("div", { "class": "xh-buttons" },
        element.buttons.map(function (b) { return buttonNode(b, "xh-button"); })) : null
    ]);
  }

  function eventText(message) {
    if (message.event === "rated") return TEXT.rated(message.score);
    var text = TEXT.handoff[message.status];
    return typeof text === "function" ? text(message.agent_name) : text || "";
  }

  function render(message) {
    if (!message || state.seen[message.id]) return;
    state.seen[message.id] = true;
    if (message.role === "event" && message.status) state.withAgent = message.status === "agent_joined";
    var node;
    if (message.role === "event") {
      node = el("div", { "class": "xh-event", "data-role": "event", text: eventText(message) });
    } else {
      var parts = [];
      if (message.text) parts.push(richText(message.text));
      if (safeUrl(message.image)) parts.push(el("img", { "class": "xh-image", src: message.image, alt: "图片", loading: "lazy" }));
      (message.links || []).forEach(function (l) {
        if (safeUrl(l.url)) parts.push(el("a", { "class": "xh-link", href: l.url, target: "_blank", rel: "noopener noreferrer", text: l.title }));
      });
      if ((message.elements || []).length) parts.push(el("div", { "class": "xh-cards" }, message.elements.map(card)));
      if ((message.buttons || []).length) {
        parts.push(el("div", { "class": "xh-buttons", role: "group", "aria-label": "可选操作" },
          message.buttons.map(function (b) { return buttonNode(b, "xh-button"); })));
      }
      // A person in the agent workspace wrote this one: their name above the text.
      if (message.role === "agent") parts.unshift(el("div", { "class": "xh-agent-name", text: message.agent_name || TEXT.agent }));
      node = el("div", { "class": "xh-msg xh-" + message.role, "data-role": message.role },
        [el("span", { "class": "xh-sr", text: SPEAKER[message.role] || SPEAKER.bot })].concat(parts));
    }
    log.appendChild(node);
    log.scrollTop = log.scrollHeight;
    if (message.role === "bot" || message.role === "agent") {
      setQuickReplies(message.quick_replies || []);
      if (!state.open) setUnread(state.unread + 1);
    }
  }

  function setQuickReplies(replies) {
    quickReplies.textContent = "";
    replies.forEach(function (r) { quickReplies.appendChild(buttonNode(r, "xh-chip")); });
  }

  function setUnread(n) {
    state.unread = n;
    badge.hidden = n === 0;
    badge.textContent = n > 99 ? "99+" : String(n);
    launcher.setAttribute("aria-label", n ? TEXT.open + "（" + TEXT.unread(n) + "）" : TEXT.open);
  }

  function showNotice(text) {
    notice.textContent = text || "";
    notice.hidden = !text;
  }

  function setStatus(text, kind) {
    status.textContent = text;
    root.setAttribute("data-connection", kind);
  }

  // --- conversation ----------------------------------------------------------------
  /** While a person serves the customer, their agent sees them typing (the bot needs no such signal). */
  function customerTyping(on) {
    window.clearTimeout(state.typingIdle);
    if (!state.socket || !state.socket.connected || (!state.withAgent && !state.typingOn)) return;
    var now = Date.now();
    if (on) {
      state.typingIdle = window.setTimeout(function () { customerTyping(false); }, TYPING_IDLE_MS);
      if (state.typingOn && now - state.typingSentAt < TYPING_REPEAT_MS) return;
    } else if (!state.typingOn) {
      return;
    }
    state.typingOn = on;
    state.typingSentAt = now;
    state.socket.emit("customer_typing", { on: on });
  }

  function send(text, display) {
    text = String(text || "").trim();
    if (!text || !state.socket) return;
    var typed = display === undefined;
    customerTyping(false);
    state.socket.emit("user_uttered", { message: text, display: display }, function (ack) {
      if (!ack || !ack.ok) { showNotice(ack ? ack.notice : TEXT.reconnecting); return; }
      showNotice("");
      if (typed) input.value = "";  // kept in the box until the server accepted it
      render({ id: ack.id, role: "user", text: display || text });
    });
    setQuickReplies([]);
  }

  function connect() {
    var socket = window.io(config.server, {
      path: config.socketPath,
      transports: ["websocket", "polling"],
      auth: function (cb) {
        cb({ token: localStorage.getItem(config.storageKey), customer_token: state.customerToken });
      }
    });
    state.socket = socket;
    socket.on("connect", function () {
      setStatus(TEXT.online, "online");
      socket.emit("session_request", {});
    });
    socket.on("connect_error", function (err) {
      var code = err && err.message;
      if (code === "token_expired" || code === "token_invalid") {
        localStorage.removeItem(config.storageKey);
        if (code === "token_expired") showNotice(TEXT.expired);
        socket.connect();
      } else if (code === "login_invalid") {
        state.customerToken = null;
        showNotice(TEXT.loginInvalid);
        socket.connect();
      } else {
        setStatus(TEXT.reconnecting, "reconnecting");
      }
    });
    socket.on("disconnect", function (reason) {
      setStatus(TEXT.reconnecting, "reconnecting");
      typing.hidden = true;
      if (reason === "io server disconnect") socket.connect();
    });
    socket.on("session_confirm", function (data) {
      localStorage.setItem(config.storageKey, data.token);
      root.setAttribute("data-conversation", data.conversation_id);
    });
    socket.on("history", function (data) {
      log.textContent = "";
      state.seen = {};
      var unread = state.unread;
      if (!data.messages.length) render({ id: "greeting", role: "bot", text: config.greeting });
      data.messages.forEach(render);
      setUnread(unread);
    });
    ["bot_uttered", "user_echo", "handoff"].forEach(function (event) { socket.on(event, render); });
    socket.on("rated", function (message) { rating.hidden = true; render(message); });  // any tab rated
    socket.on("bot_typing", function (data) {
      // An agent in the workspace is typing: say who, instead of the assistant.
      typingText.textContent = data.agent_name ? TEXT.agentTyping(data.agent_name) : TEXT.typing;
      typing.hidden = !data.on;
    });
    socket.on("rating_request", function () { rating.show(); });
    socket.on("notice", function (data) { showNotice(data.notice); });
  }

  function setOpen(open) {
    state.open = open;
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", String(open));
    root.classList.toggle("xh-is-open", open);
    if (open) { setUnread(0); input.focus(); log.scrollTop = log.scrollHeight; } else { launcher.focus(); }
  }

  launcher.addEventListener("click", function () { setOpen(!state.open); });
  closeButton.addEventListener("click", function () { setOpen(false); });
  rateButton.addEventListener("click", function () { rating.show(); });
  panel.addEventListener("keydown", function (e) { if (e.key === "Escape") setOpen(false); });
  form.addEventListener("submit", function (e) { e.preventDefault(); send(input.value); });
  input.addEventListener("input", function () { customerTyping(Boolean(input.value.trim())); });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(input.value); }
  });

  function loadScript(src, done) {
    var tag = document.createElement("script");
    tag.src = src;
    tag.onload = done;
    document.head.appendChild(tag);
  }

  function start() {
    document.head.appendChild(el("link", { rel: "stylesheet", href: base + "widget.css" }));
    document.body.appendChild(root);
    setStatus(TEXT.connecting, "connecting");
    if (window.io) connect(); else loadScript(base + "socket.io.min.js", connect);
    if (config.openOnLoad) setOpen(true);
  }

  window.XingheChat = { open: function () { setOpen(true); }, close: function () { setOpen(false); } };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
