"""The studio: a local web page over a film's shot plan (``vidcolor studio INPUT``).

:class:`Studio` holds the film, its plan and the edits (library); :func:`create_app` is the Starlette app
over it; :func:`serve` runs that app on uvicorn on 127.0.0.1 behind a one-time token.
"""

from vidcolor.studio.app import create_app
from vidcolor.studio.jobs import Busy, Cancelled, JobRunner
from vidcolor.studio.server import serve
from vidcolor.studio.session import Studio, StudioError

__all__ = ["Busy", "Cancelled", "JobRunner", "Studio", "StudioError", "create_app", "serve"]
