import ArgumentParser
import Data
import Learning
import Runtime
import Serving

/// What every command that examines or attacks a model file needs: the signer's key, whether an
/// unsigned file may be loaded, and the data set the model is checked against.
struct TargetModelOptions: ParsableArguments {
  @Option(help: "The Fashion-MNIST directory.", completion: .directory)
  var data = FashionMNIST.defaultDirectory
  @Option(help: "The signer's public key (PEM), for a model outside its run directory.", completion: .file(extensions: ["pub"]))
  var pub: String?
  @Flag(help: "Load an unsigned or changed model anyway (warns).")
  var allowUnsigned = false

  /// The model file (safetensors only, its signature checked) and a network holding it.
  func load(_ path: String) throws -> (LoadedModel, Network) {
    let loaded = try ModelSource.load(path: path, publicKey: pub, policy: .required, allowUnsigned: allowUnsigned)
    let network = loaded.spec.makeNetwork(input: loaded.input, classes: loaded.classes, seed: 0)
    network.parameters = loaded.parameters
    return (loaded, network)
  }

  /// A split of the data set, refused if the model does not take its images and classes.
  func dataset(_ split: FashionMNIST.Split, for loaded: LoadedModel) throws -> Dataset {
    let set = try FashionMNIST.load(split, directory: data).dataset
    guard set.shape == loaded.input, set.classes == loaded.classes else {
      throw UserError(
        "\(loaded.path) takes \(loaded.input) images in \(loaded.classes) classes; the \(split.rawValue) set has \(set.shape) in \(set.classes)"
      )
    }
    return set
  }
}

/// An output policy of `byzsim serve` chosen on the command line: what an attacker querying
/// the server sees.
struct OutputPolicyOptions: ParsableArguments {
  @Option(help: "The target's output policy: full, rounded, top-k, label.")
  var output: OutputPolicy.Kind = .full
  @Option(help: "Decimals of the rounded policy.")
  var decimals = 2
  @Option(help: "k of the top-k policy.")
  var topK = 3
  @Option(help: "Gaussian noise added to each probability before the policy.")
  var noise = 0.0

  func validate() throws {
    guard (0...8).contains(decimals) else { throw ValidationError("--decimals must be 0 to 8: got \(decimals)") }
    guard topK >= 1 else { throw ValidationError("--top-k must be at least 1: got \(topK)") }
    guard noise >= 0 && noise <= 1 else { throw ValidationError("--noise must be in [0, 1]: got \(noise)") }
  }

  var policy: OutputPolicy { OutputPolicy(kind: output, topK: topK, decimals: decimals, noise: noise) }
}
