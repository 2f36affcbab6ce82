"""``PoseEngine``: image → resize → interpreter → family decoder → poses in image pixels.

The engine knows nothing about any particular network: a *model family*
(:class:`~posestage.engine.family.ModelFamily`, contract in :mod:`posestage.engine.family`) recognises its
models by their input/output signature, prepares the flatbuffer for the interpreter, and
decodes the outputs. The engine does the rest: finding the model file (catalogue name or path),
choosing CPU or Edge TPU, sizing the input, resampling each frame straight into the input
tensor, timing, and mapping keypoints back into source-image pixels.

Adding a family (e.g. ``posestage/movenet.py``) is one import and one entry in
:data:`FAMILIES`. Families import :mod:`posestage.engine.family`, not this module.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from posestage.config.vocabulary import Device, parse_device
from posestage.engine import catalogue
from posestage.engine.family import DecodeSettings, ModelFamily, Region
from posestage.engine.interpreter import (
    EdgeTpuUnavailable,
    load_edgetpu_delegate,
    make_interpreter,
    native_info_hidden,
)
from posestage.engine.movenet import MoveNetFamily
from posestage.engine.posenet import PoseNetFamily
from posestage.engine.tflite import TfliteModel, read_model
from posestage.errors import DeviceError, ModelError, SourceError
from posestage.model.poses import DetectionResult, Pose

try:
    from posestage.engine import _kernels
except ImportError:  # built without a C compiler: numpy resizes
    _kernels = None

#: Model families, tried in order. A new family is imported above and added here.
FAMILIES: tuple[type[ModelFamily], ...] = (PoseNetFamily, MoveNetFamily)

RESIZE_MODES = ("stretch", "letterbox")


def family_classes() -> list[type[ModelFamily]]:
    """The families the engine tries, in order."""
    return list(FAMILIES)


def recognise(model: TfliteModel) -> type[ModelFamily]:
    for cls in family_classes():
        if cls.recognises(model):
            return cls
    names = ", ".join(c.name for c in family_classes())
    shapes = ", ".join(f"{t.dtype}{list(t.shape)}" for t in model.inputs) or "none"
    raise ModelError(
        f"{model.path} is not a pose model posestage can run (inputs: {shapes}; "
        f"known families: {names}): use a Coral PoseNet model, e.g. posenet-481x641"
    )


class _Resampler:
    """Nearest-neighbour crop + resize of one source size into the input tensor.

    Precomputes, per axis, which source pixel each input pixel takes (Pillow's NEAREST rule,
    ``floor((i + 0.5) * scale)``; bit-exact Pillow for whole frames), so a frame costs one
    gather straight into the tensor buffer and filling the padding: in C
    (``posestage.engine._kernels.resize_nearest``) when it is built, else one ``np.take``
    (:meth:`fill_numpy`, the reference). ``to_source`` maps input-tensor (x, y) back to source
    pixels.
    """

    def __init__(self, image_hw, input_hw, region: Region | None, mode: str):
        src_h, src_w = image_hw
        in_h, in_w = input_hw
        top, left, bottom, right = region if region is not None else (0, 0, src_h, src_w)
        reg_h, reg_w = bottom - top, right - left
        if mode == "letterbox":
            scale = min(in_h / reg_h, in_w / reg_w)
            content_h = min(in_h, max(1, round(reg_h * scale)))
            content_w = min(in_w, max(1, round(reg_w * scale)))
        else:
            content_h, content_w = in_h, in_w
        pad_top, pad_left = (in_h - content_h) // 2, (in_w - content_w) // 2
        whole = region is None
        rows, self.row_span = self._axis(in_h, pad_top, content_h, top, reg_h, src_h, whole, 0)
        cols, self.col_span = self._axis(in_w, pad_left, content_w, left, reg_w, src_w, whole, 1)
        self.rows, self.cols = rows.astype(np.int32), cols.astype(np.int32)
        self._index: np.ndarray | None = None  # the numpy path's flat index, made on first use
        # to_source: src = origin + (u - pad + 0.5) * step - 0.5, per axis (pixel centres).
        self.step = np.array([reg_w / content_w, reg_h / content_h], np.float32)
        self.origin = np.array(
            [
                left + (0.5 - pad_left) * self.step[0] - 0.5,
                top + (0.5 - pad_top) * self.step[1] - 0.5,
            ],
            np.float32,
        )

    @staticmethod
    def _axis(n_in, pad, content, start, length, n_src, whole, axis):
        """Source index per input pixel (clipped) and the valid input span [a, b)."""
        i = np.arange(n_in, dtype=np.float64) - pad
        if whole:  # bit-exact Pillow NEAREST (its fixed-point steps), as Coral's demos resize
            src = np.full(n_in, -1.0)
            src[pad : pad + content] = _pil_nearest(n_src, content, axis)
        else:
            src = np.floor(start + (i + 0.5) * (length / content))
        valid = (i >= 0) & (i < content) & (src >= 0) & (src < n_src)
        span = np.flatnonzero(valid)
        a, b = (int(span[0]), int(span[-1]) + 1) if len(span) else (0, 0)
        return np.clip(src, 0, n_src - 1).astype(np.intp), (a, b)

    def fill(self, image: np.ndarray, out: np.ndarray) -> None:
        """Resample ``image`` (uint8 (H, W, 3), any strides) into ``out`` (C-contiguous)."""
        if _kernels is None:
            self.fill_numpy(image, out)
        else:
            _kernels.resize_nearest(image, out, self.rows, self.cols, self.row_span, self.col_span)

    def fill_numpy(self, image: np.ndarray, out: np.ndarray) -> None:
        """The numpy way (and the reference): one ``np.take`` of whole pixels, then padding."""
        if self._index is None:
            self._index = self.rows.astype(np.intp)[:, None] * image.shape[1] + self.cols[None, :]
        np.take(np.ascontiguousarray(image).reshape(-1, 3), self._index, axis=0, out=out)
        (r0, r1), (c0, c1) = self.row_span, self.col_span
        if r0 > 0:
            out[:r0] = 0
        if r1 < out.shape[0]:
            out[r1:] = 0
        if c0 > 0:
            out[:, :c0] = 0
        if c1 < out.shape[1]:
            out[:, c1:] = 0

    def to_source(self, xy: np.ndarray) -> np.ndarray:
        return xy * self.step + self.origin


def _pil_nearest(n_src: int, n_out: int, axis: int) -> np.ndarray:
    """The source index Pillow's NEAREST resize picks for each of ``n_out`` pixels."""
    from PIL import Image

    ramp = np.arange(n_src, dtype=np.int32)
    if axis == 0:
        picked = Image.fromarray(ramp[:, None]).resize((1, n_out), Image.NEAREST)
        return np.asarray(picked)[:, 0].astype(np.float64)
    picked = Image.fromarray(ramp[None, :]).resize((n_out, 1), Image.NEAREST)
    return np.asarray(picked)[0].astype(np.float64)


def as_rgb_array(image) -> np.ndarray:
    """An RGB uint8 (H, W, 3) array (any strides; no copy of an array) from a numpy array or
    any PIL image."""
    if isinstance(image, np.ndarray):
        array = image
    else:
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - pillow is a dependency
            Image = None
        if Image is None or not isinstance(image, Image.Image):
            raise SourceError(
                f"cannot detect poses in a {type(image).__name__}: give an RGB uint8 numpy "
                f"array (H, W, 3) or a PIL image"
            )
        if image.mode != "RGB":
            image = image.convert("RGB")
        array = np.asarray(image)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise SourceError(
            f"image array has shape {array.shape} and dtype {array.dtype}: "
            f"give RGB uint8 (H, W, 3) or a PIL image"
        )
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise SourceError(f"image array is empty ({array.shape})")
    return array


class PoseEngine:
    """Runs a pose model on images and returns poses in source-image pixels.

    ``model``: a catalogue name (``posenet-481x641``) or a ``.tflite`` path.
    ``device``: ``auto`` (Edge TPU when the delegate loads and a compiled variant exists, else
    CPU), ``cpu``, ``edgetpu`` or a specific ``edgetpu:usb:0`` / ``edgetpu:pci:0``.
    ``input_size``: (H, W) to run a CPU model at another resolution. ``resize``:
    ``stretch`` (Coral's behaviour) or ``letterbox`` (keep aspect ratio, pad black).
    ``max_poses`` / ``score_threshold`` / ``nms_radius`` override the model's decoder defaults.
    ``tracking``: frames are consecutive video (live camera, video file), so a family may crop
    each frame around the person found in the previous one (MoveNet); keep False for stills.
    """

    def __init__(
        self,
        model: str | Path = catalogue.DEFAULT_MODEL,
        device: str = "auto",
        input_size: tuple[int, int] | None = None,
        num_threads: int | None = None,
        resize: str = "stretch",
        max_poses: int | None = None,
        score_threshold: float | None = None,
        nms_radius: float | None = None,
        tracking: bool = False,
    ):
        if resize not in RESIZE_MODES:
            raise ModelError(f"unknown resize mode {resize!r}: use stretch or letterbox")
        if num_threads is not None and int(num_threads) < 1:
            raise ModelError(f"num_threads must be at least 1, not {num_threads}")
        if num_threads is None:
            num_threads = default_num_threads()
        self.num_threads = int(num_threads)
        self.resize = resize
        requested = parse_device(device)
        path, self.model_name, delegate, self.device = _select(model, requested)
        self.tflite = read_model(path)
        self.family_class = recognise(self.tflite)
        settings = DecodeSettings(max_poses, score_threshold, nms_radius, bool(tracking))
        self.family = self.family_class(self.tflite, settings)
        if self.tflite.is_edgetpu and delegate is None:
            raise DeviceError(
                f"{path} is compiled for the Edge TPU and cannot run on the CPU: "
                f"use the CPU model {_cpu_alternative(path)}"
            )
        try:
            self.interpreter = make_interpreter(
                self.family.prepare(), delegate=delegate, num_threads=num_threads
            )
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"{path} cannot be loaded: {_first_line(err)}") from None
        self._input = self.interpreter.get_input_details()[0]
        native = (int(self._input["shape"][1]), int(self._input["shape"][2]))
        self.native_size = native
        if input_size is not None:
            input_size = (int(input_size[0]), int(input_size[1]))
        if input_size is not None and input_size != native:
            if self.tflite.is_edgetpu or not self.family_class.resizable:
                raise ModelError(
                    f"{path.name} runs only at {native[0]}x{native[1]} "
                    f"(Edge TPU and {self.family_class.name} models are fixed-size): "
                    f"drop --input-size or use a CPU model of that size"
                )
            self.family.check_input_size(input_size)
            self.interpreter.resize_tensor_input(
                self._input["index"], [1, input_size[0], input_size[1], 3], strict=False
            )
        try:
            with native_info_hidden():
                self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as err:
            raise ModelError(f"{path} cannot be run: {_first_line(err)}") from None
        self._input = self.interpreter.get_input_details()[0]
        self.input_size: tuple[int, int] = (
            int(self._input["shape"][1]),
            int(self._input["shape"][2]),
        )
        self._input_index = int(self._input["index"])
        self._input_view = self.interpreter.tensor(self._input_index)
        self.family.bind(self.interpreter)
        self._resamplers: dict[tuple, _Resampler] = {}
        self.path = path

    @property
    def kernel(self) -> str:
        """The decoder implementation that runs (PoseNet: ``c`` or ``numpy``; else "")."""
        return self.family.kernel

    def __repr__(self) -> str:
        h, w = self.input_size
        return f"PoseEngine({self.model_name!r}, device={self.device!r}, input_size=({h}, {w}))"

    def reset(self) -> None:
        """Forget per-video state (e.g. MoveNet crop tracking)."""
        self.family.reset()

    def _resampler(self, image_hw, region) -> _Resampler:
        key = (image_hw, region)
        resampler = self._resamplers.get(key)
        if resampler is None:
            if len(self._resamplers) > 8:  # regions change per frame for tracking families
                self._resamplers.clear()
            resampler = _Resampler(image_hw, self.input_size, region, self.resize)
            self._resamplers[key] = resampler
        return resampler

    def run(self) -> float:
        """Invoke the interpreter on the current input; returns milliseconds."""
        t0 = time.perf_counter()
        self.interpreter.invoke()
        return (time.perf_counter() - t0) * 1000.0

    def detect(self, image) -> DetectionResult:
        """Find the poses in one RGB image (numpy uint8 (H, W, 3) or PIL image)."""
        t0 = time.perf_counter()
        array = as_rgb_array(image)
        image_hw = (array.shape[0], array.shape[1])
        region = self.family.region(image_hw)
        if region is not None:
            region = tuple(float(v) for v in region)
            if region[2] <= region[0] or region[3] <= region[1]:
                region = None
        resampler = self._resampler(image_hw, region)
        view = self._input_view()
        resampler.fill(array, view[0])
        del view  # the interpreter refuses to run while we hold a view of its buffers
        t1 = time.perf_counter()
        self.interpreter.invoke()
        t2 = time.perf_counter()
        xy, scores, pose_scores = self.family.decode(self.interpreter)
        xy = resampler.to_source(xy)
        poses = [Pose(float(s), xy[i], scores[i]) for i, s in enumerate(pose_scores)]
        self.family.observe(poses, image_hw)
        t3 = time.perf_counter()
        return DetectionResult(
            poses=poses,
            inference_ms=(t2 - t1) * 1000.0,
            decode_ms=(t3 - t2) * 1000.0,
            input_size=self.input_size,
            image_size=image_hw,
            preprocess_ms=(t1 - t0) * 1000.0,
            model=self.model_name,
            device=self.device,
        )


def default_num_threads() -> int:
    """CPU threads for inference when not given: every core this process may use (LiteRT's
    own default is one thread, which leaves the other cores idle)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__


def _select(model, requested: Device):
    """Choose the model file and device: ``(path, label, delegate or None, device name)``."""
    text = str(model)
    entry = catalogue.load_catalogue().get(text)
    if entry is None:
        path = Path(text).expanduser()
        if not path.exists() and path.suffix != ".tflite" and len(path.parts) == 1:
            catalogue.get_model(text)  # raises: unknown model, listing the valid names
        return _select_path(path, requested)
    return _select_entry(entry, requested)


def _select_entry(entry: catalogue.CatalogueModel, requested: Device):
    if requested.kind == "cpu":
        return entry.path(edgetpu=False), entry.name, None, "cpu"
    if requested.kind == "edgetpu":
        if entry.edgetpu is None:
            raise DeviceError(f"model {entry.name} has no Edge TPU variant: use --device cpu")
        delegate = _delegate_or_explain(
            requested, f"--device cpu (model {entry.name} has a CPU variant)"
        )
        return entry.path(edgetpu=True), entry.name, delegate, str(requested)
    # auto
    tpu_path = entry.find(edgetpu=True)
    if tpu_path is not None:
        try:
            delegate = load_edgetpu_delegate(Device("edgetpu"))
            return tpu_path, entry.name, delegate, "edgetpu"
        except EdgeTpuUnavailable:
            pass
    return entry.path(edgetpu=False), entry.name, None, "cpu"


def _select_path(path: Path, requested: Device):
    tflite = read_model(path)  # clear errors for missing / corrupt files come from here
    label = path.name
    if tflite.is_edgetpu:
        if requested.kind == "cpu":
            raise DeviceError(
                f"{path} is compiled for the Edge TPU and cannot run on the CPU: "
                f"use the CPU model {_cpu_alternative(path)}"
            )
        device = requested if requested.kind == "edgetpu" else Device("edgetpu")
        delegate = _delegate_or_explain(device, f"the CPU model {_cpu_alternative(path)}")
        return path, label, delegate, str(device)
    sibling = path.with_name(path.stem + "_edgetpu" + path.suffix)
    if requested.kind == "cpu":
        return path, label, None, "cpu"
    if requested.kind == "edgetpu":
        if not sibling.is_file() or not read_model(sibling).is_edgetpu:
            raise DeviceError(
                f"{path} is not compiled for the Edge TPU and {sibling.name} is not next to "
                f"it: compile it with edgetpu_compiler, or use --device cpu"
            )
        delegate = _delegate_or_explain(requested, f"--device cpu with {path.name}")
        return sibling, sibling.name, delegate, str(requested)
    # auto: the compiled sibling on a TPU if both are there, else this CPU model.
    if sibling.is_file():
        try:
            if read_model(sibling).is_edgetpu:
                delegate = load_edgetpu_delegate(Device("edgetpu"))
                return sibling, sibling.name, delegate, "edgetpu"
        except (EdgeTpuUnavailable, ModelError):
            pass
    return path, label, None, "cpu"


def _delegate_or_explain(device: Device, alternative: str):
    try:
        return load_edgetpu_delegate(device)
    except EdgeTpuUnavailable as err:
        raise DeviceError(f"{err}: use {alternative}") from None


def _cpu_alternative(path: Path) -> str:
    """How to name the CPU counterpart of an Edge TPU model file."""
    for entry in catalogue.load_catalogue().values():
        if entry.edgetpu is not None and entry.edgetpu.file == path.name:
            return f"{entry.name} ({entry.cpu.file})"
    if path.stem.endswith("_edgetpu"):
        return str(path.with_name(path.stem[: -len("_edgetpu")] + path.suffix))
    return "(the same model without Edge TPU compilation) or --device cpu"
