"""kill -9 of the preference page's server: every answer the page was told is saved survives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from cogym import HDF5Datastore

from .conftest import PageClient, make_queries, record_with_frames

ROOT = Path(__file__).resolve().parents[2]

SERVER = """
import json, sys
from cogym import HDF5Datastore
from cogym.datastore.preferences import Query, Segment
from cogym.web.prefer import PersonJudge

datastore = HDF5Datastore(sys.argv[1])
queries = [Query(q["query_id"], Segment.from_dict(q["left"]), Segment.from_dict(q["right"]))
           for q in json.loads(sys.argv[2])]
judge = PersonJudge(name="kill")
for preference in judge.answer(queries, datastore):
    print(preference.query.query_id, preference.answer, flush=True)
"""


def page_url(process: subprocess.Popen, timeout: float = 60.0) -> str:
    """The page's URL, from the line the server prints on stderr."""
    found: list[str] = []
    done = threading.Event()

    def read() -> None:
        for line in process.stderr:
            match = re.search(r"open (http://\S+)", line)
            if match:
                found.append(match.group(1))
                done.set()
                return

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(timeout):
        process.kill()
        raise AssertionError(f"the server printed no URL within {timeout} s")
    return found[0]


def answer(client: PageClient, query_id: str, choice: str) -> None:
    """Answer ``query_id`` once the page shows it, and wait until it is saved."""
    client.wait_for(lambda m: m.get("type") == "query" and m["query_id"] == query_id, 20)
    client.send({"type": "answer", "query_id": query_id, "answer": choice})
    client.wait_for(lambda m: m.get("type") == "saved" and m["query_id"] == query_id, 20)


def test_kill_9_after_answers_keeps_every_answer_saved(tmp_path: Path) -> None:
    datastore = record_with_frames(tmp_path / "trials")
    queries = make_queries(datastore, 8)
    asked = json.dumps([q.to_dict() for q in queries])
    env = dict(os.environ, PYTHONPATH=f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    process = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(datastore.path), asked],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    client = None
    try:
        client = PageClient(page_url(process))
        choices = ["left", "right", "equal", "unknown", "left"]
        for query, choice in zip(queries, choices, strict=False):
            answer(client, query.query_id, choice)
        # one more answer on its way as the server dies: stored whole or not at all
        client.send({"type": "answer", "query_id": queries[5].query_id, "answer": "right"})
        os.kill(process.pid, signal.SIGKILL)
        process.wait(20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(20)
        if client is not None:
            client.close()
    assert process.returncode == -signal.SIGKILL
    stored = HDF5Datastore(datastore.path).preferences()
    given = [(q.query_id, c) for q, c in zip(queries, choices, strict=False)]
    assert [(p.query.query_id, p.answer) for p in stored][:5] == given
    assert [(p.query.query_id, p.answer) for p in stored][5:] in ([], [("q5", "right")])
    assert {p.judge for p in stored} == {"person:kill"}
    assert [p.query for p in stored][:5] == queries[:5]
    # the datastore takes answers again after the crash
    from cogym.datastore.preferences import Preference

    datastore = HDF5Datastore(datastore.path)
    datastore.add_preference(Preference(queries[7], "left", "person", time.time()))
    assert HDF5Datastore(datastore.path).preferences()[-1].query == queries[7]
