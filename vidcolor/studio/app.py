"""The studio's web app (Starlette): the page, its HTTP API, and the token gate in front of both.

A thin fence over :class:`~vidcolor.studio.session.Studio`: each route reads its request, calls the
studio, and turns the library's errors into status codes (422 with the one-line message the CLI would
print, 409 while a job runs, 404 for any file it does not serve). The API is listed in the README.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from vidcolor.errors import VidcolorError
from vidcolor.studio.access import TokenGate
from vidcolor.studio.jobs import Busy
from vidcolor.studio.session import FORMATS, UPLOAD_LIMIT_BYTES, Studio

STATIC = Path(__file__).parent / "static"
EVENT_POLL_S = 0.2
HEARTBEAT_S = 10.0  # a comment line now and then, so that proxies and the page know the stream is alive


def create_app(studio: Studio, token: str) -> Starlette:
    """The ASGI app of ``studio``; every request needs ``token`` (see :class:`~vidcolor.studio.access.TokenGate`)."""

    async def page(request: Request) -> Response:
        html = (STATIC / "index.html").read_text(encoding="utf-8")
        # The page's script sends the token in a header on every change; the cookie alone never suffices.
        return HTMLResponse(html.replace("{{TOKEN}}", token), headers={"Cache-Control": "no-store"})

    async def get_state(request: Request) -> Response:
        return JSONResponse(studio.state())

    async def get_plan(request: Request) -> Response:
        return JSONResponse(studio.plan_data())

    async def put_plan(request: Request) -> Response:
        data = await _json(request)
        await _call(studio.replace_plan, data)
        return JSONResponse(studio.plan_data())

    async def shot_reference(request: Request) -> Response:
        data = await _json(request)
        file = data.get("file")
        if isinstance(data.get("reference"), int):
            references = studio.references
            if not 0 <= data["reference"] < len(references):
                raise HTTPException(422, f"reference {data['reference']}: no such reference on offer")
            file = references[data["reference"]]
        if not isinstance(file, str):
            raise HTTPException(422, "give the reference as file (a path on offer) or reference (its index)")
        pin = data.get("pin_frame")
        if pin is not None and not isinstance(pin, int):
            raise HTTPException(422, "pin_frame must be a frame number")
        await _call(studio.give_reference, _number(request, "shot"), file, pin)
        return JSONResponse(studio.plan_data())

    async def shot_overrides(request: Request) -> Response:
        data = await _json(request)
        neutral, interval = data.get("neutral"), data.get("keyframe_interval")
        if neutral is not None and not isinstance(neutral, bool):
            raise HTTPException(422, "neutral must be true or false")
        if interval is not None and not isinstance(interval, int):
            raise HTTPException(422, "keyframe_interval must be a whole number")
        await _call(studio.set_overrides, _number(request, "shot"), neutral=neutral, keyframe_interval=interval)
        return JSONResponse(studio.plan_data())

    async def merge(request: Request) -> Response:
        await _call(studio.merge, _number(request, "shot"))
        return JSONResponse(studio.plan_data())

    async def split(request: Request) -> Response:
        data = await _json(request)
        if not isinstance(data.get("frame"), int):
            raise HTTPException(422, "give the frame to cut at as frame")
        await _call(studio.split, data["frame"])
        return JSONResponse(studio.plan_data())

    async def upload_reference(request: Request) -> Response:
        data = await _body(request)
        name = unquote(request.headers.get("x-filename", "")) or "the upload"
        file = await _call(studio.add_reference, data, name)
        index = studio.references.index(file)
        return JSONResponse({"file": file, "index": index}, status_code=201)

    async def hints(request: Request) -> Response:
        frame = _number(request, "frame")
        if request.method == "DELETE":
            await _call(studio.clear_hints, frame)
        else:
            await _call(studio.save_hints, frame, await _body(request))
        return JSONResponse(studio.plan_data())

    async def frame_picture(request: Request) -> Response:
        query = request.query_params
        width = query.get("width")
        if width is not None and not width.isdigit():
            raise HTTPException(422, f"width {width!r}: a number of pixels")
        image_format = query.get("format", "jpeg")
        path = await _call(
            studio.picture,
            _number(request, "frame"),
            query.get("view", "grey"),
            int(width) if width is not None else None,
            image_format,
        )
        media_type = FORMATS[image_format][1]
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"})

    async def preview(request: Request) -> Response:
        data = await _json(request)
        if not isinstance(data.get("shot"), int):
            raise HTTPException(422, "give the shot to preview as shot (from 1)")
        await _call(studio.preview, data["shot"])
        return JSONResponse(studio.jobs.summary(), status_code=202)

    async def render(request: Request) -> Response:
        data = await _json(request)
        await _call(studio.render, overwrite=bool(data.get("overwrite", False)))
        return JSONResponse(studio.jobs.summary(), status_code=202)

    async def cancel(request: Request) -> Response:
        return JSONResponse({"cancelled": studio.jobs.cancel()})

    async def events(request: Request) -> Response:
        since = request.headers.get("last-event-id") or request.query_params.get("since") or "0"
        start = int(since) if since.isdigit() else 0

        async def stream() -> AsyncIterator[str]:
            last, quiet = start, 0.0
            yield "retry: 1000\n\n"
            while True:
                for number, event in studio.jobs.events_since(last):
                    last = number
                    yield f"id: {number}\nevent: {event['type']}\ndata: {json.dumps(event)}\n\n"
                    quiet = 0.0
                if studio.closing.is_set() or await request.is_disconnected():
                    return  # the server is stopping (after the last events are out), or the page has gone
                await asyncio.sleep(EVENT_POLL_S)
                quiet += EVENT_POLL_S
                if quiet >= HEARTBEAT_S:
                    quiet = 0.0
                    yield ": still here\n\n"

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    async def files(request: Request) -> Response:
        kind = request.path_params["kind"]
        name = request.path_params.get("name", "")
        path = studio.servable(kind, name)
        if path is None:
            raise HTTPException(404, "not a file the studio serves")
        return FileResponse(path)

    async def error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)

    routes = [
        Route("/", page),
        Route("/api/studio", get_state),
        Route("/api/plan", get_plan, methods=["GET"]),
        Route("/api/plan", put_plan, methods=["PUT"]),
        Route("/api/shots/{shot}", shot_overrides, methods=["POST"]),
        Route("/api/shots/{shot}/reference", shot_reference, methods=["POST"]),
        Route("/api/shots/{shot}/merge", merge, methods=["POST"]),
        Route("/api/split", split, methods=["POST"]),
        Route("/api/references", upload_reference, methods=["POST"]),
        Route("/api/hints/{frame}", hints, methods=["POST", "DELETE"]),
        Route("/api/frames/{frame}", frame_picture),
        Route("/api/preview", preview, methods=["POST"]),
        Route("/api/render", render, methods=["POST"]),
        Route("/api/cancel", cancel, methods=["POST"]),
        Route("/api/events", events),
        Route("/api/files/{kind}", files),
        Route("/api/files/{kind}/{name:path}", files),
        Mount("/static", StaticFiles(directory=STATIC, follow_symlink=False)),
    ]
    app = Starlette(routes=routes, exception_handlers={HTTPException: error})
    return TokenGate(app, token)  # type: ignore[return-value]


async def _call(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a studio call in the thread pool (decoding and colouring block); its errors become status codes."""
    try:
        return await run_in_threadpool(function, *args, **kwargs)
    except Busy as exc:
        raise HTTPException(409, str(exc)) from exc
    except VidcolorError as exc:  # the same one line the CLI prints
        raise HTTPException(422, str(exc)) from exc


def _number(request: Request, name: str) -> int:
    raw = request.path_params[name]
    if not str(raw).isdigit():
        raise HTTPException(422, f"{name} {raw!r}: a number")
    return int(raw)


async def _json(request: Request) -> dict[str, Any]:
    body = await _body(request, limit=1 << 20)
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise HTTPException(422, f"the request's body is not JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise HTTPException(422, "the request's body must be a JSON object")
    return data


async def _body(request: Request, limit: int | None = None) -> bytes:
    """The request's body, refused (413) past ``limit`` bytes (an upload's limit) before it is all read."""
    limit = limit if limit is not None else UPLOAD_LIMIT_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"{int(declared) >> 20} MiB is more than the {limit >> 20} MiB a request may send")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(413, f"more than the {limit >> 20} MiB a request may send")
        chunks.append(chunk)
    return b"".join(chunks)
