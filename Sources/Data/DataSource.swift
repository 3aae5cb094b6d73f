import Foundation

/// A loaded split and the digests of the files it came from.
public struct LoadedSplit: Sendable {
  public var dataset: Dataset
  public let files: [FileDigest]
  public init(dataset: Dataset, files: [FileDigest]) {
    self.dataset = dataset
    self.files = files
  }
}

/// Where a run's data comes from (`[data]` of a topology), and its loader.
/// - `fashion-mnist`: the four IDX files of Fashion-MNIST in `directory` (10 classes).
/// - `idx`: any MNIST-style IDX data set in `directory` (the same four file names, plain or
///   gzip); the classes are 0 … the largest label of either split.
/// - `csv`: a labelled table in `file` (see `TabularCSV`), split into train and test by
///   `splitSeed` and standardised on the training rows.
public struct DataSource: Sendable, Equatable {
  public enum Kind: String, Sendable, CaseIterable {
    case fashionMNIST = "fashion-mnist"
    case idx
    case csv
  }

  public var kind: Kind
  public var directory: String
  public var file: String?
  public var label: TabularCSV.LabelColumn
  public var testFraction: Double
  public var splitSeed: UInt64

  public init(
    kind: Kind, directory: String = FashionMNIST.defaultDirectory, file: String? = nil, label: TabularCSV.LabelColumn = .index(-1),
    testFraction: Double = 0.2, splitSeed: UInt64 = 0
  ) {
    self.kind = kind; self.directory = directory; self.file = file; self.label = label
    self.testFraction = testFraction; self.splitSeed = splitSeed
  }

  /// The path the data is read from (the directory of IDX files, or the CSV file).
  public var location: String { kind == .csv ? file ?? "" : directory }

  /// Both splits, each with the digests of the files read for it.
  public func load() throws -> (train: LoadedSplit, test: LoadedSplit) {
    switch kind {
    case .fashionMNIST:
      return (try FashionMNIST.load(.train, directory: directory), try FashionMNIST.load(.test, directory: directory))
    case .idx:
      return try loadIDX()
    case .csv:
      guard let file else { throw DataError.csv(path: "[data]", line: 0, message: "dataset = \"csv\" needs file = \"PATH.csv\"") }
      let stored: [UInt8]
      do {
        stored = [UInt8](try Data(contentsOf: URL(fileURLWithPath: file)))
      } catch {
        throw DataError.csv(path: file, line: 0, message: "cannot read the file (\((error as NSError).localizedDescription))")
      }
      let split = try TabularCSV.split(TabularCSV.parse(stored, path: file, label: label), testFraction: testFraction, seed: splitSeed)
      let digest = FileDigest(path: file, contents: stored)
      return (LoadedSplit(dataset: split.train, files: [digest]), LoadedSplit(dataset: split.test, files: [digest]))
    }
  }

  /// The test split alone (what the coordinator evaluates on): IDX data sets read only their
  /// test files (and, for `idx`, the training labels that fix the classes).
  public func loadTest() throws -> LoadedSplit {
    switch kind {
    case .fashionMNIST: return try FashionMNIST.load(.test, directory: directory)
    case .idx: return try loadIDX(.test, classes: try idxClasses())
    case .csv: return try load().test
    }
  }

  /// An IDX split with labels read as bytes, checked against `classes`.
  func loadIDX(_ s: FashionMNIST.Split, classes: Int) throws -> LoadedSplit {
    try FashionMNIST.load(
      imagesPath: try FashionMNIST.locate("\(s.filePrefix)-images-idx3-ubyte", in: directory),
      labelsPath: try FashionMNIST.locate("\(s.filePrefix)-labels-idx1-ubyte", in: directory), classes: classes)
  }

  /// An IDX directory's classes: 0 … the largest label of either split.
  func idxClasses() throws -> Int {
    var largest = 0
    for s in FashionMNIST.Split.allCases {
      let path = try FashionMNIST.locate("\(s.filePrefix)-labels-idx1-ubyte", in: directory)
      let labels = try IDXArray(parsing: try FashionMNIST.readMaybeCompressed(path).0, path: path, expectedRank: 1)
      largest = max(largest, Int(labels.bytes.max() ?? 0))
    }
    guard largest >= 1 else {
      throw DataError.shapeMismatch(path: directory, expected: "labels of at least 2 classes", found: "every label is \(largest)")
    }
    return largest + 1
  }

  func loadIDX() throws -> (train: LoadedSplit, test: LoadedSplit) {
    let classes = try idxClasses()
    return (try loadIDX(.train, classes: classes), try loadIDX(.test, classes: classes))
  }
}
