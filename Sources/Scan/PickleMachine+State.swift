extension PickleMachine {
  /// The machine's registers while it reads one stream.
  struct State {
    let bytes: UnsafeRawBufferPointer
    var pos: Int
    var report: PickleReport
    var findings = FindingSet()
    var nested: [PickleReport] = []
    var stack: [Symbol] = []
    var marks: [Int] = []
    /// The memo: indices below `denseMemo` in an array (what picklers write: 0, 1, 2, …), any
    /// other in a dictionary (a hostile LONG_BINPUT 4294967295 costs one entry, not 4 G).
    var dense: [Symbol?] = []
    var sparse: [Int: Symbol] = [:]
    var memoCount = 0
    static let denseMemo = 1 << 22
    var eventCount = 0
    var opcodeOffset = 0
    var opcode: UInt8 = 0
    var stackLimit = PickleMachine.Limits().stackEntries
    var opcodeName: String {
      PickleMachine.opcodeNames[Int(opcode)] ?? "opcode 0x" + String(opcode, radix: 16)
    }

    init(bytes: UnsafeRawBufferPointer, pos: Int, report: PickleReport) {
      self.bytes = bytes
      self.pos = pos
      self.report = report
    }

    // MARK: reading arguments

    func fail(_ message: String) -> Failure {
      Failure(message: "\(opcodeName) at offset \(opcodeOffset - report.start): \(message)")
    }

    mutating func take(_ n: Int, _ what: String) throws -> UnsafeRawBufferPointer {
      guard n >= 0, n <= bytes.count - pos else {
        throw fail("\(what) of \(n) bytes runs past the end (\(bytes.count - pos) bytes left): truncated stream")
      }
      defer { pos += n }
      return UnsafeRawBufferPointer(rebasing: bytes[pos..<(pos + n)])
    }

    mutating func u8() throws -> Int { Int(try take(1, "argument")[0]) }

    mutating func uint(_ size: Int) throws -> UInt64 {
      let raw = try take(size, "argument")
      var value: UInt64 = 0
      for i in stride(from: size - 1, through: 0, by: -1) { value = value << 8 | UInt64(raw[i]) }
      return value
    }

    /// A length argument, which must fit in what is left of the stream.
    mutating func length(_ size: Int) throws -> Int {
      let value = try uint(size)
      guard value <= UInt64(bytes.count - pos) else {
        throw fail("declares \(value) bytes, but only \(bytes.count - pos) remain: truncated stream")
      }
      return Int(value)
    }

    mutating func line() throws -> [UInt8] {
      var end = pos
      while end < bytes.count, bytes[end] != 0x0a { end += 1 }
      guard end < bytes.count else { throw fail("a text argument has no newline: truncated stream") }
      defer { pos = end + 1 }
      return Array(bytes[pos..<end])
    }

    mutating func text(_ n: Int) throws -> Symbol {
      let raw = try take(n, "string")
      return n <= 4096 ? .string(String(decoding: raw, as: UTF8.self)) : .other
    }

    // MARK: the stack

    mutating func push(_ s: Symbol) throws {
      stack.append(s)
      if stack.count + marks.count > stackLimit {
        throw fail("the stack holds over \(stackLimit) entries (limit)")
      }
    }

    mutating func pop() throws -> Symbol {
      guard stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
      return stack.removeLast()
    }

    mutating func popMark() throws -> [Symbol] {
      guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
      guard mark <= stack.count else { throw fail("stack underflow") }
      let items = Array(stack[mark...])
      stack.removeLast(stack.count - mark)
      return items
    }

    /// Pops to the last MARK, discarding the items (a list's or set's contents).
    mutating func dropMark() throws {
      guard let mark = marks.popLast() else { throw fail("no MARK to pop to") }
      guard mark <= stack.count else { throw fail("stack underflow") }
      stack.removeSubrange(mark...)
    }

    mutating func replaceTop(_ f: (Symbol) -> Symbol) throws {
      guard let top = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
      stack[stack.count - 1] = f(top)
    }

    mutating func store(_ index: Int, machine: PickleMachine) throws {
      guard index >= 0 else { throw fail("a negative memo index \(index)") }
      guard let top = stack.last else { throw fail("nothing on the stack to memoise") }
      if index < Self.denseMemo && index <= dense.count {
        if index == dense.count {
          // An index first stored sparsely moves here, so it is never shadowed.
          if sparse.removeValue(forKey: index) == nil { memoCount += 1 }
          dense.append(top)
        } else {
          if dense[index] == nil { memoCount += 1 }
          dense[index] = top
        }
      } else {
        if sparse[index] == nil { memoCount += 1 }
        sparse[index] = top
      }
      if memoCount > machine.limits.memoEntries { throw fail("the memo holds over \(machine.limits.memoEntries) entries (limit)") }
    }

    mutating func fetch(_ index: Int) throws {
      guard index >= 0 else { throw fail("a negative memo index \(index)") }
      let value = index < dense.count ? dense[index] : sparse[index]
      guard let value else { throw fail("memo index \(index) was never stored") }
      try push(value)
    }

    // MARK: evidence

    mutating func record(_ kind: PickleEvent.Kind, _ global: GlobalName?, argument: String?, machine: PickleMachine) {
      eventCount += 1
      if report.events.count < machine.limits.recordedEvents {
        report.events.append(
          PickleEvent(kind: kind, global: global, opcode: opcodeName, offset: opcodeOffset - report.start, argument: argument))
      }
    }

    mutating func finding(_ severity: Severity, _ global: GlobalName?, _ reason: String) {
      findings.add(
        Finding(severity: severity, global: global?.description, opcode: opcodeName, offset: opcodeOffset - report.start, reason: reason))
    }

    mutating func imported(_ global: GlobalName, machine: PickleMachine) throws {
      record(.imports, global, argument: nil, machine: machine)
      if let (severity, why) = machine.policy.judge(global) { finding(severity, global, why) }
      try push(.global(global))
    }

    /// A call of `callee` with `args`; returns the call's result.
    mutating func called(_ callee: Symbol, args: Symbol, machine: PickleMachine) -> Symbol {
      let argument = Self.firstString(args)
      switch callee {
      case .global(let g):
        record(.calls, g, argument: argument, machine: machine)
        if case .denied(let why)? = Optional(machine.policy.classify(g)) {
          let shown = argument.map { "(\"\($0)\")" } ?? "(…)"
          finding(.malicious, g, "calls \(g)\(shown): \(why)")
        }
        return .called(Call(global: g, argument: argument))
      case .called(let inner):
        record(.calls, nil, argument: argument, machine: machine)
        let origin = inner.global.map { "the result of \($0)(…)" } ?? "a value computed at load time"
        finding(.suspicious, inner.global, "calls \(origin): a callable built while loading")
        return .called(Call(global: nil, argument: argument))
      default:
        record(.calls, nil, argument: argument, machine: machine)
        finding(.suspicious, nil, "calls a value that is not an imported global")
        return .called(Call(global: nil, argument: argument))
      }
    }

    static func firstString(_ args: Symbol) -> String? {
      guard case .tuple(let items) = args else { return nil }
      for item in items {
        if case .string(let s) = item { return s.count > 200 ? String(s.prefix(200)) + "…" : s }
      }
      return nil
    }
  }
}
