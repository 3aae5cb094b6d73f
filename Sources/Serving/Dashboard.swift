/// The live dashboard `byzsim serve` serves at `/dashboard`: one self-contained HTML page (no
/// external script, style or font) that polls `GET /v1/monitor` every two seconds with the
/// metrics token given in the page address's fragment (`/dashboard#token=…`: a fragment is
/// never sent to the server, so the token stays out of request logs) and draws, in SVG, the
/// request rate, the class mix (all predictions and the monitor's window), the accuracy of the
/// labels fed back, each detector's level against its alert line (the accuracy detectors of
/// `[feedback]` too), the alerts, and the served model's digest.
enum Dashboard {
  static let page: [UInt8] = Array(html.utf8)

  static let html = #"""
    <!doctype html>
    <html lang="en"><head><meta charset="utf-8"><title>byzsim serve — dashboard</title>
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <style>
    body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; background: #fafafa; }
    h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.05em; margin: 1.2em 0 .4em; }
    .row { display: flex; flex-wrap: wrap; gap: 2em; } .panel { background: #fff; border: 1px solid #ddd; padding: .8em 1em; }
    table { border-collapse: collapse; } td, th { padding: .2em .7em; text-align: left; border-bottom: 1px solid #eee; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; } .alert { color: #b00; font-weight: 600; }
    .ok { color: #080; } #status { color: #666; } code { font-size: 12px; }
    </style></head>
    <body>
    <h1>byzsim serve</h1>
    <div id="status">loading…</div>
    <div class="row">
      <div class="panel"><h2>Model</h2><div>version <code id="model">–</code></div><div id="spec"></div><div>up <span id="uptime">–</span> s</div>
        <div id="online" hidden>retrained online <span id="retrains">0</span> times</div></div>
      <div class="panel"><h2>Requests</h2><div><span id="rate">–</span> predictions/s · <span id="predictions">0</span> served</div>
        <svg id="rate-chart" width="360" height="90" role="img" aria-label="prediction rate, last two minutes"></svg>
        <div>labelled accuracy <span id="accuracy">–</span> · <span id="labels">0</span> labels fed back</div></div>
      <div class="panel"><h2>Class mix</h2><svg id="classes" width="360" height="130" role="img" aria-label="predicted classes"></svg>
        <div><span style="color:#4a7ab7">■</span> all predictions <span style="color:#e08a2c">■</span> monitor window</div></div>
    </div>
    <h2>Drift detectors</h2>
    <div class="panel"><table id="detectors"><thead><tr><th>detector</th><th>statistic</th><th>p-value</th><th>threshold</th>
      <th>level (alert at 1)</th><th>state</th><th>alerts</th><th>first alert at</th></tr></thead><tbody></tbody></table>
      <div id="no-monitor" hidden>No [monitor] in this deployment: the detectors are off.</div></div>
    <h2>Alerts</h2>
    <div class="panel"><ol id="alerts"></ol></div>
    <script>
    "use strict";
    const NS = "http://www.w3.org/2000/svg";
    const token = new URLSearchParams(location.hash.slice(1)).get("token");
    const history = [];
    function el(name, attrs, text) {
      const e = document.createElementNS(NS, name);
      for (const k in attrs) e.setAttribute(k, attrs[k]);
      if (text !== undefined) e.textContent = text;
      return e;
    }
    function fmt(x, digits) {
      if (x === null || x === undefined) return "–";
      if (typeof x === "string") return x;
      return Math.abs(x) >= 1e4 || (x !== 0 && Math.abs(x) < 1e-3) ? x.toExponential(2) : x.toFixed(digits);
    }
    function drawRate() {
      const svg = document.getElementById("rate-chart"); svg.replaceChildren();
      const w = 360, h = 90, top = Math.max(1, ...history.map(p => p.rate));
      svg.appendChild(el("line", {x1: 30, y1: h - 15, x2: w, y2: h - 15, stroke: "#999"}));
      svg.appendChild(el("text", {x: 0, y: 12, "font-size": 10}, fmt(top, 0)));
      svg.appendChild(el("text", {x: 0, y: h - 15, "font-size": 10}, "0"));
      svg.appendChild(el("text", {x: w - 80, y: h - 2, "font-size": 10}, "last 2 min"));
      if (history.length < 2) return;
      const t0 = history[history.length - 1].t - 120;
      const pts = history.map(p => [30 + (p.t - t0) / 120 * (w - 30), (h - 15) - p.rate / top * (h - 25)]);
      svg.appendChild(el("polyline", {points: pts.map(p => p.join(",")).join(" "), fill: "none", stroke: "#4a7ab7", "stroke-width": 2}));
    }
    function drawClasses(all, win) {
      const svg = document.getElementById("classes"); svg.replaceChildren();
      const n = all.length, w = 360, h = 130, bw = (w - 10) / n;
      const sa = all.reduce((a, b) => a + b, 0) || 1, sw = win ? win.reduce((a, b) => a + b, 0) || 1 : 1;
      const top = Math.max(0.05, ...all.map(c => c / sa), ...(win || []).map(c => c / sw));
      all.forEach((c, k) => {
        const fa = c / sa, ha = fa / top * (h - 25);
        svg.appendChild(el("rect", {x: 5 + k * bw + 2, y: h - 15 - ha, width: bw / 2 - 2, height: ha, fill: "#4a7ab7",
          "data-class": k, "data-count": c}));
        if (win) {
          const fw = win[k] / sw, hw = fw / top * (h - 25);
          svg.appendChild(el("rect", {x: 5 + k * bw + bw / 2, y: h - 15 - hw, width: bw / 2 - 2, height: hw, fill: "#e08a2c",
            "data-window-class": k, "data-count": win[k]}));
        }
        svg.appendChild(el("text", {x: 5 + k * bw + bw / 2 - 3, y: h - 2, "font-size": 10}, String(k)));
      });
    }
    function drawDetectors(readings) {
      const body = document.querySelector("#detectors tbody"); body.replaceChildren();
      for (const r of readings) {
        const tr = document.createElement("tr");
        tr.dataset.detector = r.detector; tr.dataset.alert = r.alert; tr.dataset.level = r.level;
        const cells = [r.detector, fmt(r.statistic, 4), fmt(r.p_value, 4), (r.p_value === null || r.p_value === undefined ? "" : "α = ") + fmt(r.threshold, 4)];
        for (const c of cells) { const td = document.createElement("td"); td.textContent = c; if (c !== r.detector) td.className = "num"; tr.appendChild(td); }
        const bar = document.createElement("td");
        const svg = el("svg", {width: 200, height: 16});
        const lv = typeof r.level === "number" ? Math.max(0, r.level) : 0, scale = 200 / 2;
        svg.appendChild(el("rect", {x: 0, y: 3, width: Math.min(200, lv * scale), height: 10, fill: r.alert ? "#c33" : "#4a7ab7"}));
        svg.appendChild(el("line", {x1: scale, y1: 0, x2: scale, y2: 16, stroke: "#000", "stroke-dasharray": "2,2"}));
        svg.appendChild(el("title", {}, "level " + fmt(lv, 3)));
        bar.appendChild(svg); tr.appendChild(bar);
        const state = document.createElement("td");
        state.textContent = r.alert ? "ALERT" : "ok"; state.className = r.alert ? "alert" : "ok"; tr.appendChild(state);
        for (const c of [String(r.alerts), r.first_alert_prediction ? "prediction " + r.first_alert_prediction : "–"]) {
          const td = document.createElement("td"); td.className = "num"; td.textContent = c; tr.appendChild(td);
        }
        body.appendChild(tr);
      }
    }
    function drawAlerts(alerts) {
      const ol = document.getElementById("alerts"); ol.replaceChildren();
      if (alerts.length === 0) { const li = document.createElement("li"); li.textContent = "none"; li.className = "ok"; ol.appendChild(li); }
      for (const a of alerts) {
        const li = document.createElement("li"); li.className = "alert"; li.dataset.detector = a.detector;
        li.textContent = a.time + " — " + a.detector + " at prediction " + a.prediction; ol.appendChild(li);
      }
    }
    async function tick() {
      let r;
      try {
        r = await fetch("/v1/monitor", {headers: token ? {Authorization: "Bearer " + token} : {}, cache: "no-store"});
      } catch (e) { document.getElementById("status").textContent = "server unreachable: " + e; return; }
      if (!r.ok) {
        document.getElementById("status").textContent = "GET /v1/monitor: HTTP " + r.status + " — " + (await r.text()) +
          (r.status === 401 ? " (open /dashboard#token=METRICS_TOKEN)" : "");
        return;
      }
      const s = await r.json();
      const t = Date.parse(s.server_time) / 1000;
      const last = history[history.length - 1];
      const rate = last && t > last.t ? (s.predictions - last.n) / (t - last.t) : 0;
      history.push({t: t, n: s.predictions, rate: rate});
      while (history.length > 0 && history[0].t < t - 120) history.shift();
      document.getElementById("status").textContent = "updated " + s.server_time;
      document.getElementById("model").textContent = s.model.slice(0, 16);
      document.getElementById("model").title = s.model;
      document.getElementById("spec").textContent = s.model_spec;
      document.getElementById("uptime").textContent = s.uptime_seconds.toFixed(0);
      document.getElementById("online").hidden = s.online_retrains === undefined;
      document.getElementById("retrains").textContent = s.online_retrains === undefined ? 0 : s.online_retrains;
      document.getElementById("predictions").textContent = s.predictions;
      document.getElementById("rate").textContent = fmt(rate, 1);
      drawRate();
      drawClasses(s.class_counts, s.monitor ? s.monitor.window_class_counts : null);
      document.getElementById("no-monitor").hidden = !!s.monitor || !!s.feedback;
      document.getElementById("accuracy").textContent = s.feedback && s.feedback.accuracy !== undefined ? s.feedback.accuracy.toFixed(3) : "–";
      document.getElementById("labels").textContent = s.feedback ? s.feedback.labels : 0;
      drawDetectors((s.monitor ? s.monitor.readings : []).concat(s.feedback ? s.feedback.readings : []));
      drawAlerts(s.monitor ? s.monitor.alerts : []);
      document.body.dataset.ready = "true";
    }
    tick();
    setInterval(tick, 2000);
    </script>
    </body></html>
    """#
}
