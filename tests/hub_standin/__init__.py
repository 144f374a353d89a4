"""A stand-in Hugging Face hub for the tests: the endpoints `huggingface_hub` calls (server.py) over
repositories laid out as the real ones at the pinned commits (repos.py).

    hub = build()                       # every default dataset's repository and the judge's data
    with hub.serving() as url:          # HF_ENDPOINT=url, EVALCLIENT_GITHUB_RAW=url/raw
        ...
"""

from hub_standin.repos import build
from hub_standin.server import StandinHub

__all__ = ["StandinHub", "build"]
