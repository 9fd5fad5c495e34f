#!/usr/bin/env python3
"""Reads a swift-bnn model file with numpy and safetensors only (the format: docs/model-format.md) and
estimates the model's predictive mean class probabilities for one input by Monte Carlo.

  read_model.py MODEL INPUT [--samples S] [--seed N]

INPUT is a JSON file holding one input as a flat list of numbers: for a table, the raw feature values
(the model's recorded standardisation is applied here); for an image, its values in [0, 1] already at the
model's shape, channel-major (resizing and MNIST-style digit normalisation are not reproduced here).

Prints one JSON object: {"classes": [names], "mean": [p per class], "std": [...], "samples": S}, where
"std" is the standard deviation of each class's probability over the samples, so that the Monte Carlo
standard error of "mean" is std / sqrt(S).

Sampling: every sample is one network drawn from the posterior, w = mu + softplus(rho) * eps with
eps ~ N(0, 1) (softplus(rho) = log(1 + exp(rho))). Dense layers draw it by local reparameterisation (their
outputs x.W + b drawn from N(x.mu_W + mu_b, x^2.sigma_W^2 + sigma_b^2)), which for a single input is the same
distribution as drawing W; convolutions draw their weights, shared by every position of the image.
Dropout layers drop each unit with probability p and scale the rest by 1/(1 - p); an ensemble takes sample
s from member s mod K.
Exit status 0 on success, 1 on a bad file (message on stderr), 64 on bad usage.
"""
import argparse
import json
import sys

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from safetensors import safe_open


def load(path):
    """The metadata (each JSON value decoded) and the tensors of a swift-bnn model file."""
    with safe_open(path, framework="np") as handle:
        raw = handle.metadata() or {}
        tensors = {name: handle.get_tensor(name).astype(np.float64) for name in handle.keys()}
    if raw.get("format") != "swift-bnn" or raw.get("version") != "1":
        raise ValueError(f"{path}: not a swift-bnn version 1 model (format {raw.get('format')!r}, version {raw.get('version')!r})")
    # Every value but format and version is a JSON document stored as a string.
    metadata = {key: (value if key in ("format", "version") else json.loads(value)) for key, value in raw.items()}
    return metadata, tensors


def parameter(tensors, name):
    """Layer parameter `name`: a point tensor, or (for Bayesian layers) its mean and standard deviation."""
    if name in tensors:
        return tensors[name], None
    mu, rho = tensors[name + ".mu"], tensors[name + ".rho"]
    return mu, np.logaddexp(0.0, rho)  # sigma = softplus(rho), computed without overflow


def forward(metadata, tensors, x, samples, rng):
    """Class probabilities [samples, classes] of `samples` networks drawn from the posterior, for input x."""
    return network(metadata["architecture"], metadata["input_shape"], tensors, "", x, samples, rng)


def network(architecture, input_shape, tensors, name_prefix, x, samples, rng):
    """Class probabilities [samples, classes] of the network `architecture` whose tensors are named
    `<name_prefix>layers.<i>.<parameter>`, for input x."""
    if len(architecture) == 1 and architecture[0]["kind"] == "ensemble":
        # An equal-weight mixture: sample s comes from member s mod K (every member gets S/K samples, up to one).
        members = architecture[0]["members"]
        parts = [network(member, architecture[0]["inputShape"], tensors, f"{name_prefix}layers.0.members.{k}.", x,
                         len(range(k, samples, len(members))), rng)
                 for k, member in enumerate(members) if k < samples]
        return np.concatenate(parts)
    a = np.broadcast_to(x.reshape([1] + input_shape), [samples] + input_shape).copy()
    for index, layer in enumerate(architecture):
        kind, prefix = layer["kind"], f"{name_prefix}layers.{index}."
        if kind in ("dense", "bayesian_dense"):
            a = a.reshape(samples, -1)  # dense layers flatten their input, as the library does
            w_mu, w_sigma = parameter(tensors, prefix + "weight")  # [inputs, outputs]
            b_mu, b_sigma = parameter(tensors, prefix + "bias")  # [outputs]
            mean = a @ w_mu + b_mu
            if w_sigma is None:
                a = mean
            else:
                variance = (a * a) @ (w_sigma ** 2) + b_sigma ** 2
                a = mean + np.sqrt(variance) * rng.standard_normal(mean.shape)
        elif kind in ("conv2d", "bayesian_conv2d"):
            channels, height, width = layer["channels"], layer["height"], layer["width"]
            k, stride, padding = layer["kernelSize"], layer.get("stride") or 1, layer.get("padding") or 0
            a = a.reshape(samples, channels, height, width)
            a = np.pad(a, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
            patches = sliding_window_view(a, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]  # [S, C, oh, ow, k, k]
            w_mu, w_sigma = parameter(tensors, prefix + "weight")  # [filters, channels, k, k]
            b_mu, b_sigma = parameter(tensors, prefix + "bias")  # [filters]
            if w_sigma is None:
                a = np.einsum("schwij,fcij->sfhw", patches, w_mu) + b_mu[None, :, None, None]
            else:
                w = w_mu + w_sigma * rng.standard_normal((samples,) + w_mu.shape)
                b = b_mu + b_sigma * rng.standard_normal((samples,) + b_mu.shape)
                a = np.einsum("schwij,sfcij->sfhw", patches, w) + b[:, :, None, None]
        elif kind == "relu":
            a = np.maximum(a, 0.0)
        elif kind == "dropout":
            # Monte Carlo dropout: each unit kept with probability 1 - p and scaled by 1 / (1 - p).
            p = layer["rate"]
            a = a * (rng.random(a.shape) >= p) / (1.0 - p)
        elif kind == "max_pool2d":
            channels, height, width = layer["channels"], layer["height"], layer["width"]
            k = layer["kernelSize"]
            stride = layer.get("stride") or k
            a = a.reshape(samples, channels, height, width)
            a = sliding_window_view(a, (k, k), axis=(2, 3))[:, :, ::stride, ::stride].max(axis=(-2, -1))
        elif kind == "flatten":
            a = a.reshape(samples, -1)
        else:
            raise ValueError(f"layer {index}: kind {kind!r} is not one this reader knows")
    logits = a.reshape(samples, -1)
    logits = logits - logits.max(axis=1, keepdims=True)
    probabilities = np.exp(logits)
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def prepare(metadata, values):
    """The network's input row for one raw input, as the model's recorded preprocessing makes it."""
    x = np.asarray(values, dtype=np.float64)
    expected = int(np.prod(metadata["input_shape"]))
    if x.size != expected:
        raise ValueError(f"the input has {x.size} values; the model reads {expected}")
    preprocessing = metadata.get("preprocessing")  # absent in files written before it existed: MNIST images
    if preprocessing and preprocessing["kind"] == "tabular":
        x = (x - np.asarray(preprocessing["means"])) / np.asarray(preprocessing["standard_deviations"])
    return x


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("input")
    parser.add_argument("--samples", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args(argv[1:])
    if arguments.samples < 1:
        parser.error("--samples must be at least 1")
    try:
        metadata, tensors = load(arguments.model)
        with open(arguments.input) as handle:
            x = prepare(metadata, json.load(handle))
        rng = np.random.default_rng(arguments.seed)
        # Chunks of samples bound the memory of convolutional networks.
        chunks = [forward(metadata, tensors, x, min(500, arguments.samples - start), rng)
                  for start in range(0, arguments.samples, 500)]
    except (OSError, ValueError, KeyError) as error:
        print(f"read_model.py: {error}", file=sys.stderr)
        return 1
    probabilities = np.concatenate(chunks)
    classes = metadata.get("classes") or [str(c) for c in range(probabilities.shape[1])]
    print(json.dumps({"classes": classes, "mean": probabilities.mean(axis=0).tolist(),
                      "std": probabilities.std(axis=0).tolist(), "samples": arguments.samples}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
