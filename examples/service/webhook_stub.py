#!/usr/bin/env python3
"""A webhook receiver for tests and the demo: answers POST with the status in
DIR/status (default 200) after DIR/delay seconds (default 0), and appends one line
per call to DIR/calls: "<X-Correlation-ID> <body>". Prints its port on stdout.
   webhook_stub.py DIR"""
import http.server, os, sys, time

d = sys.argv[1]

def read(name, default):
    try:
        with open(os.path.join(d, name)) as f:
            return f.read().strip() or default
    except OSError:
        return default

class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        with open(os.path.join(d, "calls"), "a") as f:
            f.write("%s %s\n" % (self.headers.get("X-Correlation-ID"), body))
        time.sleep(float(read("delay", "0")))
        self.send_response(int(read("status", "200")))
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
print(srv.server_address[1], flush=True)
srv.serve_forever()
