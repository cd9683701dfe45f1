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
        p = subprocess.Popen([STRATUSCTL, "-c", self.stratus.config, "metrics", "serve"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            url = "http://127.0.0.1:%d" % STATS_PORT
            deadline = time.time() + 10
            while True:
                try:
                    r = urllib.request.urlopen(url + "/metrics", timeout=10)
                    break
                except urllib.error.URLError:
                    if time.time() > deadline or p.poll() is not None:
                        raise
                    time.sleep(0.05)
            self.assertTrue(r.headers["Content-Type"].startswith("application/openmetrics-text"))
            fams = {f.name: f for f in om_parse(r.read().decode())}
            self.assertIn("stratus_imap_logins", fams)
            self.assertEqual({s.labels["service"]: s.value for s in fams["stratus_up"].samples}["blob"], 1)
            with self.assertRaises(urllib.error.HTTPError) as e:
                urllib.request.urlopen(url + "/other", timeout=10)
            self.assertEqual(e.exception.code, 404)
        finally:
            p.terminate()
            out = p.communicate(timeout=20)[0]
        self.assertEqual(p.returncode, 0, out)
        self.assertNotRegex(out, r"ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:")

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


if __name__ == "__main__":
    main()
