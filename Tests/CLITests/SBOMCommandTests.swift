import Foundation
import TestSupport
import Testing

/// `byzsim sbom`: a CycloneDX 1.5 document that CycloneDX's own Python library validates against
/// the schema; its libraries are the binary's DT_NEEDED as binutils' readelf lists them; every
/// run directory holds one, its SHA-256 in the manifest.
@Suite struct SBOMCommandTests {
  @Test func validCycloneDXWithTheBuildsParts() throws {
    let dir = CLI.temporaryDirectory().path
    let r = try CLI.run(["sbom", "--out", dir + "/sbom.json"])
    #expect(r.status == 0, "\(r.stderr)")
    let validate = """
      import sys, json
      from cyclonedx.validation.json import JsonStrictValidator
      from cyclonedx.schema import SchemaVersion
      v = JsonStrictValidator(SchemaVersion.V1_5)
      text = open(sys.argv[1]).read()
      print("valid" if v.validate_str(text) is None else "invalid")
      broken = json.loads(text)
      broken["components"][0]["type"] = "spaceship"
      print("valid" if v.validate_str(json.dumps(broken)) is None else "invalid")
      """
    #expect(try ReferencePython.run(["-c", validate, dir + "/sbom.json"]) == "valid\ninvalid\n")
    let doc = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/sbom.json"))) as? [String: Any])
    let components = try #require(doc["components"] as? [[String: Any]])
    // The libraries are exactly what readelf reads in the binary's dynamic section.
    let readelf = Process()
    readelf.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    readelf.arguments = ["readelf", "-d", CLI.binary.path]
    let out = Pipe()
    readelf.standardOutput = out
    try readelf.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    readelf.waitUntilExit()
    let needed = text.split(separator: "\n").compactMap { line -> String? in
      guard line.contains("(NEEDED)"), let a = line.firstIndex(of: "["), let b = line.lastIndex(of: "]") else { return nil }
      return String(line[line.index(after: a)..<b])
    }
    #expect(needed.contains("libzmq.so.5") && needed.contains("libopenblas.so.0"))
    let libraries = components.filter { ($0["bom-ref"] as? String)?.hasPrefix("so:") == true }.map { $0["name"] as! String }
    #expect(libraries == needed)
    let zmq = try #require(components.first { $0["name"] as? String == "libzmq.so.5" })
    #expect((zmq["purl"] as? String)?.hasPrefix("pkg:deb/debian/libzmq5@") == true, "\(zmq)")
    // The binary's own digest is the file's.
    let meta = try #require((doc["metadata"] as? [String: Any])?["component"] as? [String: Any])
    let digest = try #require((meta["hashes"] as? [[String: String]])?.first?["content"])
    let hashlib = "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())"
    #expect(try ReferencePython.run(["-c", hashlib, CLI.binary.resolvingSymlinksInPath().path]) == digest + "\n")
  }

  @Test func everyRunRecordsItsSBOM() throws {
    let (file, runs) = RunCommandTests.write(RunCommandTests.topology(rounds: 1, workers: 2, model: "logreg"))
    let r = try CLI.run(["prepare", file, "--runs-dir", runs])
    #expect(r.status == 0, "\(r.stderr)")
    let dir = try #require(RunCommandTests.newestRun(in: runs))
    let manifest = try #require(
      JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/manifest.json"))) as? [String: Any])
    let hashlib = "import hashlib, sys; print(hashlib.sha256(open(sys.argv[1], 'rb').read()).hexdigest())"
    #expect(try ReferencePython.run(["-c", hashlib, dir + "/sbom.cdx.json"]) == (manifest["sbom_sha256"] as? String ?? "?") + "\n")
  }
}
