extension PickleMachine.State {
  typealias Symbol = PickleMachine.Symbol

  /// Runs opcodes to STOP and returns the pickle's result.
  mutating func execute(_ machine: PickleMachine) throws -> Symbol {
    while true {
      guard pos < bytes.count else {
        throw PickleMachine.Failure(message: "the stream ends at offset \(pos - report.start) before STOP: truncated stream")
      }
      opcodeOffset = pos
      let op = bytes[pos]
      opcode = op
      pos += 1
      if op == 0x2e {  // STOP
        return try pop()
      }
      try step(op, machine)
    }
  }

  // swiftlint:disable:next cyclomatic_complexity function_body_length
  mutating func step(_ op: UInt8, _ machine: PickleMachine) throws {
    switch op {
    case 0x80:  // PROTO
      let version = try u8()
      guard version <= 5 else { throw fail("protocol \(version) is not one of 0–5") }
      report.protocolVersion = version
    case 0x95:  // FRAME: the frame's opcodes follow inline
      _ = try length(8)
    case 0x28:  // MARK
      marks.append(stack.count)
      if stack.count + marks.count > stackLimit { throw fail("the stack holds over \(stackLimit) entries (limit)") }
    case 0x30:  // POP
      if stack.count > (marks.last ?? 0) { _ = try pop() } else { _ = try popMark() }
    case 0x31: _ = try popMark()  // POP_MARK
    case 0x32:  // DUP
      guard let top = stack.last else { throw fail("stack underflow") }
      try push(top)
    // Numbers and constants
    case 0x4e: try push(.none)  // NONE
    case 0x88, 0x89: try push(.other)  // NEWTRUE, NEWFALSE
    case 0x4a: try push(.int(Int(Int32(truncatingIfNeeded: try uint(4)))))  // BININT
    case 0x4b: try push(.int(try u8()))  // BININT1
    case 0x4d: try push(.int(Int(try uint(2))))  // BININT2
    case 0x49, 0x4c:  // INT, LONG (text)
      let digits = String(decoding: try line(), as: UTF8.self)
      try push(Int(digits.hasSuffix("L") ? String(digits.dropLast()) : digits).map { .int($0) } ?? .other)
    case 0x46: _ = try line(); try push(.other)  // FLOAT
    case 0x47: _ = try take(8, "float"); try push(.other)  // BINFLOAT
    case 0x8a:  // LONG1
      let raw = try take(try length(1), "long")
      try push(raw.count <= 16 ? .long(Array(raw)) : .other)
    case 0x8b: _ = try take(try length(4), "long"); try push(.other)  // LONG4
    // Strings and bytes
    case 0x58: try push(try text(try length(4)))  // BINUNICODE
    case 0x8c: try push(try text(try length(1)))  // SHORT_BINUNICODE
    case 0x8d: try push(try text(try length(8)))  // BINUNICODE8
    case 0x54:  // BINSTRING: a signed 4-byte length
      let n = Int32(truncatingIfNeeded: try uint(4))
      guard n >= 0 else { throw fail("negative length \(n)") }
      try push(try text(Int(n)))
    case 0x55: try push(try text(try length(1)))  // SHORT_BINSTRING
    case 0x53: try push(try Self.quoted(try line()).map { .string($0) } ?? { throw fail("a STRING argument that is not quoted") }())
    case 0x56: try push(.string(Self.rawUnicodeEscape(try line())))  // UNICODE
    case 0x42: _ = try take(try length(4), "bytes"); try push(.other)  // BINBYTES
    case 0x43: _ = try take(try length(1), "bytes"); try push(.other)  // SHORT_BINBYTES
    case 0x8e, 0x96: _ = try take(try length(8), "bytes"); try push(.other)  // BINBYTES8, BYTEARRAY8
    case 0x97: try push(.other)  // NEXT_BUFFER
    case 0x98: break  // READONLY_BUFFER
    // Containers
    case 0x29: try push(.tuple([]))  // EMPTY_TUPLE
    case 0x85: try push(.tuple([try pop().flat]))  // TUPLE1
    case 0x86:  // TUPLE2
      let b = try pop().flat
      try push(.tuple([try pop().flat, b]))
    case 0x87:  // TUPLE3
      let c = try pop().flat
      let b = try pop().flat
      try push(.tuple([try pop().flat, b, c]))
    case 0x74: try push(.tuple(try popMark().prefix(64).map(\.flat)))  // TUPLE
    case 0x5d, 0x8f: try push(.other)  // EMPTY_LIST, EMPTY_SET
    case 0x6c, 0x91: try dropMark(); try push(.other)  // LIST, FROZENSET
    case 0x7d: try push(.dict([:]))  // EMPTY_DICT
    case 0x64: try push(Self.dict(adding: try popMark(), to: .dict([:])))  // DICT
    case 0x61: _ = try pop(); try replaceTop { _ in .other }  // APPEND
    case 0x65, 0x90: try dropMark(); try replaceTop { _ in .other }  // APPENDS, ADDITEMS
    case 0x73:  // SETITEM
      let value = try pop()
      let key = try pop()
      try replaceTop { Self.dict(adding: [key, value], to: $0) }
    case 0x75:  // SETITEMS
      let items = try popMark()
      try replaceTop { Self.dict(adding: items, to: $0) }
    // Memo
    case 0x70: try store(try Self.integer(try line()) ?? { throw fail("a PUT index that is not a number") }(), machine: machine)
    case 0x71: try store(try u8(), machine: machine)  // BINPUT
    case 0x72: try store(Int(try uint(4)), machine: machine)  // LONG_BINPUT
    case 0x94: try store(memoCount, machine: machine)  // MEMOIZE
    case 0x67: try fetch(try Self.integer(try line()) ?? { throw fail("a GET index that is not a number") }())
    case 0x68: try fetch(try u8())  // BINGET
    case 0x6a: try fetch(Int(try uint(4)))  // LONG_BINGET
    // Imports and calls
    case 0x63:  // GLOBAL
      let module = String(decoding: try line(), as: UTF8.self)
      try imported(GlobalName(module, String(decoding: try line(), as: UTF8.self)), machine: machine)
    case 0x93:  // STACK_GLOBAL
      let name = try pop()
      let module = try pop()
      guard case .string(let m) = module, case .string(let n) = name else {
        finding(.suspicious, nil, "imports a global whose name is computed at load time")
        try push(.global(GlobalName("<computed>", "<computed>")))
        return
      }
      try imported(GlobalName(m, n), machine: machine)
    case 0x69:  // INST: import, then call with the items above the MARK
      let module = String(decoding: try line(), as: UTF8.self)
      let global = GlobalName(module, String(decoding: try line(), as: UTF8.self))
      try imported(global, machine: machine)
      _ = try pop()
      let args = try popMark()
      try push(called(.global(global), args: .tuple(args.map(\.flat)), machine: machine))
    case 0x6f:  // OBJ
      var items = try popMark()
      guard !items.isEmpty else { throw fail("OBJ with nothing above the MARK") }
      let cls = items.removeFirst()
      try push(called(cls, args: .tuple(items.map(\.flat)), machine: machine))
    case 0x52:  // REDUCE
      let args = try pop()
      let callee = try pop()
      try push(called(callee, args: args, machine: machine))
    case 0x81:  // NEWOBJ
      let args = try pop()
      let cls = try pop()
      try push(called(cls, args: args, machine: machine))
    case 0x92:  // NEWOBJ_EX
      _ = try pop()
      let args = try pop()
      let cls = try pop()
      try push(called(cls, args: args, machine: machine))
    case 0x62:  // BUILD: __setstate__ or attribute updates on the object below
      let stateValue = try pop()
      guard let object = stack.last, stack.count > (marks.last ?? 0) else { throw fail("stack underflow") }
      if case .called(let call) = object, let global = call.global {
        record(.calls, global, argument: nil, machine: machine)
        if global == GlobalName("joblib.numpy_pickle", "NumpyArrayWrapper") {
          try skipJoblibArray(state: stateValue, machine: machine)
        }
      }
    case 0x50: _ = try line(); try push(.other)  // PERSID
    case 0x51: _ = try pop(); try push(.other)  // BINPERSID
    case 0x82, 0x83, 0x84:  // EXT1, EXT2, EXT4
      let code = try uint(op == 0x82 ? 1 : op == 0x83 ? 2 : 4)
      finding(.suspicious, nil, "imports extension-registry code \(code), a global known only to the loading process")
      try push(.global(GlobalName("<extension>", "\(code)")))
    default:
      throw fail("not a pickle opcode")
    }
  }

  // MARK: joblib

  /// joblib writes each NumPy array's bytes into the stream right after the BUILD of its
  /// NumpyArrayWrapper (joblib/numpy_pickle.py, `write_array`): a padding-length byte and padding
  /// when the state has `numpy_array_alignment_bytes`, then the raw data — or, for object arrays,
  /// a nested pickle, which is scanned like any other.
  mutating func skipJoblibArray(state: Symbol, machine: PickleMachine) throws {
    guard case .dict(let entries?) = state, case .tuple(let shape)? = entries["shape"],
      case .called(let dtype)? = entries["dtype"], let code = dtype.argument
    else { throw fail("a joblib NumpyArrayWrapper whose shape and dtype cannot be read") }
    if code.hasPrefix("O") || code.hasPrefix("|O") {
      guard machine.depth < machine.limits.nestedPickles else {
        throw fail("joblib arrays nested over \(machine.limits.nestedPickles) deep")
      }
      let inner = PickleMachine(policy: machine.policy, limits: machine.limits, depth: machine.depth + 1)
      let (reports, end, _) = inner.run(bytes, from: pos, name: "\(report.name)@\(pos)")
      nested += reports
      pos = end
      if let error = reports.first?.error { throw fail("the nested object-array pickle: \(error)") }
      return
    }
    var count = 1
    for dim in shape {
      guard case .int(let n) = dim, n >= 0 else { throw fail("a joblib array shape that is not a tuple of sizes") }
      let (product, overflow) = count.multipliedReportingOverflow(by: n)
      guard !overflow else { throw fail("a joblib array shape whose size overflows") }
      count = product
    }
    guard let itemSize = Self.itemSize(code) else { throw fail("a joblib array of dtype \(code), whose item size is unknown") }
    if entries["numpy_array_alignment_bytes"] != nil {
      _ = try take(try u8(), "alignment padding")
    }
    let (size, overflow) = count.multipliedReportingOverflow(by: itemSize)
    guard !overflow else { throw fail("a joblib array whose size overflows") }
    _ = try take(size, "joblib array data")
  }

  static func itemSize(_ code: String) -> Int? {
    let trimmed = code.drop { "<>|=".contains($0) }
    guard let kind = trimmed.first, let n = Int(trimmed.dropFirst()), n > 0 else { return nil }
    switch kind {
    case "f", "i", "u", "c", "b", "V", "S", "M", "m": return n
    case "U": return 4 * n
    default: return nil
    }
  }

  // MARK: helpers

  static func dict(adding items: [Symbol], to target: Symbol) -> Symbol {
    guard case .dict(var entries?) = target else { return target == .other ? .other : .dict(nil) }
    var i = 0
    while i + 1 < items.count {
      if case .string(let key) = items[i], entries.count < 64 {
        entries[key] = items[i + 1].flatDictValue
      } else {
        return .dict(nil)
      }
      i += 2
    }
    return .dict(entries)
  }

  static func integer(_ line: [UInt8]) -> Int? { Int(String(decoding: line, as: UTF8.self)) }

  /// A protocol-0 STRING argument: a quoted Python literal with backslash escapes, decoded as
  /// CPython's `codecs.escape_decode` does (so `'o\x73'` is `os`).
  static func quoted(_ line: [UInt8]) -> String? {
    guard line.count >= 2, let q = line.first, q == 0x27 || q == 0x22, line.last == q else { return nil }
    var out: [UInt8] = []
    var i = 1
    let end = line.count - 1
    while i < end {
      let c = line[i]
      i += 1
      guard c == 0x5c, i < end else { out.append(c); continue }
      let e = line[i]
      i += 1
      switch e {
      case UInt8(ascii: "n"): out.append(0x0a)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "r"): out.append(0x0d)
      case UInt8(ascii: "a"): out.append(0x07)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0c)
      case UInt8(ascii: "v"): out.append(0x0b)
      case UInt8(ascii: "x"):
        guard i + 2 <= end, let v = UInt8(String(decoding: line[i..<(i + 2)], as: UTF8.self), radix: 16) else { return nil }
        out.append(v)
        i += 2
      case UInt8(ascii: "0")...UInt8(ascii: "7"):
        var v = Int(e - 0x30)
        var digits = 1
        while digits < 3, i < end, (0x30...0x37).contains(line[i]) {
          v = v * 8 + Int(line[i] - 0x30)
          i += 1
          digits += 1
        }
        out.append(UInt8(truncatingIfNeeded: v))
      case 0x0a: break
      case 0x5c, 0x27, 0x22: out.append(e)
      default: out += [0x5c, e]
      }
    }
    return String(decoding: out, as: UTF8.self)
  }

  /// A protocol-0 UNICODE argument: raw-unicode-escape (only \uXXXX and \UXXXXXXXX are escapes).
  static func rawUnicodeEscape(_ line: [UInt8]) -> String {
    var scalars = String.UnicodeScalarView()
    var i = 0
    while i < line.count {
      if line[i] == 0x5c, i + 1 < line.count, line[i + 1] == UInt8(ascii: "u") || line[i + 1] == UInt8(ascii: "U") {
        let width = line[i + 1] == UInt8(ascii: "u") ? 4 : 8
        if i + 2 + width <= line.count, let v = UInt32(String(decoding: line[(i + 2)..<(i + 2 + width)], as: UTF8.self), radix: 16),
          let scalar = Unicode.Scalar(v)
        {
          scalars.append(scalar)
          i += 2 + width
          continue
        }
      }
      scalars.append(Unicode.Scalar(line[i]))
      i += 1
    }
    return String(scalars)
  }

}

extension PickleMachine {
  static let opcodeNames: [String?] = {
    var table = [String?](repeating: nil, count: 256)
    for (code, name) in names { table[code] = name }
    return table
  }()

  static let names: [Int: String] = [
    0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT", 0x49: "INT", 0x4a: "BININT",
    0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE", 0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE",
    0x53: "STRING", 0x54: "BINSTRING", 0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND",
    0x62: "BUILD", 0x63: "GLOBAL", 0x64: "DICT", 0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET",
    0x69: "INST", 0x6a: "LONG_BINGET", 0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT", 0x71: "BINPUT",
    0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE", 0x75: "SETITEMS", 0x47: "BINFLOAT",
    0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2", 0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2",
    0x87: "TUPLE3", 0x88: "NEWTRUE", 0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES",
    0x43: "SHORT_BINBYTES", 0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET",
    0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE", 0x95: "FRAME",
    0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
  ]
}

extension PickleMachine.Symbol {
  /// A dict value keeps one level: a tuple of flat items (a shape) or a flat value.
  var flatDictValue: Self {
    switch self {
    case .tuple(let items): .tuple(items.map(\.flat))
    case .dict: .other
    default: self
    }
  }
}
