#!/usr/bin/env python3
"""tcp_proxy.py LISTEN_PORT TARGET_PORT: forward 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT.

A link the tests can cut: SIGTERM ends the process, which closes every forwarded connection and
the listening socket (new connections are refused). Loopback only.
"""
import selectors
import signal
import socket
import sys


def main():
    listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
    sel = selectors.DefaultSelector()
    lsock = socket.socket()
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", listen_port))
    lsock.listen(64)
    sel.register(lsock, selectors.EVENT_READ, None)
    peers = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("listening", flush=True)

    def close(s):
        for x in (s, peers.pop(s, None)):
            if x is None:
                continue
            peers.pop(x, None)
            try:
                sel.unregister(x)
            except (KeyError, ValueError):
                pass
            x.close()

    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if s is lsock:
                c, _ = lsock.accept()
                t = socket.socket()
                try:
                    t.connect(("127.0.0.1", target_port))
                except OSError:
                    c.close()
                    continue
                peers[c], peers[t] = t, c
                sel.register(c, selectors.EVENT_READ, None)
                sel.register(t, selectors.EVENT_READ, None)
                continue
            try:
                data = s.recv(65536)
            except OSError:
                data = b""
            if not data or s not in peers:
                close(s)
                continue
            try:
                peers[s].sendall(data)
            except OSError:
                close(s)


if __name__ == "__main__":
    main()
