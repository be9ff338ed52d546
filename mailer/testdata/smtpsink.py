"""A real SMTP server for kmsprobe's mail tests: aiosmtpd on 127.0.0.1
that saves every message it accepts to a folder as NNN.eml.

    python3 smtpsink.py --port PORT --dir DIR [--user U --password P]
                        [--tls-cert CERT --tls-key KEY]

With --tls-cert it requires STARTTLS before anything else, and AUTH only
over TLS, as a city's submission server on port 587 does.

It prints "ready" once it accepts connections and exits when its standard
input closes (the Go test holds the other end), so it never outlives the
test.
"""
import argparse
import os
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        path = os.path.join(self.folder, "%03d.eml" % self.n)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.rename(tmp, path)
        return "250 2.0.0 saved"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok, handled=False)
    return check


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--user")
    ap.add_argument("--password")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    kw = {}
    if a.user:
        kw = dict(authenticator=authenticator(a.user, a.password),
                  auth_required=True, auth_require_tls=bool(a.tls_cert))
    if a.tls_cert:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        kw.update(tls_context=ctx, require_starttls=True)
    c = Controller(Sink(a.dir), hostname="127.0.0.1", port=a.port, **kw)
    c.start()
    print("ready", flush=True)
    try:
        sys.stdin.read()
    finally:
        c.stop()


if __name__ == "__main__":
    main()
