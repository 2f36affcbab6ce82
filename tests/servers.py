"""Video senders the tests start on 127.0.0.1, as a phone camera app or a network camera would
serve: :class:`MjpegServer` (MJPEG over HTTP, ``multipart/x-mixed-replace``),
:class:`RtspServer` (RTSP with H.264 over RTP on the RTSP connection, the packets made by FFmpeg's
own RTP muxer through PyAV), :class:`UdpSender` (MPEG-TS pushed over UDP) and
:class:`NdiSender` (cyndilib, as TouchDesigner's NDI Out TOP sends). Each can be stopped (the stream drops) and started again on the same port (it comes
back)."""

from __future__ import annotations

import io
import socket
import threading
import time
from fractions import Fraction

import numpy as np


def jpeg(image: np.ndarray, quality: int = 85) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(image).save(out, format="JPEG", quality=quality)
    return out.getvalue()


class _Server:
    """A TCP listener on 127.0.0.1 whose connections each get a thread; stop closes them all."""

    def __init__(self, image, fps: float = 15.0, port: int = 0) -> None:
        """``image``: one RGB picture, or a list of them sent in turn."""
        self.images = [image] if isinstance(image, np.ndarray) else list(image)
        self.image, self.fps, self.port = self.images[0], fps, port
        self.connections = 0
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self._clients: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def start(self):
        self._stop.clear()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(4)
        sock.settimeout(0.1)
        self.port = sock.getsockname()[1]
        self._sock = sock
        thread = threading.Thread(target=self._accept, daemon=True)
        thread.start()
        self._threads.append(thread)
        return self

    def _accept(self) -> None:
        sock = self._sock
        while not self._stop.is_set():
            try:
                client, _ = sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connections += 1
            self._clients.append(client)
            thread = threading.Thread(target=self._serve_safely, args=(client,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve_safely(self, client: socket.socket) -> None:
        try:
            self.serve(client)
        except OSError:
            pass
        finally:
            client.close()

    def serve(self, client: socket.socket) -> None:
        raise NotImplementedError

    def frames(self):
        """The indices of the pictures to send, at ``fps``, until stopped."""
        due, i = time.monotonic(), 0
        while not self._stop.is_set():
            self.sending = i  # the number of the picture being sent (0, 1, 2… never wrapping)
            yield i % len(self.images)
            i += 1
            due += 1.0 / self.fps
            self._stop.wait(max(0.0, due - time.monotonic()))

    def stop(self) -> None:
        """Drop the stream: stop listening and cut every connection."""
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        for client in self._clients:
            try:
                client.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            client.close()
        self._clients.clear()
        for thread in self._threads:
            thread.join(5)
        self._threads.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


class MjpegServer(_Server):
    """MJPEG over HTTP, as phone camera apps serve it: ``http://127.0.0.1:PORT/video``."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/video"

    def serve(self, client: socket.socket) -> None:
        client.settimeout(5)
        request = b""
        while b"\r\n\r\n" not in request:
            chunk = client.recv(4096)
            if not chunk:
                return
            request += chunk
        client.sendall(
            b"HTTP/1.0 200 OK\r\nCache-Control: no-cache\r\n"
            b"Content-Type: multipart/x-mixed-replace; boundary=frame\r\n\r\n"
        )
        data = [jpeg(image) for image in self.images]
        for i in self.frames():
            head = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data[i])}\r\n\r\n"
            client.sendall(head.encode() + data[i] + b"\r\n")


class RtspServer(_Server):
    """RTSP, one H.264 stream over RTP, interleaved on the RTSP connection
    (what ``rtsp_transport=tcp`` asks for): ``rtsp://127.0.0.1:PORT/live``. The RTP packets are
    FFmpeg's (PyAV's ``rtp`` muxer writing to a local UDP socket this server forwards from)."""

    @property
    def url(self) -> str:
        return f"rtsp://127.0.0.1:{self.port}/live"

    def serve(self, client: socket.socket) -> None:
        client.settimeout(10)
        buffer = b""
        while not self._stop.is_set():
            while b"\r\n\r\n" not in buffer:
                chunk = client.recv(4096)
                if not chunk:
                    return
                buffer += chunk
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, url = lines[0].split(" ")[:2]
            headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
            cseq = headers.get("CSeq", "0")
            extra = ""
            body = ""
            if method == "OPTIONS":
                extra = "Public: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n"
            elif method == "DESCRIBE":
                body = (
                    "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=posestage test\r\nc=IN IP4 127.0.0.1\r\n"
                    "t=0 0\r\nm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
                    "a=fmtp:96 packetization-mode=1\r\na=control:track0\r\n"
                )
                extra = f"Content-Base: {url}/\r\nContent-Type: application/sdp\r\n"
            elif method == "SETUP":
                if "interleaved" not in headers.get("Transport", ""):
                    client.sendall(
                        f"RTSP/1.0 461 Unsupported Transport\r\nCSeq: {cseq}\r\n\r\n".encode()
                    )
                    continue
                extra = "Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\nSession: 1\r\n"
            elif method == "PLAY":
                extra = "Session: 1\r\n"
            elif method == "TEARDOWN":
                client.sendall(f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n\r\n".encode())
                return
            length = f"Content-Length: {len(body)}\r\n" if body else ""
            reply = f"RTSP/1.0 200 OK\r\nCSeq: {cseq}\r\n{extra}{length}\r\n{body}"
            client.sendall(reply.encode())
            if method == "PLAY":
                self._play(client)
                return

    def _play(self, client: socket.socket) -> None:
        import av

        relay = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        relay.bind(("127.0.0.1", 0))
        relay.settimeout(0.05)
        port = relay.getsockname()[1]
        out = av.open(f"rtp://127.0.0.1:{port}", "w", format="rtp")
        # H.264 as network cameras send it: parameter sets in band before every keyframe
        x264 = {
            "preset": "ultrafast",
            "tune": "zerolatency",
            "x264-params": "keyint=10:repeat-headers=1",
        }
        stream = out.add_stream("libx264", rate=int(self.fps), options=x264)
        height, width = self.image.shape[:2]
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = [
            av.VideoFrame.from_ndarray(image, format="rgb24").reformat(format="yuv420p")
            for image in self.images
        ]
        try:
            for n, i in enumerate(self.frames()):
                frame = frames[i]
                frame.pts = n
                out.mux(stream.encode(frame))
                while True:
                    try:
                        packet = relay.recv(65536)
                    except TimeoutError:
                        break
                    if packet[1] & 0x7F == 96:  # RTP (not RTCP): to channel 0
                        client.sendall(b"$\x00" + len(packet).to_bytes(2, "big") + packet)
        finally:
            out.close()
            relay.close()


class NdiSender:
    """An NDI sender called ``name`` sending ``image`` (RGB; or a list of pictures, in turn)
    at ``fps`` until stopped."""

    def __init__(self, name: str, image, fps: int = 15) -> None:
        from cyndilib.sender import Sender as NdiSender
        from cyndilib.video_frame import VideoSendFrame
        from cyndilib.wrapper.ndi_structs import FourCC

        images = [image] if isinstance(image, np.ndarray) else list(image)
        height, width = images[0].shape[:2]
        alpha = np.full((height, width), 255, np.uint8)
        self.rgba = [np.dstack([picture, alpha]).ravel() for picture in images]
        frame = VideoSendFrame()
        frame.set_resolution(width, height)
        frame.set_frame_rate(Fraction(fps, 1))
        frame.set_fourcc(FourCC.RGBA)
        self.sender = NdiSender(name)
        self.sender.set_video_frame(frame)
        self.sent = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send, daemon=True)

    def _send(self) -> None:
        while not self._stop.is_set():
            self.sender.write_video(self.rgba[self.sent % len(self.rgba)])  # the sender's pace
            self.sent += 1

    def __enter__(self):
        self.sender.open()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sender.close()


class UdpSender:
    """MPEG-TS (H.264) pushed to ``udp://127.0.0.1:PORT``, as an encoder box or ``ffmpeg -f
    mpegts udp://…`` sends; the receiver listens on that port. Stopped, nothing arrives."""

    def __init__(self, image, fps: float = 15.0) -> None:
        self.images = [image] if isinstance(image, np.ndarray) else list(image)
        self.fps = fps
        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.connections = 0  # times started
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"udp://127.0.0.1:{self.port}"

    def start(self):
        self._stop.clear()
        self.connections += 1
        self._thread = threading.Thread(target=self._send, daemon=True)
        self._thread.start()
        return self

    def _send(self) -> None:
        import av

        out = av.open(f"{self.url}?pkt_size=1316", "w", format="mpegts")
        x264 = {"preset": "ultrafast", "tune": "zerolatency", "x264-params": "keyint=10"}
        stream = out.add_stream("libx264", rate=int(self.fps), options=x264)
        height, width = self.images[0].shape[:2]
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frames = [av.VideoFrame.from_ndarray(image, format="rgb24") for image in self.images]
        due, n = time.monotonic(), 0
        try:
            while not self._stop.is_set():
                frame = frames[n % len(frames)]
                frame.pts = n
                out.mux(stream.encode(frame))
                n += 1
                due += 1.0 / self.fps
                self._stop.wait(max(0.0, due - time.monotonic()))
        finally:
            out.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
