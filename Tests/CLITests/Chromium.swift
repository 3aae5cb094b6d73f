import Foundation

/// Headless Chromium (Debian's `chromium`, which `make test` installs): loads a page, runs its
/// scripts for a few seconds of virtual time, and returns the DOM or saves a screenshot.
/// Every call has its own profile directory and is killed after 90 s, so none can hang a test.
enum Chromium {
  static func run(_ url: String, _ extra: [String], dir: String) throws -> String {
    let profile = dir + "/chromium-profile-\(UUID().uuidString.prefix(8))"
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/chromium")
    p.arguments =
      [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run", "--user-data-dir=" + profile,
        "--virtual-time-budget=6000", "--window-size=1280,1000",
      ] + extra + [url]
    let out = Pipe()
    let err = dir + "/chromium-stderr-\(UUID().uuidString.prefix(8))"
    try Data().write(to: URL(fileURLWithPath: err))
    p.standardOutput = out
    p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
    try p.run()
    let timer = DispatchSource.makeTimerSource()
    timer.schedule(deadline: .now() + 90)
    timer.setEventHandler { if p.isRunning { kill(p.processIdentifier, SIGKILL) } }
    timer.resume()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    timer.cancel()
    guard p.terminationStatus == 0 else {
      throw ServeTestError("chromium exited \(p.terminationStatus): \((try? String(contentsOfFile: err, encoding: .utf8)) ?? "")")
    }
    return String(decoding: data, as: UTF8.self)
  }

  static func dumpDOM(_ url: String, dir: String) throws -> String { try run(url, ["--dump-dom"], dir: dir) }

  static func screenshot(_ url: String, to file: String, dir: String) throws {
    _ = try run(url, ["--screenshot=" + file, "--hide-scrollbars"], dir: dir)
  }

  /// Loads a copy of `html` (a report) with a layout check added, as laid out by the browser:
  /// every text element of every SVG must lie inside its SVG, and no two may overlap (their
  /// bounding boxes intersecting by more than a pixel both ways). Returns the problems found
  /// (empty: none) and the number of text elements checked; saves a full-height screenshot.
  static func layoutProblems(of html: String, screenshot: String, dir: String) throws -> (problems: [String], texts: Int) {
    let page = try String(contentsOfFile: html, encoding: .utf8)
    let check = """
      <script>
      window.addEventListener('load', () => {
        const problems = [];
        let count = 0;
        document.querySelectorAll('svg').forEach((svg, si) => {
          const box = svg.getBoundingClientRect();
          const texts = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim() !== '');
          const rects = texts.map(t => t.getBoundingClientRect());
          count += texts.length;
          texts.forEach((t, i) => {
            const r = rects[i];
            if (r.left < box.left - 0.5 || r.right > box.right + 0.5 || r.top < box.top - 0.5 || r.bottom > box.bottom + 0.5)
              problems.push('figure ' + si + ': "' + t.textContent + '" is not inside its SVG');
            for (let j = 0; j < i; j++) {
              const q = rects[j];
              const ox = Math.min(r.right, q.right) - Math.max(r.left, q.left);
              const oy = Math.min(r.bottom, q.bottom) - Math.max(r.top, q.top);
              if (ox > 1 && oy > 1) problems.push('figure ' + si + ': "' + t.textContent + '" overlaps "' + texts[j].textContent + '"');
            }
          });
        });
        const out = document.createElement('pre');
        out.id = 'layout-check';
        out.textContent = JSON.stringify({problems: problems, texts: count});
        document.body.appendChild(out);
      });
      </script>
      """
    let checked = (html as NSString).deletingPathExtension + "-layout-check.html"
    try page.replacingOccurrences(of: "</body>", with: check + "</body>").write(toFile: checked, atomically: true, encoding: .utf8)
    let dom = try dumpDOM("file://" + checked, dir: dir)
    guard let start = dom.range(of: "<pre id=\"layout-check\">"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex)
    else { throw ServeTestError("the layout check did not run: \(dom.suffix(500))") }
    let json = String(dom[start.upperBound..<end.lowerBound]).replacingOccurrences(of: "&amp;", with: "&")
      .replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
    let result = try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
    // Tall enough for the whole report.
    _ = try run("file://" + html, ["--screenshot=" + screenshot, "--hide-scrollbars", "--window-size=1400,4000"], dir: dir)
    return ((result?["problems"] as? [String]) ?? ["no result"], (result?["texts"] as? Int) ?? 0)
  }
}
