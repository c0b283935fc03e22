"""An HTTP proxy that holds every request for a fixed delay before passing it on: a slow
upstream for the benchmarks. One request per connection: the request goes upstream with
`Connection: close` and the answer comes back with it, so no connection is reused.

    python3 delay_proxy.py --listen 127.0.0.1:PORT --upstream 127.0.0.1:PORT --delay 8
"""

import argparse
import asyncio
import sys
import time


def drop_connection_headers(head: bytes) -> bytes:
    lines = head.split(b"\r\n")
    kept = [lines[0]] + [
        line
        for line in lines[1:]
        if line and line.split(b":", 1)[0].strip().lower() not in (b"connection", b"keep-alive")
    ]
    return b"\r\n".join(kept + [b"Connection: close", b"", b""])


async def read_body(reader: asyncio.StreamReader, head: bytes) -> bytes:
    length, chunked = 0, False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return await reader.readexactly(length)
    body = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        body += size_line
        size = int(size_line.split(b";")[0].strip(), 16)
        if size == 0:
            # Trailers, then the empty line.
            while True:
                line = await reader.readuntil(b"\r\n")
                body += line
                if line == b"\r\n":
                    return body
        body += await reader.readexactly(size + 2)


async def handle(args, client_r, client_w):
    try:
        try:
            head = await client_r.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if not e.partial:
                return  # a connection that sent nothing (a port check)
            raise
        body = await read_body(client_r, head)
        request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
        await asyncio.sleep(args.delay)
        started = time.monotonic()
        up_r, up_w = await asyncio.open_connection(args.upstream_host, args.upstream_port)
        up_w.write(drop_connection_headers(head) + body)
        await up_w.drain()
        answer = await asyncio.wait_for(up_r.read(), timeout=300)
        up_w.close()
        answer_head, sep, answer_body = answer.partition(b"\r\n\r\n")
        client_w.write(drop_connection_headers(answer_head) + answer_body if sep else answer)
        await client_w.drain()
        print(
            f"{request_line} held {args.delay:g} s, upstream {time.monotonic() - started:.3f} s",
            file=sys.stderr,
            flush=True,
        )
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.TimeoutError, ValueError) as e:
        print(f"proxy: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
    finally:
        client_w.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--delay", type=float, default=8.0, help="seconds each request is held")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    args.upstream_host, upstream_port = args.upstream.rsplit(":", 1)
    args.upstream_port = int(upstream_port)
    server = await asyncio.start_server(lambda r, w: handle(args, r, w), host, int(port))
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
