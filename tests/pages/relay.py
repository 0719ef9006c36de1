"""A TCP relay between the browser and the web process that can go silent: while paused it neither
reads nor writes nor accepts, yet closes nothing, as a network that drops every packet does (no reset,
no error: only keep-alives that stop coming). Resumed, the bytes held in the sockets' buffers flow on.

One thread serves every connection (a selector), so nothing outlives `close()`.
"""

import selectors
import socket
import threading

CHUNK = 65536


class Relay:
    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.setblocking(False)
        self.port = self.listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._flowing = threading.Event()
        self._flowing.set()
        self._stopping = threading.Event()
        self._peers: dict[socket.socket, socket.socket] = {}
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.listener, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._run, name="relay", daemon=True)
        self._thread.start()

    def pause(self) -> None:
        """From now on nothing passes either way, and new connections wait in the listen queue."""
        self._flowing.clear()

    def resume(self) -> None:
        self._flowing.set()

    def close(self) -> None:
        self._stopping.set()
        self._flowing.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive(), "the relay's thread did not stop"
        for sock in [*self._peers, self.listener]:
            sock.close()
        self._peers.clear()
        self._selector.close()

    def __enter__(self) -> "Relay":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def open_connections(self) -> int:
        return len(self._peers) // 2

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._flowing.wait(timeout=0.05):
                continue
            for key, _mask in self._selector.select(timeout=0.05):
                if not self._flowing.is_set():
                    break  # paused meanwhile: not one more byte
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                if sock is self.listener:
                    self._accept()
                elif sock in self._peers:
                    self._pass_on(sock)

    def _accept(self) -> None:
        try:
            client, _address = self.listener.accept()
        except BlockingIOError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=2)
        except OSError:
            client.close()  # the web process is away: the browser sees a refused connection
            return
        for sock in (client, upstream):
            sock.settimeout(5)  # a send to a peer that reads nothing for that long ends the pair
        self._peers[client], self._peers[upstream] = upstream, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(upstream, selectors.EVENT_READ)

    def _pass_on(self, sock: socket.socket) -> None:
        peer = self._peers[sock]
        try:
            data = sock.recv(CHUNK)
            if data:
                peer.sendall(data)
                return
            # One side finished sending: tell the other, and stop reading this one.
            self._selector.unregister(sock)
            peer.shutdown(socket.SHUT_WR)
            if not self._reading(peer):
                self._drop(sock)
        except OSError:
            self._drop(sock)

    def _reading(self, sock: socket.socket) -> bool:
        try:
            self._selector.get_key(sock)
        except KeyError:
            return False
        return True

    def _drop(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock)
        self._peers.pop(peer, None)
        for each in (sock, peer):
            if self._reading(each):
                self._selector.unregister(each)
            each.close()
