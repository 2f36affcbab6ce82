"""Reading .tflite files, stripping PosenetDecoderOp, and the runtime/device layer."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from posestage.config.vocabulary import Device, parse_device
from posestage.engine import interpreter as runtime
from posestage.engine.interpreter import EdgeTpuUnavailable, delegate_library, delegate_options
from posestage.engine.tflite import (
    EDGETPU_OP,
    POSENET_DECODER_OP,
    parse_model,
    read_model,
    strip_posenet_decoder,
)
from posestage.errors import DeviceError, ModelError

CPU = "posenet_mobilenet_v1_075_481_641_quant_decoder.tflite"
CPU16 = "posenet_mobilenet_v1_075_481_641_16_quant_decoder.tflite"
TPU = "posenet_mobilenet_v1_075_481_641_quant_decoder_edgetpu.tflite"
TPU16 = "posenet_mobilenet_v1_075_481_641_16_quant_decoder_edgetpu.tflite"


@pytest.mark.parametrize("name, max_detections", [(CPU, 10), (CPU16, 20)])
def test_decoder_options_come_from_the_custom_op(models_dir, name, max_detections):
    model = read_model(models_dir / name)
    op = model.custom_op(POSENET_DECODER_OP)
    assert op is not None and not model.is_edgetpu
    assert op.options["max_detections"] == max_detections
    assert op.options["stride"] == 16
    assert op.options["nms_radius"] == pytest.approx(10.0)
    assert op.options["score_threshold"] == pytest.approx(0.2)


@pytest.mark.parametrize("name", [CPU, CPU16])
def test_stripped_model_outputs_the_three_raw_maps_and_runs(models_dir, name):
    model = read_model(models_dir / name)
    stripped = parse_model(strip_posenet_decoder(model), "stripped")
    assert stripped.custom_op(POSENET_DECODER_OP) is None
    assert [t.shape for t in stripped.outputs] == [
        (1, 31, 41, 17),
        (1, 31, 41, 34),
        (1, 31, 41, 64),
    ]
    assert all(t.dtype == "uint8" and t.scale and t.scale > 0 for t in stripped.outputs)
    # The original object tree is untouched: stripping works on a copy.
    assert model.custom_op(POSENET_DECODER_OP) is not None
    interpreter = runtime.make_interpreter(strip_posenet_decoder(model))
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], np.full(inp["shape"], 128, np.uint8))
    interpreter.invoke()
    shapes = sorted(tuple(d["shape"][-1:]) for d in interpreter.get_output_details())
    assert shapes == [(17,), (34,), (64,)]


@pytest.mark.parametrize("name", [TPU, TPU16])
def test_edgetpu_models_load_and_strip(models_dir, name):
    model = read_model(models_dir / name)
    assert model.is_edgetpu
    stripped = parse_model(strip_posenet_decoder(model), "stripped")
    assert stripped.is_edgetpu  # the backbone op stays, only the decoder goes
    assert stripped.custom_op(POSENET_DECODER_OP) is None
    assert [t.channels for t in stripped.outputs] == [17, 34, 64]


def test_edgetpu_is_detected_from_the_op_not_the_name(models_dir, tmp_path):
    renamed = tmp_path / "plain_model.tflite"
    shutil.copy(models_dir / TPU, renamed)
    assert read_model(renamed).is_edgetpu
    assert read_model(renamed).custom_op(EDGETPU_OP) is not None
    misnamed = tmp_path / "looks_edgetpu.tflite"
    shutil.copy(models_dir / CPU, misnamed)
    assert not read_model(misnamed).is_edgetpu


def test_missing_not_tflite_and_truncated_files(models_dir, images_dir, tmp_path):
    with pytest.raises(ModelError, match="not found"):
        read_model(tmp_path / "nope.tflite")
    with pytest.raises(ModelError, match=r"couple\.jpg is not a TensorFlow Lite model"):
        read_model(images_dir / "couple.jpg")
    data = (models_dir / CPU).read_bytes()
    for cut in (16, 4096, len(data) // 2, len(data) - 100):
        truncated = tmp_path / f"cut{cut}.tflite"
        truncated.write_bytes(data[:cut])
        with pytest.raises(ModelError, match=f"cut{cut}.tflite is truncated or corrupt"):
            read_model(truncated)


# --- runtime / devices -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("auto", Device("auto")),
        ("CPU", Device("cpu")),
        ("edgetpu", Device("edgetpu")),
        ("edgetpu:usb", Device("edgetpu", "usb")),
        ("edgetpu:usb:0", Device("edgetpu", "usb:0")),
        ("edgetpu:pci:1", Device("edgetpu", "pci:1")),
        ("usb:0", Device("edgetpu", "usb:0")),
    ],
)
def test_parse_device(text, expected):
    assert parse_device(text) == expected


@pytest.mark.parametrize("bad", ["gpu", "edgetpu:", "edgetpu:usb:x", "tpu", ""])
def test_bad_device_is_one_line(bad):
    with pytest.raises(DeviceError, match="unknown device") as err:
        parse_device(bad)
    assert "\n" not in str(err.value)


def test_delegate_options_and_library_names():
    assert delegate_options("edgetpu:usb:0") == {"device": "usb:0"}
    assert delegate_options("edgetpu:pci:0") == {"device": "pci:0"}
    assert delegate_options("edgetpu") == {}
    assert delegate_options("cpu") == {}
    assert delegate_library("Linux") == "libedgetpu.so.1"
    assert delegate_library("Darwin") == "libedgetpu.1.dylib"
    assert delegate_library("Windows") == "edgetpu.dll"


def test_no_edgetpu_here_is_a_clear_quiet_error(capfd):
    with pytest.raises(EdgeTpuUnavailable) as err:
        runtime.load_edgetpu_delegate("edgetpu:usb:0")
    message = str(err.value)
    assert message.startswith("no Edge TPU: its delegate library libedgetpu.so.1 cannot be loaded")
    assert "\n" not in message
    assert capfd.readouterr().err == ""  # no destructor noise from a half-built delegate


def test_runtime_prefers_litert():
    assert runtime.get_runtime().name == "ai-edge-litert"
