import ArgumentParser
import CZeroMQ
import Foundation
import Runtime
import Transport

/// `byzsim-bench wire`: update throughput through the Transport layer next to a raw libzmq
/// loop, and the default topology's ms per round and memory as processes vs threads.
struct WireBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "wire",
    abstract: "Transport throughput vs raw libzmq (tcp/ipc, CURVE on/off); default topology ms/round and memory.",
    discussion: """
      Each throughput cell sends --messages updates of d floats from a DEALER thread to a ROUTER
      thread. Transport: header frame + zero-copy Float32 payload via Socket.send, received as
      Messages whose header FrameDecoder checks. Raw: the same two frames with plain zmq_send /
      zmq_msg_recv on the same socket types. Ratio = Transport ÷ raw, measured in the same run.
      """)

  @Option(parsing: .upToNextOption, help: "Update sizes in floats.")
  var sizes: [Int] = [80_000, 1_000_000]
  @Option(help: "Messages per cell.")
  var messages: Int = 400
  @Option(help: "Topology for the round benchmark.")
  var topology: String = "topologies/default.toml"
  @Option(help: "Rounds of the topology to run (overrides the file).")
  var rounds: Int = 100
  @Flag(help: "Skip the topology runs.")
  var wireOnly = false
  @Flag(help: "One JSON object instead of the table.")
  var json = false

  struct Cell: Encodable {
    let transport: String, curve: Bool, floats: Int
    let rawMBps: Double, byzsimMBps: Double, ratio: Double
  }
  struct RoundFigures: Encodable {
    let mode: String, msPerRound: Double, msPerRoundWithoutEval: Double, peakRSSMB: Double, peakPSSMB: Double
  }
  struct Report: Encodable { let cells: [Cell]; let rounds: [RoundFigures] }

  func run() throws {
    var cells: [Cell] = []
    for transport in ["tcp", "ipc"] {
      for curve in [false, true] {
        for d in sizes {
          let raw = try Self.throughput(transport: transport, curve: curve, floats: d, messages: messages, useTransport: false)
          let ours = try Self.throughput(transport: transport, curve: curve, floats: d, messages: messages, useTransport: true)
          let c = Cell(transport: transport, curve: curve, floats: d, rawMBps: raw, byzsimMBps: ours, ratio: ours / raw)
          cells.append(c)
          if !json {
            print(
              String(
                format: "%@ curve %@ d=%8d: raw libzmq %7.0f MB/s, Transport %7.0f MB/s, ratio %.2f",
                transport, curve ? "on " : "off", d, raw, ours, c.ratio))
          }
        }
      }
    }
    var rounds: [RoundFigures] = []
    if !wireOnly {
      var t = try Topology.load(path: topology)
      t.rounds = self.rounds
      let root = FileManager.default.temporaryDirectory.appendingPathComponent("byzsim-bench-\(UUID().uuidString)").path
      defer { try? FileManager.default.removeItem(atPath: root) }
      for mode in ["processes", "threads"] {
        let run = try BenchRuns.prepare(t, root: root)
        var peak = 0.0, peakPSS = 0.0
        var metrics: [RoundMetrics] = []
        if mode == "processes" {
          let byzsim = (Launcher.executablePath as NSString).deletingLastPathComponent + "/byzsim"
          _ = try Launcher.runProcesses(
            run, resume: false, binary: byzsim,
            monitor: { pids in
              peak = max(peak, pids.values.reduce(0) { $0 + Self.rssMB($1) })
              peakPSS = max(peakPSS, pids.values.reduce(0) { $0 + Self.pssMB($1) })
            }, onRound: { metrics.append($0) })
        } else {
          _ = try Launcher.runThreads(run, resume: false) { metrics.append($0) }
          peak = Self.rssMB(getpid())
          peakPSS = Self.pssMB(getpid())
        }
        let all = metrics.map(\.timing.roundMs)
        let noEval = metrics.filter { $0.testAccuracy == nil }.map(\.timing.roundMs)
        let f = RoundFigures(
          mode: mode, msPerRound: all.reduce(0, +) / Double(max(all.count, 1)),
          msPerRoundWithoutEval: noEval.reduce(0, +) / Double(max(noEval.count, 1)), peakRSSMB: peak, peakPSSMB: peakPSS)
        rounds.append(f)
        if !json {
          print(
            String(
              format:
                "%@ (%d workers, %d rounds, curve %@): %.2f ms/round (%.2f without evaluation rounds), peak memory of all processes: RSS sum %.0f MB, PSS sum %.0f MB%@",
              mode, t.workerCount, t.rounds, t.security.curve ? "on" : "off", f.msPerRound, f.msPerRoundWithoutEval, peak, peakPSS,
              Self.aims(topology: topology, mode: mode, figures: f)))
        }
      }
    }
    if json {
      let e = JSONEncoder()
      e.keyEncodingStrategy = .convertToSnakeCase
      e.outputFormatting = [.sortedKeys]
      print(String(decoding: try e.encode(Report(cells: cells, rounds: rounds)), as: UTF8.self))
    }
  }

  /// Issue 20's aims for ByzFL's benchmark workload (topologies/byzfl-bench.toml): ≤ 7 ms per
  /// round as processes with CURVE, peak PSS of all processes ≤ 400 MB.
  static func aims(topology: String, mode: String, figures f: RoundFigures) -> String {
    guard (topology as NSString).lastPathComponent == "byzfl-bench.toml" else { return "" }
    if mode == "threads" { return String(format: "   (aim PSS ≤ 400 MB: %@)", f.peakPSSMB <= 400 ? "met" : "not met") }
    return String(
      format: "   (aims ≤ 7 ms/round: %@; PSS ≤ 400 MB: %@)", f.msPerRound <= 7 ? "met" : "not met", f.peakPSSMB <= 400 ? "met" : "not met")
  }

  /// Resident set size of a process in MB (from /proc), 0 if it is gone.
  static func rssMB(_ pid: Int32) -> Double { procField(pid, file: "status", "VmRSS:") }

  /// Proportional set size in MB: shared library pages divided among the processes sharing them.
  static func pssMB(_ pid: Int32) -> Double { procField(pid, file: "smaps_rollup", "Pss:") }

  static func procField(_ pid: Int32, file: String, _ key: String) -> Double {
    guard let s = try? String(contentsOfFile: "/proc/\(pid)/\(file)", encoding: .utf8),
      let line = s.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
      let kb = Double(line.split(separator: " ").dropFirst().first ?? "")
    else { return 0 }
    return kb / 1024
  }

  /// MB/s of payload moved from a DEALER thread to a ROUTER thread.
  static func throughput(transport: String, curve: Bool, floats d: Int, messages: Int, useTransport: Bool) throws -> Double {
    let context = try Context(ioThreads: 1)
    let endpoint =
      transport == "tcp"
      ? "tcp://127.0.0.1:*"
      : "ipc://" + FileManager.default.temporaryDirectory.appendingPathComponent("byzsim-wire-\(UUID().uuidString)").path
    let server = curve ? try CurveKeyPair.generate() : nil, client = curve ? try CurveKeyPair.generate() : nil
    let zap = curve ? try ZAPHandler(context: context, allowed: [client!.publicKey: "0"]) : nil
    _ = zap
    let ready = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var bound = ""
    nonisolated(unsafe) var seconds = 0.0
    let header = FrameHeader(type: .update, dtype: .float32, runID: 1, round: 0, sender: 0, count: UInt32(d), aux: 32).encoded()
    let receiver = Thread {
      let s = try! Socket(context, .router)
      if let server { try! s.makeCurveServer(server) }
      try! s.set(ZMQ_RCVHWM, 0)
      try! s.bind(endpoint)
      bound = s.lastEndpoint
      ready.signal()
      var start = ContinuousClock.now
      var got = 0
      while got < messages {
        if useTransport {
          guard let m = try! s.receive() else { continue }
          let ok = m[1].withUnsafeBytes { FrameDecoder.parseHeader($0) }
          if case .success = ok, m[2].count == d * 4 { got += 1 }
        } else {
          var msg = zmq_msg_t()
          zmq_msg_init(&msg)
          var parts = 0
          repeat { zmq_msg_recv(&msg, s.rawHandle, 0); parts += 1 } while zmq_msg_more(&msg) != 0
          zmq_msg_close(&msg)
          if parts == 3 { got += 1 }
        }
        if got == 1 { start = ContinuousClock.now }  // the first message pays for the handshake
      }
      let e = (ContinuousClock.now - start).components
      seconds = Double(e.seconds) + Double(e.attoseconds) * 1e-18
      done.signal()
    }
    receiver.start()
    ready.wait()
    let payload = FloatBuffer([Float](repeating: 0.5, count: d))
    let sender = Thread {
      let s = try! Socket(context, .dealer)
      if let client, let server { try! s.makeCurveClient(client, serverKey: server.publicKey) }
      try! s.set(ZMQ_SNDHWM, 0)
      try! s.connect(bound)
      for _ in 0..<messages {
        if useTransport {
          try! s.send([.bytes(header), .floats(payload)])
        } else {
          _ = header.withUnsafeBytes { zmq_send(s.rawHandle, $0.baseAddress, $0.count, ZMQ_SNDMORE) }
          _ = zmq_send(s.rawHandle, payload.pointer, d * 4, 0)
        }
      }
      done.wait()
      done.signal()
    }
    sender.start()
    done.wait()
    done.signal()
    while !sender.isFinished || !receiver.isFinished { usleep(1000) }
    context.shutdown()
    return Double(messages - 1) * Double(d * 4) / seconds / 1e6
  }
}
