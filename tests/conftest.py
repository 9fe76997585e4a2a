"""Shared fixtures: the example clinic and a patient, a renderer of both formats, and a FHIR R4 server
(``fhir_server``, from tests/fhir_tools.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from fhir_tools import fhir_server  # noqa: F401 - a fixture, offered to every test
from helpers import EXAMPLES

import consent


@pytest.fixture
def clinic() -> consent.Clinic:
    return consent.load_clinic(EXAMPLES / "clinic.yaml")


@pytest.fixture
def patient() -> consent.Patient:
    return consent.Patient(full_name="Ada O'Connor", birth_date=dt.date(1985, 12, 1), mrn="SRH-000101")


@pytest.fixture
def render_both() -> Callable[[consent.Form], tuple[bytes, bytes]]:
    def _render(form: consent.Form) -> tuple[bytes, bytes]:
        return form.to_pdf(), form.to_docx()

    return _render


@pytest.fixture(autouse=True, scope="session")
def _no_disk_cache() -> None:
    """The command's disk cache stays off (and out of the home folder) unless a test turns it on: a
    body kept from one test must not stand in for another's (tests/test_disk_cache.py tests it)."""
    import os

    os.environ["CONSENT_CACHE_DIR"] = "off"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A throwaway CA, the clinic's and the patient's certificates (tests/signing.py), per test module."""
    from signing import make_pki

    return make_pki(tmp_path_factory.mktemp("pki"))
