// swift-tools-version:6.0
import PackageDescription

// MARK: - C libraries
// System-library targets: a module.modulemap and a shim.h each, nothing else.

let cLibraries: [Target] = [
  .systemLibrary(
    name: "COpenBLAS", pkgConfig: "openblas",
    providers: [.apt(["libopenblas-dev"])]),
  .systemLibrary(
    name: "CZeroMQ", pkgConfig: "libzmq",
    providers: [.apt(["libzmq3-dev"])]),
  .systemLibrary(
    name: "CZlib", pkgConfig: "zlib",
    providers: [.apt(["zlib1g-dev"])]),
]

// MARK: - Libraries

let libraries: [Target] = [
  .target(name: "Tensor", dependencies: ["COpenBLAS"]),
  .target(name: "Plugins"),
  .target(name: "Learning", dependencies: ["Tensor", "Data", "CKernels"]),
  .target(name: "Transport", dependencies: ["CZeroMQ"]),
  .target(name: "TOML"),
  // Coordinate-wise kernels in C, one target attribute per function (AVX2, AVX-512F), picked at run time.
  .target(name: "CKernels"),
  .target(name: "Aggregation", dependencies: ["Tensor", "Plugins", "CKernels"]),
  .target(name: "Attacks", dependencies: ["Tensor", "Data", "Aggregation", "Plugins", "Watermark"]),
  .target(name: "Audit", dependencies: ["Aggregation", "Tensor", "Plugins"]),
  .target(name: "Covert", dependencies: ["Tensor", "Plugins"]),
  .target(name: "Federation", dependencies: ["Tensor", "Learning", "Aggregation", "Audit", "Covert"]),
  .target(name: "Runtime", dependencies: ["Tensor", "CKernels", "Data", "Learning", "Transport", "TOML", "Plugins", "Aggregation", "Attacks", "Audit", "Covert", "Federation", "Artifacts", "Scan", "Evasion", "Watermark", "Ingestion", "Privacy", "SecureAggregation"]),
  .target(name: "Artifacts", dependencies: ["Learning", "Tensor", .product(name: "Crypto", package: "swift-crypto")]),
  .target(name: "Experiments", dependencies: ["Runtime", "TOML"]),
  .target(name: "Scan", dependencies: ["Artifacts", "Data"]),
  .target(name: "Privacy", dependencies: ["Learning", "Data", "Tensor"]),
  .target(name: "Drift", dependencies: ["Tensor"]),
  .target(name: "DepsAudit", dependencies: ["TOML", "Plugins"]),
  .target(
    name: "SecureAggregation",
    dependencies: [.product(name: "Crypto", package: "swift-crypto"), .product(name: "_CryptoExtras", package: "swift-crypto")]),
  .target(name: "Evasion", dependencies: ["Learning", "Tensor"]),
  .target(name: "Extraction", dependencies: ["Learning", "Data", "Tensor"]),
  .target(name: "Watermark", dependencies: ["Data", "Tensor", "Learning"]),
  .target(name: "Ingestion", dependencies: ["Data", "Tensor", "Learning", "Aggregation"]),
  .target(
    name: "Serving",
    dependencies: [
      "Runtime", "Learning", "Tensor", "TOML", "Artifacts", "Data", "Transport", "Drift", "Aggregation", "Audit",
      .product(name: "Hummingbird", package: "hummingbird"),
      .product(name: "Prometheus", package: "swift-prometheus"),
      .product(name: "Crypto", package: "swift-crypto"),
    ]),
  .target(
    name: "Data",
    dependencies: [
      "Tensor", "CZlib",
      .product(name: "Crypto", package: "swift-crypto"),
    ]),
]

// MARK: - Executables

let executables: [Target] = [
  .executableTarget(
    name: "byzsim",
    dependencies: [
      "Tensor", "Learning", "Data", "Transport", "Runtime", "Aggregation", "Experiments", "Artifacts", "Scan", "Attacks", "Serving", "Privacy", "Drift", "Evasion", "Extraction", "Watermark", "Ingestion", "DepsAudit",
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
      .product(name: "Crypto", package: "swift-crypto"),
    ]),
  .executableTarget(
    name: "byzsim-bench",
    dependencies: [
      "Tensor", "Learning", "Data", "Transport", "Runtime", "Aggregation", "CZeroMQ", "Artifacts", "Scan", "Ingestion", "SecureAggregation",
      .product(name: "Crypto", package: "swift-crypto"),
      .product(name: "ArgumentParser", package: "swift-argument-parser"),
    ]),
]

// MARK: - Tests

let tests: [Target] = [
  // Shared by tests only: a seeded input mutator for the fuzz tests, the reference Python venv.
  .target(name: "TestSupport", dependencies: ["Tensor"], path: "Tests/TestSupport"),
  .testTarget(name: "TensorTests", dependencies: ["Tensor"]),
  .testTarget(name: "LearningTests", dependencies: ["Learning", "Tensor", "TestSupport"]),
  .testTarget(name: "DataTests", dependencies: ["Data", "Tensor", "TestSupport"]),
  .testTarget(name: "TOMLTests", dependencies: ["TOML"]),
  .testTarget(name: "PluginsTests", dependencies: ["Plugins"]),
  .testTarget(name: "ArtifactsTests", dependencies: ["Artifacts", "Learning", "Tensor", "TestSupport"]),
  // The corpus script is run by the tests from its path (#filePath), not bundled.
  .testTarget(name: "ScanTests", dependencies: ["Scan", "TestSupport"], exclude: ["Corpus/make_corpus.py"]),
  .testTarget(
    name: "ServingTests",
    dependencies: ["Serving", "Runtime", "Tensor", "Learning", "Artifacts", "TestSupport", .product(name: "Prometheus", package: "swift-prometheus")]),
  .testTarget(name: "ExperimentsTests", dependencies: ["Experiments", "Runtime", "TOML", "TestSupport"]),
  .testTarget(name: "AttacksTests", dependencies: ["Attacks", "Aggregation", "Data", "Tensor"]),
  .testTarget(name: "AuditTests", dependencies: ["Audit", "Aggregation", "Tensor"]),
  .testTarget(name: "CovertTests", dependencies: ["Covert", "Tensor"]),
  .testTarget(name: "FederationTests", dependencies: ["Federation", "Aggregation", "Audit", "Learning", "Tensor"]),
  .testTarget(name: "AggregationTests", dependencies: ["Aggregation", "Tensor", "TestSupport"], resources: [.copy("Fixtures")]),
  .testTarget(name: "RuntimeTests", dependencies: ["Runtime", "Transport", "Learning", "Data", "Tensor", "TOML", "Federation", "TestSupport"]),
  .testTarget(name: "TransportTests", dependencies: ["Transport", "Tensor", "TestSupport"]),
  .testTarget(name: "PrivacyTests", dependencies: ["Privacy", "TestSupport"]),
  .testTarget(name: "EvasionTests", dependencies: ["Evasion", "Learning", "Tensor"]),
  .testTarget(name: "WatermarkTests", dependencies: ["Watermark", "Data", "Learning", "Tensor", "TestSupport"]),
  .testTarget(name: "ExtractionTests", dependencies: ["Extraction", "Learning", "Data", "Tensor", "TestSupport"]),
  .testTarget(name: "SecureAggregationTests", dependencies: ["SecureAggregation", "TestSupport", .product(name: "Crypto", package: "swift-crypto")]),
  .testTarget(name: "DepsAuditTests", dependencies: ["DepsAudit", "TestSupport"]),
  .testTarget(name: "DriftTests", dependencies: ["Drift", "Tensor", "TestSupport"]),
  .testTarget(name: "IngestionTests", dependencies: ["Ingestion", "Data", "Learning", "Tensor", "TestSupport"]),
  .testTarget(name: "CLITests", dependencies: ["byzsim", "Data", "Runtime", "Transport", "TestSupport"]),
]

let package = Package(
  name: "ByzSim",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "byzsim", targets: ["byzsim"]),
    .executable(name: "byzsim-bench", targets: ["byzsim-bench"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.0"),
  ],
  targets: cLibraries + libraries + executables + tests
)

// Shared Swift settings, applied in one place.
let uncheckedKernels: Set<String> = ["Tensor"]
for target in package.targets where target.type != .system {
  var settings = target.swiftSettings ?? []
  settings.append(.enableUpcomingFeature("ExistentialAny"))
  if target.type == .test {
    // `make test` builds everything once in release (-enable-testing); the test code itself
    // gains nothing from the optimiser, which would triple its compile time.
    settings.append(.unsafeFlags(["-Onone"], .when(configuration: .release)))
  }
  if uncheckedKernels.contains(target.name) {
    // Only numeric kernels, which index raw buffers in hot loops with bounds checked at the
    // buffer boundary; every parser of outside bytes keeps its bounds and overflow checks.
    settings.append(.unsafeFlags(["-Ounchecked"], .when(configuration: .release)))
  }
  target.swiftSettings = settings
}
