"""Small helper for emitting ONNX graphs from parsed dlib layers with ``onnx.helper``.

Each method appends nodes to the graph and returns the name of the output value; shapes
(C, H, W) are tracked alongside so that dlib's size-mismatched residual additions can be
given explicit ``Pad`` nodes.
"""

from __future__ import annotations

import numpy as np

OPSET = 17


def conv_out(n: int, k: int, s: int, p: int) -> int:
    """dlib's (and ONNX's floor-mode) output length of a convolution or pooling window."""
    return 1 + (n + 2 * p - k) // s


class GraphBuilder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.nodes: list = []
        self.initializers: list = []
        self._n = 0

    def fresh(self, stem: str) -> str:
        self._n += 1
        return f"{stem}_{self._n}"

    def const(self, stem: str, array: np.ndarray) -> str:
        from onnx import numpy_helper

        name = self.fresh(stem)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(self, op: str, inputs: list[str], stem: str | None = None, **attrs) -> str:
        from onnx import helper

        out = self.fresh(stem or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], name=out, **attrs))
        return out

    # -- layers -----------------------------------------------------------------------------
    def conv(self, x: str, W: np.ndarray, b: np.ndarray, stride, padding) -> str:
        w = self.const("W", W.astype(np.float32))
        bb = self.const("B", b.astype(np.float32))
        kh, kw = W.shape[2], W.shape[3]
        return self.node("Conv", [x, w, bb], "conv", kernel_shape=[kh, kw],
                         strides=[int(stride[0]), int(stride[1])],
                         pads=[int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])])

    def affine(self, x: str, gamma: np.ndarray, beta: np.ndarray) -> str:
        g = self.const("gamma", gamma.astype(np.float32).reshape(1, -1, 1, 1))
        b = self.const("beta", beta.astype(np.float32).reshape(1, -1, 1, 1))
        return self.node("Add", [self.node("Mul", [x, g], "scale"), b], "shift")

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], "relu")

    def pool(self, op: str, x: str, kernel, stride, padding) -> str:
        return self.node(op, [x], op.lower(), kernel_shape=[int(kernel[0]), int(kernel[1])],
                         strides=[int(stride[0]), int(stride[1])],
                         pads=[int(padding[0]), int(padding[1]), int(padding[0]), int(padding[1])])

    def pad_to(self, x: str, have: tuple[int, int, int], want: tuple[int, int, int]) -> str:
        """Zero-pad an NCHW value at the end of C, H and W (dlib's add_prev semantics)."""
        if have == want:
            return x
        pads = np.array([0, 0, 0, 0, 0, want[0] - have[0], want[1] - have[1], want[2] - have[2]],
                        dtype=np.int64)
        return self.node("Pad", [x, self.const("pads", pads)], "pad", mode="constant")

    def model(self, inputs: list, outputs: list, doc: str, metadata: dict[str, str]):
        from onnx import helper

        graph = helper.make_graph(self.nodes, self.name, inputs, outputs, self.initializers)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="scenemon.reference.face.dlib",
                                  doc_string=doc)
        model.ir_version = 8
        for k, v in metadata.items():
            entry = model.metadata_props.add()
            entry.key, entry.value = k, str(v)
        return model
