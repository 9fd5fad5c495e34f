import Foundation

extension BayesianClassifier {
    /// The `format` value in the metadata of every model file this library writes.
    public static let fileFormat = "swift-bnn"
    /// The model-file version this library writes and reads.
    public static let fileVersion = "1"

    /// Saves the model as safetensors (docs/reference.md, "Model file"), atomically: a crash mid-save leaves any
    /// earlier file at `url` intact.
    public func save(to url: URL) throws {
        var file = SafeTensorsFile()
        for (name, parameter) in network.namedParameters { file.append(parameter.value, named: name) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func json<T: Encodable>(_ value: T) throws -> String { String(decoding: try encoder.encode(value), as: UTF8.self) }
        file.metadata = [
            "format": Self.fileFormat,
            "version": Self.fileVersion,
            "input_shape": try json(network.inputShape),
            "architecture": try json(network.architecture),
            "training": try json(training),
            "history": try json(history),
            "classes": try json(classNames),
            "preprocessing": try json(preprocessing),
        ]
        if let calibration { file.metadata["calibration"] = try json(calibration) }
        try file.write(to: url)
    }

    /// Loads a model saved by `save(to:)`. Errors name the file and what is wrong with it.
    public static func load(from url: URL) throws -> BayesianClassifier {
        try load(SafeTensorsFile.read(from: url), path: url.path)
    }

    /// The model in a parsed model file; `path` names the file in errors. Every metadata value and size is
    /// checked before anything is allocated from it.
    public static func load(_ file: SafeTensorsFile, path: String) throws -> BayesianClassifier {
        func fail(_ reason: String) -> ModelFileError { ModelFileError(path: path, reason: reason) }
        guard file.metadata["format"] == fileFormat else {
            throw fail("not a swift-bnn model (metadata format is \(file.metadata["format"].map { "'\($0)'" } ?? "missing"))")
        }
        guard file.metadata["version"] == fileVersion else {
            throw fail("model version \(file.metadata["version"] ?? "?") is not supported (this build reads version \(fileVersion))")
        }
        let decoder = JSONDecoder()
        func decode<T: Decodable>(_ type: T.Type, _ key: String, required: Bool = true) throws -> T? {
            guard let text = file.metadata[key] else {
                if required { throw fail("metadata '\(key)' is missing") }
                return nil
            }
            do { return try decoder.decode(type, from: Data(text.utf8)) } catch {
                throw fail("metadata '\(key)' is malformed")
            }
        }
        let inputShape = try decode([Int].self, "input_shape")!
        let architecture = try decode([LayerConfiguration].self, "architecture")!
        let training = try decode(TrainingConfiguration.self, "training")!
        let history = try decode([EpochRecord].self, "history", required: false) ?? []
        let calibration = try decode(Calibration.self, "calibration", required: false)
        let classes = try decode([String].self, "classes", required: false)
        let preprocessing = try decode(InputPreprocessing.self, "preprocessing", required: false)
        // Every value read is range-checked here, so that no later use of it can trap.
        if let problem = training.invalidSetting { throw fail("metadata 'training': \(problem)") }
        if let problem = calibration?.invalidSetting { throw fail("metadata 'calibration': \(problem)") }
        if let problem = preprocessing?.invalidSetting { throw fail("metadata 'preprocessing': \(problem)") }
        // Every size is checked before a layer allocates: at most what the file stores in its tensors.
        let stored = file.tensors.reduce(0) { $0 + $1.tensor.count }
        let network: Sequential
        do {
            network = try NetworkBuilder.network(inputShape: inputShape, configurations: architecture, parameterBudget: stored)
        } catch {
            throw fail("architecture: \(error)")
        }
        for (parameterName, parameter) in network.namedParameters {
            guard let tensor = file[parameterName] else { throw fail("tensor '\(parameterName)' is missing") }
            guard tensor.shape == parameter.value.shape else {
                throw fail("tensor '\(parameterName)' has shape \(tensor.shape), the architecture needs \(parameter.value.shape)")
            }
            for i in 0..<tensor.count where !tensor.pointer[i].isFinite {
                throw fail("tensor '\(parameterName)' holds a non-finite value at index \(i)")
            }
            parameter.value.assign(from: tensor)
        }
        network.parametersDidChange()
        if let classes, classes.count != network.classes { throw fail("\(classes.count) class names for \(network.classes) outputs") }
        if let preprocessing, preprocessing.valueCount != network.inputCount {
            throw fail("metadata 'preprocessing' describes \(preprocessing.valueCount) values per input, the network reads \(network.inputCount)")
        }
        return BayesianClassifier(network: network, training: training, history: history, calibration: calibration, classNames: classes,
                                  preprocessing: preprocessing)
    }
}

/// A model file that is valid safetensors but not a usable swift-bnn model.
public struct ModelFileError: Error, CustomStringConvertible, Sendable {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
