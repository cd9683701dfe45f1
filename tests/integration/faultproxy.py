"""A fault-injecting HTTP/1.1 proxy for object-storage tests (stdlib only).

It sits between svc-blob and the S3/CDMI server, forwards requests
unchanged (so SigV4 signatures stay valid) and, when told to, answers a
request itself with a fault instead: 500, 503 SlowDown, a connection reset,
a stall longer than the client's timeout, or a truncated body. It counts
requests per method and the most requests it ever had in flight at once,
which is how tests observe svc-blob's parallelism limits.

    p = FaultProxy(upstream_port).start()
    p.push_faults("503", "reset")     # next two requests fail, then pass
    p.fail_matching = lambda method, path: ...   # or pick requests
    p.stats()  -> {"requests": {...}, "max_inflight": N, "faults": N}
"""

import socket
import threading
import time

SLOWDOWN = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code>"
            b"<Message>Please reduce your request rate.</Message></Error>")
INTERNAL = (b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code>"
            b"<Message>We encountered an internal error. Please try again.</Message></Error>")


def _read_head(sock, buf):
    while b"\r\n\r\n" not in buf:
        data = sock.recv(65536)
        if not data:
            return None, buf
        buf += data
    head, rest = buf.split(b"\r\n\r\n", 1)
    return head + b"\r\n\r\n", rest


def _headers(head):
    lines = head.decode("latin-1").split("\r\n")
    h = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            h[k.strip().lower()] = v.strip()
    return lines[0], h


def _read_exact(sock, buf, n):
    while len(buf) < n:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("short body")
        buf += data
    return buf[:n], buf[n:]


def _read_chunked(sock, buf):
    out = b""
    while True:
        while b"\r\n" not in buf:
            data = sock.recv(65536)
            if not data:
                raise ConnectionError("short chunk")
            buf += data
        line, buf = buf.split(b"\r\n", 1)
        size = int(line.split(b";")[0], 16)
        chunk, buf = _read_exact(sock, buf, size + 2)
        out += line + b"\r\n" + chunk
        if size == 0:
            return out, buf


class FaultProxy:
    def __init__(self, upstream_port, upstream_host="127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(128)
        self.port = self.lsock.getsockname()[1]
        self.lock = threading.Lock()
        self.faults = []
        self.fail_matching = None     # fn(method, path) -> fault name or None
        self.stall_secs = 5.0
        self.delay_secs = 0.0         # added to every passed request
        self.reset_stats()
        self.stopped = False

    def reset_stats(self):
        with self.lock:
            self.requests = {}
            self.inflight = 0
            self.max_inflight = 0
            self.fault_count = 0
            self.log = []
            self.headers = []    # (method, path, request headers), lower-case names

    def push_faults(self, *faults):
        with self.lock:
            self.faults.extend(faults)

    def stats(self):
        with self.lock:
            return {"requests": dict(self.requests), "max_inflight": self.max_inflight,
                    "faults": self.fault_count, "log": list(self.log)}

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.stopped = True
        try:
            self.lsock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.lsock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _next_fault(self, method, path):
        with self.lock:
            if self.faults:
                return self.faults.pop(0)
        if self.fail_matching is not None:
            return self.fail_matching(method, path)
        return None

    def _serve(self, client):
        up = None
        cbuf = b""
        ubuf = b""
        try:
            while True:
                head, cbuf = _read_head(client, cbuf)
                if head is None:
                    return
                reqline, h = _headers(head)
                method, path = reqline.split(" ")[0], reqline.split(" ")[1]
                body = b""
                if "content-length" in h:
                    body, cbuf = _read_exact(client, cbuf, int(h["content-length"]))
                elif h.get("transfer-encoding", "").lower() == "chunked":
                    body, cbuf = _read_chunked(client, cbuf)
                with self.lock:
                    self.requests[method] = self.requests.get(method, 0) + 1
                    self.inflight += 1
                    self.max_inflight = max(self.max_inflight, self.inflight)
                try:
                    fault = self._next_fault(method, path)
                    with self.lock:
                        self.log.append((method, path, fault))
                        self.headers.append((method, path, h))
                        if fault:
                            self.fault_count += 1
                    if fault == "500" or fault == "503":
                        code, text, xml = (500, "Internal Server Error", INTERNAL) if fault == "500" \
                            else (503, "Slow Down", SLOWDOWN)
                        client.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n"
                                       b"Content-Length: %d\r\n\r\n" % (code, text.encode(), len(xml))
                                       + (xml if method != "HEAD" else b""))
                        continue
                    if fault == "reset":
                        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                        client.close()
                        return
                    if fault == "stall":
                        time.sleep(self.stall_secs)
                        client.close()
                        return
                    if self.delay_secs:
                        time.sleep(self.delay_secs)
                    if up is None:
                        up = socket.create_connection(self.upstream)
                        ubuf = b""
                    up.sendall(head + body)
                    while True:
                        rhead, ubuf = _read_head(up, ubuf)
                        if rhead is None:
                            raise ConnectionError("upstream closed")
                        status, rh = _headers(rhead)
                        code = int(status.split(" ")[1])
                        if not 100 <= code < 200:
                            break   # drop 100 Continue: the body went already
                    rbody = b""
                    if method == "HEAD" or code in (204, 304) or 100 <= code < 200:
                        pass
                    elif "content-length" in rh:
                        rbody, ubuf = _read_exact(up, ubuf, int(rh["content-length"]))
                    elif rh.get("transfer-encoding", "").lower() == "chunked":
                        rbody, ubuf = _read_chunked(up, ubuf)
                    else:
                        while True:
                            d = up.recv(65536)
                            if not d:
                                break
                            rbody += d
                        up.close()
                        up = None
                    if fault == "truncate" and len(rbody) > 1:
                        client.sendall(rhead + rbody[:len(rbody) // 2])
                        client.close()
                        return
                    client.sendall(rhead + rbody)
                finally:
                    with self.lock:
                        self.inflight -= 1
        except (OSError, ConnectionError, ValueError, IndexError):
            pass
        finally:
            for s in (client, up):
                if s is not None:
                    try:
                        s.close()
                    except OSError:
                        pass
