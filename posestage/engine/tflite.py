"""Read a ``.tflite`` flatbuffer: its tensors, its custom ops, and PoseNet's decoder op.

Coral's PoseNet models end in the ``PosenetDecoderOp`` custom operator, which no stock
interpreter can run. :func:`strip_posenet_decoder` removes it so the network outputs its three
raw maps (heatmaps, short offsets, mid offsets) instead, and :func:`read_model` reads the
operator's parameters (``max_detections``, ``score_threshold``, ``nms_radius``, ``stride``) from
its FlexBuffer custom options so the numpy decoder can use them as defaults.

Everything here uses the flatbuffer schema module shipped with ai-edge-litert
(``ai_edge_litert.schema_py_generated``) and the ``flatbuffers`` package; no TensorFlow.
Tensors and buffers the removed operator used are left in place (unused, harmless).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path

from posestage.errors import ModelError

FILE_IDENTIFIER = b"TFL3"
POSENET_DECODER_OP = "PosenetDecoderOp"
EDGETPU_OP = "edgetpu-custom-op"

# TFLite TensorType enum values we care about.
_TYPE_NAMES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 9: "int8"}


@dataclass(frozen=True)
class TensorInfo:
    """One model input or output: name, shape, dtype name and per-tensor quantisation."""

    index: int
    name: str
    shape: tuple[int, ...]
    dtype: str
    scale: float | None = None
    zero_point: int | None = None

    @property
    def channels(self) -> int:
        return self.shape[-1] if self.shape else 0


@dataclass(frozen=True)
class CustomOp:
    """A custom operator in the graph: its code, its input/output tensor ids, its options."""

    position: int
    code: str
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options: dict = field(default_factory=dict)


@dataclass
class TfliteModel:
    """A parsed ``.tflite`` file (first subgraph), ready for a model family to inspect.

    ``content`` is the original file bytes; ``schema`` the mutable flatbuffer object tree
    (``ModelT``) that :func:`strip_posenet_decoder` edits a copy of.
    """

    path: Path
    content: bytes
    schema: object
    inputs: list[TensorInfo]
    outputs: list[TensorInfo]
    custom_ops: list[CustomOp]

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def is_edgetpu(self) -> bool:
        """Compiled for the Edge TPU: the backbone runs inside an ``edgetpu-custom-op``."""
        return any(op.code == EDGETPU_OP for op in self.custom_ops)

    def custom_op(self, code: str) -> CustomOp | None:
        return next((op for op in self.custom_ops if op.code == code), None)

    def tensor(self, index: int) -> TensorInfo:
        return _tensor_info(self.schema.subgraphs[0], index)


def read_model(path: str | Path) -> TfliteModel:
    """Read and parse a ``.tflite`` file; raise :class:`ModelError` naming it if unusable."""
    path = Path(path)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        raise ModelError(
            f"model file {path} not found: check the path, or use a catalogue name "
            f"(`posestage models list`)"
        ) from None
    except IsADirectoryError:
        raise ModelError(f"model file {path} is a folder, not a .tflite file") from None
    except OSError as err:
        raise ModelError(f"model file {path} cannot be read: {err.strerror or err}") from None
    return parse_model(content, path)


def parse_model(content: bytes, path: str | Path = "<memory>") -> TfliteModel:
    """Parse ``.tflite`` bytes (``path`` only names the file in error messages)."""
    path = Path(path)
    if len(content) < 8 or content[4:8] != FILE_IDENTIFIER:
        raise ModelError(
            f"{path} is not a TensorFlow Lite model (no 'TFL3' identifier): "
            f"give a .tflite file, e.g. a Coral PoseNet model"
        )
    try:
        schema = _schema().ModelT.InitFromPackedBuf(content, 0)
        _check_complete(schema, len(content))
        graph = schema.subgraphs[0]
        inputs = [_tensor_info(graph, i) for i in _ids(graph.inputs)]
        outputs = [_tensor_info(graph, i) for i in _ids(graph.outputs)]
        custom_ops = _custom_ops(schema, graph)
    except ModelError:
        raise
    except Exception as err:  # a corrupt flatbuffer fails in many ways
        raise ModelError(
            f"{path} is truncated or corrupt ({type(err).__name__}): download it again "
            f"(`posestage models fetch NAME`) or check the file"
        ) from None
    return TfliteModel(path, content, schema, inputs, outputs, custom_ops)


def strip_posenet_decoder(model: TfliteModel) -> bytes:
    """The model's flatbuffer with ``PosenetDecoderOp`` removed and its three inputs
    (heatmaps, short offsets, mid offsets, in the operator's input order) as the outputs.

    A model without the operator is returned unchanged.
    """
    op = model.custom_op(POSENET_DECODER_OP)
    if op is None:
        return model.content
    schema = copy.copy(model.schema)
    graph = copy.copy(schema.subgraphs[0])
    schema.subgraphs = [graph] + list(schema.subgraphs[1:])
    graph.operators = [o for i, o in enumerate(graph.operators) if i != op.position]
    graph.outputs = list(op.inputs[:3])
    return pack_model(schema)


def pack_model(schema) -> bytes:
    """Serialise a ``ModelT`` object tree back to ``.tflite`` bytes."""
    import flatbuffers

    builder = flatbuffers.Builder(1 << 20)
    builder.Finish(schema.Pack(builder), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def read_flexbuffer_map(data) -> dict:
    """Decode FlexBuffer custom options (a map) into a plain dict; ``{}`` if not a map."""
    if data is None or len(data) == 0:
        return {}
    from flatbuffers import flexbuffers

    root = flexbuffers.GetRoot(bytes(bytearray(data)))
    if not root.IsMap:
        return {}
    return dict(root.AsMap.Value)


def _schema():
    from ai_edge_litert import schema_py_generated

    return schema_py_generated


def _ids(values) -> list[int]:
    return [] if values is None else [int(v) for v in values]


def _decode(name) -> str:
    if name is None:
        return ""
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


def _tensor_info(graph, index: int) -> TensorInfo:
    tensor = graph.tensors[index]
    quant = tensor.quantization
    scale = zero_point = None
    if quant is not None and quant.scale is not None and len(quant.scale) == 1:
        scale = float(quant.scale[0])
        zero_point = int(quant.zeroPoint[0]) if quant.zeroPoint is not None else 0
    return TensorInfo(
        index=index,
        name=_decode(tensor.name),
        shape=tuple(_ids(tensor.shape)),
        dtype=_TYPE_NAMES.get(tensor.type, f"type{tensor.type}"),
        scale=scale,
        zero_point=zero_point,
    )


def _custom_ops(schema, graph) -> list[CustomOp]:
    found = []
    for position, op in enumerate(graph.operators or []):
        code = schema.operatorCodes[op.opcodeIndex]
        if not code.customCode:
            continue
        name = _decode(code.customCode)
        options = read_flexbuffer_map(op.customOptions) if name == POSENET_DECODER_OP else {}
        found.append(
            CustomOp(position, name, tuple(_ids(op.inputs)), tuple(_ids(op.outputs)), options)
        )
    return found


def _check_complete(schema, size: int) -> None:
    """Catch truncation the lazy flatbuffer reader would not notice."""
    if not schema.subgraphs:
        raise ValueError("no subgraph")
    graph = schema.subgraphs[0]
    n_tensors = len(graph.tensors or [])
    n_buffers = len(schema.buffers or [])
    for tensor in graph.tensors or []:
        if tensor.buffer >= n_buffers:
            raise ValueError("tensor buffer out of range")
        if tensor.shape is None:
            continue
    for tid in _ids(graph.inputs) + _ids(graph.outputs):
        if not 0 <= tid < n_tensors:
            raise ValueError("input/output tensor out of range")
    for buffer in schema.buffers or []:
        # Large models keep data outside the flatbuffer, at (offset, size) in the file.
        if buffer.offset and buffer.offset > 1 and buffer.offset + buffer.size > size:
            raise ValueError("buffer data past the end of the file")
