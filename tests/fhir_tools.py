"""Independent FHIR R4 implementations for the tests (tests/fhir/README.md says what each one checks).

- ``fhir_server``: a session-scoped fixture, a real FHIR server on 127.0.0.1 (Medplum's FHIR router over
  its in-memory repository, tests/fhir/server.mjs), to POST the transaction Bundles to and read back what
  they made::

      def test_x(fhir_server):
          status, response = fhir_server.post(bundle)        # POST [base]  (transaction or batch)
          consents = fhir_server.search("Consent", identifier=f"{FORM_ID_SYSTEM}|{form_id}")

  Resources written are validated by the server against the R4 StructureDefinitions (400 otherwise).
  The server lives for the whole session: give each test its own identifiers (or call ``reset()``).
- ``assert_valid_r4(*things)``: dicts or JSON files, checked by both the R4 (4.0.1) models of fhir.resources
  6.4.0 and the official R4 JSON schema (+ the rules of FHIR's JSON format); fails listing every error.
  ``validate_r4(*things)`` returns each validator's findings instead.

Nothing here reaches the network, and nothing is skipped: when node, tests/fhir/node_modules or
.venv-fhir-r4 is missing, the test fails and says that ``./dev test`` installs it. Standard library only.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

REPO = Path(__file__).resolve().parents[1]
FHIR_DIR = REPO / "tests" / "fhir"
NODE_MODULES = FHIR_DIR / "node_modules"
NODE_MARKER = NODE_MODULES / ".consent-lock-installed"  # the package-lock.json that ./dev installed
R4_VENV = REPO / ".venv-fhir-r4"
R4_PYTHON = R4_VENV / "bin" / "python"
R4_MARKER = R4_VENV / ".lock-installed"  # the requirements/fhir-r4-lock.txt that ./dev installed
R4_LOCK = REPO / "requirements" / "fhir-r4-lock.txt"
INSTALL = "run ./dev test (or ./dev test-latest, ./dev test-lowest), which installs it"
START_TIMEOUT = 60  # seconds for the server to print its port
TIMEOUT = 120  # seconds for one request, one validator run

JSON = dict[str, Any]
# Straight to 127.0.0.1, whatever proxy the environment names.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _missing_node_tools() -> str | None:
    """Why the Node tools cannot run, or None."""
    if shutil.which("node") is None:
        return f"node is not on the PATH: {INSTALL} (Debian's nodejs and npm)"
    if not (NODE_MODULES / "@medplum" / "fhir-router").is_dir():
        return f"{NODE_MODULES.relative_to(REPO)} is missing: {INSTALL} (npm ci, from its package-lock.json)"
    lock = (FHIR_DIR / "package-lock.json").read_bytes()
    if not NODE_MARKER.is_file() or NODE_MARKER.read_bytes() != lock:
        return f"{NODE_MODULES.relative_to(REPO)} does not match its package-lock.json: {INSTALL} (npm ci)"
    return None


def _missing_r4_models() -> str | None:
    if not R4_PYTHON.is_file():
        return f"{R4_VENV.relative_to(REPO)} is missing: {INSTALL} (from {R4_LOCK.relative_to(REPO)})"
    if not R4_MARKER.is_file() or R4_MARKER.read_bytes() != R4_LOCK.read_bytes():
        return f"{R4_VENV.relative_to(REPO)} does not match {R4_LOCK.relative_to(REPO)}: {INSTALL}"
    return None


# --------------------------------------------------------------------------- the server


@dataclasses.dataclass
class FhirServer:
    """A running tests/fhir/server.mjs. Every method returns the HTTP status and the parsed FHIR JSON body."""

    base: str  # "http://127.0.0.1:PORT/"
    process: subprocess.Popen[bytes]
    ready: JSON  # what the server printed: port, base, medplum (version), node (version), shims
    startup_seconds: float  # from starting node to the server's ready line
    log: IO[bytes]  # the server's standard error

    def request(self, method: str, path: str, body: JSON | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, JSON]:
        """``method`` on ``[base]/path`` (``path`` without a leading slash, query included)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.base + path.lstrip("/"), data=data, method=method,
            headers={"Accept": "application/fhir+json", "Content-Type": "application/fhir+json",
                     **(headers or {})})
        try:
            with _LOOPBACK.open(request, timeout=TIMEOUT) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def post(self, bundle: JSON) -> tuple[int, JSON]:
        """POST a batch or transaction Bundle to the base: (200, the response Bundle) or (4xx, an
        OperationOutcome)."""
        return self.request("POST", "", bundle)

    def get(self, path: str) -> tuple[int, JSON]:
        """GET ``[base]/path``: ``Consent/123``, ``Consent?identifier=s|v``."""
        return self.request("GET", path)

    def put(self, path: str, resource: JSON) -> tuple[int, JSON]:
        """PUT ``Type/id`` (update) or ``Type?search`` (conditional update)."""
        return self.request("PUT", path, resource)

    def create(self, resource: JSON, if_none_exist: str | None = None) -> tuple[int, JSON]:
        """POST ``[base]/Type`` (with an If-None-Exist header when given)."""
        headers = {"If-None-Exist": if_none_exist} if if_none_exist else None
        return self.request("POST", resource["resourceType"], resource, headers)

    def read(self, reference: str) -> JSON:
        """The resource at ``Type/id``; fails the test when there is none."""
        status, body = self.get(reference)
        assert status == 200, f"GET {reference}: {status} {json.dumps(body)[:2000]}"
        return body

    def search(self, resource_type: str, params: dict[str, str | list[str]] | None = None,
               **more: str | list[str]) -> list[JSON]:
        """The resources that ``GET [base]/Type?params`` finds (all of them: the in-memory repository has
        no paging). A parameter with a modifier goes in ``params``: ``search("Consent", {"_id:not": v})``.
        Fails the test on an error status."""
        query = urllib.parse.urlencode({**(params or {}), **more}, doseq=True)
        path = f"{resource_type}?{query}" if query else resource_type
        status, bundle = self.get(path)
        assert status == 200 and bundle.get("resourceType") == "Bundle", \
            f"GET {path}: {status} {json.dumps(bundle)[:2000]}"
        return [entry["resource"] for entry in bundle.get("entry", [])]

    def reset(self) -> None:
        """Forget every resource (a test-only operation of server.mjs, POST [base]/$reset)."""
        status, body = self.request("POST", "$reset", {"resourceType": "Parameters"})
        assert status == 200, body


def start_fhir_server(*args: str) -> FhirServer:
    """Start tests/fhir/server.mjs (``args`` such as ``--pure``) and wait until it listens. The caller stops
    it with :func:`stop_fhir_server`."""
    missing = _missing_node_tools()
    if missing:
        pytest.fail(f"the FHIR test server cannot start: {missing}", pytrace=False)
    started = time.monotonic()
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop_fhir_server
    process = subprocess.Popen(["node", str(FHIR_DIR / "server.mjs"), *args],  # noqa: S603, S607
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log, cwd=REPO)
    assert process.stdout is not None
    line = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while not line.endswith(b"\n") and time.monotonic() - started < START_TIMEOUT:
            if selector.select(timeout=1):
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                line += chunk
    try:
        ready = json.loads(line)
    except ValueError:
        exited = process.poll()
        process.kill()
        process.wait()
        log.seek(0)
        stderr = log.read().decode(errors="replace")[-4000:]
        log.close()
        for pipe in (process.stdin, process.stdout):
            if pipe:
                pipe.close()
        why = f"exited with code {exited}" if exited is not None else f"was not ready in {START_TIMEOUT} s"
        pytest.fail(f"tests/fhir/server.mjs {why}:\n{line.decode(errors='replace')}\n{stderr}", pytrace=False)
    return FhirServer(ready["base"], process, ready, time.monotonic() - started, log)


def stop_fhir_server(server: FhirServer) -> None:
    process = server.process
    if process.stdin:
        process.stdin.close()  # the server stops when its standard input closes
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()
    server.log.close()


@pytest.fixture(scope="session")
def fhir_server() -> Iterator[FhirServer]:
    """A FHIR R4 server (Medplum's router, in memory, validating what is written) for the whole session."""
    server = start_fhir_server()
    try:
        yield server
    finally:
        stop_fhir_server(server)


# --------------------------------------------------------------------------- the validators


@dataclasses.dataclass
class Validation:
    """What the two validators found in one thing given to :func:`validate_r4`."""

    label: str  # "#2 Bundle" for a dict, the path for a file
    models: list[JSON]  # errors of the R4 models (fhir.resources 6.4.0), each {"path", "message", "value"?}
    schema: list[JSON]  # errors of the R4 JSON schema ("source": "json-schema") and JSON format ("fhir-json")
    warnings: list[JSON]  # findings of the models that R4 allows (a relative url): not errors

    @property
    def errors(self) -> list[JSON]:
        return self.models + self.schema

    def report(self) -> str:
        lines = [f"{self.label}:"]
        for error in self.errors:
            value = f" (value {error['value']})" if error.get("value") else ""
            lines.append(f"  [{error['source']}] {error['path']}: {error['message']}{value}")
        return "\n".join(lines)


def _run_validator(argv: list[str]) -> list[JSON]:
    done = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, cwd=REPO, check=False)  # noqa: S603
    try:
        results = json.loads(done.stdout)
    except ValueError:
        results = None
    if done.returncode not in (0, 1) or not isinstance(results, list):
        pytest.fail(f"{' '.join(argv[:2])} failed (exit code {done.returncode}):\n"
                    f"{done.stdout.decode(errors='replace')[-2000:]}\n{done.stderr.decode(errors='replace')[-4000:]}",
                    pytrace=False)
    return results


def validate_r4(*things: JSON | str | Path, strict_url: bool = False) -> list[Validation]:
    """Each thing (a resource as a dict, or a JSON file) checked by the R4 models (one process for all) and
    by the R4 JSON schema (one process for all), both at once. ``strict_url``: the models' refusal of a
    relative url is an error too."""
    for missing in (_missing_r4_models(), _missing_node_tools()):
        if missing:
            pytest.fail(f"the FHIR R4 validators cannot run: {missing}", pytrace=False)
    with tempfile.TemporaryDirectory(prefix="fhir-r4-") as folder:
        files, labels = [], []
        for number, thing in enumerate(things, 1):
            if isinstance(thing, dict):
                path = Path(folder) / f"{number}-{thing.get('resourceType', 'thing')}.json"
                path.write_text(json.dumps(thing, ensure_ascii=False), encoding="utf-8")
                labels.append(f"#{number} {thing.get('resourceType', '(no resourceType)')}")
            else:
                path = Path(thing).resolve()
                labels.append(str(thing))
            files.append(str(path))
        strict = ["--strict-url"] if strict_url else []
        models_argv = [str(R4_PYTHON), str(FHIR_DIR / "validate_r4.py"), *strict, *files]
        schema_argv = ["node", str(FHIR_DIR / "schema-validate.mjs"), *files]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            models, schema = pool.map(_run_validator, [models_argv, schema_argv])
    models_by_file = {result["file"]: result for result in models}
    schema_by_file = {result["file"]: result for result in schema}
    return [Validation(label, models_by_file[file]["errors"], schema_by_file[file]["errors"],
                       models_by_file[file]["warnings"]) for label, file in zip(labels, files, strict=True)]


def assert_valid_r4(*things: JSON | str | Path, strict_url: bool = False) -> None:
    """Fail, listing every error of both validators, unless each thing is valid FHIR R4 for both."""
    invalid = [v for v in validate_r4(*things, strict_url=strict_url) if v.errors]
    if invalid:
        pytest.fail("not valid FHIR R4:\n" + "\n".join(v.report() for v in invalid), pytrace=False)
