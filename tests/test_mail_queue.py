"""E-mail over SMTP goes out from the task workers, never inside a request."""

from __future__ import annotations

import socket
import threading

import pytest

from clerkship import tasks


class OneMessageSMTPServer:
    """A real SMTP conversation on loopback that keeps the one message it is given."""

    def __init__(self):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(10)
        self.port = self.listener.getsockname()[1]
        self.received: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            connection, _ = self.listener.accept()
            self._talk(connection)
        except OSError:  # the empty connection close() makes when nobody wrote
            return

    def _talk(self, connection):
        with connection, connection.makefile("rb") as incoming:
            connection.sendall(b"220 test ESMTP\r\n")
            data: list[str] = []
            while line := incoming.readline():
                command = line.decode().strip().upper()
                if command.startswith(("EHLO", "HELO")):
                    connection.sendall(b"250 test\r\n")
                elif command == "DATA":
                    connection.sendall(b"354 go on\r\n")
                    while (body := incoming.readline()) not in (b".\r\n", b""):
                        data.append(body.decode())
                    self.received.append("".join(data))
                    connection.sendall(b"250 kept\r\n")
                elif command == "QUIT":
                    connection.sendall(b"221 bye\r\n")
                    return
                else:
                    connection.sendall(b"250 ok\r\n")

    def close(self):
        if self.thread.is_alive():  # still waiting for a connection: give it an empty one
            with socket.create_connection(("127.0.0.1", self.port), timeout=5):
                pass
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def smtp(app):
    server = OneMessageSMTPServer()
    keys = ("MAIL_BACKEND", "MAIL_SMTP_HOST", "MAIL_SMTP_PORT", "MAIL_SMTP_STARTTLS")
    saved = {k: app.config.get(k) for k in keys}
    app.config.update(
        MAIL_BACKEND="smtp",
        MAIL_SMTP_HOST="127.0.0.1",
        MAIL_SMTP_PORT=server.port,
        MAIL_SMTP_STARTTLS=False,  # loopback, plain text
    )
    tasks.huey.flush()
    yield server
    app.config.update(saved)
    tasks.huey.flush()
    server.close()


def test_a_reset_mail_waits_for_a_worker_then_reaches_the_smtp_server(
    app, client, db, smtp, student
):
    response = client.post("/account/forgot-password", data={"email": student.email})
    assert response.status_code == 200
    # The request only queued it: nothing has reached the mail server yet.
    assert smtp.received == []
    assert tasks.huey.pending_count() == 1
    # What a worker does: take the task and run it.
    with app.app_context():
        tasks.huey.execute(tasks.huey.dequeue())
    [message] = smtp.received
    assert f"To: {student.email}" in message
    assert "/account/set-password/" in message
    assert tasks.huey.pending_count() == 0


def test_unknown_addresses_queue_nothing(app, client, db, smtp):
    response = client.post("/account/forgot-password", data={"email": "nobody@example.org"})
    assert response.status_code == 200
    assert tasks.huey.pending_count() == 0
