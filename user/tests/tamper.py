#!/usr/bin/env python3
# A TCP proxy for tls.sh: forwards every connection to 127.0.0.1:PORT and
# flips one byte at OFFSET of the first connection's client-to-server
# bytes (an attacker on the path). Prints its own port, then serves until
# killed.
import socket
import sys
import threading

target, offset = int(sys.argv[1]), int(sys.argv[2])


def pump(src, dst, flip_at):
    seen = 0
    try:
        while True:
            buf = bytearray(src.recv(65536))
            if not buf:
                break
            if 0 <= flip_at - seen < len(buf):
                buf[flip_at - seen] ^= 0x01
            seen += len(buf)
            dst.sendall(buf)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


lsn = socket.socket()
lsn.bind(("127.0.0.1", 0))
lsn.listen(16)
print(lsn.getsockname()[1], flush=True)
first = True
while True:
    c, _ = lsn.accept()
    u = socket.create_connection(("127.0.0.1", target))
    threading.Thread(target=pump, args=(c, u, offset if first else -1), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, -1), daemon=True).start()
    first = False
