import BNNServer
import FuzzDriver

// The body of `POST /api/predict`, as JSON and as PNG: a `PredictionInput` or an `APIError`.
FuzzDriver.run { bytes in
    _ = try? PredictionInput.parseJSON(bytes, defaultSamples: 10)
    _ = try? PredictionInput.parsePNG(bytes, samples: 10)
}
