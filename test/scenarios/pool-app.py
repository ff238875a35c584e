# A php-fpm-like upstream on a unix socket: a fixed pool of workers, each taking
# one connection at a time and waiting (idle CPU) on a slow dependency before
# answering, behind a tiny listen backlog. When every worker is busy and the
# backlog is full, connect() fails with EAGAIN (11: Resource temporarily
# unavailable), exactly what nginx logs for a full php-fpm pool.
# Usage: pool-app.py SOCKET WORKERS HOLD_SECONDS; prints {"path": SOCKET} once listening.
import json
import os
import socket
import sys
import threading
import time

path, workers, hold = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
if os.path.exists(path):
    os.unlink(path)
server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
server.bind(path)
os.chmod(path, 0o777)
server.listen(1)


def work():
    while True:
        conn, _ = server.accept()
        try:
            conn.recv(65536)
            time.sleep(hold)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        except OSError:
            pass
        finally:
            conn.close()


for _ in range(workers):
    threading.Thread(target=work, daemon=True).start()
print(json.dumps({"path": path}), flush=True)
threading.Event().wait()
