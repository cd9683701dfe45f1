"""stratusctl metrics: the OpenMetrics text scraped from every service's
status RPC, parsed with prometheus_client's strict OpenMetrics parser
(and its Prometheus text parser); the IMAP login counters move with real
logins, svc-auth's with the SASL exchanges behind them."""

import imaplib
import subprocess
import sys
import time
import unittest
import urllib.error
import urllib.request

try:
    import prometheus_client  # noqa: F401
except ImportError:
    # Debian's python3-prometheus-client, when the tests run under another
    # Python than /usr/bin/python3
    sys.path.append("/usr/lib/python3/dist-packages")
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as prom_parse

from stratus_harness import STRATUSCTL, StratusTestCase, free_port, main

STATS_PORT = free_port()


class MetricsTest(StratusTestCase):
    extra_config = """service stats {
  inet_listener http {
    port = %d
  }
}
""" % STATS_PORT
    def scrape(self):
        text = self.stratus.ctl("metrics").stdout
        samples = {}
        for family in om_parse(text):
            for s in family.samples:
                samples[(s.name, s.labels.get("service"))] = (family.type, s.value)
        return text, samples

    def test_parses_and_every_service_is_up(self):
        text, samples = self.scrape()
        self.assertTrue(text.endswith("# EOF\n"))
        ups = {svc: v for (name, svc), (_, v) in samples.items() if name == "stratus_up"}
        for svc in ("auth", "imap", "pop3", "lmtp", "index", "blob"):
            self.assertEqual(ups.get(svc), 1.0, ups)
        # the Prometheus text parser reads it too
        self.assertTrue(any(f.name == "stratus_up" for f in prom_parse(text.replace("# EOF\n", ""))))
        self.assertEqual(samples[("stratus_imap_connections_open", "imap")][0], "gauge")

    def test_http_endpoint(self):
        # stratusctl run serves the configured listener itself (the stats
        # child, as stratus-stats.service does under systemd)
        self.stratus.wait_log(r"stats ready \(pid \d+\)")
        url = "http://127.0.0.1:%d" % STATS_PORT
        r = urllib.request.urlopen(url + "/metrics", timeout=10)
        self.assertTrue(r.headers["Content-Type"].startswith("application/openmetrics-text"))
        fams = {f.name: f for f in om_parse(r.read().decode())}
        self.assertIn("stratus_imap_logins", fams)
        self.assertEqual({s.labels["service"]: s.value for s in fams["stratus_up"].samples}["blob"], 1)
        with self.assertRaises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(url + "/other", timeout=10)
        self.assertEqual(e.exception.code, 404)
        # a second server on the same listener says why it cannot start
        p = subprocess.run([STRATUSCTL, "-c", self.stratus.config, "metrics", "serve"],
                           capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Address already in use", p.stderr)
        self.assertNotRegex(p.stderr, r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")

    def test_login_counters_follow_logins(self):
        _, before = self.scrape()
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
        with self.assertRaises(imaplib.IMAP4.error):
            c.login("user1@example.com", "wrong")
        c.login("user1@example.com", "pass1")
        c.logout()
        _, after = self.scrape()

        def delta(name, svc):
            kind, v = after[(name, svc)]
            self.assertEqual(kind, "counter")
            return v - before[(name, svc)][1]

        self.assertEqual(delta("stratus_imap_logins_total", "imap"), 1)
        self.assertEqual(delta("stratus_imap_login_failures_total", "imap"), 1)
        self.assertEqual(delta("stratus_auth_auth_successes_total", "auth"), 1)
        self.assertEqual(delta("stratus_auth_auth_failures_total", "auth"), 1)
        self.assertGreaterEqual(delta("stratus_imap_connections_total", "imap"), 1)

    def test_histograms(self):
        c = imaplib.IMAP4("127.0.0.1", self.stratus.ports["imap"], timeout=10)
        c.login("user1@example.com", "pass1")
        c.append("INBOX", None, None, b"Subject: h\r\n\r\n" + b"x" * 5000 + b"\r\n")
        c.select("INBOX")
        for _ in range(3):
            c.fetch("1", "(BODY[])")
        c.logout()
        text = self.stratus.ctl("metrics").stdout
        fams = {f.name: f for f in om_parse(text)}

        def series(family, **labels):
            f = fams[family]
            self.assertEqual(f.type, "histogram")
            out = {}
            for s in f.samples:
                if all(s.labels.get(k) == v for k, v in labels.items()):
                    suffix = s.name[len(family):]
                    if suffix == "_bucket":
                        out.setdefault("buckets", []).append((float(s.labels["le"]), s.value))
                    else:
                        out[suffix] = s.value
            return out

        fetch = series("stratus_imap_command_seconds", command="FETCH")
        self.assertGreaterEqual(fetch["_count"], 3)
        self.assertEqual(fetch["buckets"][-1], (float("inf"), fetch["_count"]))
        self.assertGreater(fetch["_sum"], 0)
        self.assertEqual(fams["stratus_imap_command_seconds"].unit, "seconds")
        self.assertGreaterEqual(series("stratus_imap_command_seconds", command="LOGIN")["_count"], 1)
        # object storage: the APPEND's put, with its bytes
        put = series("stratus_blob_storage_request_seconds", op="put", result="2xx")
        self.assertGreaterEqual(put["_count"], 1)
        size = series("stratus_blob_storage_request_bytes", op="put", result="2xx")
        self.assertGreaterEqual(size["_sum"], 5000)
        # the object is at most 16 KiB, so the 16384 bucket holds it
        self.assertEqual(dict(size["buckets"])[16384.0], size["_count"])
        # RPC latency as svc-imap saw its calls to svc-index
        calls = {s.labels["method"]: s.value for s in fams["stratus_imap_rpc_client_seconds"].samples
                 if s.name.endswith("_count") and s.labels["peer"] == "Index"
                 and s.labels["status"] == "OK"}
        self.assertGreaterEqual(sum(calls.values()), 3, calls)
        self.assertIn("MailboxOpen", calls)
        # and the Prometheus text parser reads the histograms too
        prom = {f.name: f for f in prom_parse(text.replace("# EOF\n", ""))}
        self.assertEqual(prom["stratus_imap_command_seconds"].type, "histogram")


if __name__ == "__main__":
    main()
