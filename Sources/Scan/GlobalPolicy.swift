/// Which globals a model file may import: an allowlist of what legitimate PyTorch, NumPy and
/// joblib files use, a denylist of what runs code, touches files or the network, and a rule for
/// everything else.
///
/// The denylist follows the globals flagged by fickling (Trail of Bits, "Never a dill moment",
/// 2021) and ProtectAI's modelscan, and adds the scanner bypasses published since: `pydoc.locate`,
/// `importlib.import_module`, `timeit.timeit`, `code.InteractiveInterpreter` and
/// `numpy.f2py.crackfortran.getlincoef` (each resolves or evaluates a string the pickle supplies;
/// see JFrog and Checkmarx's 2024–2025 write-ups on picklescan bypasses), and attribute chains
/// (`STACK_GLOBAL('torch', 'serialization.os.system')`, `builtins.__class__.__subclasses__`),
/// which protocol 4's dotted names allow.
public struct GlobalPolicy: Sendable {
  /// How a global is classed.
  public enum Class: Equatable, Sendable {
    /// On the allowlist: what model files are made of.
    case allowed
    /// On the denylist, with why.
    case denied(String)
    /// In a well-known data library (torch, numpy, sklearn, …) but not on the allowlist.
    case library
    /// Anything else.
    case unlisted
  }

  /// Any global outside the allowlist is at least suspicious (the default accepts globals of
  /// well-known data libraries, reporting them).
  public var strict: Bool
  /// Extra globals the user allows (`--allow module.name`).
  public var extraAllowed: Set<String>

  public init(strict: Bool = false, extraAllowed: Set<String> = []) {
    self.strict = strict
    self.extraAllowed = extraAllowed
  }

  /// The severity a pickle earns for importing `global` (nil: no finding), and why.
  public func judge(_ global: GlobalName) -> (Severity, String)? {
    switch classify(global) {
    case .allowed: return nil
    case .denied(let why): return (.malicious, why)
    case .library: return strict ? (.suspicious, "not on the allowlist (--strict)") : nil
    case .unlisted:
      return (.suspicious, strict ? "not on the allowlist (--strict)" : "not on the allowlist and not from a known data library")
    }
  }

  public func classify(_ global: GlobalName) -> Class {
    let module = Self.modern[global.module] ?? global.module
    let path = "\(module).\(global.name)"
    if extraAllowed.contains(path) || Self.allowed.contains(path) { return .allowed }
    let components = path.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
    if let why = Self.deniedReason(components) { return .denied(why) }
    let nameParts = global.name.split(separator: ".", omittingEmptySubsequences: false)
    if nameParts.contains(where: { $0.hasPrefix("__") && $0.hasSuffix("__") }) {
      return .denied("reaches a dunder attribute (\(global.name)): the path to builtins, globals and subclasses")
    }
    if nameParts.count > 1 {
      // A name with dots makes the unpickler walk attributes: whatever they reach is called.
      for part in nameParts.dropLast() where Self.deniedModuleRoots.contains(String(part)) {
        return .denied("walks an attribute chain through `\(part)` (\(global.name))")
      }
      if strict || Self.library(module) == false { return .unlisted }
    }
    if nameParts.contains(where: { Self.deniedCallables.contains(String($0)) }) {
      return .denied("names a code-running function (\(global.name)) in an unexpected module")
    }
    return Self.library(module) ? .library : .unlisted
  }

  static func library(_ module: String) -> Bool {
    let root = module.split(separator: ".").first.map(String.init) ?? module
    return libraryRoots.contains(root)
  }

  static func deniedReason(_ components: [String]) -> String? {
    // Longest matching prefix wins: `numpy.f2py` is denied while `numpy` is a library.
    for n in stride(from: components.count, through: 1, by: -1) {
      let prefix = components[0..<n].joined(separator: ".")
      if let why = denied[prefix] { return why }
    }
    return nil
  }

  /// Python 2 names the unpickler maps to Python 3's.
  static let modern: [String: String] = ["__builtin__": "builtins", "copy_reg": "copyreg", "cPickle": "pickle"]

  static let libraryRoots: Set<String> = [
    "torch", "numpy", "collections", "sklearn", "scipy", "joblib", "pandas", "datetime", "decimal", "fractions",
  ]

  /// What legitimate model files import.
  static let allowed: Set<String> = {
    var set: Set<String> = [
      "collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
      "builtins.set", "builtins.frozenset", "builtins.slice", "builtins.complex", "builtins.bytearray", "builtins.bytes",
      "builtins.range", "builtins.object", "builtins.list", "builtins.dict", "builtins.tuple", "builtins.int",
      "builtins.float", "builtins.str", "builtins.bool",
      "copyreg._reconstructor", "_codecs.encode",
      "torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
      "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
      "torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_device_tensor_from_numpy",
      "torch._utils._rebuild_meta_tensor_no_storage", "torch._utils._rebuild_wrapper_subclass",
      "torch._tensor._rebuild_from_type", "torch._tensor._rebuild_from_type_v2",
      "torch.Size", "torch.device", "torch.Tensor", "torch.nn.parameter.Parameter", "torch.storage.UntypedStorage",
      "torch.storage.TypedStorage", "torch.UntypedStorage", "torch.contiguous_format", "torch.channels_last",
      "torch.preserve_format",
      "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray", "numpy.dtype",
      "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.core.numeric._frombuffer",
      "numpy._core.numeric._frombuffer",
      "joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle_compat.NDArrayWrapper",
    ]
    for storage in [
      "Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool", "ComplexFloat", "ComplexDouble",
      "QInt8", "QUInt8", "QInt32",
    ] {
      set.insert("torch.\(storage)Storage")
    }
    for dtype in [
      "float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool", "complex64",
      "complex128", "float", "double", "half", "long", "int", "short",
    ] {
      set.insert("torch.\(dtype)")
    }
    return set
  }()

  /// Modules (with their submodules) and single globals that have no place in a model file.
  static let denied: [String: String] = {
    var map: [String: String] = [:]
    func deny(_ names: [String], _ why: String) { for n in names { map[n] = why } }
    deny(["os", "posix", "nt"], "operating-system calls: system, popen, exec*, remove, …")
    deny(["subprocess", "_posixsubprocess", "pty", "popen2", "commands"], "starts processes")
    deny(["runpy"], "runs Python modules and files")
    deny(["shutil"], "copies, moves and deletes files")
    deny(
      ["socket", "http", "urllib", "urllib2", "requests", "ftplib", "smtplib", "telnetlib", "ssl", "asyncio", "xmlrpc", "webbrowser"],
      "network access")
    deny(["sys"], "interpreter internals (sys.modules, sys.settrace, …)")
    deny(["ctypes", "_ctypes", "cffi"], "calls native code")
    deny(["importlib", "imp", "pkgutil", "zipimport"], "imports any module by name (importlib.import_module: a published bypass)")
    deny(["pickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle"], "loads another pickle or a code object")
    deny(["types"], "builds code objects and functions")
    deny(["code", "codeop"], "compiles and runs Python source (code.InteractiveInterpreter: a published bypass)")
    deny(["pydoc"], "resolves any dotted name to an object (pydoc.locate: a published bypass)")
    deny(["timeit"], "runs Python source strings (timeit.timeit: a published bypass)")
    deny(["pdb", "bdb", "trace", "profile", "cProfile", "doctest"], "runs Python source strings")
    deny(["multiprocessing", "threading", "_thread", "signal"], "starts processes or threads, or handles signals")
    deny(["platform"], "platform.popen runs commands")
    deny(["setuptools", "distutils", "pip"], "builds or installs packages")
    deny(["numpy.f2py"], "numpy.f2py.crackfortran.getlincoef evaluates a string (a published bypass)")
    deny(["numpy.testing", "numpy.distutils"], "runs Python source strings (numpy.testing's runstring)")
    deny(["numpy.lib.npyio", "numpy.load", "numpy.loadtxt", "numpy.fromfile"], "reads files (and pickles, with allow_pickle)")
    deny(["numpy.save", "numpy.savez", "numpy.savez_compressed", "numpy.savetxt", "numpy.memmap"], "writes files")
    deny(
      ["torch.hub", "torch.package", "torch.jit", "torch.serialization", "torch.load", "torch.save", "torch.storage._load_from_bytes"],
      "loads or saves models: another pickle, remote code or TorchScript")
    deny(["torch.utils.cpp_extension"], "compiles and loads C++ code")
    deny(["torch.distributed", "torch.multiprocessing"], "starts processes or opens connections")
    deny(["io.open", "_io.open", "io.FileIO", "_io.FileIO", "codecs.open"], "opens files")
    for module in ["builtins", "operator", "_operator", "functools"] {
      for name in [
        "eval", "exec", "execfile", "compile", "getattr", "setattr", "delattr", "__import__", "open", "file",
        "globals", "locals", "vars", "breakpoint", "input", "help", "apply", "reload", "attrgetter", "methodcaller",
      ]
      where module == "builtins" || ["attrgetter", "methodcaller"].contains(name) {
        map["\(module).\(name)"] =
          name == "attrgetter" || name == "methodcaller" || name == "getattr"
          ? "reaches any attribute of any object" : "runs code, imports modules or opens files"
      }
    }
    return map
  }()

  /// First components of denied modules: a dotted name that walks through one is denied.
  static let deniedModuleRoots: Set<String> = [
    "os", "posix", "nt", "subprocess", "sys", "builtins", "__builtins__", "importlib", "runpy", "shutil", "socket", "pty",
    "ctypes", "pickle", "marshal", "types", "code", "pydoc", "timeit", "serialization", "hub",
  ]

  /// Names that run code wherever they are found (`somemodule.eval` is as bad as `builtins.eval`).
  static let deniedCallables: Set<String> = [
    "system", "popen", "exec", "eval", "execfile", "__import__", "spawn", "spawnv", "spawnl", "execv", "execve",
    "getlincoef", "runstring", "import_module", "locate", "InteractiveInterpreter", "InteractiveConsole", "timeit",
  ]
}
