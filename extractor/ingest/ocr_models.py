"""RapidOCR's PP-OCRv4 models, regrouped so that onnxruntime runs them ~25% faster, and the
detector's session with a memory arena. Used by ``ocr.RapidReader``.

PaddleOCR's ONNX export spells out each layer's affine and each HardSwish as separate elementwise
ops, which onnxruntime cannot fuse into the convolutions around them: every one is another pass
over a full activation tensor. ``fuse`` regroups the same arithmetic (to float rounding) into forms
onnxruntime fuses. ``fused_models`` makes the regrouped copies once per model file into
``OGI_OCR_CACHE`` (default ``~/.cache/ogi-extract/ocr``), and keeps them only where they give the
shipped model's outputs on a probe input; where anything fails, the shipped models are used.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

FUSED_VERSION = 4  # bump when ``fuse`` changes: cached models are named by it
_PROBES = {"Det": (1, 3, 96, 128), "Rec": (1, 3, 48, 96)}


def fused_models() -> dict[str, str]:
    """RapidOCR's keyword arguments (``det_model_path``, ``rec_model_path``) naming regrouped copies
    of its detection and recognition models, made once into the cache. Empty (the shipped models)
    when they cannot be made, checked or written."""
    try:
        import rapidocr_onnxruntime
        from rapidocr_onnxruntime.utils import read_yaml

        root = Path(rapidocr_onnxruntime.__file__).parent
        cache = Path(os.environ.get("OGI_OCR_CACHE") or Path.home() / ".cache" / "ogi-extract" / "ocr")
        config = read_yaml(str(root / "config.yaml"))
        out = {}
        for part, probe in _PROBES.items():
            src = root / config[part]["model_path"]
            data = src.read_bytes()
            dst = cache / f"{src.stem}.{hashlib.sha256(data).hexdigest()[:16]}.fused{FUSED_VERSION}.onnx"
            if not dst.exists():
                fused = fuse(data)
                if not same_outputs(data, fused, probe):
                    return {}
                cache.mkdir(parents=True, exist_ok=True)
                tmp = dst.with_name(f"{dst.name}.{os.getpid()}.tmp")  # concurrent workers: last rename wins
                tmp.write_bytes(fused)
                os.replace(tmp, dst)
                for stale in cache.glob(f"{src.stem}.*.fused*.onnx"):  # an older rewrite, or model
                    if stale != dst:
                        stale.unlink(missing_ok=True)
            out[f"{part.lower()}_model_path"] = str(dst)
        return out
    except Exception:  # noqa: BLE001 - no onnx package, a read-only home, a new model layout: the shipped models work
        return {}


def same_outputs(model: bytes, fused: bytes, probe: tuple[int, ...]) -> bool:
    """Do the two models give the same output (to float rounding) on a random input?"""
    x = np.random.default_rng(0).uniform(-1, 1, probe).astype(np.float32)
    outs = []
    for m in (model, fused):  # one session at a time
        sess = _session(m, threads=1)
        outs.append(sess.run(None, {sess.get_inputs()[0].name: x})[0])
        del sess
    return outs[0].shape == outs[1].shape and bool(np.allclose(outs[0], outs[1], rtol=1e-3, atol=1e-4))


def arena_session(sess, threads: int):
    """The detector's session again, with onnxruntime's memory arena (and no memory patterns): its
    ~170 MB of activations for a page are allocated once and reused page after page. RapidOCR's
    sessions (no arena) allocate them afresh in every run: the first run on a page size, tensor by
    tensor, left a fragmented heap of ~200 MB behind it (a scan peaked at ~620 MB), and each later
    run's pages were zeroed by the kernel again (~0.1 CPU-s a page). ``sess`` itself when its model
    is not a file."""
    path = getattr(sess, "_model_path", None)
    return _session(path, threads, arena=True) if path else sess


def _session(model: str | bytes, threads: int, arena: bool = False):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 4
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads > 0:
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
    provider: str | tuple = "CPUExecutionProvider"
    if arena:
        opts.enable_cpu_mem_arena, opts.enable_mem_pattern = True, False
        provider = ("CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"})
    return ort.InferenceSession(model, opts, providers=[provider])


def fuse(model: bytes) -> bytes:
    """A PP-OCRv4 model (PaddleOCR exported to ONNX) with the same arithmetic regrouped, so that
    onnxruntime fuses it into its convolutions and keeps them in its blocked (NCHWc) layout:

    1. a scalar affine right after a Conv (PPLCNetV3's learnable affine blocks) goes into the Conv's
       weights and bias;
    2. HardSwish spelled out as x * clip(x + 3, 0, 6) / 6 becomes x * HardSigmoid(x), which
       onnxruntime fuses into the Conv before it;
    3. a scalar affine before a Conv goes into that Conv's weights and bias when it pads nothing (or
       the affine has no offset: zeros scale to zeros); before a padded depthwise Conv it becomes a
       per-channel BatchNormalization (the Conv must still pad the affine's output with zeros);
    4. a ConvTranspose's per-channel bias and the BatchNormalization after it go into its weights;
    5. x + x * gate (a squeeze-and-excitation block) becomes x * (gate + 1): one pass over x, and one
       tensor of x's size less alive at once.
    """
    import onnx

    proto = onnx.load_from_string(model)
    _Graph(proto.graph).regroup()
    return proto.SerializeToString()


class _Graph:
    """The model's nodes as a list that the passes edit in place; written back by ``regroup``."""

    def __init__(self, graph):
        from onnx import numpy_helper

        self.graph = graph
        self.nodes = [type(n).FromString(n.SerializeToString()) for n in graph.node]  # own copies
        self.outputs = {o.name for o in graph.output}
        self.consts: dict[str, np.ndarray] = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
        for n in self.nodes:
            value = _attr(n, "value") if n.op_type == "Constant" and len(n.output) == 1 else None
            if value is not None and getattr(value, "data_type", None) == 1:  # a FLOAT tensor
                self.consts[n.output[0]] = numpy_helper.to_array(value)
        self.added: list = []  # Constant nodes for the new weights, placed first

    def regroup(self) -> None:
        for step in (self._conv_then_affine, self._hardswish, self._affine_then_conv,
                     self._conv_transpose_bias, self._gate_plus_one):
            step()
        used = {v for n in self.nodes for v in n.input} | self.outputs
        kept = [n for n in self.added + self.nodes if n.op_type != "Constant" or n.output[0] in used]
        del self.graph.node[:]
        self.graph.node.extend(kept)

    # -- helpers -----------------------------------------------------------------------------------

    def const(self, arr: np.ndarray) -> str:
        from onnx import helper, numpy_helper

        name = f"ogi_fused_{len(self.added)}"
        self.consts[name] = np.asarray(arr, np.float32)
        self.added.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(self.consts[name], name)))
        return name

    def users(self, name: str) -> list:
        return [n for n in self.nodes if name in n.input]

    def sole_user(self, name: str, op: str):
        users = self.users(name)
        return users[0] if name not in self.outputs and len(users) == 1 and users[0].op_type == op else None

    def scalar(self, node, x: str) -> float | None:
        """The scalar constant that binary ``node`` combines ``x`` with."""
        if len(node.input) != 2 or x not in node.input:
            return None
        return self.scalar_const(node.input[1] if node.input[0] == x else node.input[0])

    def scalar_const(self, name: str) -> float | None:
        c = self.consts.get(name)
        return float(c.reshape(-1)[0]) if c is not None and c.size == 1 else None

    def weights(self, conv) -> tuple[np.ndarray, np.ndarray] | None:
        w = self.consts.get(conv.input[1]) if len(conv.input) > 1 else None
        if w is None or w.ndim != 4:
            return None
        b = self.consts.get(conv.input[2]) if len(conv.input) > 2 else np.zeros(w.shape[0], np.float32)
        return (w, b) if b is not None else None

    def drop(self, *nodes) -> None:
        gone = {id(n) for n in nodes}
        self.nodes = [n for n in self.nodes if id(n) not in gone]

    def replace(self, old, *new) -> None:
        k = next(i for i, n in enumerate(self.nodes) if n is old)
        self.nodes[k:k + 1] = list(new)

    def of_op(self, op: str, n_inputs: int | None = None) -> list:
        return [n for n in self.nodes if n.op_type == op and (n_inputs is None or len(n.input) == n_inputs)]

    # -- the passes (see ``fuse``) -----------------------------------------------------------------

    def _conv_then_affine(self) -> None:
        for conv in self.of_op("Conv"):
            while (wb := self.weights(conv)) is not None:
                nxt = self.users(conv.output[0])
                if conv.output[0] in self.outputs or len(nxt) != 1 or nxt[0].op_type not in ("Mul", "Add"):
                    break
                s = self.scalar(nxt[0], conv.output[0])
                if s is None:
                    break
                w, b = wb
                w, b = (w * s, b * s) if nxt[0].op_type == "Mul" else (w, b + s)
                _set(conv.input, [conv.input[0], self.const(w), self.const(b)])
                conv.output[0] = nxt[0].output[0]
                self.drop(nxt[0])

    def _hardswish(self) -> None:
        from onnx import helper

        for add in self.of_op("Add", 2):
            x = add.input[0] if add.input[0] not in self.consts else add.input[1]
            clip = self.sole_user(add.output[0], "Clip") if self.scalar(add, x) == 3.0 else None
            if clip is None or [self.scalar_const(v) for v in clip.input[1:]] != [0.0, 6.0]:
                continue
            mul = self.sole_user(clip.output[0], "Mul")
            div = self.sole_user(mul.output[0], "Div") if mul is not None and x in mul.input else None
            if div is None or div.input[0] != mul.output[0] or self.scalar(div, mul.output[0]) != 6.0:
                continue
            gate = helper.make_node("HardSigmoid", [x], [div.output[0] + "_hsig"], alpha=1 / 6, beta=0.5)
            self.replace(div, gate, helper.make_node("Mul", [x, gate.output[0]], [div.output[0]]))
            self.drop(add, clip, mul)

    def _affine_then_conv(self) -> None:
        from onnx import helper

        for mul in self.of_op("Mul", 2):
            y = mul.input[0] if mul.input[0] not in self.consts else mul.input[1]
            s = self.scalar(mul, y)
            if not s:
                continue
            last, t = mul, 0.0
            add = self.sole_user(mul.output[0], "Add")
            if add is not None and self.scalar(add, mul.output[0]) is not None:
                last, t = add, self.scalar(add, mul.output[0])
            convs = self.users(last.output[0])
            if last.output[0] in self.outputs or not convs or any(
                    c.op_type != "Conv" or c.input[0] != last.output[0] or self.weights(c) is None for c in convs):
                continue
            if t == 0 or all(_attr(c, "pads", [0, 0, 0, 0]) == [0, 0, 0, 0] and _attr(c, "auto_pad") is None
                             for c in convs):
                for c in convs:
                    w, b = self.weights(c)
                    _set(c.input, [y, self.const(w * s), self.const(b + t * w.sum(axis=(1, 2, 3)))])
                self.drop(mul, last)
                continue
            w, _ = self.weights(convs[0])
            if len(convs) != 1 or _attr(convs[0], "group", 1) != w.shape[0]:
                continue
            ch, eps = w.shape[0], 1e-5
            norm = helper.make_node(
                "BatchNormalization",
                [y, self.const(np.full(ch, s)), self.const(np.full(ch, t)), self.const(np.zeros(ch)),
                 self.const(np.full(ch, 1 - eps))],  # var + eps = 1: a plain s * y + t per channel
                [last.output[0]], epsilon=eps)
            self.replace(mul, norm)
            self.drop(last)

    def _conv_transpose_bias(self) -> None:
        for tconv in self.of_op("ConvTranspose", 2):
            w = self.consts.get(tconv.input[1])
            add = self.sole_user(tconv.output[0], "Add")
            if w is None or w.ndim != 4 or add is None or _attr(tconv, "group", 1) != 1:
                continue
            ch = w.shape[1]
            b = self.consts.get(add.input[1] if add.input[0] == tconv.output[0] else add.input[0])
            if b is None or b.ndim < 3 or b.shape[-3] != ch or b.size != ch:  # one bias per output channel
                continue
            b, last = b.reshape(ch).astype(np.float64), add
            norm = self.sole_user(add.output[0], "BatchNormalization")
            stats = [self.consts.get(v) for v in norm.input[1:5]] if norm is not None and len(norm.input) == 5 else []
            if len(stats) == 4 and all(v is not None and v.shape == (ch,) for v in stats):
                scale, shift, mean, var = (v.astype(np.float64) for v in stats)
                g = scale / np.sqrt(var + _attr(norm, "epsilon", 1e-5))
                w, b, last = w * g[None, :, None, None], (b - mean) * g + shift, norm
            _set(tconv.input, [tconv.input[0], self.const(w), self.const(b)])
            tconv.output[0] = last.output[0]
            self.drop(add, last)

    def _gate_plus_one(self) -> None:
        from onnx import helper

        gates = {o for n in self.nodes if n.op_type in ("HardSigmoid", "Sigmoid") for o in n.output}
        for mul in self.of_op("Mul", 2):
            add = self.sole_user(mul.output[0], "Add")
            if add is None or len(add.input) != 2:
                continue
            x = add.input[0] if add.input[1] == mul.output[0] else add.input[1]
            if x not in mul.input or x == mul.output[0]:
                continue
            a = mul.input[1] if mul.input[0] == x else mul.input[0]
            if a == x or a not in gates:
                continue
            plus_one = helper.make_node("Add", [a, self.const(np.ones((), np.float32))], [mul.output[0] + "_1p"])
            self.replace(mul, plus_one, helper.make_node("Mul", [x, plus_one.output[0]], [add.output[0]]))
            self.drop(add)


def _attr(node, name: str, default=None):
    from onnx import helper

    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _set(repeated, values: list[str]) -> None:
    del repeated[:]
    repeated.extend(values)
