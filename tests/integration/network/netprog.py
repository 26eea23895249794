"""Programs the network tests run inside namespaces (with the test's own Python).

SERVER: listen on TCP port argv[1] on every address, print "ready", and answer each
connection with the client's address as this side sees it (so NAT shows).
CLIENT: connect to argv[1]:argv[2] and print the answer.
"""

from __future__ import annotations

SERVER = """
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("0.0.0.0", int(sys.argv[1])))
server.listen(64)
print("ready", flush=True)
while True:
    connection, peer = server.accept()
    connection.sendall(peer[0].encode() + b"\\n")
    connection.close()
"""

CLIENT = """
import socket, sys
with socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=5) as connection:
    print(connection.makefile().readline().strip())
"""
