/// A stack machine over pickle opcodes (protocols 0–5, as `pickletools` documents them and
/// CPython's `Lib/pickle.py` runs them) that tracks only what decides safety: which globals are
/// imported, which values are called, and the strings those names and calls are built from —
/// through the stack, MARKs and the memo. Nothing is imported or run.
///
/// Values are kept flat (a tuple's elements lose their own contents), so no input builds a deep
/// structure; the stack and memo are capped, so memory is bounded by `Limits`, and every opcode
/// is visited once, so time is linear in the stream.
struct PickleMachine {
  struct Limits {
    var stackEntries = 10_000_000
    var memoEntries = 10_000_000
    var nestedPickles = 4
    var recordedEvents = 1_000
  }

  struct Call: Equatable {
    var global: GlobalName?
    var argument: String?
  }

  /// What the machine knows about one value.
  enum Symbol: Equatable {
    case none, other
    case int(Int)
    /// A LONG1 of at most 16 bytes, little-endian two's complement (legacy PyTorch's magic number).
    case long([UInt8])
    case string(String)
    indirect case global(GlobalName)
    indirect case called(Call)
    /// Elements are flat: nested tuples and dicts are `.other`.
    case tuple([Symbol])
    /// String keys to flat values; nil once the dict holds something else.
    case dict([String: Symbol]?)

    var flat: Symbol {
      switch self {
      case .tuple, .dict: .other
      default: self
      }
    }
  }

  struct Failure: Error {
    let message: String
  }

  let policy: GlobalPolicy
  let limits: Limits
  let depth: Int

  /// Runs the pickle that starts at `start` in `bytes` to its STOP. Returns its report (with
  /// `error` set if it could not be read to the end), the offset after it, and its result.
  /// The reports are this pickle's, then those of pickles nested in it (joblib object arrays).
  func run(_ bytes: UnsafeRawBufferPointer, from start: Int, name: String) -> ([PickleReport], end: Int, result: Symbol?) {
    var state = State(bytes: bytes, pos: start, report: PickleReport(name: name, start: start))
    state.stackLimit = limits.stackEntries
    var result: Symbol?
    do {
      result = try state.execute(self)
    } catch let failure as Failure {
      state.report.error = failure.message
    } catch {
      state.report.error = "\(error)"
    }
    state.report.length = state.pos - start
    state.report.findings = state.findings.merged()
    return ([state.report] + state.nested, state.pos, result)
  }
}

/// Findings, one per (severity, global, reason), with how often each occurred.
struct FindingSet {
  private var order: [String] = []
  private var first: [String: Finding] = [:]
  private var counts: [String: Int] = [:]

  mutating func add(_ finding: Finding) {
    let key = "\(finding.severity)|\(finding.global ?? "")|\(finding.reason)"
    if first[key] == nil {
      order.append(key)
      first[key] = finding
    }
    counts[key, default: 0] += 1
  }

  var isMalicious: Bool { first.values.contains { $0.severity == .malicious } }

  func merged() -> [Finding] {
    order.map { key in
      let f = first[key]!
      let n = counts[key]!
      return n == 1
        ? f : Finding(severity: f.severity, global: f.global, opcode: f.opcode, offset: f.offset, reason: "\(f.reason) (\(n) times)")
    }
  }
}
