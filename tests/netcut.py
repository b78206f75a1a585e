"""A TCP relay between a client and the server that a test can cut, like a lost network."""

from __future__ import annotations

import asyncio


class Proxy:
    """A TCP relay between the browser and the server that the test can cut, like a lost network."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.up = True
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.up:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.links |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def cut(self, graceful: bool = False) -> None:
        """Drop every link: abruptly, or `graceful`ly (a half-close, as some proxies do)."""
        self.up = False
        for w in self.links:
            if graceful:
                w.write_eof()
            else:
                w.transport.abort()
        self.links.clear()

    async def close(self) -> None:
        self.cut()
        self.server.close()
        await self.server.wait_closed()
