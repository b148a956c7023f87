#!/usr/bin/env python3
"""Worker start-up time for deploy/dev/bench.sh: starts `agentlive-api serve --listen
SOCKET --workers 1` and asks GET /api/health over FastCGI, straight on the
worker's socket (no nginx), every millisecond until the first 200. Prints JSON:
the time of each run from the start of the process to that answer, and the time
from the socket's appearing to the answer (the worker's own start)."""
import json
import os
import socket
import struct
import subprocess
import sys
import time


def record(kind, content=b"", request_id=1):
    return struct.pack(">BBHHBx", 1, kind, request_id, len(content), 0) + content


def pair(name, value):
    def size(n):
        return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)
    name, value = name.encode(), value.encode()
    return size(len(name)) + size(len(value)) + name + value


def health(path):
    """The status of GET /api/health over FastCGI, or None when nothing answers yet."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(path)
        params = b"".join(pair(k, v) for k, v in (
            ("REQUEST_METHOD", "GET"), ("REQUEST_URI", "/api/health"), ("DOCUMENT_URI", "/api/health"),
            ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "127.0.0.1")))
        s.sendall(record(1, struct.pack(">HB5x", 1, 0)) + record(4, params) + record(4) + record(5))
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        out = b""
        while len(data) >= 8:
            _, kind, _, length, padding = struct.unpack(">BBHHB", data[:7])
            if kind == 6:
                out += data[8:8 + length]
            data = data[8 + length + padding:]
        head = out.split(b"\r\n", 1)[0].decode()
        return int(head.split()[1]) if head.startswith("Status:") else None
    except (FileNotFoundError, ConnectionRefusedError, socket.timeout, OSError):
        return None
    finally:
        s.close()


def main():
    binary, sock, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
    totals, after_socket = [], []
    for _ in range(runs):
        if os.path.exists(sock):
            os.unlink(sock)
        t0 = time.monotonic()
        proc = subprocess.Popen([binary, "serve", "--listen", sock, "--workers", "1", "--socket-mode", "0666"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t_socket = None
        try:
            while time.monotonic() - t0 < 20:
                if t_socket is None and os.path.exists(sock):
                    t_socket = time.monotonic()
                if t_socket is not None and health(sock) == 200:
                    t1 = time.monotonic()
                    totals.append(t1 - t0)
                    after_socket.append(t1 - t_socket)
                    break
                time.sleep(0.001)
            else:
                raise SystemExit("no 200 from the worker within 20 s")
        finally:
            proc.terminate()
            proc.wait(10)
    totals.sort()
    after_socket.sort()
    print(json.dumps({"runs": runs, "median_ms": totals[len(totals) // 2] * 1000,
                      "max_ms": totals[-1] * 1000, "min_ms": totals[0] * 1000,
                      "after_socket_median_ms": after_socket[len(after_socket) // 2] * 1000}))


if __name__ == "__main__":
    main()
