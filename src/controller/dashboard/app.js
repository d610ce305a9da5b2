// pathsteer fleet dashboard: plain JavaScript, canvas for the matrix, port
// strip, status history and timeline, uPlot for time series. Data comes from
// the controller's JSON API; the SSE stream says when to refresh (tick) and
// pushes failovers as they happen. Every panel shows the age of its data and
// is marked stale past the controller's stale-after.
/* global uPlot */
'use strict';

(() => {
  const STATUS_COLORS = {
    none: '#15181d',
    ok: '#2fa35a',
    pending: '#4a6fa5',
    warn: '#e0a526',
    stale: '#6b6f76',
    bad: '#e03131',
    down: '#8b0000',
  };
  const PORT_COLORS = {
    preferred: '#2fa35a',
    healthy: '#1d6b3b',
    suspect: '#e0a526',
    bad: '#e03131',
    unknown: '#3a3f48',
  };
  const $ = (id) => document.getElementById(id);
  const state = {
    staleAfter: 5000,
    skew: 0, // server clock - browser clock (ms)
    matrix: null,
    worst: null,
    tiles: null,
    pairSel: null, // {src, dst}
    pairData: null,
    worstFilter: null, // {src_group, dst_group}
    failovers: [], // newest first
    failoverIds: new Set(),
    ages: {}, // panel -> generated_at (server ms)
    altpath: null,
    ranker: null,
    refreshing: false,
    refreshAgain: false,
    lastTick: 0,
    readOnly: false,
  };
  // render timings, read by the benchmark (bench/fleet.ts) and the browser test
  const perf = (window.__psPerf = { refreshes: [], ready: false });

  // a token given as ?token= was turned into a cookie by the controller; keep it out of the address bar
  if (location.search.includes('token=')) history.replaceState(null, '', location.pathname);

  async function api(path) {
    const t0 = Date.now();
    const r = await fetch(`api/v1/${path}`, { credentials: 'same-origin', cache: 'no-store' });
    const serverNow = Number(r.headers.get('x-server-time'));
    if (serverNow) state.skew = serverNow - (t0 + Date.now()) / 2;
    if (!r.ok) {
      const e = new Error(`${path}: HTTP ${r.status}`);
      e.status = r.status;
      throw e;
    }
    return r.json();
  }

  const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
  const pct = (x) => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1)}%`);
  const ms = (x) => (x === null || x === undefined ? '–' : x >= 100 ? `${Math.round(x)} ms` : `${(+x).toFixed(x < 1 ? 2 : 1)} ms`);
  const ago = (m) => (m < 1000 ? `${Math.round(m)} ms` : m < 120000 ? `${(m / 1000).toFixed(1)} s` : m < 7200000 ? `${Math.round(m / 60000)} min` : `${Math.round(m / 3600000)} h`);
  const serverNow = () => Date.now() + state.skew;
  const fmtTime = (t) => new Date(t).toLocaleTimeString([], { hour12: false });
  const st = (s) => `<span class="st" style="background:${STATUS_COLORS[s] || '#444'}">${esc(s)}</span>`;

  // ---- data age on every view -------------------------------------------------
  function setAge(panel, generatedAt, staleAfter = state.staleAfter) {
    state.ages[panel] = { at: generatedAt, staleAfter };
  }
  function renderAges() {
    const now = serverNow();
    for (const [panel, a] of Object.entries(state.ages)) {
      const el = $(`age-${panel}`);
      if (!el) continue;
      if (!a.at) {
        el.textContent = 'no data yet';
        continue;
      }
      const age = Math.max(0, now - a.at);
      const stale = age > a.staleAfter;
      el.textContent = `${stale ? 'STALE · ' : ''}data ${ago(age)} old`;
      el.classList.toggle('stale', stale);
      const sec = document.querySelector(`[data-panel="${panel}"]`);
      if (sec) {
        sec.classList.toggle('stale', stale);
        sec.dataset.ageMs = String(Math.round(age));
      }
    }
    $('clock').textContent = new Date(now).toLocaleTimeString([], { hour12: false });
  }

  // ---- tiles --------------------------------------------------------------------
  function tile(id, value, sub, alert) {
    const el = $(id);
    el.querySelector('.value').textContent = value;
    el.querySelector('.sub').textContent = sub || '';
    el.classList.toggle('alert', !!alert);
  }
  function renderTiles(t) {
    state.tiles = t;
    tile('tile-agents', `${t.agents_fresh} / ${t.agents}`, 'fresh / known');
    tile('tile-rate', `${t.probe_rate_pps.toLocaleString()}/s`, `${t.pairs.toLocaleString()} host-peer pairs`);
    tile('tile-loss', pct(t.loss), 'mean over fresh pairs, last interval', t.loss >= 0.005);
    tile('tile-failovers', String(t.failovers_1h), 'entries that lost healthy ports', t.failovers_1h > 0);
    tile('tile-stale', String(t.agents_stale), `silent > ${ago(t.stale_after_ms)}`, t.agents_stale > 0);
    tile('tile-bad', String(t.pairs_bad), 'bad or down', t.pairs_bad > 0);
    state.staleAfter = t.stale_after_ms;
    setAge('tiles', t.generated_at);
    const s = $('store');
    s.textContent = t.store_ok ? 'store: ok' : `store: ${t.store_error || 'unreachable'}`;
    s.className = `badge ${t.store_ok ? 'ok' : 'bad'}`;
  }

  /** Size a canvas to w x h CSS pixels at the device pixel ratio; returns its 2D context in CSS pixels. */
  function sizeCanvas(cv, w, h) {
    const dpr = window.devicePixelRatio || 1;
    cv.width = Math.round(w * dpr);
    cv.height = Math.round(h * dpr);
    cv.style.width = `${w}px`;
    cv.style.height = `${h}px`;
    const ctx = cv.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    return { ctx, dpr };
  }

  // ---- matrix -------------------------------------------------------------------
  const layout = { n: 0, cell: 0, ox: 0, oy: 0 };
  function renderMatrix(m) {
    state.matrix = m;
    setAge('matrix', m.generated_at);
    $('tooltip').classList.add('hidden'); // its text was about the old data
    const cv = $('matrix');
    const n = m.labels.length;
    const showLabels = n <= 64;
    const maxLen = showLabels ? Math.max(4, ...m.labels.map((l) => l.length)) : 0;
    const labelW = showLabels ? Math.min(150, 10 + 6.5 * maxLen) : 0;
    const wrapW = cv.parentElement.clientWidth || 600;
    const cell = Math.max(2, Math.min(40, Math.floor((wrapW - labelW - 4) / Math.max(n, 1))));
    const w = Math.max(200, labelW + cell * n + 2);
    const h = Math.max(60, labelW + cell * n + 2);
    const { ctx, dpr } = sizeCanvas(cv, w, h);
    ctx.fillStyle = '#181b21';
    ctx.fillRect(0, 0, w, h);
    const ox = labelW;
    const oy = labelW;
    Object.assign(layout, { n, cell, ox, oy });
    const gap = cell >= 6 ? 1 : 0;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < n; c++) {
        const k = r * n + c;
        const s = m.statuses[m.status[k]];
        ctx.fillStyle = STATUS_COLORS[s] || '#444';
        ctx.fillRect(ox + c * cell, oy + r * cell, cell - gap, cell - gap);
      }
    }
    if (showLabels) {
      ctx.fillStyle = '#aab2c0';
      ctx.font = `${Math.min(12, Math.max(9, cell - 2))}px system-ui, sans-serif`;
      ctx.textBaseline = 'middle';
      ctx.textAlign = 'right';
      m.labels.forEach((l, i) => ctx.fillText(l, ox - 4, oy + i * cell + cell / 2));
      ctx.save();
      ctx.textAlign = 'left';
      m.labels.forEach((l, i) => {
        ctx.save();
        ctx.translate(ox + i * cell + cell / 2, oy - 4);
        ctx.rotate(-Math.PI / 2);
        ctx.fillText(l, 0, 0);
        ctx.restore();
      });
      ctx.restore();
    }
    // geometry for tests and tooling: the cell of (row i, column j) starts at (ox + j*cell, oy + i*cell) CSS px
    Object.assign(cv.dataset, { by: m.by, n: String(n), cell: String(cell), ox: String(ox), oy: String(oy), dpr: String(dpr), generatedAt: String(m.generated_at) });
    cv.dataset.labels = n <= 256 ? JSON.stringify(m.labels) : '';
    $('matrix-note').textContent =
      m.by === 'group' ? `${m.hosts.toLocaleString()} hosts rolled up into ${n} groups (worst pair per cell); click a cell for its worst pairs` : `${n} hosts / peers; click a cell for its paths`;
  }
  function renderLegend() {
    $('legend').innerHTML = Object.entries(STATUS_COLORS)
      .map(([k, c]) => `<span><i style="background:${c}"></i>${k === 'none' ? 'no pair' : k}</span>`)
      .join('');
    $('strip-legend').innerHTML = Object.entries(PORT_COLORS)
      .map(([k, c]) => `<span><i style="background:${c}"></i>${k}</span>`)
      .join('');
  }
  function cellAt(ev) {
    const cv = $('matrix');
    const rect = cv.getBoundingClientRect();
    const x = ev.clientX - rect.left - layout.ox;
    const y = ev.clientY - rect.top - layout.oy;
    if (x < 0 || y < 0 || !state.matrix) return null;
    const c = Math.floor(x / layout.cell);
    const r = Math.floor(y / layout.cell);
    if (r >= layout.n || c >= layout.n) return null;
    return { r, c, k: r * layout.n + c };
  }
  function onMatrixMove(ev) {
    const tip = $('tooltip');
    const at = cellAt(ev);
    const m = state.matrix;
    if (!at || !m || !m.status[at.k]) {
      tip.classList.add('hidden');
      return;
    }
    const s = m.statuses[m.status[at.k]];
    tip.textContent = `${m.labels[at.r]} → ${m.labels[at.c]}\n${s}${m.by === 'group' ? ` · ${m.count[at.k]} pairs, ${m.bad[at.k]} bad` : ''}\nloss ${pct(m.loss[at.k])} · RTT p50 ${ms(m.rtt_p50_ms[at.k])}`;
    tip.style.left = `${ev.offsetX + 14}px`;
    tip.style.top = `${ev.offsetY + 10}px`;
    tip.classList.remove('hidden');
  }
  function onMatrixClick(ev) {
    const at = cellAt(ev);
    const m = state.matrix;
    if (!at || !m || !m.status[at.k]) return;
    if (m.by === 'host') selectPair(m.labels[at.r], m.labels[at.c]);
    else {
      state.worstFilter = { src_group: m.labels[at.r], dst_group: m.labels[at.c] };
      loadWorst();
    }
  }

  // ---- worst pairs ----------------------------------------------------------------
  function renderWorst(w) {
    state.worst = w;
    setAge('worst', w.generated_at);
    const rows = w.pairs.map((p) => {
      const sel = state.pairSel && state.pairSel.src === p.src && (state.pairSel.dst === p.dst || state.pairSel.dst === p.dst_vtep);
      return `<tr data-src="${esc(p.src)}" data-dst="${esc(p.dst)}" data-status="${p.status}" class="${sel ? 'selected' : ''}"><td>${esc(p.src)}</td><td>${esc(p.dst)}${p.dst !== p.dst_vtep ? ` <span class="muted">${esc(p.dst_vtep)}</span>` : ''}</td><td>${st(p.status)}</td><td>${pct(p.loss)}</td><td>${ms(p.rtt_p50_ms)} / ${ms(p.rtt_p99_ms)}</td><td>${ms(p.baseline_ms)}</td><td>${p.healthy}/${p.nports}</td><td>${ago(p.age_ms)}</td></tr>`;
    });
    $('worst').querySelector('tbody').innerHTML = rows.join('') || '<tr><td colspan="8" class="empty">no pairs reported yet</td></tr>';
    const f = state.worstFilter;
    $('worst-filter').textContent = f ? `pairs from ${f.src_group} to ${f.dst_group}` : 'all pairs, worst first';
    $('worst-clear').classList.toggle('hidden', !f);
  }
  async function loadWorst() {
    const f = state.worstFilter;
    const q = f ? `worst?limit=50&src_group=${encodeURIComponent(f.src_group)}&dst_group=${encodeURIComponent(f.dst_group)}` : 'worst?limit=20';
    renderWorst(await api(q));
  }

  // ---- one pair: port strip, status history, series --------------------------------
  let pairChart = null;
  function selectPair(src, dst) {
    state.pairSel = { src, dst };
    loadPair().catch(() => undefined);
    if (state.worst) renderWorst(state.worst);
  }
  async function loadPair() {
    const sel = state.pairSel;
    if (!sel) return;
    let d;
    try {
      d = await api(`pair?src=${encodeURIComponent(sel.src)}&dst=${encodeURIComponent(sel.dst)}`);
    } catch (e) {
      if (e.status === 404) $('pair-title').textContent = `${sel.src} → ${sel.dst}: not reported`;
      return;
    }
    state.pairData = d;
    renderPair(d);
  }
  function renderPair(d) {
    setAge('pair', d.generated_at);
    const p = d.pair;
    $('pair-body').classList.remove('hidden');
    $('pair-title').innerHTML = `${esc(p.src)} → ${esc(p.dst)} <span class="muted">(${esc(p.dst_vtep)}, ports ${d.summary.base_port}–${d.summary.base_port + d.summary.nports - 1})</span> ${st(p.status)}`;
    // the strip: one cell per candidate port
    const cv = $('strip');
    const n = d.ports.length;
    const width = Math.max(300, cv.parentElement.clientWidth - 4);
    const cell = Math.max(6, Math.min(28, Math.floor(width / Math.max(n, 1))));
    const w = cell * n;
    const h = 36;
    const { ctx, dpr } = sizeCanvas(cv, w, h);
    ctx.clearRect(0, 0, w, h);
    d.ports.forEach((port, i) => {
      ctx.fillStyle = PORT_COLORS[port.state] || '#444';
      ctx.fillRect(i * cell, 0, cell - 1, 24);
      if (cell >= 18 || i % 8 === 0) {
        ctx.fillStyle = '#8a93a3';
        ctx.font = '9px system-ui, sans-serif';
        ctx.fillText(String(port.port % 1000), i * cell + 1, 34);
      }
    });
    Object.assign(cv.dataset, { nports: String(n), cell: String(cell), dpr: String(dpr), states: d.ports.map((x) => x.state).join(','), src: p.src, dst: p.dst });
    // status history: rows of 5 s, newest on top; each port's state from its events
    const hc = $('strip-history');
    const rows = 60;
    const rowH = 4;
    const hx = sizeCanvas(hc, w, rows * rowH).ctx;
    hx.fillStyle = '#15181d';
    hx.fillRect(0, 0, w, rows * rowH);
    const byIdx = new Map();
    for (const e of d.history) {
      if (!byIdx.has(e.idx)) byIdx.set(e.idx, []);
      byIdx.get(e.idx).push(e);
    }
    const now = d.generated_at;
    d.ports.forEach((port, i) => {
      const evs = (byIdx.get(i) || []).sort((a, b) => a.at - b.at);
      const cur = port.state === 'bad' ? 'bad' : port.state === 'unknown' ? 'unknown' : 'healthy';
      for (let r = 0; r < rows; r++) {
        const t = now - r * 5000;
        let s;
        let last = null;
        for (const e of evs) if (e.at <= t) last = e;
        if (last) s = last.healthy ? 'healthy' : 'bad';
        // before the first change kept: healthy before it went bad, bad before it recovered, otherwise unknown
        else if (evs.length) s = !evs[0].healthy ? 'healthy' : evs[0].reason === 'recovered' ? 'bad' : 'unknown';
        else s = cur;
        // a change inside this row shows as bad (a flap is worth seeing)
        if (evs.some((e) => e.at > t - 5000 && e.at <= t && !e.healthy)) s = 'bad';
        hx.fillStyle = PORT_COLORS[s];
        hx.fillRect(i * cell, r * rowH, cell - 1, rowH - (rowH > 2 ? 1 : 0));
      }
    });
    const fo = d.failovers.length ? d.failovers[d.failovers.length - 1] : null;
    $('pair-summary').innerHTML = `loss ${pct(p.loss)} · RTT p50 ${ms(p.rtt_p50_ms)} (baseline ${ms(p.baseline_ms)}) · p99 ${ms(p.rtt_p99_ms)} · healthy ${p.healthy}/${p.nports} · ${d.history.length} port changes kept${fo ? ` · last failover ${fmtTime(fo.at)}: ports ${fo.ports_down.join(',')} down, detect ${ms(fo.detect_ms)}, moved ${ms(fo.moved_ms)}` : ''}`;
    // RTT and loss over the controller's recent polls
    const s = d.series;
    const data = [s.t.map((t) => t / 1000), s.rtt_p50_ms, s.rtt_p99_ms, s.loss.map((x) => (x === null ? null : x * 100))];
    if (!pairChart) {
      pairChart = new uPlot(
        {
          width: Math.max(300, $('pair-chart').clientWidth || 600),
          height: 160,
          scales: { loss: { range: [0, 100] } },
          series: [{}, { label: 'RTT p50 (ms)', stroke: '#4ea1ff' }, { label: 'RTT p99 (ms)', stroke: '#a07bff' }, { label: 'loss %', stroke: '#e03131', scale: 'loss' }],
          axes: [{ stroke: '#8a93a3', grid: { stroke: '#2a2f38' } }, { stroke: '#8a93a3', size: 70, grid: { stroke: '#2a2f38' } }, { side: 1, scale: 'loss', stroke: '#e03131', grid: { show: false } }],
        },
        data,
        $('pair-chart'),
      );
    } else pairChart.setData(data);
  }

  // ---- failover timeline -------------------------------------------------------------
  function addFailovers(evs, fresh) {
    let added = false;
    for (const e of evs) {
      if (e.type !== 'failover' || state.failoverIds.has(e.id)) continue;
      state.failoverIds.add(e.id);
      state.failovers.push({ ...e, fresh });
      added = true;
    }
    if (!added) return;
    state.failovers.sort((a, b) => b.at - a.at || (a.id < b.id ? 1 : -1));
    if (state.failovers.length > 500) {
      for (const x of state.failovers.splice(500)) state.failoverIds.delete(x.id);
    }
    renderTimeline();
  }
  function renderTimeline() {
    setAge('timeline', state.timelineAt || serverNow(), 3600000);
    const cv = $('timeline');
    const w = Math.max(300, cv.parentElement.clientWidth - 4);
    const h = 60;
    const { ctx } = sizeCanvas(cv, w, h);
    ctx.fillStyle = '#15181d';
    ctx.fillRect(0, 0, w, h);
    const now = serverNow();
    const span = 3600000;
    ctx.fillStyle = '#8a93a3';
    ctx.font = '10px system-ui, sans-serif';
    for (let m = 0; m <= 60; m += 10) {
      const x = w - (m * 60000 * w) / span;
      ctx.fillRect(x, 44, 1, 4);
      ctx.fillText(m === 0 ? 'now' : `-${m} min`, Math.min(w - 24, Math.max(0, x - 12)), 58);
    }
    let inHour = 0;
    for (const f of state.failovers) {
      const age = now - f.at;
      if (age > span) continue;
      inHour++;
      const x = w - (age * w) / span;
      const down = f.data.ports_down.length;
      const hh = Math.min(40, 8 + 4 * down);
      ctx.fillStyle = f.data.healthy_after === 0 ? STATUS_COLORS.down : STATUS_COLORS.bad;
      ctx.fillRect(Math.max(0, x - 2), 42 - hh, 3, hh);
    }
    cv.dataset.count = String(inHour);
    const rows = state.failovers.slice(0, 100).map((f) => {
      const d = f.data;
      return `<tr data-failover-id="${esc(f.id)}" data-host="${esc(f.host)}" data-peer="${esc(d.peer)}" data-at="${f.at}" data-ports-down="${d.ports_down.length}" class="${f.fresh ? 'new-row' : ''}"><td>${fmtTime(f.at)}</td><td>${esc(f.host)}</td><td>${esc(d.peer)}</td><td>${d.ports_down.length} (${esc(d.ports_down.slice(0, 6).join(','))}${d.ports_down.length > 6 ? ',…' : ''})</td><td>${d.healthy_before}→${d.healthy_after}/${d.nports}</td><td>${ms(d.detect_ms)}</td><td>${ms(d.write_ms)}</td><td>${d.moved_ms === null ? '<span class="muted">no flow</span>' : ms(d.moved_ms)}</td><td>${d.flows_moved}</td></tr>`;
    });
    $('failovers').querySelector('tbody').innerHTML = rows.join('') || '<tr><td colspan="9" class="empty">no failovers recorded</td></tr>';
    for (const f of state.failovers) f.fresh = false;
  }
  async function loadTimeline() {
    const r = await api('events?limit=500');
    state.timelineAt = r.generated_at;
    addFailovers(r.events, false);
    renderTimeline();
  }

  // ---- fleet series -------------------------------------------------------------------
  let fleetChart = null;
  function renderSeries(s) {
    setAge('series', s.generated_at);
    const data = [s.t.map((t) => t / 1000), s.probe_rate_pps, s.loss.map((x) => x * 100)];
    if (!fleetChart) {
      fleetChart = new uPlot(
        {
          width: Math.max(300, $('fleet-chart').clientWidth || 500),
          height: 180,
          scales: { loss: { range: (u, min, max) => [0, Math.max(1, max)] } },
          series: [{}, { label: 'probes/s', stroke: '#4ea1ff' }, { label: 'loss %', stroke: '#e03131', scale: 'loss' }],
          axes: [{ stroke: '#8a93a3', grid: { stroke: '#2a2f38' } }, { stroke: '#8a93a3', size: 70, grid: { stroke: '#2a2f38' } }, { side: 1, scale: 'loss', stroke: '#e03131', grid: { show: false } }],
        },
        data,
        $('fleet-chart'),
      );
    } else fleetChart.setData(data);
  }

  // ---- AltPath and ranker ----------------------------------------------------------------
  // route table per prefix (BGP best in main, an alternate per DSCP table, the override),
  // samples and SRTT per route, overrides with their age; rows carry data-* for tests
  function renderAltPath(a) {
    state.altpath = a;
    state.altpathAt = Date.now();
    const body = $('altpath-body');
    if (!a.reporter && a.routes.length === 0 && a.overrides.length === 0) {
      state.ages.altpath = { at: 0, staleAfter: a.stale_after_ms };
      body.innerHTML = '<div class="empty" id="altpath-empty">no AltPath controller reporting (pathsteer altpath controller --redis URL)</div>';
      return;
    }
    setAge('altpath', a.last_seen || 0, a.stale_after_ms);
    const now = serverNow();
    const byPrefix = new Map();
    for (const r of a.routes) {
      if (!byPrefix.has(r.prefix)) byPrefix.set(r.prefix, []);
      byPrefix.get(r.prefix).push(r);
    }
    const ov = new Map(a.overrides.map((o) => [o.prefix, o]));
    for (const o of a.overrides) if (!byPrefix.has(o.prefix)) byPrefix.set(o.prefix, []);
    // overridden prefixes first, then by prefix
    const prefixes = [...byPrefix.keys()].sort((x, y) => Number(ov.has(y)) - Number(ov.has(x)) || x.localeCompare(y, undefined, { numeric: true }));
    const m = a.meta;
    const tableName = (r) => r.table || (r.dscp === 0 ? 'main' : `dscp:${r.dscp}`);
    const rows = prefixes
      .map((p) => {
        const rs = byPrefix.get(p).sort((x, y) => x.rank - y.rank);
        const o = ov.get(p);
        const head = `<tr class="ap-prefix" data-prefix="${esc(p)}"><td colspan="9"><b>${esc(p)}</b> ${
          o
            ? `<span class="st ap-ov" style="background:#b06d00">override</span> default traffic via ${esc(o.next_hop)}, ${ms(o.gain_ms)} faster, <span class="ap-ov-age" data-at="${o.at}">${ago(Math.max(0, now - o.at))} ago</span>${o.expires_at ? `, lapses in ${ago(Math.max(0, o.expires_at - now))}` : ''}`
            : '<span class="muted">BGP best in use</span>'
        }</td></tr>`;
        const lines = rs
          .map((r) => {
            const role = r.rank === 1 ? 'best' : `alt ${r.rank - 1}`;
            const on = r.override || (o && (o.route_id ? o.route_id === r.route_id : o.next_hop === r.next_hop && o.dscp === r.dscp));
            return `<tr class="ap-route${on ? ' ap-on' : ''}" data-prefix="${esc(r.prefix)}" data-dscp="${r.dscp}" data-table="${esc(tableName(r))}" data-override="${on ? 1 : 0}"><td></td><td>${role}</td><td>${esc(on ? 'override' : tableName(r))}</td><td>${r.dscp}</td><td>${esc(r.next_hop)}</td><td>${esc(r.as_path.join(' '))}${r.peer_asn !== null && r.peer_asn !== undefined ? ` <span class="muted">(AS${r.peer_asn})</span>` : ''}</td><td>${r.samples}</td><td>${ms(r.median_srtt_ms)} <span class="muted">/ ${ms(r.p90_srtt_ms)}</span></td><td>${pct(r.retrans_rate)}</td></tr>`;
          })
          .join('');
        return head + lines;
      })
      .join('');
    body.innerHTML = `<div class="muted">reported by <b>${esc(a.reporter || '?')}</b>${m ? ` · ${m.prefixes_reported} of ${m.prefixes} active prefixes · cycle ${ago(m.cycle_ms || 0)}${m.last_cycle ? `, last ${fmtTime(Date.parse(m.last_cycle))}` : ''} · DSCP ${esc((m.dscps || []).join(', '))}` : ''}</div>
      <table id="altpath-table"><thead><tr><th>prefix</th><th>route</th><th>table</th><th>DSCP</th><th>next hop</th><th>AS path</th><th>samples</th><th>median SRTT / p90</th><th>retrans</th></tr></thead><tbody>${rows}</tbody></table>
      <div class="ap-overrides" id="altpath-overrides">${
        a.overrides.length
          ? `overrides: ${a.overrides
              .map((o) => `<span class="ap-override" data-prefix="${esc(o.prefix)}">${esc(o.prefix)} → ${esc(o.next_hop)} (DSCP ${o.dscp} table; ${esc(o.reason)}; <span class="ap-ov-age" data-at="${o.at}">${ago(Math.max(0, now - o.at))} ago</span>)</span>`)
              .join('; ')}`
          : '<span class="muted">no overrides in force</span>'
      }</div>`;
  }
  // override ages tick between reports
  function renderAltPathAges() {
    const now = serverNow();
    for (const el of document.querySelectorAll('.ap-ov-age')) el.textContent = `${ago(Math.max(0, now - Number(el.dataset.at)))} ago`;
  }
  function renderRanker(r) {
    state.ranker = r;
    const body = $('ranker-body');
    if (!r.results.length) {
      state.ages.ranker = { at: 0, staleAfter: 86400000 };
      body.innerHTML = '<div class="empty" id="ranker-empty">no ranker results published (pathsteer rank SCENARIO --publish URL)</div>';
      return;
    }
    const x = r.results[0];
    setAge('ranker', x.at, 86400000);
    const gb = (v) => (v === null ? '–' : `${(v / 1e9).toFixed(2)}`);
    body.innerHTML = `<div><b>${esc(x.scenario)}</b>: best <b>${esc(x.best)}</b> <span class="muted">(${esc(x.comparator)}, ${x.samples} samples, ${x.seconds.toFixed(1)} s, ${fmtTime(x.at)})</span></div>
      <table id="ranker-table"><thead><tr><th>#</th><th>mitigation</th><th>99p FCT</th><th>1p tput Gb/s</th><th>avg tput Gb/s</th></tr></thead><tbody>
      ${x.candidates
        .slice(0, 8)
        .map((c) => `<tr><td>${c.rank}</td><td>${esc(c.name)}</td><td>${c.feasible ? ms(c.fct99 === null ? null : c.fct99 * 1000) : 'partitioned'}</td><td>${gb(c.tput1p)}</td><td>${gb(c.tputAvg)}</td></tr>`)
        .join('')}
      </tbody></table>
      ${r.results.length > 1 ? `<div class="muted">earlier: ${r.results.slice(1).map((y) => `${esc(y.scenario)} → ${esc(y.best)} (${fmtTime(y.at)})`).join('; ')}</div>` : ''}`;
  }
  const loadAltPath = async () => renderAltPath(await api('altpath'));
  const loadRanker = async () => renderRanker(await api('ranker?limit=5'));

  // ---- refresh cycle -------------------------------------------------------------------------
  async function refresh() {
    if (state.refreshing) {
      state.refreshAgain = true;
      return;
    }
    state.refreshing = true;
    const t0 = performance.now();
    try {
      const by = $('matrix-by').value;
      const [fleet, matrix, series] = await Promise.all([api('fleet'), api(`matrix?by=${by}`), api('series')]);
      const tf = performance.now();
      renderTiles(fleet);
      renderMatrix(matrix);
      renderSeries(series);
      await loadWorst();
      if (state.pairSel) await loadPair();
      renderAges();
      const tr = performance.now();
      await new Promise((r) => requestAnimationFrame(() => r()));
      const t1 = performance.now();
      perf.refreshes.push({ total_ms: t1 - t0, fetch_ms: tf - t0, render_ms: tr - tf, cells: matrix.labels.length ** 2, at: Date.now() });
      if (perf.refreshes.length > 200) perf.refreshes.shift();
      perf.ready = true;
    } catch (e) {
      $('store').textContent = `controller: ${e.message}`;
      $('store').className = 'badge bad';
    } finally {
      state.refreshing = false;
      if (state.refreshAgain) {
        state.refreshAgain = false;
        refresh();
      }
    }
  }

  function connect() {
    const es = new EventSource('api/v1/stream');
    const live = $('live');
    es.onopen = () => {
      live.textContent = 'live';
      live.className = 'badge ok';
    };
    es.onerror = () => {
      live.textContent = 'live: reconnecting';
      live.className = 'badge bad';
    };
    es.addEventListener('tick', (e) => {
      state.lastTick = Date.now();
      renderTiles(JSON.parse(e.data));
      refresh();
      if (Date.now() - (state.altpathAt || 0) > 2000) loadAltPath().catch(() => undefined);
    });
    es.addEventListener('failover', (e) => {
      addFailovers([JSON.parse(e.data)], true);
      state.timelineAt = serverNow();
      if (state.pairSel) loadPair().catch(() => undefined);
    });
    es.addEventListener('ranker', () => loadRanker().catch(() => undefined));
    es.addEventListener('altpath-override', () => loadAltPath().catch(() => undefined));
  }

  async function init() {
    renderLegend();
    $('matrix').addEventListener('mousemove', onMatrixMove);
    $('matrix').addEventListener('mouseleave', () => $('tooltip').classList.add('hidden'));
    $('matrix').addEventListener('click', onMatrixClick);
    $('worst').addEventListener('click', (ev) => {
      const tr = ev.target.closest('tr[data-src]');
      if (tr) selectPair(tr.dataset.src, tr.dataset.dst);
    });
    $('worst-clear').addEventListener('click', () => {
      state.worstFilter = null;
      loadWorst();
    });
    $('matrix-by').addEventListener('change', () => refresh());
    try {
      const cfg = await api('config');
      state.readOnly = cfg.read_only;
      state.staleAfter = cfg.stale_after_ms;
      $('mode').classList.toggle('hidden', !cfg.read_only);
    } catch (e) {
      $('store').textContent = e.status === 401 ? 'controller: token required (open /?token=…)' : `controller: ${e.message}`;
      $('store').className = 'badge bad';
      return;
    }
    await Promise.all([refresh(), loadTimeline().catch(() => undefined), loadAltPath().catch(() => undefined), loadRanker().catch(() => undefined)]);
    connect();
    setInterval(() => {
      renderAges();
      renderAltPathAges();
    }, 500);
    // without ticks (controller or store trouble) still refresh, so staleness shows
    setInterval(() => {
      if (Date.now() - state.lastTick > 3000) refresh();
    }, 3000);
    setInterval(() => {
      loadRanker().catch(() => undefined);
      renderTimeline();
    }, 10000);
    // AltPath reports come every few seconds (and the routes change without an event)
    setInterval(() => {
      if (Date.now() - (state.altpathAt || 0) > 2500) loadAltPath().catch(() => undefined);
    }, 3000);
  }
  init();
})();
