"""A local SMTP server for the email integration tests (aiosmtpd).

Usage: smtp_server.py --out DIR [--mode plain|starttls|implicit] [--cert F --key F]
                      [--auth USER:PASS] [--mechanisms PLAIN,LOGIN]
Prints "READY <port>" once listening on 127.0.0.1, then serves until stdin closes. Each
message is written to DIR/<n>.json: {"mail_from", "rcpt_tos", "data", "auth_mechanism",
"auth_login", "tls"}.
"""
import argparse
import asyncio
import json
import os
import socket
import ssl
import sys

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Handler:
    def __init__(self, out):
        self.out = out
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "data": envelope.content.decode("utf-8", "replace"),
            "auth_mechanism": getattr(session, "pharos_mechanism", None),
            "auth_login": getattr(session, "pharos_login", None),
            "tls": session.ssl is not None or server.transport.get_extra_info("sslcontext") is not None,
        }
        tmp = os.path.join(self.out, "%d.json.tmp" % self.count)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, "%d.json" % self.count))
        return "250 OK"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--mode", default="plain")
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--auth")
    ap.add_argument("--mechanisms", default="PLAIN,LOGIN")
    a = ap.parse_args()

    kwargs = {}
    ctx = None
    if a.mode in ("starttls", "implicit"):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(a.cert, a.key)
    if a.mode == "starttls":
        kwargs["tls_context"] = ctx
        kwargs["require_starttls"] = True
    if a.auth:
        user, password = a.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == user
                  and auth_data.password.decode() == password)
            session.pharos_mechanism = mechanism
            if isinstance(auth_data, LoginPassword):
                session.pharos_login = auth_data.login.decode()
            # handled=False: aiosmtpd then answers 535 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data)

        kwargs["authenticator"] = authenticator
        kwargs["auth_required"] = True
        # Implicit TLS is not seen as TLS by aiosmtpd's auth_require_tls check.
        kwargs["auth_require_tls"] = a.mode == "starttls"
        allowed = set(a.mechanisms.split(","))
        kwargs["auth_exclude_mechanism"] = [m for m in ("PLAIN", "LOGIN") if m not in allowed]

    port = free_port()
    controller = Controller(Handler(a.out), hostname="127.0.0.1", port=port,
                            ssl_context=ctx if a.mode == "implicit" else None,
                            ready_timeout=10, server_kwargs=kwargs)
    if a.mode == "implicit":
        # Controller's start-up self-check would wrap its client socket with the server's
        # context; connect with an unverified client context instead.
        def trigger():
            client = ssl.create_default_context()
            client.check_hostname = False
            client.verify_mode = ssl.CERT_NONE
            with socket.create_connection(("127.0.0.1", port), 2.0) as raw:
                with client.wrap_socket(raw) as s:
                    s.recv(1024)
        controller._trigger_server = trigger
    controller.start()
    print("READY %d" % port, flush=True)
    try:
        sys.stdin.read()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
