// livetrain in the page: keeps each plot's Bokeh document and draws it into every element marked
// data-livetrain-plot="<plot id>", whenever such an element appears. Two ways in:
// - widget(model): livetrain's widget channel (anywidget). The model holds the whole document; updates follow
//   as custom messages, one per update (patch JSON and buffers together). Views are drawn from the page's copy
//   of the whole document, so one that appears late, or while updates stream, starts from the current state.
// - listen(key, plot): registers the comm target "livetrain" through the kernel handle jupyter_bokeh gives
//   the script of the output with id `key` (or through the classic Notebook's kernel). A reloaded page cannot ask
//   a busy kernel anything, but the kernel can open comms to it: about once a second it announces each plot's
//   whole document that way. A page where the plot is live (pushes or the widget) ignores the announcements,
//   unless it missed an update: then it takes the next announcement, and follows announcements from then on.
// Healing: an announcement says how many updates preceded it (`seq`: pushes, or widget messages). A page that
// applied fewer pushes than that (the server drops messages when its IOPub rate limit is exceeded; announcements,
// being comm openings, are never dropped) or that saw a gap in the widget's sequence numbers draws the announced
// state instead. The end of a run is announced once more with `final`, which every page not live takes.
(() => {
  if (globalThis.__livetrain) return;

  function bokeh(timeout_ms = 30000) {
    return new Promise((resolve, reject) => {
      const start = Date.now();
      const poll = () => {
        if (globalThis.Bokeh?.require && globalThis.Bokeh?.embed) return resolve(globalThis.Bokeh);
        if (Date.now() - start > timeout_ms) return reject(new Error("livetrain: BokehJS never loaded in this page"));
        setTimeout(poll, 50);
      };
      poll();
    });
  }

  // An ArrayBuffer holding exactly the bytes of a buffer or of a view (which may look into a larger buffer).
  const bytes = (b) => (b instanceof ArrayBuffer ? b : b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const refs = (ids, buffers, skip = 0) => new Map(ids.map((id, i) => [id, bytes(buffers[i + skip])]));

  // One plot: its current document (`master`, never drawn) and one drawn copy per marked element.
  class Plot {
    constructor(id) {
      this.id = id;
      this.live = null; // "push" or "widget" when this page gets every update; null for announcements only
      this.pushed = null; // the Bokeh document pushes go to, and how many it applied: {doc, applied}
      this.gap = false; // the widget channel skipped an update: the next full state is taken
      this.model = null;
      this.seq = null;
      this.master = null;
      this.views = new Map(); // element -> its own Document (BokehJS draws a document once)
      this.queue = Promise.resolve();
    }

    then(work) {
      this.queue = this.queue.then(work).catch((err) => console.error("livetrain:", err));
      return this.queue;
    }

    // The document `json`, brought up to date by `patch` (if any): the state after update number `seq`.
    async load(json, seq, patch = null, buffers = new Map()) {
      const B = await bokeh();
      this.master = B.require("document").Document.from_json(JSON.parse(json));
      if (patch !== null) this.master.apply_json_patch(JSON.parse(patch), buffers);
      this.seq = seq;
      for (const el of [...this.views.keys()]) await this.draw(el);
      this.scan();
    }

    // Draw the current state into `el`: over the old drawing, which goes once the new one is there.
    async draw(el) {
      const B = await bokeh();
      const old = this.views.get(el);
      const doc = B.require("document").Document.from_json(this.master.to_json());
      const host = document.createElement("div");
      host.className = "livetrain-view";
      el.style.position = "relative";
      const over = old ? "position:absolute;top:0;left:0;" : "";
      host.setAttribute("style", over);
      el.append(host);
      await B.embed.add_document_standalone(doc, host);
      for (const child of [...el.children]) if (child !== host) child.remove();
      host.setAttribute("style", "");
      if (old) this.forget(old);
      this.views.set(el, doc);
      B.documents.push(doc);
    }

    forget(doc) {
      const docs = globalThis.Bokeh.documents, i = docs.indexOf(doc);
      if (i >= 0) docs.splice(i, 1);
    }

    apply(patch, buffers) {
      this.master.apply_json_patch(JSON.parse(patch), buffers);
      for (const [el, doc] of [...this.views]) {
        if (!el.isConnected) {
          this.views.delete(el);
          this.forget(doc);
        } else if (doc !== null) {
          doc.apply_json_patch(JSON.parse(patch), buffers);
        }
      }
    }

    // Draw into the marked elements not drawn yet (new outputs, or the outputs of a reloaded page).
    scan() {
      if (this.master === null) return;
      for (const el of document.querySelectorAll(`[data-livetrain-plot="${CSS.escape(this.id)}"]`)) {
        if (!this.views.has(el)) {
          this.views.set(el, null);
          this.then(() => this.draw(el));
        }
      }
    }
  }

  const plots = new Map();
  const plot = (id) => plots.get(id) ?? plots.set(id, new Plot(id)).get(id);

  let observer = null;
  function watch() {
    if (observer !== null) return;
    let pending = false;
    observer = new MutationObserver(() => {
      if (pending) return;
      pending = true;
      requestAnimationFrame(() => {
        pending = false;
        for (const p of plots.values()) if (p.live !== "push") p.scan();
      });
    });
    observer.observe(document.body, {childList: true, subtree: true});
  }

  function widget(model) {
    const p = plot(model.get("plot"));
    p.live = "widget";
    // the channel's state: at first, and at the end of the run (a page that missed a message is healed by it)
    const take = (always) => p.then(async () => {
      p.model = model;
      const seq = model.get("seq");
      if ((always && p.seq !== seq) || p.master === null || seq > p.seq) {
        p.gap = false;
        await p.load(model.get("doc"), seq);
      }
    });
    take(true);
    model.on("change:seq", () => take(false));
    watch();
    model.on("msg:custom", (msg, buffers) => {
      p.then(() => {
        if (p.model !== model || msg.seq <= p.seq) return;
        if (msg.seq !== p.seq + 1) {
          p.gap = true; // a message was lost: wait for the next full state
          return;
        }
        p.apply(new TextDecoder().decode(buffers[0]), refs(msg.buffers, buffers, 1));
        p.seq = msg.seq;
      });
    });
  }

  // Whether a page where the plot is live missed an update that this announcement's state holds: for pushes, fewer
  // applied than sent, or a data source whose length differs (a receiver out of step may apply garbage).
  function missed(p, data) {
    if (p.live === "widget") return p.gap && data.seq > (p.seq ?? -1);
    if (p.pushed === null || p.pushed.applied < data.seq) return true;
    return Object.entries(data.rows ?? {}).some(([id, n]) => {
      const source = p.pushed.doc.get_model_by_id(id);
      return source != null && (source.get_length() ?? 0) !== n;
    });
  }

  function announced(data, buffers) {
    const p = plot(data.plot);
    if (data.mode === "push") p.live = "push";
    if (data.doc === undefined || (p.live !== null && !missed(p, data))) return;
    if (p.live === "push") {
      // its pushes are broken for good (Bokeh's receiver may be out of step): from now on, announcements
      p.live = null;
      if (p.pushed !== null) p.forget(p.pushed.doc);
    }
    p.gap = false;
    watch();
    p.then(() => (p.seq === data.seq && !data.final ? null
      : p.load(data.doc, data.seq, data.patch, refs(data.buffers, buffers))));
  }

  // jupyter_bokeh's kernel handle does nothing while the page's session is not connected yet (as in a page
  // just reloaded), and says nothing either, so the target is registered again ten times a second.
  const handles = new Set();
  let ticking = false;
  function register() {
    const handler = (comm, msg) => announced(msg.content.data, msg.buffers ?? []);
    for (const kernel of handles) kernel.registerCommTarget("livetrain", handler);
    globalThis.Jupyter?.notebook?.kernel?.comm_manager?.register_target("livetrain", handler);
  }

  // The page where a pushed plot is live is the one where its Bokeh document gets streamed or patched (a
  // reloaded page draws the saved document, which nothing changes). Told also by the kernel's "push" comm;
  // either way, announcements are then ignored here, unless they show that a push was lost. Pushes are
  // counted from the start: the document is made by the same output's script, just before this runs.
  function pushed(key, id, tries = 300) {
    const doc = globalThis.Bokeh?.documents?.find((d) => d.roots().some((root) => root.id === key));
    if (!doc) {
      if (tries > 0) setTimeout(() => pushed(key, id, tries - 1), 100);
      return;
    }
    const p = plot(id), state = {doc, applied: 0}, apply = doc.apply_json_patch;
    if (p.pushed === null) p.pushed = state;
    doc.apply_json_patch = function (...args) {
      const out = apply.apply(this, args);
      state.applied++;
      return out;
    };
    doc.on_change((event) => {
      if (p.live === null && p.master === null && ("rollover" in event || "patches" in event)) p.live = "push";
    });
  }

  function listen(key, id) {
    const kernel = globalThis.Bokeh?.embed?.kernels?.[key];
    if (kernel) handles.add(kernel);
    register();
    if (!ticking) {
      ticking = true;
      setInterval(register, 100);
    }
    pushed(key, id);
  }

  globalThis.__livetrain = {plots, widget, listen};
})();
