"""A webhook receiver for tests: a real local HTTP server."""

import http.server
import threading

from tests.support.serving import free_port


class Receiver:
    """A local HTTP endpoint that keeps what it is sent and answers `status`; while `hanging` is set it keeps each
    request it received waiting for `released` instead (a receiver that does not answer)."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        self.hanging = False
        self.released = threading.Event()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
                if receiver.hanging:
                    receiver.released.wait(60)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
