"""Generic parser for a serialised dlib dnn (``add_loss_layer<LOSS, add_layer<...>>``).

dlib serialises a network recursively from the outside in: the loss layer's version and
details, then, for each wrapper from the output inwards, only its version number
(``add_layer`` = 2, ``add_tag_layer`` / ``add_skip_layer`` = 1, the innermost ``add_layer``
that owns the input layer = 2 or 3). When the recursion reaches the input layer it unwinds:
the input layer's details, then each computational layer's details followed by its
bookkeeping (three bools and empty cached tensors), from the input outwards. Tag and skip
layers leave nothing but their version, so the tag/skip ids are *not* in the file: the
wiring of residual connections has to come from the network's type definition, and
`parse_network` checks the file against the expected sequence of layer kinds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .serialize import DatFormatError, DatReader

__all__ = ["Layer", "ParsedNetwork", "parse_network"]


@dataclass
class Layer:
    kind: str                       # "con", "affine", "relu", "max_pool", "avg_pool", "add_prev", "fc"
    offset: int                     # byte offset of the layer's details in the file
    attrs: dict = field(default_factory=dict)
    weights: dict = field(default_factory=dict)   # numpy arrays


@dataclass
class ParsedNetwork:
    loss: dict
    input: dict
    skeleton: list[int]             # wrapper versions, outermost first (2 = add_layer, 1 = tag/skip)
    layers: list[Layer]             # computational layers, input side first


def _read_con(r: DatReader, off: int) -> Layer:
    r.expect_string("con_4", "convolution layer version")
    params = r.tensor("convolution params")
    num_filters = r.int("num_filters")
    nr, nc = r.int("filter rows"), r.int("filter cols")
    sy, sx = r.int("stride_y"), r.int("stride_x")
    py, px = r.int("padding_y"), r.int("padding_x")
    filt = r.alias_tensor("filters alias")
    bias = r.alias_tensor("biases alias")
    for what in ("learning_rate_multiplier", "weight_decay_multiplier",
                 "bias_learning_rate_multiplier", "bias_weight_decay_multiplier"):
        r.float(what)
    flat = params.reshape(-1)
    if filt.n != num_filters or filt.nr != nr or filt.nc != nc or bias.size != num_filters:
        raise r.error(f"convolution shapes disagree: filters {filt.shape}, biases {bias.shape}, "
                      f"num_filters {num_filters}, kernel {nr}x{nc}", off)
    if flat.size != filt.size + bias.size:
        raise r.error(f"convolution params hold {flat.size} values, expected "
                      f"{filt.size} + {bias.size}", off)
    w = flat[:filt.size].reshape(filt.shape).copy()
    b = flat[filt.size:].copy()
    return Layer("con", off, dict(num_filters=num_filters, kernel=(nr, nc), stride=(sy, sx),
                                  padding=(py, px), in_channels=filt.k), dict(W=w, b=b))


def _read_affine(r: DatReader, off: int) -> Layer:
    r.expect_string("affine_", "affine layer version")
    params = r.tensor("affine params")
    gamma = r.alias_tensor("gamma alias")
    beta = r.alias_tensor("beta alias")
    mode = r.expect_int((0, 1), "affine mode")
    flat = params.reshape(-1)
    if gamma.size != beta.size or flat.size != gamma.size + beta.size:
        raise r.error(f"affine params hold {flat.size} values for gamma {gamma.shape} "
                      f"and beta {beta.shape}", off)
    return Layer("affine", off, dict(mode=mode, channels=gamma.size),
                 dict(gamma=flat[:gamma.size].copy(), beta=flat[gamma.size:].copy()))


def _read_bn_as_affine(r: DatReader, off: int) -> Layer:
    """A batch-norm layer saved in inference form; dlib loads it as ``affine_`` (the network
    types for both models use ``affine``): gamma' = gamma/sqrt(var+eps),
    beta' = beta - mean*gamma'."""
    r.expect_string("bn_con2", "batch-norm layer version")
    params = r.tensor("bn params")
    gamma = r.alias_tensor("gamma alias")
    beta = r.alias_tensor("beta alias")
    r.tensor("bn means")
    r.tensor("bn invstds")
    running_means = r.tensor("bn running_means").reshape(-1)
    running_vars = r.tensor("bn running_variances").reshape(-1)
    r.int("num_updates")
    r.int("running_stats_window_size")
    for what in ("learning_rate_multiplier", "weight_decay_multiplier",
                 "bias_learning_rate_multiplier", "bias_weight_decay_multiplier"):
        r.float(what)
    eps = r.float("eps")
    flat = params.reshape(-1)
    c = gamma.size
    if beta.size != c or flat.size != 2 * c or running_means.size != c or running_vars.size != c:
        raise r.error(f"batch-norm tensors disagree: params {flat.size}, gamma {c}, "
                      f"means {running_means.size}, variances {running_vars.size}", off)
    if np.any(running_vars + eps <= 0):
        raise r.error("batch-norm variances are not positive", off)
    g = (flat[:c] / np.sqrt(running_vars + np.float32(eps))).astype(np.float32)
    b = (flat[c:] - g * running_means).astype(np.float32)
    return Layer("affine", off, dict(mode=0, channels=c, from_bn=True, eps=eps),
                 dict(gamma=g, beta=b))


def _read_pool(r: DatReader, off: int, kind: str) -> Layer:
    r.expect_string(f"{kind}_2", f"{kind} layer version")
    nr, nc = r.int("pool rows"), r.int("pool cols")
    sy, sx = r.int("stride_y"), r.int("stride_x")
    py, px = r.int("padding_y"), r.int("padding_x")
    return Layer(kind, off, dict(kernel=(nr, nc), stride=(sy, sx), padding=(py, px)))


def _read_fc(r: DatReader, off: int) -> Layer:
    version = r.expect_string(("fc_2",), "fc layer version")
    num_outputs = r.int("num_outputs")
    num_inputs = r.int("num_inputs")
    params = r.tensor("fc params")
    weights = r.alias_tensor("weights alias")
    biases = r.alias_tensor("biases alias")
    bias_mode = r.expect_int((0, 1), "fc bias mode")   # 0 = FC_HAS_BIAS, 1 = FC_NO_BIAS
    for what in ("learning_rate_multiplier", "weight_decay_multiplier",
                 "bias_learning_rate_multiplier", "bias_weight_decay_multiplier"):
        r.float(what)
    flat = params.reshape(-1)
    if weights.size != num_inputs * num_outputs or (bias_mode == 0 and biases.size != num_outputs):
        raise r.error(f"fc weights {weights.shape} do not hold {num_inputs}x{num_outputs}", off)
    has_bias = bias_mode == 0
    expected = weights.size + (num_outputs if has_bias else 0)
    if flat.size != expected:
        raise r.error(f"fc params hold {flat.size} values, expected {expected}", off)
    w = flat[:weights.size].reshape(num_inputs, num_outputs).copy()
    b = flat[weights.size:].copy() if has_bias else None
    out = dict(W=w)
    if b is not None:
        out["b"] = b
    return Layer("fc", off, dict(version=version, num_inputs=num_inputs,
                                 num_outputs=num_outputs, has_bias=has_bias), out)


def _read_layer(r: DatReader) -> Layer:
    off = r.offset
    name = r.peek_string()
    if name is None:
        raise r.error("expected a layer name")
    if name.startswith("con_"):
        return _read_con(r, off)
    if name == "affine_":
        return _read_affine(r, off)
    if name == "bn_con2":
        return _read_bn_as_affine(r, off)
    if name == "relu_":
        r.string()
        return Layer("relu", off)
    if name == "add_prev_":
        r.string()
        return Layer("add_prev", off)
    if name.startswith("max_pool_"):
        return _read_pool(r, off, "max_pool")
    if name.startswith("avg_pool_"):
        return _read_pool(r, off, "avg_pool")
    if name.startswith("fc_"):
        return _read_fc(r, off)
    raise r.error(f"unsupported layer type {name!r}")


def _read_input(r: DatReader) -> dict:
    off = r.offset
    name = r.expect_string(("input_rgb_image_sized", "input_rgb_image_pyramid",
                            "input_rgb_image_pyramid2"), "input layer")
    means = [r.float("avg_red"), r.float("avg_green"), r.float("avg_blue")]
    info: dict = dict(kind=name, mean_rgb=means, offset=off)
    if name == "input_rgb_image_sized":
        info["size"] = (r.int("input rows"), r.int("input cols"))
    elif name == "input_rgb_image_pyramid2":
        info["pyramid_padding"] = r.int("pyramid_padding")
        info["pyramid_outer_padding"] = r.int("pyramid_outer_padding")
    else:
        info["pyramid_padding"], info["pyramid_outer_padding"] = 10, 11
    return info


def _read_layer_tail(r: DatReader, version: int, innermost: bool) -> None:
    """The bookkeeping add_layer writes after a layer's details; all must be empty state."""
    for what in ("this_layer_setup_called", "gradient_input_is_stale",
                 "get_output_and_gradient_input_disabled"):
        r.bool(what)
    r.empty_tensor("x_grad")
    r.empty_tensor("cached_output")
    if innermost:
        r.empty_tensor("grad_final")
        if version >= 3:
            r.int("sample_expansion_factor")
    elif version >= 2:
        r.empty_tensor("params_grad")


def parse_network(r: DatReader, read_loss, expected_kinds: list[str] | None = None,
                  expected_skeleton: list[int] | None = None) -> ParsedNetwork:
    """Parse a whole network. ``read_loss(reader) -> dict`` reads the loss layer's details.

    ``expected_kinds`` (input side first) and ``expected_skeleton`` (wrapper versions,
    outermost first, 2 for add_layer and 1 for tag/skip) make the parse refuse a file whose
    architecture differs from the one the ONNX graph will be wired for.
    """
    r.expect_int(1, "add_loss_layer version")
    loss = read_loss(r)
    skeleton: list[int] = []
    while True:
        start = r.offset
        name = r.peek_string()
        if name is not None and name.startswith("input_"):
            break
        skeleton.append(r.expect_int((1, 2, 3), "layer wrapper version"))
        if len(skeleton) > 10000:
            raise r.error("no input layer found", start)
    if not skeleton or skeleton[-1] not in (2, 3):
        raise r.error("the innermost layer wrapper must be an add_layer (version 2 or 3)")
    inner_version = skeleton.pop()
    n_layers = 1 + sum(1 for v in skeleton if v == 2)
    if expected_skeleton is not None and skeleton != expected_skeleton:
        raise r.error(f"network structure differs from the expected architecture "
                      f"(layer wrapper sequence of {len(skeleton)} entries does not match)")
    inp = _read_input(r)
    layers: list[Layer] = []
    versions = [inner_version] + [v for v in reversed(skeleton) if v == 2]
    for i in range(n_layers):
        layer = _read_layer(r)
        if expected_kinds is not None and (i >= len(expected_kinds)
                                           or layer.kind != expected_kinds[i]):
            want = expected_kinds[i] if i < len(expected_kinds) else "end of network"
            raise DatFormatError(f"layer {i} is {layer.kind!r}, expected {want!r}",
                                 layer.offset, r.source)
        _read_layer_tail(r, versions[i], innermost=(i == 0))
        layers.append(layer)
    if expected_kinds is not None and len(layers) != len(expected_kinds):
        raise r.error(f"network has {len(layers)} layers, expected {len(expected_kinds)}")
    return ParsedNetwork(loss=loss, input=inp, skeleton=skeleton + [inner_version], layers=layers)


def check_finite(arrays: dict[str, np.ndarray]) -> None:
    for k, v in arrays.items():
        if v is not None and not np.all(np.isfinite(v)):
            raise ValueError(f"non-finite weights in {k}")
