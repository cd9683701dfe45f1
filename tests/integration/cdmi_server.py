"""A small CDMI server for svc-blob's scality driver tests, written from
the SNIA CDMI 1.1.1 specification (no real CDMI server can be had here).

What it follows:
  - 5.x   HTTP: X-CDMI-Specification-Version is required on requests
          that use a CDMI content type (400 without it) and echoed on
          their answers.
  - 8.2   create/update a data object with application/cdmi-object: JSON
          "value" (valuetransferencoding utf-8 or base64), "mimetype",
          "metadata", and "copy" (server-side copy from a source URI);
          the parent container must exist (404 otherwise).
  - 8.3   create/update a data object with any other content type: the
          body is the value (non-CDMI PUT).
  - 8.4   read a data object with the CDMI content type, with field
          selection (?metadata;value:0-9).
  - 8.5   read a data object with a non-CDMI content type: the plain
          value (Range: bytes=a-b honoured).
  - 8.8/8.9 delete a data object (204; 404 when absent).
  - 9.2   create a container (201; an existing one is updated, 200).
  - 9.4   read a container: "children" (sub-containers end in "/"),
          "childrenrange", field selection ?children:S-E.
  - 9.7   delete a container and everything under it.
  - 16.3  data system metadata cdmi_size on each data object.
Not implemented: queues, domains, capabilities, ACLs, "move",
"reference", X-CDMI-Partial, versioning.

Children are returned sorted by name (the spec leaves the order open).
Every request's method, path and headers are kept in `requests` so tests
can check what the client sent (addhdr). Run in-process:
    srv = CdmiServer(containers=["/mails/"]).start(); ...; srv.stop()
"""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

SPEC_VERSION = "1.1.1"
OBJ = "application/cdmi-object"
CONT = "application/cdmi-container"
MAX_BODY = 64 * 1024 * 1024


class Store:
    def __init__(self):
        self.lock = threading.Lock()
        # path -> dict(kind="container"|"object", value, mimetype, metadata)
        self.items = {"/": {"kind": "container", "metadata": {}}}

    @staticmethod
    def parent(path):
        stripped = path.rstrip("/")
        return stripped[:stripped.rfind("/") + 1] or "/"

    def children(self, path):
        out = []
        for p in self.items:
            if p != path and p.startswith(path) and self.parent(p) == path:
                out.append(p[len(path):])
        return sorted(out)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    # ---- helpers ----

    def record(self):
        self.server.requests.append((self.command, self.path, dict(self.headers.items())))

    def split(self):
        path, _, query = self.path.partition("?")
        return unquote(path), query

    def fields(self, query):
        """?a;b:0-9 -> {"a": None, "b": (0, 9)}"""
        out = {}
        for part in query.split(";"):
            if not part:
                continue
            name, _, rng = part.partition(":")
            if rng:
                s, _, e = rng.partition("-")
                out[name] = (int(s), int(e))
            else:
                out[name] = None
        return out

    def is_cdmi(self):
        ct = self.headers.get("Content-Type", "")
        acc = self.headers.get("Accept", "")
        return ct.startswith("application/cdmi-") or acc.startswith("application/cdmi-")

    def reply(self, code, body=b"", ctype=None, cdmi=False, extra=None):
        self.send_response(code)
        if cdmi:
            self.send_header("X-CDMI-Specification-Version", SPEC_VERSION)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def reply_json(self, code, obj, ctype):
        self.reply(code, json.dumps(obj).encode(), ctype, cdmi=True)

    def read_body(self):
        n = int(self.headers.get("Content-Length", "0"))
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def fault(self):
        f = self.server.fault
        if f is not None:
            code = f(self.command, self.path)
            if code:
                self.read_body()
                self.reply(code, b"injected fault\n", "text/plain")
                return True
        return False

    def check_version(self):
        if self.is_cdmi() and "X-CDMI-Specification-Version" not in self.headers:
            self.read_body()
            self.reply(400, b"X-CDMI-Specification-Version required\n", "text/plain")
            return False
        return True

    def describe(self, path, item):
        store = self.server.store
        d = {"objectType": CONT if item["kind"] == "container" else OBJ,
             "objectName": path.rstrip("/").rsplit("/", 1)[-1] + ("/" if item["kind"] == "container" else ""),
             "parentURI": store.parent(path),
             "metadata": dict(item["metadata"])}
        if item["kind"] == "object":
            d["metadata"]["cdmi_size"] = str(len(item["value"]))
            d["mimetype"] = item["mimetype"]
        return d

    # ---- verbs ----

    def do_PUT(self):
        self.record()
        if self.fault() or not self.check_version():
            return
        path, _ = self.split()
        ctype = self.headers.get("Content-Type", "application/octet-stream")
        try:
            body = self.read_body()
        except ValueError:
            return self.reply(413, b"too large\n", "text/plain")
        store = self.server.store
        with store.lock:
            parent = store.items.get(store.parent(path))
            if parent is None or parent["kind"] != "container":
                return self.reply(404, b"parent container not found\n", "text/plain")
            old = store.items.get(path)
            if ctype.startswith(CONT) or path.endswith("/"):
                if not ctype.startswith(CONT) or not path.endswith("/"):
                    return self.reply(400, b"containers need the container type and a trailing /\n", "text/plain")
                meta = {}
                if body:
                    try:
                        meta = json.loads(body).get("metadata", {})
                    except ValueError:
                        return self.reply(400, b"bad JSON\n", "text/plain")
                if old is None:
                    store.items[path] = {"kind": "container", "metadata": meta}
                    return self.reply_json(201, self.describe(path, store.items[path]), CONT)
                old["metadata"].update(meta)
                return self.reply_json(200, self.describe(path, old), CONT)
            if old is not None and old["kind"] != "object":
                return self.reply(409, b"a container has that name\n", "text/plain")
            if ctype.startswith(OBJ):
                try:
                    req = json.loads(body)
                    item = self.object_from_json(req)
                except (ValueError, KeyError, TypeError) as e:
                    return self.reply(400, ("bad request: %s\n" % e).encode(), "text/plain")
                if item is None:
                    return self.reply(404, b"copy source not found\n", "text/plain")
                store.items[path] = item
                return self.reply_json(201 if old is None else 200, self.describe(path, item), OBJ)
            store.items[path] = {"kind": "object", "value": body, "mimetype": ctype, "metadata": {}}
            return self.reply(201 if old is None else 204)

    def object_from_json(self, req):
        store = self.server.store
        if "move" in req or "reference" in req:
            raise ValueError("move/reference not supported")
        if "copy" in req:
            src = store.items.get(unquote(req["copy"]))
            if src is None or src["kind"] != "object":
                return None
            item = {"kind": "object", "value": src["value"], "mimetype": src["mimetype"],
                    "metadata": dict(src["metadata"])}
            if "metadata" in req:
                item["metadata"] = dict(req["metadata"])
            return item
        enc = req.get("valuetransferencoding", "utf-8")
        raw = req.get("value", "")
        if enc == "base64":
            value = base64.b64decode(raw, validate=True)
        elif enc == "utf-8":
            value = raw.encode("utf-8")
        else:
            raise ValueError("valuetransferencoding")
        meta = req.get("metadata", {})
        if not isinstance(meta, dict):
            raise TypeError("metadata")
        return {"kind": "object", "value": value,
                "mimetype": req.get("mimetype", "text/plain"), "metadata": dict(meta)}

    def do_GET(self):
        self.record()
        if self.fault() or not self.check_version():
            return
        path, query = self.split()
        store = self.server.store
        with store.lock:
            item = store.items.get(path)
            if item is None:
                return self.reply(404, b"not found\n", "text/plain")
            if item["kind"] == "container":
                if not self.headers.get("Accept", "").startswith(CONT):
                    return self.reply(406, b"containers are read with the CDMI type\n", "text/plain")
                d = self.describe(path, item)
                kids = store.children(path)
                fields = self.fields(query)
                rng = fields.get("children")
                if rng is None:
                    rng = (0, len(kids) - 1)
                s, e = rng[0], min(rng[1], len(kids) - 1)
                d["children"] = kids[s:e + 1]
                d["childrenrange"] = "%d-%d" % (s, e) if kids[s:e + 1] else ""
                if fields:
                    d = {k: v for k, v in d.items() if k in fields}
                return self.reply_json(200, d, CONT)
            value = item["value"]
            if self.headers.get("Accept", "").startswith(OBJ):
                d = self.describe(path, item)
                fields = self.fields(query)
                vr = fields.get("value") or (0, len(value) - 1)
                d["valuerange"] = "%d-%d" % vr
                d["valuetransferencoding"] = "base64"
                d["value"] = base64.b64encode(value[vr[0]:vr[1] + 1]).decode()
                if fields:
                    d = {k: v for k, v in d.items() if k in fields}
                return self.reply_json(200, d, OBJ)
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                s, _, e = rng[6:].partition("-")
                s = int(s)
                e = int(e) if e else len(value) - 1
                part = value[s:e + 1]
                return self.reply(206, part, item["mimetype"],
                                  extra={"Content-Range": "bytes %d-%d/%d" % (s, s + len(part) - 1, len(value))})
            return self.reply(200, value, item["mimetype"])

    def do_DELETE(self):
        self.record()
        if self.fault() or not self.check_version():
            return
        path, _ = self.split()
        store = self.server.store
        with store.lock:
            if path not in store.items or path == "/":
                return self.reply(404, b"not found\n", "text/plain")
            for p in [p for p in store.items if p == path or (path.endswith("/") and p.startswith(path))]:
                del store.items[p]
        return self.reply(204)


class CdmiServer:
    def __init__(self, containers=("/mails/",), port=0):
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.httpd.daemon_threads = True
        self.httpd.store = Store()
        self.httpd.requests = []
        self.httpd.fault = None
        for c in containers:
            self.httpd.store.items[c] = {"kind": "container", "metadata": {}}
        self.port = self.httpd.server_address[1]
        self.thread = None

    @property
    def requests(self):
        return self.httpd.requests

    @property
    def store(self):
        return self.httpd.store

    def set_fault(self, fn):
        """fn(method, path) -> HTTP code to answer instead, or None."""
        self.httpd.fault = fn

    def start(self):
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


if __name__ == "__main__":
    import sys
    srv = CdmiServer(port=int(sys.argv[1]) if len(sys.argv) > 1 else 0).start()
    print("cdmi server on port", srv.port, flush=True)
    try:
        srv.thread.join()
    except KeyboardInterrupt:
        srv.stop()
