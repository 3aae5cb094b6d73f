import Foundation

/// A CycloneDX 1.5 software bill of materials of the running build (`byzsim sbom`, and
/// `sbom.cdx.json` in every run directory): the byzsim binary with its SHA-256, the Swift
/// packages it was built from (Package.resolved, with versions and revisions), and the system
/// libraries it links — read from the binary's ELF dynamic section (DT_NEEDED), located among
/// the files this process has mapped, hashed, and named with their Debian package and version
/// (dpkg) where dpkg knows them.
public enum SBOM {
  /// The document, as JSON. `resolved`: the Package.resolved the build used (nil: look beside
  /// the binary, `<root>/.build/<triple>/<config>/byzsim`; not found: no Swift packages, said in
  /// the document's properties).
  public static func document(resolved: String? = nil) throws -> [String: Any] {
    let exe = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let exeDigest = try MeasuredFiles.digest(exe)
    var properties: [[String: String]] = []
    var components: [[String: Any]] = []
    let resolvedPath = resolved ?? besideBinary(exe)
    if let resolvedPath {
      components += try swiftPackages(resolvedPath)
    } else {
      properties.append(["name": "byzsim:swift-packages", "value": "unknown: no Package.resolved beside \(exe); pass --resolved"])
    }
    components += try systemLibraries(exe)
    var metadata: [String: Any] = [
      "timestamp": ISO8601DateFormatter().string(from: Date()),
      "tools": ["components": [["type": "application", "name": "byzsim", "bom-ref": "tool-byzsim"]]],
      "component": [
        "type": "application", "bom-ref": "byzsim", "name": "byzsim", "version": exeDigest.prefix(12).description,
        "hashes": [["alg": "SHA-256", "content": exeDigest]],
      ] as [String: Any],
    ]
    if !properties.isEmpty { metadata["properties"] = properties }
    return [
      "bomFormat": "CycloneDX", "specVersion": "1.5", "serialNumber": "urn:uuid:\(UUID().uuidString.lowercased())", "version": 1,
      "metadata": metadata, "components": components,
    ]
  }

  public static func json(resolved: String? = nil) throws -> [UInt8] {
    Array(try JSONSerialization.data(withJSONObject: try document(resolved: resolved), options: [.prettyPrinted, .sortedKeys])) + [0x0A]
  }

  static func besideBinary(_ exe: String) -> String? {
    var dir = (exe as NSString).deletingLastPathComponent
    for _ in 0..<4 {
      let candidate = (dir as NSString).appendingPathComponent("Package.resolved")
      if FileManager.default.fileExists(atPath: candidate) { return candidate }
      dir = (dir as NSString).deletingLastPathComponent
    }
    return nil
  }

  /// Package.resolved's pins as components (purl type swift).
  static func swiftPackages(_ path: String) throws -> [[String: Any]] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
      throw FileFormatError(path: path, message: "cannot read (\(error.localizedDescription))")
    }
    guard let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
      let pins = (json["pins"] as? [[String: Any]]) ?? ((json["object"] as? [String: Any])?["pins"] as? [[String: Any]])
    else { throw FileFormatError(path: path, message: "not a Package.resolved") }
    return pins.map { pin in
      let name = (pin["identity"] as? String) ?? (pin["package"] as? String) ?? "?"
      let location = (pin["location"] as? String) ?? (pin["repositoryURL"] as? String) ?? ""
      let state = pin["state"] as? [String: Any] ?? [:]
      let version = (state["version"] as? String) ?? (state["revision"] as? String) ?? "unknown"
      var c: [String: Any] = ["type": "library", "bom-ref": "swift:\(name)", "name": name, "version": version]
      if let url = URL(string: location), let host = url.host {
        let path = url.path.replacingOccurrences(of: ".git", with: "").trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        c["purl"] = "pkg:swift/\(host)/\(path)@\(version)"
        c["externalReferences"] = [["type": "vcs", "url": location]]
      }
      if let revision = state["revision"] as? String { c["properties"] = [["name": "swift:revision", "value": revision]] }
      return c
    }
  }

  /// DT_NEEDED of the executable, located among this process's mapped files, hashed, with the
  /// Debian package that ships each file where dpkg knows it.
  static func systemLibraries(_ exe: String) throws -> [[String: Any]] {
    let needed = try ELFDynamic.needed(exe)
    let mapped = try Measurement.mappedExecutables()
    var located: [(soname: String, path: String)] = []
    let cache = ldconfigCache()
    for soname in needed {
      // The dynamic linker's cache names the file (resolved through its symlinks); a library
      // found by the binary's RPATH (the Swift runtime) is found among the mapped files.
      if let linked = cache[soname], let real = try? FileManager.default.destinationOfSymbolicLink(atPath: linked) {
        let path = real.hasPrefix("/") ? real : ((linked as NSString).deletingLastPathComponent as NSString).appendingPathComponent(real)
        located.append((soname, (path as NSString).standardizingPath))
      } else if let linked = cache[soname] {
        located.append((soname, linked))
      } else if let path = mapped.sorted().first(where: {
        let base = ($0 as NSString).lastPathComponent
        return base == soname || base.hasPrefix(soname + ".")
      }) {
        located.append((soname, path))
      }
    }
    let packages = dpkgOwners(located.map(\.path))
    return try located.map { soname, path in
      var c: [String: Any] = [
        "type": "library", "bom-ref": "so:\(soname)", "name": soname,
        "hashes": [["alg": "SHA-256", "content": try MeasuredFiles.digest(path)]],
        "properties": [["name": "byzsim:path", "value": path]],
      ]
      if let p = packages[path] {
        c["version"] = p.version
        c["purl"] = "pkg:deb/debian/\(purlEncode(p.name))@\(purlEncode(p.version))?arch=\(purlEncode(p.arch))"
        c["supplier"] = ["name": "Debian"]
      } else {
        c["properties"] = [["name": "byzsim:path", "value": path], ["name": "byzsim:package", "value": "not installed by dpkg"]]
      }
      return c
    }
  }

  /// purl's percent-encoding: everything but letters, digits and `.-_~`.
  static func purlEncode(_ s: String) -> String {
    s.addingPercentEncoding(
      withAllowedCharacters: CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_~")) ?? s
  }

  /// `ldconfig -p`: soname → path, for this machine's architecture (the first entry of each).
  static func ldconfigCache() -> [String: String] {
    guard let ldconfig = ["/sbin/ldconfig", "/usr/sbin/ldconfig"].first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
      return [:]
    }
    var out: [String: String] = [:]
    for line in run(ldconfig, ["-p"]).split(separator: "\n") {
      // "\tlibzmq.so.5 (libc6,x86-64) => /lib/x86_64-linux-gnu/libzmq.so.5"
      let parts = line.trimmingCharacters(in: .whitespaces).components(separatedBy: " => ")
      guard parts.count == 2, let name = parts[0].split(separator: " ").first else { continue }
      #if arch(x86_64)
      guard parts[0].contains("x86-64") else { continue }
      #endif
      if out[String(name)] == nil { out[String(name)] = parts[1] }
    }
    return out
  }

  /// dpkg's package, version and architecture for each path it knows (merged-/usr aware).
  static func dpkgOwners(_ paths: [String]) -> [String: (name: String, version: String, arch: String)] {
    guard let dpkg = TrojanBLAS.onPath("dpkg"), let query = TrojanBLAS.onPath("dpkg-query") else { return [:] }
    var owner: [String: String] = [:]
    let variants = paths.flatMap { p in [p, p.hasPrefix("/usr/") ? String(p.dropFirst(4)) : "/usr" + p] }
    for line in run(dpkg, ["-S"] + variants).split(separator: "\n") {
      // "libzmq5:amd64: /usr/lib/x86_64-linux-gnu/libzmq.so.5.2.5"
      guard let sep = line.range(of: ": /") else { continue }
      let pkg = String(line[..<sep.lowerBound]).split(separator: ",").first.map(String.init) ?? ""
      let file = "/" + line[sep.upperBound...]
      for p in paths where p == file || "/usr" + file == p || file == "/usr" + p { owner[p] = pkg }
    }
    let names = Set(owner.values).sorted()
    guard !names.isEmpty else { return [:] }
    var versions: [String: (String, String, String)] = [:]
    for line in run(query, ["-W", "-f", "${binary:Package} ${Package} ${Version} ${Architecture}\n"] + names).split(separator: "\n") {
      let f = line.split(separator: " ").map(String.init)
      guard f.count == 4 else { continue }
      versions[f[0]] = (f[1], f[2], f[3])
      versions[f[1]] = (f[1], f[2], f[3])
    }
    return owner.compactMapValues { versions[$0].map { (name: $0.0, version: $0.1, arch: $0.2) } }
  }

  static func run(_ tool: String, _ args: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: tool)
    p.arguments = args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return "" }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return String(decoding: data, as: UTF8.self)
  }
}

/// The DT_NEEDED entries of a 64-bit little-endian ELF file, read from its PT_DYNAMIC segment
/// and the string table its DT_STRTAB points to (mapped back to a file offset through PT_LOAD).
public enum ELFDynamic {
  public static func needed(_ path: String) throws -> [String] {
    let data: Data
    do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) } catch {
      throw FileFormatError(path: path, message: "cannot read (\(error.localizedDescription))")
    }
    return try data.withUnsafeBytes { raw -> [String] in
      func bad(_ why: String) -> FileFormatError { FileFormatError(path: path, message: "not a 64-bit little-endian ELF file (\(why))") }
      func u16(_ o: Int) throws -> Int {
        guard o >= 0, o + 2 <= raw.count else { throw bad("offset \(o) out of range") }
        return Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt16.self)))
      }
      func u64(_ o: Int) throws -> UInt64 {
        guard o >= 0, o + 8 <= raw.count else { throw bad("offset \(o) out of range") }
        return UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: o, as: UInt64.self))
      }
      guard raw.count >= 64, raw[0] == 0x7F, raw[1] == 0x45, raw[2] == 0x4C, raw[3] == 0x46 else { throw bad("no ELF magic") }
      guard raw[4] == 2, raw[5] == 1 else { throw bad("class \(raw[4]), data \(raw[5])") }
      let phoff = Int(clamping: try u64(0x20)), phentsize = try u16(0x36), phnum = try u16(0x38)
      var loads: [(vaddr: UInt64, offset: UInt64, size: UInt64)] = []
      var dynamic: (offset: Int, size: Int)?
      for i in 0..<phnum {
        let h = phoff + i * phentsize
        let type = UInt32(truncatingIfNeeded: try u64(h))  // p_type is the low 32 bits
        if type == 1 { loads.append((try u64(h + 0x10), try u64(h + 0x08), try u64(h + 0x20))) }
        if type == 2 { dynamic = (Int(clamping: try u64(h + 0x08)), Int(clamping: try u64(h + 0x20))) }
      }
      guard let dynamic else { return [] }  // statically linked
      var needed: [Int] = []
      var strtab: UInt64?
      var o = dynamic.offset
      while o + 16 <= dynamic.offset + dynamic.size {
        let tag = try u64(o), value = try u64(o + 8)
        if tag == 0 { break }
        if tag == 1 { needed.append(Int(clamping: value)) }
        if tag == 5 { strtab = value }
        o += 16
      }
      guard let strtab, let seg = loads.first(where: { strtab >= $0.vaddr && strtab < $0.vaddr + $0.size }) else {
        throw bad("no string table")
      }
      let base = Int(clamping: strtab - seg.vaddr + seg.offset)
      return try needed.map { off in
        var end = base + off
        guard end >= 0, end < raw.count else { throw bad("a DT_NEEDED name out of range") }
        while end < raw.count, raw[end] != 0 { end += 1 }
        return String(decoding: UnsafeRawBufferPointer(rebasing: raw[(base + off)..<end]), as: UTF8.self)
      }
    }
  }
}
