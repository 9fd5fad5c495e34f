import BNN
import Foundation
import FuzzDriver

// Model files: safetensors parsing, then the model load (metadata, architecture, tensors); a loaded
// model answers one prediction with its default rule and sample count.
FuzzDriver.run { bytes in
    guard let file = try? SafeTensorsFile.read(data: Data(bytes), name: "fuzz.safetensors"),
          let model = try? BayesianClassifier.load(file, path: "fuzz.safetensors"),
          let rule = try? DecisionRule.make(kind: model.calibration == nil ? .median : .calibrated, model: model)
    else { return }
    var generator = RandomGenerator(seed: 0)
    let input = Tensor(shape: [1, model.network.inputCount], repeating: 0.5)
    _ = model.predict(input, rule: rule, samples: min(model.defaultSampleCount, 3), generator: &generator)
}
