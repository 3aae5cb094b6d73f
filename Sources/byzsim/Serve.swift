import ArgumentParser
import Foundation
import Runtime
import Serving
import Tensor
import Transport

/// `byzsim serve`: the model server.
struct Serve: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Serve a signed model over HTTP: predictions by role-bound credentials, output policies, budgets, metrics.",
    discussion: """
      Routes: POST /v1/predict ({"input": [...]} or {"inputs": [[...], ...]}; role predict),
      GET /v1/model (the safetensors file; role weights, off unless server.weights_route),
      POST /v1/admin/reload (role admin, off unless server.admin_route), GET /metrics (role
      metrics; Prometheus text), GET /healthz. No credential: 401; the wrong role: 403; over a
      rate limit or budget: 429 (with Retry-After). Every request is appended to the request log
      (JSONL). The model is checked like every loader's (safetensors only, signed) unless
      --allow-unsigned. Without --config: 127.0.0.1 only, no authentication, full outputs.

      Examples:
        byzsim serve runs/default-20261130-101500/model.safetensors --config deploy.toml
        byzsim serve --hash-token "$(openssl rand -hex 24)"     # the token_sha256 of a new token
      """)

  @Argument(help: "The model (a model.safetensors or a run directory); default: the config's model.", completion: .file())
  var model: String?
  @Option(help: "The deployment file (TOML).", completion: .file(extensions: ["toml"]))
  var config: String?
  @Option(help: "Override server.bind.")
  var bind: String?
  @Option(help: "Override server.port (0: any free port; the bound one is printed).")
  var port: Int?
  @Option(help: "Override server.request_log.")
  var requestLog: String?
  @Flag(help: "Serve an unsigned or changed model anyway (warns).")
  var allowUnsigned = false
  @Option(help: "Print the SHA-256 of this token (for token_sha256) and exit.")
  var hashToken: String?
  @Option(help: "Write a new CURVE key pair: FILE (the Z85 secret key, mode 0600) and FILE.pub; print the public key; exit.")
  var curveKeygen: String?

  func run() async throws {
    if let hashToken {
      print(DeployConfig.sha256(hashToken))
      return
    }
    if let curveKeygen {
      let keys = try CurveKeyPair.generate()
      let fd = open(curveKeygen, O_WRONLY | O_CREAT | O_EXCL, 0o600)
      guard fd >= 0 else { throw UserError("\(curveKeygen): cannot create it (\(String(cString: strerror(errno)))); it must not exist") }
      let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
      try handle.write(contentsOf: Data((keys.secretKey + "\n").utf8))
      try (keys.publicKey + "\n").write(toFile: curveKeygen + ".pub", atomically: true, encoding: .utf8)
      print(keys.publicKey)
      return
    }
    var deploy =
      try config.map { try DeployConfig.load(path: $0) }
      ?? {
        var d = DeployConfig()
        d.authentication = false
        return d
      }()
    if let bind { deploy.bind = bind }
    if let port { deploy.port = port }
    if let requestLog { deploy.requestLog = requestLog }
    if !deploy.authentication && !DeployConfig.isLoopback(deploy.bind) {
      throw UserError(
        "refusing to serve on \(deploy.bind) without authentication: give --config with [[credentials]], or bind to 127.0.0.1")
    }
    guard let path = model ?? deploy.model else { throw UserError("no model: give MODEL, or model = \"...\" in the deployment file") }
    // Requests already run in parallel; OpenBLAS's own threads would only contend with them.
    BLAS.threads = 1
    let host = try ModelHost(ModelReference(path: path, publicKey: deploy.publicKey, allowUnsigned: allowUnsigned))
    let core: ServingCore
    do {
      core = try ServingCore(config: deploy, host: host, log: try RequestLog(path: deploy.requestLog))
    } catch let e as Monitor.Invalid {
      throw UserError(e.description)
    }
    let loaded = host.model.loaded
    let bindAddress = deploy.bind
    let door = try deploy.zmqEndpoint.map {
      try ZMQDoor(core: core, endpoint: $0, secretKeyFile: deploy.zmqSecurity == .curve ? deploy.zmqSecretKeyFile ?? "" : nil)
    }
    defer {
      // SIGINT/SIGTERM ended the HTTP door: no prediction may still run when the process exits.
      if door?.stop() == false {
        FileHandle.standardError.write(Data("byzsim serve: the ZeroMQ door's threads did not end in 30 s\n".utf8))
      }
      let left = core.drain()
      if left > 0 { FileHandle.standardError.write(Data("byzsim serve: \(left) requests still running after 30 s at shutdown\n".utf8)) }
    }
    try await HTTPDoor.run(core: core) { bound in
      var line = "byzsim serve: \(loaded.path) (\(loaded.spec), \(loaded.origin)) on http://\(bindAddress):\(bound)\n"
      if let door {
        let security = door.serverPublicKey.map { "server key \($0)" } ?? "PLAIN: credential id and token"
        line += "byzsim serve: zeromq on \(door.endpoint) (\(security))\n"
      }
      FileHandle.standardOutput.write(Data(line.utf8))
    }
  }
}

/// `byzsim audit-serving`: misconfigurations of a deployment file.
struct AuditServing: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "audit-serving",
    abstract: "Report the misconfigurations of a deployment file, with severities (exit 1 if any is high or critical).",
    discussion: """
      Example:
        byzsim audit-serving deploy.toml --json
      """)
  @Argument(help: "Deployment files (TOML).", completion: .file(extensions: ["toml"]))
  var files: [String]
  @Flag(help: "Print one JSON object: files, each with its findings (severity, rule, message).")
  var json = false

  func run() throws {
    struct FileResult: Encodable {
      let file: String
      let findings: [ServingAudit.Finding]
    }
    var results: [FileResult] = []
    for file in files {
      guard let data = FileManager.default.contents(atPath: file) else { throw UserError("\(file): cannot read the file") }
      let config = try DeployConfig.decode(String(decoding: data, as: UTF8.self), file: file, checks: false)
      results.append(FileResult(file: file, findings: ServingAudit.audit(config)))
    }
    if json {
      print(String(decoding: try JSONEncoder.snake().encode(["files": results]), as: UTF8.self))
    } else {
      for r in results {
        print("\(r.file): \(r.findings.isEmpty ? "no findings" : "\(r.findings.count) findings")")
        for f in r.findings { print("  \(f.severity.rawValue): \(f.rule): \(f.message)") }
      }
    }
    if results.contains(where: { $0.findings.contains { $0.severity >= .high } }) { throw ExitCode(1) }
  }
}
