"""Every kind of bad input to ``posestage detect``: exit code 2, one line naming the file."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from posestage.cli import main

CPU = "posenet_mobilenet_v1_075_481_641_quant_decoder.tflite"
TPU = "posenet_mobilenet_v1_075_481_641_quant_decoder_edgetpu.tflite"


def tiny_tflite(shape=(1, 8, 8, 1), tensor_type=0) -> bytes:
    """A valid one-op (RELU) .tflite built with LiteRT's schema module: not a pose model."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    def tensor(name):
        t = schema.TensorT()
        t.shape, t.type, t.buffer, t.name = list(shape), tensor_type, 0, name
        return t

    op = schema.OperatorT()
    op.opcodeIndex, op.inputs, op.outputs = 0, [0], [1]
    graph = schema.SubGraphT()
    graph.tensors, graph.inputs, graph.outputs, graph.operators = (
        [tensor("in"), tensor("out")],
        [0],
        [1],
        [op],
    )
    code = schema.OperatorCodeT()
    code.builtinCode = code.deprecatedBuiltinCode = schema.BuiltinOperator.RELU
    code.version = 1
    model = schema.ModelT()
    model.version, model.operatorCodes, model.subgraphs = 3, [code], [graph]
    model.buffers = [schema.BufferT()]
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def run_cli(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.err


def assert_one_line_error(code, err, *fragments):
    assert code == 2
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("posestage: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])


@pytest.fixture
def image(images_dir):
    return str(images_dir / "couple.jpg")


def test_tiny_model_really_is_valid_tflite():
    from posestage.engine.interpreter import make_interpreter

    interpreter = make_interpreter(tiny_tflite())
    interpreter.allocate_tensors()
    interpreter.set_tensor(0, np.full((1, 8, 8, 1), -1.0, np.float32))
    interpreter.invoke()
    assert (interpreter.get_tensor(1) == 0).all()


def test_not_a_tflite_file(capsys, tmp_path, image):
    bogus = tmp_path / "notes.tflite"
    bogus.write_text("hello, this is not a model\n")
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--model", str(bogus)),
        str(bogus),
        "not a TensorFlow Lite model",
    )


def test_truncated_model(capsys, tmp_path, models_dir, image):
    cut = tmp_path / "cut.tflite"
    cut.write_bytes((models_dir / CPU).read_bytes()[:700_000])
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--model", str(cut)), str(cut), "truncated or corrupt"
    )


@pytest.mark.parametrize("shape, tensor_type", [((1, 8, 8, 1), 0), ((1, 64, 64, 3), 3)])
def test_valid_tflite_that_is_not_a_pose_model(capsys, tmp_path, image, shape, tensor_type):
    other = tmp_path / "relu.tflite"
    other.write_bytes(tiny_tflite(shape, tensor_type))
    code, err = run_cli(capsys, "detect", image, "--model", str(other))
    assert_one_line_error(code, err, str(other), "not a pose model", "posenet-481x641")


def test_wrong_input_shape(capsys, image, models_dir, tmp_path):
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--input-size", "480x640"), "480x640", CPU, "16k+1"
    )
    tpu = tmp_path / TPU
    shutil.copy(models_dir / TPU, tpu)
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--model", str(tpu), "--device", "cpu"),
        str(tpu),
        "Edge TPU",
    )
    assert_one_line_error(  # not HxW at all: the command line says so, like a scene would
        *run_cli(capsys, "detect", image, "--input-size", "big"),
        "--input-size: expected a network input size HxW like 481x641",
        "got 'big'",
    )


def test_missing_model_file(capsys, tmp_path, image):
    missing = tmp_path / "gone.tflite"
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--model", str(missing)), str(missing), "not found"
    )


def test_missing_image(capsys, tmp_path):
    missing = tmp_path / "nobody.jpg"
    assert_one_line_error(*run_cli(capsys, "detect", str(missing)), str(missing), "not found")


def test_image_that_is_not_an_image(capsys, tmp_path, models_dir, images_dir):
    fake = tmp_path / "photo.jpg"
    fake.write_bytes(b"\x00\x01 definitely not a jpeg" * 10)
    assert_one_line_error(*run_cli(capsys, "detect", str(fake)), str(fake), "not an image")
    model_as_image = models_dir / CPU
    assert_one_line_error(
        *run_cli(capsys, "detect", str(model_as_image)), str(model_as_image), "not an image"
    )
    broken = tmp_path / "broken.jpg"
    broken.write_bytes((images_dir / "couple.jpg").read_bytes()[:5000])
    assert_one_line_error(*run_cli(capsys, "detect", str(broken)), str(broken))


def test_unknown_model_name_lists_valid_names(capsys, image):
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--model", "posenet-big"),
        "unknown model 'posenet-big'",
        "posenet-481x641",
        "movenet-lightning",
    )


def test_no_edgetpu_and_bad_device(capsys, image):
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--device", "edgetpu:usb:0"),
        "libedgetpu.so.1",
        "--device cpu",
        "posenet-481x641",
    )
    assert_one_line_error(
        *run_cli(capsys, "detect", image, "--device", "gpu"),
        "--device: expected auto, cpu, edgetpu",
        "got 'gpu'",
    )


def test_debug_shows_the_traceback(tmp_path, image):
    from posestage.errors import ModelError

    with pytest.raises(ModelError):
        main(["--debug", "detect", image, "--model", str(tmp_path / "gone.tflite")])


# -- images that lie, images too large, files that are not files ------------------------------


def png(width: int, height: int, rows: int | None = None) -> bytes:
    """A 1-bit grayscale PNG claiming ``width`` x ``height``, with ``rows`` rows of zeros
    actually compressed in it (all of them when None: a decompression bomb, tiny on disk)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + (width + 7) // 8)
    packer = zlib.compressobj(9)
    data = b"".join(packer.compress(row) for _ in range(height if rows is None else rows))
    data += packer.flush()
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")
    )


@pytest.mark.slow
def test_a_decompression_bomb_is_refused_before_decoding(capsys, tmp_path):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png(30000, 30000))
    assert bomb.stat().st_size < 200_000  # 900 million pixels in ~110 KB
    assert_one_line_error(*run_cli(capsys, "detect", str(bomb)), str(bomb), "7680x4320 allowed")


def test_a_header_that_lies_is_one_line(capsys, tmp_path):
    huge = tmp_path / "huge.png"
    huge.write_bytes(png(9000, 9000, rows=1))  # claims 81 million pixels, carries one row
    assert_one_line_error(*run_cli(capsys, "detect", str(huge)), str(huge), "(9000x9000)")
    huger = tmp_path / "huger.png"
    huger.write_bytes(png(12000, 12000, rows=1))  # past Pillow's own warning: still one line
    assert_one_line_error(*run_cli(capsys, "detect", str(huger)), str(huger), "(12000x12000)")
    garbage = tmp_path / "garbage.png"
    good = png(64, 48)
    garbage.write_bytes(good[:41] + b"\xff" * 40 + good[81:])  # IDAT that is not zlib
    assert_one_line_error(*run_cli(capsys, "detect", str(garbage)), str(garbage), "cannot read")


def test_a_fifo_named_as_an_image_is_refused_without_waiting(capsys, tmp_path):
    import os
    import threading

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(out=run_cli(capsys, "detect", str(fifo))), daemon=True
    )
    thread.start()
    thread.join(30)  # a hang guard: opening a FIFO for reading blocks until a writer comes
    assert not thread.is_alive(), "detect blocked on a FIFO"
    assert_one_line_error(*result["out"], str(fifo), "not a regular file")
